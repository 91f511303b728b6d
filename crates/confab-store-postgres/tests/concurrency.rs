//! What a pool of connections (and several Confab instances on one
//! database) must not break: row locks, idempotency races, wake-ups.

use std::collections::{BTreeMap, BTreeSet};

use confab_domain::*;
use confab_store::*;
use confab_store_postgres::PostgresStore;
use confab_store_postgres::testing::{fresh_database, fresh_store};

const T0: Timestamp = Timestamp(1_800_000_000_000);

struct Setup {
    account: AccountId,
    agent: AgentId,
    inbox: InboxId,
}

async fn setup(store: &PostgresStore, tag: &str) -> Setup {
    let (account, agent) = store
        .create_account(
            "Acme",
            NewAgent {
                name: "Ada".into(),
                email: format!("ada-{tag}@acme.test"),
                password_hash: "hash".into(),
                role: Role::Admin,
            },
            T0,
        )
        .await
        .unwrap();
    let inbox = store
        .create_inbox(
            account.id,
            NewInbox {
                name: "Chat".into(),
                kind: InboxKind::Chat,
                token: format!("token-{tag}"),
                email_address: None,
                identity_secret: "0".repeat(64),
            },
            T0,
        )
        .await
        .unwrap();
    Setup {
        account: account.id,
        agent: agent.id,
        inbox: inbox.id,
    }
}

async fn contact(store: &PostgresStore, account: AccountId, name: &str) -> ContactId {
    store
        .create_contact(
            account,
            NewContact {
                name: Some(name.into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap()
        .id
}

async fn assert_gap_free(store: &PostgresStore, account: AccountId) {
    let events = store.events_since(account, 0, 10_000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_messages_of_one_contact_start_one_conversation() {
    let store = fresh_store().await;
    let s = setup(&store, "first").await;
    let who = contact(&store, s.account, "Racer").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let (account, inbox) = (s.account, s.inbox);
        tasks.push(tokio::spawn(async move {
            store
                .post_contact_message(
                    account,
                    inbox,
                    who,
                    NewContactMessage {
                        body: format!("hello {i}"),
                        ..Default::default()
                    },
                    T0.plus_millis(i),
                )
                .await
        }));
    }
    let mut conversations = BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        let posted = task.await.unwrap().unwrap();
        conversations.insert(posted.conversation.id);
        created += usize::from(posted.created_conversation);
    }
    assert_eq!((conversations.len(), created), (1, 1));
    let id = *conversations.first().unwrap();
    let conversation = store.get_conversation(s.account, id).await.unwrap();
    assert_eq!(conversation.unread_count, 10);
    assert_gap_free(&store, s.account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deliveries_of_one_mail_store_one_message() {
    // One mail reaching the account at once by several routes (say, copied
    // to two of its addresses): the Message-ID index keeps one message.
    let store = fresh_store().await;
    let s = setup(&store, "mailrace").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let who = contact(&store, s.account, &format!("Sender {i}")).await;
        let (account, inbox) = (s.account, s.inbox);
        tasks.push(tokio::spawn(async move {
            store
                .post_contact_message(
                    account,
                    inbox,
                    who,
                    NewContactMessage {
                        body: "the same mail".into(),
                        email_message_id: Some("<once@mail.test>".into()),
                        ..Default::default()
                    },
                    T0,
                )
                .await
                .unwrap()
        }));
    }
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        let posted = task.await.unwrap();
        ids.insert(posted.message.id);
        created += usize::from(posted.created_message);
    }
    assert_eq!((ids.len(), created), (1, 1));
    assert_gap_free(&store, s.account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_idempotency_keys_store_one_message() {
    let store = fresh_store().await;
    let s = setup(&store, "idem").await;
    let who = contact(&store, s.account, "Retrier").await;
    let start = store
        .post_contact_message(
            s.account,
            s.inbox,
            who,
            NewContactMessage {
                body: "start".into(),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let (account, inbox, agent) = (s.account, s.inbox, s.agent);
        let conversation = start.conversation.id;
        tasks.push(tokio::spawn(async move {
            let contact = store
                .post_contact_message(
                    account,
                    inbox,
                    who,
                    NewContactMessage {
                        body: "again".into(),
                        idempotency_key: Some("same".into()),
                        ..Default::default()
                    },
                    T0.plus_millis(i),
                )
                .await
                .unwrap();
            let reply = store
                .post_agent_message(
                    account,
                    conversation,
                    NewAgentMessage {
                        agent_id: agent,
                        body: "reply".into(),
                        private: false,
                        idempotency_key: Some("same".into()),
                        email_message_id: None,
                        chat_email_at: None,
                        attachments: Vec::new(),
                    },
                    T0.plus_millis(i),
                )
                .await
                .unwrap();
            (contact, reply)
        }));
    }
    let mut contact_ids = BTreeSet::new();
    let mut reply_ids = BTreeSet::new();
    let (mut contact_created, mut reply_created) = (0, 0);
    for task in tasks {
        let (contact, reply) = task.await.unwrap();
        contact_ids.insert(contact.message.id);
        reply_ids.insert(reply.message.id);
        contact_created += usize::from(contact.created_message);
        reply_created += usize::from(reply.created_message);
    }
    assert_eq!((contact_ids.len(), contact_created), (1, 1));
    assert_eq!((reply_ids.len(), reply_created), (1, 1));
    let messages = store
        .list_messages(s.account, start.conversation.id, true, None, 100)
        .await
        .unwrap();
    assert_eq!(messages.items.len(), 3);
    assert_gap_free(&store, s.account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_wake_each_conversation_once() {
    let options = fresh_database().await;
    let first = PostgresStore::connect_with(options.clone()).await.unwrap();
    let second = PostgresStore::connect_with(options).await.unwrap();
    let mut expected = BTreeSet::new();
    let mut accounts = Vec::new();
    for a in 0..3 {
        let s = setup(&first, &format!("wake{a}")).await;
        for n in 0..15 {
            let who = contact(&first, s.account, &format!("Sleeper {n}")).await;
            let id = first
                .post_contact_message(
                    s.account,
                    s.inbox,
                    who,
                    NewContactMessage {
                        body: "zzz".into(),
                        ..Default::default()
                    },
                    T0,
                )
                .await
                .unwrap()
                .conversation
                .id;
            first
                .act_on_conversation(
                    s.account,
                    id,
                    FolderAction::Snooze { minutes: 5 + n },
                    Actor::System,
                    T0,
                )
                .await
                .unwrap();
            expected.insert(id);
        }
        accounts.push(s.account);
    }
    let due = T0.plus_minutes(60);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut woken = Vec::new();
            loop {
                let batch = store.wake_due(due, 4).await.unwrap();
                if batch.is_empty() {
                    break woken;
                }
                woken.extend(batch.into_iter().map(|c| c.id));
            }
        }));
    }
    let mut counts: BTreeMap<ConversationId, usize> = BTreeMap::new();
    for task in tasks {
        for id in task.await.unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(first.next_wakeup().await.unwrap(), None);
    for account in accounts {
        assert_gap_free(&first, account).await;
        let woken = first
            .events_since(account, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.data["action"].as_str() == Some("wake"))
            .count();
        assert_eq!(woken, 15);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spam_marks_contact_edits_and_posts_do_not_deadlock() {
    let store = fresh_store().await;
    let s = setup(&store, "mix").await;
    let who = contact(&store, s.account, "Busy").await;
    let id = store
        .post_contact_message(
            s.account,
            s.inbox,
            who,
            NewContactMessage {
                body: "hi".into(),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap()
        .conversation
        .id;
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let store = store.clone();
        let (account, inbox, agent) = (s.account, s.inbox, s.agent);
        tasks.push(tokio::spawn(async move {
            let now = T0.plus_millis(i + 1);
            match i % 5 {
                0 => store
                    .act_on_conversation(
                        account,
                        id,
                        FolderAction::MarkSpam,
                        Actor::Agent(agent),
                        now,
                    )
                    .await
                    .map(|_| ()),
                1 => store
                    .act_on_conversation(
                        account,
                        id,
                        FolderAction::NotSpam,
                        Actor::Agent(agent),
                        now,
                    )
                    .await
                    .map(|_| ()),
                2 => store
                    .update_contact(
                        account,
                        who,
                        ContactPatch {
                            name: Some(Some(format!("Busy {i}"))),
                            ..Default::default()
                        },
                        now,
                    )
                    .await
                    .map(|_| ()),
                3 => store
                    .post_contact_message(
                        account,
                        inbox,
                        who,
                        NewContactMessage {
                            body: format!("more {i}"),
                            ..Default::default()
                        },
                        now,
                    )
                    .await
                    .map(|_| ()),
                _ => store
                    .post_agent_message(
                        account,
                        id,
                        NewAgentMessage {
                            agent_id: agent,
                            body: format!("note {i}"),
                            private: true,
                            idempotency_key: None,
                            email_message_id: None,
                            chat_email_at: None,
                            attachments: Vec::new(),
                        },
                        now,
                    )
                    .await
                    .map(|_| ()),
            }
        }));
    }
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) | Err(StoreError::Refused(_)) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_gap_free(&store, s.account).await;
    // The conversation's search text follows the contact's latest name.
    let contact = store.get_contact(s.account, who).await.unwrap();
    let name = contact.name.unwrap();
    let page = store
        .list_conversations(
            s.account,
            &ConversationQuery {
                search: Some(confab_domain::search::SearchQuery::parse(&name)),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        page.items.iter().any(|item| item.conversation.id == id),
        "{name}"
    );
}

fn webhook(url: &str, types: &[&str]) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        secret: "secret".into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_queue_each_event_once_and_claim_each_delivery_once() {
    let options = fresh_database().await;
    let first = PostgresStore::connect_with(options.clone()).await.unwrap();
    let second = PostgresStore::connect_with(options).await.unwrap();
    let s = setup(&first, "hooks").await;
    // Webhooks receive the events logged after they are created.
    let start = first.last_event_seq(s.account).await.unwrap();
    let all = first
        .create_webhook(s.account, webhook("https://example.test/all", &[]), T0)
        .await
        .unwrap();
    let messages = first
        .create_webhook(
            s.account,
            webhook("https://example.test/messages", &["message.created"]),
            T0,
        )
        .await
        .unwrap();
    let stores = [first.clone(), second.clone()];
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut enqueuers = Vec::new();
    for i in 0..4 {
        let store = stores[i % 2].clone();
        let writing = writing.clone();
        enqueuers.push(tokio::spawn(async move {
            let mut created = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                created += store.enqueue_webhook_deliveries(T0, 3).await.unwrap();
            }
            created
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4 {
        let store = stores[w % 2].clone();
        let (account, inbox) = (s.account, s.inbox);
        writers.push(tokio::spawn(async move {
            for n in 0..8 {
                let who = contact(&store, account, &format!("Writer {w}.{n}")).await;
                store
                    .post_contact_message(
                        account,
                        inbox,
                        who,
                        NewContactMessage {
                            body: format!("hello {w}.{n}"),
                            ..Default::default()
                        },
                        T0,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in writers {
        task.await.unwrap();
    }
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut created = 0;
    for task in enqueuers {
        created += task.await.unwrap();
    }
    created += first.enqueue_webhook_deliveries(T0, 10_000).await.unwrap();
    assert_eq!(
        first.enqueue_webhook_deliveries(T0, 10_000).await.unwrap(),
        0
    );

    let events = first.events_since(s.account, start, 10_000).await.unwrap();
    assert!(events.len() >= 64);
    let seqs_of = |store: &PostgresStore, hook: WebhookId| {
        let store = store.clone();
        async move {
            let log = store
                .list_webhook_deliveries(s.account, hook, None, 10_000)
                .await
                .unwrap();
            let mut seqs: Vec<i64> = log.items.iter().map(|d| d.seq).collect();
            seqs.sort();
            seqs
        }
    };
    let every: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let created_messages: Vec<i64> = events
        .iter()
        .filter(|e| e.event_type == EventType::MessageCreated)
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs_of(&first, all.id).await, every, "no event skipped");
    assert_eq!(seqs_of(&first, messages.id).await, created_messages);
    assert_eq!(created as usize, every.len() + created_messages.len());

    let mut claimers = Vec::new();
    for i in 0..4 {
        let store = stores[i % 2].clone();
        claimers.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let jobs = store
                    .claim_webhook_deliveries(T0, T0.plus_minutes(1), 5)
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    break claimed;
                }
                for job in jobs {
                    assert_eq!(job.event.seq, job.delivery.seq);
                    assert_eq!(job.delivery.attempts, 1);
                    store
                        .finish_webhook_delivery(
                            job.delivery.id,
                            DeliveryOutcome::Delivered { status: 200 },
                            T0,
                        )
                        .await
                        .unwrap();
                    claimed.push(job.delivery.id);
                }
            }
        }));
    }
    let mut counts: BTreeMap<DeliveryId, usize> = BTreeMap::new();
    for task in claimers {
        for id in task.await.unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), created as usize);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn giving_up_editing_and_deleting_webhooks_do_not_deadlock() {
    let store = fresh_store().await;
    let s = setup(&store, "giveup").await;
    let mut hooks = Vec::new();
    for n in 0..6 {
        let hook = store
            .create_webhook(
                s.account,
                webhook(&format!("https://example.test/{n}"), &[]),
                T0,
            )
            .await
            .unwrap();
        hooks.push(hook.id);
    }
    for n in 0..4 {
        let who = contact(&store, s.account, &format!("Failing {n}")).await;
        store
            .post_contact_message(
                s.account,
                s.inbox,
                who,
                NewContactMessage {
                    body: "hi".into(),
                    ..Default::default()
                },
                T0,
            )
            .await
            .unwrap();
    }
    store.enqueue_webhook_deliveries(T0, 1000).await.unwrap();
    let jobs = store
        .claim_webhook_deliveries(T0, T0.plus_minutes(1), 1000)
        .await
        .unwrap();
    assert!(!jobs.is_empty());
    let mut tasks = Vec::new();
    for job in jobs {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .finish_webhook_delivery(
                    job.delivery.id,
                    DeliveryOutcome::GiveUp {
                        status: Some(500),
                        error: "HTTP 500".into(),
                    },
                    T0,
                )
                .await
        }));
    }
    for (n, hook) in hooks.iter().copied().enumerate() {
        let editor = store.clone();
        let account = s.account;
        tasks.push(tokio::spawn(async move {
            let store = editor;
            if n % 2 == 0 {
                store.delete_webhook(account, hook).await
            } else {
                store
                    .update_webhook(
                        account,
                        hook,
                        WebhookPatch {
                            enabled: Some(true),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ())
            }
        }));
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.enqueue_webhook_deliveries(T0, 1000).await.map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let left = store.list_webhooks(s.account).await.unwrap();
    assert_eq!(left.len(), 3);
}
