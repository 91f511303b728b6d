//! What goes into and comes out of the store, beyond the domain entities.

use confab_domain::search::SearchQuery;
use confab_domain::*;

use crate::cursor::Cursor;

/// A new agent (the password is already hashed).
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub locale: Option<Locale>,
}

/// What a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A browser session (cookie), which expires.
    Session,
    /// A bearer API token for integrations.
    ApiToken,
}

impl CredentialKind {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::ApiToken => "api_token",
        }
    }
}

/// A new inbox.
#[derive(Debug, Clone)]
pub struct NewInbox {
    pub name: String,
    pub kind: InboxKind,
    /// The public token (random, made by the caller).
    pub token: String,
    pub email_address: Option<String>,
    /// The key contact identities are signed with (random, made by the
    /// caller; never shown on public routes).
    pub identity_secret: String,
}

/// Changes to an inbox; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct InboxPatch {
    pub name: Option<String>,
    pub identity_required: Option<bool>,
    /// Replaces the widget settings (validated by the caller).
    pub widget: Option<confab_domain::WidgetSettings>,
    /// Sets (`Some(Some(url))`) or clears (`Some(None)`) a form's thank-you page.
    pub thank_you_url: Option<Option<String>>,
}

/// A new contact.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub external_id: Option<String>,
    pub custom_attributes: serde_json::Map<String, serde_json::Value>,
    pub browser: serde_json::Map<String, serde_json::Value>,
}

/// Changes to a contact; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    /// Merged into the existing attributes; a `null` value removes a key.
    pub custom_attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces what the widget saw.
    pub browser: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A message from a contact.
#[derive(Debug, Clone, Default)]
pub struct NewContactMessage {
    pub body: String,
    /// The complete text, where it differs from `body` (e-mail with quotes).
    pub full_body: Option<String>,
    /// The subject, for a conversation this message starts (email, form).
    pub subject: Option<String>,
    /// The conversation the message belongs to, when the channel knows it
    /// (e-mail threading); otherwise the contact's latest in the inbox.
    pub conversation_id: Option<ConversationId>,
    /// Makes a retried post return the first message instead of a second one.
    pub idempotency_key: Option<String>,
    /// Always start a new conversation (each contact-form submission is a ticket).
    pub new_conversation: bool,
    /// The e-mail's `Message-ID`: a second delivery of the same mail to the
    /// account returns the first message instead of a copy.
    pub email_message_id: Option<String>,
    /// Files to attach, in the same transaction: unattached uploads of this
    /// contact (through the API or by e-mail), or `Invalid` and nothing is written.
    pub attachments: Vec<AttachmentId>,
}

/// A reply or private note from an agent.
#[derive(Debug, Clone)]
pub struct NewAgentMessage {
    pub agent_id: AgentId,
    pub body: String,
    pub private: bool,
    pub idempotency_key: Option<String>,
    /// A `Message-ID` for the reply, in case it leaves by e-mail: used (and
    /// the reply queued in the outbox) when the conversation's inbox is an
    /// e-mail or form inbox, the reply is not private and the contact has
    /// an address.
    pub email_message_id: Option<String>,
    /// On chat: when the reply goes to the contact by e-mail (with
    /// `email_message_id`) unless their widget received it before — for
    /// visitors who left the page. `None`: chat replies stay in the chat.
    pub chat_email_at: Option<Timestamp>,
    /// Files to attach, in the same transaction: unattached uploads of this
    /// agent for this conversation, or `Invalid` and nothing is written.
    pub attachments: Vec<AttachmentId>,
}

/// Who uploaded a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    Agent(AgentId),
    Contact(ContactId),
    /// A file that came attached to a contact's e-mail.
    Email(ContactId),
}

impl Uploader {
    /// The database name of the kind and the uploader's id.
    pub fn parts(self) -> (&'static str, i64) {
        match self {
            Uploader::Agent(id) => ("agent", id.0),
            Uploader::Contact(id) => ("contact", id.0),
            Uploader::Email(id) => ("email", id.0),
        }
    }

    /// From the database's kind and id.
    pub fn from_parts(kind: &str, id: i64) -> Option<Uploader> {
        match kind {
            "agent" => Some(Uploader::Agent(AgentId(id))),
            "contact" => Some(Uploader::Contact(ContactId(id))),
            "email" => Some(Uploader::Email(ContactId(id))),
            _ => None,
        }
    }
}

/// A file stored on disk, to be recorded (unattached) in the database.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// The conversation it was uploaded into (agents upload into one;
    /// contacts' uploads find theirs when they are attached).
    pub conversation_id: Option<ConversationId>,
    pub uploader: Uploader,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Where the file lies under the attachments folder (random, never the
    /// user's file name).
    pub storage_key: String,
}

/// A stored file, with what deciding who may see it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttachment {
    pub id: AttachmentId,
    pub account_id: AccountId,
    pub conversation_id: Option<ConversationId>,
    /// `None` until a message takes it.
    pub message_id: Option<MessageId>,
    pub uploader: Uploader,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    /// Whether the message it is attached to is a private note.
    pub private: bool,
    pub created_at: Timestamp,
}

impl StoredAttachment {
    /// What the API shows of it.
    pub fn info(&self) -> Attachment {
        Attachment {
            id: self.id,
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            size: self.size_bytes,
        }
    }
}

/// A reply waiting in the outbox, with what sending it needs.
#[derive(Debug, Clone)]
pub struct OutboundMail {
    pub id: i64,
    pub account: AccountId,
    pub inbox: Inbox,
    pub conversation: Conversation,
    pub message: Message,
    /// The contact's address and name.
    pub to: String,
    pub to_name: Option<String>,
    /// The `Message-ID`s of the conversation's earlier messages, oldest
    /// first (for `References`; the last is `In-Reply-To`).
    pub references: Vec<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The reply's files, to go with it as MIME attachments.
    pub attachments: Vec<StoredAttachment>,
}

/// How an attempt to hand a reply to the relay ended.
#[derive(Debug, Clone)]
pub enum MailOutcome {
    /// The relay accepted it.
    Delivered,
    /// A temporary failure: try again at `retry_at`.
    Retry { error: String, retry_at: Timestamp },
    /// A permanent failure (or retries exhausted): the message shows `failed`.
    Failed { error: String },
}

/// A stored message and the conversation it is in, after the change.
#[derive(Debug, Clone)]
pub struct Posted {
    pub conversation: Conversation,
    pub message: Message,
    /// Whether the conversation was started by this message.
    pub created_conversation: bool,
    /// False when the idempotency key matched an earlier message: nothing was written.
    pub created_message: bool,
}

/// Which conversations, by assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Assigned to the viewing agent.
    Mine,
    /// Assigned to nobody.
    Unassigned,
    /// Everything in the account.
    #[default]
    All,
}

impl Scope {
    /// Parses `mine`, `unassigned`, `all`.
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "mine" => Some(Scope::Mine),
            "unassigned" => Some(Scope::Unassigned),
            "all" => Some(Scope::All),
            _ => None,
        }
    }

    /// The scope's name, as [`Scope::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Mine => "mine",
            Scope::Unassigned => "unassigned",
            Scope::All => "all",
        }
    }
}

/// Order of the inbox list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest activity first (the default).
    #[default]
    LastActivity,
    /// Waiting on us longest first; conversations not waiting come last.
    OldestWaiting,
    /// Newest first by creation.
    Created,
}

impl Sort {
    /// Parses `last_activity`, `oldest_waiting`, `created`.
    pub fn parse(name: &str) -> Option<Sort> {
        match name {
            "last_activity" => Some(Sort::LastActivity),
            "oldest_waiting" | "waiting" => Some(Sort::OldestWaiting),
            "created" => Some(Sort::Created),
            _ => None,
        }
    }
}

/// The inbox list's question: folder, scope, quick filters, search, order, page.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    /// The folder; `None` means every folder (used by search across folders).
    pub folder: Option<Folder>,
    pub scope: Scope,
    /// The agent asking (for `Scope::Mine`).
    pub viewer: Option<AgentId>,
    pub inbox_id: Option<InboxId>,
    pub kind: Option<InboxKind>,
    pub assignee_id: Option<AgentId>,
    pub tag: Option<String>,
    /// Only conversations with unread messages.
    pub unread: bool,
    /// Only conversations whose last message is from the contact.
    pub waiting: bool,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub activity_after: Option<Timestamp>,
    pub activity_before: Option<Timestamp>,
    pub contact_id: Option<ContactId>,
    /// Full-text search; results are then ranked (best first) and `sort` is ignored.
    pub search: Option<SearchQuery>,
    /// Whether private notes are searched (agents: yes).
    pub search_private: bool,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    /// Page size, 1 ..= 100.
    pub limit: u32,
}

/// One row of the inbox list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedConversation {
    pub conversation: Conversation,
    /// For search results: the best matching text with `<mark>` around the
    /// matches, HTML-escaped.
    pub snippet: Option<String>,
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// An agent action on a conversation's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderAction {
    Close,
    Reopen,
    /// Snooze for this many minutes (5 ..= 1440, checked by the store too).
    Snooze {
        minutes: i64,
    },
    Delete,
    Restore,
    MarkSpam,
    NotSpam,
}

/// Who made a change, for the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Agent(AgentId),
    Contact(ContactId),
    /// Confab itself (snooze timers, purges).
    System,
}

impl Actor {
    /// The JSON written into events.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Actor::Agent(id) => serde_json::json!({"type": "agent", "id": id}),
            Actor::Contact(id) => serde_json::json!({"type": "contact", "id": id}),
            Actor::System => serde_json::json!({"type": "system"}),
        }
    }
}

/// A new webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    /// Empty: every event type.
    pub event_types: Vec<String>,
}

/// Changes to a webhook; `None` leaves a field as it is. Enabling clears
/// the reason it was disabled.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A delivery claimed for sending, with what to send.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery: WebhookDelivery,
    pub account: AccountId,
    pub url: String,
    pub secret: String,
    pub event: confab_domain::event::Event,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { status: i64 },
    /// Failed; try again at `retry_at`.
    Retry {
        status: Option<i64>,
        error: String,
        retry_at: Timestamp,
    },
    /// Failed for good (retried for more than a day): the webhook is disabled.
    GiveUp { status: Option<i64>, error: String },
}
