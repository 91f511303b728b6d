//! The search window (`listing::SEARCH_WINDOW`), for each store's own test:
//! writing more than a window of messages through the store's API would
//! take minutes, so the store's test fills them in with one statement of
//! its own SQL (`fill`).

use std::future::Future;

use confab_domain::search::SearchQuery;
use confab_domain::{AccountId, ConversationId, Timestamp};

use super::Fixture;
use crate::listing::SEARCH_WINDOW;
use crate::{ConversationQuery, Store};

/// A word matching more messages than the window is ranked among its
/// newest matches only; rarer words find every match. `fill(account,
/// conversation, n)` must add `n` contact messages saying "a long message
/// about the gizmo and other things {i}" to the conversation (and may then
/// refresh the database's statistics). Returns the fixture and the
/// conversation holding those messages, for the store's own checks.
pub async fn a_common_word_ranks_its_newest_matches<F, Fut>(
    store: &dyn Store,
    fill: F,
) -> (Fixture, ConversationId)
where
    F: FnOnce(AccountId, ConversationId, i64) -> Fut,
    Fut: Future<Output = ()>,
{
    let f = Fixture::new(store).await;
    let at = Timestamp(1_800_000_000_000);
    // The oldest conversation is the best match (the word, many times, in a
    // short message) ...
    let oldest = f
        .contact_writes(
            store,
            &f.chat,
            &f.contact,
            "gizmo gizmo gizmo gizmo sprocket",
            at,
        )
        .await
        .conversation;
    // ... but more than a window of newer messages mention it once.
    let contact = f.new_contact(store, "Newer Contact").await;
    let newer = f
        .contact_writes(store, &f.chat, &contact, "hello", at.plus_minutes(1))
        .await
        .conversation;
    // Twice the window: on PostgreSQL, once analysed, far enough above it
    // for the walk to be chosen.
    fill(f.account, newer.id, 2 * SEARCH_WINDOW).await;

    assert_eq!(
        listed(store, f.account, "gizmo").await,
        vec![newer.id],
        "the oldest match is beyond the window"
    );
    // Words with fewer matches than the window find every one of them.
    assert_eq!(
        listed(store, f.account, "gizmo sprocket").await,
        vec![oldest.id]
    );
    (f, newer.id)
}

/// The ids of the conversations a search lists (one page, all of it).
pub async fn listed(store: &dyn Store, account: AccountId, text: &str) -> Vec<ConversationId> {
    let query = ConversationQuery {
        search: Some(SearchQuery::parse(text)),
        search_private: true,
        limit: 50,
        ..ConversationQuery::default()
    };
    let page = store.list_conversations(account, &query).await.unwrap();
    assert!(page.next_cursor.is_none());
    page.items.iter().map(|i| i.conversation.id).collect()
}
