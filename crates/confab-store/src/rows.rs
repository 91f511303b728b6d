//! Reading rows into domain entities, for any sqlx database: both stores
//! select the same column names and use the same types (integers, text).

use confab_domain::*;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{StoredAttachment, Uploader};
use crate::plan::split_tags;

/// The column list every conversation query selects (from alias `c`).
pub const CONVERSATION_COLUMNS: &str = "c.id, c.account_id, c.number, c.inbox_id, c.inbox_kind, c.contact_id, c.folder, c.assignee_id, c.tags, c.subject, c.snoozed_until, c.unread_count, c.waiting_since, c.last_activity_at, c.created_at, c.last_message_preview";
/// The conversation columns for `RETURNING` (no table alias).
pub const CONVERSATION_RETURNING: &str = "id, account_id, number, inbox_id, inbox_kind, contact_id, folder, assignee_id, tags, subject, snoozed_until, unread_count, waiting_since, last_activity_at, created_at, last_message_preview";
/// The column list every message query selects.
pub const MESSAGE_COLUMNS: &str = "id, conversation_id, sender_type, sender_id, body, full_body, private, email_message_id, delivery, created_at";
/// The column list every attachment query selects (from alias `a`, with the
/// message joined as `m` for its private flag).
pub const ATTACHMENT_COLUMNS: &str = "a.id, a.account_id, a.conversation_id, a.message_id, a.uploader_kind, a.uploader_id, a.filename, a.content_type, a.size_bytes, a.sha256, a.storage_key, a.created_at, COALESCE(m.private, FALSE) AS private";
/// The attachment columns for `RETURNING` (no alias; only unattached rows
/// are returned this way, so `private` is false).
pub const ATTACHMENT_RETURNING: &str = "id, account_id, conversation_id, message_id, uploader_kind, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at, FALSE AS private";
/// The columns of an attachment as messages show it, with its message.
pub const ATTACHMENT_INFO_COLUMNS: &str = "message_id, id, filename, content_type, size_bytes";
/// The column list every contact query selects.
pub const CONTACT_COLUMNS: &str = "id, account_id, name, email, phone, company, external_id, custom_attributes, browser, spam, first_seen_at, last_seen_at";
/// The column list every agent query selects.
pub const AGENT_COLUMNS: &str = "id, account_id, name, email, role, locale, created_at";
/// The account's tags in use with their conversation counts (`$1`: the account), read by [`EntityRow::tag_count`].
pub const TAG_COUNTS: &str = "SELECT tag, COUNT(*) AS conversations FROM conversation_tags WHERE account_id = $1 GROUP BY tag ORDER BY tag";
/// The column list every webhook query selects.
pub const WEBHOOK_COLUMNS: &str =
    "id, account_id, url, secret, event_types, enabled, disabled_reason, created_at";
/// The column list every delivery query selects.
pub const DELIVERY_COLUMNS: &str = "id, webhook_id, seq, event_type, status, attempts, last_status, last_error, next_attempt_at, created_at, delivered_at";
/// The column list every inbox query selects.
pub const INBOX_COLUMNS: &str = "id, account_id, name, kind, token, email_address, identity_required, widget, thank_you_url, created_at";

fn corrupt(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {what} {value:?} in the database").into())
}

/// An inbox kind as stored; anything else is a corrupt row.
pub fn inbox_kind(text: &str) -> Result<InboxKind, sqlx::Error> {
    InboxKind::parse(text).ok_or_else(|| corrupt("inbox kind", text))
}

fn object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Reads rows of any database whose driver decodes integers, text and
/// booleans: every sqlx row, and (through a small adapter) the SQLite
/// writer's rusqlite rows.
pub trait EntityRow {
    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;

    /// Columns are read in [`CONVERSATION_COLUMNS`]' order (the SQLite
    /// writer's rows look the next one up first).
    fn conversation(&self) -> Result<Conversation, sqlx::Error> {
        let (id, account_id) = (self.int("id")?, self.int("account_id")?);
        let (number, inbox_id) = (self.int("number")?, self.int("inbox_id")?);
        let kind = self.text("inbox_kind")?;
        let contact_id = self.int("contact_id")?;
        let folder = self.text("folder")?;
        Ok(Conversation {
            id: ConversationId(id),
            account_id: AccountId(account_id),
            number,
            inbox_id: InboxId(inbox_id),
            inbox_kind: inbox_kind(&kind)?,
            contact_id: ContactId(contact_id),
            folder: Folder::parse(&folder).ok_or_else(|| corrupt("folder", &folder))?,
            assignee_id: self.opt_int("assignee_id")?.map(AgentId),
            tags: split_tags(&self.text("tags")?),
            subject: self.opt_text("subject")?,
            snoozed_until: self.opt_int("snoozed_until")?.map(Timestamp),
            unread_count: self.int("unread_count")?,
            waiting_since: self.opt_int("waiting_since")?.map(Timestamp),
            last_activity_at: Timestamp(self.int("last_activity_at")?),
            created_at: Timestamp(self.int("created_at")?),
            last_message_preview: self.opt_text("last_message_preview")?,
        })
    }

    fn message(&self) -> Result<Message, sqlx::Error> {
        let (id, conversation_id) = (self.int("id")?, self.int("conversation_id")?);
        let sender = self.text("sender_type")?;
        Ok(Message {
            id: MessageId(id),
            conversation_id: ConversationId(conversation_id),
            sender_type: SenderType::parse(&sender).ok_or_else(|| corrupt("sender", &sender))?,
            sender_id: self.opt_int("sender_id")?,
            body: self.text("body")?,
            full_body: self.opt_text("full_body")?,
            private: self.flag("private")?,
            email_message_id: self.opt_text("email_message_id")?,
            delivery: match self.opt_text("delivery")? {
                None => None,
                Some(status) => Some(
                    DeliveryStatus::parse(&status)
                        .ok_or_else(|| corrupt("delivery status", &status))?,
                ),
            },
            attachments: Vec::new(),
            created_at: Timestamp(self.int("created_at")?),
        })
    }

    /// A stored attachment ([`ATTACHMENT_COLUMNS`]).
    fn stored_attachment(&self) -> Result<StoredAttachment, sqlx::Error> {
        let kind = self.text("uploader_kind")?;
        Ok(StoredAttachment {
            id: AttachmentId(self.int("id")?),
            account_id: AccountId(self.int("account_id")?),
            conversation_id: self.opt_int("conversation_id")?.map(ConversationId),
            message_id: self.opt_int("message_id")?.map(MessageId),
            uploader: Uploader::from_parts(&kind, self.int("uploader_id")?)
                .ok_or_else(|| corrupt("uploader kind", &kind))?,
            filename: self.text("filename")?,
            content_type: self.text("content_type")?,
            size_bytes: self.int("size_bytes")?,
            sha256: self.text("sha256")?,
            storage_key: self.text("storage_key")?,
            private: self.flag("private")?,
            created_at: Timestamp(self.int("created_at")?),
        })
    }

    /// An attachment as messages show it, and its message's id
    /// ([`ATTACHMENT_INFO_COLUMNS`]).
    fn attachment_info(&self) -> Result<(MessageId, Attachment), sqlx::Error> {
        Ok((
            MessageId(self.int("message_id")?),
            Attachment {
                id: AttachmentId(self.int("id")?),
                filename: self.text("filename")?,
                content_type: self.text("content_type")?,
                size: self.int("size_bytes")?,
            },
        ))
    }

    fn contact(&self) -> Result<Contact, sqlx::Error> {
        Ok(Contact {
            id: ContactId(self.int("id")?),
            account_id: AccountId(self.int("account_id")?),
            name: self.opt_text("name")?,
            email: self.opt_text("email")?,
            phone: self.opt_text("phone")?,
            company: self.opt_text("company")?,
            external_id: self.opt_text("external_id")?,
            custom_attributes: object(&self.text("custom_attributes")?)?,
            browser: object(&self.text("browser")?)?,
            spam: self.flag("spam")?,
            first_seen_at: Timestamp(self.int("first_seen_at")?),
            last_seen_at: Timestamp(self.int("last_seen_at")?),
        })
    }

    fn agent(&self) -> Result<Agent, sqlx::Error> {
        let role = self.text("role")?;
        Ok(Agent {
            id: AgentId(self.int("id")?),
            account_id: AccountId(self.int("account_id")?),
            name: self.text("name")?,
            email: self.text("email")?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            // A UI preference: one this version does not speak is no choice.
            locale: self.opt_text("locale")?.and_then(|tag| Locale::parse(&tag)),
            created_at: Timestamp(self.int("created_at")?),
        })
    }

    fn tag_count(&self) -> Result<TagCount, sqlx::Error> {
        Ok(TagCount {
            name: self.text("tag")?,
            conversations: self.int("conversations")?,
        })
    }

    fn inbox(&self) -> Result<Inbox, sqlx::Error> {
        let kind = self.text("kind")?;
        Ok(Inbox {
            id: InboxId(self.int("id")?),
            account_id: AccountId(self.int("account_id")?),
            name: self.text("name")?,
            kind: inbox_kind(&kind)?,
            token: self.text("token")?,
            email_address: self.opt_text("email_address")?,
            identity_required: self.flag("identity_required")?,
            widget: serde_json::from_str(&self.text("widget")?)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            thank_you_url: self.opt_text("thank_you_url")?,
            created_at: Timestamp(self.int("created_at")?),
        })
    }

    fn webhook(&self) -> Result<Webhook, sqlx::Error> {
        let types = self.text("event_types")?;
        Ok(Webhook {
            id: WebhookId(self.int("id")?),
            account_id: AccountId(self.int("account_id")?),
            url: self.text("url")?,
            secret: self.text("secret")?,
            event_types: split_tags(&types),
            enabled: self.flag("enabled")?,
            disabled_reason: self.opt_text("disabled_reason")?,
            created_at: Timestamp(self.int("created_at")?),
        })
    }

    fn delivery(&self) -> Result<WebhookDelivery, sqlx::Error> {
        let status = self.text("status")?;
        Ok(WebhookDelivery {
            id: DeliveryId(self.int("id")?),
            webhook_id: WebhookId(self.int("webhook_id")?),
            seq: self.int("seq")?,
            event_type: self.text("event_type")?,
            status: DeliveryStatus::parse(&status)
                .ok_or_else(|| corrupt("delivery status", &status))?,
            attempts: self.int("attempts")?,
            last_status: self.opt_int("last_status")?,
            last_error: self.opt_text("last_error")?,
            next_attempt_at: self.opt_int("next_attempt_at")?.map(Timestamp),
            created_at: Timestamp(self.int("created_at")?),
            delivered_at: self.opt_int("delivered_at")?.map(Timestamp),
        })
    }

    fn event(&self) -> Result<event::Event, sqlx::Error> {
        let kind = self.text("type")?;
        let data = self.text("data")?;
        Ok(event::Event {
            seq: self.int("seq")?,
            event_type: EventType::parse(&kind).ok_or_else(|| corrupt("event type", &kind))?,
            at: Timestamp(self.int("at")?),
            data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        })
    }
}

impl<R> EntityRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}
