-- phase: expand
-- What the reader of a ready document should know about how it was read, such as "OCR read the first
-- 50 of 200 scanned pages (OCR_MAX_PAGES is 50); the rest were not read." NULL when there is nothing.

ALTER TABLE documents ADD COLUMN processing_notice text;
