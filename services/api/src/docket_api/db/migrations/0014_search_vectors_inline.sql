-- phase: expand
-- Keep search vectors inside the row (compressed) instead of in the TOAST table: a search reads the
-- vector of every document it walks and ranks, and fetching each from TOAST (an index lookup and its
-- chunks) was most of a search's PostgreSQL time (bench/README.md, "Search CPU per request"). MAIN still
-- moves a vector out of line when the row would not fit a page (a very long document's), and the text
-- (extracted_text) goes out of line first. The previous release reads and writes the column as before.
--
-- SET STORAGE applies to values written from now on; the vectors already stored are rewritten by the
-- worker's batched re-index (reindex_search, the same configuration again, batches of 500 rows, each its
-- own short transaction), which a worker queues when it starts and finds previous_config set. Only a
-- database that has vectors starts one. The ALTER comes last, so its brief ACCESS EXCLUSIVE lock is
-- taken just before the commit, not during the count.

UPDATE search_settings SET
    previous_config = text_config, reindex_after = NULL, reindex_done = 0, reindex_started_at = now(),
    reindex_finished_at = NULL,
    reindex_total = (SELECT count(*) FROM documents WHERE search IS NOT NULL)
WHERE previous_config IS NULL AND EXISTS (SELECT 1 FROM documents WHERE search IS NOT NULL);

ALTER TABLE documents ALTER COLUMN search SET STORAGE MAIN;
