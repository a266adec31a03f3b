-- Reprocessing a document first asks whether the same job is still queued or running; this keeps that
-- question an index lookup however many jobs the table holds. Partial: finished jobs are not indexed.

CREATE INDEX jobs_unfinished_payload_idx ON jobs (kind, payload) WHERE status IN ('queued', 'running');
