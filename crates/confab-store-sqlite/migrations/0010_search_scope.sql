-- Search scope tokens: the account (and, for messages, whether the message is
-- a private note) becomes a token in its own FTS column, so "this account's
-- messages agents may see" is a doclist intersection inside FTS5 instead of a
-- lookup of every matching messages row. With that, the newest N matches of a
-- search are found by walking the doclists backwards (ORDER BY rowid DESC
-- LIMIT N) and stop early (see list.rs, SEARCH_WINDOW).
--
-- Tokens: 'a' || account_id || 'n' (not private) or 'p' (private note) for
-- messages, 'a' || account_id for conversations. unicode61 keeps letters and
-- digits together, so each is one token; user terms are only matched against
-- the text column (a column filter), so they never reach these tokens.

DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_delete;
DROP TRIGGER messages_search_update;
DROP TABLE message_search;
DROP TRIGGER conversations_search_insert;
DROP TRIGGER conversations_search_delete;
DROP TRIGGER conversations_search_update;
DROP TABLE conversation_search;

ALTER TABLE messages ADD COLUMN search_scope TEXT
    GENERATED ALWAYS AS ('a' || account_id || CASE private WHEN 0 THEN 'n' ELSE 'p' END) VIRTUAL;
ALTER TABLE conversations ADD COLUMN search_scope TEXT
    GENERATED ALWAYS AS ('a' || account_id) VIRTUAL;

CREATE VIRTUAL TABLE message_search USING fts5(
    body, search_scope, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search(rowid, body, search_scope) VALUES (new.id, new.body, new.search_scope);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body, search_scope)
        VALUES ('delete', old.id, old.body, old.search_scope);
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF body, private, account_id ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body, search_scope)
        VALUES ('delete', old.id, old.body, old.search_scope);
    INSERT INTO message_search(rowid, body, search_scope) VALUES (new.id, new.body, new.search_scope);
END;

CREATE VIRTUAL TABLE conversation_search USING fts5(
    search_text, search_scope, content='conversations', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_search(rowid, search_text, search_scope)
        VALUES (new.id, new.search_text, new.search_scope);
END;
CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversation_search(conversation_search, rowid, search_text, search_scope)
        VALUES ('delete', old.id, old.search_text, old.search_scope);
END;
CREATE TRIGGER conversations_search_update AFTER UPDATE OF search_text, account_id ON conversations BEGIN
    INSERT INTO conversation_search(conversation_search, rowid, search_text, search_scope)
        VALUES ('delete', old.id, old.search_text, old.search_scope);
    INSERT INTO conversation_search(rowid, search_text, search_scope)
        VALUES (new.id, new.search_text, new.search_scope);
END;

INSERT INTO message_search(message_search) VALUES ('rebuild');
INSERT INTO conversation_search(conversation_search) VALUES ('rebuild');
