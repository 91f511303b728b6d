//! The rows the generator writes, column for column as the stores write them.

/// A contact (`contacts`).
#[derive(Debug, Clone)]
pub struct ContactRow {
    pub id: i64,
    pub account_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub external_id: Option<String>,
    /// JSON object.
    pub custom_attributes: String,
    /// JSON object.
    pub browser: String,
    pub spam: bool,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

/// A conversation (`conversations`), with its derived columns filled.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub id: i64,
    pub account_id: i64,
    pub number: i64,
    pub inbox_id: i64,
    pub inbox_kind: &'static str,
    pub contact_id: i64,
    pub folder: &'static str,
    pub assignee_id: Option<i64>,
    /// Comma-separated, as `plan::join_tags` stores them.
    pub tags: String,
    pub subject: Option<String>,
    pub snoozed_until: Option<i64>,
    pub unread_count: i64,
    pub waiting_since: Option<i64>,
    pub last_activity_at: i64,
    pub created_at: i64,
    pub search_text: String,
    pub deleted_at: Option<i64>,
    pub last_message_preview: Option<String>,
}

/// A message (`messages`).
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    pub sender_type: &'static str,
    pub sender_id: Option<i64>,
    pub body: String,
    pub full_body: Option<String>,
    pub private: bool,
    pub created_at: i64,
    pub email_message_id: Option<String>,
    pub delivery: Option<&'static str>,
}

/// A tag of a conversation (`conversation_tags`).
#[derive(Debug, Clone)]
pub struct TagRow {
    pub conversation_id: i64,
    pub account_id: i64,
    pub tag: String,
}

/// A reply that left by e-mail and was delivered (`outbound_mail`).
#[derive(Debug, Clone)]
pub struct OutboundRow {
    pub account_id: i64,
    pub message_id: i64,
    pub created_at: i64,
    pub sent_at: i64,
}

/// A contact's first and last seen times, changed after its row was written
/// (it wrote again in a later batch).
#[derive(Debug, Clone, Copy)]
pub struct SeenUpdate {
    pub id: i64,
    pub last_seen_at: i64,
}

/// What one transaction writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub contacts: Vec<ContactRow>,
    pub conversations: Vec<ConversationRow>,
    pub messages: Vec<MessageRow>,
    pub tags: Vec<TagRow>,
    pub outbound: Vec<OutboundRow>,
    pub seen: Vec<SeenUpdate>,
}
