-- 008_faults.sql - what surviving faults needs from the schema.

-- A booth whose answer was lost (gatewayd killed, Wi-Fi gone) retries and
-- is attached to the same job, so one job can have several processing_log
-- rows; its cost is counted on the first of them only (ingestd's
-- wait_log looks here), so spend is never counted twice.  Partial: only
-- rows with a cost, a fraction of the history.
CREATE INDEX processing_log_job_cost_idx ON processing_log (job_id) WHERE cost > 0;
