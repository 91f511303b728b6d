-- Confab core schema (SQLite). Times are milliseconds since the Unix epoch.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    last_event_seq INTEGER NOT NULL DEFAULT 0,
    last_conversation_number INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    created_at INTEGER NOT NULL
);
CREATE INDEX agents_account ON agents(account_id);

CREATE TABLE credentials (
    token_hash TEXT PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX credentials_agent ON credentials(agent_id);

CREATE TABLE inboxes (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('chat', 'in_app', 'email', 'form')),
    token TEXT NOT NULL UNIQUE,
    email_address TEXT UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX inboxes_account ON inboxes(account_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name TEXT,
    email TEXT,
    phone TEXT,
    company TEXT,
    external_id TEXT,
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    browser TEXT NOT NULL DEFAULT '{}',
    spam INTEGER NOT NULL DEFAULT 0,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id, id);
CREATE INDEX contacts_email ON contacts(account_id, email);

CREATE TABLE contact_sessions (
    token_hash TEXT PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    number INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id),
    inbox_kind TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    folder TEXT NOT NULL CHECK (folder IN ('open', 'answered', 'closed', 'snoozed', 'deleted', 'spam')),
    assignee_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    tags TEXT NOT NULL DEFAULT '',
    subject TEXT,
    snoozed_until INTEGER,
    unread_count INTEGER NOT NULL DEFAULT 0,
    waiting_since INTEGER,
    last_activity_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    search_text TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, number),
    CHECK ((folder = 'snoozed') = (snoozed_until IS NOT NULL))
);
CREATE INDEX conversations_folder_activity ON conversations(account_id, folder, last_activity_at DESC, id DESC);
CREATE INDEX conversations_folder_assignee ON conversations(account_id, folder, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations(contact_id, inbox_id, id);
CREATE INDEX conversations_snoozed ON conversations(snoozed_until) WHERE snoozed_until IS NOT NULL;

CREATE TABLE conversation_tags (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(account_id, tag, conversation_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type TEXT NOT NULL CHECK (sender_type IN ('contact', 'agent', 'system')),
    sender_id INTEGER,
    body TEXT NOT NULL,
    full_body TEXT,
    private INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE UNIQUE INDEX messages_idempotency ON messages(account_id, sender_type, sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE events (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;

-- Full-text search: message bodies, and per conversation the subject,
-- contact name/e-mail/phone and number (conversations.search_text).
CREATE VIRTUAL TABLE message_search USING fts5(
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO message_search(rowid, body) VALUES (new.id, new.body);
END;

CREATE VIRTUAL TABLE conversation_search USING fts5(
    search_text, content='conversations', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversation_search(conversation_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER conversations_search_update AFTER UPDATE OF search_text ON conversations BEGIN
    INSERT INTO conversation_search(conversation_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO conversation_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
