//! The entities of SPEC §1, as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::folder::{Folder, InboxKind};
use crate::ids::*;
use crate::time::Timestamp;

/// A company's workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: Timestamp,
}

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// The languages Confab's agent UI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Locale {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "pt-BR")]
    PtBr,
}

impl Locale {
    /// The wire and database name (a BCP 47 tag).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::PtBr => "pt-BR",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<Locale> {
        match name {
            "en" => Some(Locale::En),
            "pt-BR" => Some(Locale::PtBr),
            _ => None,
        }
    }
}

/// A person who answers conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub account_id: AccountId,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// The language the agent chose for the UI (none: their browser's).
    pub locale: Option<Locale>,
    pub created_at: Timestamp,
}

/// One channel instance of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Inbox {
    pub id: InboxId,
    pub account_id: AccountId,
    pub name: String,
    pub kind: InboxKind,
    /// The public token used by the widget, the SDK and the form.
    pub token: String,
    /// The address mail is received at (email inboxes).
    pub email_address: Option<String>,
    /// Contact sessions must carry an `external_id` signed with the inbox's
    /// identity secret (HMAC-SHA256); anonymous sessions are refused.
    pub identity_required: bool,
    /// How the chat widget looks and greets visitors (chat inboxes).
    #[serde(default)]
    pub widget: crate::widget::WidgetSettings,
    /// Form inboxes: where an HTML form post sends the visitor afterwards
    /// (else Confab shows its own thank-you page).
    #[serde(default)]
    pub thank_you_url: Option<String>,
    pub created_at: Timestamp,
}

/// The person on the other side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub account_id: AccountId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub external_id: Option<String>,
    /// Free-form attributes set by the site or by agents.
    #[schema(value_type = Object)]
    pub custom_attributes: serde_json::Map<String, serde_json::Value>,
    /// What the widget saw: browser, OS, location, current page …
    #[schema(value_type = Object)]
    pub browser: serde_json::Map<String, serde_json::Value>,
    pub spam: bool,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub account_id: AccountId,
    /// Per-account number: #1, #2 …
    pub number: i64,
    pub inbox_id: InboxId,
    pub inbox_kind: InboxKind,
    pub contact_id: ContactId,
    pub folder: Folder,
    pub assignee_id: Option<AgentId>,
    pub tags: Vec<String>,
    pub subject: Option<String>,
    pub snoozed_until: Option<Timestamp>,
    pub unread_count: i64,
    /// Whether the last message came from the contact (waiting on us).
    pub waiting_since: Option<Timestamp>,
    pub last_activity_at: Timestamp,
    pub created_at: Timestamp,
    /// The start of the last reply or contact message (private notes
    /// excluded), whitespace collapsed: the inbox list's preview line.
    #[serde(default)]
    pub last_message_preview: Option<String>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    Contact,
    Agent,
    System,
}

impl SenderType {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderType::Contact => "contact",
            SenderType::Agent => "agent",
            SenderType::System => "system",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<SenderType> {
        match name {
            "contact" => Some(SenderType::Contact),
            "agent" => Some(SenderType::Agent),
            "system" => Some(SenderType::System),
            _ => None,
        }
    }
}

/// One entry of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_type: SenderType,
    /// The agent or contact id (none for system messages).
    pub sender_id: Option<i64>,
    /// What the sender wrote (for email: quoted history and signatures cut).
    pub body: String,
    /// The complete text, where it differs from `body`.
    pub full_body: Option<String>,
    /// An internal note, never shown to the contact.
    pub private: bool,
    /// For e-mail: the message's `Message-ID` (threading and de-duplication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_message_id: Option<String>,
    /// For a reply that leaves by e-mail: whether the relay has taken it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryStatus>,
    /// The files attached to the message, in upload order (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    pub created_at: Timestamp,
}

/// A file attached to a message, as the API shows it. Clients build its
/// download address from the id (`…/attachments/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    /// The sender's file name, cleaned (no folders, no control characters).
    pub filename: String,
    /// The type Confab found by looking at the content (not the sender's claim).
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// A tag in use in an account, with how many conversations carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TagCount {
    pub name: String,
    pub conversations: i64,
}

/// Conversation counts per folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderCounts {
    pub open: i64,
    pub answered: i64,
    pub closed: i64,
    pub snoozed: i64,
    pub deleted: i64,
    pub spam: i64,
}

impl FolderCounts {
    /// Adds `count` to the folder's counter.
    pub fn add(&mut self, folder: Folder, count: i64) {
        let slot = match folder {
            Folder::Open => &mut self.open,
            Folder::Answered => &mut self.answered,
            Folder::Closed => &mut self.closed,
            Folder::Snoozed => &mut self.snoozed,
            Folder::Deleted => &mut self.deleted,
            Folder::Spam => &mut self.spam,
        };
        *slot += count;
    }
}

/// An endpoint that receives the account's events by HTTP POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub url: String,
    /// Signs every delivery (HMAC-SHA256); shown to admins.
    pub secret: String,
    /// Event types sent; empty means all.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why Confab turned it off, when it did.
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; retried until it is, or until it gives up.
    Pending,
    Delivered,
    /// Gave up after retrying for more than a day.
    Failed,
}

impl DeliveryStatus {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        match name {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One event sent to one webhook: the delivery log's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Stable across retries: receivers use it to ignore repeats.
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub seq: i64,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// The HTTP status of the last attempt, if one answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}
