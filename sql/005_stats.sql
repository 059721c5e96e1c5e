-- 005_stats.sql - what the statistics API, /metrics and `pbctl status`
-- need to stay cheap with millions of processing_log rows (docs/operations.md
-- has the plans that were checked).

-- The stats queries read a slot's rows in a time range and need only these
-- columns: an index-only scan, no heap visits.  It replaces the plain
-- (slot_id, created_at) index of 001.
CREATE INDEX processing_log_slot_time_cover_idx ON processing_log (slot_id, created_at)
    INCLUDE (status, response_time_ms, cost, provider_id);
DROP INDEX processing_log_slot_time_idx;

-- The last errors (pbctl status, "why did this photo fail"): few rows.
CREATE INDEX processing_log_errors_idx ON processing_log (created_at)
    WHERE status <> 'SUCCESS';
CREATE INDEX job_failed_idx ON job (finished_at) WHERE state = 'failed';

-- /metrics counters.  Counting processing_log or job at every scrape would
-- read millions of rows; these rows are kept by triggers in the same
-- transaction as the row counted, so a counter moves exactly when its
-- row commits, survives restarts and never goes back (history deletion
-- and resets of the statistics do not touch it).

-- Upper bounds (ms) of the ingest latency histogram buckets; +Inf follows.
CREATE FUNCTION pb_latency_bounds_ms() RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '{100,250,500,1000,2500,5000,10000,20000,30000,45000,60000}'::integer[] $$;

CREATE TABLE ingest_counter (
    slot_id         text NOT NULL,
    provider_id     text NOT NULL,                  -- '' when unknown
    status          text NOT NULL,                  -- SUCCESS, ERROR, TIMEOUT
    requests        bigint NOT NULL DEFAULT 0,
    ms_sum          bigint NOT NULL DEFAULT 0,
    -- requests per latency bucket (not cumulative), one more than the bounds
    buckets         bigint[] NOT NULL,
    PRIMARY KEY (slot_id, provider_id, status)
);

CREATE FUNCTION pb_ingest_count_one(slot text, provider text, st text, ms integer)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    -- Prometheus buckets are "<= le": a request of exactly 100 ms is in le=0.1.
    b integer := width_bucket(ms - 1, pb_latency_bounds_ms()) + 1;
    init bigint[] := array_fill(0::bigint, ARRAY[cardinality(pb_latency_bounds_ms()) + 1]);
BEGIN
    init[b] := 1;
    INSERT INTO ingest_counter AS c (slot_id, provider_id, status, requests, ms_sum, buckets)
    VALUES (slot, coalesce(provider, ''), st, 1, ms, init)
    ON CONFLICT (slot_id, provider_id, status) DO UPDATE
        SET requests = c.requests + 1, ms_sum = c.ms_sum + EXCLUDED.ms_sum,
            buckets[b] = c.buckets[b] + 1;
END $$;

-- Per slot and UTC day: what a slot's summary "since the last reset" adds
-- up, so the Statistics page costs a few rows per slot and day instead of
-- a scan of the slot's whole history.  processing_log rows are never
-- updated or deleted; should history ever be deleted, rebuild this table
-- from it (docs/operations.md).
CREATE TABLE processing_daily (
    slot_id         text NOT NULL,
    day             date NOT NULL,
    requests        bigint NOT NULL DEFAULT 0,
    success         bigint NOT NULL DEFAULT 0,
    errors          bigint NOT NULL DEFAULT 0,
    timeouts        bigint NOT NULL DEFAULT 0,
    ms_sum          bigint NOT NULL DEFAULT 0,
    cost            numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (slot_id, day)
);

CREATE FUNCTION pb_daily_count_one(slot text, at timestamptz, st text, ms integer,
    c numeric) RETURNS void LANGUAGE sql AS $$
    INSERT INTO processing_daily AS d (slot_id, day, requests, success, errors, timeouts,
        ms_sum, cost)
    VALUES (slot, (at AT TIME ZONE 'UTC')::date, 1, (st = 'SUCCESS')::int,
        (st = 'ERROR')::int, (st = 'TIMEOUT')::int, ms, coalesce(c, 0))
    ON CONFLICT (slot_id, day) DO UPDATE
        SET requests = d.requests + 1, success = d.success + EXCLUDED.success,
            errors = d.errors + EXCLUDED.errors, timeouts = d.timeouts + EXCLUDED.timeouts,
            ms_sum = d.ms_sum + EXCLUDED.ms_sum, cost = d.cost + EXCLUDED.cost
$$;

CREATE FUNCTION pb_ingest_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pb_ingest_count_one(NEW.slot_id, NEW.provider_id, NEW.status,
        NEW.response_time_ms);
    PERFORM pb_daily_count_one(NEW.slot_id, NEW.created_at, NEW.status,
        NEW.response_time_ms, NEW.cost);
    RETURN NULL;
END $$;

CREATE TRIGGER processing_log_count AFTER INSERT ON processing_log
    FOR EACH ROW EXECUTE FUNCTION pb_ingest_count();

-- Job and provider-call events per provider:
--   call_ok, call_error (class = error_code), retry, finished (class = state).
-- A call is counted when its attempt ends, so a claim given back unsent
-- (providerd unreachable) is not a call.
CREATE TABLE job_counter (
    provider_id     text NOT NULL,
    event           text NOT NULL,
    class           text NOT NULL DEFAULT '',
    n               bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (provider_id, event, class)
);

CREATE FUNCTION pb_job_count_one(p text, e text, c text) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO job_counter AS j (provider_id, event, class, n) VALUES (p, e, c, 1)
    ON CONFLICT (provider_id, event, class) DO UPDATE SET n = j.n + 1
$$;

CREATE FUNCTION pb_job_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'running' AND NEW.attempt = OLD.attempt THEN
        IF NEW.state = 'succeeded' THEN
            PERFORM pb_job_count_one(NEW.provider_id, 'call_ok', '');
        ELSE
            PERFORM pb_job_count_one(NEW.provider_id, 'call_error',
                CASE WHEN NEW.state = 'canceled' THEN 'canceled'
                     ELSE coalesce(NEW.error_code, 'unknown') END);
            IF NEW.state = 'queued' THEN
                PERFORM pb_job_count_one(NEW.provider_id, 'retry', '');
            END IF;
        END IF;
    END IF;
    IF NEW.state IN ('succeeded', 'failed', 'canceled') THEN
        PERFORM pb_job_count_one(NEW.provider_id, 'finished', NEW.state);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER job_count AFTER UPDATE OF state ON job
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION pb_job_count();

-- Start the counters from the history already there (ingest_counter: one
-- upsert per row, about a minute per million rows, once).
DO $$ BEGIN
    PERFORM pb_ingest_count_one(slot_id, provider_id, status, response_time_ms)
    FROM processing_log ORDER BY id;
END $$;
INSERT INTO processing_daily (slot_id, day, requests, success, errors, timeouts, ms_sum, cost)
SELECT slot_id, (created_at AT TIME ZONE 'UTC')::date, count(*),
    count(*) FILTER (WHERE status = 'SUCCESS'), count(*) FILTER (WHERE status = 'ERROR'),
    count(*) FILTER (WHERE status = 'TIMEOUT'), sum(response_time_ms), coalesce(sum(cost), 0)
FROM processing_log GROUP BY 1, 2;
