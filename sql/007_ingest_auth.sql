-- 007_ingest_auth.sql - the ingest password's throttle.  gatewayd asks
-- ingestd's `auth` verb as soon as a booth's password field arrives, before
-- the photo is spooled; each wrong password is one row here, per client
-- address and slot.  Counted in PostgreSQL, like login_history, so every
-- gateway and ingestd instance sees the same failures.  Rows older than the
-- window are deleted as new failures come, so the table holds at most one
-- window's failures.
CREATE TABLE ingest_auth_failure (
    id          bigserial PRIMARY KEY,
    addr        inet NOT NULL,
    slot_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_auth_failure_key_idx ON ingest_auth_failure (addr, slot_id, created_at);
CREATE INDEX ingest_auth_failure_time_idx ON ingest_auth_failure (created_at);
