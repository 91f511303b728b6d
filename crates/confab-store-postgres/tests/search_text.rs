//! What the search index's ranged lexemes (migration 0013) must not change:
//! a phrase still matches its words in order only, and a message holding a
//! word too long for the index is stored and found by its other words.

use confab_store::conformance::Fixture;
use confab_store::conformance::search_window::listed;
use confab_store_postgres::PostgresStore;
use confab_store_postgres::testing::fresh_database;

#[tokio::test]
async fn a_term_postgresql_splits_matches_its_parts_in_order_only() {
    let store = PostgresStore::connect_with(fresh_database().await)
        .await
        .expect("store");
    let f = Fixture::new(&store).await;
    let at = confab_domain::Timestamp(1_800_000_000_000);
    let contact = f.new_contact(&store, "Water Contact").await;
    let water = f
        .contact_writes(&store, &f.chat, &contact, "Is the H₂O filter in stock?", at)
        .await
        .conversation;
    let contact = f.new_contact(&store, "Other Contact").await;
    let _apart = f
        .contact_writes(
            &store,
            &f.chat,
            &contact,
            "Help is needed at the office",
            at.plus_minutes(1),
        )
        .await
        .conversation;
    // `H₂O` is one term to the search (Rust's letters and digits) and the
    // phrase `h:* <-> o:*` to PostgreSQL: both messages have the words,
    // only the first has them in order.
    assert_eq!(listed(&store, f.account, "H₂O").await, vec![water.id]);
}

#[tokio::test]
async fn a_word_too_long_for_the_index_leaves_the_message_stored_and_found() {
    let store = PostgresStore::connect_with(fresh_database().await)
        .await
        .expect("store");
    let f = Fixture::new(&store).await;
    let at = confab_domain::Timestamp(1_800_000_000_000);
    let contact = f.new_contact(&store, "Blob Contact").await;
    // 2,047 bytes: the longest word PostgreSQL keeps in a `tsvector`, too
    // long once the range's prefix is added.
    let body = format!("attachment {} pasted", "A".repeat(2_047));
    let blob = f
        .contact_writes(&store, &f.chat, &contact, &body, at)
        .await
        .conversation;
    assert_eq!(listed(&store, f.account, "pasted").await, vec![blob.id]);
    assert_eq!(listed(&store, f.account, "attachment").await, vec![blob.id]);
}
