-- 016_sched_pass.sql - jobd's scheduling pass in one statement (issue 14
-- item 2).
--
-- Every pass used to be a BEGIN / advisory lock / claim / COMMIT per
-- provider, plus a lease rescue and a deadline expiry of their own: about
-- eight transactions per photo and ten a second on an idle system.
-- pb_sched_pass does all of it in one call, so one transaction: the
-- advisory locks are transaction locks and hold until that call commits.

-- Claims what one provider may run now (the claim of jobd/sched.c before
-- this migration, unchanged): under its advisory lock, max_parallel_jobs
-- minus its running jobs (this jobd's own counted as its calls still in
-- flight, p_mine), bounded by the per-minute and per-day budgets from
-- provider_call; the limits are read here (pb_provider_limit, 010).
-- Rows: 'claimed' per job; 'rate_blocked' when due jobs wait for the rate
-- budget alone; 'backlog' when due jobs are left (capacity is full: a pass
-- is due when a call ends).
CREATE FUNCTION pb_claim(p_provider text, p_max integer, p_minute integer,
    p_day integer, p_batch integer, p_owner text, p_lease integer, p_mine integer)
    RETURNS TABLE (kind text, provider text, id text, attempt integer,
        req_id text, state text, in_ms bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    par integer := pb_provider_limit(p_provider, 'max_parallel_jobs', p_max);
    per_min integer := pb_provider_limit(p_provider, 'per_minute', p_minute);
    per_day integer := pb_provider_limit(p_provider, 'per_day', p_day);
    slots bigint;
    budget bigint;
    n bigint;
    due boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('photobridge.claim.' || p_provider));
    SELECT par - (count(*) FILTER (WHERE j.lease_owner IS DISTINCT FROM p_owner) +
                  greatest(count(*) FILTER (WHERE j.lease_owner = p_owner), p_mine))
      INTO slots FROM job j WHERE j.provider_id = p_provider AND j.state = 'running';
    budget := p_batch;
    IF per_min > 0 THEN
        budget := least(budget, per_min - (SELECT count(*) FROM provider_call c
            WHERE c.provider_id = p_provider AND c.at > now() - interval '1 minute'));
    END IF;
    IF per_day > 0 THEN
        budget := least(budget, per_day - (SELECT count(*) FROM provider_call c
            WHERE c.provider_id = p_provider AND c.at > now() - interval '1 day'));
    END IF;
    n := greatest(0, least(slots, budget, p_batch));
    IF n > 0 THEN
        RETURN QUERY
        WITH picked AS (SELECT j.id FROM job j WHERE j.state = 'queued'
              AND j.provider_id = p_provider AND j.run_at <= now() AND j.deadline > now()
              ORDER BY j.run_at, j.id LIMIT n FOR UPDATE SKIP LOCKED),
        claimed AS (UPDATE job j SET state = 'running', attempt = j.attempt + 1,
              lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease),
              started_at = coalesce(j.started_at, now()), updated_at = now()
              FROM picked WHERE j.id = picked.id RETURNING j.id, j.attempt, j.req_id),
        calls AS (INSERT INTO provider_call (provider_id, job_id, attempt)
              SELECT p_provider, c.id, c.attempt FROM claimed c)
        SELECT 'claimed'::text, p_provider, c.id::text, c.attempt,
              coalesce(c.req_id, ''), 'running'::text, 0::bigint FROM claimed c;
    END IF;
    -- A new statement: it sees this pass's claims, so what is left is left.
    SELECT EXISTS (SELECT 1 FROM job j WHERE j.state = 'queued'
        AND j.provider_id = p_provider AND j.run_at <= now() AND j.deadline > now())
      INTO due;
    IF due THEN
        RETURN QUERY SELECT CASE WHEN slots > 0 AND budget <= 0
            THEN 'rate_blocked' ELSE 'backlog' END, p_provider, NULL::text,
            NULL::integer, NULL::text, NULL::text, NULL::bigint;
    END IF;
END $$;

-- The rescue, at the start of every pass: running jobs whose lease expired go
-- back to the queue, or fail when out of attempts or time; queued jobs
-- past their deadline fail.  A job that fails here NOTIFYs job_done in the
-- same transaction.  Rows 'lease_expired' / 'deadline_exceeded' with the
-- job's new state, for jobd's log.
CREATE FUNCTION pb_sched_rescue()
    RETURNS TABLE (kind text, provider text, id text, attempt integer,
        req_id text, state text, in_ms bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH r AS (SELECT j.id FROM job j WHERE j.state = 'running' AND j.lease_until < now()
          ORDER BY j.lease_until LIMIT 100 FOR UPDATE SKIP LOCKED),
    u AS (UPDATE job j SET state = CASE WHEN j.attempt < j.max_attempts AND j.deadline > now()
            THEN 'queued' ELSE 'failed' END, lease_owner = NULL, lease_until = NULL,
          run_at = now(), error_code = 'lease_expired',
          error_message = 'the worker of this attempt was lost',
          finished_at = CASE WHEN j.attempt < j.max_attempts AND j.deadline > now()
            THEN NULL ELSE now() END, updated_at = now()
          FROM r WHERE j.id = r.id RETURNING j.id, j.state, j.provider_id, j.attempt, j.req_id)
    SELECT 'lease_expired'::text, u.provider_id, u.id::text, u.attempt,
        coalesce(u.req_id, ''), u.state, 0::bigint FROM u;
    RETURN QUERY
    WITH r AS (SELECT j.id FROM job j WHERE j.state = 'queued' AND j.deadline <= now()
          ORDER BY j.deadline LIMIT 100 FOR UPDATE SKIP LOCKED),
    u AS (UPDATE job j SET state = 'failed', finished_at = now(), updated_at = now(),
          error_code = coalesce(j.error_code, 'deadline_exceeded'),
          error_message = coalesce(j.error_message, 'the job ran out of time')
          FROM r WHERE j.id = r.id RETURNING j.id, j.state, j.provider_id, j.attempt, j.req_id)
    SELECT 'deadline_exceeded'::text, u.provider_id, u.id::text, u.attempt,
        coalesce(u.req_id, ''), u.state, 0::bigint FROM u;
END $$;

-- One pass: the rescue, then every provider's claim in the order given
-- (every jobd passes its catalogue's order, so two jobds take the advisory
-- locks in the same order and cannot deadlock), then one 'next' row with
-- in_ms until the next thing falls due without a notification: a queued
-- job's run_at (a retry's backoff) or deadline, a running job's lease.
-- jobd runs its next pass then, so nothing waits for the safety net.
CREATE FUNCTION pb_sched_pass(p_providers text[], p_max integer[],
    p_minute integer[], p_day integer[], p_lease integer[], p_mine integer[],
    p_batch integer, p_owner text)
    RETURNS TABLE (kind text, provider text, id text, attempt integer,
        req_id text, state text, in_ms bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    due timestamptz;
BEGIN
    FOR kind, provider, id, attempt, req_id, state, in_ms IN
        SELECT * FROM pb_sched_rescue() LOOP
        IF state = 'failed' THEN
            PERFORM pg_notify('job_done', id);
        END IF;
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_providers, 1), 0) LOOP
        RETURN QUERY SELECT * FROM pb_claim(p_providers[i], p_max[i], p_minute[i],
            p_day[i], p_batch, p_owner, p_lease[i], p_mine[i]);
    END LOOP;
    due := least((SELECT min(j.run_at) FROM job j WHERE j.state = 'queued' AND j.run_at > now()),
        (SELECT min(j.deadline) FROM job j WHERE j.state = 'queued'),
        (SELECT min(j.lease_until) FROM job j WHERE j.state = 'running'));
    IF due IS NOT NULL THEN
        -- At least 100 ms: a row another transaction holds is not looped on.
        kind := 'next';
        provider := NULL;
        id := NULL;
        attempt := NULL;
        req_id := NULL;
        state := NULL;
        in_ms := greatest(100, ceil(extract(epoch FROM due - now()) * 1000))::bigint;
        RETURN NEXT;
    END IF;
END $$;
