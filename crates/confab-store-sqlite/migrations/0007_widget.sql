-- How a chat inbox's widget looks and greets visitors (JSON: colour,
-- position, pre-chat form, texts per language). `{}` means the defaults.
ALTER TABLE inboxes ADD COLUMN widget TEXT NOT NULL DEFAULT '{}';
-- Where a contact form's HTML post sends the visitor afterwards.
ALTER TABLE inboxes ADD COLUMN thank_you_url TEXT;

-- A chat reply also leaves by e-mail after a delay for visitors who left the
-- page; it is dropped when the visitor's widget received it first.
ALTER TABLE outbound_mail ADD COLUMN unless_received INTEGER NOT NULL DEFAULT 0;

-- One contact per signed-in user of an account: two sessions racing to
-- identify the same user find one contact. Duplicates left by the race
-- before this index keep their data but lose the id (the oldest keeps it).
UPDATE contacts SET external_id = NULL
WHERE external_id IS NOT NULL AND id NOT IN (
    SELECT MIN(id) FROM contacts WHERE external_id IS NOT NULL GROUP BY account_id, external_id
);
DROP INDEX contacts_external_id;
CREATE UNIQUE INDEX contacts_external_id ON contacts(account_id, external_id)
    WHERE external_id IS NOT NULL;
