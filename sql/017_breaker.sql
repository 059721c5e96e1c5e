-- 017_breaker.sql - issue 16 item 2: a circuit breaker per provider and
-- model, shared by every host through this database.
--
-- Every attempt's end (job_attempt, migration 009) is recorded by a
-- trigger, in the transaction of whichever daemon ended it: N consecutive
-- provider failures (5xx, 429, network, timeout; never the guest's photo)
-- or a p95 call time above a threshold over the last M calls open the
-- circuit for a cool-down.  ingestd asks pb_circuit_admit() before a new
-- job is queued (ingestd/breaker.c): while open the booth is answered at
-- once; after the cool-down exactly one caller claims the probe (a
-- compare-and-set on the row, so two hosts never both probe); the probe's
-- success closes the circuit, its failure re-opens it with a doubled
-- cool-down.  Each transition raises a NOTICE "pb_event provider.circuit_*
-- k=v ..." that the causing daemon logs (common/db.c).

CREATE TABLE provider_circuit (
    provider_id     text NOT NULL,
    model           text NOT NULL,      -- the slot's settings.model, '' for the default
    state           text NOT NULL DEFAULT 'closed'
                    CHECK (state IN ('closed', 'open', 'half_open')),
    failures        integer NOT NULL DEFAULT 0,     -- consecutive provider failures
    cooldown_sec    integer NOT NULL DEFAULT 0,     -- of the last opening
    open_until      timestamptz,
    probe_at        timestamptz,                    -- when the probe was let through
    reason          text,                           -- of the last transition
    -- Counts every transition; also the version a probe claim compares.
    transitions     bigint NOT NULL DEFAULT 0,
    since           timestamptz NOT NULL DEFAULT now(),  -- of the current state
    PRIMARY KEY (provider_id, model)
);

-- The defaults, in one place (GET /api/settings shows them too).
CREATE FUNCTION pb_breaker_defaults() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"failures": 5, "p95_ms": 120000, "window": 20, "cooldown_sec": 30,
             "max_cooldown_sec": 600}'::jsonb
$$;

-- Settings key provider_breaker {"<provider>": {name: integer}}, else the default.
CREATE FUNCTION pb_breaker_setting(provider text, name text) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (value -> provider ->> name)::int FROM settings
        WHERE key = 'provider_breaker'
        AND jsonb_typeof(value -> provider -> name) = 'number'),
        (pb_breaker_defaults() ->> name)::int)
$$;

-- Moves circuit c to state st and says so once.
CREATE FUNCTION pb_circuit_move(c provider_circuit, st text, why text, cool integer,
    job uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE provider_circuit SET state = st, reason = why, cooldown_sec = cool,
        open_until = CASE WHEN st = 'open' THEN now() + make_interval(secs => cool) END,
        probe_at = CASE WHEN st = 'half_open' THEN now() END,
        failures = CASE WHEN st = 'closed' THEN 0 ELSE failures END,
        transitions = transitions + 1, since = now()
     WHERE provider_id = c.provider_id AND model = c.model;
    RAISE NOTICE 'pb_event provider.circuit_% provider=% model=% reason=% cooldown_sec=% job=%',
        CASE st WHEN 'half_open' THEN 'probe' ELSE st END, c.provider_id,
        CASE WHEN c.model = '' THEN 'default' ELSE c.model END, why, cool, coalesce(job::text, '-');
END $$;

-- An attempt ended: count it for its provider and model.
CREATE FUNCTION pb_circuit_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m text := coalesce((SELECT settings_json ->> 'model' FROM job WHERE id = NEW.job_id), '');
    bad boolean := NEW.outcome IN ('retry', 'failed') AND (NEW.error_code IN
        ('provider_unavailable', 'rate_limited', 'network', 'provider_timeout')
        OR coalesce(NEW.provider_status ~ '^(5[0-9][0-9]|429)', false));
    c provider_circuit;
    win integer := greatest(1, pb_breaker_setting(NEW.provider_id, 'window'));
    p95_lim integer := pb_breaker_setting(NEW.provider_id, 'p95_ms');
    p95 double precision;
BEGIN
    IF NOT bad AND NEW.outcome IS DISTINCT FROM 'succeeded' THEN
        RETURN NULL;
    END IF;
    -- Every end of a healthy provider's calls passes here: it reads the row
    -- without a lock and writes nothing unless something changes.
    SELECT * INTO c FROM provider_circuit WHERE provider_id = NEW.provider_id AND model = m;
    IF NOT FOUND OR bad OR c.failures > 0 OR c.state <> 'closed' THEN
        INSERT INTO provider_circuit (provider_id, model) VALUES (NEW.provider_id, m)
            ON CONFLICT DO NOTHING;
        SELECT * INTO c FROM provider_circuit WHERE provider_id = NEW.provider_id
            AND model = m FOR UPDATE;
        UPDATE provider_circuit SET failures = CASE WHEN bad THEN failures + 1 ELSE 0 END
         WHERE provider_id = c.provider_id AND model = m RETURNING * INTO c;
    END IF;
    IF c.state = 'half_open' THEN
        -- The probe's answer (or an older job's, just as telling).
        IF bad THEN
            PERFORM pb_circuit_move(c, 'open', 'probe_failed', least(
                greatest(1, pb_breaker_setting(NEW.provider_id, 'max_cooldown_sec')),
                greatest(c.cooldown_sec * 2, 1)), NEW.job_id);
        ELSE
            PERFORM pb_circuit_move(c, 'closed', 'probe_succeeded', 0, NEW.job_id);
        END IF;
    ELSIF c.state = 'closed' THEN
        IF bad AND c.failures >= greatest(1, pb_breaker_setting(NEW.provider_id, 'failures')) THEN
            PERFORM pb_circuit_move(c, 'open', 'failures', greatest(1,
                pb_breaker_setting(NEW.provider_id, 'cooldown_sec')), NEW.job_id);
            RETURN NULL;
        END IF;
        IF p95_lim <= 0 THEN
            RETURN NULL;
        END IF;
        -- The last win calls of this model since the circuit closed, all of them there.
        SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY h.ms) INTO p95 FROM (
            SELECT extract(epoch FROM a.finished_at - a.started_at) * 1000 AS ms
              FROM job_attempt a JOIN job j ON j.id = a.job_id
             WHERE a.provider_id = NEW.provider_id AND a.finished_at >= c.since
               AND coalesce(j.settings_json ->> 'model', '') = m
               AND a.outcome IN ('succeeded', 'retry', 'failed')
             ORDER BY a.finished_at DESC LIMIT win) h
        HAVING count(*) >= win;
        IF p95 > p95_lim THEN
            PERFORM pb_circuit_move(c, 'open', 'latency', greatest(1,
                pb_breaker_setting(NEW.provider_id, 'cooldown_sec')), NEW.job_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER provider_circuit AFTER UPDATE OF finished_at ON job_attempt
    FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)
    EXECUTE FUNCTION pb_circuit_attempt();

-- May a new job of provider/model be queued now?  retry_ms > 0: no, the
-- circuit is open (or its probe is out) for about that long.  probe: yes,
-- and this job is the one probe of a cool-down that ended.  A probe out
-- longer than probe_timeout_sec (its job's deadline) is given up and a
-- new one may go.
CREATE FUNCTION pb_circuit_admit(provider text, model_id text, probe_timeout_sec integer,
    OUT retry_ms bigint, OUT probe boolean) LANGUAGE plpgsql AS $$
DECLARE
    c provider_circuit;
BEGIN
    retry_ms := 0;
    probe := false;
    SELECT * INTO c FROM provider_circuit WHERE provider_id = provider AND model = model_id;
    IF NOT FOUND OR c.state = 'closed' THEN
        RETURN;
    END IF;
    IF c.state = 'open' AND c.open_until > now() THEN
        retry_ms := greatest(1, ceil(extract(epoch FROM c.open_until - now()) * 1000));
        RETURN;
    END IF;
    IF c.state = 'half_open' AND c.probe_at > now() - make_interval(secs => probe_timeout_sec) THEN
        retry_ms := greatest(1, c.cooldown_sec) * 1000::bigint;
        RETURN;
    END IF;
    -- Compare-and-set on the version: of two callers, the second finds
    -- it changed (READ COMMITTED re-checks the row after the first's commit).
    UPDATE provider_circuit SET transitions = transitions
     WHERE provider_id = provider AND model = model_id AND transitions = c.transitions;
    IF NOT FOUND THEN
        retry_ms := greatest(1, c.cooldown_sec) * 1000::bigint;
        RETURN;
    END IF;
    PERFORM pb_circuit_move(c, 'half_open', CASE c.state WHEN 'open' THEN 'cooldown_over'
        ELSE 'probe_lost' END, c.cooldown_sec, NULL);
    probe := true;
END $$;
