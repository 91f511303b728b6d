//! The SPEC §2 table, cell by cell, and property tests over random histories.

use super::*;
use proptest::prelude::*;

const T: Timestamp = Timestamp(1_000_000);

/// The SPEC §2 table. `None` is a refusal (a `–` or "refused" cell).
/// Columns: open, answered, closed, snoozed, deleted, spam.
fn spec_row(action: Action, kind: InboxKind) -> [Option<Folder>; 6] {
    use Folder::*;
    match action {
        // "deleted" here means: stays deleted, a new conversation takes the message.
        Action::ContactWrites { .. } => [
            Some(Open),
            Some(Open),
            Some(Open),
            Some(Open),
            Some(Deleted),
            Some(Spam),
        ],
        Action::AgentReplies if kind.has_answered_folder() => [
            Some(Answered),
            Some(Answered),
            Some(Closed),
            Some(Snoozed),
            None,
            None,
        ],
        Action::AgentReplies => [Some(Open), None, Some(Closed), Some(Snoozed), None, None],
        Action::AgentNote => [
            Some(Open),
            Some(Answered),
            Some(Closed),
            Some(Snoozed),
            None,
            None,
        ],
        Action::Close => [Some(Closed), Some(Closed), None, Some(Closed), None, None],
        Action::Reopen => [None, Some(Open), Some(Open), Some(Open), None, None],
        Action::Snooze { .. } => [
            Some(Snoozed),
            Some(Snoozed),
            Some(Snoozed),
            Some(Snoozed),
            None,
            None,
        ],
        Action::SnoozeTimerFires => [None, None, None, Some(Open), None, None],
        Action::Delete => [
            Some(Deleted),
            Some(Deleted),
            Some(Deleted),
            Some(Deleted),
            None,
            Some(Deleted),
        ],
        Action::Restore => [None, None, None, None, Some(Open), None],
        Action::MarkSpam => [
            Some(Spam),
            Some(Spam),
            Some(Spam),
            Some(Spam),
            Some(Spam),
            None,
        ],
        Action::NotSpam => [None, None, None, None, None, Some(Open)],
    }
}

fn all_actions() -> Vec<Action> {
    vec![
        Action::ContactWrites { flagged: false },
        Action::AgentReplies,
        Action::AgentNote,
        Action::Close,
        Action::Reopen,
        Action::Snooze { until: T },
        Action::SnoozeTimerFires,
        Action::Delete,
        Action::Restore,
        Action::MarkSpam,
        Action::NotSpam,
    ]
}

#[test]
fn every_cell_of_the_spec_table() {
    for kind in InboxKind::ALL {
        for action in all_actions() {
            let row = spec_row(action, kind);
            for (column, folder) in Folder::ALL.into_iter().enumerate() {
                // `answered` never exists for chat/form, so that column is moot there.
                if folder == Folder::Answered && !kind.has_answered_folder() {
                    continue;
                }
                let got = transition(folder, kind, action).ok().map(|o| o.folder);
                assert_eq!(
                    got, row[column],
                    "{:?} on {:?} in a {:?} inbox",
                    action, folder, kind
                );
                if let Err(refusal) = transition(folder, kind, action) {
                    assert_eq!(refusal.folder, folder);
                    assert_eq!(refusal.action, action);
                }
            }
        }
    }
}

#[test]
fn side_effects_of_the_table() {
    let kind = InboxKind::Chat;
    let snoozed = |action| transition(Folder::Snoozed, kind, action).unwrap();
    assert_eq!(
        snoozed(Action::ContactWrites { flagged: false }).timer,
        SnoozeTimer::Cancel
    );
    assert_eq!(snoozed(Action::Reopen).timer, SnoozeTimer::Cancel);
    assert_eq!(snoozed(Action::Close).timer, SnoozeTimer::Cancel);
    assert_eq!(snoozed(Action::Delete).timer, SnoozeTimer::Cancel);
    assert_eq!(
        snoozed(Action::Snooze {
            until: T.plus_minutes(5)
        })
        .timer,
        SnoozeTimer::Set(T.plus_minutes(5))
    );
    let deleted = transition(
        Folder::Deleted,
        kind,
        Action::ContactWrites { flagged: false },
    )
    .unwrap();
    assert!(deleted.start_new_conversation);
    let spam = transition(Folder::Spam, kind, Action::ContactWrites { flagged: true }).unwrap();
    assert!(!spam.notify_agents);
    for folder in [Folder::Open, Folder::Closed, Folder::Snoozed] {
        let flagged = transition(folder, kind, Action::ContactWrites { flagged: true }).unwrap();
        assert_eq!(
            flagged.folder,
            Folder::Spam,
            "a flagged contact writing in {folder:?}"
        );
        assert!(!flagged.notify_agents);
    }
    assert_eq!(
        transition(Folder::Open, kind, Action::MarkSpam)
            .unwrap()
            .contact_spam,
        Some(true)
    );
    assert_eq!(
        transition(Folder::Spam, kind, Action::NotSpam)
            .unwrap()
            .contact_spam,
        Some(false)
    );
    assert_eq!(initial_folder(true), Folder::Spam);
    assert_eq!(initial_folder(false), Folder::Open);
}

#[test]
fn refusal_names_folder_and_action() {
    let refusal = transition(Folder::Deleted, InboxKind::Email, Action::Close).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot close a conversation in the deleted folder"
    );
}

#[test]
fn snooze_bounds() {
    assert!(!snooze_minutes_allowed(4));
    assert!(snooze_minutes_allowed(5));
    assert!(snooze_minutes_allowed(24 * 60));
    assert!(!snooze_minutes_allowed(24 * 60 + 1));
}

// ---- property tests: a model of one contact's conversations in one inbox ----

/// A conversation of the model, as the store would hold it.
#[derive(Debug, Clone)]
struct ModelConversation {
    folder: Folder,
    snoozed_until: Option<Timestamp>,
    messages: usize,
}

/// One contact writing to one inbox, and agents acting on the conversations.
#[derive(Debug, Clone)]
struct Model {
    kind: InboxKind,
    contact_spam: bool,
    conversations: Vec<ModelConversation>,
}

impl Model {
    fn new(kind: InboxKind) -> Model {
        Model {
            kind,
            contact_spam: false,
            conversations: Vec::new(),
        }
    }

    fn start_conversation(&mut self) {
        self.conversations.push(ModelConversation {
            folder: initial_folder(self.contact_spam),
            snoozed_until: None,
            messages: 1,
        });
    }

    /// Applies an action the way the store does; returns whether it was accepted.
    fn apply(&mut self, target: usize, action: Action) -> bool {
        if let Action::ContactWrites { .. } = action {
            let action = Action::ContactWrites {
                flagged: self.contact_spam,
            };
            // The contact writes into their latest conversation, or starts one.
            let Some(latest) = self.conversations.len().checked_sub(1) else {
                self.start_conversation();
                return true;
            };
            return self.apply_to(latest, action);
        }
        if self.conversations.is_empty() {
            return false;
        }
        let index = target % self.conversations.len();
        self.apply_to(index, action)
    }

    fn apply_to(&mut self, index: usize, action: Action) -> bool {
        let conversation = &self.conversations[index];
        let before = conversation.folder;
        let Ok(outcome) = transition(before, self.kind, action) else {
            return false;
        };
        if let Some(flag) = outcome.contact_spam {
            self.contact_spam = flag;
        }
        if outcome.start_new_conversation {
            self.start_conversation();
            return true;
        }
        let conversation = &mut self.conversations[index];
        conversation.folder = outcome.folder;
        match outcome.timer {
            SnoozeTimer::Keep => {}
            SnoozeTimer::Set(until) => conversation.snoozed_until = Some(until),
            SnoozeTimer::Cancel => conversation.snoozed_until = None,
        }
        if matches!(
            action,
            Action::ContactWrites { .. } | Action::AgentReplies | Action::AgentNote
        ) {
            conversation.messages += 1;
        }
        true
    }
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => Just(Action::ContactWrites { flagged: false }),
        2 => Just(Action::AgentReplies),
        1 => Just(Action::AgentNote),
        1 => Just(Action::Close),
        1 => Just(Action::Reopen),
        1 => (5i64..=1440).prop_map(|m| Action::Snooze { until: T.plus_minutes(m) }),
        1 => Just(Action::SnoozeTimerFires),
        1 => Just(Action::Delete),
        1 => Just(Action::Restore),
        1 => Just(Action::MarkSpam),
        1 => Just(Action::NotSpam),
    ]
}

fn any_kind() -> impl Strategy<Value = InboxKind> {
    prop_oneof![
        Just(InboxKind::Chat),
        Just(InboxKind::InApp),
        Just(InboxKind::Email),
        Just(InboxKind::Form),
    ]
}

fn any_folder() -> impl Strategy<Value = Folder> {
    prop::sample::select(Folder::ALL.to_vec())
}

proptest! {
    /// Every (folder, action) pair gives the table's result or a refusal, nothing else.
    #[test]
    fn transition_matches_the_table(folder in any_folder(), kind in any_kind(), action in any_action()) {
        prop_assume!(folder != Folder::Answered || kind.has_answered_folder());
        // The table is for contacts that are not flagged as spammers.
        let column = Folder::ALL.iter().position(|f| *f == folder).unwrap();
        let expected = spec_row(action, kind)[column];
        match transition(folder, kind, action) {
            Ok(outcome) => prop_assert_eq!(Some(outcome.folder), expected),
            Err(refusal) => {
                prop_assert_eq!(expected, None);
                prop_assert_eq!(refusal, Refusal { folder, action });
            }
        }
    }

    /// Only a snooze sets a timer: whoever acts otherwise (a contact
    /// writing, above all) need not wake the scheduler.
    #[test]
    fn only_a_snooze_sets_a_timer(folder in any_folder(), kind in any_kind(), action in any_action()) {
        if let Ok(outcome) = transition(folder, kind, action)
            && let SnoozeTimer::Set(_) = outcome.timer
        {
            prop_assert!(matches!(action, Action::Snooze { .. }), "{action:?} set a timer");
        }
    }

    /// Invariants hold over any history of actions and contact messages.
    #[test]
    fn invariants_hold_over_random_histories(
        kind in any_kind(),
        steps in prop::collection::vec((any::<usize>(), any_action()), 1..60),
    ) {
        let mut model = Model::new(kind);
        for (target, action) in steps {
            let before = model.clone();
            let accepted = model.apply(target, action);
            if !accepted {
                // A refusal changes nothing.
                prop_assert_eq!(format!("{:?}", before), format!("{:?}", model));
                continue;
            }
            for (index, conversation) in model.conversations.iter().enumerate() {
                // The snooze timer exists exactly when the conversation is snoozed.
                prop_assert_eq!(conversation.folder == Folder::Snoozed, conversation.snoozed_until.is_some());
                // `answered` never appears outside email/in_app inboxes.
                prop_assert!(conversation.folder != Folder::Answered || kind.has_answered_folder());
                // A deleted conversation never gains a message.
                if let Some(old) = before.conversations.get(index)
                    && old.folder == Folder::Deleted
                {
                    prop_assert_eq!(conversation.messages, old.messages);
                }
            }
            if let Action::ContactWrites { .. } = action {
                let latest = model.conversations.last().unwrap();
                // A contact message never leaves a conversation closed/answered/snoozed.
                prop_assert!(!matches!(latest.folder, Folder::Closed | Folder::Answered | Folder::Snoozed));
                // A spam-flagged contact never produces an open conversation.
                if before.contact_spam {
                    prop_assert!(latest.folder != Folder::Open);
                    let opened_now = model
                        .conversations
                        .iter()
                        .enumerate()
                        .any(|(i, c)| c.folder == Folder::Open && before.conversations.get(i).is_none_or(|o| o.folder != Folder::Open));
                    prop_assert!(!opened_now);
                }
            }
        }
    }
}
