-- When a conversation went to the trash, so it can be purged after the retention.
ALTER TABLE conversations ADD COLUMN deleted_at INTEGER;
CREATE INDEX conversations_trash ON conversations(deleted_at) WHERE deleted_at IS NOT NULL;
