//! Attachment cases: files recorded unattached, taken by a message in the
//! message's own transaction, refused when they are not the sender's, and
//! forgotten when no message keeps them.

use confab_domain::*;

use super::fixture::{Fixture, T0};
use crate::error::StoreError;
use crate::model::*;
use crate::traits::Store;

fn at(minutes: i64) -> Timestamp {
    T0.plus_minutes(minutes)
}

fn upload(conversation: Option<ConversationId>, uploader: Uploader, name: &str) -> NewAttachment {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NewAttachment {
        conversation_id: conversation,
        uploader,
        filename: name.into(),
        content_type: "text/plain".into(),
        size_bytes: 5,
        sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
        storage_key: format!(
            "key-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

async fn stored(
    store: &dyn Store,
    f: &Fixture,
    conversation: Option<ConversationId>,
    uploader: Uploader,
    name: &str,
) -> StoredAttachment {
    store
        .create_attachment(f.account, upload(conversation, uploader, name), at(0))
        .await
        .expect("create attachment")
}

async fn agent_posts(
    store: &dyn Store,
    f: &Fixture,
    agent: AgentId,
    conversation: ConversationId,
    private: bool,
    attachments: Vec<AttachmentId>,
) -> crate::StoreResult<Posted> {
    store
        .post_agent_message(
            f.account,
            conversation,
            NewAgentMessage {
                agent_id: agent,
                body: String::new(),
                private,
                idempotency_key: None,
                email_message_id: None,
                chat_email_at: None,
                attachments,
            },
            at(1),
        )
        .await
}

async fn contact_posts(
    store: &dyn Store,
    f: &Fixture,
    contact: ContactId,
    attachments: Vec<AttachmentId>,
) -> crate::StoreResult<Posted> {
    store
        .post_contact_message(
            f.account,
            f.chat.id,
            contact,
            NewContactMessage {
                body: "see the file".into(),
                attachments,
                ..NewContactMessage::default()
            },
            at(1),
        )
        .await
}

fn assert_refused(result: crate::StoreResult<Posted>) {
    match result {
        Err(StoreError::Invalid(field)) => assert_eq!(field.field, "attachment_ids"),
        other => panic!("expected attachment_ids to be refused, got {other:?}"),
    }
}

async fn message_count(store: &dyn Store, f: &Fixture, conversation: ConversationId) -> usize {
    store
        .list_messages(f.account, conversation, true, None, 100)
        .await
        .expect("messages")
        .items
        .len()
}

pub async fn attachments_are_taken_by_messages_in_their_transaction(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let posted = f
        .contact_writes(store, &f.chat, &f.contact, "hello", at(0))
        .await;
    let conversation = posted.conversation.id;

    // An agent's upload is unattached until a message takes it.
    let file = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.agent.id),
        "invoice.pdf",
    )
    .await;
    assert_eq!(file.message_id, None);
    assert_eq!(file.conversation_id, Some(conversation));
    assert_eq!(file.uploader, Uploader::Agent(f.agent.id));
    assert!(!file.private);
    assert_eq!(
        store.get_attachment(f.account, file.id).await.unwrap(),
        file
    );

    // A reply with no text but a file: the message carries it.
    let reply = agent_posts(store, &f, f.agent.id, conversation, false, vec![file.id])
        .await
        .expect("reply with a file");
    assert_eq!(reply.message.attachments, vec![file.info()]);
    assert_eq!(reply.message.body, "");
    let taken = store.get_attachment(f.account, file.id).await.unwrap();
    assert_eq!(taken.message_id, Some(reply.message.id));
    assert!(!taken.private);

    // The history and the event log show it.
    let history = store
        .list_messages(f.account, conversation, true, None, 100)
        .await
        .unwrap()
        .items;
    let listed = history
        .iter()
        .find(|m| m.id == reply.message.id)
        .expect("reply listed");
    assert_eq!(listed.attachments, vec![file.info()]);
    assert!(
        history
            .iter()
            .filter(|m| m.id != reply.message.id)
            .all(|m| m.attachments.is_empty())
    );
    let events = store.events_since(f.account, 0, 1000).await.unwrap();
    let created = events
        .iter()
        .rev()
        .find(|e| e.event_type == EventType::MessageCreated)
        .expect("message.created");
    assert_eq!(
        created.data["message"]["attachments"][0]["id"],
        serde_json::json!(file.id.0)
    );
    assert_eq!(
        created.data["message"]["attachments"][0]["filename"],
        "invoice.pdf"
    );

    // A file is attached once: a second message taking it is refused, and
    // so is everything else that message would have done — including a
    // fresh file listed with it, which stays unattached.
    let fresh = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.agent.id),
        "fresh.txt",
    )
    .await;
    let messages_before = message_count(store, &f, conversation).await;
    let seq_before = store.last_event_seq(f.account).await.unwrap();
    assert_refused(
        agent_posts(
            store,
            &f,
            f.agent.id,
            conversation,
            false,
            vec![fresh.id, file.id],
        )
        .await,
    );
    assert_eq!(
        message_count(store, &f, conversation).await,
        messages_before
    );
    assert_eq!(store.last_event_seq(f.account).await.unwrap(), seq_before);
    assert_eq!(
        store
            .get_attachment(f.account, fresh.id)
            .await
            .unwrap()
            .message_id,
        None
    );

    // A private note's file is marked private (never shown to the contact).
    let note = agent_posts(store, &f, f.agent.id, conversation, true, vec![fresh.id])
        .await
        .expect("note with a file");
    assert_eq!(note.message.attachments, vec![fresh.info()]);
    assert!(
        store
            .get_attachment(f.account, fresh.id)
            .await
            .unwrap()
            .private
    );

    // A contact's upload (no conversation yet) joins the conversation their
    // message lands in; repeated ids count once.
    let photo = stored(
        store,
        &f,
        None,
        Uploader::Contact(f.contact.id),
        "photo.png",
    )
    .await;
    let written = contact_posts(store, &f, f.contact.id, vec![photo.id, photo.id])
        .await
        .expect("contact message with a file");
    assert_eq!(written.message.attachments, vec![photo.info()]);
    let photo = store.get_attachment(f.account, photo.id).await.unwrap();
    assert_eq!(photo.conversation_id, Some(written.conversation.id));
    assert_eq!(photo.message_id, Some(written.message.id));

    // An idempotent replay answers the first message, files included.
    let key_file = stored(store, &f, None, Uploader::Contact(f.contact.id), "k.txt").await;
    let first = store
        .post_contact_message(
            f.account,
            f.chat.id,
            f.contact.id,
            NewContactMessage {
                body: "once".into(),
                idempotency_key: Some("attach-once".into()),
                attachments: vec![key_file.id],
                ..NewContactMessage::default()
            },
            at(2),
        )
        .await
        .unwrap();
    let again = store
        .post_contact_message(
            f.account,
            f.chat.id,
            f.contact.id,
            NewContactMessage {
                body: "once".into(),
                idempotency_key: Some("attach-once".into()),
                attachments: vec![key_file.id],
                ..NewContactMessage::default()
            },
            at(3),
        )
        .await
        .unwrap();
    assert!(!again.created_message);
    assert_eq!(again.message.attachments, first.message.attachments);
    assert_eq!(again.message.attachments, vec![key_file.info()]);
}

pub async fn attachments_of_others_are_refused(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    let conversation = f
        .contact_writes(store, &f.chat, &f.contact, "hello", at(0))
        .await
        .conversation
        .id;
    let elsewhere = f
        .contact_writes(store, &f.in_app, &f.contact, "another", at(0))
        .await
        .conversation
        .id;
    let other_conversation = other
        .contact_writes(store, &other.chat, &other.contact, "hi", at(0))
        .await
        .conversation
        .id;

    // Another account's file is not found, and cannot be attached.
    let foreign = stored(
        store,
        &other,
        Some(other_conversation),
        Uploader::Agent(other.agent.id),
        "theirs.txt",
    )
    .await;
    assert!(matches!(
        store.get_attachment(f.account, foreign.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_refused(agent_posts(store, &f, f.agent.id, conversation, false, vec![foreign.id]).await);
    // An upload names a conversation of its own account.
    assert!(matches!(
        store
            .create_attachment(
                f.account,
                upload(
                    Some(other_conversation),
                    Uploader::Agent(f.agent.id),
                    "x.txt"
                ),
                at(0)
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    // A colleague's upload, a contact's upload, an upload for another
    // conversation: none is this agent's to attach here.
    let admins = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.admin.id),
        "admin.txt",
    )
    .await;
    let contacts = stored(store, &f, None, Uploader::Contact(f.contact.id), "c.txt").await;
    let other_thread = stored(
        store,
        &f,
        Some(elsewhere),
        Uploader::Agent(f.agent.id),
        "other-thread.txt",
    )
    .await;
    for id in [admins.id, contacts.id, other_thread.id] {
        assert_refused(agent_posts(store, &f, f.agent.id, conversation, false, vec![id]).await);
    }

    // A contact cannot take an agent's upload or another contact's.
    let stranger = f.new_contact(store, "Stranger").await;
    let agents = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.agent.id),
        "a.txt",
    )
    .await;
    let strangers = stored(store, &f, None, Uploader::Contact(stranger.id), "s.txt").await;
    for id in [agents.id, strangers.id] {
        assert_refused(contact_posts(store, &f, f.contact.id, vec![id]).await);
    }
    // ... but does take what their own e-mail carried.
    let mailed = stored(store, &f, None, Uploader::Email(f.contact.id), "mail.pdf").await;
    let posted = contact_posts(store, &f, f.contact.id, vec![mailed.id])
        .await
        .expect("e-mailed file");
    assert_eq!(posted.message.attachments, vec![mailed.info()]);

    // An unknown id, and too many files for one message.
    assert_refused(
        agent_posts(
            store,
            &f,
            f.agent.id,
            conversation,
            false,
            vec![AttachmentId(i64::MAX)],
        )
        .await,
    );
    let many: Vec<AttachmentId> = (1..=(validate::MAX_ATTACHMENTS as i64 + 1))
        .map(AttachmentId)
        .collect();
    assert_refused(agent_posts(store, &f, f.agent.id, conversation, false, many).await);

    // Nothing refused left a trace: each file is still unattached.
    for id in [
        admins.id,
        contacts.id,
        other_thread.id,
        agents.id,
        strangers.id,
    ] {
        assert_eq!(
            store
                .get_attachment(f.account, id)
                .await
                .unwrap()
                .message_id,
            None
        );
    }
}

pub async fn unused_attachments_are_purged_once(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let day = 24 * 60;
    let conversation = f
        .contact_writes(store, &f.email, &f.contact, "hello", at(0))
        .await
        .conversation
        .id;
    let unused = stored(store, &f, None, Uploader::Contact(f.contact.id), "left.txt").await;
    let kept = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.agent.id),
        "kept.txt",
    )
    .await;
    agent_posts(store, &f, f.agent.id, conversation, false, vec![kept.id])
        .await
        .expect("reply with a file");

    // Younger than the cut-off: kept.
    assert!(
        store
            .purge_unattached_attachments(at(-1), 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Older: the unused upload goes (once); the attached file stays.
    let purged = store
        .purge_unattached_attachments(at(day), 100)
        .await
        .unwrap();
    assert_eq!(
        purged.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![unused.id]
    );
    assert_eq!(purged[0].storage_key, unused.storage_key);
    assert!(
        store
            .purge_unattached_attachments(at(day), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.get_attachment(f.account, unused.id).await,
        Err(StoreError::NotFound(_))
    ));

    // When the conversation is purged from the trash its files are
    // detached, and forgotten at the next purge whatever their age.
    store
        .act_on_conversation(
            f.account,
            conversation,
            FolderAction::Delete,
            Actor::System,
            at(2),
        )
        .await
        .unwrap();
    store.purge_trash(at(3), at(3), 100).await.unwrap();
    let purged = store
        .purge_unattached_attachments(at(-10), 100)
        .await
        .unwrap();
    assert_eq!(
        purged.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![kept.id]
    );
}

pub async fn email_replies_carry_their_attachments(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mailed = stored(store, &f, None, Uploader::Email(f.contact.id), "scan.pdf").await;
    let incoming = store
        .post_contact_message(
            f.account,
            f.email.id,
            f.contact.id,
            NewContactMessage {
                body: "scan attached".into(),
                subject: Some("Scan".into()),
                email_message_id: Some("scan-1@mail.test".into()),
                attachments: vec![mailed.id],
                ..NewContactMessage::default()
            },
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(incoming.message.attachments, vec![mailed.info()]);
    let conversation = incoming.conversation.id;

    let file = stored(
        store,
        &f,
        Some(conversation),
        Uploader::Agent(f.agent.id),
        "answer.pdf",
    )
    .await;
    let reply = store
        .post_agent_message(
            f.account,
            conversation,
            NewAgentMessage {
                agent_id: f.agent.id,
                body: "Here is the signed copy".into(),
                private: false,
                idempotency_key: None,
                email_message_id: Some("confab.out-1@confab.test".into()),
                attachments: vec![file.id],
                chat_email_at: None,
            },
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(reply.message.delivery, Some(DeliveryStatus::Pending));
    let jobs = store.claim_outbound_mail(at(1), at(5), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].message.attachments, vec![file.info()]);
    assert_eq!(jobs[0].attachments.len(), 1);
    assert_eq!(jobs[0].attachments[0].storage_key, file.storage_key);
    assert_eq!(jobs[0].attachments[0].message_id, Some(reply.message.id));
}

/// Messages refused for a file that is not the sender's, among concurrent
/// writers: each refused message leaves no trace (no row, no search entry,
/// no event), every other one lands whole, and the event log stays
/// gap-free (SQLite runs such writes together without a savepoint each).
pub async fn messages_refused_among_concurrent_writers_leave_no_trace(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut contacts = Vec::new();
    for n in 0..6 {
        let contact = f.new_contact(store, &format!("Writer {n}")).await;
        let file = stored(store, &f, None, Uploader::Contact(contact.id), "mine.txt").await;
        contacts.push((contact, file));
    }
    let writes = contacts
        .iter()
        .enumerate()
        .flat_map(|(n, (contact, file))| {
            let theirs = contacts[(n + 1) % contacts.len()].1.id;
            [
                (contact.id, "plain one", vec![]),
                (contact.id, "refused", vec![theirs]),
                (contact.id, "with my file", vec![file.id]),
                (contact.id, "plain two", vec![]),
            ]
            .map(|(contact, body, attachments)| async move {
                let result = store
                    .post_contact_message(
                        f.account,
                        f.chat.id,
                        contact,
                        NewContactMessage {
                            body: body.into(),
                            attachments,
                            ..NewContactMessage::default()
                        },
                        at(1),
                    )
                    .await;
                (body, result)
            })
        });
    let mut conversations = std::collections::BTreeSet::new();
    for (body, result) in super::cases::futures_join_all(writes.collect()).await {
        if body == "refused" {
            assert_refused(result);
        } else {
            conversations.insert(result.expect("an accepted message").conversation.id);
        }
    }
    assert_eq!(conversations.len(), 6, "one conversation per contact");
    for conversation in &conversations {
        let messages = store
            .list_messages(f.account, *conversation, true, None, 100)
            .await
            .expect("messages")
            .items;
        let bodies: std::collections::BTreeSet<&str> =
            messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(
            bodies,
            ["plain one", "plain two", "with my file"].into(),
            "conversation {conversation:?}"
        );
        let read = store
            .get_conversation(f.account, *conversation)
            .await
            .expect("conversation");
        assert_eq!(read.unread_count, 3);
    }
    for (contact, file) in &contacts {
        let file = store.get_attachment(f.account, file.id).await.unwrap();
        let taker = file.message_id.expect("each file taken by its own sender");
        let conversation = file.conversation_id.expect("attached in a conversation");
        let messages = store
            .list_messages(f.account, conversation, true, None, 100)
            .await
            .unwrap()
            .items;
        let taken_by = messages.iter().find(|m| m.id == taker).unwrap();
        assert_eq!(taken_by.body, "with my file");
        assert_eq!(taken_by.sender_id, Some(contact.id.0));
    }
    // The search index holds the landed messages and nothing of the refused.
    let searched = |text: &str| {
        f.ids(
            store,
            ConversationQuery {
                search: Some(confab_domain::search::SearchQuery::parse(text)),
                ..ConversationQuery::default()
            },
        )
    };
    assert!(searched("refused").await.is_empty());
    assert_eq!(searched("plain").await.len(), 6);
    assert_eq!(searched("file").await.len(), 6);
    let events = super::cases::all_events(store, f.account).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "gap-free"
    );
    let created = events
        .iter()
        .filter(|e| e.event_type == EventType::MessageCreated)
        .count();
    assert_eq!(created, 18);
}
