//! Fills a small workspace into a fresh SQLite file and a fresh PostgreSQL
//! database, then reads it back through the store's own API: what the
//! generator wrote must look exactly like what the write path leaves.

use std::sync::Arc;

use confab_datagen::{Config, Summary};
use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::plan::list_preview;
use confab_store::*;

const CONVERSATIONS: u64 = 2_000;
const DAY: i64 = 24 * 3_600_000;

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

fn config(url: String, conversations: u64, now: Timestamp) -> Config {
    Config {
        database_url: url,
        conversations,
        messages_per_conversation: 10.0,
        seed: 42,
        accounts: 1,
        now,
        // Several transactions, so contacts come back in later batches.
        batch_conversations: 300,
        progress: false,
    }
}

fn sqlite_url(name: &str) -> String {
    let folder = std::env::temp_dir().join(format!("confab-datagen-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    format!("sqlite://{}/confab.db", folder.display())
}

fn query(folder: Option<Folder>) -> ConversationQuery {
    ConversationQuery {
        folder,
        limit: 50,
        search_private: true,
        ..ConversationQuery::default()
    }
}

/// Checks a conversation's derived columns against its messages.
async fn check_conversation(store: &dyn Store, conversation: &Conversation, now: Timestamp) {
    let account = conversation.account_id;
    let page = store
        .list_messages(account, conversation.id, true, None, 1_000)
        .await
        .unwrap();
    let messages = page.items;
    assert!(
        !messages.is_empty(),
        "#{} has no messages",
        conversation.number
    );
    assert_eq!(messages[0].sender_type, SenderType::Contact);
    assert_eq!(messages[0].created_at, conversation.created_at);
    for pair in messages.windows(2) {
        assert!(pair[0].id < pair[1].id);
        assert!(
            pair[0].created_at <= pair[1].created_at,
            "times go back in #{}",
            conversation.number
        );
    }
    let public: Vec<&Message> = messages.iter().filter(|m| !m.private).collect();
    let last = public.last().expect("a public message");
    assert!(last.created_at <= now);
    assert_eq!(conversation.last_activity_at, last.created_at);
    assert_eq!(
        conversation.last_message_preview.as_deref(),
        Some(
            list_preview(
                &last.body,
                last.sender_type == SenderType::Agent,
                &last.attachments
            )
            .as_str()
        )
    );
    let waiting: Vec<&&Message> = public
        .iter()
        .rev()
        .take_while(|m| m.sender_type == SenderType::Contact)
        .collect();
    assert_eq!(
        conversation.waiting_since,
        waiting.last().map(|m| m.created_at),
        "#{}",
        conversation.number
    );
    assert!(conversation.unread_count <= waiting.len() as i64);
    if conversation.folder == Folder::Answered {
        assert_eq!(last.sender_type, SenderType::Agent);
        assert!(conversation.inbox_kind.has_answered_folder());
    }
    if conversation.folder == Folder::Snoozed {
        assert!(conversation.snoozed_until.unwrap() > now);
        assert!(conversation.snoozed_until.unwrap() <= now.plus_minutes(24 * 60));
    } else {
        assert_eq!(conversation.snoozed_until, None);
    }
    let contact = store
        .get_contact(account, conversation.contact_id)
        .await
        .unwrap();
    assert_eq!(contact.spam, conversation.folder == Folder::Spam);
    let last_from_contact = messages
        .iter()
        .filter(|m| m.sender_type == SenderType::Contact)
        .map(|m| m.created_at)
        .max()
        .unwrap();
    assert!(contact.last_seen_at >= last_from_contact);
    assert!(contact.first_seen_at <= conversation.created_at);
}

async fn check(store: Arc<dyn Store>, summary: &Summary, now: Timestamp) {
    let store = store.as_ref();
    assert_eq!(summary.conversations, CONVERSATIONS);
    assert!(summary.messages > CONVERSATIONS * 8, "{summary:?}");
    let account = summary.accounts[0].id;

    // Inboxes of every kind, made through the store.
    let inboxes = store.list_inboxes(account).await.unwrap();
    for kind in InboxKind::ALL {
        assert!(inboxes.iter().any(|i| i.kind == kind), "no {kind:?} inbox");
    }

    // Folder counts as the generator reported them, every folder used.
    let counts = store
        .count_conversations(account, Scope::All, None)
        .await
        .unwrap();
    assert_eq!(counts, summary.accounts[0].folders);
    for folder in Folder::ALL {
        let page = store
            .list_conversations(account, &query(Some(folder)))
            .await
            .unwrap();
        assert!(!page.items.is_empty(), "the {folder:?} folder is empty");
        for pair in page.items.windows(2) {
            let (a, b) = (&pair[0].conversation, &pair[1].conversation);
            assert!(
                (a.last_activity_at, a.id) > (b.last_activity_at, b.id),
                "{folder:?} is not ordered by last activity"
            );
        }
        for item in &page.items {
            assert_eq!(item.conversation.folder, folder);
            check_conversation(store, &item.conversation, now).await;
        }
    }
    // Snoozes all lie ahead; the trash is within the retention.
    assert!(store.next_wakeup().await.unwrap().unwrap() > now);
    assert!(store.wake_due(now, 1_000).await.unwrap().is_empty());
    let purged = store
        .purge_trash(now.plus_millis(-30 * DAY), now, 1_000)
        .await
        .unwrap();
    assert!(purged.is_empty(), "deleted too long ago: {purged:?}");

    // Search: the selective planted word, with a highlighted snippet.
    let (word, planted) = summary.planted[0];
    assert!(planted >= 1);
    let mut search = query(None);
    search.search = Some(SearchQuery::parse(word));
    let hits = store.list_conversations(account, &search).await.unwrap();
    assert!(!hits.items.is_empty(), "no hit for {word}");
    assert!(hits.items.len() as u64 <= planted);
    let snippet = hits.items[0].snippet.as_deref().unwrap_or_default();
    assert!(
        snippet.contains(&format!("<mark>{word}</mark>")),
        "{snippet}"
    );
    // The broad one fills a page.
    search.search = Some(SearchQuery::parse(summary.planted[2].0));
    let hits = store.list_conversations(account, &search).await.unwrap();
    assert_eq!(hits.items.len(), 50);
    assert!(hits.next_cursor.is_some());
    // Conversations are found by their contact's name too.
    let first = store
        .list_conversations(account, &query(Some(Folder::Closed)))
        .await
        .unwrap()
        .items[0]
        .conversation
        .clone();
    let contact = store.get_contact(account, first.contact_id).await.unwrap();
    if let Some(email) = &contact.email {
        search.search = Some(SearchQuery::parse(email));
        let hits = store.list_conversations(account, &search).await.unwrap();
        assert!(hits.items.iter().any(|i| i.conversation.id == first.id));
    }

    // Writing through the store after the fill: the next number, the next
    // event seqs, fresh ids.
    let seq = store.last_event_seq(account).await.unwrap();
    let chat = inboxes.iter().find(|i| i.kind == InboxKind::Chat).unwrap();
    let later = now.plus_millis(1_000);
    let visitor = store
        .create_contact(
            account,
            NewContact {
                name: Some("New Visitor".into()),
                ..NewContact::default()
            },
            later,
        )
        .await
        .unwrap();
    let posted = store
        .post_contact_message(
            account,
            chat.id,
            visitor.id,
            NewContactMessage {
                body: "Hello after the fill".into(),
                ..NewContactMessage::default()
            },
            later,
        )
        .await
        .unwrap();
    assert!(posted.created_conversation);
    assert_eq!(posted.conversation.number, CONVERSATIONS as i64 + 1);
    let events = store.events_since(account, seq, 100).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![seq + 1, seq + 2, seq + 3]);
    assert_eq!(store.last_event_seq(account).await.unwrap(), seq + 3);

    // An agent answers an open generated conversation.
    let open = store
        .list_conversations(account, &query(Some(Folder::Open)))
        .await
        .unwrap()
        .items[0]
        .conversation
        .clone();
    let agent = store.list_agents(account).await.unwrap()[1].id;
    let reply = store
        .post_agent_message(
            account,
            open.id,
            NewAgentMessage {
                agent_id: agent,
                body: "We are on it.".into(),
                private: false,
                idempotency_key: None,
                email_message_id: Some("<after-fill@confab.invalid>".into()),
                chat_email_at: None,
                attachments: Vec::new(),
            },
            later,
        )
        .await
        .unwrap();
    assert!(reply.message.id > posted.message.id);
    assert_eq!(
        reply.conversation.last_message_preview.as_deref(),
        Some("We are on it.")
    );
    assert_eq!(reply.conversation.unread_count, 0);
    let top = store
        .list_conversations(account, &query(Some(reply.conversation.folder)))
        .await
        .unwrap();
    // At the top, beside the new visitor's conversation of the same instant.
    assert!(
        top.items
            .iter()
            .take(2)
            .any(|i| i.conversation.id == open.id)
    );
}

#[tokio::test]
async fn fills_sqlite_consistently() {
    let now = now();
    let url = sqlite_url("fill");
    let summary = confab_datagen::generate(&config(url.clone(), CONVERSATIONS, now))
        .await
        .unwrap();
    let store = confab_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    check(Arc::new(store), &summary, now).await;
}

#[tokio::test]
async fn fills_postgres_consistently() {
    let now = now();
    let url = confab_store_postgres::testing::fresh_database_url().await;
    let summary = confab_datagen::generate(&config(url.clone(), CONVERSATIONS, now))
        .await
        .unwrap();
    let store = confab_store_postgres::PostgresStore::connect(&url)
        .await
        .unwrap();
    check(Arc::new(store), &summary, now).await;
}

#[tokio::test]
async fn same_seed_same_history_and_refuses_a_used_database() {
    let now = now();
    let (a, b) = (sqlite_url("seed-a"), sqlite_url("seed-b"));
    let first = confab_datagen::generate(&config(a.clone(), 300, now))
        .await
        .unwrap();
    let second = confab_datagen::generate(&config(b.clone(), 300, now))
        .await
        .unwrap();
    assert_eq!(first.messages, second.messages);
    assert_eq!(first.accounts[0].folders, second.accounts[0].folders);
    let store_a = confab_store_sqlite::SqliteStore::connect(&a).await.unwrap();
    let store_b = confab_store_sqlite::SqliteStore::connect(&b).await.unwrap();
    let account = first.accounts[0].id;
    let page_a = store_a
        .list_conversations(account, &query(None))
        .await
        .unwrap();
    let page_b = store_b
        .list_conversations(account, &query(None))
        .await
        .unwrap();
    let view = |page: &Page<ListedConversation>| -> Vec<(i64, Option<String>)> {
        page.items
            .iter()
            .map(|i| {
                (
                    i.conversation.number,
                    i.conversation.last_message_preview.clone(),
                )
            })
            .collect()
    };
    assert_eq!(view(&page_a), view(&page_b));

    let again = confab_datagen::generate(&config(a, 10, now)).await;
    assert!(
        again.is_err(),
        "filled a database that already had an account"
    );
}

#[tokio::test]
async fn shares_conversations_between_accounts() {
    let now = now();
    let url = sqlite_url("accounts");
    let mut settings = config(url.clone(), 301, now);
    settings.accounts = 2;
    settings.messages_per_conversation = 3.0;
    let summary = confab_datagen::generate(&settings).await.unwrap();
    assert_eq!(summary.accounts.len(), 2);
    assert_eq!(summary.accounts[0].conversations, 151);
    assert_eq!(summary.accounts[1].conversations, 150);
    assert!(summary.messages < 301 * 5, "{summary:?}");
    let store = confab_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    for account in &summary.accounts {
        let counts = store
            .count_conversations(account.id, Scope::All, None)
            .await
            .unwrap();
        assert_eq!(counts, account.folders);
        let page = store
            .list_conversations(account.id, &query(None))
            .await
            .unwrap();
        for item in &page.items {
            assert_eq!(item.conversation.account_id, account.id);
            check_conversation(&store, &item.conversation, now).await;
        }
        // Each account's numbers run from 1, and the next one follows.
        let chat = store
            .list_inboxes(account.id)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.kind == InboxKind::Chat)
            .unwrap();
        let visitor = store
            .create_contact(account.id, NewContact::default(), now)
            .await
            .unwrap();
        let posted = store
            .post_contact_message(
                account.id,
                chat.id,
                visitor.id,
                NewContactMessage {
                    body: "Hi".into(),
                    ..NewContactMessage::default()
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(posted.conversation.number, account.conversations + 1);
    }
}
