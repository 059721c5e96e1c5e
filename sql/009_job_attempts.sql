-- 009_job_attempts.sql - a job's attempts, one row each, for the job page
-- of the UI and GET /api/jobs/{id} (gatewayd/jobs.c).  The job row keeps
-- only its last attempt's error and its cost; provider_call only when each
-- attempt started.  Rows are written by a trigger in the transaction that
-- moves the job, so every daemon's transition (claim, providerd's success,
-- jobd's failure/retry, lease rescue, cancel) is recorded, exactly once,
-- with no change to the daemons.

CREATE TABLE job_attempt (
    job_id          uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    provider_id     text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,                    -- NULL while it runs
    outcome         text CHECK (outcome IN ('succeeded', 'retry', 'failed', 'canceled')),
    error_code      text,
    error_message   text,
    -- The provider's HTTP status ("503 UNAVAILABLE") when its error names one.
    provider_status text,
    cost            numeric(12, 6),
    PRIMARY KEY (job_id, attempt)
);

CREATE FUNCTION pb_job_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'running' THEN
        -- Claimed: a new attempt starts (a re-claim of the same number,
        -- after a claim was given back unsent, starts it again).
        INSERT INTO job_attempt AS a (job_id, attempt, provider_id)
        VALUES (NEW.id, NEW.attempt, NEW.provider_id)
        ON CONFLICT (job_id, attempt) DO UPDATE
            SET started_at = now(), finished_at = NULL, outcome = NULL, error_code = NULL,
                error_message = NULL, provider_status = NULL, cost = NULL;
    ELSIF OLD.state = 'running' AND NEW.attempt < OLD.attempt THEN
        -- The claim was undone before any provider was called (jobd/sched.c).
        DELETE FROM job_attempt WHERE job_id = NEW.id AND attempt = OLD.attempt;
    ELSIF OLD.state = 'running' THEN
        UPDATE job_attempt SET finished_at = now(),
            outcome = CASE WHEN NEW.state = 'queued' THEN 'retry' ELSE NEW.state END,
            error_code = CASE WHEN NEW.state = 'succeeded' THEN NULL ELSE NEW.error_code END,
            error_message = CASE WHEN NEW.state = 'succeeded' THEN NULL ELSE NEW.error_message END,
            provider_status = CASE WHEN NEW.state = 'succeeded' THEN NULL ELSE
                substring(NEW.error_message FROM 'HTTP ([0-9]{3}(?: [A-Z_]+)?)') END,
            cost = CASE WHEN NEW.state = 'succeeded' THEN NEW.cost END
        WHERE job_id = NEW.id AND attempt = OLD.attempt;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER job_attempt AFTER UPDATE OF state ON job
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION pb_job_attempt();

-- The attempts of jobs already there, from provider_call (start times);
-- only the last one's outcome and error are known.
INSERT INTO job_attempt (job_id, attempt, provider_id, started_at, finished_at, outcome,
                         error_code, error_message, cost)
SELECT DISTINCT ON (c.job_id, c.attempt) c.job_id, c.attempt, c.provider_id, c.at,
       CASE WHEN c.attempt = j.attempt THEN j.finished_at END,
       CASE WHEN c.attempt < j.attempt THEN 'retry'
            WHEN j.state IN ('succeeded', 'failed', 'canceled') THEN j.state END,
       CASE WHEN c.attempt = j.attempt AND j.state <> 'succeeded' THEN j.error_code END,
       CASE WHEN c.attempt = j.attempt AND j.state <> 'succeeded' THEN j.error_message END,
       CASE WHEN c.attempt = j.attempt AND j.state = 'succeeded' THEN j.cost END
  FROM provider_call c JOIN job j ON j.id = c.job_id
 WHERE c.attempt >= 1
 ORDER BY c.job_id, c.attempt, c.at DESC
ON CONFLICT DO NOTHING;
