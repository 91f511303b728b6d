//! The search window on PostgreSQL (see `SEARCH_WINDOW`), the messages
//! beyond what the API would write in time filled in with SQL. Each table's
//! matches are found through the GIN index or by walking the table newest
//! first, chosen from the planner's statistics: without statistics (a new
//! database) the index; once analysed, "gizmo" is in nearly every message
//! and the messages are walked. Both must give the same window.

use confab_store::conformance::search_window::a_common_word_ranks_its_newest_matches;
use confab_store_postgres::PostgresStore;
use confab_store_postgres::testing::fresh_database;
use sqlx::postgres::PgConnectOptions;

async fn run(analyse: bool) {
    let options = fresh_database().await;
    let store = PostgresStore::connect_with(options.clone())
        .await
        .expect("store");
    let fill = |options: PgConnectOptions| {
        move |account: confab_domain::AccountId, conversation: confab_domain::ConversationId, n| async move {
            let pool = sqlx::PgPool::connect_with(options).await.unwrap();
            sqlx::query(
                "INSERT INTO messages (account_id, conversation_id, sender_type, body, private, created_at)
                 SELECT $1, $2, 'contact', 'a long message about the gizmo and other things ' || i, false, 0
                 FROM generate_series(1, $3) AS i",
            )
            .bind(account.0)
            .bind(conversation.0)
            .bind(n)
            .execute(&pool)
            .await
            .unwrap();
            if analyse {
                sqlx::query("ANALYZE messages, conversations")
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }
    };
    a_common_word_ranks_its_newest_matches(&store, fill(options)).await;
}

#[tokio::test]
async fn a_common_word_ranks_its_newest_matches_through_the_index() {
    run(false).await;
}

#[tokio::test]
async fn a_common_word_ranks_its_newest_matches_walking_the_table() {
    run(true).await;
}

/// A word the statistics know, in a few percent of the messages, whose
/// window spans few ids: its newest ids are searched first, and the older
/// matches only when those hold fewer than the window. Both outcomes must
/// give the window: "sprocket" is in every 25th of 200,000 messages (its
/// range holds the window), "gadget" in every 12th of the older half only
/// (its range holds none).
#[tokio::test]
async fn a_known_word_searches_its_newest_ids_first_and_the_rest_when_short() {
    use confab_store::conformance::Fixture;
    use confab_store::conformance::search_window::listed;

    let options = fresh_database().await;
    let store = PostgresStore::connect_with(options.clone())
        .await
        .expect("store");
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let f = Fixture::new(&store).await;
    let at = confab_domain::Timestamp(1_800_000_000_000);
    // The best "sprocket" match, older than all the others.
    let _old_sprocket = f
        .contact_writes(
            &store,
            &f.chat,
            &f.contact,
            "sprocket sprocket sprocket",
            at,
        )
        .await
        .conversation;
    let contact = f.new_contact(&store, "Bulk Contact").await;
    let bulk = f
        .contact_writes(&store, &f.chat, &contact, "hello", at.plus_minutes(1))
        .await
        .conversation;
    let fill = |from: i64, to: i64| {
        sqlx::query(
            "INSERT INTO messages (account_id, conversation_id, sender_type, body, private, created_at)
             SELECT $1, $2, 'contact',
                    'filler ' || CASE WHEN i % 25 = 0 THEN 'sprocket ' ELSE '' END
                              || CASE WHEN i <= 100000 AND i % 12 = 0 THEN 'gadget ' ELSE '' END || i,
                    false, 0
             FROM generate_series($3::bigint, $4::bigint) AS i",
        )
        .bind(f.account.0)
        .bind(bulk.id.0)
        .bind(from)
        .bind(to)
        .execute(&pool)
    };
    fill(1, 100_000).await.unwrap();
    // The best "gadget" match, newer than every other one.
    let contact = f.new_contact(&store, "Gadget Contact").await;
    let new_gadget = f
        .contact_writes(
            &store,
            &f.chat,
            &contact,
            "gadget gadget gadget",
            at.plus_minutes(2),
        )
        .await
        .conversation;
    fill(100_001, 200_000).await.unwrap();
    sqlx::query("ANALYZE messages, conversations")
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(
        listed(&store, f.account, "sprocket").await,
        vec![bulk.id],
        "the oldest match is beyond the window"
    );
    assert_eq!(
        listed(&store, f.account, "gadget").await,
        vec![new_gadget.id, bulk.id],
        "the newest match is older than the range and in the window"
    );
}
