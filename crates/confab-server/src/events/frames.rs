//! What goes over the sockets: `{seq, type, at, data}` frames, serialised
//! once per event and shared by every socket that receives them (the text
//! is reference-counted bytes: fan-out copies nothing).
//!
//! A frame is made from the event's data as JSON text: the agents' frame
//! carries it verbatim, and the contact's view reads the few fields it needs
//! from it in place (no tree of values is built). The events the SQLite
//! writer hands over arrive as that text; events read back from the log
//! (replays, PostgreSQL) are written to text once.

use std::borrow::Cow;

use axum::extract::ws::Utf8Bytes;
use confab_domain::event::Event;
use confab_domain::{ContactId, EventType, Folder, Timestamp};
use confab_store::LoggedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

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

/// A frame on the wire.
#[derive(Serialize)]
struct Wire<'a, D: Serialize> {
    seq: Option<i64>,
    #[serde(rename = "type")]
    kind: &'a str,
    at: Timestamp,
    data: D,
}

fn wire_text<D: Serialize>(seq: Option<i64>, kind: &str, at: Timestamp, data: D) -> String {
    // Serialising plain fields and JSON text cannot fail.
    serde_json::to_string(&Wire {
        seq,
        kind,
        at,
        data,
    })
    .unwrap_or_default()
}

/// A logged event with its data as JSON text.
struct Logged<'a> {
    seq: i64,
    event_type: EventType,
    at: Timestamp,
    data: &'a RawValue,
}

impl Logged<'_> {
    /// The agents' text: the event as logged.
    fn agent_text(&self) -> String {
        wire_text(Some(self.seq), self.event_type.as_str(), self.at, self.data)
    }

    /// The contact's view: agent replies (never private notes) and the
    /// conversation's state, for the conversation's contact only.
    fn contact_view(&self) -> Option<(ContactId, String)> {
        let kind = match self.event_type {
            EventType::MessageCreated => "message.created",
            EventType::ConversationCreated | EventType::ConversationUpdated => "conversation.state",
            _ => return None,
        };
        // A conversation the view cannot read (its id, contact or folder
        // missing or of another type) shows the contact nothing, as a
        // missing field always did; the other fields are read only by the
        // event types that use them.
        let peek: Peek<'_> = serde_json::from_str(self.data.get()).ok()?;
        let conversation = peek.conversation?;
        let contact = ContactId(conversation.contact_id);
        if self.event_type != EventType::MessageCreated {
            // Assignment, tags and read marks are internal (an action that
            // is not text is none of them).
            let action = peek
                .action
                .and_then(|action| serde_json::from_str::<Cow<'_, str>>(action.get()).ok());
            if matches!(action.as_deref(), Some("assign" | "tags" | "read")) {
                return None;
            }
            let state = ContactState {
                conversation_id: conversation.id,
                state: contact_state(conversation.folder)?,
            };
            return Some((contact, wire_text(Some(self.seq), kind, self.at, state)));
        }
        let message: MessagePeek<'_> = serde_json::from_str(peek.message?.get()).ok()?;
        if message.private != Some(false) || conversation.folder == Folder::Spam {
            return None;
        }
        // An agent's Markdown, rendered safe (as in the e-mail copy).
        let body_html = match (message.sender_type.as_deref(), message.body.as_deref()) {
            (Some("agent"), Some(body)) => Some(confab_mail::compose::render_fragment(body)),
            _ => None,
        };
        let shown = ContactMessage {
            conversation_id: conversation.id,
            message: ShownMessage {
                id: message.id,
                sender_type: message.sender_type,
                sender_id: message.sender_id,
                body: message.body,
                created_at: message.created_at,
                // Files of a reply the contact sees: the widget links them by id.
                attachments: message.attachments,
                body_html,
            },
        };
        Some((contact, wire_text(Some(self.seq), kind, self.at, shown)))
    }

    fn frame(&self) -> Frame {
        let contact = self.contact_view();
        Frame {
            seq: Some(self.seq),
            agent_text: Some(self.agent_text().into()),
            contact_id: contact.as_ref().map(|(id, _)| *id),
            contact_text: contact.map(|(_, text)| text.into()),
            skip_agent: None,
        }
    }
}

/// What the contact's view reads of an event's data.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    conversation: Option<ConversationPeek<'a>>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    #[serde(borrow)]
    action: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ConversationPeek<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    contact_id: i64,
    folder: Folder,
}

#[derive(Deserialize)]
struct MessagePeek<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    sender_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_id: Option<&'a RawValue>,
    #[serde(borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<&'a RawValue>,
    private: Option<bool>,
    #[serde(borrow)]
    attachments: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct ContactMessage<'a> {
    conversation_id: &'a RawValue,
    message: ShownMessage<'a>,
}

#[derive(Serialize)]
struct ShownMessage<'a> {
    id: Option<&'a RawValue>,
    sender_type: Option<Cow<'a, str>>,
    sender_id: Option<&'a RawValue>,
    body: Option<Cow<'a, str>>,
    created_at: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_html: Option<String>,
}

#[derive(Serialize)]
struct ContactState<'a> {
    conversation_id: &'a RawValue,
    state: &'static str,
}

/// What a contact sees of a folder: deleted and spam are not their business.
fn contact_state(folder: Folder) -> Option<&'static str> {
    match folder {
        Folder::Open | Folder::Answered | Folder::Snoozed => Some("open"),
        Folder::Closed => Some("closed"),
        Folder::Deleted | Folder::Spam => None,
    }
}

/// Runs `f` on an event read back from the log, its data written to text.
fn with_text<T>(event: &Event, f: impl FnOnce(&Logged<'_>) -> T) -> T {
    // A `Value` always writes as JSON.
    let data = serde_json::value::to_raw_value(&event.data)
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"));
    f(&Logged {
        seq: event.seq,
        event_type: event.event_type,
        at: event.at,
        data: &data,
    })
}

/// The agent-side text of a logged event.
pub fn agent_text(event: &Event) -> String {
    with_text(event, |logged| logged.agent_text())
}

/// The contact-side view of a logged event: agent replies (never private
/// notes) and the conversation's state, for the conversation's contact only.
pub fn contact_view(event: &Event) -> Option<(ContactId, String)> {
    with_text(event, |logged| logged.contact_view())
}

/// A logged event as a frame for both audiences.
pub fn logged(event: &Event) -> Frame {
    with_text(event, |logged| logged.frame())
}

/// An event as the store handed it over after its commit, as a frame for
/// both audiences; an error if its stored data is not JSON (which the log's
/// reader refuses too).
pub fn handed_over(event: &LoggedEvent) -> Result<Frame, serde_json::Error> {
    let data: &RawValue = serde_json::from_str(&event.data)?;
    Ok(Logged {
        seq: event.seq,
        event_type: event.event_type,
        at: event.at,
        data,
    }
    .frame())
}

/// An ephemeral frame's text (cheap to clone: every socket shares the bytes).
pub fn ephemeral_text(kind: &str, at: Timestamp, data: Value) -> Utf8Bytes {
    wire_text(None, kind, at, data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::AccountId;
    use serde_json::json;

    fn handed(event_type: EventType, data: &Value) -> LoggedEvent {
        LoggedEvent {
            account: AccountId(1),
            seq: 42,
            event_type,
            at: Timestamp(1_764_000_000_000),
            data: data.to_string(),
        }
    }

    fn parsed(text: &Utf8Bytes) -> Value {
        serde_json::from_str(text.as_str()).expect("a frame is JSON")
    }

    fn message_data(sender_type: &str, body: &str, private: bool, folder: &str) -> Value {
        json!({
            "conversation": {"id": 7, "contact_id": 9, "folder": folder, "inbox_id": 3},
            "message": {
                "id": 100, "conversation_id": 7, "sender_type": sender_type, "sender_id": 5,
                "body": body, "private": private, "created_at": "2025-11-24T16:00:00.000Z"
            }
        })
    }

    /// Both ways in (handed over as text, read back as an event) give the same frame.
    fn frame_of(event_type: EventType, data: &Value) -> Frame {
        let logged = handed(event_type, data);
        let frame = handed_over(&logged).expect("JSON data");
        let event = Event {
            seq: logged.seq,
            event_type,
            at: logged.at,
            data: data.clone(),
        };
        let again = super::logged(&event);
        assert_eq!(frame.seq, again.seq);
        assert_eq!(frame.contact_id, again.contact_id);
        assert_eq!(
            frame.agent_text.as_ref().map(parsed),
            again.agent_text.as_ref().map(parsed)
        );
        assert_eq!(
            frame.contact_text.as_ref().map(parsed),
            again.contact_text.as_ref().map(parsed)
        );
        frame
    }

    #[test]
    fn agents_receive_the_event_as_logged() {
        let data = message_data("contact", "Oi \"tudo\" bem? \u{e9}\n", false, "open");
        let frame = frame_of(EventType::MessageCreated, &data);
        assert_eq!(frame.seq, Some(42));
        assert_eq!(
            parsed(frame.agent_text.as_ref().unwrap()),
            json!({"seq": 42, "type": "message.created", "at": "2025-11-24T16:00:00.000Z", "data": data})
        );
    }

    #[test]
    fn the_contact_sees_a_public_message_of_their_conversation() {
        let data = message_data("contact", "a \"quoted\" \\ body", false, "open");
        let frame = frame_of(EventType::MessageCreated, &data);
        assert_eq!(frame.contact_id, Some(ContactId(9)));
        assert_eq!(
            parsed(frame.contact_text.as_ref().unwrap()),
            json!({"seq": 42, "type": "message.created", "at": "2025-11-24T16:00:00.000Z", "data": {
                "conversation_id": 7,
                "message": {"id": 100, "sender_type": "contact", "sender_id": 5,
                    "body": "a \"quoted\" \\ body", "created_at": "2025-11-24T16:00:00.000Z"}
            }})
        );
    }

    #[test]
    fn an_agents_reply_reaches_the_contact_rendered_with_its_files() {
        let mut data = message_data("agent", "Trocamos **sem custo**", false, "answered");
        data["message"]["attachments"] = json!([{"id": 4, "filename": "nota.pdf"}]);
        let frame = frame_of(EventType::MessageCreated, &data);
        let shown = parsed(frame.contact_text.as_ref().unwrap());
        let message = &shown["data"]["message"];
        assert_eq!(message["body"], "Trocamos **sem custo**");
        assert!(
            message["body_html"]
                .as_str()
                .unwrap()
                .contains("<strong>sem custo</strong>"),
            "{message}"
        );
        assert_eq!(
            message["attachments"],
            json!([{"id": 4, "filename": "nota.pdf"}])
        );
    }

    #[test]
    fn notes_spam_and_unknown_shapes_are_not_the_contacts_business() {
        for data in [
            message_data("agent", "internal", true, "open"),
            message_data("contact", "buy now", false, "spam"),
            json!({"conversation": {"id": 7, "folder": "open"}, "message": {"private": false}}),
            json!({"message": {"private": false}}),
        ] {
            let frame = frame_of(EventType::MessageCreated, &data);
            assert!(frame.agent_text.is_some());
            assert!(frame.contact_text.is_none(), "{data}");
            assert!(frame.contact_id.is_none());
        }
    }

    #[test]
    fn the_contact_sees_their_conversations_state_but_not_its_internals() {
        let conversation = |folder: &str| json!({"id": 7, "contact_id": 9, "folder": folder});
        for (action, folder, state) in [
            ("close", "closed", Some("closed")),
            ("reopen", "open", Some("open")),
            ("snooze", "snoozed", Some("open")),
            ("delete", "deleted", None),
            ("spam", "spam", None),
            ("assign", "open", None),
            ("tags", "open", None),
            ("read", "open", None),
        ] {
            let data = json!({"action": action, "conversation": conversation(folder)});
            let frame = frame_of(EventType::ConversationUpdated, &data);
            let shown = frame.contact_text.as_ref().map(parsed);
            assert_eq!(
                shown,
                state.map(|state| json!({"seq": 42, "type": "conversation.state",
                    "at": "2025-11-24T16:00:00.000Z",
                    "data": {"conversation_id": 7, "state": state}})),
                "{action}"
            );
        }
        let created = json!({"conversation": conversation("open")});
        let frame = frame_of(EventType::ConversationCreated, &created);
        assert_eq!(frame.contact_id, Some(ContactId(9)));
        let frame = frame_of(EventType::ContactUpdated, &json!({"contact": {"id": 9}}));
        assert!(frame.contact_text.is_none());
    }

    #[test]
    fn fields_an_event_type_does_not_use_do_not_hide_it() {
        // A conversation event whose `message` or `action` is of a shape the
        // contact's view does not read still shows the state.
        for data in [
            json!({"action": "close", "message": "not an object",
                "conversation": {"id": 7, "contact_id": 9, "folder": "closed"}}),
            json!({"action": 3, "conversation": {"id": 7, "contact_id": 9, "folder": "closed"}}),
        ] {
            let frame = frame_of(EventType::ConversationUpdated, &data);
            assert_eq!(
                frame.contact_text.as_ref().map(parsed).unwrap()["data"]["state"],
                "closed",
                "{data}"
            );
        }
    }

    #[test]
    fn stored_data_that_is_not_json_makes_no_frame() {
        let mut logged = handed(EventType::MessageCreated, &json!({}));
        logged.data = "{\"conversation\":".to_owned();
        assert!(handed_over(&logged).is_err());
    }

    #[test]
    fn ephemeral_frames_have_no_seq() {
        let text = ephemeral_text("typing", Timestamp(0), json!({"conversation_id": 7}));
        assert_eq!(
            parsed(&text),
            json!({"seq": null, "type": "typing", "at": "1970-01-01T00:00:00.000Z",
                "data": {"conversation_id": 7}})
        );
    }
}
