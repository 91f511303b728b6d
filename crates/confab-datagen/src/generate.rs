//! Makes up the workspace's history, batch by batch. Every conversation is
//! played through the domain's state machine ([`confab_domain::transition`])
//! message by message, with the same bookkeeping the stores do on each write
//! (unread count, waiting since, last activity, preview), so the rows are
//! what the normal write path would have left.

use confab_domain::*;
use confab_store::plan::{
    conversation_search_text, join_tags, list_preview, mail_plan, message_preview,
};
use confab_store::{NewAgentMessage, plan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::people::{self, pick};
use crate::rows::*;
use crate::text::{self, Language, PLANTED};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// How far back the history goes.
pub const HISTORY: i64 = 730 * DAY;
/// Deleted conversations went to the trash within this many days (inside
/// the default 30-day retention, so the server's purge leaves them).
pub const TRASH_DAYS: i64 = 29;

const TAGS: &[&str] = &[
    "billing",
    "shipping",
    "bug",
    "feature-request",
    "vip",
    "login",
    "refund",
    "api",
    "mobile",
    "urgent",
    "cobrança",
    "entrega",
];

/// An account made through the store, with what the history needs of it.
#[derive(Debug, Clone)]
pub struct AccountSetup {
    pub id: AccountId,
    pub agents: Vec<AgentId>,
    pub inboxes: Vec<(InboxId, InboxKind)>,
    /// Conversations to make in this account.
    pub conversations: u64,
}

/// The ids the bulk rows start from (the next free ones).
#[derive(Debug, Clone, Copy)]
pub struct FirstIds {
    pub contact: i64,
    pub conversation: i64,
    pub message: i64,
}

/// What is remembered of a contact while the history is made.
struct ContactMemo {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    spam: bool,
    language: Language,
    last_seen_at: i64,
    /// The account's inboxes (by position) it has a conversation in.
    inboxes: u32,
    /// Its row has been handed out; later changes go out as [`SeenUpdate`]s.
    written: bool,
    /// Changed since it was written.
    dirty: bool,
}

/// Totals of what was made.
#[derive(Debug, Clone, Default)]
pub struct Made {
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub private_notes: u64,
    pub tags: u64,
    /// Per account, in setup order.
    pub folders: Vec<FolderCounts>,
    /// The last conversation number per account.
    pub last_numbers: Vec<i64>,
}

/// Makes batches of history until every account has its conversations.
pub struct Generator {
    rng: StdRng,
    seed: u64,
    now: i64,
    average_messages: f64,
    accounts: Vec<AccountSetup>,
    account: usize,
    /// Conversations made in the current account.
    made_in_account: u64,
    next: FirstIds,
    first_contact: i64,
    /// Global index of the next message (for planted words).
    message_index: u64,
    contacts: Vec<ContactMemo>,
    /// Contacts of the current account with an e-mail address: e-mail and
    /// form tickets come from them again now and then.
    returning: Vec<i64>,
    /// The current account's inboxes (by position), repeated by how much
    /// traffic each kind gets.
    weighted: Vec<usize>,
    /// Contact ids changed after being written.
    dirty: Vec<i64>,
    pub made: Made,
}

impl Generator {
    pub fn new(
        seed: u64,
        now: Timestamp,
        average_messages: f64,
        accounts: Vec<AccountSetup>,
        first: FirstIds,
    ) -> Generator {
        let count = accounts.len();
        Generator {
            rng: StdRng::seed_from_u64(seed),
            seed,
            now: now.0,
            average_messages: average_messages.max(1.0),
            accounts,
            account: 0,
            made_in_account: 0,
            next: first,
            first_contact: first.contact,
            message_index: 0,
            contacts: Vec::new(),
            returning: Vec::new(),
            weighted: Vec::new(),
            dirty: Vec::new(),
            made: Made {
                folders: vec![FolderCounts::default(); count],
                last_numbers: vec![0; count],
                ..Made::default()
            },
        }
    }

    /// The next batch of up to `size` conversations, or `None` when done.
    pub fn next_batch(&mut self, size: usize) -> Option<Batch> {
        let mut batch = Batch::default();
        while batch.conversations.len() < size {
            while self.account < self.accounts.len()
                && self.made_in_account >= self.accounts[self.account].conversations
            {
                self.account += 1;
                self.made_in_account = 0;
                self.returning.clear();
                self.weighted.clear();
            }
            if self.account >= self.accounts.len() {
                break;
            }
            if self.weighted.is_empty() {
                self.weighted = weighted_inboxes(&self.accounts[self.account].inboxes);
            }
            self.conversation(&mut batch);
            self.made_in_account += 1;
        }
        // Contacts seen again after their row was written.
        for id in self.dirty.drain(..) {
            let memo = &mut self.contacts[(id - self.first_contact) as usize];
            memo.dirty = false;
            batch.seen.push(SeenUpdate {
                id,
                last_seen_at: memo.last_seen_at,
            });
        }
        for row in &mut batch.contacts {
            let memo = &mut self.contacts[(row.id - self.first_contact) as usize];
            row.last_seen_at = memo.last_seen_at;
            memo.written = true;
        }
        if batch.conversations.is_empty() {
            None
        } else {
            Some(batch)
        }
    }

    fn new_contact(&mut self, batch: &mut Batch, kind: InboxKind, at: i64) -> i64 {
        let id = self.next.contact;
        self.next.contact += 1;
        let account = self.accounts[self.account].id;
        let (row, language) = people::contact(&mut self.rng, id, account, kind, at);
        if row.email.is_some() {
            self.returning.push(id);
        }
        self.contacts.push(ContactMemo {
            name: row.name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            spam: row.spam,
            language,
            last_seen_at: at,
            inboxes: 0,
            written: false,
            dirty: false,
        });
        batch.contacts.push(row);
        self.made.contacts += 1;
        id
    }

    fn next_message_id(&mut self) -> (i64, Vec<&'static str>) {
        let id = self.next.message;
        self.next.message += 1;
        let index = self.message_index;
        self.message_index += 1;
        self.made.messages += 1;
        let planted = PLANTED
            .iter()
            .filter(|(_, period, offset)| index % period == *offset)
            .map(|(word, _, _)| *word)
            .collect();
        (id, planted)
    }

    /// The gap before the next message, by channel.
    fn gap(&mut self, kind: InboxKind) -> i64 {
        let rng = &mut self.rng;
        match kind {
            InboxKind::Chat => rng.random_range(5_000..10 * MINUTE),
            InboxKind::InApp => rng.random_range(MINUTE..6 * HOUR),
            InboxKind::Email | InboxKind::Form => rng.random_range(10 * MINUTE..2 * DAY),
        }
    }

    fn conversation(&mut self, batch: &mut Batch) {
        let account = self.accounts[self.account].clone();
        let index = self.made_in_account as i64;
        let count = account.conversations.max(1) as i64;
        let start = self.now - HISTORY;
        let step = HISTORY / count;
        let created_at = start + index * HISTORY / count + self.rng.random_range(0..step.max(1));
        let position = *pick(&mut self.rng, &self.weighted);
        let (inbox, kind) = account.inboxes[position];
        let bit = 1u32 << (position % 32);

        // Each form submission is a ticket of its own; on the other channels
        // a contact's next message joins their latest conversation in the
        // inbox, so only a contact new to the inbox starts one there.
        let returning = (matches!(kind, InboxKind::Email | InboxKind::Form)
            && !self.returning.is_empty()
            && self.rng.random_bool(0.35))
        .then(|| *pick(&mut self.rng, &self.returning))
        .filter(|id| {
            kind == InboxKind::Form
                || self.contacts[(id - self.first_contact) as usize].inboxes & bit == 0
        });
        let contact_id = match returning {
            Some(id) => id,
            None => self.new_contact(batch, kind, created_at),
        };
        let memo_index = (contact_id - self.first_contact) as usize;
        self.contacts[memo_index].inboxes |= bit;
        let (spam, language) = {
            let memo = &self.contacts[memo_index];
            (memo.spam, memo.language)
        };

        let id = self.next.conversation;
        self.next.conversation += 1;
        let number = index + 1;
        let subject = matches!(kind, InboxKind::Email | InboxKind::Form).then(|| {
            let subjects = match language {
                Language::English => text::EN_TICKET_SUBJECTS,
                Language::Portuguese => text::PT_TICKET_SUBJECTS,
            };
            (*pick(&mut self.rng, subjects)).to_string()
        });
        let assignee =
            (!spam && self.rng.random_bool(0.8)).then(|| *pick(&mut self.rng, &account.agents));

        let mut conversation = Conversation {
            id: ConversationId(id),
            account_id: account.id,
            number,
            inbox_id: inbox,
            inbox_kind: kind,
            contact_id: ContactId(contact_id),
            folder: initial_folder(spam),
            assignee_id: assignee,
            tags: Vec::new(),
            subject,
            snoozed_until: None,
            unread_count: 0,
            waiting_since: None,
            last_activity_at: Timestamp(created_at),
            created_at: Timestamp(created_at),
            last_message_preview: None,
        };

        self.messages(batch, &mut conversation, memo_index, language);

        let deleted_at = if spam {
            None
        } else {
            self.finish(&mut conversation)
        };

        if self.rng.random_bool(0.55) {
            let wanted: Vec<String> = (0..self.rng.random_range(1..4))
                .map(|_| (*pick(&mut self.rng, TAGS)).to_string())
                .collect();
            if let Ok(tags) = validate::tags(&wanted) {
                conversation.tags = tags;
            }
        }
        for tag in &conversation.tags {
            batch.tags.push(TagRow {
                conversation_id: id,
                account_id: account.id.0,
                tag: tag.clone(),
            });
        }
        self.made.tags += conversation.tags.len() as u64;

        let memo = &self.contacts[memo_index];
        let contact = Contact {
            id: ContactId(contact_id),
            account_id: account.id,
            name: memo.name.clone(),
            email: memo.email.clone(),
            phone: memo.phone.clone(),
            company: None,
            external_id: None,
            custom_attributes: serde_json::Map::new(),
            browser: serde_json::Map::new(),
            spam,
            first_seen_at: Timestamp(created_at),
            last_seen_at: Timestamp(created_at),
        };
        let search_text =
            conversation_search_text(number, conversation.subject.as_deref(), &contact);
        self.made.folders[self.account].add(conversation.folder, 1);
        self.made.last_numbers[self.account] = number;
        self.made.conversations += 1;
        batch.conversations.push(ConversationRow {
            id,
            account_id: account.id.0,
            number,
            inbox_id: inbox.0,
            inbox_kind: kind.as_str(),
            contact_id,
            folder: conversation.folder.as_str(),
            assignee_id: conversation.assignee_id.map(|a| a.0),
            tags: join_tags(&conversation.tags),
            subject: conversation.subject,
            snoozed_until: conversation.snoozed_until.map(|t| t.0),
            unread_count: conversation.unread_count,
            waiting_since: conversation.waiting_since.map(|t| t.0),
            last_activity_at: conversation.last_activity_at.0,
            created_at,
            search_text,
            deleted_at,
            last_message_preview: conversation.last_message_preview,
        });
    }

    /// The conversation's messages, one state-machine step each, with the
    /// stores' bookkeeping after each.
    fn messages(
        &mut self,
        batch: &mut Batch,
        conversation: &mut Conversation,
        memo_index: usize,
        language: Language,
    ) {
        let account = self.accounts[self.account].id;
        let id = conversation.id.0;
        let kind = conversation.inbox_kind;
        let contact_id = conversation.contact_id.0;
        let created_at = conversation.created_at.0;
        let assignee = conversation.assignee_id;
        let spam = self.contacts[memo_index].spam;
        let mean = self.average_messages - 0.5;
        let draw: f64 = self.rng.random();
        let wanted = 1 + ((-(1.0 - draw).ln()) * mean).floor().min(mean * 10.0) as usize;
        let mut at = created_at;
        let mut last: Option<SenderType> = None;
        let mut previous_body: Option<String> = None;
        for n in 0..wanted {
            if n > 0 {
                at += self.gap(kind);
                if at >= self.now {
                    break;
                }
            }
            let roll = self.rng.random_range(0..100);
            let (sender, private) = match last {
                None => (SenderType::Contact, false),
                _ if spam => (SenderType::Contact, false),
                Some(SenderType::Contact) => match roll {
                    0..=69 => (SenderType::Agent, false),
                    70..=79 => (SenderType::Agent, true),
                    _ => (SenderType::Contact, false),
                },
                Some(_) => match roll {
                    0..=64 => (SenderType::Contact, false),
                    65..=84 => (SenderType::Agent, false),
                    _ => (SenderType::Agent, true),
                },
            };
            let action = match (sender, private) {
                (SenderType::Contact, _) => Action::ContactWrites { flagged: spam },
                (_, true) => Action::AgentNote,
                _ => Action::AgentReplies,
            };
            let Ok(outcome) = transition(conversation.folder, kind, action) else {
                continue;
            };
            if outcome.start_new_conversation {
                break;
            }
            plan::apply_outcome(conversation, &outcome);
            let (message_id, planted) = self.next_message_id();
            let mut body = text::message(&mut self.rng, language, &planted);
            if sender == SenderType::Agent && !private && message_id % 8 == 0 {
                body.push_str(text::markdown_steps(language));
            }
            let contact_email = self.contacts[memo_index].email.is_some();
            let mut row = MessageRow {
                id: message_id,
                account_id: account.0,
                conversation_id: id,
                sender_type: sender.as_str(),
                sender_id: None,
                body,
                full_body: None,
                private,
                created_at: at,
                email_message_id: None,
                delivery: None,
            };
            match sender {
                SenderType::Contact => {
                    row.sender_id = Some(contact_id);
                    if kind == InboxKind::Email {
                        row.email_message_id =
                            Some(format!("<{message_id}.{:x}@mail.example.net>", self.seed));
                        if let Some(before) = &previous_body {
                            row.full_body = Some(format!(
                                "{}\n\nOn an earlier day, support wrote:\n> {}",
                                row.body,
                                message_preview(before)
                            ));
                        }
                    }
                    conversation.unread_count += 1;
                    conversation.waiting_since = conversation.waiting_since.or(Some(Timestamp(at)));
                    conversation.last_activity_at = Timestamp(at);
                    conversation.last_message_preview = Some(list_preview(&row.body, false, &[]));
                    let memo = &mut self.contacts[memo_index];
                    memo.last_seen_at = memo.last_seen_at.max(at);
                    if memo.written && !memo.dirty {
                        memo.dirty = true;
                        self.dirty.push(contact_id);
                    }
                }
                _ => {
                    let agent = match assignee {
                        Some(agent) if self.rng.random_bool(0.85) => agent,
                        _ => *pick(&mut self.rng, &self.accounts[self.account].agents),
                    };
                    row.sender_id = Some(agent.0);
                    if private {
                        self.made.private_notes += 1;
                    } else {
                        // Leaves by e-mail on e-mail and form tickets, as the
                        // store decides it; the relay took it at once.
                        let reply = NewAgentMessage {
                            agent_id: agent,
                            body: String::new(),
                            private,
                            idempotency_key: None,
                            email_message_id: Some(format!("<{message_id}.reply@confab.invalid>")),
                            chat_email_at: None,
                            attachments: Vec::new(),
                        };
                        if mail_plan(kind, &reply, contact_email, Timestamp(at)).is_some() {
                            row.email_message_id = reply.email_message_id;
                            row.delivery = Some(DeliveryStatus::Delivered.as_str());
                            batch.outbound.push(OutboundRow {
                                account_id: account.0,
                                message_id,
                                created_at: at,
                                sent_at: (at + 1_500).min(self.now),
                            });
                        }
                        conversation.unread_count = 0;
                        conversation.waiting_since = None;
                        conversation.last_activity_at = Timestamp(at);
                        // Agents write Markdown; the list shows the text it renders to.
                        conversation.last_message_preview =
                            Some(list_preview(&row.body, true, &[]));
                    }
                }
            }
            previous_body = Some(row.body.clone());
            batch.messages.push(row);
            last = Some(sender);
            // Agents close some tickets after a reply; the contact may reopen them.
            if sender == SenderType::Agent && !private && self.rng.random_bool(0.1) {
                self.act(conversation, Action::Close);
            }
        }
    }

    /// Applies a folder action if the state machine accepts it.
    fn act(&mut self, conversation: &mut Conversation, action: Action) -> bool {
        match transition(conversation.folder, conversation.inbox_kind, action) {
            Ok(outcome) => {
                plan::apply_outcome(conversation, &outcome);
                true
            }
            Err(_) => false,
        }
    }

    /// Where the conversation ends up today: some go to the trash or are
    /// snoozed, most older ones are closed, agents read most of what they
    /// closed. Returns when it went to the trash.
    fn finish(&mut self, conversation: &mut Conversation) -> Option<i64> {
        let now = self.now;
        let last = conversation.last_activity_at.0;
        let age = now - last;
        let roll: f64 = self.rng.random();
        let mut deleted_at = None;
        if roll < 0.03 {
            let from = last.max(now - TRASH_DAYS * DAY);
            let at = self.rng.random_range(from..=now);
            if self.act(conversation, Action::Delete) {
                deleted_at = Some(at);
            }
        } else if roll < 0.05 {
            let minutes = self.rng.random_range(5..=24 * 60);
            let at = last.max(now - self.rng.random_range(0..minutes * MINUTE));
            self.act(
                conversation,
                Action::Snooze {
                    until: Timestamp(at + minutes * MINUTE),
                },
            );
        } else {
            let close = if age > 7 * DAY {
                0.92
            } else if age > DAY {
                0.6
            } else {
                0.25
            };
            if self.rng.random_bool(close) {
                self.act(conversation, Action::Close);
            }
        }
        if conversation.unread_count > 0 {
            let read = match conversation.folder {
                Folder::Open | Folder::Answered if age > 2 * DAY => 0.6,
                Folder::Open | Folder::Answered => 0.0,
                _ => 0.8,
            };
            if self.rng.random_bool(read) {
                conversation.unread_count = 0;
            }
        }
        deleted_at
    }
}

/// Inbox positions repeated by how much traffic each kind gets.
fn weighted_inboxes(inboxes: &[(InboxId, InboxKind)]) -> Vec<usize> {
    let mut out = Vec::new();
    for (position, &(_, kind)) in inboxes.iter().enumerate() {
        let weight = match kind {
            InboxKind::Chat => 4,
            InboxKind::Email => 3,
            InboxKind::InApp | InboxKind::Form => 2,
        };
        out.extend(std::iter::repeat_n(position, weight));
    }
    out
}
