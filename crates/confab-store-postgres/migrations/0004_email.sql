-- E-mail: Message-IDs for threading and de-duplication, the delivery state of
-- replies that leave by e-mail, and the outbox they leave from.
ALTER TABLE messages ADD COLUMN email_message_id TEXT;
ALTER TABLE messages ADD COLUMN delivery TEXT CHECK (delivery IN ('pending', 'delivered', 'failed'));
CREATE UNIQUE INDEX messages_email_id ON messages(account_id, email_message_id)
    WHERE email_message_id IS NOT NULL;

-- Inbox addresses are matched without regard to case.
CREATE UNIQUE INDEX inboxes_email_address_lower ON inboxes(LOWER(email_address))
    WHERE email_address IS NOT NULL;

CREATE TABLE outbound_mail (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    message_id BIGINT NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbound_mail_due ON outbound_mail(next_attempt_at) WHERE status = 'pending';
