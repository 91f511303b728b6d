-- Conversations per account, folder and assignee (0: unassigned), so the
-- inbox's folder counts read a few rows instead of counting up to millions
-- of conversations on every request.
--
-- Many transactions write at once on PostgreSQL: a counter row updated by
-- each of them would queue them behind its row lock (and two conversations
-- moving in opposite directions could deadlock). So triggers only append
-- +1/-1 rows to conversation_count_deltas (no locks taken); reads add the
-- deltas to conversation_counts, and fold them in once there are many
-- (confab_store_postgres::counts).
CREATE TABLE conversation_counts (
    account_id BIGINT NOT NULL,
    folder TEXT NOT NULL,
    assignee_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (account_id, folder, assignee_id)
);

CREATE TABLE conversation_count_deltas (
    account_id BIGINT NOT NULL,
    folder TEXT NOT NULL,
    assignee_id BIGINT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX conversation_count_deltas_account ON conversation_count_deltas(account_id);

INSERT INTO conversation_counts (account_id, folder, assignee_id, n)
SELECT account_id, folder, COALESCE(assignee_id, 0), COUNT(*)
FROM conversations GROUP BY account_id, folder, COALESCE(assignee_id, 0);

CREATE FUNCTION conversations_count_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO conversation_count_deltas (account_id, folder, assignee_id, n)
        VALUES (OLD.account_id, OLD.folder, COALESCE(OLD.assignee_id, 0), -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO conversation_count_deltas (account_id, folder, assignee_id, n)
        VALUES (NEW.account_id, NEW.folder, COALESCE(NEW.assignee_id, 0), 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_count_insert_delete AFTER INSERT OR DELETE ON conversations
FOR EACH ROW EXECUTE FUNCTION conversations_count_delta();

CREATE TRIGGER conversations_count_update AFTER UPDATE OF account_id, folder, assignee_id ON conversations
FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.folder IS DISTINCT FROM NEW.folder
                   OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
EXECUTE FUNCTION conversations_count_delta();
