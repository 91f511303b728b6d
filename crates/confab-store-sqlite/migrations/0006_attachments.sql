-- Attachments: files uploaded by agents and contacts, or received by e-mail.
-- The content lies under the attachments folder by `storage_key` (random,
-- never the user's file name). An upload is unattached (`message_id` NULL)
-- until a message takes it, in the message's own transaction. When a
-- message or conversation is purged the row stays, detached, until the
-- scheduler forgets it and deletes the file; so do unattached uploads
-- after a day.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    uploader_kind TEXT NOT NULL CHECK (uploader_kind IN ('agent', 'contact', 'email')),
    uploader_id INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    -- When a message took it; never cleared, so a file can be attached once.
    attached_at INTEGER
);
CREATE INDEX attachments_message ON attachments(message_id, id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unattached ON attachments(created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_conversation ON attachments(conversation_id) WHERE conversation_id IS NOT NULL;
