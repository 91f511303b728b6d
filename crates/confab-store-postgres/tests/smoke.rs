//! A quick check that the PostgreSQL store works end to end: an account, an
//! inbox, a contact, a message, and a search that finds it.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::*;
use confab_store_postgres::testing::fresh_store;

#[tokio::test]
async fn posts_a_message_and_finds_it_by_search() {
    let store = fresh_store().await;
    assert_eq!(store.backend(), "postgres");
    store.ping().await.expect("ping");
    let now = Timestamp(1_800_000_000_000);
    let (account, admin) = store
        .create_account(
            "Acme",
            NewAgent {
                name: "Ada Admin".into(),
                email: "ada@acme.test".into(),
                password_hash: "hash".into(),
                role: Role::Admin,
            },
            now,
        )
        .await
        .expect("create account");
    assert_eq!(admin.role, Role::Admin);
    let inbox = store
        .create_inbox(
            account.id,
            NewInbox {
                name: "Chat".into(),
                kind: InboxKind::Chat,
                token: "smoke-token".into(),
                email_address: None,
                identity_secret: "0".repeat(64),
            },
            now,
        )
        .await
        .expect("create inbox");
    let contact = store
        .create_contact(
            account.id,
            NewContact {
                name: Some("Carla Contact".into()),
                email: Some("carla@example.com".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .expect("create contact");
    let posted = store
        .post_contact_message(
            account.id,
            inbox.id,
            contact.id,
            NewContactMessage {
                body: "My word count is wrong & the <b>total</b> too".into(),
                ..Default::default()
            },
            now.plus_millis(1),
        )
        .await
        .expect("post a contact message");
    assert!(posted.created_conversation && posted.created_message);
    assert_eq!(posted.conversation.folder, Folder::Open);
    assert_eq!(posted.conversation.number, 1);

    let page = store
        .list_conversations(
            account.id,
            &ConversationQuery {
                search: Some(SearchQuery::parse("word")),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(page.items.len(), 1);
    assert!(page.next_cursor.is_none());
    let hit = &page.items[0];
    assert_eq!(hit.conversation.id, posted.conversation.id);
    let snippet = hit.snippet.as_deref().expect("a snippet");
    assert!(snippet.contains("<mark>word</mark>"), "{snippet}");
    assert!(snippet.contains("&amp;"), "{snippet}");
    assert!(snippet.contains("&lt;b&gt;total"), "{snippet}");

    // Words inside e-mail addresses and URLs are found and highlighted.
    store
        .post_contact_message(
            account.id,
            inbox.id,
            contact.id,
            NewContactMessage {
                body: "Or write to billing@shop.example, see https://shop.example/help-desk".into(),
                ..Default::default()
            },
            now.plus_millis(2),
        )
        .await
        .expect("post a second message");
    let page = store
        .list_conversations(
            account.id,
            &ConversationQuery {
                search: Some(SearchQuery::parse("billing shop desk")),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    let snippet = page.items[0].snippet.as_deref().expect("a snippet");
    assert!(
        snippet.contains("<mark>billing</mark>@<mark>shop</mark>.example"),
        "{snippet}"
    );
    assert!(snippet.contains("/help-<mark>desk</mark>"), "{snippet}");

    // A prefix of the last term, the contact's e-mail, and the number.
    for text in ["wor", "total wro", "carla example", "#1"] {
        let page = store
            .list_conversations(
                account.id,
                &ConversationQuery {
                    search: Some(SearchQuery::parse(text)),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("search");
        assert_eq!(page.items.len(), 1, "{text}");
    }
    // Every term must match.
    let page = store
        .list_conversations(
            account.id,
            &ConversationQuery {
                search: Some(SearchQuery::parse("word missing")),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert!(page.items.is_empty());

    // Events: inbox, contact, conversation and two messages, gap-free.
    let events = store
        .events_since(account.id, 0, 100)
        .await
        .expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(store.last_event_seq(account.id).await.expect("seq"), 5);

    // Unique violations are `Duplicate`.
    let duplicate = store
        .add_agent(
            account.id,
            NewAgent {
                name: "Again".into(),
                email: "ada@acme.test".into(),
                password_hash: "hash".into(),
                role: Role::Agent,
            },
            now,
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Duplicate { field: "email" })),
        "{duplicate:?}"
    );
}
