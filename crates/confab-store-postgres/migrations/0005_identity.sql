-- Signed contact identity: each inbox has a secret its site or app backend
-- signs user ids with (HMAC-SHA256), and may refuse anonymous sessions.
ALTER TABLE inboxes ADD COLUMN identity_secret TEXT;
-- New inboxes get theirs from the server; existing ones get one here:
-- 64 hex characters from two built-in, strongly random UUIDs (v4 UUIDs carry
-- 122 random bits each; pgcrypto is not assumed to be installed).
UPDATE inboxes SET identity_secret =
    replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
ALTER TABLE inboxes ALTER COLUMN identity_secret SET NOT NULL;
ALTER TABLE inboxes ADD COLUMN identity_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Identified contacts are found again by the app's own user id.
CREATE INDEX contacts_external_id ON contacts(account_id, external_id)
    WHERE external_id IS NOT NULL;
