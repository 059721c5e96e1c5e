-- 001_init.sql - the photobridge schema (SPEC.md, DESIGN.md).
-- Applied by `pbctl migrate` in one transaction; never edit it once
-- released: add 002_... instead.  All times are timestamptz (UTC).

CREATE TABLE users (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_-]{1,32}$'),
    password_hash   text NOT NULL,                  -- Argon2id, libsodium string form
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Fixed per user, created by `pbctl init`; never created or deleted by the API.
CREATE TABLE slots (
    id              text PRIMARY KEY CHECK (id ~ '^slot-[0-9]{3,}$'),
    user_id         integer NOT NULL REFERENCES users (id),
    name            text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    provider_id     text,
    operation_id    text,
    settings_json   jsonb NOT NULL DEFAULT '{}'::jsonb,
    version         integer NOT NULL DEFAULT 1,     -- optimistic concurrency
    last_reset_at   timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((provider_id IS NULL) = (operation_id IS NULL))
);
CREATE INDEX slots_user_idx ON slots (user_id, id);

-- The queue and the history of every processing (ingest or test run).
CREATE TABLE job (
    id              uuid PRIMARY KEY,
    req_id          text,                           -- gatewayd's request id
    slot_id         text NOT NULL REFERENCES slots (id),
    kind            text NOT NULL CHECK (kind IN ('ingest', 'test')),
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    provider_id     text NOT NULL,
    operation_id    text NOT NULL,
    settings_json   jsonb NOT NULL DEFAULT '{}'::jsonb,  -- snapshot at enqueue
    attempt         integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_at          timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    deadline        timestamptz NOT NULL,
    input_media_ids uuid[] NOT NULL DEFAULT '{}',
    result_media_id uuid,
    provider_ref    text,                           -- async id at the provider
    webhook_token   text UNIQUE,
    idempotency_key text,
    booth_photo_id  text,                           -- the booth's `id` field
    file_sha256     text,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,  -- booth fields kept as sent
    cost            numeric(12, 6),
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'running') = (lease_until IS NOT NULL))
);
-- Due jobs, in order: the claim query.
CREATE INDEX job_due_idx ON job (run_at) WHERE state = 'queued';
-- Running jobs whose lease may have expired: the rescue query.
CREATE INDEX job_lease_idx ON job (lease_until) WHERE state = 'running';
-- Running jobs per provider: the concurrency check.
CREATE INDEX job_running_provider_idx ON job (provider_id) WHERE state = 'running';
-- Jobs of a slot by time: the jobs list and the gallery.
CREATE INDEX job_slot_created_idx ON job (slot_id, created_at DESC);
CREATE INDEX job_state_created_idx ON job (state, created_at DESC);
-- A booth retry finds the job it already paid for.
CREATE UNIQUE INDEX job_idempotency_idx ON job (slot_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX job_dedupe_idx ON job (slot_id, booth_photo_id, file_sha256, created_at DESC)
    WHERE file_sha256 IS NOT NULL;

-- Every stored file: originals, results, templates, public links, thumbnails.
CREATE TABLE media_object (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL
                    CHECK (kind IN ('original', 'result', 'template', 'public', 'test', 'thumbnail')),
    path            text NOT NULL UNIQUE,           -- relative to PB_MEDIA_ROOT
    mime            text NOT NULL,
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    width           integer,
    height          integer,
    sha256          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,                    -- NULL: kept while referenced
    job_id          uuid REFERENCES job (id) ON DELETE SET NULL,
    slot_id         text REFERENCES slots (id)
);
-- The janitor's sweep.
CREATE INDEX media_expires_idx ON media_object (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX media_job_idx ON media_object (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX media_slot_kind_idx ON media_object (slot_id, kind, created_at DESC)
    WHERE slot_id IS NOT NULL;

-- One row per ingest request (SPEC.md §4): the statistics.
CREATE TABLE processing_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_id           text NOT NULL REFERENCES slots (id),
    job_id            uuid,
    req_id            text,
    provider_id       text,
    created_at        timestamptz NOT NULL,         -- when the ingest was received
    status            text NOT NULL CHECK (status IN ('SUCCESS', 'ERROR', 'TIMEOUT')),
    http_status       smallint,
    response_time_ms  integer NOT NULL CHECK (response_time_ms >= 0),
    cost              numeric(12, 6),
    error_code        text,
    error_message     text,
    fallback          text CHECK (fallback IN ('original', 'local'))
);
CREATE INDEX processing_log_slot_time_idx ON processing_log (slot_id, created_at);
CREATE INDEX processing_log_time_idx ON processing_log (created_at);

-- Operator settings: ingest password (sealed), provider keys (sealed),
-- T_sync_response, result retention.
CREATE TABLE settings (
    key             text PRIMARY KEY,
    value           jsonb NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE login_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         integer REFERENCES users (id),  -- NULL: unknown user name
    username        text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    ip              inet,
    user_agent      text,
    success         boolean NOT NULL
);
CREATE INDEX login_history_user_time_idx ON login_history (user_id, created_at DESC);
CREATE INDEX login_history_time_idx ON login_history (created_at);

-- Revoked JWTs (logout), kept until they would have expired anyway.
CREATE TABLE revoked_token (
    jti             text PRIMARY KEY,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX revoked_token_expires_idx ON revoked_token (expires_at);
