-- A message's search row is written by the store itself, right after the
-- message (messages.rs, `insert_message`), no longer by a trigger. A
-- statement that fires a trigger (or has RETURNING) opens a statement
-- journal, and FTS5 writes out its pending index terms whenever one opens:
-- with the trigger every message flushed the terms of the one before it,
-- a large part of the writer's time under ingest. Plain one-row statements
-- let a batch's terms pile up in memory and reach the index once, at commit.
-- Deletes and body updates keep their triggers (rare).
DROP TRIGGER messages_search_insert;
