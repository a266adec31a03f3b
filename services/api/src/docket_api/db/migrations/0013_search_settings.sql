-- phase: expand
-- The text-search configuration that search vectors are built with, and the re-index that follows a
-- change of the worker's SEARCH_TEXT_CONFIG. There is one row. While previous_config is set, the
-- vectors are being rebuilt in document id order (reindex_after is the last one done), and search
-- matches the query of either configuration. 'english' is what every vector was built with so far.

CREATE TABLE search_settings (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    text_config         regconfig NOT NULL DEFAULT 'english',
    previous_config     regconfig,
    reindex_after       uuid,
    reindex_total       bigint NOT NULL DEFAULT 0,
    reindex_done        bigint NOT NULL DEFAULT 0,
    reindex_started_at  timestamptz,
    reindex_finished_at timestamptz
);

INSERT INTO search_settings DEFAULT VALUES;
