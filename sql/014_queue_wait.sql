-- 014_queue_wait.sql - a full provider queue fails fast too (issue 12 item 6).
--
-- Next to pb_quota_wait_ms (010): when a new job of a provider would start,
-- from what every host shares here, so ingestd can answer a booth at once
-- when its photo cannot be done before the booth's deadline
-- (ingestd/quota.c, ingestd/README.md "Quotas fail fast").

-- The recent attempts of a provider, newest first (how long a call takes).
CREATE INDEX job_attempt_provider_finished_idx ON job_attempt (provider_id, finished_at DESC)
    WHERE finished_at IS NOT NULL;

-- Predicts a new job of provider (max_parallel_jobs def_parallel unless
-- set) with calls lasting call_ms: two thirds of the median of its last 20
-- attempts that ended in the last hour (0 without any: no prediction).
-- Its max_parallel_jobs slots come free when the running jobs' calls end
-- (call_ms after their attempt started, or now when overdue), then every
-- queued job ahead takes the first free slot for call_ms: the new job
-- starts start_ms from now (0: a slot is free for it at once).
CREATE FUNCTION pb_queue_start_ms(provider text, def_parallel integer,
    OUT start_ms bigint, OUT call_ms bigint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    par integer := greatest(1, pb_provider_limit(provider, 'max_parallel_jobs', def_parallel));
    ahead bigint;
    free_ms bigint;
BEGIN
    start_ms := 0;
    SELECT coalesce((percentile_cont(0.5) WITHIN GROUP (ORDER BY h.ms) * 2 / 3)::bigint, 0)
        INTO call_ms
        FROM (SELECT extract(epoch FROM a.finished_at - a.started_at) * 1000 AS ms
                FROM job_attempt a WHERE a.provider_id = provider
                AND a.finished_at > now() - interval '1 hour'
                ORDER BY a.finished_at DESC LIMIT 20) h;
    IF call_ms <= 0 THEN
        call_ms := 0;
        RETURN;
    END IF;
    ahead := (SELECT count(*) FROM job WHERE state = 'queued' AND provider_id = provider
        AND deadline > now());
    -- Slot k's first free time is the k-th of the par latest call ends
    -- (free slots end now); all calls last call_ms, so the queue ahead
    -- fills the slots round by round and ours is round ahead / par.
    SELECT f.rem INTO free_ms FROM (
        SELECT r.rem FROM (
            SELECT least(call_ms, greatest(0,
                call_ms - extract(epoch FROM now() - a.started_at) * 1000))::bigint AS rem
              FROM job j JOIN job_attempt a ON a.job_id = j.id AND a.attempt = j.attempt
             WHERE j.provider_id = provider AND j.state = 'running'
            UNION ALL SELECT 0 FROM generate_series(1, par)) r
        ORDER BY r.rem DESC LIMIT par) f
        ORDER BY f.rem OFFSET ahead % par LIMIT 1;
    start_ms := (ahead / par) * call_ms + free_ms;
END $$;
