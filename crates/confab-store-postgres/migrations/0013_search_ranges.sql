-- Search's newest matches read through the GIN index alone. The search
-- indexes now hold each word of a row prefixed with the row's id range of
-- 65,536 ids: '~152~refund' for ids 152 × 65,536 up to the next range (no
-- text gives such a lexeme: '~' is neither a letter nor a digit). A word's
-- newest matches are then asked of the newest ranges first,
-- ('~151~refund' | '~152~refund'), the older ones only while the window is
-- not full, and GIN skips the rest without a row read. Before, every match
-- of a word the statistics did not know was read (a word in 10,000 of 10M
-- messages: 60 ms with the default shared_buffers), and the newest ids of
-- one they knew came from the primary key as a bitmap of every id in the
-- range (about 30 ns an id, so capped at 300,000 ids).
--
-- The index's lexemes have no positions: a search tests the `search`
-- column too (phrases), and ranks and snippets still come from it. A
-- lexeme holds at most 2,047 bytes and the prefix takes up to 17: words of
-- more than 2,030 bytes (a run of letters and digits such as base64) are
-- left out of the index, found by no search through it (a walk of the
-- table tests the `search` column), as a message holding one is still
-- stored. The function is written alike in the search's queries
-- (src/list.rs, `INDEXED`), as PostgreSQL needs to use the index. Building
-- the indexes reads both tables, which stay locked meanwhile (2 min 31 s
-- for 10M messages and 1M conversations): `confab migrate` with the
-- server stopped.
CREATE FUNCTION confab_search_ranged(search tsvector, id bigint) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT array_to_tsvector(ARRAY(
            SELECT '~' || (id >> 16)::text || '~' || lexeme
            FROM unnest(tsvector_to_array(search)) AS lexeme
            WHERE octet_length(lexeme) <= 2030
        ))
    $$;

DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN (confab_search_ranged(search, id));
DROP INDEX conversations_search;
CREATE INDEX conversations_search ON conversations USING GIN (confab_search_ranged(search, id));
