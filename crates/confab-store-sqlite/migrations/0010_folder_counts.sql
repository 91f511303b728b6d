-- Conversations per account, folder and assignee (0: unassigned), kept by
-- triggers on every write, so the inbox's folder counts read a few rows
-- instead of counting up to millions of conversations on every request.
-- SQLite has one writer at a time: the counters are updated in place.
CREATE TABLE conversation_counts (
    account_id INTEGER NOT NULL,
    folder TEXT NOT NULL,
    assignee_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, folder, assignee_id)
) WITHOUT ROWID;

INSERT INTO conversation_counts (account_id, folder, assignee_id, n)
SELECT account_id, folder, COALESCE(assignee_id, 0), COUNT(*)
FROM conversations GROUP BY account_id, folder, COALESCE(assignee_id, 0);

CREATE TRIGGER conversations_count_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_counts (account_id, folder, assignee_id, n)
    VALUES (new.account_id, new.folder, COALESCE(new.assignee_id, 0), 1)
    ON CONFLICT (account_id, folder, assignee_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversations_count_delete AFTER DELETE ON conversations BEGIN
    UPDATE conversation_counts SET n = n - 1
    WHERE account_id = old.account_id AND folder = old.folder
      AND assignee_id = COALESCE(old.assignee_id, 0);
END;

CREATE TRIGGER conversations_count_update AFTER UPDATE OF account_id, folder, assignee_id ON conversations
WHEN old.account_id IS NOT new.account_id OR old.folder IS NOT new.folder
  OR old.assignee_id IS NOT new.assignee_id
BEGIN
    UPDATE conversation_counts SET n = n - 1
    WHERE account_id = old.account_id AND folder = old.folder
      AND assignee_id = COALESCE(old.assignee_id, 0);
    INSERT INTO conversation_counts (account_id, folder, assignee_id, n)
    VALUES (new.account_id, new.folder, COALESCE(new.assignee_id, 0), 1)
    ON CONFLICT (account_id, folder, assignee_id) DO UPDATE SET n = n + 1;
END;
