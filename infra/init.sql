-- clickstream schema. Applied at every start; every statement is idempotent.

-- Raw events, one row per distinct event_id: the primary key is what makes counting effectively-once.
CREATE TABLE IF NOT EXISTS click_events (
    event_id    TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    time_stamp  TIMESTAMPTZ NOT NULL
);
-- No index by (user_id, page_url): counts are read from page_clicks, and a second index on this table would make
-- every insert of the processor's hot path maintain two B-trees instead of one.
DROP INDEX IF EXISTS click_events_user_page;

-- Aggregated counts, incremented in the same transaction as the rows inserted into click_events.
CREATE TABLE IF NOT EXISTS page_clicks (
    user_id     TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    click_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, page_url)
);

-- How far the counts reach: the next Kafka offset to apply, per partition, written in the batch's transaction.
CREATE TABLE IF NOT EXISTS applied_offsets (
    topic       TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);
