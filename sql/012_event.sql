-- 012_event.sql - issue 15, the event view: a slot's event title (the
-- guest share page's title), and share links as rows so that an operator
-- can list them and revoke one before it expires.

ALTER TABLE slots
    ADD COLUMN event_title text NOT NULL DEFAULT '' CHECK (length(event_title) <= 120);

-- One row per share link.  The link itself is "<id>.<expiry>.<mac>" (gatewayd/share.c):
-- the MAC is checked before this table is read, so a forged link costs no query;
-- a revoked or expired row answers the same 404 as an unknown link.
CREATE TABLE share_link (
    id              uuid PRIMARY KEY,
    user_id         integer NOT NULL REFERENCES users (id),
    slot_id         text REFERENCES slots (id),     -- NULL: every slot of the user
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX share_link_user_idx ON share_link (user_id, expires_at DESC);

-- The gallery's cursor pages: newest results first, per user through slots.
CREATE INDEX job_gallery_idx ON job (finished_at DESC, id DESC) WHERE state = 'succeeded';
