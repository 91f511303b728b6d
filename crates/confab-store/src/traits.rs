//! The store traits. Times are passed in (`now`), so tests control the clock.

use async_trait::async_trait;
use confab_domain::event::Event;
use confab_domain::*;

use crate::cursor::Cursor;
use crate::error::{StoreError, StoreResult};
use crate::model::*;

/// Accounts, agents and their credentials.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account with its first admin.
    async fn create_account(
        &self,
        name: &str,
        admin: NewAgent,
        now: Timestamp,
    ) -> StoreResult<(Account, Agent)>;
    /// How many accounts exist (0 on a fresh install).
    async fn count_accounts(&self) -> StoreResult<i64>;
    async fn get_account(&self, id: AccountId) -> StoreResult<Account>;
    /// Adds an agent; `Duplicate { field: "email" }` when the e-mail is taken.
    async fn add_agent(
        &self,
        account: AccountId,
        agent: NewAgent,
        now: Timestamp,
    ) -> StoreResult<Agent>;
    async fn get_agent(&self, account: AccountId, id: AgentId) -> StoreResult<Agent>;
    async fn list_agents(&self, account: AccountId) -> StoreResult<Vec<Agent>>;
    async fn update_agent(
        &self,
        account: AccountId,
        id: AgentId,
        patch: AgentPatch,
    ) -> StoreResult<Agent>;
    /// Removes an agent: their credentials go, their conversations become unassigned.
    async fn delete_agent(
        &self,
        account: AccountId,
        id: AgentId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The agent with this e-mail (any account) and their password hash.
    async fn agent_for_login(&self, email: &str) -> StoreResult<Option<(Agent, String)>>;
    /// Stores a credential by the hash of its token.
    async fn create_credential(
        &self,
        agent: AgentId,
        kind: CredentialKind,
        token_hash: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The agent a credential belongs to, unless it expired.
    async fn agent_by_credential(
        &self,
        kind: CredentialKind,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Agent>>;
    async fn delete_credential(&self, token_hash: &str) -> StoreResult<()>;
}

/// Inboxes (channels).
#[async_trait]
pub trait InboxStore: Send + Sync {
    async fn create_inbox(
        &self,
        account: AccountId,
        inbox: NewInbox,
        now: Timestamp,
    ) -> StoreResult<Inbox>;
    async fn list_inboxes(&self, account: AccountId) -> StoreResult<Vec<Inbox>>;
    async fn get_inbox(&self, account: AccountId, id: InboxId) -> StoreResult<Inbox>;
    /// The inbox with this public token, in any account.
    async fn inbox_by_token(&self, token: &str) -> StoreResult<Option<Inbox>>;
    /// The inbox receiving mail at this address (any case), in any account.
    async fn inbox_by_email(&self, address: &str) -> StoreResult<Option<Inbox>>;
    /// Renames an inbox or switches `identity_required`.
    async fn update_inbox(
        &self,
        account: AccountId,
        id: InboxId,
        patch: InboxPatch,
    ) -> StoreResult<Inbox>;
    /// The key contact identities of this inbox are signed with. Kept out of
    /// [`Inbox`] so it is never serialised by accident.
    async fn inbox_identity_secret(&self, account: AccountId, id: InboxId) -> StoreResult<String>;
}

/// Contacts and their sessions (contact tokens).
#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn create_contact(
        &self,
        account: AccountId,
        contact: NewContact,
        now: Timestamp,
    ) -> StoreResult<Contact>;
    async fn get_contact(&self, account: AccountId, id: ContactId) -> StoreResult<Contact>;
    /// The contact with this e-mail in the account, if any.
    async fn contact_by_email(
        &self,
        account: AccountId,
        email: &str,
    ) -> StoreResult<Option<Contact>>;
    /// The contact with this external id (the app's own user id) in the
    /// account, if any.
    async fn contact_by_external_id(
        &self,
        account: AccountId,
        external_id: &str,
    ) -> StoreResult<Option<Contact>>;
    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> StoreResult<Contact>;
    /// Contacts, newest first; `q` matches name, e-mail, phone or company.
    async fn list_contacts(
        &self,
        account: AccountId,
        q: Option<&str>,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<Contact>>;
    /// Stores a contact session token (by hash) for an inbox.
    async fn create_contact_session(
        &self,
        contact: ContactId,
        inbox: InboxId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The contact a session token belongs to, for this inbox only.
    async fn contact_by_session(
        &self,
        inbox: InboxId,
        token_hash: &str,
    ) -> StoreResult<Option<Contact>>;
}

/// Conversations: the inbox list, counts and folder actions.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn list_conversations(
        &self,
        account: AccountId,
        query: &ConversationQuery,
    ) -> StoreResult<Page<ListedConversation>>;
    /// Conversations per folder for a scope, in one query.
    async fn count_conversations(
        &self,
        account: AccountId,
        scope: Scope,
        viewer: Option<AgentId>,
    ) -> StoreResult<FolderCounts>;
    async fn get_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
    ) -> StoreResult<Conversation>;
    /// Applies a folder action through the state machine; `Refused` when it
    /// does not apply. Writes one `conversation.updated` event.
    async fn act_on_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        action: FolderAction,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation>;
    /// Assigns to an agent of the account, or unassigns.
    async fn assign_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        assignee: Option<AgentId>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation>;
    /// Replaces the tag set (already normalised by `validate::tags`).
    async fn set_tags(
        &self,
        account: AccountId,
        id: ConversationId,
        tags: &[String],
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation>;
    /// The account's tags in use, A to Z, with how many conversations carry each.
    async fn list_tags(&self, account: AccountId) -> StoreResult<Vec<TagCount>>;
    /// Renames a tag (already normalised) on every conversation carrying it,
    /// merging into `to` where a conversation has both, or with `to = None`
    /// removes it; each changed conversation logs `conversation.updated`.
    /// Returns how many changed; `NotFound("tag")` when none carries `from`.
    async fn rename_tag(
        &self,
        account: AccountId,
        from: &str,
        to: Option<&str>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Marks every message read for agents (unread count 0).
    async fn mark_read(
        &self,
        account: AccountId,
        id: ConversationId,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation>;
    /// The conversations of a contact, newest first.
    async fn contact_conversations(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> StoreResult<Vec<Conversation>>;
}

/// Messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// A contact writes: into `conversation_id`, or their latest conversation
    /// in the inbox, or a new one, as the state machine says.
    async fn post_contact_message(
        &self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
        message: NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted>;
    /// An agent replies or writes a private note.
    async fn post_agent_message(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: NewAgentMessage,
        now: Timestamp,
    ) -> StoreResult<Posted>;
    /// The account's conversation that holds a message with one of these
    /// e-mail `Message-ID`s (a reply's `In-Reply-To` and `References`), the
    /// most recent first. Account-wide: the answer to a reply on a form
    /// ticket may arrive at an e-mail inbox's address.
    async fn email_thread(
        &self,
        account: AccountId,
        message_ids: &[String],
    ) -> StoreResult<Option<ConversationId>>;
    /// A conversation's history, oldest first, after the cursor's message id.
    async fn list_messages(
        &self,
        account: AccountId,
        conversation: ConversationId,
        include_private: bool,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Page<Message>>;
}

/// The per-account event log.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events with `seq > after`, ascending, at most `limit`.
    async fn events_since(
        &self,
        account: AccountId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;
    /// The latest sequence number of the account (0 before any event).
    async fn last_event_seq(&self, account: AccountId) -> StoreResult<i64>;
    /// The events this store commits from now on, handed over as each
    /// transaction commits (right after its callers are answered), in
    /// commit order: a fast path for the event feeds, which otherwise read every
    /// new event back from the log. Only a store whose own process makes
    /// the database's writes can offer it (SQLite's one writer thread);
    /// writes made elsewhere (another process, another instance) are still
    /// found only in the log, which stays the truth. The first call takes
    /// the receiver; `None` after that, and from stores without it.
    fn take_committed_events(&self) -> Option<CommittedEvents> {
        None
    }
}

/// The receiving end of [`EventStore::take_committed_events`]: one item per
/// committed transaction that logged events, in the order they committed.
pub type CommittedEvents = tokio::sync::mpsc::UnboundedReceiver<Vec<LoggedEvent>>;

/// An event as its transaction committed it: the row of the log, its data
/// still the JSON text that was stored (parsing it is left to the reader,
/// off the writer's thread).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub account: AccountId,
    pub seq: i64,
    pub event_type: EventType,
    pub at: Timestamp,
    pub data: String,
}

/// Durable snooze wake-ups.
#[async_trait]
pub trait WakeupStore: Send + Sync {
    /// The earliest snooze due time, if any conversation is snoozed.
    async fn next_wakeup(&self) -> StoreResult<Option<Timestamp>>;
    /// Reopens the snoozed conversations due at `now` (at most `limit`),
    /// each exactly once even when several callers race, and returns them.
    async fn wake_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Conversation>>;
    /// Deletes for good (messages, tags and all) conversations that went to
    /// the trash at or before `deleted_before` (at most `limit`), each once
    /// even when several callers race; logs `conversation.purged`.
    async fn purge_trash(
        &self,
        deleted_before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, ConversationId)>>;
}

/// Webhooks, fed from the event log, and their delivery log.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates a webhook; it receives events logged from now on.
    async fn create_webhook(
        &self,
        account: AccountId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook>;
    async fn list_webhooks(&self, account: AccountId) -> StoreResult<Vec<Webhook>>;
    async fn get_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<Webhook>;
    async fn update_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> StoreResult<Webhook>;
    /// Deletes a webhook and its delivery log.
    async fn delete_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<()>;
    /// Turns events logged since each enabled webhook's cursor into pending
    /// deliveries (for the types it wants) and moves the cursors; returns
    /// how many deliveries were created.
    async fn enqueue_webhook_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<u32>;
    /// Claims due pending deliveries of enabled webhooks: each gets one more
    /// attempt and is hidden until `lease_until` (so a crashed sender's work
    /// is retried, and concurrent senders never take the same one).
    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Records how an attempt went. `GiveUp` also disables the webhook with the reason.
    async fn finish_webhook_delivery(
        &self,
        id: DeliveryId,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// A webhook's delivery log, newest first, before the cursor's delivery id.
    async fn list_webhook_deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> StoreResult<Page<WebhookDelivery>>;
}

/// The outbox of replies that leave by e-mail. Each reply is handed to the
/// relay until it is delivered or fails for good; a claim leases it, so
/// several instances never send the same reply at once.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Leases up to `limit` due replies until `lease_until` (one more attempt each).
    async fn claim_outbound_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboundMail>>;
    /// Records how an attempt went; the message's `delivery` follows, with a
    /// `message.updated` event when it changes.
    async fn finish_outbound_mail(
        &self,
        id: i64,
        outcome: MailOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Queues a failed reply again (the agent's "retry"); returns the message.
    async fn retry_outbound_mail(
        &self,
        account: AccountId,
        message: MessageId,
        now: Timestamp,
    ) -> StoreResult<Message>;
    /// The contact's widget received `message` (of one of their
    /// conversations): its e-mail copy, and those of earlier replies in that
    /// conversation, are no longer needed and are dropped unless already
    /// being sent. Answers how many were dropped.
    async fn contact_received(
        &self,
        account: AccountId,
        contact: ContactId,
        message: MessageId,
    ) -> StoreResult<u64>;
}

/// Uploaded files. The content lies on disk (the server's business); the
/// database records each file, who uploaded it and the message that took it.
/// Messages take files in their own transaction (`attachments` of
/// [`NewAgentMessage`] and [`NewContactMessage`]).
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Records a stored file, not yet attached to any message. An agent's
    /// upload names a conversation of the account (else `NotFound`).
    async fn create_attachment(
        &self,
        account: AccountId,
        attachment: NewAttachment,
        now: Timestamp,
    ) -> StoreResult<StoredAttachment>;
    /// One file of the account, attached or not.
    async fn get_attachment(
        &self,
        account: AccountId,
        id: AttachmentId,
    ) -> StoreResult<StoredAttachment>;
    /// Forgets files no message took that were uploaded at or before
    /// `created_before` (at most `limit`), and files whose message is gone
    /// (purged from the trash); returns them so their content can be
    /// deleted from disk.
    async fn purge_unattached_attachments(
        &self,
        created_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredAttachment>>;
}

/// Everything a Confab server needs from its database.
#[async_trait]
pub trait Store:
    AccountStore
    + InboxStore
    + ContactStore
    + ConversationStore
    + MessageStore
    + EventStore
    + WakeupStore
    + WebhookStore
    + MailStore
    + AttachmentStore
{
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// A contact writes, found by the inbox's public token and the hash of
    /// their session token: what the widget's `POST …/messages` does.
    /// `NotFound("inbox")` for an unknown inbox, `NotFound("contact session")`
    /// for a session that is not the inbox's. A store may look both up in
    /// the write's own transaction (SQLite's writer does: two reads fewer
    /// on the request's path), or both in one query (PostgreSQL).
    async fn post_contact_message_by_token(
        &self,
        inbox_token: &str,
        session_hash: &str,
        message: NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let inbox = self
            .inbox_by_token(inbox_token)
            .await?
            .ok_or(StoreError::NotFound("inbox"))?;
        let contact = self
            .contact_by_session(inbox.id, session_hash)
            .await?
            .ok_or(StoreError::NotFound("contact session"))?;
        self.post_contact_message(inbox.account_id, inbox.id, contact.id, message, now)
            .await
    }
}
