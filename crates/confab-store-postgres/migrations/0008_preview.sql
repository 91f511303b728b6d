-- The inbox list shows the start of each conversation's last message. It is
-- kept on the conversation row (written with each reply or contact message,
-- private notes excluded), so the list needs no join on messages.
ALTER TABLE conversations ADD COLUMN last_message_preview TEXT;

-- Conversations from before: their last message, whitespace collapsed.
UPDATE conversations c SET last_message_preview = (
    SELECT left(btrim(regexp_replace(m.body, '\s+', ' ', 'g')), 140)
    FROM messages m
    WHERE m.conversation_id = c.id
      AND NOT m.private
      AND m.sender_type IN ('contact', 'agent')
    ORDER BY m.id DESC
    LIMIT 1
);
