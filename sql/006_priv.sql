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
-- gateway on every host goes through the same locks, so N parallel wrong
-- passwords are checked at most max_user times.  The attempt is recorded
-- as a failure before its password is checked; login_end marks a success,
-- so a gateway that dies mid-check leaves a counted failure, never a free try.
-- Returns the attempt's id (NULL when throttled) and the seconds to wait.
CREATE FUNCTION login_begin(p_name text, p_ip inet, p_ua text, p_window int,
                            p_max_user int, p_max_ip int,
                            OUT attempt_id bigint, OUT retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
    uf timestamptz[];
    ipf timestamptz[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('login_user:' || p_name, 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('login_ip:' || host(p_ip), 0));
    SELECT array_agg(created_at ORDER BY created_at) INTO uf FROM (
        SELECT created_at FROM login_history WHERE username = p_name
           AND NOT success AND NOT throttled
           AND created_at > now() - make_interval(secs => p_window)
         ORDER BY created_at DESC LIMIT p_max_user) f;
    SELECT array_agg(created_at ORDER BY created_at) INTO ipf FROM (
        SELECT created_at FROM login_history WHERE ip = p_ip
           AND NOT success AND NOT throttled
           AND created_at > now() - make_interval(secs => p_window)
         ORDER BY created_at DESC LIMIT p_max_ip) f;
    retry_after := greatest(
        CASE WHEN coalesce(array_length(uf, 1), 0) >= p_max_user THEN
            ceil(extract(epoch FROM uf[1] + make_interval(secs => p_window) - now())) END,
        CASE WHEN coalesce(array_length(ipf, 1), 0) >= p_max_ip THEN
            ceil(extract(epoch FROM ipf[1] + make_interval(secs => p_window) - now())) END,
        0)::int;
    -- clock_timestamp: attempts in one transaction's lifetime still order.
    INSERT INTO login_history (user_id, username, ip, user_agent, success, throttled,
                               created_at)
    VALUES ((SELECT id FROM users WHERE username = p_name), p_name, p_ip, p_ua, false,
            retry_after > 0, clock_timestamp())
    RETURNING CASE WHEN retry_after > 0 THEN NULL ELSE id END INTO attempt_id;
    IF retry_after > 0 THEN
        retry_after := greatest(retry_after, 1);
    END IF;
END $$;
