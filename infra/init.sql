-- clickstream schema. Applied at every start; every statement is idempotent.

-- Raw events, one row per distinct event_id: the primary key is what makes counting effectively-once.
CREATE TABLE IF NOT EXISTS click_events (
    event_id    TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    time_stamp  TIMESTAMPTZ NOT NULL
);
-- An earlier index on the pair's text: too wide for long, incompressible fields (see clickstream_pair_key below).
DROP INDEX IF EXISTS click_events_user_page;

-- Events are UTF-8 text of any script, and the pair key below hashes the stored bytes: both need a UTF8 database.
DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'clickstream needs a UTF8 database; this one is %', current_setting('server_encoding')
            USING HINT = 'create it with ENCODING ''UTF8'' (initdb -E UTF8)';
    END IF;
END $$;

-- The key of a (user_id, page_url) pair: a fixed-size SHA-256 digest of the pair, length-prefixed so that no two
-- pairs share an input. Each field may be 2,048 bytes, but a B-tree entry may hold at most about 2.7 kB: keyed on
-- the pair itself, one valid event with long, incompressible ids failed every insert (SQLSTATE 54000) and stopped
-- the processor. The pair stays in the row as data.
-- The text's bytes are taken with decode(..., 'escape') after doubling each backslash, which gives them exactly and
-- is immutable, so PostgreSQL inlines this function into the generated column and the queries. It replaced
-- convert_to(..., 'UTF8'), which gives the same bytes in a UTF8 database (so stored keys stay valid) but is only
-- stable: a function that is not inlined runs as a little query of its own for every row, which cost a fifth of the
-- database's CPU when applying batches.
CREATE OR REPLACE FUNCTION clickstream_pair_key(user_id TEXT, page_url TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN sha256(decode(replace(length(user_id)::text || ':' || user_id || page_url, '\', '\\'), 'escape'));

-- No index by pair or user here: counts are read from page_clicks, and a second index on this table costs every
-- insert of the processor's hot path (on the bench, an index on user_id took W3 from 60.7k to 43.7k events/s).
-- Reconciliation reads a pair's raw rows with or without one; on a large table, where scanning it for each check
-- would be slow, an operator adds it (README, Reconciliation):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS click_events_user ON click_events (user_id);

-- Aggregated counts, incremented in the same transaction as the rows inserted into click_events.
CREATE TABLE IF NOT EXISTS page_clicks (
    user_id     TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    click_count BIGINT NOT NULL DEFAULT 0,
    pair_key    BYTEA GENERATED ALWAYS AS (clickstream_pair_key(user_id, page_url)) STORED PRIMARY KEY
);
-- A table made before the digest key: add the key and move the primary key onto it.
ALTER TABLE page_clicks
    ADD COLUMN IF NOT EXISTS pair_key BYTEA GENERATED ALWAYS AS (clickstream_pair_key(user_id, page_url)) STORED;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'page_clicks'::regclass AND i.indisprimary AND a.attname = 'pair_key') THEN
        ALTER TABLE page_clicks DROP CONSTRAINT IF EXISTS page_clicks_pkey;
        ALTER TABLE page_clicks ADD PRIMARY KEY (pair_key);
    END IF;
END $$;

-- A counter is updated far more often than it is made: each page keeps room for updates, so that the new version of
-- a row goes beside the old one (a HOT update), which writes no index entry and leaves the old version to be pruned
-- on the spot. With full pages an increment often moves the row to another page, with new entries in both indexes
-- (the key and page_clicks_user) and a table that grows until vacuumed. On the bench's W3 backlog (bench/run.py
-- --layout default --only W3) 96% of updates were HOT instead of 73%, and page_clicks ended at 27 MB instead of
-- 50 MB; the processor's rate did not change measurably (27.2k against 27.4k events/s). Applies to pages written
-- from now on; set only when it differs, as every start runs this file.
DO $$
BEGIN
    IF NOT coalesce((SELECT 'fillfactor=70' = ANY (reloptions) FROM pg_class WHERE oid = 'page_clicks'::regclass),
                    false) THEN
        ALTER TABLE page_clicks SET (fillfactor = 70);
    END IF;
END $$;

-- How far the counts reach: the next Kafka offset to apply (one past the last applied), per partition, written in
-- the batch's transaction; for freshness in answers, read-your-writes and reconciliation. The processor does not
-- start a partition here: it resumes from the consumer group's committed offset, which trails this one until the
-- cache holds the counts, so that records whose counts the cache missed are applied again (counted once) and
-- repair it.
CREATE TABLE IF NOT EXISTS applied_offsets (
    topic       TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);
-- The newest time_stamp among the events applied (through any partition's batches): answers say how current their
-- counts are with it. NULL until a batch with events is applied.
ALTER TABLE applied_offsets ADD COLUMN IF NOT EXISTS newest_event_time TIMESTAMPTZ;

-- The dead-letter ledger: every record the processor could not count, once per source record (also sent to the
-- topic clicks.dlq), to be listed and replayed through the gateway and `clickstream dead-letters`. The record's
-- bytes are kept as they came (they need not be text); a replay re-validates and republishes them and is recorded
-- here.
CREATE TABLE IF NOT EXISTS dead_letters (
    id               BIGSERIAL PRIMARY KEY,
    source_topic     TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT NOT NULL,
    reason_code      TEXT NOT NULL,
    reason           TEXT NOT NULL,
    record_key       BYTEA NOT NULL,
    record_value     BYTEA NOT NULL,
    record_time      TIMESTAMPTZ,
    dead_lettered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    replays          INTEGER NOT NULL DEFAULT 0,
    last_replayed_at TIMESTAMPTZ,
    replay_position  TEXT,
    UNIQUE (source_topic, source_partition, source_offset)
);

-- Aggregates beyond one counter, for the queries of top pages, event types and counts over time. The statement that
-- applies a batch maintains them from the rows it actually inserted into click_events, in the same transaction as
-- page_clicks, so an event counted once there is counted once in each of them. Each is keyed like page_clicks, by a
-- digest of its text (clickstream_text_key), so that no valid value is too long for a B-tree entry.
CREATE OR REPLACE FUNCTION clickstream_text_key(value TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN sha256(decode(replace(value, '\', '\\'), 'escape'));

-- Top pages of a user read a user's counters through this index; it changes only when a pair is first counted.
CREATE INDEX IF NOT EXISTS page_clicks_user ON page_clicks (clickstream_text_key(user_id));

-- Made once, and filled from the events stored before they existed, under a lock that holds the processor's
-- batches (and another start doing the same) back meanwhile, so that an upgraded database counts its past too.
-- Later starts find the tables and take no lock.
DO $$
BEGIN
    IF to_regclass('page_totals') IS NOT NULL THEN
        RETURN;
    END IF;
    LOCK TABLE click_events, page_clicks IN SHARE ROW EXCLUSIVE MODE;
    IF to_regclass('page_totals') IS NOT NULL THEN  -- made by another start while this one waited
        RETURN;
    END IF;

    -- Clicks of each page across users, and its distinct users (the pairs counted for it: a pair's first event
    -- adds one, in the statement that creates its page_clicks row).
    CREATE TABLE page_totals (
        page_url    TEXT NOT NULL,
        click_count BIGINT NOT NULL,
        users       BIGINT NOT NULL,
        page_key    BYTEA GENERATED ALWAYS AS (clickstream_text_key(page_url)) STORED PRIMARY KEY
    );
    INSERT INTO page_totals (page_url, click_count, users)
    SELECT page_url, sum(click_count), count(*) FROM page_clicks GROUP BY page_url;

    -- Clicks of each event_type.
    CREATE TABLE event_type_totals (
        event_type  TEXT NOT NULL,
        click_count BIGINT NOT NULL,
        type_key    BYTEA GENERATED ALWAYS AS (clickstream_text_key(event_type)) STORED PRIMARY KEY
    );
    INSERT INTO event_type_totals (event_type, click_count)
    SELECT event_type, count(*) FROM click_events GROUP BY event_type;

    -- Clicks by the UTC minute of their time_stamp: every time zone in use today is a whole number of minutes from
    -- UTC, so hours and days in any of them, DST included, are sums of these minutes.
    CREATE TABLE clicks_per_minute (
        minute      TIMESTAMPTZ PRIMARY KEY,
        click_count BIGINT NOT NULL
    );
    INSERT INTO clicks_per_minute (minute, click_count)
    SELECT date_trunc('minute', time_stamp, 'UTC'), count(*) FROM click_events GROUP BY 1;
END $$;
