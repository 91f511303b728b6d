//! The search window on SQLite (see `SEARCH_WINDOW`), the messages beyond
//! what the API would write in time filled in with SQL.

use confab_domain::Timestamp;
use confab_store::conformance::search_window::{a_common_word_ranks_its_newest_matches, listed};
use confab_store_sqlite::SqliteStore;
use sqlx::sqlite::SqliteConnectOptions;
use std::str::FromStr;

#[tokio::test]
async fn a_common_word_ranks_its_newest_matches_on_sqlite() {
    let folder = std::env::temp_dir().join(format!("confab-window-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let url = format!("sqlite://{}/confab.db", folder.display());
    let store = SqliteStore::connect(&url).await.expect("store");
    let (f, newer) = a_common_word_ranks_its_newest_matches(&store, |account, conversation, n| {
        let url = url.clone();
        async move {
            let options = SqliteConnectOptions::from_str(&url).unwrap();
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM messages")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
                 INSERT INTO messages (account_id, conversation_id, sender_type, body, private, created_at)
                 SELECT ?1, ?2, 'contact', 'a long message about the gizmo and other things ' || i, 0, 0 FROM n",
            )
            .bind(account.0)
            .bind(conversation.0)
            .bind(n)
            .execute(&mut *tx)
            .await
            .unwrap();
            // Their search rows, as the store writes them (no trigger).
            sqlx::query("INSERT INTO message_search (rowid, body) SELECT id, body FROM messages WHERE id > ?1")
                .bind(last)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            pool.close().await;
        }
    })
    .await;

    // SQLite only: a word that fills the window alone is searched whole
    // (FTS5 merges the doclists of every longer form of a prefix before it
    // can walk them): a newer conversation with only a longer form of it
    // ("gizmos") is not found by "gizmo", but is by its start, "gizm" (a
    // prefix, as typed).
    let third = f.new_contact(&store, "Third Contact").await;
    let at = Timestamp(1_800_000_000_000).plus_minutes(2);
    let plural = f
        .contact_writes(&store, &f.chat, &third, "two gizmos", at)
        .await
        .conversation;
    assert_eq!(listed(&store, f.account, "gizmo").await, vec![newer]);
    let prefixed = listed(&store, f.account, "gizm").await;
    assert!(prefixed.contains(&plural.id) && prefixed.contains(&newer));
    let _ = std::fs::remove_dir_all(&folder);
}
