-- 003_api.sql - what the operator API (gatewayd/auth.c, slots, gallery) needs.

-- A throttled login attempt is recorded but does not count as a failure,
-- or an attacker could keep an operator locked out for ever.
ALTER TABLE login_history ADD COLUMN throttled boolean NOT NULL DEFAULT false;
-- The login throttle: recent failures per user name and per address.
CREATE INDEX login_history_name_time_idx ON login_history (username, created_at);
CREATE INDEX login_history_ip_time_idx ON login_history (ip, created_at);

-- A job's result for the jobs list and the gallery of a slot.
CREATE INDEX job_slot_kind_state_idx ON job (slot_id, kind, state, finished_at DESC);
