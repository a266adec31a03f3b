-- phase: expand
-- A document's first-page thumbnail (WebP, at most 320 px wide), made by the worker for PDFs, images
-- and office files that carry a preview. The bytes live in their own table so that listing documents
-- never reads them; documents.thumbnail_etag says whether there is one, and names its version.

CREATE TABLE document_thumbnails (
    document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    webp        bytea NOT NULL,
    etag        text NOT NULL
);

ALTER TABLE documents ADD COLUMN thumbnail_etag text;
