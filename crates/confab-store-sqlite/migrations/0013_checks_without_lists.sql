-- The CHECK constraints that name three or more allowed values are written
-- as comparisons joined by OR instead of `IN (…)`: SQLite evaluates a
-- constant list of more than two values by filling a temporary b-tree with
-- it, on every row written — two per contact message (its sender type and
-- delivery), one per conversation written with its folder. Each such tree
-- allocates and frees SQLite's page-cache structures, and under ingest the
-- writer thread then waits for the allocator's lock that the request
-- threads hold (docs/benchmarks.md). Same rules: NULL passes both forms.
--
-- The rows need no rewriting: each new constraint allows exactly what the
-- old one did, so no row can break it. The tables' definitions are edited
-- in place, by the procedure SQLite documents for schema changes that
-- leave the stored rows valid, such as removing a CHECK constraint
-- (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
-- Schema Changes"); RESET makes this connection read the definitions
-- again, and the table created and dropped after the edit raises the
-- schema version, so every other connection does too.
PRAGMA writable_schema = ON;

UPDATE sqlite_schema
SET sql = replace(replace(sql,
    'CHECK (sender_type IN (''contact'', ''agent'', ''system''))',
    'CHECK (sender_type = ''contact'' OR sender_type = ''agent'' OR sender_type = ''system'')'),
    'CHECK (delivery IN (''pending'', ''delivered'', ''failed''))',
    'CHECK (delivery = ''pending'' OR delivery = ''delivered'' OR delivery = ''failed'')')
WHERE type = 'table' AND name = 'messages';

UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (folder IN (''open'', ''answered'', ''closed'', ''snoozed'', ''deleted'', ''spam''))',
    'CHECK (folder = ''open'' OR folder = ''answered'' OR folder = ''closed'' OR folder = ''snoozed'' OR folder = ''deleted'' OR folder = ''spam'')')
WHERE type = 'table' AND name = 'conversations';

UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''delivered'', ''failed''))',
    'CHECK (status = ''pending'' OR status = ''delivered'' OR status = ''failed'')')
WHERE type = 'table' AND name IN ('webhook_deliveries', 'outbound_mail');

UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (uploader_kind IN (''agent'', ''contact'', ''email''))',
    'CHECK (uploader_kind = ''agent'' OR uploader_kind = ''contact'' OR uploader_kind = ''email'')')
WHERE type = 'table' AND name = 'attachments';

UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (kind IN (''chat'', ''in_app'', ''email'', ''form''))',
    'CHECK (kind = ''chat'' OR kind = ''in_app'' OR kind = ''email'' OR kind = ''form'')')
WHERE type = 'table' AND name = 'inboxes';

PRAGMA writable_schema = RESET;

CREATE TABLE schema_version_bump (x);
DROP TABLE schema_version_bump;
