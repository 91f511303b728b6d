-- The inbox list's quick filters, each an index in the list's order
-- (last activity, newest first) within a folder, so the first page of any
-- folder with one filter reads about a page of index entries — also when
-- the filter matches nothing in a large folder (without them, "answered
-- and unread" walked every answered conversation to find none).
CREATE INDEX conversations_folder_inbox ON conversations(account_id, folder, inbox_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_folder_kind ON conversations(account_id, folder, inbox_kind, last_activity_at DESC, id DESC);
CREATE INDEX conversations_folder_unread ON conversations(account_id, folder, last_activity_at DESC, id DESC)
    WHERE unread_count > 0;
CREATE INDEX conversations_folder_waiting ON conversations(account_id, folder, last_activity_at DESC, id DESC)
    WHERE waiting_since IS NOT NULL;
