-- 006_priv.sql - who owns a public media link, and a login throttle that
-- cannot be raced (issue 11).

-- A public media item belongs to the operator who registered it, or to
-- the owner of the slot whose job published it; only that operator may
-- extend it.  Rows made before this migration get their owner from the
-- job's slot where there is one.
ALTER TABLE media_object ADD COLUMN owner_user_id integer REFERENCES users (id)
    ON DELETE CASCADE;
UPDATE media_object m SET owner_user_id = s.user_id
  FROM job j JOIN slots s ON s.id = j.slot_id
 WHERE m.kind = 'public' AND m.job_id = j.id;

-- login_begin: the throttle check and the attempt's row in one transaction,
-- serialised per user name and per address by transaction advisory locks
-- (taken in that order by every caller, so they cannot deadlock).  Every
-- gateway on every host goes through the same locks.  The attempt is
-- recorded as a failure still being checked (checking = true) before its
-- password is checked; login_end says how it ended.  A check in progress
-- counts as a failure, so N parallel wrong passwords get at most max_user
-- checks.  When the limit is reached only because of checks in progress,
-- the answer is "busy" (no row, the caller asks again shortly), not a
-- throttle: parallel correct logins wait for each other instead of being
-- refused.  A check older than 30 s (its gateway died) counts as decided.
-- Returns the attempt's id (NULL when refused), the seconds to wait when
-- throttled, and busy.
ALTER TABLE login_history ADD COLUMN checking boolean NOT NULL DEFAULT false;

CREATE FUNCTION login_begin(p_name text, p_ip inet, p_ua text, p_window int,
                            p_max_user int, p_max_ip int,
                            OUT attempt_id bigint, OUT retry_after int, OUT busy boolean)
LANGUAGE plpgsql AS $$
DECLARE
    uf timestamptz[];
    ipf timestamptz[];
    u_checking int;
    ip_checking int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('login_user:' || p_name, 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('login_ip:' || host(p_ip), 0));
    SELECT array_agg(created_at ORDER BY created_at), count(*) FILTER (WHERE live)
      INTO uf, u_checking FROM (
        SELECT created_at, checking AND created_at > now() - interval '30 seconds' AS live
          FROM login_history WHERE username = p_name
           AND NOT success AND NOT throttled
           AND created_at > now() - make_interval(secs => p_window)
         ORDER BY created_at DESC LIMIT p_max_user) f;
    SELECT array_agg(created_at ORDER BY created_at), count(*) FILTER (WHERE live)
      INTO ipf, ip_checking FROM (
        SELECT created_at, checking AND created_at > now() - interval '30 seconds' AS live
          FROM login_history WHERE ip = p_ip
           AND NOT success AND NOT throttled
           AND created_at > now() - make_interval(secs => p_window)
         ORDER BY created_at DESC LIMIT p_max_ip) f;
    busy := (coalesce(array_length(uf, 1), 0) >= p_max_user AND u_checking > 0)
         OR (coalesce(array_length(ipf, 1), 0) >= p_max_ip AND ip_checking > 0);
    retry_after := 0;
    IF busy THEN
        RETURN;
    END IF;
    retry_after := greatest(
        CASE WHEN coalesce(array_length(uf, 1), 0) >= p_max_user THEN
            ceil(extract(epoch FROM uf[1] + make_interval(secs => p_window) - now())) END,
        CASE WHEN coalesce(array_length(ipf, 1), 0) >= p_max_ip THEN
            ceil(extract(epoch FROM ipf[1] + make_interval(secs => p_window) - now())) END,
        0)::int;
    -- clock_timestamp: attempts in one transaction's lifetime still order.
    INSERT INTO login_history (user_id, username, ip, user_agent, success, throttled,
                               checking, created_at)
    VALUES ((SELECT id FROM users WHERE username = p_name), p_name, p_ip, p_ua, false,
            retry_after > 0, retry_after = 0, clock_timestamp())
    RETURNING CASE WHEN retry_after > 0 THEN NULL ELSE id END INTO attempt_id;
    IF retry_after > 0 THEN
        retry_after := greatest(retry_after, 1);
    END IF;
END $$;
