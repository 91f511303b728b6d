//! The cases. Each takes a store on an empty database.

use confab_domain::search::SearchQuery;
use confab_domain::*;

use super::fixture::{Fixture, T0};
use crate::error::StoreError;
use crate::model::*;
use crate::traits::Store;

fn at(minutes: i64) -> Timestamp {
    T0.plus_minutes(minutes)
}

pub(super) async fn all_events(store: &dyn Store, account: AccountId) -> Vec<event::Event> {
    store
        .events_since(account, 0, 100_000)
        .await
        .expect("events")
}

fn search(text: &str) -> ConversationQuery {
    ConversationQuery {
        search: Some(SearchQuery::parse(text)),
        search_private: true,
        limit: 50,
        ..ConversationQuery::default()
    }
}

fn in_folder(folder: Folder) -> ConversationQuery {
    ConversationQuery {
        folder: Some(folder),
        limit: 100,
        ..ConversationQuery::default()
    }
}

pub async fn accounts_agents_and_credentials(store: &dyn Store) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let f = Fixture::new(store).await;
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(store.get_account(f.account).await.unwrap().name, "Acme");
    let duplicate = store
        .add_agent(
            f.account,
            NewAgent {
                name: "Again".into(),
                email: f.agent.email.clone(),
                password_hash: "h".into(),
                role: Role::Agent,
            },
            T0,
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Duplicate { field: "email" })),
        "{duplicate:?}"
    );
    let (agent, hash) = store
        .agent_for_login(&f.admin.email)
        .await
        .unwrap()
        .expect("login row");
    assert_eq!(
        (agent.id, hash.as_str(), agent.role),
        (f.admin.id, "hash", Role::Admin)
    );
    assert!(
        store
            .agent_for_login("nobody@acme.test")
            .await
            .unwrap()
            .is_none()
    );

    store
        .create_credential(f.agent.id, CredentialKind::Session, "s1", Some(at(60)), T0)
        .await
        .unwrap();
    store
        .create_credential(f.agent.id, CredentialKind::ApiToken, "t1", None, T0)
        .await
        .unwrap();
    let by_session = store
        .agent_by_credential(CredentialKind::Session, "s1", at(59))
        .await
        .unwrap();
    assert_eq!(by_session.map(|a| a.id), Some(f.agent.id));
    assert!(
        store
            .agent_by_credential(CredentialKind::Session, "s1", at(61))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .agent_by_credential(CredentialKind::ApiToken, "s1", at(1))
            .await
            .unwrap()
            .is_none(),
        "wrong kind"
    );
    assert_eq!(
        store
            .agent_by_credential(CredentialKind::ApiToken, "t1", at(100_000))
            .await
            .unwrap()
            .map(|a| a.id),
        Some(f.agent.id)
    );
    store.delete_credential("s1").await.unwrap();
    assert!(
        store
            .agent_by_credential(CredentialKind::Session, "s1", at(1))
            .await
            .unwrap()
            .is_none()
    );

    let renamed = store
        .update_agent(
            f.account,
            f.agent.id,
            AgentPatch {
                name: Some("Bobby".into()),
                role: Some(Role::Admin),
                password_hash: None,
                locale: Some(Locale::PtBr),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.role, renamed.locale),
        ("Bobby", Role::Admin, Some(Locale::PtBr))
    );
    // A patch without a language keeps the chosen one; it is read back.
    let kept = store
        .update_agent(
            f.account,
            f.agent.id,
            AgentPatch {
                name: Some("Bob".into()),
                role: None,
                password_hash: None,
                locale: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.locale, Some(Locale::PtBr));
    assert_eq!(
        store.get_agent(f.account, f.agent.id).await.unwrap().locale,
        Some(Locale::PtBr)
    );
    assert_eq!(store.list_agents(f.account).await.unwrap().len(), 2);

    // Deleting an agent unassigns their conversations and drops their credentials.
    let posted = f
        .contact_writes(store, &f.chat, &f.contact, "hello", at(1))
        .await;
    store
        .assign_conversation(
            f.account,
            posted.conversation.id,
            Some(f.agent.id),
            Actor::System,
            at(2),
        )
        .await
        .unwrap();
    let seq = store.last_event_seq(f.account).await.unwrap();
    store
        .delete_agent(f.account, f.agent.id, at(3))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_conversation(f.account, posted.conversation.id)
            .await
            .unwrap()
            .assignee_id,
        None
    );
    // Live inboxes hear of it: one conversation.updated, unassigned.
    let events = store.events_since(f.account, seq, 10).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, EventType::ConversationUpdated);
    assert_eq!(events[0].data["action"], "assign");
    assert!(events[0].data["conversation"]["assignee_id"].is_null());
    assert!(
        store
            .agent_by_credential(CredentialKind::ApiToken, "t1", at(4))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.get_agent(f.account, f.agent.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_agent(f.account, f.agent.id, at(5)).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn another_accounts_ids_are_not_found(store: &dyn Store) {
    let mine = Fixture::new(store).await;
    let theirs = Fixture::new(store).await;
    let posted = theirs
        .contact_writes(store, &theirs.chat, &theirs.contact, "secret", at(1))
        .await;
    let id = posted.conversation.id;
    let not_found = |result: Result<_, StoreError>| matches!(result, Err(StoreError::NotFound(_)));
    assert!(not_found(
        store.get_conversation(mine.account, id).await.map(|_| ())
    ));
    assert!(not_found(
        store
            .act_on_conversation(mine.account, id, FolderAction::Close, Actor::System, at(2))
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .assign_conversation(mine.account, id, None, Actor::System, at(2))
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .set_tags(mine.account, id, &["x".into()], Actor::System, at(2))
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        mine.agent_writes(store, id, "hi", false, at(2))
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .list_messages(mine.account, id, true, None, 10)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .get_contact(mine.account, theirs.contact.id)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .get_inbox(mine.account, theirs.chat.id)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store
            .get_agent(mine.account, theirs.agent.id)
            .await
            .map(|_| ())
    ));
    // Assigning to another account's agent is refused as "not found" too.
    let own = mine
        .contact_writes(store, &mine.chat, &mine.contact, "hi", at(1))
        .await;
    assert!(not_found(
        store
            .assign_conversation(
                mine.account,
                own.conversation.id,
                Some(theirs.agent.id),
                Actor::System,
                at(2)
            )
            .await
            .map(|_| ())
    ));
    // A contact posting into another account's inbox finds nothing.
    let cross = store
        .post_contact_message(
            mine.account,
            theirs.chat.id,
            mine.contact.id,
            NewContactMessage {
                body: "x".into(),
                ..Default::default()
            },
            at(3),
        )
        .await;
    assert!(not_found(cross.map(|_| ())));
    // Lists, counts, search and events see only their own account.
    assert_eq!(
        mine.ids(store, search("secret")).await,
        Vec::<ConversationId>::new()
    );
    assert_eq!(
        mine.ids(store, in_folder(Folder::Open)).await,
        vec![own.conversation.id]
    );
    assert_eq!(
        store
            .count_conversations(mine.account, Scope::All, None)
            .await
            .unwrap()
            .open,
        1
    );
    let leaked = all_events(store, mine.account)
        .await
        .into_iter()
        .any(|e| e.data.to_string().contains("secret"));
    assert!(!leaked);
}

pub async fn contact_messages_start_and_continue_conversations(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let first = f
        .contact_writes(store, &f.chat, &f.contact, "Hi there", at(1))
        .await;
    assert!(first.created_conversation && first.created_message);
    let c = &first.conversation;
    assert_eq!(
        (c.number, c.folder, c.unread_count, c.inbox_kind),
        (1, Folder::Open, 1, InboxKind::Chat)
    );
    assert_eq!(
        (c.waiting_since, c.last_activity_at, c.created_at),
        (Some(at(1)), at(1), at(1))
    );
    assert_eq!(first.message.sender_type, SenderType::Contact);
    assert_eq!(first.message.sender_id, Some(f.contact.id.0));
    let second = f
        .contact_writes(store, &f.chat, &f.contact, "Anyone?", at(2))
        .await;
    assert!(!second.created_conversation);
    assert_eq!(second.conversation.id, c.id);
    assert_eq!(
        (
            second.conversation.unread_count,
            second.conversation.waiting_since
        ),
        (2, Some(at(1)))
    );
    // Another inbox means another conversation, with the next number.
    let other = store
        .post_contact_message(
            f.account,
            f.email.id,
            f.contact.id,
            NewContactMessage {
                body: "By mail".into(),
                subject: Some("Refund".into()),
                ..Default::default()
            },
            at(3),
        )
        .await
        .unwrap();
    assert!(other.created_conversation);
    assert_eq!(
        (
            other.conversation.number,
            other.conversation.subject.as_deref()
        ),
        (2, Some("Refund"))
    );
    let history = store
        .list_messages(f.account, c.id, true, None, 10)
        .await
        .unwrap();
    let bodies: Vec<_> = history.items.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["Hi there", "Anyone?"]);
    let events = all_events(store, f.account).await;
    let types: Vec<_> = events
        .iter()
        .map(|e| e.event_type)
        .filter(|t| !matches!(t, EventType::InboxCreated | EventType::ContactCreated))
        .collect();
    assert_eq!(
        types,
        [
            EventType::ConversationCreated,
            EventType::MessageCreated,
            EventType::MessageCreated,
            EventType::ConversationCreated,
            EventType::MessageCreated
        ]
    );
    assert_eq!(
        store
            .mark_read(f.account, c.id, Actor::Agent(f.agent.id), at(4))
            .await
            .unwrap()
            .unread_count,
        0
    );
    // Full body is kept apart from the trimmed body.
    let trimmed = store
        .post_contact_message(
            f.account,
            f.email.id,
            f.contact.id,
            NewContactMessage {
                body: "Yes".into(),
                full_body: Some("Yes\n> old".into()),
                conversation_id: Some(other.conversation.id),
                ..Default::default()
            },
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            trimmed.message.body.as_str(),
            trimmed.message.full_body.as_deref()
        ),
        ("Yes", Some("Yes\n> old"))
    );
    assert_eq!(trimmed.conversation.id, other.conversation.id);
    // A form submission always starts a new ticket.
    let form = |at| {
        store.post_contact_message(
            f.account,
            f.form.id,
            f.contact.id,
            NewContactMessage {
                body: "Form".into(),
                subject: Some("Quote".into()),
                new_conversation: true,
                ..Default::default()
            },
            at,
        )
    };
    let (a, b) = (form(at(6)).await.unwrap(), form(at(7)).await.unwrap());
    assert!(a.created_conversation && b.created_conversation);
    assert_ne!(a.conversation.id, b.conversation.id);
}

/// Puts a fresh conversation of `inbox` into `folder` through the store.
async fn conversation_in(
    store: &dyn Store,
    f: &Fixture,
    inbox: &Inbox,
    folder: Folder,
    n: i64,
) -> Conversation {
    let contact = f.new_contact(store, &format!("Walker {n}")).await;
    let id = f
        .contact_writes(store, inbox, &contact, "start", at(n))
        .await
        .conversation
        .id;
    let act =
        |action| store.act_on_conversation(f.account, id, action, Actor::Agent(f.admin.id), at(n));
    let reached = match folder {
        Folder::Open => store.get_conversation(f.account, id).await,
        Folder::Answered => f
            .agent_writes(store, id, "answer", false, at(n))
            .await
            .map(|p| p.conversation),
        Folder::Closed => act(FolderAction::Close).await,
        Folder::Snoozed => act(FolderAction::Snooze { minutes: 30 }).await,
        Folder::Deleted => act(FolderAction::Delete).await,
        Folder::Spam => act(FolderAction::MarkSpam).await,
    }
    .expect("reach folder");
    assert_eq!(reached.folder, folder);
    reached
}

/// Each row of SPEC §2 that an agent triggers, on every folder and inbox kind.
pub async fn every_row_of_the_folder_table(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let actions = [
        FolderAction::Close,
        FolderAction::Reopen,
        FolderAction::Snooze { minutes: 60 },
        FolderAction::Delete,
        FolderAction::Restore,
        FolderAction::MarkSpam,
        FolderAction::NotSpam,
    ];
    let mut n = 0;
    for inbox in [&f.chat, &f.in_app, &f.email, &f.form] {
        for folder in Folder::ALL {
            if folder == Folder::Answered && !inbox.kind.has_answered_folder() {
                continue;
            }
            for action in actions {
                n += 1;
                let before = conversation_in(store, &f, inbox, folder, n).await;
                let expected = transition(
                    folder,
                    inbox.kind,
                    crate::plan::folder_action(action, at(n)).unwrap(),
                );
                let got = store
                    .act_on_conversation(
                        f.account,
                        before.id,
                        action,
                        Actor::Agent(f.admin.id),
                        at(n),
                    )
                    .await;
                match (expected, got) {
                    (Ok(outcome), Ok(after)) => {
                        assert_eq!(
                            after.folder, outcome.folder,
                            "{action:?} on {folder:?} ({:?})",
                            inbox.kind
                        );
                        assert_eq!(
                            after.snoozed_until.is_some(),
                            after.folder == Folder::Snoozed
                        );
                        if let FolderAction::Snooze { minutes } = action {
                            assert_eq!(after.snoozed_until, Some(at(n).plus_minutes(minutes)));
                        }
                        let contact = store
                            .get_contact(f.account, after.contact_id)
                            .await
                            .unwrap();
                        match action {
                            FolderAction::MarkSpam => assert!(contact.spam),
                            FolderAction::NotSpam => assert!(!contact.spam),
                            _ => {}
                        }
                    }
                    (Err(refusal), Err(StoreError::Refused(got))) => assert_eq!(refusal, got),
                    (expected, got) => {
                        panic!("{action:?} on {folder:?}: expected {expected:?}, got {got:?}")
                    }
                }
            }
            // Timer firing: only snoozed conversations have one (checked in the snooze case).
        }
    }
}

pub async fn refused_actions_change_nothing(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let deleted = conversation_in(store, &f, &f.email, Folder::Deleted, 1).await;
    let events_before = all_events(store, f.account).await.len();
    let refused = store
        .act_on_conversation(
            f.account,
            deleted.id,
            FolderAction::Close,
            Actor::System,
            at(2),
        )
        .await;
    match refused {
        Err(StoreError::Refused(refusal)) => assert_eq!(
            (refusal.folder, refusal.action),
            (Folder::Deleted, Action::Close)
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let reply = f
        .agent_writes(store, deleted.id, "hello?", false, at(3))
        .await;
    assert!(matches!(reply, Err(StoreError::Refused(_))), "{reply:?}");
    let note = f.agent_writes(store, deleted.id, "note", true, at(3)).await;
    assert!(matches!(note, Err(StoreError::Refused(_))), "{note:?}");
    let bad_snooze = store
        .act_on_conversation(
            f.account,
            deleted.id,
            FolderAction::Snooze { minutes: 4 },
            Actor::System,
            at(3),
        )
        .await;
    assert!(
        matches!(bad_snooze, Err(StoreError::Invalid(ref e)) if e.field == "minutes"),
        "{bad_snooze:?}"
    );
    let long_snooze = store
        .act_on_conversation(
            f.account,
            deleted.id,
            FolderAction::Snooze {
                minutes: 24 * 60 + 1,
            },
            Actor::System,
            at(3),
        )
        .await;
    assert!(matches!(long_snooze, Err(StoreError::Invalid(_))));
    assert_eq!(
        store.get_conversation(f.account, deleted.id).await.unwrap(),
        deleted
    );
    assert_eq!(all_events(store, f.account).await.len(), events_before);
    assert_eq!(
        store
            .list_messages(f.account, deleted.id, true, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn contact_writing_into_deleted_or_spam(store: &dyn Store) {
    let f = Fixture::new(store).await;
    // Deleted: the conversation keeps its messages; a new one opens.
    let first = f
        .contact_writes(store, &f.chat, &f.contact, "first", at(1))
        .await
        .conversation;
    store
        .act_on_conversation(
            f.account,
            first.id,
            FolderAction::Delete,
            Actor::System,
            at(2),
        )
        .await
        .unwrap();
    let again = f
        .contact_writes(store, &f.chat, &f.contact, "again", at(3))
        .await;
    assert!(again.created_conversation);
    assert_ne!(again.conversation.id, first.id);
    assert_eq!(again.conversation.folder, Folder::Open);
    assert_eq!(
        store
            .get_conversation(f.account, first.id)
            .await
            .unwrap()
            .folder,
        Folder::Deleted
    );
    assert_eq!(
        store
            .list_messages(f.account, first.id, true, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Spam: stays spam, silently; the contact is flagged.
    store
        .act_on_conversation(
            f.account,
            again.conversation.id,
            FolderAction::MarkSpam,
            Actor::System,
            at(4),
        )
        .await
        .unwrap();
    assert!(
        store
            .get_contact(f.account, f.contact.id)
            .await
            .unwrap()
            .spam
    );
    let spam = f
        .contact_writes(store, &f.chat, &f.contact, "buy now", at(5))
        .await;
    assert_eq!(
        (spam.conversation.id, spam.conversation.folder),
        (again.conversation.id, Folder::Spam)
    );
    // A flagged contact's new conversation starts in spam.
    let elsewhere = f
        .contact_writes(store, &f.form, &f.contact, "form spam", at(6))
        .await;
    assert!(elsewhere.created_conversation);
    assert_eq!(elsewhere.conversation.folder, Folder::Spam);
    // Not spam: back to open, contact unflagged; new conversations open again.
    let restored = store
        .act_on_conversation(
            f.account,
            again.conversation.id,
            FolderAction::NotSpam,
            Actor::System,
            at(7),
        )
        .await
        .unwrap();
    assert_eq!(restored.folder, Folder::Open);
    assert!(
        !store
            .get_contact(f.account, f.contact.id)
            .await
            .unwrap()
            .spam
    );
    let fresh = f
        .contact_writes(store, &f.in_app, &f.contact, "hello", at(8))
        .await;
    assert_eq!(fresh.conversation.folder, Folder::Open);
}

pub async fn agent_replies_and_notes(store: &dyn Store) {
    let f = Fixture::new(store).await;
    for (inbox, after_reply) in [
        (&f.email, Folder::Answered),
        (&f.in_app, Folder::Answered),
        (&f.chat, Folder::Open),
        (&f.form, Folder::Open),
    ] {
        let contact = f.new_contact(store, inbox.kind.as_str()).await;
        let id = f
            .contact_writes(store, inbox, &contact, "question", at(1))
            .await
            .conversation
            .id;
        let note = f
            .agent_writes(store, id, "internal", true, at(2))
            .await
            .unwrap();
        assert!(note.message.private);
        assert_eq!(
            note.conversation.folder,
            Folder::Open,
            "a note changes nothing"
        );
        assert_eq!(note.conversation.unread_count, 1, "a note is not an answer");
        let reply = f
            .agent_writes(store, id, "answer", false, at(3))
            .await
            .unwrap();
        assert_eq!(reply.conversation.folder, after_reply, "{:?}", inbox.kind);
        assert_eq!(
            (
                reply.conversation.unread_count,
                reply.conversation.waiting_since
            ),
            (0, None)
        );
        assert_eq!(reply.message.sender_id, Some(f.agent.id.0));
        // The contact writes again: back to open.
        let back = f
            .contact_writes(store, inbox, &contact, "thanks", at(4))
            .await;
        assert_eq!(back.conversation.folder, Folder::Open);
        let public = store
            .list_messages(f.account, id, false, None, 10)
            .await
            .unwrap();
        assert!(public.items.iter().all(|m| !m.private));
        assert_eq!(public.items.len(), 3);
        assert_eq!(
            store
                .list_messages(f.account, id, true, None, 10)
                .await
                .unwrap()
                .items
                .len(),
            4
        );
    }
    // Replies keep closed and snoozed where they are.
    let closed = conversation_in(store, &f, &f.email, Folder::Closed, 10).await;
    assert_eq!(
        f.agent_writes(store, closed.id, "fyi", false, at(11))
            .await
            .unwrap()
            .conversation
            .folder,
        Folder::Closed
    );
    let snoozed = conversation_in(store, &f, &f.chat, Folder::Snoozed, 12).await;
    let replied = f
        .agent_writes(store, snoozed.id, "later", false, at(13))
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (replied.folder, replied.snoozed_until),
        (Folder::Snoozed, snoozed.snoozed_until)
    );
}

pub async fn idempotency_keys_return_the_first_message(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let post = |key: &str, body: &str| {
        store.post_contact_message(
            f.account,
            f.chat.id,
            f.contact.id,
            NewContactMessage {
                body: body.into(),
                idempotency_key: Some(key.into()),
                ..Default::default()
            },
            at(1),
        )
    };
    let first = post("k1", "hello").await.unwrap();
    let events = all_events(store, f.account).await.len();
    let retry = post("k1", "hello").await.unwrap();
    assert!(!retry.created_message);
    assert_eq!(retry.message, first.message);
    assert_eq!(all_events(store, f.account).await.len(), events);
    let other = post("k2", "hello").await.unwrap();
    assert_ne!(other.message.id, first.message.id);
    let reply = NewAgentMessage {
        agent_id: f.agent.id,
        body: "hi".into(),
        private: false,
        idempotency_key: Some("k1".into()),
        email_message_id: None,
        chat_email_at: None,
        attachments: Vec::new(),
    };
    let r1 = store
        .post_agent_message(f.account, first.conversation.id, reply.clone(), at(2))
        .await
        .unwrap();
    let r2 = store
        .post_agent_message(f.account, first.conversation.id, reply, at(3))
        .await
        .unwrap();
    assert!(r1.created_message && !r2.created_message);
    assert_eq!(r1.message.id, r2.message.id);
    assert_eq!(
        store
            .list_messages(f.account, first.conversation.id, true, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

pub async fn event_log_is_gap_free_under_concurrent_writers(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut contacts = Vec::new();
    for n in 0..8 {
        contacts.push(f.new_contact(store, &format!("Writer {n}")).await);
    }
    let writes = contacts.iter().flat_map(|contact| {
        (0..5).map(move |i| {
            store.post_contact_message(
                f.account,
                f.chat.id,
                contact.id,
                NewContactMessage {
                    body: format!("message {i}"),
                    ..Default::default()
                },
                at(i),
            )
        })
    });
    for result in futures_join_all(writes.collect()).await {
        result.expect("concurrent write");
    }
    let events = all_events(store, f.account).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs, expected, "gap-free and ascending");
    assert_eq!(
        store.last_event_seq(f.account).await.unwrap(),
        events.len() as i64
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == EventType::MessageCreated)
            .count(),
        40
    );
    let numbers: std::collections::BTreeSet<i64> = f
        .ids(store, in_folder(Folder::Open))
        .await
        .into_iter()
        .map(|id| id.0)
        .collect();
    assert_eq!(numbers.len(), 8, "one conversation per contact");
    let tail = store.events_since(f.account, 10, 5).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );
}

/// Runs futures concurrently without pulling in a futures crate.
pub(super) async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

pub async fn snooze_wakes_once_and_is_cancelled(store: &dyn Store) {
    let f = Fixture::new(store).await;
    assert_eq!(store.next_wakeup().await.unwrap(), None);
    let id = f
        .contact_writes(store, &f.email, &f.contact, "ping", at(0))
        .await
        .conversation
        .id;
    let snoozed = store
        .act_on_conversation(
            f.account,
            id,
            FolderAction::Snooze { minutes: 5 },
            Actor::System,
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(snoozed.snoozed_until, Some(at(6)));
    assert_eq!(store.next_wakeup().await.unwrap(), Some(at(6)));
    // Replacing the timer.
    store
        .act_on_conversation(
            f.account,
            id,
            FolderAction::Snooze { minutes: 10 },
            Actor::System,
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(store.next_wakeup().await.unwrap(), Some(at(12)));
    assert!(
        store
            .wake_due(Timestamp(at(12).0 - 1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let woken = store.wake_due(at(12), 10).await.unwrap();
    assert_eq!(
        woken
            .iter()
            .map(|c| (c.id, c.folder, c.snoozed_until))
            .collect::<Vec<_>>(),
        vec![(id, Folder::Open, None)]
    );
    assert!(
        store.wake_due(at(13), 10).await.unwrap().is_empty(),
        "wakes exactly once"
    );
    let last = all_events(store, f.account).await.pop().unwrap();
    assert_eq!(
        (last.event_type, last.data["action"].as_str()),
        (EventType::ConversationUpdated, Some("wake"))
    );
    // Reopen, close and delete cancel the timer.
    for cancel in [
        FolderAction::Reopen,
        FolderAction::Close,
        FolderAction::Delete,
    ] {
        store
            .act_on_conversation(f.account, id, FolderAction::Restore, Actor::System, at(14))
            .await
            .ok();
        store
            .act_on_conversation(
                f.account,
                id,
                FolderAction::Snooze { minutes: 5 },
                Actor::System,
                at(14),
            )
            .await
            .unwrap();
        store
            .act_on_conversation(f.account, id, cancel, Actor::System, at(15))
            .await
            .unwrap();
        assert_eq!(
            store.next_wakeup().await.unwrap(),
            None,
            "{cancel:?} cancels"
        );
        assert!(store.wake_due(at(1000), 10).await.unwrap().is_empty());
    }
    // A contact message wakes it early.
    store
        .act_on_conversation(f.account, id, FolderAction::Restore, Actor::System, at(16))
        .await
        .unwrap();
    store
        .act_on_conversation(
            f.account,
            id,
            FolderAction::Snooze { minutes: 60 },
            Actor::System,
            at(16),
        )
        .await
        .unwrap();
    let early = f
        .contact_writes(store, &f.email, &f.contact, "still there?", at(17))
        .await;
    assert_eq!(
        (
            early.conversation.id,
            early.conversation.folder,
            early.conversation.snoozed_until
        ),
        (id, Folder::Open, None)
    );
    assert_eq!(store.next_wakeup().await.unwrap(), None);
    // Several due at once, each woken once, across concurrent callers.
    let mut ids = Vec::new();
    for n in 0..6 {
        let contact = f.new_contact(store, &format!("Sleeper {n}")).await;
        let id = f
            .contact_writes(store, &f.chat, &contact, "zzz", at(20))
            .await
            .conversation
            .id;
        store
            .act_on_conversation(
                f.account,
                id,
                FolderAction::Snooze { minutes: 5 + n },
                Actor::System,
                at(20),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let (a, b) = tokio::join!(store.wake_due(at(100), 3), store.wake_due(at(100), 100));
    let mut all: Vec<_> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|c| c.id)
        .collect();
    all.extend(
        store
            .wake_due(at(100), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id),
    );
    all.sort();
    assert_eq!(all, ids);
}

pub async fn list_filters_scopes_and_sorts(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let ana = f.new_contact(store, "Ana").await;
    let bia = f.new_contact(store, "Bia").await;
    let c1 = f
        .contact_writes(store, &f.chat, &ana, "one", at(1))
        .await
        .conversation;
    let c2 = f
        .contact_writes(store, &f.email, &bia, "two", at(2))
        .await
        .conversation;
    let c3 = f
        .contact_writes(store, &f.form, &ana, "three", at(3))
        .await
        .conversation;
    store
        .assign_conversation(f.account, c1.id, Some(f.agent.id), Actor::System, at(4))
        .await
        .unwrap();
    store
        .assign_conversation(f.account, c2.id, Some(f.admin.id), Actor::System, at(4))
        .await
        .unwrap();
    store
        .set_tags(
            f.account,
            c2.id,
            &["billing".into(), "vip".into()],
            Actor::System,
            at(4),
        )
        .await
        .unwrap();
    f.agent_writes(store, c3.id, "done", false, at(5))
        .await
        .unwrap();
    f.contact_writes(store, &f.chat, &ana, "one more", at(6))
        .await;

    let q = |edit: &dyn Fn(&mut ConversationQuery)| {
        let mut query = in_folder(Folder::Open);
        edit(&mut query);
        query
    };
    assert_eq!(
        f.ids(store, q(&|_| {})).await,
        vec![c1.id, c3.id, c2.id],
        "newest activity first"
    );
    assert_eq!(
        f.ids(store, q(&|q| q.sort = Sort::Created)).await,
        vec![c3.id, c2.id, c1.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.sort = Sort::OldestWaiting)).await,
        vec![c1.id, c2.id, c3.id]
    );
    assert_eq!(
        f.ids(
            store,
            q(&|q| {
                q.scope = Scope::Mine;
                q.viewer = Some(f.agent.id)
            })
        )
        .await,
        vec![c1.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.scope = Scope::Unassigned)).await,
        vec![c3.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.inbox_id = Some(f.email.id))).await,
        vec![c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.kind = Some(InboxKind::Form))).await,
        vec![c3.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.assignee_id = Some(f.admin.id))).await,
        vec![c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.tag = Some("vip".into()))).await,
        vec![c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.unread = true)).await,
        vec![c1.id, c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.waiting = true)).await,
        vec![c1.id, c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.contact_id = Some(ana.id))).await,
        vec![c1.id, c3.id]
    );
    assert_eq!(
        f.ids(
            store,
            q(&|q| {
                q.created_after = Some(at(2));
                q.created_before = Some(at(3))
            })
        )
        .await,
        vec![c2.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.activity_after = Some(at(5)))).await,
        vec![c1.id, c3.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.activity_before = Some(at(5)))).await,
        vec![c2.id]
    );
    assert_eq!(
        f.ids(
            store,
            q(&|q| {
                q.contact_id = Some(ana.id);
                q.unread = true;
                q.kind = Some(InboxKind::Chat)
            })
        )
        .await,
        vec![c1.id]
    );
    assert_eq!(
        f.ids(store, q(&|q| q.folder = Some(Folder::Closed))).await,
        vec![]
    );
    assert_eq!(f.ids(store, q(&|q| q.folder = None)).await.len(), 3);
}

pub async fn list_pages_with_keyset_cursors(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut created = Vec::new();
    for n in 0..11 {
        let contact = f.new_contact(store, &format!("Pager {n}")).await;
        // Pairs share an activity time, so ties are broken by id.
        created.push(
            f.contact_writes(store, &f.chat, &contact, "page me", at(n / 2))
                .await
                .conversation
                .id,
        );
    }
    for sort in [Sort::LastActivity, Sort::Created, Sort::OldestWaiting] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let query = ConversationQuery {
                folder: Some(Folder::Open),
                sort,
                cursor,
                limit: 4,
                ..Default::default()
            };
            let page = store.list_conversations(f.account, &query).await.unwrap();
            assert!(page.items.len() <= 4);
            seen.extend(page.items.iter().map(|i| i.conversation.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut expected = created.clone();
        if sort != Sort::OldestWaiting {
            expected.sort_by_key(|id| std::cmp::Reverse(*id));
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
}

pub async fn counts_per_folder_and_scope(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut n = 0;
    for (folder, copies) in [
        (Folder::Open, 3),
        (Folder::Answered, 2),
        (Folder::Closed, 1),
        (Folder::Snoozed, 2),
        (Folder::Deleted, 1),
        (Folder::Spam, 1),
    ] {
        for _ in 0..copies {
            n += 1;
            conversation_in(store, &f, &f.email, folder, n).await;
        }
    }
    let all = store
        .count_conversations(f.account, Scope::All, None)
        .await
        .unwrap();
    assert_eq!(
        all,
        FolderCounts {
            open: 3,
            answered: 2,
            closed: 1,
            snoozed: 2,
            deleted: 1,
            spam: 1
        }
    );
    let open = f.ids(store, in_folder(Folder::Open)).await;
    store
        .assign_conversation(f.account, open[0], Some(f.agent.id), Actor::System, at(50))
        .await
        .unwrap();
    let mine = store
        .count_conversations(f.account, Scope::Mine, Some(f.agent.id))
        .await
        .unwrap();
    assert_eq!(
        mine,
        FolderCounts {
            open: 1,
            ..Default::default()
        }
    );
    let unassigned = store
        .count_conversations(f.account, Scope::Unassigned, None)
        .await
        .unwrap();
    assert_eq!(unassigned.open, 2);
    assert_eq!(unassigned.answered, 2);
}

/// Results are ranked: the conversation that says the words most often
/// comes first, whatever its age or id.
pub async fn search_ranks_where_the_words_occur_most_first(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let says = async |name: &str, body: &str, minute: i64| {
        f.new_conversation_saying(store, name, body, at(minute))
            .await
    };
    let once = says("Ana", "my refund for the parcel", 1).await;
    let thrice = says("Bia", "refund, refund: I still want my refund", 2).await;
    let newest_once = says("Caio", "where is the refund", 3).await;
    let found = f.ids(store, search("refund")).await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], thrice, "the most occurrences first");
    assert!(found.contains(&once) && found.contains(&newest_once));

    // Several words: each counts, and the row saying both most wins.
    let both = says("Duda", "login page login page login page", 4).await;
    let plain = says("Edu", "the login page", 5).await;
    assert_eq!(f.ids(store, search("login page")).await, vec![both, plain]);

    // A word in both the contact's name and their message: the snippet
    // shows the message, not the conversation's index text.
    // (A long message: its own rank is worse than the name's.)
    says(
        "Nina Voucherly",
        "hello there, my voucherly code failed at checkout yesterday evening, after \
         I had filled the whole cart with shoes and socks and hats and scarves, \
         then tried again this morning from another browser and another card, \
         and it still said the code had expired although the e-mail says June",
        6,
    )
    .await;
    let page = store
        .list_conversations(f.account, &search("voucherly"))
        .await
        .unwrap();
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("code failed"), "{snippet}");
    assert!(!snippet.contains("Nina"), "{snippet}");
}

/// The last word is searched as a prefix (search as you type), yet a row
/// holding the word itself ranks above rows holding only longer words that
/// start with it, even several times.
pub async fn search_ranks_the_word_itself_above_longer_words(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let says = async |name: &str, body: &str, minute: i64| {
        f.new_conversation_saying(store, name, body, at(minute))
            .await
    };
    // The same length, so only the word differs; the longer word is older
    // (at an equal rank the older conversation would come first).
    let longer = says("Ana", "my refunded parcel", 1).await;
    let exact = says("Bia", "my refund parcel", 2).await;
    assert_eq!(f.ids(store, search("refund")).await, vec![exact, longer]);
    assert_eq!(
        f.ids(store, search("parcel refund")).await,
        vec![exact, longer]
    );
    let thrice = says("Caio", "refunded, refunded, refunded", 3).await;
    let found = f.ids(store, search("refund")).await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], exact, "{found:?}");
    // Among the rest, the most occurrences first.
    assert_eq!(found[1..], [thrice, longer], "{found:?}");
    // `refunded` finds the rows that say it, not `refund`.
    let found = f.ids(store, search("refunded")).await;
    assert_eq!(found, vec![thrice, longer]);
}

pub async fn search_finds_bodies_contacts_and_numbers(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let refund = f
        .contact_writes(
            store,
            &f.email,
            &f.contact,
            "I want a refund for my <b>order</b> 1234",
            at(1),
        )
        .await
        .conversation;
    let ana = store
        .create_contact(
            f.account,
            NewContact {
                name: Some("Ana Souza".into()),
                email: Some("ana.souza@empresa.com.br".into()),
                phone: Some("+55 21 3333-4444".into()),
                ..Default::default()
            },
            at(1),
        )
        .await
        .unwrap();
    let other = f
        .contact_writes(store, &f.chat, &ana, "Olá, não consigo entrar", at(2))
        .await
        .conversation;
    f.agent_writes(
        store,
        other.id,
        "internal: customer is a reseller",
        true,
        at(3),
    )
    .await
    .unwrap();

    assert_eq!(f.ids(store, search("refund")).await, vec![refund.id]);
    assert_eq!(
        f.ids(store, search("REF")).await,
        vec![refund.id],
        "prefix while typing"
    );
    assert_eq!(
        f.ids(store, search("refund order")).await,
        vec![refund.id],
        "every term"
    );
    assert_eq!(
        f.ids(store, search("refund nothing")).await,
        vec![],
        "every term must match"
    );
    assert_eq!(
        f.ids(store, search("souza")).await,
        vec![other.id],
        "contact name"
    );
    assert_eq!(
        f.ids(store, search("ana.souza@empresa.com.br")).await,
        vec![other.id],
        "contact e-mail"
    );
    assert_eq!(
        f.ids(store, search("3333-4444")).await,
        vec![other.id],
        "contact phone"
    );
    assert_eq!(f.ids(store, search("consigo")).await, vec![other.id]);
    assert_eq!(
        f.ids(store, search(&format!("#{}", other.number)))
            .await
            .first(),
        Some(&other.id),
        "number"
    );
    assert_eq!(
        f.ids(store, search("reseller")).await,
        vec![other.id],
        "agents find notes"
    );
    let without_private = ConversationQuery {
        search_private: false,
        ..search("reseller")
    };
    assert_eq!(
        f.ids(store, without_private).await,
        vec![],
        "notes only for agents"
    );
    assert_eq!(
        f.ids(store, search("\" OR * NEAR( ) AND")).await.len(),
        0,
        "operators are plain words"
    );
    assert!(
        f.ids(store, search("*")).await.len() <= 2,
        "empty search is the plain list"
    );

    let page = store
        .list_conversations(f.account, &search("refund"))
        .await
        .unwrap();
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>refund</mark>"), "{snippet}");
    assert!(
        snippet.contains("&lt;b&gt;"),
        "snippets are escaped: {snippet}"
    );
}

/// The widget's post: inbox by its public token, contact by the session's
/// hash for that inbox only; unknown ones are told apart and write nothing.
pub async fn contact_posts_by_inbox_token_and_session(store: &dyn Store) {
    let f = Fixture::new(store).await;
    store
        .create_contact_session(f.contact.id, f.chat.id, "widget-session-hash", at(1))
        .await
        .unwrap();
    let message = |body: &str| NewContactMessage {
        body: body.into(),
        ..NewContactMessage::default()
    };
    let posted = store
        .post_contact_message_by_token(&f.chat.token, "widget-session-hash", message("hi"), at(2))
        .await
        .unwrap();
    assert_eq!(posted.message.body, "hi");
    assert_eq!(posted.conversation.contact_id, f.contact.id);
    assert_eq!(posted.conversation.inbox_id, f.chat.id);
    assert_eq!(posted.conversation.account_id, f.account);
    assert!(posted.created_conversation && posted.created_message);
    let again = store
        .post_contact_message_by_token(&f.chat.token, "widget-session-hash", message("2nd"), at(3))
        .await
        .unwrap();
    assert_eq!(again.conversation.id, posted.conversation.id);
    assert!(!again.created_conversation);

    let refused = [
        ("no-such-token", "widget-session-hash", "inbox"),
        // A session is its own inbox's only.
        (
            f.email.token.as_str(),
            "widget-session-hash",
            "contact session",
        ),
        (f.chat.token.as_str(), "no-such-session", "contact session"),
    ];
    for (token, session, missing) in refused {
        let answer = store
            .post_contact_message_by_token(token, session, message("x"), at(4))
            .await;
        assert!(
            matches!(answer, Err(StoreError::NotFound(what)) if what == missing),
            "{token} / {session}: {answer:?}"
        );
    }
    let messages = store
        .list_messages(f.account, posted.conversation.id, true, None, 50)
        .await
        .unwrap();
    assert_eq!(messages.items.len(), 2, "the refused posts wrote nothing");

    // A widget's retries racing each other with one Idempotency-Key: one
    // message, every post answered with it.
    let retries = (0..6).map(|_| {
        store.post_contact_message_by_token(
            &f.chat.token,
            "widget-session-hash",
            NewContactMessage {
                body: "sent once".into(),
                idempotency_key: Some("retry-key".into()),
                ..NewContactMessage::default()
            },
            at(5),
        )
    });
    let answers: Vec<Posted> = futures_join_all(retries.collect())
        .await
        .into_iter()
        .map(|answer| answer.expect("a retry"))
        .collect();
    assert!(
        answers
            .iter()
            .all(|a| a.message.id == answers[0].message.id)
    );
    assert_eq!(answers.iter().filter(|a| a.created_message).count(), 1);
    let messages = store
        .list_messages(f.account, posted.conversation.id, true, None, 50)
        .await
        .unwrap();
    assert_eq!(messages.items.len(), 3, "one message for the six posts");
}

/// Capitals fold to the letters the index holds: `İ` is `i` (Rust's own
/// lowercase would add a combining dot PostgreSQL's index does not have),
/// and a final `Σ` is the `ς` of the text.
pub async fn search_folds_capitals_as_the_index_does(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let turkish = f
        .contact_writes(
            store,
            &f.chat,
            &f.contact,
            "İade talebim var, ŞİKAYET ediyorum",
            at(1),
        )
        .await
        .conversation;
    for query in ["İADE", "iade", "İade talebim", "şikayet", "ŞİKAYET"] {
        assert_eq!(
            f.ids(store, search(query)).await,
            vec![turkish.id],
            "{query}"
        );
    }
    let page = store
        .list_conversations(f.account, &search("İADE"))
        .await
        .unwrap();
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>İade</mark>"), "{snippet}");

    // A Greek word's final sigma: `ς` in the text, `Σ` typed in capitals.
    let other = f.new_contact(store, "Eleni").await;
    let greek = f
        .contact_writes(store, &f.chat, &other, "Η οδός είναι κλειστή", at(2))
        .await
        .conversation;
    for query in ["οδός", "ΟΔΌΣ", "Οδός κλειστή"] {
        assert_eq!(f.ids(store, search(query)).await, vec![greek.id], "{query}");
    }
    let page = store
        .list_conversations(f.account, &search("ΟΔΌΣ"))
        .await
        .unwrap();
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>οδός</mark>"), "{snippet}");

    // The same word stored in capitals: its final `Σ` was indexed as `σ`
    // (one letter at a time), and a search typed in lower case, with `ς`,
    // finds it too.
    let third = f.new_contact(store, "Nikos").await;
    let capitals = f
        .contact_writes(store, &f.chat, &third, "ΚΛΕΙΣΤΗ ΟΔΌΣ ΣΉΜΕΡΑ", at(3))
        .await
        .conversation;
    for query in ["οδός", "ΟΔΌΣ", "οδό"] {
        let mut found = f.ids(store, search(query)).await;
        found.sort();
        let mut both = vec![greek.id, capitals.id];
        both.sort();
        assert_eq!(found, both, "{query}");
    }
    let page = store
        .list_conversations(f.account, &search("οδός σήμερα"))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>ΟΔΌΣ</mark>"), "{snippet}");
}

pub async fn search_combines_with_filters_and_pages(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let contact = f.new_contact(store, &format!("Searcher {n}")).await;
        let body = if n % 2 == 0 {
            "printer is broken again"
        } else {
            "printer works, thanks"
        };
        ids.push(
            f.contact_writes(store, &f.chat, &contact, body, at(n))
                .await
                .conversation
                .id,
        );
    }
    store
        .act_on_conversation(
            f.account,
            ids[0],
            FolderAction::Close,
            Actor::System,
            at(10),
        )
        .await
        .unwrap();
    let open_broken = ConversationQuery {
        folder: Some(Folder::Open),
        ..search("broken")
    };
    let mut found = f.ids(store, open_broken).await;
    found.sort();
    assert_eq!(found, vec![ids[2], ids[4], ids[6]]);
    let closed_broken = ConversationQuery {
        folder: Some(Folder::Closed),
        ..search("broken")
    };
    assert_eq!(f.ids(store, closed_broken).await, vec![ids[0]]);
    // Pages of search results: every hit once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let query = ConversationQuery {
            cursor,
            limit: 2,
            ..search("printer")
        };
        let page = store.list_conversations(f.account, &query).await.unwrap();
        seen.extend(page.items.iter().map(|i| i.conversation.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ids);
    // A filter that leaves out every hit but the last ranked: a store that
    // fills pages from the best hits first must still reach it.
    let mut gadgets = Vec::new();
    for n in 0..10 {
        let contact = f.new_contact(store, &format!("Gadget owner {n}")).await;
        gadgets.push(
            f.contact_writes(store, &f.chat, &contact, "gadget fault", at(20 + n))
                .await
                .conversation
                .id,
        );
    }
    let last = *gadgets.last().unwrap();
    store
        .act_on_conversation(f.account, last, FolderAction::Close, Actor::System, at(40))
        .await
        .unwrap();
    let closed_gadgets = ConversationQuery {
        folder: Some(Folder::Closed),
        limit: 1,
        ..search("gadget fault")
    };
    let page = store
        .list_conversations(f.account, &closed_gadgets)
        .await
        .unwrap();
    let listed: Vec<_> = page.items.iter().map(|i| i.conversation.id).collect();
    assert_eq!(listed, vec![last]);
    assert!(page.next_cursor.is_none());
}

/// Every page of a search, as conversation ids, in order.
async fn all_pages(
    store: &dyn Store,
    account: AccountId,
    query: ConversationQuery,
) -> Vec<ConversationId> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_conversations(
                account,
                &ConversationQuery {
                    cursor,
                    ..query.clone()
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| i.conversation.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

pub async fn search_keeps_to_its_account_and_notes_and_pages_once(store: &dyn Store) {
    let mine = Fixture::new(store).await;
    let theirs = Fixture::new(store).await;
    // The same words in both accounts; some only in private notes.
    let mut public = Vec::new();
    for n in 0..12 {
        let contact = mine.new_contact(store, &format!("Mine {n}")).await;
        let posted = mine
            .contact_writes(store, &mine.chat, &contact, "the scanner jams", at(n))
            .await;
        public.push(posted.conversation.id);
    }
    let noted = mine
        .contact_writes(store, &mine.email, &mine.contact, "hello there", at(20))
        .await
        .conversation
        .id;
    mine.agent_writes(
        store,
        noted,
        "scanner under warranty, zeppelin",
        true,
        at(21),
    )
    .await
    .unwrap();
    let mut foreign = Vec::new();
    for n in 0..5 {
        let contact = theirs.new_contact(store, &format!("Theirs {n}")).await;
        let posted = theirs
            .contact_writes(store, &theirs.chat, &contact, "scanner zeppelin", at(n))
            .await;
        foreign.push(posted.conversation.id);
    }
    let notes_too = |text: &str, private: bool| ConversationQuery {
        limit: 5,
        search_private: private,
        ..search(text)
    };

    // Without notes: only the public messages of this account, each once.
    let found = all_pages(store, mine.account, notes_too("scanner", false)).await;
    let mut sorted = found.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        found.len(),
        "no conversation twice: {found:?}"
    );
    assert_eq!(sorted, public);
    // With notes: the noted conversation too.
    let mut found = all_pages(store, mine.account, notes_too("scanner", true)).await;
    assert_eq!(found.len(), 13, "{found:?}");
    found.sort();
    let mut expected = public.clone();
    expected.push(noted);
    expected.sort();
    assert_eq!(found, expected);
    // A word only in a note here (and public in the other account).
    assert_eq!(
        all_pages(store, mine.account, notes_too("zeppelin", false)).await,
        vec![]
    );
    assert_eq!(
        all_pages(store, mine.account, notes_too("zepp", true)).await,
        vec![noted]
    );
    // The other account sees its own, never ours.
    let mut found = all_pages(store, theirs.account, notes_too("scanner", true)).await;
    found.sort();
    assert_eq!(found, foreign);
    // A contact's name in the other account is not a hit here either.
    assert_eq!(
        all_pages(store, mine.account, notes_too("theirs", true)).await,
        vec![]
    );
}

pub async fn contacts_profile_and_sessions(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let id = f
        .contact_writes(store, &f.chat, &f.contact, "hi", at(1))
        .await
        .conversation
        .id;
    let mut attributes = serde_json::Map::new();
    attributes.insert("plan".into(), "pro".into());
    attributes.insert("seats".into(), 12.into());
    let updated = store
        .update_contact(
            f.account,
            f.contact.id,
            ContactPatch {
                name: Some(Some("Carla Mendes".into())),
                company: Some(Some("Mendes Ltda".into())),
                custom_attributes: Some(attributes),
                ..Default::default()
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Carla Mendes"));
    assert_eq!(updated.custom_attributes["plan"], "pro");
    let mut removal = serde_json::Map::new();
    removal.insert("plan".into(), serde_json::Value::Null);
    let updated = store
        .update_contact(
            f.account,
            f.contact.id,
            ContactPatch {
                custom_attributes: Some(removal),
                phone: Some(None),
                ..Default::default()
            },
            at(3),
        )
        .await
        .unwrap();
    assert!(!updated.custom_attributes.contains_key("plan"));
    assert_eq!(updated.custom_attributes["seats"], 12);
    assert_eq!(updated.phone, None);
    assert_eq!(
        store.get_contact(f.account, f.contact.id).await.unwrap(),
        updated
    );
    assert_eq!(
        f.ids(store, search("mendes")).await,
        vec![id],
        "search follows the contact's new name"
    );
    let by_email = store
        .contact_by_email(f.account, f.contact.email.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.map(|c| c.id), Some(f.contact.id));
    let listed = store
        .list_contacts(f.account, Some("MENDES"), None, 10)
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![f.contact.id]
    );
    assert_eq!(
        store
            .list_contacts(f.account, Some("100%_"), None, 10)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    // Capitals beyond ASCII fold too (SQLite's LOWER leaves them).
    let angela = f.new_contact(store, "Ângela Érica Íris").await;
    for q in ["ângela", "ÂNGELA", "Ângela", "érica íris", "ÍRIS"] {
        let listed = store
            .list_contacts(f.account, Some(q), None, 10)
            .await
            .unwrap();
        assert_eq!(
            listed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![angela.id],
            "{q}"
        );
    }
    f.new_contact(store, "Second").await;
    let all = store.list_contacts(f.account, None, None, 1).await.unwrap();
    assert_eq!(all.items.len(), 1);
    assert!(all.next_cursor.is_some());
    assert_eq!(
        store
            .contact_conversations(f.account, f.contact.id)
            .await
            .unwrap()
            .len(),
        1
    );

    store
        .create_contact_session(f.contact.id, f.chat.id, "contact-token-hash", at(4))
        .await
        .unwrap();
    assert_eq!(
        store
            .contact_by_session(f.chat.id, "contact-token-hash")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(f.contact.id)
    );
    assert!(
        store
            .contact_by_session(f.email.id, "contact-token-hash")
            .await
            .unwrap()
            .is_none(),
        "one inbox only"
    );
    assert!(
        store
            .inbox_by_token(&f.chat.token)
            .await
            .unwrap()
            .is_some_and(|i| i.id == f.chat.id)
    );
    assert!(store.inbox_by_token("nope").await.unwrap().is_none());
    assert_eq!(store.list_inboxes(f.account).await.unwrap().len(), 4);
    let types: Vec<_> = all_events(store, f.account)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(types.contains(&EventType::ContactUpdated));
}

pub async fn assignment_and_tags(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let id = f
        .contact_writes(store, &f.chat, &f.contact, "hi", at(1))
        .await
        .conversation
        .id;
    let assigned = store
        .assign_conversation(
            f.account,
            id,
            Some(f.agent.id),
            Actor::Agent(f.admin.id),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(assigned.assignee_id, Some(f.agent.id));
    let tagged = store
        .set_tags(
            f.account,
            id,
            &["billing".into(), "urgent".into()],
            Actor::Agent(f.admin.id),
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(tagged.tags, vec!["billing", "urgent"]);
    let retagged = store
        .set_tags(
            f.account,
            id,
            &["urgent".into()],
            Actor::Agent(f.admin.id),
            at(4),
        )
        .await
        .unwrap();
    assert_eq!(retagged.tags, vec!["urgent"]);
    let fetched = store.get_conversation(f.account, id).await.unwrap();
    assert_eq!(
        (fetched.assignee_id, fetched.tags.clone()),
        (Some(f.agent.id), vec!["urgent".to_string()])
    );
    let billing = ConversationQuery {
        tag: Some("billing".into()),
        ..in_folder(Folder::Open)
    };
    assert_eq!(f.ids(store, billing).await, vec![]);
    let unassigned = store
        .assign_conversation(f.account, id, None, Actor::System, at(5))
        .await
        .unwrap();
    assert_eq!(unassigned.assignee_id, None);
    let events = all_events(store, f.account).await;
    let actions: Vec<_> = events
        .iter()
        .filter_map(|e| e.data["action"].as_str())
        .collect();
    assert!(
        actions.ends_with(&["assign", "tags", "tags", "assign"]),
        "{actions:?}"
    );
}

pub async fn tags_are_listed_renamed_and_removed_everywhere(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    let mut ids = Vec::new();
    for (n, tags) in [
        vec!["billing", "vip"],
        vec!["billing", "refund"],
        vec!["vip"],
    ]
    .into_iter()
    .enumerate()
    {
        let contact = f.new_contact(store, &format!("Contact {n}")).await;
        let id = f
            .contact_writes(store, &f.chat, &contact, "hi", at(1))
            .await
            .conversation
            .id;
        let tags: Vec<String> = tags.into_iter().map(String::from).collect();
        store
            .set_tags(f.account, id, &tags, Actor::System, at(2))
            .await
            .unwrap();
        ids.push(id);
    }
    // Another account's tag of the same name is never counted or touched.
    let theirs = other
        .contact_writes(store, &other.chat, &other.contact, "hi", at(1))
        .await
        .conversation
        .id;
    store
        .set_tags(
            other.account,
            theirs,
            &["billing".into()],
            Actor::System,
            at(2),
        )
        .await
        .unwrap();
    let listed = |list: Vec<TagCount>| {
        list.into_iter()
            .map(|t| (t.name, t.conversations))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(store.list_tags(f.account).await.unwrap()),
        vec![
            ("billing".to_string(), 2),
            ("refund".to_string(), 1),
            ("vip".to_string(), 2)
        ]
    );

    // Renaming into an existing tag merges (no repeats on a conversation).
    let seq = store.last_event_seq(f.account).await.unwrap();
    let changed = store
        .rename_tag(
            f.account,
            "billing",
            Some("refund"),
            Actor::Agent(f.admin.id),
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(
        listed(store.list_tags(f.account).await.unwrap()),
        vec![("refund".to_string(), 2), ("vip".to_string(), 2)]
    );
    let tags_of = async |id| store.get_conversation(f.account, id).await.unwrap().tags;
    assert_eq!(tags_of(ids[0]).await, vec!["refund", "vip"]);
    assert_eq!(tags_of(ids[1]).await, vec!["refund"]);
    assert_eq!(tags_of(ids[2]).await, vec!["vip"]);
    // The list filter follows, and each changed conversation logged an update.
    let refund = ConversationQuery {
        tag: Some("refund".into()),
        ..in_folder(Folder::Open)
    };
    let mut found = f.ids(store, refund).await;
    found.sort();
    assert_eq!(found, vec![ids[0], ids[1]]);
    let events = store.events_since(f.account, seq, 100).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.event_type == EventType::ConversationUpdated && e.data["action"] == "tags")
    );

    // Removing a tag takes it off every conversation; an unknown tag is NotFound.
    assert_eq!(
        store
            .rename_tag(f.account, "vip", None, Actor::System, at(4))
            .await
            .unwrap(),
        2
    );
    assert_eq!(tags_of(ids[2]).await, Vec::<String>::new());
    assert!(matches!(
        store
            .rename_tag(f.account, "vip", None, Actor::System, at(5))
            .await,
        Err(StoreError::NotFound("tag"))
    ));
    assert_eq!(
        listed(store.list_tags(other.account).await.unwrap()),
        vec![("billing".to_string(), 1)]
    );
    assert_eq!(
        store
            .get_conversation(other.account, theirs)
            .await
            .unwrap()
            .tags,
        vec!["billing"]
    );
}

fn webhook(url: &str, types: &[&str]) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        secret: "s3cret".into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
    }
}

pub async fn webhooks_queue_every_event_once_with_leases_and_retries(store: &dyn Store) {
    let f = Fixture::new(store).await;
    // Events before the webhook existed are not sent.
    f.contact_writes(store, &f.chat, &f.contact, "before", at(1))
        .await;
    let all = store
        .create_webhook(f.account, webhook("https://example.test/all", &[]), at(2))
        .await
        .unwrap();
    let messages = store
        .create_webhook(
            f.account,
            webhook("https://example.test/messages", &["message.created"]),
            at(2),
        )
        .await
        .unwrap();
    assert!(all.enabled && all.event_types.is_empty() && all.disabled_reason.is_none());
    assert_eq!(messages.event_types, vec!["message.created"]);
    let posted = f
        .contact_writes(store, &f.chat, &f.contact, "after", at(3))
        .await;
    store
        .act_on_conversation(
            f.account,
            posted.conversation.id,
            FolderAction::Close,
            Actor::System,
            at(3),
        )
        .await
        .unwrap();
    // message.created + conversation.updated for `all`; message.created for `messages`.
    assert_eq!(
        store.enqueue_webhook_deliveries(at(4), 100).await.unwrap(),
        3
    );
    assert_eq!(
        store.enqueue_webhook_deliveries(at(4), 100).await.unwrap(),
        0,
        "never twice"
    );
    let jobs = store
        .claim_webhook_deliveries(at(4), at(5), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 3);
    let for_all: Vec<_> = jobs
        .iter()
        .filter(|j| j.delivery.webhook_id == all.id)
        .map(|j| j.event.event_type)
        .collect();
    assert_eq!(
        for_all,
        vec![EventType::MessageCreated, EventType::ConversationUpdated],
        "in log order"
    );
    assert!(
        jobs.iter()
            .all(|j| j.delivery.attempts == 1 && j.secret == "s3cret" && j.account == f.account)
    );
    assert_eq!(jobs[0].event.seq, jobs[0].delivery.seq);
    assert!(
        store
            .claim_webhook_deliveries(at(4), at(5), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let (first, second, third) = (&jobs[0], &jobs[1], &jobs[2]);
    store
        .finish_webhook_delivery(
            first.delivery.id,
            DeliveryOutcome::Delivered { status: 200 },
            at(4),
        )
        .await
        .unwrap();
    let retry = DeliveryOutcome::Retry {
        status: Some(500),
        error: "HTTP 500".into(),
        retry_at: at(10),
    };
    store
        .finish_webhook_delivery(second.delivery.id, retry, at(4))
        .await
        .unwrap();
    store
        .finish_webhook_delivery(
            third.delivery.id,
            DeliveryOutcome::Delivered { status: 204 },
            at(4),
        )
        .await
        .unwrap();
    // A finished delivery cannot be finished again.
    store
        .finish_webhook_delivery(
            first.delivery.id,
            DeliveryOutcome::GiveUp {
                status: None,
                error: "late".into(),
            },
            at(4),
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_webhook_deliveries(at(9), at(20), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let again = store
        .claim_webhook_deliveries(at(10), at(11), 10)
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|j| (j.delivery.id, j.delivery.attempts))
            .collect::<Vec<_>>(),
        vec![(second.delivery.id, 2)]
    );
    // A lease that runs out (the sender died) makes it due again.
    let after_crash = store
        .claim_webhook_deliveries(at(11), at(12), 10)
        .await
        .unwrap();
    assert_eq!(
        after_crash
            .iter()
            .map(|j| j.delivery.attempts)
            .collect::<Vec<_>>(),
        vec![3]
    );
    // The delivery log.
    let log = store
        .list_webhook_deliveries(f.account, all.id, None, 10)
        .await
        .unwrap();
    let statuses: Vec<_> = log
        .items
        .iter()
        .map(|d| (d.status, d.last_status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (DeliveryStatus::Pending, Some(500)),
            (DeliveryStatus::Delivered, Some(200))
        ]
    );
    assert_eq!(log.items[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(log.items[1].delivered_at, Some(at(4)));
    let page = store
        .list_webhook_deliveries(f.account, all.id, None, 1)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = store
        .list_webhook_deliveries(
            f.account,
            all.id,
            page.next_cursor.map(|c| DeliveryId(c.id)),
            10,
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    // Giving up disables the webhook with a visible reason; its work stops.
    store
        .finish_webhook_delivery(
            second.delivery.id,
            DeliveryOutcome::GiveUp {
                status: Some(500),
                error: "HTTP 500".into(),
            },
            at(12),
        )
        .await
        .unwrap();
    let disabled = store.get_webhook(f.account, all.id).await.unwrap();
    assert!(!disabled.enabled);
    assert!(
        disabled
            .disabled_reason
            .as_deref()
            .is_some_and(|r| r.contains("HTTP 500")),
        "{disabled:?}"
    );
    f.contact_writes(store, &f.chat, &f.contact, "while disabled", at(13))
        .await;
    store.enqueue_webhook_deliveries(at(13), 100).await.unwrap();
    let jobs = store
        .claim_webhook_deliveries(at(13), at(14), 10)
        .await
        .unwrap();
    assert!(
        jobs.iter().all(|j| j.delivery.webhook_id == messages.id),
        "a disabled webhook gets nothing"
    );
    // Enabling again clears the reason.
    let enabled = store
        .update_webhook(
            f.account,
            all.id,
            WebhookPatch {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(enabled.enabled && enabled.disabled_reason.is_none());
    let renamed = store
        .update_webhook(
            f.account,
            messages.id,
            WebhookPatch {
                url: Some("https://example.test/new".into()),
                event_types: Some(vec![]),
                enabled: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.url.as_str(), renamed.event_types.len()),
        ("https://example.test/new", 0)
    );
    assert_eq!(store.list_webhooks(f.account).await.unwrap().len(), 2);
    store.delete_webhook(f.account, messages.id).await.unwrap();
    assert!(matches!(
        store.get_webhook(f.account, messages.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn webhook_claims_never_overlap_and_stay_in_their_account(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    let hook = store
        .create_webhook(f.account, webhook("https://example.test/hook", &[]), at(0))
        .await
        .unwrap();
    for n in 0..12 {
        let contact = f.new_contact(store, &format!("Hooked {n}")).await;
        f.contact_writes(store, &f.chat, &contact, "hi", at(1))
            .await;
    }
    store.enqueue_webhook_deliveries(at(2), 1000).await.unwrap();
    let (a, b) = tokio::join!(
        store.claim_webhook_deliveries(at(2), at(3), 10),
        store.claim_webhook_deliveries(at(2), at(3), 10)
    );
    let mut ids: Vec<_> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|j| j.delivery.id)
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no delivery claimed twice");
    let not_found = |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound(_)));
    assert!(not_found(
        store.get_webhook(other.account, hook.id).await.map(|_| ())
    ));
    assert!(not_found(
        store
            .update_webhook(other.account, hook.id, WebhookPatch::default())
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        store.delete_webhook(other.account, hook.id).await
    ));
    assert!(not_found(
        store
            .list_webhook_deliveries(other.account, hook.id, None, 10)
            .await
            .map(|_| ())
    ));
    assert!(store.list_webhooks(other.account).await.unwrap().is_empty());
}

pub async fn trash_is_purged_after_its_retention_once(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let day = 24 * 60;
    let doomed = f
        .contact_writes(store, &f.email, &f.contact, "purge me: zebra", at(0))
        .await
        .conversation
        .id;
    store
        .set_tags(f.account, doomed, &["gone".into()], Actor::System, at(0))
        .await
        .unwrap();
    let restored = conversation_in(store, &f, &f.chat, Folder::Open, 1)
        .await
        .id;
    let kept = conversation_in(store, &f, &f.chat, Folder::Closed, 2)
        .await
        .id;
    for id in [doomed, restored] {
        store
            .act_on_conversation(f.account, id, FolderAction::Delete, Actor::System, at(10))
            .await
            .unwrap();
    }
    store
        .act_on_conversation(
            f.account,
            restored,
            FolderAction::Restore,
            Actor::System,
            at(20),
        )
        .await
        .unwrap();
    // Retention counts from the deletion.
    assert!(
        store
            .purge_trash(at(9), at(9), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let (a, b) = tokio::join!(
        store.purge_trash(at(10), at(30 * day), 100),
        store.purge_trash(at(10), at(30 * day), 100)
    );
    let mut purged = a.unwrap();
    purged.extend(b.unwrap());
    assert_eq!(
        purged,
        vec![(f.account, doomed)],
        "purged once, only the one still in the trash"
    );
    assert!(matches!(
        store.get_conversation(f.account, doomed).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.list_messages(f.account, doomed, true, None, 10).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        !f.ids(store, search("zebra")).await.contains(&doomed),
        "gone from search"
    );
    assert_eq!(
        store
            .count_conversations(f.account, Scope::All, None)
            .await
            .unwrap()
            .deleted,
        0
    );
    assert!(store.get_conversation(f.account, restored).await.is_ok());
    assert!(store.get_conversation(f.account, kept).await.is_ok());
    let last = all_events(store, f.account).await.pop().unwrap();
    assert_eq!(
        (last.event_type, last.data["conversation_id"].as_i64()),
        (EventType::ConversationPurged, Some(doomed.0))
    );
    // Deleting again later restarts the clock.
    store
        .act_on_conversation(
            f.account,
            restored,
            FolderAction::Delete,
            Actor::System,
            at(40 * day),
        )
        .await
        .unwrap();
    assert!(
        store
            .purge_trash(at(40 * day - 1), at(40 * day), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .purge_trash(at(40 * day), at(70 * day), 100)
            .await
            .unwrap(),
        vec![(f.account, restored)]
    );
}

/// A contact's e-mail into the e-mail inbox, with its `Message-ID`.
async fn mail_in(
    store: &dyn Store,
    f: &Fixture,
    body: &str,
    message_id: &str,
    thread: Option<ConversationId>,
    at: Timestamp,
) -> Posted {
    store
        .post_contact_message(
            f.account,
            f.email.id,
            f.contact.id,
            NewContactMessage {
                body: body.into(),
                full_body: Some(format!("{body}\n\n> earlier text")),
                subject: Some("Invoice question".into()),
                conversation_id: thread,
                email_message_id: Some(message_id.into()),
                ..NewContactMessage::default()
            },
            at,
        )
        .await
        .expect("mail in")
}

async fn reply(
    store: &dyn Store,
    f: &Fixture,
    conversation: ConversationId,
    body: &str,
    private: bool,
    message_id: &str,
) -> Posted {
    store
        .post_agent_message(
            f.account,
            conversation,
            NewAgentMessage {
                agent_id: f.agent.id,
                body: body.into(),
                private,
                idempotency_key: None,
                email_message_id: Some(message_id.into()),
                chat_email_at: None,
                attachments: Vec::new(),
            },
            at(1),
        )
        .await
        .expect("reply")
}

async fn chat_reply(
    store: &dyn Store,
    f: &Fixture,
    conversation: ConversationId,
    body: &str,
    email_at: Option<Timestamp>,
) -> Posted {
    store
        .post_agent_message(
            f.account,
            conversation,
            NewAgentMessage {
                agent_id: f.agent.id,
                body: body.into(),
                private: false,
                idempotency_key: None,
                email_message_id: Some(format!("<{body}@confab.test>").replace(' ', "-")),
                chat_email_at: email_at,
                attachments: Vec::new(),
            },
            at(1),
        )
        .await
        .expect("chat reply")
}

pub async fn chat_replies_reach_visitors_who_left_by_email(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let chat = f
        .contact_writes(store, &f.chat, &f.contact, "anyone there?", at(0))
        .await;
    let conversation = chat.conversation.id;

    // Without a time, a chat reply stays in the chat.
    let plain = chat_reply(store, &f, conversation, "stays in chat", None).await;
    assert_eq!(plain.message.email_message_id, None);
    assert_eq!(plain.message.delivery, None);

    // With one: queued for then, threaded by its Message-ID, not marked pending.
    let later = chat_reply(store, &f, conversation, "first answer", Some(at(3))).await;
    assert_eq!(
        later.message.email_message_id.as_deref(),
        Some("<first-answer@confab.test>")
    );
    assert_eq!(later.message.delivery, None, "no e-mail promised yet");
    assert!(
        store
            .claim_outbound_mail(at(2), at(2), 10)
            .await
            .unwrap()
            .is_empty(),
        "not before its time"
    );

    // A second reply the visitor's widget receives: it and the first are dropped.
    let seen = chat_reply(store, &f, conversation, "second answer", Some(at(3))).await;
    let stranger = f.new_contact(store, "Stranger").await;
    assert_eq!(
        store
            .contact_received(f.account, stranger.id, seen.message.id)
            .await
            .unwrap(),
        0,
        "only the conversation's contact"
    );
    let other = Fixture::new(store).await;
    assert_eq!(
        store
            .contact_received(other.account, f.contact.id, seen.message.id)
            .await
            .unwrap(),
        0,
        "only in its account"
    );
    assert_eq!(
        store
            .contact_received(f.account, f.contact.id, seen.message.id)
            .await
            .unwrap(),
        2
    );
    let unseen = chat_reply(store, &f, conversation, "third answer", Some(at(3))).await;
    let jobs = store.claim_outbound_mail(at(3), at(4), 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.message.id, unseen.message.id);
    assert_eq!(job.to, f.contact.email.clone().unwrap());
    assert_eq!(job.inbox.id, f.chat.id);
    assert!(
        job.references
            .contains(&"<first-answer@confab.test>".to_string()),
        "{:?}",
        job.references
    );
    // Being sent: a late receipt no longer drops it.
    assert_eq!(
        store
            .contact_received(f.account, f.contact.id, unseen.message.id)
            .await
            .unwrap(),
        0
    );
    store
        .finish_outbound_mail(job.id, MailOutcome::Delivered, at(3))
        .await
        .unwrap();
    let messages = store
        .list_messages(f.account, conversation, true, None, 100)
        .await
        .unwrap()
        .items;
    let third = messages.iter().find(|m| m.id == unseen.message.id).unwrap();
    assert_eq!(third.delivery, Some(DeliveryStatus::Delivered));

    // A visitor without an address gets nothing by e-mail.
    let anonymous = f.new_contact(store, "Anonymous").await;
    let quiet = f
        .contact_writes(store, &f.chat, &anonymous, "hi", at(0))
        .await;
    let no_mail = chat_reply(store, &f, quiet.conversation.id, "to nobody", Some(at(3))).await;
    assert_eq!(no_mail.message.email_message_id, None);
    assert!(
        store
            .claim_outbound_mail(at(30), at(31), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn email_threads_dedupes_and_finds_inboxes_by_address(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    let address = f.email.email_address.clone().unwrap();
    let found = store
        .inbox_by_email(&address.to_uppercase())
        .await
        .unwrap()
        .expect("inbox by address, any case");
    assert_eq!(found.id, f.email.id);
    assert!(
        store
            .inbox_by_email("nobody@acme.test")
            .await
            .unwrap()
            .is_none()
    );

    let first = mail_in(
        store,
        &f,
        "Where is my invoice?",
        "<a1@mail.test>",
        None,
        at(0),
    )
    .await;
    assert!(first.created_conversation && first.created_message);
    assert_eq!(
        first.message.email_message_id.as_deref(),
        Some("<a1@mail.test>")
    );
    // The same mail delivered again: the first message, nothing new.
    let again = mail_in(
        store,
        &f,
        "Where is my invoice?",
        "<a1@mail.test>",
        None,
        at(0),
    )
    .await;
    assert!(!again.created_message);
    assert_eq!(again.message.id, first.message.id);
    let history = store
        .list_messages(f.account, first.conversation.id, true, None, 50)
        .await
        .unwrap();
    assert_eq!(history.items.len(), 1);

    // Threading by the ids a reply refers to, newest match first, only in
    // its own account.
    let refs = vec!["<unknown@x>".to_string(), "<a1@mail.test>".to_string()];
    assert_eq!(
        store.email_thread(f.account, &refs).await.unwrap(),
        Some(first.conversation.id)
    );
    assert_eq!(
        store.email_thread(other.account, &refs).await.unwrap(),
        None
    );
    assert_eq!(store.email_thread(f.account, &[]).await.unwrap(), None);
    // The same Message-ID in another account is another message.
    let elsewhere = store
        .post_contact_message(
            other.account,
            other.email.id,
            other.contact.id,
            NewContactMessage {
                body: "Mine too".into(),
                email_message_id: Some("<a1@mail.test>".into()),
                ..NewContactMessage::default()
            },
            at(0),
        )
        .await
        .unwrap();
    assert!(elsewhere.created_message);
}

pub async fn email_replies_leave_through_the_outbox_once(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let posted = mail_in(store, &f, "Hello?", "<in1@mail.test>", None, at(0)).await;
    let conversation = posted.conversation.id;

    // A private note and a reply in a chat conversation never leave by e-mail.
    let note = reply(
        store,
        &f,
        conversation,
        "internal",
        true,
        "<note@confab.test>",
    )
    .await;
    assert_eq!(note.message.delivery, None);
    assert_eq!(note.message.email_message_id, None);
    let chat = f
        .contact_writes(store, &f.chat, &f.contact, "chat hi", at(0))
        .await;
    let chat_reply = reply(
        store,
        &f,
        chat.conversation.id,
        "chat answer",
        false,
        "<c@confab.test>",
    )
    .await;
    assert_eq!(chat_reply.message.delivery, None);

    let sent = reply(
        store,
        &f,
        conversation,
        "Here it is",
        false,
        "<out1@confab.test>",
    )
    .await;
    assert_eq!(sent.message.delivery, Some(DeliveryStatus::Pending));
    assert_eq!(sent.conversation.folder, Folder::Answered);

    // Claimed once, with what sending needs; not again while leased.
    let jobs = store.claim_outbound_mail(at(1), at(6), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.message.id, sent.message.id);
    assert_eq!(job.to, f.contact.email.clone().unwrap());
    assert_eq!(job.inbox.id, f.email.id);
    assert_eq!(job.references, vec!["<in1@mail.test>".to_string()]);
    assert_eq!(job.attempts, 1);
    assert!(
        store
            .claim_outbound_mail(at(2), at(7), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A temporary failure: claimable again at the retry time, not before.
    store
        .finish_outbound_mail(
            job.id,
            MailOutcome::Retry {
                error: "421 try later".into(),
                retry_at: at(10),
            },
            at(2),
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_outbound_mail(at(9), at(15), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = store.claim_outbound_mail(at(10), at(15), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].attempts, 2);

    // Delivered: the message says so, with a message.updated event; a
    // second finish of the same attempt changes nothing.
    store
        .finish_outbound_mail(jobs[0].id, MailOutcome::Delivered, at(11))
        .await
        .unwrap();
    store
        .finish_outbound_mail(
            jobs[0].id,
            MailOutcome::Failed {
                error: "late".into(),
            },
            at(12),
        )
        .await
        .unwrap();
    let history = store
        .list_messages(f.account, conversation, true, None, 50)
        .await
        .unwrap();
    let stored = history
        .items
        .iter()
        .find(|m| m.id == sent.message.id)
        .unwrap();
    assert_eq!(stored.delivery, Some(DeliveryStatus::Delivered));
    assert_eq!(
        stored.email_message_id.as_deref(),
        Some("<out1@confab.test>")
    );
    let updates: Vec<_> = all_events(store, f.account)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::MessageUpdated)
        .collect();
    assert_eq!(updates.len(), 1, "one delivery change, one event");
    assert_eq!(updates[0].data["message"]["delivery"], "delivered");
    assert!(
        store
            .claim_outbound_mail(at(60), at(70), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The contact answers the reply: it threads into the same conversation.
    let refs = vec![
        "<in1@mail.test>".to_string(),
        "<out1@confab.test>".to_string(),
    ];
    let thread = store.email_thread(f.account, &refs).await.unwrap();
    assert_eq!(thread, Some(conversation));
    let answer = mail_in(store, &f, "Thanks!", "<in2@mail.test>", thread, at(20)).await;
    assert_eq!(answer.conversation.id, conversation);
    assert_eq!(answer.conversation.folder, Folder::Open);

    // A reply that fails for good shows `failed`; retry queues it again.
    let second = reply(
        store,
        &f,
        conversation,
        "One more thing",
        false,
        "<out2@confab.test>",
    )
    .await;
    let jobs = store.claim_outbound_mail(at(21), at(26), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].references,
        vec![
            "<in1@mail.test>".to_string(),
            "<out1@confab.test>".to_string(),
            "<in2@mail.test>".to_string()
        ]
    );
    store
        .finish_outbound_mail(
            jobs[0].id,
            MailOutcome::Failed {
                error: "550 no such user".into(),
            },
            at(22),
        )
        .await
        .unwrap();
    let refused = store
        .retry_outbound_mail(f.account, sent.message.id, at(23))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert!(matches!(
        store
            .retry_outbound_mail(f.account, MessageId(i64::MAX), at(23))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let retried = store
        .retry_outbound_mail(f.account, second.message.id, at(23))
        .await
        .unwrap();
    assert_eq!(retried.delivery, Some(DeliveryStatus::Pending));
    let jobs = store.claim_outbound_mail(at(23), at(28), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].message.id, second.message.id);
    store
        .finish_outbound_mail(jobs[0].id, MailOutcome::Delivered, at(24))
        .await
        .unwrap();

    // Concurrent claimers never take the same reply.
    for n in 0..8 {
        reply(
            store,
            &f,
            conversation,
            &format!("batch {n}"),
            false,
            &format!("<b{n}@confab.test>"),
        )
        .await;
    }
    let (a, b) = tokio::join!(
        store.claim_outbound_mail(at(30), at(35), 5),
        store.claim_outbound_mail(at(30), at(35), 5)
    );
    let mut ids: Vec<i64> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|j| j.id)
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no reply claimed twice");
    assert_eq!(total, 8);
}

pub async fn inbox_widget_settings(store: &dyn Store) {
    use confab_domain::{PreChat, WidgetPosition, WidgetSettings};
    let f = Fixture::new(store).await;
    assert_eq!(
        f.chat.widget,
        WidgetSettings::default(),
        "defaults for new inboxes"
    );
    let mut settings = WidgetSettings {
        color: Some("#0a7f5a".into()),
        position: WidgetPosition::Left,
        pre_chat: PreChat::Required,
        ..WidgetSettings::default()
    };
    settings
        .texts
        .entry("pt-BR".into())
        .or_default()
        .insert("greeting".into(), "Olá! Como podemos ajudar?".into());
    let updated = store
        .update_inbox(
            f.account,
            f.chat.id,
            InboxPatch {
                widget: Some(settings.clone()),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.widget, settings);
    assert_eq!(updated.name, f.chat.name, "other fields stay");
    let by_token = store.inbox_by_token(&f.chat.token).await.unwrap().unwrap();
    assert_eq!(by_token.widget, settings, "the public lookup sees them");
    let listed = store.list_inboxes(f.account).await.unwrap();
    let chat = listed.iter().find(|i| i.id == f.chat.id).unwrap();
    assert_eq!(chat.widget, settings);
    let renamed = store
        .update_inbox(
            f.account,
            f.chat.id,
            InboxPatch {
                name: Some("Site".into()),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        renamed.widget, settings,
        "a rename keeps the widget settings"
    );
    let reset = store
        .update_inbox(
            f.account,
            f.chat.id,
            InboxPatch {
                widget: Some(WidgetSettings::default()),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reset.widget, WidgetSettings::default());

    // A form's thank-you page: set, kept by other changes, cleared.
    assert_eq!(f.form.thank_you_url, None);
    let url = "https://acme.test/thanks".to_string();
    let set = store
        .update_inbox(
            f.account,
            f.form.id,
            InboxPatch {
                thank_you_url: Some(Some(url.clone())),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(set.thank_you_url.as_deref(), Some(url.as_str()));
    let renamed = store
        .update_inbox(
            f.account,
            f.form.id,
            InboxPatch {
                name: Some("Quotes".into()),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.thank_you_url.as_deref(), Some(url.as_str()));
    let cleared = store
        .update_inbox(
            f.account,
            f.form.id,
            InboxPatch {
                thank_you_url: Some(None),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.thank_you_url, None);
}

pub async fn inbox_identity_secrets_and_settings(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let mut secrets = Vec::new();
    for inbox in [&f.chat, &f.in_app, &f.email, &f.form] {
        assert!(!inbox.identity_required, "off for new inboxes");
        let secret = store
            .inbox_identity_secret(f.account, inbox.id)
            .await
            .unwrap();
        assert_eq!(secret.len(), 64, "{secret}");
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()), "{secret}");
        assert!(!secrets.contains(&secret), "one secret per inbox");
        secrets.push(secret);
    }
    let renamed = store
        .update_inbox(
            f.account,
            f.in_app.id,
            InboxPatch {
                name: Some("App".into()),
                identity_required: Some(true),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "App");
    assert!(renamed.identity_required);
    assert_eq!(renamed.token, f.in_app.token);
    let unchanged = store
        .update_inbox(f.account, f.in_app.id, InboxPatch::default())
        .await
        .unwrap();
    assert_eq!(unchanged, renamed, "an empty patch changes nothing");
    assert_eq!(
        store.get_inbox(f.account, f.in_app.id).await.unwrap(),
        renamed
    );
    let by_token = store.inbox_by_token(&f.in_app.token).await.unwrap();
    assert_eq!(by_token, Some(renamed.clone()));
    let off = store
        .update_inbox(
            f.account,
            f.in_app.id,
            InboxPatch {
                identity_required: Some(false),
                ..InboxPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!off.identity_required);
    assert_eq!(off.name, "App");

    let other = Fixture::new(store).await;
    let foreign = store
        .update_inbox(
            other.account,
            f.chat.id,
            InboxPatch {
                name: Some("Taken".into()),
                ..InboxPatch::default()
            },
        )
        .await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound("inbox"))),
        "{foreign:?}"
    );
    assert_eq!(
        store.get_inbox(f.account, f.chat.id).await.unwrap().name,
        f.chat.name
    );
    let foreign = store.inbox_identity_secret(other.account, f.chat.id).await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound("inbox"))),
        "{foreign:?}"
    );
}

pub async fn contacts_are_found_by_external_id_in_their_account(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    assert_eq!(
        store
            .contact_by_external_id(f.account, "user-42")
            .await
            .unwrap(),
        None
    );
    let ours = store
        .create_contact(
            f.account,
            NewContact {
                name: Some("Dora".into()),
                external_id: Some("user-42".into()),
                ..NewContact::default()
            },
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(ours.external_id.as_deref(), Some("user-42"));
    let found = store
        .contact_by_external_id(f.account, "user-42")
        .await
        .unwrap();
    assert_eq!(found, Some(ours.clone()));
    // One contact per external id and account: a racing second session finds the first.
    let twin = store
        .create_contact(
            f.account,
            NewContact {
                external_id: Some("user-42".into()),
                ..NewContact::default()
            },
            at(1),
        )
        .await;
    assert!(
        matches!(
            twin,
            Err(StoreError::Duplicate {
                field: "external_id"
            })
        ),
        "{twin:?}"
    );
    assert_eq!(
        store
            .contact_by_external_id(f.account, "USER-42")
            .await
            .unwrap(),
        None,
        "external ids are exact"
    );
    assert_eq!(
        store
            .contact_by_external_id(other.account, "user-42")
            .await
            .unwrap(),
        None,
        "nothing crosses accounts"
    );
    let theirs = store
        .create_contact(
            other.account,
            NewContact {
                external_id: Some("user-42".into()),
                ..NewContact::default()
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .contact_by_external_id(other.account, "user-42")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(theirs.id)
    );
    assert_eq!(
        store
            .contact_by_external_id(f.account, "user-42")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(ours.id)
    );
}

/// The inbox list's preview line: the last reply or contact message (not a
/// private note), whitespace collapsed, cut with an ellipsis; on the row, in
/// what the list, one conversation and the events answer.
pub async fn last_message_previews_follow_replies_not_notes(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let first = f
        .contact_writes(
            store,
            &f.chat,
            &f.contact,
            "  Where is\n\tmy order?  ",
            at(1),
        )
        .await;
    assert_eq!(
        first.conversation.last_message_preview.as_deref(),
        Some("Where is my order?")
    );
    let id = first.conversation.id;
    let note = f
        .agent_writes(store, id, "internal: check the carrier", true, at(2))
        .await
        .unwrap();
    assert_eq!(
        note.conversation.last_message_preview.as_deref(),
        Some("Where is my order?"),
        "a private note is never the preview"
    );
    let reply = f
        .agent_writes(
            store,
            id,
            "It **ships** [today](https://x.test).",
            false,
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.conversation.last_message_preview.as_deref(),
        Some("It ships today."),
        "an agent's Markdown previews as the text it renders to"
    );
    let long = "word ".repeat(60);
    f.contact_writes(store, &f.chat, &f.contact, &long, at(4))
        .await;
    let listed = store
        .list_conversations(f.account, &in_folder(Folder::Open))
        .await
        .unwrap();
    let preview = listed.items[0]
        .conversation
        .last_message_preview
        .clone()
        .expect("a preview in the list");
    assert!(preview.ends_with('…'), "{preview}");
    assert!(
        preview.chars().count() <= crate::plan::PREVIEW_CHARS + 1,
        "{preview}"
    );
    assert!(
        preview.chars().count() > crate::plan::PREVIEW_CHARS - 5,
        "{preview}"
    );
    assert!(preview.starts_with("word word"), "{preview}");
    // A folder change keeps it; one conversation answers it too.
    store
        .act_on_conversation(
            f.account,
            id,
            FolderAction::Close,
            Actor::Agent(f.agent.id),
            at(5),
        )
        .await
        .unwrap();
    let fetched = store.get_conversation(f.account, id).await.unwrap();
    assert_eq!(
        fetched.last_message_preview.as_deref(),
        Some(preview.as_str())
    );
    // The events carry it, so a live list shows it without a fetch.
    let events = all_events(store, f.account).await;
    let last = events.last().expect("events");
    assert_eq!(
        last.data["conversation"]["last_message_preview"].as_str(),
        Some(preview.as_str()),
        "{:?}",
        last.data
    );
}

/// Counts per folder and scope by listing every conversation (the oracle
/// the maintained counters must agree with).
async fn listed_counts(
    store: &dyn Store,
    account: AccountId,
    scope: Scope,
    viewer: Option<AgentId>,
) -> FolderCounts {
    let mut counts = FolderCounts::default();
    for folder in Folder::ALL {
        let mut cursor = None;
        loop {
            let page = store
                .list_conversations(
                    account,
                    &ConversationQuery {
                        folder: Some(folder),
                        scope,
                        viewer,
                        cursor,
                        limit: 100,
                        ..ConversationQuery::default()
                    },
                )
                .await
                .expect("list");
            counts.add(folder, page.items.len() as i64);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    counts
}

/// The counts of every scope agree with the lists.
async fn assert_counts_agree(store: &dyn Store, f: &Fixture, step: &str) {
    for (scope, viewer) in [
        (Scope::All, None),
        (Scope::Unassigned, None),
        (Scope::Mine, Some(f.admin.id)),
        (Scope::Mine, Some(f.agent.id)),
    ] {
        let counted = store
            .count_conversations(f.account, scope, viewer)
            .await
            .expect("count");
        assert_eq!(
            counted,
            listed_counts(store, f.account, scope, viewer).await,
            "{scope:?} {viewer:?} after {step}"
        );
    }
}

/// Folder counts stay equal to the lists through hundreds of changes of
/// every kind (actions, replies, assignment, snooze wake-ups, removing an
/// agent, purging the trash), and another account's conversations never
/// count. Hundreds of changes also cross PostgreSQL's fold of its deltas.
pub async fn counts_follow_every_change(store: &dyn Store) {
    let f = Fixture::new(store).await;
    let other = Fixture::new(store).await;
    conversation_in(store, &other, &other.chat, Folder::Open, 1).await;
    let inboxes = [&f.chat, &f.in_app, &f.email, &f.form];
    let mut ids = Vec::new();
    for n in 0..24 {
        let folder = Folder::ALL[n % Folder::ALL.len()];
        let inbox = inboxes[n % inboxes.len()];
        let folder = if folder == Folder::Answered && !inbox.kind.has_answered_folder() {
            Folder::Open
        } else {
            folder
        };
        ids.push(conversation_in(store, &f, inbox, folder, n as i64).await.id);
    }
    assert_counts_agree(store, &f, "creating").await;
    let actions = [
        FolderAction::Close,
        FolderAction::Reopen,
        FolderAction::Snooze { minutes: 5 },
        FolderAction::Delete,
        FolderAction::Restore,
        FolderAction::MarkSpam,
        FolderAction::NotSpam,
    ];
    // A fixed pseudo-random walk (the same on every database).
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % bound
    };
    for step in 0..360 {
        let id = ids[next(ids.len())];
        let now = at(100 + step as i64);
        let conversation = store.get_conversation(f.account, id).await.expect("get");
        match next(5) {
            0 | 1 => {
                // Refused actions are fine: they must change nothing.
                let _ = store
                    .act_on_conversation(
                        f.account,
                        id,
                        actions[next(actions.len())],
                        Actor::Agent(f.admin.id),
                        now,
                    )
                    .await;
            }
            2 => {
                let assignee = [None, Some(f.admin.id), Some(f.agent.id)][next(3)];
                store
                    .assign_conversation(f.account, id, assignee, Actor::System, now)
                    .await
                    .expect("assign");
            }
            3 => {
                let contact = store
                    .get_contact(f.account, conversation.contact_id)
                    .await
                    .expect("contact");
                let inbox = inboxes
                    .iter()
                    .find(|i| i.id == conversation.inbox_id)
                    .expect("inbox");
                f.contact_writes(store, inbox, &contact, "again", now).await;
            }
            _ => {
                let _ = f.agent_writes(store, id, "reply", false, now).await;
            }
        }
        if step % 60 == 59 {
            assert_counts_agree(store, &f, &format!("step {step}")).await;
        }
    }
    store.wake_due(at(10_000), 100).await.expect("wake");
    assert_counts_agree(store, &f, "waking").await;
    store
        .delete_agent(f.account, f.agent.id, at(10_001))
        .await
        .expect("delete agent");
    assert_counts_agree(store, &f, "removing an agent").await;
    store
        .purge_trash(at(20_000), at(20_000), 100)
        .await
        .expect("purge");
    assert_counts_agree(store, &f, "purging").await;
    let others = store
        .count_conversations(other.account, Scope::All, None)
        .await
        .expect("count");
    assert_eq!(
        others,
        FolderCounts {
            open: 1,
            ..Default::default()
        }
    );
}

/// What a write answers is what is stored: contact messages by token and
/// by the API (a new conversation, an existing one, one asked for by id or
/// anew, one moved to spam), an e-mail with its Message-ID, an agent's
/// reply and note — each message as `list_messages` reads it back, its conversation as `get_conversation`
/// does, and the `message.created` event's data as both (the SQLite writer
/// builds the answer from what it wrote instead of reading the row back,
/// and writes the event without a JSON tree).
pub async fn posted_messages_are_what_is_stored(store: &dyn Store) {
    let f = Fixture::new(store).await;
    store
        .create_contact_session(f.contact.id, f.chat.id, "session-hash", at(0))
        .await
        .unwrap();
    let by_token = |body: &str, key: Option<&str>, minute: i64| {
        store.post_contact_message_by_token(
            &f.chat.token,
            "session-hash",
            NewContactMessage {
                body: body.into(),
                idempotency_key: key.map(Into::into),
                ..NewContactMessage::default()
            },
            at(minute),
        )
    };
    let mut posts = vec![
        by_token("Olá, o pedido 12 não chegou", Some("key-1"), 1)
            .await
            .unwrap(),
        by_token("Alguém aí?", None, 2).await.unwrap(),
    ];
    let mail = store
        .post_contact_message(
            f.account,
            f.email.id,
            f.contact.id,
            NewContactMessage {
                body: "Refund, please".into(),
                full_body: Some("Refund, please\n\n> quoted text".into()),
                subject: Some("Refund".into()),
                email_message_id: Some("<refund-1@example.com>".into()),
                ..NewContactMessage::default()
            },
            at(3),
        )
        .await
        .unwrap();
    let mail_id = mail.conversation.id;
    posts.push(mail);
    posts.push(
        f.agent_writes(store, mail_id, "Done.", false, at(4))
            .await
            .unwrap(),
    );
    posts.push(
        f.agent_writes(store, mail_id, "refunded 12 €", true, at(5))
            .await
            .unwrap(),
    );
    // Each write answers its conversation as it is stored (the chat's
    // second message left its folder as it was, the reply moved the
    // e-mail's to answered).
    let chat_id = posts[0].conversation.id;
    let stored = store.get_conversation(f.account, chat_id).await.unwrap();
    assert_eq!(stored, posts[1].conversation);
    assert_eq!((stored.folder, stored.unread_count), (Folder::Open, 2));
    let stored = store.get_conversation(f.account, mail_id).await.unwrap();
    assert_eq!(stored, posts[4].conversation);
    assert_eq!(stored.folder, Folder::Answered);
    // A contact's message that asks for a new conversation starts one.
    let fresh = store
        .post_contact_message_by_token(
            &f.chat.token,
            "session-hash",
            NewContactMessage {
                body: "Outro assunto".into(),
                new_conversation: true,
                ..NewContactMessage::default()
            },
            at(5),
        )
        .await
        .unwrap();
    assert!(fresh.created_conversation);
    let stored = store
        .get_conversation(f.account, fresh.conversation.id)
        .await
        .unwrap();
    assert_eq!(stored, fresh.conversation);
    posts.push(fresh);
    // A flagged contact's message moves its conversation to spam.
    store
        .act_on_conversation(
            f.account,
            mail_id,
            FolderAction::MarkSpam,
            Actor::System,
            at(6),
        )
        .await
        .unwrap();
    // (The contact's latest conversation is the fresh one.)
    let spam = store
        .post_contact_message(
            f.account,
            f.chat.id,
            f.contact.id,
            NewContactMessage {
                body: "buy now".into(),
                conversation_id: Some(chat_id),
                ..NewContactMessage::default()
            },
            at(7),
        )
        .await
        .unwrap();
    assert_eq!(
        (spam.conversation.id, spam.conversation.folder),
        (chat_id, Folder::Spam)
    );
    assert_eq!(spam.conversation.unread_count, 3);
    posts.push(spam);

    let events = all_events(store, f.account).await;
    for posted in &posts {
        let stored = store
            .list_messages(f.account, posted.conversation.id, true, None, 50)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|m| m.id == posted.message.id)
            .expect("the posted message is stored");
        assert_eq!(stored, posted.message);
        let event = events
            .iter()
            .find(|e| {
                e.event_type == EventType::MessageCreated
                    && e.data["message"]["id"] == serde_json::json!(posted.message.id)
            })
            .expect("its message.created event");
        assert_eq!(
            event.data["message"],
            serde_json::to_value(&posted.message).unwrap()
        );
        assert_eq!(
            event.data["conversation"],
            serde_json::to_value(&posted.conversation).unwrap()
        );
    }
    let stored = store.get_conversation(f.account, chat_id).await.unwrap();
    assert_eq!(stored, posts[6].conversation);
    // The retry of the first message answers it as it was stored.
    let again = by_token("Olá, o pedido 12 não chegou", Some("key-1"), 8)
        .await
        .unwrap();
    assert!(!again.created_message);
    assert_eq!(again.message, posts[0].message);
}
