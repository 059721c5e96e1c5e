-- 004_providers.sql - what the URL-fetching and asynchronous providers
-- (Turbotext) need beyond 002.

-- A provider's answer delivered by webhook, kept until the attempt that
-- waits for it reads it: the webhook may reach any gatewayd/providerd,
-- or arrive while no providerd holds the job (restart), and is not lost.
-- job.provider_ref ("queue:N" / "async:N") is stored before waiting, so
-- a new attempt resumes the provider's queue instead of paying again.
ALTER TABLE job ADD COLUMN provider_result jsonb;

-- Public links handed to a provider live as long as their job: when the
-- job ends, however it ends (success, failure, cancel, deadline, lease
-- rescue), its public media expire at once, so their links 404 and the
-- janitor's job_done pass deletes the files.
CREATE FUNCTION job_revoke_public_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE media_object SET expires_at = now()
     WHERE job_id = NEW.id AND kind = 'public'
       AND (expires_at IS NULL OR expires_at > now());
    RETURN NULL;
END
$$;

CREATE TRIGGER job_revoke_public_media AFTER UPDATE OF state ON job
    FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'failed', 'canceled')
          AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION job_revoke_public_media();
