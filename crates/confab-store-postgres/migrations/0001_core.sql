-- Confab core schema (PostgreSQL). Times are milliseconds since the Unix epoch.
-- Same tables, columns and indexes as the SQLite schema; search uses
-- generated tsvector columns with GIN indexes instead of FTS5 tables.
-- Unique constraints are named so that their names say which field is
-- taken (the store maps a violation to `Duplicate { field }` by the name).

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    last_event_seq BIGINT NOT NULL DEFAULT 0,
    last_conversation_number BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL CONSTRAINT agents_email_key UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    created_at BIGINT NOT NULL
);
CREATE INDEX agents_account ON agents(account_id);

CREATE TABLE credentials (
    token_hash TEXT CONSTRAINT credentials_token_hash_pkey PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_agent ON credentials(agent_id);

CREATE TABLE inboxes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('chat', 'in_app', 'email', 'form')),
    token TEXT NOT NULL CONSTRAINT inboxes_token_key UNIQUE,
    email_address TEXT CONSTRAINT inboxes_email_address_key UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX inboxes_account ON inboxes(account_id);

CREATE TABLE contacts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name TEXT,
    email TEXT,
    phone TEXT,
    company TEXT,
    external_id TEXT,
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    browser TEXT NOT NULL DEFAULT '{}',
    spam BOOLEAN NOT NULL DEFAULT FALSE,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id, id);
CREATE INDEX contacts_email ON contacts(account_id, email);

CREATE TABLE contact_sessions (
    token_hash TEXT CONSTRAINT contact_sessions_token_hash_pkey PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    number BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id),
    inbox_kind TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    folder TEXT NOT NULL CHECK (folder IN ('open', 'answered', 'closed', 'snoozed', 'deleted', 'spam')),
    assignee_id BIGINT REFERENCES agents(id) ON DELETE SET NULL,
    tags TEXT NOT NULL DEFAULT '',
    subject TEXT,
    snoozed_until BIGINT,
    unread_count BIGINT NOT NULL DEFAULT 0,
    waiting_since BIGINT,
    last_activity_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    search_text TEXT NOT NULL DEFAULT '',
    -- search_text is already normalised by index_text; the same expression
    -- as messages.search keeps both indexes tokenizing alike.
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(search_text, '[^[:alnum:]]+', ' ', 'g'))
    ) STORED,
    CONSTRAINT conversations_account_number_key UNIQUE (account_id, number),
    CHECK ((folder = 'snoozed') = (snoozed_until IS NOT NULL))
);
CREATE INDEX conversations_folder_activity ON conversations(account_id, folder, last_activity_at DESC, id DESC);
CREATE INDEX conversations_folder_assignee ON conversations(account_id, folder, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations(contact_id, inbox_id, id);
CREATE INDEX conversations_snoozed ON conversations(snoozed_until) WHERE snoozed_until IS NOT NULL;
CREATE INDEX conversations_search ON conversations USING GIN (search);

CREATE TABLE conversation_tags (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(account_id, tag, conversation_id);

CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type TEXT NOT NULL CHECK (sender_type IN ('contact', 'agent', 'system')),
    sender_id BIGINT,
    body TEXT NOT NULL,
    full_body TEXT,
    private BOOLEAN NOT NULL DEFAULT FALSE,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    -- Runs of anything but letters and digits become one space, like
    -- confab_domain::search::index_text, so e-mail addresses, URLs and
    -- phone numbers are found by their parts.
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'))
    ) STORED
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE UNIQUE INDEX messages_idempotency ON messages(account_id, sender_type, sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_search ON messages USING GIN (search);

CREATE TABLE events (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account_id, seq)
);
