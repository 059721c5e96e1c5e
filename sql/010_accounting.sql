-- 010_accounting.sql - every photo and every cent counted once (issue 12):
-- late completions, reattached resends, test spend, editable quotas.
--
-- processing_log stays one row per ingest request.  Of the rows of one
-- job exactly one carries the processing and its cost: the row of the
-- request that created the job.  A booth's resend that reattached to the
-- job is a request of its own (reattached = true) with no cost and is no
-- processing.  A row whose booth was answered before its job ended (504,
-- or ingestd stopped) takes the job's outcome when the job ends: status
-- SUCCESS or ERROR, the job's cost, and job_ms.  The booth's side of the
-- row (http_status, response_time_ms, fallback, error_code) is kept.

ALTER TABLE processing_log ADD COLUMN reattached boolean NOT NULL DEFAULT false;
-- Receipt to the job's end, for a row whose job ended after its answer.
ALTER TABLE processing_log ADD COLUMN job_ms integer CHECK (job_ms >= 0);
ALTER TABLE ingest_wait ADD COLUMN reattached boolean NOT NULL DEFAULT false;

-- The late update finds a job's rows; the stats queries stay index-only.
CREATE INDEX processing_log_job_idx ON processing_log (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX processing_log_slot_time_cover2_idx ON processing_log (slot_id, created_at)
    INCLUDE (status, response_time_ms, cost, provider_id, reattached);
DROP INDEX processing_log_slot_time_cover_idx;
ALTER INDEX processing_log_slot_time_cover2_idx RENAME TO processing_log_slot_time_cover_idx;

-- A row whose booth was answered while its job may still be running.
CREATE FUNCTION pb_log_pending(st text, code text, http smallint) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT st = 'TIMEOUT'
        OR (st = 'ERROR' AND coalesce(code, '') = 'unavailable' AND coalesce(http, 0) = 503)
$$;

-- Before a row is written: a resend carries no cost; a pending row whose
-- job has already ended takes its outcome.  FOR SHARE waits for a job
-- completion being committed and then reads it, so a completion racing
-- this insert is either seen here or sees this row (job_log_outcome).
CREATE FUNCTION pb_log_before() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    j record;
BEGIN
    IF NEW.reattached THEN
        NEW.cost := NULL;
        RETURN NEW;
    END IF;
    IF NEW.job_id IS NULL OR NOT pb_log_pending(NEW.status, NEW.error_code, NEW.http_status) THEN
        RETURN NEW;
    END IF;
    SELECT state, cost, finished_at, error_code, error_message INTO j
        FROM job WHERE id = NEW.job_id FOR SHARE;
    IF FOUND AND j.state IN ('succeeded', 'failed', 'canceled') THEN
        NEW.status := CASE WHEN j.state = 'succeeded' THEN 'SUCCESS' ELSE 'ERROR' END;
        NEW.cost := j.cost;
        NEW.job_ms := greatest(0, (extract(epoch FROM j.finished_at - NEW.created_at) * 1000)::int);
        IF j.state <> 'succeeded' THEN
            NEW.error_code := coalesce(j.error_code, j.state);
            NEW.error_message := j.error_message;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER processing_log_before BEFORE INSERT ON processing_log
    FOR EACH ROW EXECUTE FUNCTION pb_log_before();

-- A job's end reaches its pending rows (same transaction as the job's end).
CREATE FUNCTION job_log_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processing_log l
       SET status = CASE WHEN NEW.state = 'succeeded' THEN 'SUCCESS' ELSE 'ERROR' END,
           cost = NEW.cost,
           job_ms = greatest(0, (extract(epoch FROM coalesce(NEW.finished_at, now())
               - l.created_at) * 1000)::int),
           error_code = CASE WHEN NEW.state = 'succeeded' THEN l.error_code
               ELSE coalesce(NEW.error_code, NEW.state) END,
           error_message = CASE WHEN NEW.state = 'succeeded' THEN l.error_message
               ELSE NEW.error_message END
     WHERE l.job_id = NEW.id AND NOT l.reattached
       AND pb_log_pending(l.status, l.error_code, l.http_status);
    RETURN NULL;
END $$;

CREATE TRIGGER job_log_outcome AFTER UPDATE OF state ON job
    FOR EACH ROW
    WHEN (NEW.kind = 'ingest' AND NEW.state IN ('succeeded', 'failed', 'canceled')
          AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION job_log_outcome();

-- The daily rollup: resends are requests but no processings; test runs
-- (job kind 'test') are counted apart, on the day the run was asked for.
ALTER TABLE processing_daily ADD COLUMN resends bigint NOT NULL DEFAULT 0;
ALTER TABLE processing_daily ADD COLUMN test_runs bigint NOT NULL DEFAULT 0;
ALTER TABLE processing_daily ADD COLUMN test_cost numeric NOT NULL DEFAULT 0;

-- Adds (sign 1) or takes away (sign -1) one processing_log row.
CREATE FUNCTION pb_daily_add(slot text, at timestamptz, st text, ms integer, c numeric,
    resend boolean, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO processing_daily AS d (slot_id, day, requests, success, errors, timeouts,
        ms_sum, cost, resends)
    VALUES (slot, (at AT TIME ZONE 'UTC')::date, sign,
        sign * (st = 'SUCCESS' AND NOT resend)::int, sign * (st = 'ERROR')::int,
        sign * (st = 'TIMEOUT')::int, sign * ms, sign * coalesce(c, 0), sign * resend::int)
    ON CONFLICT (slot_id, day) DO UPDATE
        SET requests = d.requests + EXCLUDED.requests, success = d.success + EXCLUDED.success,
            errors = d.errors + EXCLUDED.errors, timeouts = d.timeouts + EXCLUDED.timeouts,
            ms_sum = d.ms_sum + EXCLUDED.ms_sum, cost = d.cost + EXCLUDED.cost,
            resends = d.resends + EXCLUDED.resends
$$;

-- ingest_counter (/metrics) counts the answers booths got, at insert only:
-- a Prometheus counter never moves back.  processing_daily follows updates.
CREATE OR REPLACE FUNCTION pb_ingest_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pb_ingest_count_one(NEW.slot_id, NEW.provider_id, NEW.status,
            NEW.response_time_ms);
    ELSE
        PERFORM pb_daily_add(OLD.slot_id, OLD.created_at, OLD.status, OLD.response_time_ms,
            OLD.cost, OLD.reattached, -1);
    END IF;
    PERFORM pb_daily_add(NEW.slot_id, NEW.created_at, NEW.status, NEW.response_time_ms,
        NEW.cost, NEW.reattached, 1);
    RETURN NULL;
END $$;

CREATE TRIGGER processing_log_recount AFTER UPDATE ON processing_log
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.cost IS DISTINCT FROM NEW.cost
          OR OLD.reattached IS DISTINCT FROM NEW.reattached
          OR OLD.response_time_ms IS DISTINCT FROM NEW.response_time_ms
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.slot_id IS DISTINCT FROM NEW.slot_id)
    EXECUTE FUNCTION pb_ingest_count();

DROP FUNCTION pb_daily_count_one(text, timestamptz, text, integer, numeric);

-- A test run is counted when it ends, once (the state leaves running or
-- queued for good exactly once).
CREATE FUNCTION job_test_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO processing_daily AS d (slot_id, day, test_runs, test_cost)
    VALUES (NEW.slot_id, (NEW.created_at AT TIME ZONE 'UTC')::date, 1, coalesce(NEW.cost, 0))
    ON CONFLICT (slot_id, day) DO UPDATE
        SET test_runs = d.test_runs + 1, test_cost = d.test_cost + EXCLUDED.test_cost;
    RETURN NULL;
END $$;

CREATE TRIGGER job_test_count AFTER UPDATE OF state ON job
    FOR EACH ROW
    WHEN (NEW.kind = 'test' AND NEW.state IN ('succeeded', 'failed', 'canceled')
          AND OLD.state NOT IN ('succeeded', 'failed', 'canceled'))
    EXECUTE FUNCTION job_test_count();

-- Per-provider quotas and concurrency, editable (settings provider_quotas
-- {"<provider>": {"per_minute": N, "per_day": N, "max_parallel_jobs": N}});
-- the catalogue's value when unset.  jobd reads it in every claim.
CREATE FUNCTION pb_provider_limit(provider text, name text, def integer) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (value -> provider ->> name)::int FROM settings
        WHERE key = 'provider_quotas'
        AND jsonb_typeof(value -> provider -> name) = 'number'), def)
$$;

-- Milliseconds until the rate budgets of a provider (defaults def_minute,
-- def_day; 0 = unlimited) let one more call start after the jobs already
-- queued for it; 0 = now.  ingestd refuses at once when this is past the
-- booth's wait (ingestd/README.md).
CREATE FUNCTION pb_quota_wait_ms(provider text, def_minute integer, def_day integer)
    RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    ahead bigint := (SELECT count(*) FROM job WHERE state = 'queued'
        AND provider_id = provider AND deadline > now());
    wait_ms bigint := 0;
    lim integer;
    used bigint;
    need bigint;
    win interval;
    t timestamptz;
BEGIN
    FOR i IN 1..2 LOOP
        lim := CASE i WHEN 1 THEN pb_provider_limit(provider, 'per_minute', def_minute)
            ELSE pb_provider_limit(provider, 'per_day', def_day) END;
        CONTINUE WHEN lim <= 0;
        win := CASE i WHEN 1 THEN interval '1 minute' ELSE interval '1 day' END;
        used := (SELECT count(*) FROM provider_call WHERE provider_id = provider
            AND at > now() - win);
        -- Calls that must leave the window before ours may start.
        need := used + ahead + 1 - lim;
        CONTINUE WHEN need <= 0;
        IF need <= used THEN
            SELECT at INTO t FROM provider_call WHERE provider_id = provider
                AND at > now() - win ORDER BY at OFFSET need - 1 LIMIT 1;
            wait_ms := greatest(wait_ms,
                ceil(extract(epoch FROM t + win - now()) * 1000)::bigint);
        ELSE
            -- The queue alone fills more windows than the calls made.
            wait_ms := greatest(wait_ms, (extract(epoch FROM win) * 1000)::bigint
                * ceil(need::numeric / lim)::bigint);
        END IF;
    END LOOP;
    RETURN wait_ms;
END $$;

-- The history already there: resends are the later rows of a job, pending
-- rows of jobs that ended take their outcome, then the rollup is rebuilt.
UPDATE processing_log l SET reattached = true, cost = NULL
  FROM (SELECT job_id, min(id) AS first FROM processing_log WHERE job_id IS NOT NULL
        GROUP BY job_id HAVING count(*) > 1) f
 WHERE l.job_id = f.job_id AND l.id <> f.first;
UPDATE processing_log l
   SET status = CASE WHEN j.state = 'succeeded' THEN 'SUCCESS' ELSE 'ERROR' END,
       cost = j.cost,
       job_ms = greatest(0, (extract(epoch FROM j.finished_at - l.created_at) * 1000)::int)
  FROM job j
 WHERE j.id = l.job_id AND NOT l.reattached AND j.kind = 'ingest'
   AND j.state IN ('succeeded', 'failed', 'canceled')
   AND pb_log_pending(l.status, l.error_code, l.http_status);
TRUNCATE processing_daily;
INSERT INTO processing_daily (slot_id, day, requests, success, errors, timeouts, ms_sum, cost,
    resends)
SELECT slot_id, (created_at AT TIME ZONE 'UTC')::date, count(*),
    count(*) FILTER (WHERE status = 'SUCCESS' AND NOT reattached),
    count(*) FILTER (WHERE status = 'ERROR'), count(*) FILTER (WHERE status = 'TIMEOUT'),
    sum(response_time_ms), coalesce(sum(cost), 0), count(*) FILTER (WHERE reattached)
FROM processing_log GROUP BY 1, 2;
INSERT INTO processing_daily AS d (slot_id, day, test_runs, test_cost)
SELECT slot_id, (created_at AT TIME ZONE 'UTC')::date, count(*), coalesce(sum(cost), 0)
FROM job WHERE kind = 'test' AND state IN ('succeeded', 'failed', 'canceled') GROUP BY 1, 2
ON CONFLICT (slot_id, day) DO UPDATE
    SET test_runs = EXCLUDED.test_runs, test_cost = EXCLUDED.test_cost;
