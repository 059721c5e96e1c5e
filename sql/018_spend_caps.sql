-- 018_spend_caps.sql - daily spend caps per slot and per provider (issue 16
-- item 3), checked by ingestd before a job is queued (ingestd/spendcap.c).
--
-- The caps: settings key spend_caps {"slots": {"<slot>": usd},
-- "providers": {"<provider>": usd}} (gatewayd/spendcaps.c); no member, no cap.
-- The day is the UTC day, as processing_daily's (there is no operator time
-- zone setting).  A day's spend is the cost of the jobs created that day,
-- job.cost: the number the statistics show (processing_log and
-- processing_daily take it from the job), summed in spend_daily.  Test runs are real money: they
-- count toward the caps, and are reported apart (test_spent).
--
-- Jobs admitted but not finished count at their expected cost (the
-- reservation): the highest cost among the provider's last 20 priced jobs of
-- the last 7 days, or, with no such job, the whole cap (one unpriced job at
-- a time).  Between the admission and the job row's commit the admission
-- itself is held in spend_hold, so a second ingestd on another host, which
-- waits for the same advisory lock, sees it.

CREATE TABLE spend_hold (
    req_id          text PRIMARY KEY,
    slot_id         text NOT NULL,
    provider_id     text NOT NULL,
    amount          numeric NOT NULL CHECK (amount >= 0),
    until           timestamptz NOT NULL
);

-- A hold ends when its job row exists (by req_id), or at its expiry.
CREATE INDEX job_req_idx ON job (req_id) WHERE req_id IS NOT NULL;
-- A provider's recent prices.
CREATE INDEX job_provider_priced_idx ON job (provider_id, finished_at DESC) WHERE cost > 0;
-- The unfinished jobs of a slot, of a provider (the reservation).
CREATE INDEX job_unfinished_slot_idx ON job (slot_id) WHERE state IN ('queued', 'running');
CREATE INDEX job_unfinished_provider_idx ON job (provider_id)
    WHERE state IN ('queued', 'running');

-- The day's spend per slot and per provider, kept by a trigger on
-- job.cost, so a check reads two rows however busy the day was.
CREATE TABLE spend_daily (
    scope           text NOT NULL CHECK (scope IN ('slot', 'provider')),
    id              text NOT NULL,
    day             date NOT NULL,              -- UTC, of the job's created_at
    spent           numeric NOT NULL DEFAULT 0, -- test runs included
    test_spent      numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, id, day)
);

-- Adds amount (negative: takes it away) to a job's slot and provider day.
CREATE FUNCTION pb_spend_add(slot text, provider text, at timestamptz, kind text,
    amount numeric) RETURNS void LANGUAGE sql AS $$
    INSERT INTO spend_daily AS d (scope, id, day, spent, test_spent)
    VALUES ('slot', slot, (at AT TIME ZONE 'UTC')::date, amount,
            CASE WHEN kind = 'test' THEN amount ELSE 0 END),
           ('provider', provider, (at AT TIME ZONE 'UTC')::date, amount,
            CASE WHEN kind = 'test' THEN amount ELSE 0 END)
    ON CONFLICT (scope, id, day) DO UPDATE
        SET spent = d.spent + EXCLUDED.spent, test_spent = d.test_spent + EXCLUDED.test_spent
$$;

CREATE FUNCTION job_spend_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND coalesce(OLD.cost, 0) <> 0 THEN
        PERFORM pb_spend_add(OLD.slot_id, OLD.provider_id, OLD.created_at, OLD.kind, -OLD.cost);
    END IF;
    IF coalesce(NEW.cost, 0) <> 0 THEN
        PERFORM pb_spend_add(NEW.slot_id, NEW.provider_id, NEW.created_at, NEW.kind, NEW.cost);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER job_spend_insert AFTER INSERT ON job
    FOR EACH ROW WHEN (coalesce(NEW.cost, 0) <> 0) EXECUTE FUNCTION job_spend_count();
CREATE TRIGGER job_spend_update AFTER UPDATE OF cost, slot_id, provider_id, created_at, kind ON job
    FOR EACH ROW
    WHEN (OLD.cost IS DISTINCT FROM NEW.cost OR OLD.slot_id IS DISTINCT FROM NEW.slot_id
          OR OLD.provider_id IS DISTINCT FROM NEW.provider_id
          OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION job_spend_count();

-- The history already there.
INSERT INTO spend_daily (scope, id, day, spent, test_spent)
SELECT s.scope, CASE s.scope WHEN 'slot' THEN j.slot_id ELSE j.provider_id END,
    (j.created_at AT TIME ZONE 'UTC')::date, sum(j.cost),
    coalesce(sum(j.cost) FILTER (WHERE j.kind = 'test'), 0)
  FROM job j, (VALUES ('slot'), ('provider')) s (scope)
 WHERE coalesce(j.cost, 0) <> 0
 GROUP BY 1, 2, 3;

CREATE FUNCTION pb_spend_day_start() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

-- The cap of a slot (scope 'slot') or provider ('provider'), NULL when none.
CREATE FUNCTION pb_spend_cap(scope text, subject text) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT (s.value -> (scope || 's') ->> subject)::numeric FROM settings s
     WHERE s.key = 'spend_caps' AND jsonb_typeof(s.value -> (scope || 's') -> subject) = 'number'
$$;

-- What one more job of the provider is expected to cost; NULL when unknown.
CREATE FUNCTION pb_spend_expected(provider text) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT max(cost) FROM (SELECT cost FROM job WHERE provider_id = provider AND cost > 0
        AND finished_at > now() - interval '7 days' ORDER BY finished_at DESC LIMIT 20) c
$$;

-- Today's spend of a slot or provider (spend_daily), and the reservation:
-- its unfinished jobs of today at their provider's expected cost (one
-- price lookup per provider), and the holds of admissions not yet written.
CREATE FUNCTION pb_spend_today(scope text, subject text, cap numeric,
    OUT spent numeric, OUT test_spent numeric, OUT reserved numeric)
    LANGUAGE sql STABLE AS $$
    WITH u AS (
        SELECT provider_id FROM job WHERE scope = 'slot' AND slot_id = subject
           AND state IN ('queued', 'running') AND created_at >= pb_spend_day_start()
        UNION ALL
        SELECT provider_id FROM job WHERE scope = 'provider' AND provider_id = subject
           AND state IN ('queued', 'running') AND created_at >= pb_spend_day_start()
    ), d AS (
        SELECT d.spent, d.test_spent FROM spend_daily d
         WHERE d.scope = pb_spend_today.scope AND d.id = subject
           AND d.day = (now() AT TIME ZONE 'UTC')::date
    )
    SELECT coalesce((SELECT d.spent FROM d), 0), coalesce((SELECT d.test_spent FROM d), 0),
        coalesce((SELECT sum(g.n * coalesce(pb_spend_expected(g.provider_id), cap, 0))
            FROM (SELECT provider_id, count(*) AS n FROM u GROUP BY provider_id) g), 0)
        + (SELECT coalesce(sum(amount), 0) FROM spend_hold s
            WHERE (CASE scope WHEN 'slot' THEN s.slot_id ELSE s.provider_id END) = subject
              AND s.until > now() AND NOT EXISTS (SELECT 1 FROM job WHERE req_id = s.req_id))
$$;

-- ingestd's check before a new job of req for slot on provider: scope is
-- NULL when admitted (and the admission held), else 'slot' or 'provider'
-- whose cap the job would pass, with that cap, what it has used (spent +
-- reserved) and the milliseconds until the day rolls over.  The advisory
-- locks (slot, then provider: one order, no deadlock) make the check and
-- the hold one step for every ingestd on every host.
CREATE FUNCTION pb_spend_admit(req text, slot text, provider text,
    OUT scope text, OUT cap numeric, OUT used numeric, OUT retry_ms bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    sc text;
    k text;
    c numeric;
    s record;
    expected numeric;
    smallest numeric;
BEGIN
    retry_ms := ceil(extract(epoch FROM pb_spend_day_start() + interval '1 day' - now())
        * 1000)::bigint;
    FOR i IN 1..2 LOOP
        sc := CASE i WHEN 1 THEN 'slot' ELSE 'provider' END;
        k := CASE i WHEN 1 THEN slot ELSE provider END;
        c := pb_spend_cap(sc, k);
        CONTINUE WHEN c IS NULL;
        IF smallest IS NULL THEN
            expected := pb_spend_expected(provider);
        END IF;
        smallest := least(smallest, c);
        PERFORM pg_advisory_xact_lock(hashtextextended('pb_spend:' || sc || ':' || k, 0));
        s := pb_spend_today(sc, k, c);
        IF s.spent + s.reserved + coalesce(expected, c) > c THEN
            scope := sc;
            cap := c;
            used := s.spent + s.reserved;
            RETURN;
        END IF;
    END LOOP;
    IF smallest IS NOT NULL THEN
        DELETE FROM spend_hold WHERE until < now();
        INSERT INTO spend_hold (req_id, slot_id, provider_id, amount, until)
        VALUES (req, slot, provider, coalesce(expected, smallest), now() + interval '30 seconds')
        ON CONFLICT (req_id) DO NOTHING;
    END IF;
END $$;

-- Every cap set, with today's spend: the settings page and /metrics.
CREATE FUNCTION pb_spend_status(OUT scope text, OUT id text, OUT cap numeric,
    OUT spent numeric, OUT test_spent numeric, OUT reserved numeric)
    RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT c.scope, c.id, c.cap, t.spent, t.test_spent, t.reserved
      FROM (SELECT s.scope, e.key AS id, (e.value #>> '{}')::numeric AS cap
              FROM settings, (VALUES ('slot'), ('provider')) s (scope),
                   jsonb_each(settings.value -> (s.scope || 's')) e
             WHERE settings.key = 'spend_caps'
               AND jsonb_typeof(settings.value -> (s.scope || 's')) = 'object'
               AND jsonb_typeof(e.value) = 'number') c,
           LATERAL pb_spend_today(c.scope, c.id, c.cap) t
     ORDER BY 1, 2
$$;
