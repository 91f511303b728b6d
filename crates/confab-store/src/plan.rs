//! The store-side steps every database does the same way: turning an API
//! action into a state-machine action, applying an outcome to a
//! conversation, and shaping what goes into the event log and search index.

use confab_domain::folder::{SNOOZE_MAX_MINUTES, SNOOZE_MIN_MINUTES, snooze_minutes_allowed};
use confab_domain::search::index_text;
use confab_domain::validate::InvalidField;
use confab_domain::*;
use serde_json::{Value, json};

use crate::error::StoreResult;
use crate::model::{Actor, FolderAction};

/// The state-machine action for an agent's folder action at `now`.
pub fn folder_action(action: FolderAction, now: Timestamp) -> StoreResult<Action> {
    Ok(match action {
        FolderAction::Close => Action::Close,
        FolderAction::Reopen => Action::Reopen,
        FolderAction::Snooze { minutes } => {
            if !snooze_minutes_allowed(minutes) {
                return Err(InvalidField::new(
                    "minutes",
                    format!("must be from {SNOOZE_MIN_MINUTES} to {SNOOZE_MAX_MINUTES}"),
                )
                .into());
            }
            Action::Snooze {
                until: now.plus_minutes(minutes),
            }
        }
        FolderAction::Delete => Action::Delete,
        FolderAction::Restore => Action::Restore,
        FolderAction::MarkSpam => Action::MarkSpam,
        FolderAction::NotSpam => Action::NotSpam,
    })
}

/// Applies an accepted outcome's folder and timer to a conversation.
pub fn apply_outcome(conversation: &mut Conversation, outcome: &Outcome) {
    conversation.folder = outcome.folder;
    match outcome.timer {
        SnoozeTimer::Keep => {}
        SnoozeTimer::Set(until) => conversation.snoozed_until = Some(until),
        SnoozeTimer::Cancel => conversation.snoozed_until = None,
    }
}

/// What a conversation is found by, besides its messages: number, subject,
/// contact name, e-mail and phone.
pub fn conversation_search_text(number: i64, subject: Option<&str>, contact: &Contact) -> String {
    let number = number.to_string();
    index_text(&[
        &number,
        subject.unwrap_or(""),
        contact.name.as_deref().unwrap_or(""),
        contact.email.as_deref().unwrap_or(""),
        contact.phone.as_deref().unwrap_or(""),
    ])
}

/// `data` of a `conversation.created` / `conversation.updated` event.
pub fn conversation_event(conversation: &Conversation, action: &str, actor: Actor) -> Value {
    json!({"conversation": conversation, "action": action, "actor": actor.to_json()})
}

/// `data` of a `message.created` event.
pub fn message_event(conversation: &Conversation, message: &Message) -> Value {
    json!({"conversation": conversation, "message": message})
}

/// `data` of a `contact.created` / `contact.updated` event.
pub fn contact_event(contact: &Contact) -> Value {
    json!({"contact": contact})
}

/// Puts each attachment on its message (attachments in upload order).
pub fn place_attachments(messages: &mut [Message], found: Vec<(MessageId, Attachment)>) {
    for (message_id, attachment) in found {
        if let Some(message) = messages.iter_mut().find(|m| m.id == message_id) {
            message.attachments.push(attachment);
        }
    }
}

/// The attachment ids a message asks for, each once, in order; refuses
/// more than [`validate::MAX_ATTACHMENTS`].
pub fn attachment_request(ids: &[AttachmentId]) -> StoreResult<Vec<AttachmentId>> {
    let mut unique: Vec<AttachmentId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    if unique.len() > validate::MAX_ATTACHMENTS {
        return Err(InvalidField::new(
            "attachment_ids",
            format!("at most {} files per message", validate::MAX_ATTACHMENTS),
        )
        .into());
    }
    Ok(unique)
}

/// Why a message cannot take a file: not an unattached upload of its sender
/// (in its conversation), in its account.
pub fn attachment_refused(id: AttachmentId) -> crate::error::StoreError {
    InvalidField::new(
        "attachment_ids",
        format!(
            "attachment {id} cannot be attached: it must be your own upload, in this conversation, not yet attached to a message"
        ),
    )
    .into()
}

/// Tags as stored on the conversation row: comma-separated (tags never hold commas).
pub fn join_tags(tags: &[String]) -> String {
    tags.join(",")
}

/// Tags from the conversation row.
pub fn split_tags(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|tag| !tag.is_empty())
        .map(str::to_string)
        .collect()
}

/// Merges attribute changes: a `null` value removes the key.
pub fn merge_attributes(
    current: &mut serde_json::Map<String, Value>,
    changes: serde_json::Map<String, Value>,
) {
    for (key, value) in changes {
        if value.is_null() {
            current.remove(&key);
        } else {
            current.insert(key, value);
        }
    }
}
