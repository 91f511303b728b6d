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
/// no table's insert may need one, so none that a later migration adds
/// either.
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

/// The rewritten constraints keep their rules: each allowed value passes,
/// any other is refused, NULL passes where the column allows it.
#[tokio::test]
async fn the_rewritten_checks_still_refuse_what_they_refused() {
    let (conn, path) = migrated().await;
    conn.execute_batch(
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
         INSERT INTO inboxes (id, account_id, name, kind, token, created_at) VALUES (1, 1, 'i', 'chat', 't1', 0);
         INSERT INTO contacts (id, account_id, first_seen_at, last_seen_at) VALUES (1, 1, 0, 0);",
    )
    .expect("the rows messages need");
    let number = std::sync::atomic::AtomicI64::new(1);
    let conversation = |folder: &str| {
        conn.execute(
            "INSERT INTO conversations (account_id, number, inbox_id, inbox_kind, contact_id, folder, snoozed_until, created_at, last_activity_at)
             VALUES (1, ?2, 1, 'chat', 1, ?1, CASE WHEN ?1 = 'snoozed' THEN 1 END, 0, 0)",
            rusqlite::params![folder, number.fetch_add(1, std::sync::atomic::Ordering::Relaxed)],
        )
    };
    for folder in ["open", "answered", "closed", "snoozed", "deleted", "spam"] {
        conversation(folder).unwrap_or_else(|e| panic!("{folder}: {e}"));
    }
    let refused = conversation("archived").expect_err("folder archived");
    assert!(refused.to_string().contains("CHECK"), "{refused}");

    let message = |sender: &str, delivery: Option<&str>| {
        conn.execute(
            "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, created_at, delivery)
             VALUES (1, 1, ?1, 1, 'x', 0, ?2)",
            rusqlite::params![sender, delivery],
        )
    };
    for sender in ["contact", "agent", "system"] {
        for delivery in [None, Some("pending"), Some("delivered"), Some("failed")] {
            message(sender, delivery).unwrap_or_else(|e| panic!("{sender} {delivery:?}: {e}"));
        }
    }
    for (sender, delivery) in [("robot", None), ("contact", Some("lost")), ("", Some(""))] {
        let refused = message(sender, delivery).expect_err("a value outside the list");
        assert!(refused.to_string().contains("CHECK"), "{refused}");
    }
    let refused = conn
        .execute(
            "INSERT INTO inboxes (account_id, name, kind, token, created_at) VALUES (1, 'j', 'fax', 't2', 0)",
            [],
        )
        .expect_err("inbox kind fax");
    assert!(refused.to_string().contains("CHECK"), "{refused}");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
