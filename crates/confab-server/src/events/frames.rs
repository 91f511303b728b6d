//! What goes over the sockets: `{seq, type, at, data}` frames, serialised
//! once per event and shared by every socket that receives them (the text
//! is reference-counted bytes: fan-out copies nothing).

use axum::extract::ws::Utf8Bytes;
use confab_domain::event::Event;
use confab_domain::{ContactId, EventType, Folder, Timestamp};
use serde_json::{Value, json};

/// A frame ready to fan out: the agents' text and, when a contact may see
/// it, the contact's text.
#[derive(Debug)]
pub struct Frame {
    /// The event's sequence number; `None` for ephemeral frames (typing,
    /// presence) that are not logged and not replayed.
    pub seq: Option<i64>,
    /// What agent sockets receive, if anything.
    pub agent_text: Option<Utf8Bytes>,
    /// What contact sockets receive, if anything.
    pub contact_text: Option<Utf8Bytes>,
    /// The one contact who may receive it; `None` means every contact of the account.
    pub contact_id: Option<ContactId>,
    /// An agent that must not receive it (their own typing).
    pub skip_agent: Option<i64>,
}

/// The agent-side text of a logged event.
pub fn agent_text(event: &Event) -> String {
    json!({"seq": event.seq, "type": event.event_type, "at": event.at, "data": event.data})
        .to_string()
}

/// What a contact sees of a folder: deleted and spam are not their business.
fn contact_state(folder: Folder) -> Option<&'static str> {
    match folder {
        Folder::Open | Folder::Answered | Folder::Snoozed => Some("open"),
        Folder::Closed => Some("closed"),
        Folder::Deleted | Folder::Spam => None,
    }
}

/// The contact-side view of a logged event: agent replies (never private
/// notes) and the conversation's state, for the conversation's contact only.
pub fn contact_view(event: &Event) -> Option<(ContactId, String)> {
    let conversation = event.data.get("conversation")?;
    let contact = ContactId(conversation.get("contact_id")?.as_i64()?);
    let conversation_id = conversation.get("id")?.clone();
    let folder = conversation
        .get("folder")
        .and_then(|f| serde_json::from_value::<Folder>(f.clone()).ok())?;
    let data = match event.event_type {
        EventType::MessageCreated => {
            let message = event.data.get("message")?;
            if message.get("private").and_then(Value::as_bool) != Some(false)
                || folder == Folder::Spam
            {
                return None;
            }
            let mut shown = json!({
                "id": message.get("id"),
                "sender_type": message.get("sender_type"),
                "sender_id": message.get("sender_id"),
                "body": message.get("body"),
                "created_at": message.get("created_at"),
            });
            // Files of a reply the contact sees: the widget links them by id.
            if let Some(attachments) = message.get("attachments") {
                shown["attachments"] = attachments.clone();
            }
            // An agent's Markdown, rendered safe (as in the e-mail copy).
            if message.get("sender_type").and_then(Value::as_str) == Some("agent")
                && let Some(body) = message.get("body").and_then(Value::as_str)
            {
                shown["body_html"] = confab_mail::compose::render_fragment(body).into();
            }
            json!({"conversation_id": conversation_id, "message": shown})
        }
        EventType::ConversationCreated | EventType::ConversationUpdated => {
            let action = event
                .data
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("");
            // Assignment, tags and read marks are internal.
            if matches!(action, "assign" | "tags" | "read") {
                return None;
            }
            json!({"conversation_id": conversation_id, "state": contact_state(folder)?})
        }
        _ => return None,
    };
    let kind = match event.event_type {
        EventType::MessageCreated => "message.created",
        _ => "conversation.state",
    };
    Some((
        contact,
        json!({"seq": event.seq, "type": kind, "at": event.at, "data": data}).to_string(),
    ))
}

/// A logged event as a frame for both audiences.
pub fn logged(event: &Event) -> Frame {
    let contact = contact_view(event);
    Frame {
        seq: Some(event.seq),
        agent_text: Some(agent_text(event).into()),
        contact_id: contact.as_ref().map(|(id, _)| *id),
        contact_text: contact.map(|(_, text)| text.into()),
        skip_agent: None,
    }
}

/// An ephemeral frame's text (cheap to clone: every socket shares the bytes).
pub fn ephemeral_text(kind: &str, at: Timestamp, data: Value) -> Utf8Bytes {
    json!({"seq": null, "type": kind, "at": at, "data": data})
        .to_string()
        .into()
}
