//! The events a change produces: an append-only, per-account, numbered log.

use serde::{Deserialize, Serialize};

/// The kind of an event, as written to the log and streamed (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// Folder, assignee, tags or snooze changed; `data.action` says which.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A message's e-mail delivery changed (`data.message.delivery`).
    #[serde(rename = "message.updated")]
    MessageUpdated,
    #[serde(rename = "contact.created")]
    ContactCreated,
    #[serde(rename = "contact.updated")]
    ContactUpdated,
    #[serde(rename = "inbox.created")]
    InboxCreated,
    /// A conversation left the trash for good (retention passed).
    #[serde(rename = "conversation.purged")]
    ConversationPurged,
}

impl EventType {
    /// Every event type that goes to the log.
    pub const ALL: [EventType; 8] = [
        EventType::ConversationCreated,
        EventType::ConversationUpdated,
        EventType::MessageCreated,
        EventType::MessageUpdated,
        EventType::ContactCreated,
        EventType::ContactUpdated,
        EventType::InboxCreated,
        EventType::ConversationPurged,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationCreated => "conversation.created",
            EventType::ConversationUpdated => "conversation.updated",
            EventType::MessageCreated => "message.created",
            EventType::MessageUpdated => "message.updated",
            EventType::ContactCreated => "contact.created",
            EventType::ContactUpdated => "contact.updated",
            EventType::InboxCreated => "inbox.created",
            EventType::ConversationPurged => "conversation.purged",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// One record of the per-account event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Gap-free, ascending per account.
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub at: crate::time::Timestamp,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
