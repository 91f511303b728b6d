-- The language each agent chose for the UI (NULL: their browser's).
ALTER TABLE agents ADD COLUMN locale TEXT;
