//! What the migrated schema costs SQLite on every row written.

use confab_store_sqlite::testing::fresh_url;
use rusqlite::Connection;

/// The migrated database, opened with a plain connection.
async fn migrated() -> (Connection, std::path::PathBuf) {
    let url = fresh_url();
    confab_store_sqlite::SqliteStore::migrate(&url)
        .await
        .expect("migrate");
    let path = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
    (Connection::open(&path).expect("open"), path)
}

/// The opcodes SQLite compiles `sql` to.
fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
    let mut explain = conn.prepare(&format!("EXPLAIN {sql}")).expect(sql);
    explain
        .query_map([], |row| row.get::<_, String>(1))
        .expect(sql)
        .map(|op| op.expect(sql))
        .collect()
}

/// A CHECK constraint with `IN` over more than two values makes SQLite fill
/// a temporary b-tree with the list on every row written (migration 0013):
/// no table's insert may need one (an update that changes a checked column
/// runs the same check), nor any table a later migration adds.
#[tokio::test]
async fn writing_a_row_fills_no_temporary_tree() {
    let (conn, path) = migrated().await;
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "messages"), "{tables:?}");
    for table in &tables {
        let ops = opcodes(&conn, &format!("INSERT INTO \"{table}\" DEFAULT VALUES"));
        assert!(
            !ops.iter().any(|op| op == "OpenEphemeral"),
            "an insert into {table} fills a temporary b-tree"
        );
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// One rewritten constraint: an insert of a row with `?1` in the checked
/// column, the values it allows, and some it refuses.
struct Rule {
    column: &'static str,
    insert: &'static str,
    allowed: &'static [Option<&'static str>],
    refused: &'static [&'static str],
}

/// The constraints migration 0013 rewrote keep their rules: each allowed
/// value passes, others are refused (so a misspelt value in the rewrite
/// fails here), NULL passes where the column allows it.
#[tokio::test]
async fn the_rewritten_checks_still_refuse_what_they_refused() {
    let (conn, path) = migrated().await;
    // Foreign keys off: rows need not exist for the ids they name.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let rules = [
        Rule {
            column: "inboxes.kind",
            insert: "INSERT INTO inboxes (account_id, name, kind, token, created_at)
                     VALUES (1, 'i', ?1, 'token-' || (SELECT count(*) FROM inboxes), 0)",
            allowed: &[Some("chat"), Some("in_app"), Some("email"), Some("form")],
            refused: &["fax", "Chat", ""],
        },
        Rule {
            column: "conversations.folder",
            insert: "INSERT INTO conversations (account_id, number, inbox_id, inbox_kind, contact_id, folder, snoozed_until, created_at, last_activity_at)
                     VALUES (1, (SELECT count(*) FROM conversations) + 1, 1, 'chat', 1, ?1, CASE WHEN ?1 = 'snoozed' THEN 1 END, 0, 0)",
            allowed: &[
                Some("open"),
                Some("answered"),
                Some("closed"),
                Some("snoozed"),
                Some("deleted"),
                Some("spam"),
            ],
            refused: &["archived", "Open", ""],
        },
        Rule {
            column: "messages.sender_type",
            insert: "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, created_at)
                     VALUES (1, 1, ?1, 1, 'x', 0)",
            allowed: &[Some("contact"), Some("agent"), Some("system")],
            refused: &["robot", "Agent", ""],
        },
        Rule {
            column: "messages.delivery",
            insert: "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, created_at, delivery)
                     VALUES (1, 1, 'agent', 1, 'x', 0, ?1)",
            allowed: &[None, Some("pending"), Some("delivered"), Some("failed")],
            refused: &["lost", "sent", ""],
        },
        Rule {
            column: "webhook_deliveries.status",
            insert: "INSERT INTO webhook_deliveries (webhook_id, account_id, seq, event_type, status, created_at)
                     VALUES (1, 1, (SELECT count(*) FROM webhook_deliveries), 'message.created', ?1, 0)",
            allowed: &[Some("pending"), Some("delivered"), Some("failed")],
            refused: &["lost", "retrying", ""],
        },
        Rule {
            column: "outbound_mail.status",
            insert: "INSERT INTO outbound_mail (account_id, message_id, status, created_at)
                     VALUES (1, (SELECT count(*) FROM outbound_mail) + 1, ?1, 0)",
            allowed: &[Some("pending"), Some("delivered"), Some("failed")],
            refused: &["bounced", "sent", ""],
        },
        Rule {
            column: "attachments.uploader_kind",
            insert: "INSERT INTO attachments (account_id, uploader_kind, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at)
                     VALUES (1, ?1, 1, 'f.txt', 'text/plain', 1, 'x', 'key-' || (SELECT count(*) FROM attachments), 0)",
            allowed: &[Some("agent"), Some("contact"), Some("email")],
            refused: &["robot", "Email", ""],
        },
    ];
    for rule in &rules {
        for value in rule.allowed {
            conn.execute(rule.insert, [value])
                .unwrap_or_else(|e| panic!("{} = {value:?} refused: {e}", rule.column));
        }
        for value in rule.refused {
            let refused = conn
                .execute(rule.insert, [value])
                .expect_err(&format!("{} = {value:?} allowed", rule.column));
            assert!(
                refused.to_string().contains("CHECK"),
                "{}: {refused}",
                rule.column
            );
        }
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
