//! Messages from contacts and agents, through the state machine.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{
    MessageCreated, apply_outcome, attachment_request, conversation_event, list_preview, mail_plan,
    may_mail,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow, MESSAGE_COLUMNS, inbox_kind};
use confab_store::*;
use rusqlite::{Connection, params};

use crate::attachments::{attach, check_attachable, fill_attachments, message_attachments};
use crate::contacts::load_contact;
use crate::conversations::{
    InboxRef, insert_conversation, load_conversation, read_conversation, write_conversation,
};
use crate::events::append_event;
use crate::lite::{execute, query_one, query_opt};
use crate::{SqliteStore, db_error};

struct NewMessageRow<'a> {
    account: AccountId,
    conversation: ConversationId,
    sender_type: SenderType,
    sender_id: i64,
    body: &'a str,
    full_body: Option<&'a str>,
    private: bool,
    idempotency_key: Option<&'a str>,
    email_message_id: Option<&'a str>,
    delivery: Option<DeliveryStatus>,
}

/// Writes a message and its search row. Plain one-row statements (no
/// RETURNING, no trigger): either would open a statement journal, at which
/// FTS5 writes out the batch's pending terms (migration 0012). The message
/// is what was written (no column has a default the row relies on), so it
/// is not read back.
fn insert_message(tx: &Connection, row: NewMessageRow<'_>, now: Timestamp) -> StoreResult<Message> {
    execute(
        tx,
        "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, full_body, private, idempotency_key, created_at, email_message_id, delivery)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            row.account.0,
            row.conversation.0,
            row.sender_type.as_str(),
            row.sender_id,
            row.body,
            row.full_body,
            row.private,
            row.idempotency_key,
            now.0,
            row.email_message_id,
            row.delivery.map(DeliveryStatus::as_str),
        ],
    )?;
    let id = tx.last_insert_rowid();
    execute(
        tx,
        "INSERT INTO message_search (rowid, body) VALUES (?1, ?2)",
        params![id, row.body],
    )?;
    Ok(Message {
        id: MessageId(id),
        conversation_id: row.conversation,
        sender_type: row.sender_type,
        sender_id: Some(row.sender_id),
        body: row.body.to_owned(),
        full_body: row.full_body.map(str::to_owned),
        private: row.private,
        email_message_id: row.email_message_id.map(str::to_owned),
        delivery: row.delivery,
        attachments: Vec::new(),
        created_at: now,
    })
}

/// An earlier message answered again, with its conversation: nothing written.
fn replayed(
    tx: &Connection,
    account: AccountId,
    message: Option<Message>,
) -> StoreResult<Option<Posted>> {
    let Some(mut message) = message else {
        return Ok(None);
    };
    message.attachments = message_attachments(tx, message.id)?;
    let conversation = load_conversation(tx, account, message.conversation_id)?;
    Ok(Some(Posted {
        conversation,
        message,
        created_conversation: false,
        created_message: false,
    }))
}

/// The message an idempotency key already produced, with its conversation.
fn replay(
    tx: &Connection,
    account: AccountId,
    sender_type: SenderType,
    sender_id: i64,
    key: Option<&str>,
) -> StoreResult<Option<Posted>> {
    let Some(key) = key else { return Ok(None) };
    let message = query_opt(
        tx,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = ?1 AND sender_type = ?2 AND sender_id = ?3 AND idempotency_key = ?4"
        ),
        params![account.0, sender_type.as_str(), sender_id, key],
        |row| row.message(),
    )?;
    replayed(tx, account, message)
}

/// The message an e-mail `Message-ID` already produced in the account.
fn replay_email(
    tx: &Connection,
    account: AccountId,
    id: Option<&str>,
) -> StoreResult<Option<Posted>> {
    let Some(id) = id else { return Ok(None) };
    let message = query_opt(
        tx,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = ?1 AND email_message_id = ?2"
        ),
        params![account.0, id],
        |row| row.message(),
    )?;
    replayed(tx, account, message)
}

/// Whether the account's contact is flagged as spam (all a message needs
/// of a contact whose conversation goes on).
fn contact_flagged(tx: &Connection, account: AccountId, contact: ContactId) -> StoreResult<bool> {
    query_one(
        tx,
        "SELECT spam FROM contacts WHERE account_id = ?1 AND id = ?2",
        [account.0, contact.0],
        "contact",
        |row| row.flag("spam"),
    )
}

/// The account's inbox, as a new conversation needs it.
fn inbox_ref(tx: &Connection, account: AccountId, inbox: InboxId) -> StoreResult<InboxRef> {
    query_one(
        tx,
        "SELECT kind FROM inboxes WHERE account_id = ?1 AND id = ?2",
        [account.0, inbox.0],
        "inbox",
        |row| {
            Ok(InboxRef {
                account,
                id: inbox,
                kind: inbox_kind(&row.text("kind")?)?,
            })
        },
    )
}

/// A contact's message: through the state machine, into the log.
/// `found` gives the inbox and the contact's flag, or why not (called after
/// the replays: a message already stored is answered as it was).
fn post_contact_message(
    tx: &Connection,
    account: AccountId,
    contact: ContactId,
    found: impl FnOnce(&Connection) -> StoreResult<(InboxRef, bool)>,
    message: &NewContactMessage,
    now: Timestamp,
) -> StoreResult<Posted> {
    if let Some(posted) = replay(
        tx,
        account,
        SenderType::Contact,
        contact.0,
        message.idempotency_key.as_deref(),
    )? {
        return Ok(posted);
    }
    if let Some(posted) = replay_email(tx, account, message.email_message_id.as_deref())? {
        return Ok(posted);
    }
    let attachments = attachment_request(&message.attachments)?;
    let (inbox, spam) = found(tx)?;
    let inbox = &inbox;
    let target = match message.conversation_id {
        _ if message.new_conversation => None,
        Some(id) => {
            let conversation = load_conversation(tx, account, id)?;
            if conversation.contact_id != contact {
                return Err(StoreError::NotFound("conversation"));
            }
            Some(conversation)
        }
        None => query_opt(
            tx,
            &format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations c
                 WHERE c.account_id = ?1 AND c.contact_id = ?2 AND c.inbox_id = ?3 ORDER BY c.id DESC LIMIT 1"
            ),
            [account.0, contact.0, inbox.id.0],
            |row| row.conversation(),
        )?,
    };
    let action = Action::ContactWrites { flagged: spam };
    let mut existing = None;
    if let Some(mut conversation) = target {
        let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
        if !outcome.start_new_conversation {
            let before = conversation.folder;
            apply_outcome(&mut conversation, &outcome);
            existing = Some((conversation, before));
        }
    }
    if !attachments.is_empty() {
        let conversation = existing.as_ref().map(|(c, _)| c.id);
        check_attachable(
            tx,
            account,
            conversation,
            Uploader::Contact(contact),
            &attachments,
        )?;
    }
    let (mut conversation, created_conversation, folder_changed) = match existing {
        Some((conversation, before)) => {
            let changed = before != conversation.folder;
            (conversation, false, changed)
        }
        None => {
            let folder = initial_folder(spam);
            let conversation = insert_conversation(
                tx,
                inbox,
                &load_contact(tx, account, contact)?,
                folder,
                message.subject.as_deref(),
                now,
            )?;
            (conversation, true, false)
        }
    };
    let mut stored = insert_message(
        tx,
        NewMessageRow {
            account,
            conversation: conversation.id,
            sender_type: SenderType::Contact,
            sender_id: contact.0,
            body: &message.body,
            full_body: message.full_body.as_deref(),
            private: false,
            idempotency_key: message.idempotency_key.as_deref(),
            email_message_id: message.email_message_id.as_deref(),
            delivery: None,
        },
        now,
    )?;
    stored.attachments = attach(
        tx,
        account,
        &stored,
        Uploader::Contact(contact),
        &attachments,
        now,
    )?;
    conversation.unread_count += 1;
    conversation.waiting_since = conversation.waiting_since.or(Some(now));
    conversation.last_activity_at = now;
    conversation.last_message_preview =
        Some(list_preview(&stored.body, false, &stored.attachments));
    // The row was read or written above; a contact's message does not
    // assign, so only the folder may have moved.
    write_conversation(tx, &conversation, !folder_changed)?;
    execute(
        tx,
        "UPDATE contacts SET last_seen_at = ?2 WHERE id = ?1",
        [contact.0, now.0],
    )?;
    let actor = Actor::Contact(contact);
    if created_conversation {
        append_event(
            tx,
            account,
            EventType::ConversationCreated,
            now,
            conversation_event(&conversation, "create", actor),
        )?;
    } else if folder_changed {
        append_event(
            tx,
            account,
            EventType::ConversationUpdated,
            now,
            conversation_event(&conversation, action.name(), actor),
        )?;
    }
    append_event(
        tx,
        account,
        EventType::MessageCreated,
        now,
        MessageCreated {
            conversation: &conversation,
            message: &stored,
        },
    )?;
    Ok(Posted {
        conversation,
        message: stored,
        created_conversation,
        created_message: true,
    })
}

/// A contact's message by the inbox's token and the session's hash, both
/// looked up here, in the writer's transaction (see
/// `Store::post_contact_message_by_token`).
pub(crate) fn post_by_token(
    tx: &Connection,
    inbox_token: &str,
    session_hash: &str,
    message: &NewContactMessage,
    now: Timestamp,
) -> StoreResult<Posted> {
    let found = query_opt(
        tx,
        "SELECT i.account_id, i.id, i.kind, s.contact_id, c.spam
         FROM inboxes i
         LEFT JOIN contact_sessions s ON s.token_hash = ?2 AND s.inbox_id = i.id
         LEFT JOIN contacts c ON c.id = s.contact_id AND c.account_id = i.account_id
         WHERE i.token = ?1",
        params![inbox_token, session_hash],
        |row| {
            let inbox = InboxRef {
                account: AccountId(row.int("account_id")?),
                id: InboxId(row.int("id")?),
                kind: inbox_kind(&row.text("kind")?)?,
            };
            let session = row.opt_int("contact_id")?;
            Ok((inbox, session, row.opt_int("spam")?))
        },
    )?;
    let (inbox, session, spam) = found.ok_or(StoreError::NotFound("inbox"))?;
    let contact = session.ok_or(StoreError::NotFound("contact session"))?;
    let (account, contact) = (inbox.account, ContactId(contact));
    let found = move |_: &Connection| {
        let spam = spam.ok_or(StoreError::NotFound("contact"))?;
        Ok((inbox, spam != 0))
    };
    post_contact_message(tx, account, contact, found, message, now)
}

/// An agent's reply or private note.
fn post_agent_message(
    tx: &Connection,
    account: AccountId,
    conversation: ConversationId,
    message: &NewAgentMessage,
    now: Timestamp,
) -> StoreResult<Posted> {
    if let Some(posted) = replay(
        tx,
        account,
        SenderType::Agent,
        message.agent_id.0,
        message.idempotency_key.as_deref(),
    )? {
        return Ok(posted);
    }
    let attachments = attachment_request(&message.attachments)?;
    let mut conversation = load_conversation(tx, account, conversation)?;
    let action = if message.private {
        Action::AgentNote
    } else {
        Action::AgentReplies
    };
    let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
    let before = conversation.folder;
    apply_outcome(&mut conversation, &outcome);
    // A reply on an e-mail or form ticket leaves by e-mail, when the contact
    // has an address; on chat, later, for a visitor who left the page.
    let has_email = may_mail(conversation.inbox_kind, message)
        && load_contact(tx, account, conversation.contact_id)?
            .email
            .is_some();
    if !attachments.is_empty() {
        let uploader = Uploader::Agent(message.agent_id);
        check_attachable(tx, account, Some(conversation.id), uploader, &attachments)?;
    }
    let plan = mail_plan(conversation.inbox_kind, message, has_email, now);
    let mail_id = plan.and(message.email_message_id.as_deref());
    let mut stored = insert_message(
        tx,
        NewMessageRow {
            account,
            conversation: conversation.id,
            sender_type: SenderType::Agent,
            sender_id: message.agent_id.0,
            body: &message.body,
            full_body: None,
            private: message.private,
            idempotency_key: message.idempotency_key.as_deref(),
            email_message_id: mail_id,
            delivery: plan
                .filter(|p| !p.unless_received)
                .map(|_| DeliveryStatus::Pending),
        },
        now,
    )?;
    stored.attachments = attach(
        tx,
        account,
        &stored,
        Uploader::Agent(message.agent_id),
        &attachments,
        now,
    )?;
    if let Some(plan) = plan {
        execute(
            tx,
            "INSERT INTO outbound_mail (account_id, message_id, status, next_attempt_at, created_at, unless_received)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5)",
            params![account.0, stored.id.0, plan.send_at.0, now.0, plan.unless_received],
        )?;
    }
    if !message.private {
        conversation.unread_count = 0;
        conversation.waiting_since = None;
        conversation.last_activity_at = now;
        conversation.last_message_preview =
            Some(list_preview(&stored.body, true, &stored.attachments));
    }
    // Read above; an agent's message does not assign.
    write_conversation(tx, &conversation, before == conversation.folder)?;
    if before != conversation.folder {
        let actor = Actor::Agent(message.agent_id);
        append_event(
            tx,
            account,
            EventType::ConversationUpdated,
            now,
            conversation_event(&conversation, action.name(), actor),
        )?;
    }
    append_event(
        tx,
        account,
        EventType::MessageCreated,
        now,
        MessageCreated {
            conversation: &conversation,
            message: &stored,
        },
    )?;
    Ok(Posted {
        conversation,
        message: stored,
        created_conversation: false,
        created_message: true,
    })
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn post_contact_message(
        &self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
        message: NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        self.writer
            .write_rerunnable(move |tx| {
                let found = |tx: &Connection| {
                    let spam = contact_flagged(tx, account, contact)?;
                    Ok((inbox_ref(tx, account, inbox)?, spam))
                };
                post_contact_message(tx, account, contact, found, &message, now)
            })
            .await
    }

    async fn post_agent_message(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: NewAgentMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        self.writer
            .write_rerunnable(move |tx| {
                post_agent_message(tx, account, conversation, &message, now)
            })
            .await
    }

    async fn email_thread(
        &self,
        account: AccountId,
        message_ids: &[String],
    ) -> StoreResult<Option<ConversationId>> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let ids =
            serde_json::Value::from(message_ids.iter().take(100).cloned().collect::<Vec<_>>());
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT conversation_id FROM messages
             WHERE account_id = $1 AND email_message_id IN (SELECT value FROM json_each($2))
             ORDER BY id DESC LIMIT 1",
        )
        .bind(account.0)
        .bind(ids.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(found.map(ConversationId))
    }

    async fn list_messages(
        &self,
        account: AccountId,
        conversation: ConversationId,
        include_private: bool,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Page<Message>> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        read_conversation(&mut conn, account, conversation).await?;
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = $1 AND id > $2 AND ($3 OR private = FALSE)
             ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(conversation.0)
            .bind(after.map(|m| m.0).unwrap_or(0))
            .bind(include_private)
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let mut items = rows
            .iter()
            .map(|row| row.message().map_err(db_error))
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|m| confab_store::cursor::Cursor { key: 0, id: m.id.0 })
        } else {
            None
        };
        fill_attachments(&mut conn, &mut items).await?;
        Ok(Page { items, next_cursor })
    }
}
