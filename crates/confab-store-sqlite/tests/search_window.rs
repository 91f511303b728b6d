//! SQLite-only: a word matching more messages than the search window is
//! ranked among its newest matches (see `SEARCH_WINDOW`).

use confab_domain::Timestamp;
use confab_domain::search::SearchQuery;
use confab_store::conformance::Fixture;
use confab_store::{ConversationQuery, ConversationStore};
use confab_store_sqlite::{SEARCH_WINDOW, SqliteStore};
use sqlx::sqlite::SqliteConnectOptions;
use std::str::FromStr;

#[tokio::test]
async fn a_common_word_ranks_its_newest_matches() {
    let folder = std::env::temp_dir().join(format!("confab-window-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let url = format!("sqlite://{}/confab.db", folder.display());
    let store = SqliteStore::connect(&url).await.expect("store");
    let f = Fixture::new(&store).await;
    let at = Timestamp(1_800_000_000_000);
    // The oldest conversation is the best bm25 match (the word, many times,
    // in a short message) ...
    let oldest = f
        .contact_writes(
            &store,
            &f.chat,
            &f.contact,
            "gizmo gizmo gizmo gizmo sprocket",
            at,
        )
        .await
        .conversation;
    // ... but more than a window of newer messages mention it once.
    let contact = f.new_contact(&store, "Newer Contact").await;
    let newer = f
        .contact_writes(&store, &f.chat, &contact, "hello", at.plus_minutes(1))
        .await
        .conversation;
    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
         INSERT INTO messages (account_id, conversation_id, sender_type, body, private, created_at)
         SELECT ?1, ?2, 'contact', 'a long message about the gizmo and other things ' || i, 0, 0 FROM n",
    )
    .bind(f.account.0)
    .bind(newer.id.0)
    .bind(SEARCH_WINDOW + 10)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let query = ConversationQuery {
        search: Some(SearchQuery::parse("gizmo")),
        search_private: true,
        limit: 50,
        ..ConversationQuery::default()
    };
    let page = store.list_conversations(f.account, &query).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|i| i.conversation.id).collect();
    assert_eq!(ids, vec![newer.id], "the oldest match is beyond the window");
    assert!(page.next_cursor.is_none());

    // Words with fewer matches than the window find every one of them.
    let page = store
        .list_conversations(
            f.account,
            &ConversationQuery {
                search: Some(SearchQuery::parse("gizmo sprocket")),
                ..query.clone()
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = page.items.iter().map(|i| i.conversation.id).collect();
    assert_eq!(ids, vec![oldest.id]);

    // A word that fills the window alone is searched whole: a newer
    // conversation with only a longer form of it ("gizmos") is not found
    // by "gizmo", but is by its start, "gizm" (a prefix, as typed).
    let third = f.new_contact(&store, "Third Contact").await;
    let plural = f
        .contact_writes(&store, &f.chat, &third, "two gizmos", at.plus_minutes(2))
        .await
        .conversation;
    let ids_for = |text: &'static str| {
        let store = &store;
        let query = query.clone();
        async move {
            let page = store
                .list_conversations(
                    f.account,
                    &ConversationQuery {
                        search: Some(SearchQuery::parse(text)),
                        ..query
                    },
                )
                .await
                .unwrap();
            page.items
                .iter()
                .map(|i| i.conversation.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids_for("gizmo").await, vec![newer.id]);
    let prefixed = ids_for("gizm").await;
    assert!(prefixed.contains(&plural.id) && prefixed.contains(&newer.id));
    let _ = std::fs::remove_dir_all(&folder);
}
