-- 013_event_logo.sql - issue 15: a slot's event logo on the guests' share
-- page (gatewayd/eventlogo.c).  A media_object kind of its own, so that
-- nothing written for templates (the statistics' thumbnail, the cleanup of
-- templates a slot save no longer names) takes a logo for one; stored
-- without expiry, so the janitor keeps it.

ALTER TABLE media_object DROP CONSTRAINT media_object_kind_check;
ALTER TABLE media_object ADD CONSTRAINT media_object_kind_check
    CHECK (kind IN ('original', 'result', 'template', 'public', 'test', 'thumbnail', 'logo'));

-- One logo a slot: an upload replaces it (INSERT ... ON CONFLICT).
CREATE UNIQUE INDEX media_slot_logo_idx ON media_object (slot_id) WHERE kind = 'logo';
