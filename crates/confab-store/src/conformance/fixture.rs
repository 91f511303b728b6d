//! A small account to run cases against.

use confab_domain::*;

use crate::model::*;
use crate::traits::Store;

/// An account with two agents, one inbox of each kind and one contact.
pub struct Fixture {
    pub account: AccountId,
    pub admin: Agent,
    pub agent: Agent,
    pub chat: Inbox,
    pub in_app: Inbox,
    pub email: Inbox,
    pub form: Inbox,
    pub contact: Contact,
}

/// The instant the cases start at.
pub const T0: Timestamp = Timestamp(1_800_000_000_000);

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A distinct 64-hex-character secret (the server makes random ones).
pub fn identity_secret() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:032x}{n:032x}", std::process::id())
}

impl Fixture {
    /// Creates the account and everything in it.
    pub async fn new(store: &dyn Store) -> Fixture {
        let tag = unique("");
        let (account, admin) = store
            .create_account(
                "Acme",
                NewAgent {
                    name: "Ada Admin".into(),
                    email: format!("ada{tag}@acme.test"),
                    password_hash: "hash".into(),
                    role: Role::Admin,
                },
                T0,
            )
            .await
            .expect("create account");
        let agent = store
            .add_agent(
                account.id,
                NewAgent {
                    name: "Bob Agent".into(),
                    email: format!("bob{tag}@acme.test"),
                    password_hash: "hash".into(),
                    role: Role::Agent,
                },
                T0,
            )
            .await
            .expect("add agent");
        let mut inboxes = Vec::new();
        for kind in InboxKind::ALL {
            let inbox = store
                .create_inbox(
                    account.id,
                    NewInbox {
                        name: format!("{} inbox", kind.as_str()),
                        kind,
                        token: unique(&format!("tok-{}-", kind.as_str())),
                        email_address: (kind == InboxKind::Email)
                            .then(|| format!("support{tag}@acme.test")),
                        identity_secret: identity_secret(),
                    },
                    T0,
                )
                .await
                .expect("create inbox");
            inboxes.push(inbox);
        }
        let contact = store
            .create_contact(
                account.id,
                NewContact {
                    name: Some("Carla Contact".into()),
                    email: Some(format!("carla{tag}@example.com")),
                    phone: Some("+55 11 98765-4321".into()),
                    ..NewContact::default()
                },
                T0,
            )
            .await
            .expect("create contact");
        let form = inboxes.pop().unwrap();
        let email = inboxes.pop().unwrap();
        let in_app = inboxes.pop().unwrap();
        let chat = inboxes.pop().unwrap();
        Fixture {
            account: account.id,
            admin,
            agent,
            chat,
            in_app,
            email,
            form,
            contact,
        }
    }

    /// Another contact of the account.
    pub async fn new_contact(&self, store: &dyn Store, name: &str) -> Contact {
        store
            .create_contact(
                self.account,
                NewContact {
                    name: Some(name.into()),
                    ..NewContact::default()
                },
                T0,
            )
            .await
            .expect("create contact")
    }

    /// A contact message into an inbox, at `at`.
    pub async fn contact_writes(
        &self,
        store: &dyn Store,
        inbox: &Inbox,
        contact: &Contact,
        body: &str,
        at: Timestamp,
    ) -> Posted {
        store
            .post_contact_message(
                self.account,
                inbox.id,
                contact.id,
                NewContactMessage {
                    body: body.into(),
                    ..NewContactMessage::default()
                },
                at,
            )
            .await
            .expect("contact message")
    }

    /// A new contact named `name` writes `body` into the chat inbox at
    /// `at`: their conversation.
    pub async fn new_conversation_saying(
        &self,
        store: &dyn Store,
        name: &str,
        body: &str,
        at: Timestamp,
    ) -> ConversationId {
        let contact = self.new_contact(store, name).await;
        self.contact_writes(store, &self.chat, &contact, body, at)
            .await
            .conversation
            .id
    }

    /// An agent reply (or note) into a conversation.
    pub async fn agent_writes(
        &self,
        store: &dyn Store,
        conversation: ConversationId,
        body: &str,
        private: bool,
        at: Timestamp,
    ) -> crate::StoreResult<Posted> {
        store
            .post_agent_message(
                self.account,
                conversation,
                NewAgentMessage {
                    agent_id: self.agent.id,
                    body: body.into(),
                    private,
                    idempotency_key: None,
                    email_message_id: None,
                    chat_email_at: None,
                    attachments: Vec::new(),
                },
                at,
            )
            .await
    }

    /// The first page (up to 100) of a query, as conversation ids.
    pub async fn ids(&self, store: &dyn Store, query: ConversationQuery) -> Vec<ConversationId> {
        let query = ConversationQuery {
            limit: if query.limit == 0 { 100 } else { query.limit },
            ..query
        };
        store
            .list_conversations(self.account, &query)
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|item| item.conversation.id)
            .collect()
    }
}
