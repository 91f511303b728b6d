//! The folder state machine: SPEC §2, as one pure function.
//!
//! [`transition`] answers, for a conversation in a folder and something that
//! happens to it, either the [`Outcome`] (the folder it ends in and the side
//! effects the store must carry out) or a [`Refusal`]. Nothing else in
//! Confab decides where a conversation goes.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The folder (status) a conversation is in; every conversation is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    Open,
    Answered,
    Closed,
    Snoozed,
    Deleted,
    Spam,
}

impl Folder {
    /// Every folder, in the order the inbox shows them.
    pub const ALL: [Folder; 6] = [
        Folder::Open,
        Folder::Answered,
        Folder::Closed,
        Folder::Snoozed,
        Folder::Deleted,
        Folder::Spam,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Open => "open",
            Folder::Answered => "answered",
            Folder::Closed => "closed",
            Folder::Snoozed => "snoozed",
            Folder::Deleted => "deleted",
            Folder::Spam => "spam",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<Folder> {
        Folder::ALL
            .into_iter()
            .find(|folder| folder.as_str() == name)
    }
}

/// The kind of channel an inbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    /// Website or app live chat widget.
    Chat,
    /// Asynchronous in-app messages through the client API.
    InApp,
    /// Mail received by Confab's SMTP listener.
    Email,
    /// A contact form.
    Form,
}

impl InboxKind {
    /// Every kind.
    pub const ALL: [InboxKind; 4] = [
        InboxKind::Chat,
        InboxKind::InApp,
        InboxKind::Email,
        InboxKind::Form,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Chat => "chat",
            InboxKind::InApp => "in_app",
            InboxKind::Email => "email",
            InboxKind::Form => "form",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(name: &str) -> Option<InboxKind> {
        InboxKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// Whether an agent reply moves a conversation of this kind to `answered`.
    pub fn has_answered_folder(self) -> bool {
        matches!(self, InboxKind::Email | InboxKind::InApp)
    }
}

/// Shortest snooze, in minutes.
pub const SNOOZE_MIN_MINUTES: i64 = 5;
/// Longest snooze, in minutes (24 h).
pub const SNOOZE_MAX_MINUTES: i64 = 24 * 60;

/// Something that happens to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The contact writes a message; `flagged` when the contact is marked as
    /// a spammer, whose messages then land in spam silently.
    ContactWrites {
        flagged: bool,
    },
    /// An agent sends a reply the contact will see.
    AgentReplies,
    /// An agent writes a private note.
    AgentNote,
    Close,
    Reopen,
    /// Snooze until the given instant (already validated to 5 min … 24 h).
    Snooze {
        until: Timestamp,
    },
    /// The snooze timer falls due.
    SnoozeTimerFires,
    Delete,
    Restore,
    MarkSpam,
    NotSpam,
}

impl Action {
    /// The name used in errors, events and URLs.
    pub fn name(self) -> &'static str {
        match self {
            Action::ContactWrites { .. } => "contact_message",
            Action::AgentReplies => "reply",
            Action::AgentNote => "note",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Snooze { .. } => "snooze",
            Action::SnoozeTimerFires => "wake",
            Action::Delete => "delete",
            Action::Restore => "restore",
            Action::MarkSpam => "spam",
            Action::NotSpam => "not_spam",
        }
    }
}

/// What happens to the snooze timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozeTimer {
    /// Leave it as it is (there is none, or the conversation stays snoozed).
    Keep,
    /// Set or replace it.
    Set(Timestamp),
    /// Cancel it.
    Cancel,
}

/// The result of an accepted transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The folder the conversation ends in.
    pub folder: Folder,
    /// What happens to the snooze timer.
    pub timer: SnoozeTimer,
    /// The contact's spam flag: `Some(true)` flags, `Some(false)` clears.
    pub contact_spam: Option<bool>,
    /// The message does not go to this conversation: a new conversation is
    /// started for it (a contact writing into a deleted conversation).
    pub start_new_conversation: bool,
    /// Whether agents are notified (false for spam, silently).
    pub notify_agents: bool,
}

impl Outcome {
    fn to(folder: Folder) -> Outcome {
        Outcome {
            folder,
            timer: SnoozeTimer::Keep,
            contact_spam: None,
            start_new_conversation: false,
            notify_agents: true,
        }
    }

    fn with_timer(self, timer: SnoozeTimer) -> Outcome {
        Outcome { timer, ..self }
    }
}

/// A refused transition: answered with HTTP 409 and nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a conversation in the {folder} folder", action = .action.name(), folder = .folder.as_str())]
pub struct Refusal {
    pub folder: Folder,
    pub action: Action,
}

/// The folder a brand-new conversation starts in.
pub fn initial_folder(contact_is_spam: bool) -> Folder {
    if contact_is_spam {
        Folder::Spam
    } else {
        Folder::Open
    }
}

/// SPEC §2: where `action` takes a conversation of an inbox of `kind` that is in `folder`.
pub fn transition(folder: Folder, kind: InboxKind, action: Action) -> Result<Outcome, Refusal> {
    use Folder::*;
    let refuse = Err(Refusal { folder, action });
    let cancel_if_snoozed = if folder == Snoozed {
        SnoozeTimer::Cancel
    } else {
        SnoozeTimer::Keep
    };
    match action {
        Action::ContactWrites { flagged } => match folder {
            // A flagged contact never produces an open conversation: what
            // they write goes to spam, silently.
            Open | Answered | Closed | Snoozed if flagged => Ok(Outcome {
                notify_agents: false,
                ..Outcome::to(Spam).with_timer(cancel_if_snoozed)
            }),
            Open | Answered | Closed => Ok(Outcome::to(Open)),
            Snoozed => Ok(Outcome::to(Open).with_timer(SnoozeTimer::Cancel)),
            Deleted => Ok(Outcome {
                start_new_conversation: true,
                ..Outcome::to(Deleted)
            }),
            Spam => Ok(Outcome {
                notify_agents: false,
                ..Outcome::to(Spam)
            }),
        },
        Action::AgentReplies => match folder {
            Open if kind.has_answered_folder() => Ok(Outcome::to(Answered)),
            Open => Ok(Outcome::to(Open)),
            Answered if kind.has_answered_folder() => Ok(Outcome::to(Answered)),
            Closed | Snoozed => Ok(Outcome::to(folder)),
            Answered | Deleted | Spam => refuse,
        },
        Action::AgentNote => match folder {
            Deleted | Spam => refuse,
            _ => Ok(Outcome::to(folder)),
        },
        Action::Close => match folder {
            Open | Answered | Snoozed => Ok(Outcome::to(Closed).with_timer(cancel_if_snoozed)),
            Closed | Deleted | Spam => refuse,
        },
        Action::Reopen => match folder {
            Answered | Closed | Snoozed => Ok(Outcome::to(Open).with_timer(cancel_if_snoozed)),
            Open | Deleted | Spam => refuse,
        },
        Action::Snooze { until } => match folder {
            Open | Answered | Closed | Snoozed => {
                Ok(Outcome::to(Snoozed).with_timer(SnoozeTimer::Set(until)))
            }
            Deleted | Spam => refuse,
        },
        Action::SnoozeTimerFires => match folder {
            Snoozed => Ok(Outcome::to(Open).with_timer(SnoozeTimer::Cancel)),
            _ => refuse,
        },
        Action::Delete => match folder {
            Deleted => refuse,
            _ => Ok(Outcome::to(Deleted).with_timer(cancel_if_snoozed)),
        },
        Action::Restore => match folder {
            Deleted => Ok(Outcome::to(Open)),
            _ => refuse,
        },
        Action::MarkSpam => match folder {
            Spam => refuse,
            _ => Ok(Outcome {
                contact_spam: Some(true),
                ..Outcome::to(Spam).with_timer(cancel_if_snoozed)
            }),
        },
        Action::NotSpam => match folder {
            Spam => Ok(Outcome {
                contact_spam: Some(false),
                ..Outcome::to(Open)
            }),
            _ => refuse,
        },
    }
}

/// Checks a snooze duration against SPEC §2 (5 minutes to 24 hours).
pub fn snooze_minutes_allowed(minutes: i64) -> bool {
    (SNOOZE_MIN_MINUTES..=SNOOZE_MAX_MINUTES).contains(&minutes)
}

#[cfg(test)]
#[path = "folder_tests.rs"]
mod tests;
