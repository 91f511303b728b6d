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
