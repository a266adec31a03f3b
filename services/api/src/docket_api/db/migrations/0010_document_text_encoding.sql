-- phase: expand
-- The encoding a text file was decoded in (a BOM's, UTF-8, or the one charset-normalizer detected), so
-- what the worker read can be told from what the user sent. NULL for PDFs and office files, which carry
-- their own encodings, and for documents not processed yet.

ALTER TABLE documents ADD COLUMN text_encoding text;
