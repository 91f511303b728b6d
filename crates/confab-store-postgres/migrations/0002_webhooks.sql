-- Webhooks, fed from the event log, and their delivery log (PostgreSQL).
-- Same tables, columns, constraints and indexes as the SQLite schema.

CREATE TABLE webhooks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Comma-separated event types; empty means all.
    event_types TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    -- The last event seq turned into deliveries.
    cursor_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id);

CREATE TABLE webhook_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    CONSTRAINT webhook_deliveries_webhook_seq_key UNIQUE (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id DESC);
