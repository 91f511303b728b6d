-- Signed contact identity: each inbox has a secret its site or app backend
-- signs user ids with (HMAC-SHA256), and may refuse anonymous sessions.
ALTER TABLE inboxes ADD COLUMN identity_secret TEXT;
-- New inboxes get theirs from the server; existing ones get one here.
UPDATE inboxes SET identity_secret = lower(hex(randomblob(32)));
ALTER TABLE inboxes ADD COLUMN identity_required INTEGER NOT NULL DEFAULT 0;

-- Identified contacts are found again by the app's own user id.
CREATE INDEX contacts_external_id ON contacts(account_id, external_id)
    WHERE external_id IS NOT NULL;
