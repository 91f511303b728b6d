//! The store-side steps every database does the same way: turning an API
//! action into a state-machine action, applying an outcome to a
//! conversation, and shaping what goes into the event log and search index.

use confab_domain::folder::{SNOOZE_MAX_MINUTES, SNOOZE_MIN_MINUTES, snooze_minutes_allowed};
use confab_domain::search::index_text;
use confab_domain::validate::InvalidField;
use confab_domain::*;
use serde::Serialize;
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

/// How many characters of a message the inbox list's preview keeps.
pub const PREVIEW_CHARS: usize = 140;

/// A message as the inbox list previews it: whitespace collapsed to single
/// spaces, cut after [`PREVIEW_CHARS`] characters with an ellipsis.
pub fn message_preview(body: &str) -> String {
    let mut preview = String::with_capacity(body.len().min(PREVIEW_CHARS * 4));
    for (count, word) in body.split_whitespace().enumerate() {
        if count > 0 {
            preview.push(' ');
        }
        preview.push_str(word);
        if preview.chars().count() > PREVIEW_CHARS {
            break;
        }
    }
    if preview.chars().count() > PREVIEW_CHARS {
        preview = preview.chars().take(PREVIEW_CHARS).collect::<String>();
        preview.truncate(preview.trim_end().len());
        preview.push('…');
    }
    preview
}

/// The list's preview of a message: its words ([`message_preview`]); an
/// agent's Markdown as the text it renders to (no `**`, `[..](..)`, list
/// marks); a message of files only shows them as `📎 name, name`.
pub fn list_preview(body: &str, markdown: bool, attachments: &[Attachment]) -> String {
    let text = if markdown {
        markdown_text(body)
    } else {
        body.to_string()
    };
    if text.trim().is_empty() && !attachments.is_empty() {
        let names: Vec<&str> = attachments.iter().map(|a| a.filename.as_str()).collect();
        return message_preview(&format!("📎 {}", names.join(", ")));
    }
    message_preview(&text)
}

/// The text Markdown renders to, blocks and line breaks as spaces.
fn markdown_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                out.push_str(&text)
            }
            Event::SoftBreak | Event::HardBreak | Event::Rule => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => out.push(' '),
            _ => {}
        }
    }
    out
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
    json!(MessageCreated {
        conversation,
        message
    })
}

/// `data` of a `message.created` event; the SQLite writer serializes it
/// straight to text, without building the [`Value`] tree first.
#[derive(Serialize)]
pub struct MessageCreated<'a> {
    pub conversation: &'a Conversation,
    pub message: &'a Message,
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

/// A conversation's tags after renaming `from` to `to` (merged when it
/// already has `to`) or, without `to`, removing it; sorted and without
/// repeats, as `validate::tags` keeps them.
pub fn renamed_tags(tags: &[String], from: &str, to: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .filter_map(|tag| match (tag == from, to) {
            (false, _) => Some(tag.clone()),
            (true, Some(to)) => Some(to.to_string()),
            (true, None) => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
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

/// How an agent reply leaves by e-mail, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailPlan {
    /// When the outbox sends it.
    pub send_at: Timestamp,
    /// Dropped if the contact's widget receives the reply first (chat).
    pub unless_received: bool,
}

/// Whether an agent reply may leave by e-mail at all (before looking at the
/// contact's address): not a private note, with a `Message-ID`, on an
/// e-mail or form ticket, or on chat when the caller gave a time.
pub fn may_mail(kind: InboxKind, message: &crate::model::NewAgentMessage) -> bool {
    !message.private
        && message.email_message_id.is_some()
        && match kind {
            InboxKind::Email | InboxKind::Form => true,
            InboxKind::Chat => message.chat_email_at.is_some(),
            InboxKind::InApp => false,
        }
}

/// Whether an agent reply leaves by e-mail: at once on e-mail and form
/// tickets; on chat, after the caller's delay and only if the visitor's
/// widget did not receive it by then. Never for private notes, never
/// without a `Message-ID` or a contact address.
pub fn mail_plan(
    kind: InboxKind,
    message: &crate::model::NewAgentMessage,
    contact_has_email: bool,
    now: Timestamp,
) -> Option<MailPlan> {
    if !contact_has_email || !may_mail(kind, message) {
        return None;
    }
    Some(match message.chat_email_at {
        Some(send_at) if kind == InboxKind::Chat => MailPlan {
            send_at,
            unless_received: true,
        },
        _ => MailPlan {
            send_at: now,
            unless_received: false,
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn renaming_a_tag_merges_sorts_and_removes() {
        let tags = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(
            super::renamed_tags(&tags(&["billing", "vip"]), "billing", Some("refund")),
            tags(&["refund", "vip"])
        );
        assert_eq!(
            super::renamed_tags(&tags(&["billing", "refund"]), "billing", Some("refund")),
            tags(&["refund"])
        );
        assert_eq!(
            super::renamed_tags(&tags(&["billing", "vip"]), "billing", None),
            tags(&["vip"])
        );
        assert_eq!(
            super::renamed_tags(&tags(&["vip"]), "billing", None),
            tags(&["vip"])
        );
    }

    use super::*;

    #[test]
    fn previews_show_rendered_markdown_and_files() {
        use super::list_preview;
        let file = |name: &str| confab_domain::Attachment {
            id: confab_domain::AttachmentId(1),
            filename: name.into(),
            content_type: "application/pdf".into(),
            size: 1,
        };
        assert_eq!(
            list_preview(
                "**Hold** it for _10 s_:\n\n- unplug\n- see [the guide](https://x.test)",
                true,
                &[]
            ),
            "Hold it for 10 s: unplug see the guide"
        );
        // A contact's text is theirs: asterisks stay.
        assert_eq!(list_preview("**really**", false, &[]), "**really**");
        assert_eq!(
            list_preview("", true, &[file("a.pdf"), file("b.png")]),
            "📎 a.pdf, b.png"
        );
        assert_eq!(
            list_preview("see file", false, &[file("a.pdf")]),
            "see file"
        );
    }

    #[test]
    fn previews_collapse_whitespace_and_cut_long_messages() {
        assert_eq!(message_preview("  Hi,\n\n  there\t!  "), "Hi, there !");
        assert_eq!(message_preview(""), "");
        let long = message_preview(&"ação ".repeat(100));
        // Cut at 140 characters (not bytes), the trailing space dropped.
        assert_eq!(long.chars().count(), PREVIEW_CHARS);
        assert!(long.ends_with("ação…"), "{long}");
        let unbroken = message_preview(&"é".repeat(500));
        assert_eq!(unbroken.chars().count(), PREVIEW_CHARS + 1);
        // Exactly at the limit: no ellipsis.
        let exact = "x".repeat(PREVIEW_CHARS);
        assert_eq!(message_preview(&exact), exact);
    }
}
