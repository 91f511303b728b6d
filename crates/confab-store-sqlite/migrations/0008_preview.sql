-- The inbox list shows the start of each conversation's last message. It is
-- kept on the conversation row (written with each reply or contact message,
-- private notes excluded), so the list needs no join on messages.
ALTER TABLE conversations ADD COLUMN last_message_preview TEXT;

-- Conversations from before: their last message, line breaks and tabs as spaces.
UPDATE conversations SET last_message_preview = (
    SELECT substr(trim(replace(replace(replace(m.body, char(13), ' '), char(10), ' '), char(9), ' ')), 1, 140)
    FROM messages m
    WHERE m.conversation_id = conversations.id
      AND m.private = 0
      AND m.sender_type IN ('contact', 'agent')
    ORDER BY m.id DESC
    LIMIT 1
);
