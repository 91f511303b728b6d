-- The `unassigned` scope in the list's order. PostgreSQL does not take
-- `assignee_id IS NULL` as an equality that keeps the per-assignee index in
-- order, so an unassigned page walked the whole folder's index and dropped
-- the assigned rows one by one (`answered`, `unassigned`, a tag: 40–60 ms
-- on a million conversations). This partial index is in order for it.
CREATE INDEX conversations_folder_unassigned ON conversations(account_id, folder, last_activity_at DESC, id DESC)
    WHERE assignee_id IS NULL;
