-- 002_queue.sql - what the scheduler and the ingest wait need beyond 001.

-- One row per provider call started, for the per-provider rate limits
-- (requests per minute and per day) shared by every jobd on every host.
CREATE TABLE provider_call (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_id     text NOT NULL,
    job_id          uuid NOT NULL,
    attempt         integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_call_provider_at_idx ON provider_call (provider_id, at);

-- A booth waiting in ingestd.  Deleted in the transaction that writes its
-- processing_log row; a row left behind by a killed ingestd is turned into
-- an ERROR row once its wait is surely over, so every ingest gets one row.
CREATE TABLE ingest_wait (
    req_id          text PRIMARY KEY,
    job_id          uuid NOT NULL REFERENCES job (id),
    slot_id         text NOT NULL REFERENCES slots (id),
    provider_id     text,
    received_at     timestamptz NOT NULL,
    wait_until      timestamptz NOT NULL
);
CREATE INDEX ingest_wait_until_idx ON ingest_wait (wait_until);

-- processing_log.req_id identifies one ingest: never two rows for one request.
CREATE UNIQUE INDEX processing_log_req_idx ON processing_log (req_id) WHERE req_id IS NOT NULL;
