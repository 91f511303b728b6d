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

/// Words in 400,000 messages, searched newest id ranges (of 65,536 ids)
/// first, the older ones only while those hold fewer than the window; each
/// search must give the window whether the ranges read first hold it or not.
/// "sprocket" is in every 25th message (its newest ranges hold the window;
/// its best match, the oldest, is beyond it), "gadget" in every 12th of
/// the oldest quarter only (its newest ranges hold none; its best match
/// newer than the others), "doohickey" in every 150th (its window, from
/// about id 100,000, reaches back past its best match at about 230,000).
/// Once analysed, the statistics choose the first ranges (or a walk);
/// before, the index is read the newest 32nd of the ranges first, then
/// twice as many ranges in all at each read: ranges 7, 6, 4–5 and 0–3, so
/// "doohickey"'s window takes its matches from three reads and
/// "sprocket"'s from two.
async fn known_words(analyse: bool) {
    use confab_store::conformance::Fixture;
    use confab_store::conformance::search_window::listed;

    let options = fresh_database().await;
    let store = PostgresStore::connect_with(options.clone())
        .await
        .expect("store");
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    // Statistics only when the test takes them: autovacuum could analyse
    // the tables midway (the results must not change, but the paths would).
    for table in ["messages", "conversations"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} SET (autovacuum_enabled = false)"
        )))
        .execute(&pool)
        .await
        .unwrap();
    }
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
                              || CASE WHEN i <= 100000 AND i % 12 = 0 THEN 'gadget ' ELSE '' END
                              || CASE WHEN i % 150 = 0 THEN 'doohickey ' ELSE '' END || i,
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
    fill(100_001, 230_000).await.unwrap();
    // The best "doohickey" match: in the window, in its oldest read.
    let contact = f.new_contact(&store, "Doohickey Contact").await;
    let best_doohickey = f
        .contact_writes(
            &store,
            &f.chat,
            &contact,
            "doohickey doohickey doohickey",
            at.plus_minutes(3),
        )
        .await
        .conversation;
    fill(230_001, 400_000).await.unwrap();
    if analyse {
        sqlx::query("ANALYZE messages, conversations")
            .execute(&pool)
            .await
            .unwrap();
    }

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
    assert_eq!(
        listed(&store, f.account, "doohickey").await,
        vec![best_doohickey.id, bulk.id],
        "the window reaches back to the best match"
    );
}

#[tokio::test]
async fn known_words_search_their_newest_ranges_first_as_the_statistics_say() {
    known_words(true).await;
}

#[tokio::test]
async fn words_search_the_newest_ranges_first_before_any_statistics() {
    known_words(false).await;
}
