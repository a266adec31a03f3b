-- Title-prefix filtering of a user's documents, and the history of every job attempt.

CREATE INDEX documents_owner_title_idx ON documents (owner_id, lower(title) text_pattern_ops);
CREATE INDEX documents_owner_status_idx ON documents (owner_id, status, created_at DESC, id DESC);

-- One row per attempt: who ran it, when, and how it ended. Used to prove that no job ever ran
-- twice at the same time, and to debug retries.
CREATE TABLE job_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    worker_id    text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('succeeded', 'retry', 'dead', 'released', 'lease_lost')),
    error        text
);
CREATE INDEX job_attempts_job_idx ON job_attempts (job_id);
