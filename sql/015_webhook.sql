-- 015_webhook.sql - issue 16 item 4: signed webhooks for job events.
--
-- An operator gives a slot an HTTPS URL (gatewayd/slothook.c); the
-- signing secret is generated server-side and stored sealed with the
-- at-rest key, like the other secrets.  A job's end writes its event in
-- the same transaction (triggers below), so an event exists exactly when
-- the outcome was committed; janitor (janitor/webhook*.c) delivers it.

ALTER TABLE slots
    ADD COLUMN webhook_url text CHECK (length(webhook_url) <= 2048),
    ADD COLUMN webhook_secret text,                 -- sealed (common/seal.c)
    ADD CONSTRAINT slots_webhook_check
        CHECK (webhook_url IS NULL OR webhook_secret IS NOT NULL);

-- One event per (job, type): a job that fails, is retried and fails again
-- sends job.failed once.  body is the exact JSON sent on every attempt.
CREATE TABLE webhook_event (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id          uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
    slot_id         text NOT NULL REFERENCES slots (id),
    type            text NOT NULL
                    CHECK (type IN ('job.succeeded', 'job.failed', 'job.fallback')),
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'abandoned')),
    attempts        integer NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (job_id, type)
);
-- The claim: pending events by due time.
CREATE INDEX webhook_event_due_idx ON webhook_event (next_at) WHERE state = 'pending';
CREATE INDEX webhook_event_slot_idx ON webhook_event (slot_id) WHERE state = 'pending';

-- One row per delivery attempt, written when it is claimed: a row without
-- finished_at belongs to a janitor still sending, or killed while it did.
CREATE TABLE webhook_attempt (
    event_id        uuid NOT NULL REFERENCES webhook_event (id) ON DELETE CASCADE,
    attempt         integer NOT NULL,
    lease_owner     text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    duration_ms     integer CHECK (duration_ms >= 0),
    http_status     smallint,
    error           text,
    PRIMARY KEY (event_id, attempt)
);

-- The event's body: what a receiver needs to act without calling back.
CREATE FUNCTION pb_webhook_body(ev uuid, typ text, j job, fb text) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', ev,
        'type', typ,
        'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'slot_id', j.slot_id,
        'fallback', fb,
        'job', jsonb_build_object(
            'id', j.id, 'kind', j.kind, 'state', j.state,
            'provider_id', j.provider_id, 'operation_id', j.operation_id,
            'booth_photo_id', j.booth_photo_id, 'attempt', j.attempt,
            'cost', j.cost, 'error_code', j.error_code, 'error_message', j.error_message,
            'created_at', to_char(j.created_at AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'finished_at', to_char(j.finished_at AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
$$;

-- Inserts the event when the slot has a webhook; wakes the janitors.
CREATE FUNCTION pb_webhook_event(typ text, j job, fb text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    ev uuid := gen_random_uuid();
BEGIN
    INSERT INTO webhook_event (id, job_id, slot_id, type, body)
    SELECT ev, j.id, j.slot_id, typ, pb_webhook_body(ev, typ, j, fb)
      FROM slots s WHERE s.id = j.slot_id AND s.webhook_url IS NOT NULL
    ON CONFLICT (job_id, type) DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('webhook_event', '');
    END IF;
END $$;

CREATE FUNCTION job_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pb_webhook_event('job.' || NEW.state, NEW, NULL);
    RETURN NULL;
END $$;

-- Booth jobs only: a test run from the slot page is no event.
CREATE TRIGGER job_webhook AFTER UPDATE OF state ON job
    FOR EACH ROW
    WHEN (NEW.kind = 'ingest' AND NEW.state IN ('succeeded', 'failed')
          AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION job_webhook();

-- A fallback is recorded on the booth's processing_log row (ingestd):
-- the booth got its original or the local operation instead of an error.
CREATE FUNCTION log_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    j job;
BEGIN
    SELECT * INTO j FROM job WHERE id = NEW.job_id;
    IF FOUND THEN
        PERFORM pb_webhook_event('job.fallback', j, NEW.fallback);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER log_webhook AFTER INSERT ON processing_log
    FOR EACH ROW
    WHEN (NEW.fallback IS NOT NULL AND NEW.job_id IS NOT NULL AND NOT NEW.reattached)
    EXECUTE FUNCTION log_webhook();
