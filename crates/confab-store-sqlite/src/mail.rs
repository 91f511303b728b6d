//! The outbox of replies that leave by e-mail.

use async_trait::async_trait;
use confab_domain::validate::InvalidField;
use confab_domain::*;
use confab_store::plan::message_event;
use confab_store::rows::{EntityRow, MESSAGE_COLUMNS};
use confab_store::*;
use rusqlite::{Connection, params};

use crate::SqliteStore;
use crate::accounts::load_inbox;
use crate::contacts::load_contact;
use crate::conversations::load_conversation;
use crate::events::append_event;
use crate::lite::{execute, query_all, query_one, query_opt};

#[async_trait]
impl MailStore for SqliteStore {
    async fn claim_outbound_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboundMail>> {
        self.writer
            .write(move |tx| claim(tx, now, lease_until, limit))
            .await
    }

    async fn finish_outbound_mail(
        &self,
        id: i64,
        outcome: MailOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.writer
            .write(move |tx| finish(tx, id, outcome, now))
            .await
    }

    async fn retry_outbound_mail(
        &self,
        account: AccountId,
        message: MessageId,
        now: Timestamp,
    ) -> StoreResult<Message> {
        self.writer
            .write(move |tx| retry(tx, account, message, now))
            .await
    }

    async fn contact_received(
        &self,
        account: AccountId,
        contact: ContactId,
        message: MessageId,
    ) -> StoreResult<u64> {
        // Most receipts find nothing to drop: look before queueing a write.
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM outbound_mail WHERE account_id = $1 AND unless_received = 1
                 AND status = 'pending' AND attempts = 0 LIMIT 1",
        )
        .bind(account.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(crate::db_error)?;
        if waiting.is_none() {
            return Ok(0);
        }
        self.writer
            .write(move |tx| {
                let dropped = execute(
                    tx,
                    "DELETE FROM outbound_mail
                     WHERE account_id = ?1 AND unless_received = 1 AND status = 'pending' AND attempts = 0
                       AND message_id IN (
                           SELECT m.id FROM messages r
                           JOIN conversations c ON c.id = r.conversation_id AND c.contact_id = ?2
                           JOIN messages m ON m.conversation_id = r.conversation_id AND m.id <= r.id
                           WHERE r.account_id = ?1 AND r.id = ?3)",
                    [account.0, contact.0, message.0],
                )?;
                Ok(dropped as u64)
            })
            .await
    }
}

fn load_message(tx: &Connection, account: AccountId, id: MessageId) -> StoreResult<Message> {
    let mut message = query_one(
        tx,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = ?1 AND id = ?2"),
        [account.0, id.0],
        "message",
        |row| row.message(),
    )?;
    message.attachments = crate::attachments::message_attachments(tx, message.id)?;
    Ok(message)
}

fn claim(
    tx: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<OutboundMail>> {
    let claimed = query_all(
        tx,
        "UPDATE outbound_mail SET attempts = attempts + 1, next_attempt_at = ?2
         WHERE id IN (SELECT id FROM outbound_mail WHERE status = 'pending' AND next_attempt_at <= ?1
                      ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING id, account_id, message_id, attempts",
        [now.0, lease_until.0, i64::from(limit)],
        |row| {
            Ok((
                row.int("id")?,
                AccountId(row.int("account_id")?),
                MessageId(row.int("message_id")?),
                row.int("attempts")?,
            ))
        },
    )?;
    let mut jobs = Vec::with_capacity(claimed.len());
    for (id, account, message, attempts) in claimed {
        let message = load_message(tx, account, message)?;
        let conversation = load_conversation(tx, account, message.conversation_id)?;
        let inbox = load_inbox(tx, account, conversation.inbox_id)?;
        let contact = load_contact(tx, account, conversation.contact_id)?;
        let references = query_all(
            tx,
            "SELECT email_message_id FROM messages
             WHERE conversation_id = ?1 AND id < ?2 AND email_message_id IS NOT NULL ORDER BY id",
            [conversation.id.0, message.id.0],
            |row| row.text("email_message_id"),
        )?;
        let Some(to) = contact.email.clone() else {
            // The address was removed since: nothing to send to.
            finish(
                tx,
                id,
                MailOutcome::Failed {
                    error: "the contact has no e-mail address".into(),
                },
                now,
            )?;
            continue;
        };
        let attachments = crate::attachments::stored_attachments(tx, message.id)?;
        jobs.push(OutboundMail {
            id,
            account,
            inbox,
            conversation,
            message,
            to,
            to_name: contact.name,
            references,
            attempts,
            attachments,
        });
    }
    Ok(jobs)
}

fn finish(tx: &Connection, id: i64, outcome: MailOutcome, now: Timestamp) -> StoreResult<()> {
    let (status, error, next, sent) = match &outcome {
        MailOutcome::Delivered => (DeliveryStatus::Delivered, None, None, Some(now.0)),
        MailOutcome::Retry { error, retry_at } => (
            DeliveryStatus::Pending,
            Some(error.as_str()),
            Some(retry_at.0),
            None,
        ),
        MailOutcome::Failed { error } => (DeliveryStatus::Failed, Some(error.as_str()), None, None),
    };
    let row = query_opt(
        tx,
        "UPDATE outbound_mail SET status = ?2, last_error = ?3, next_attempt_at = ?4, sent_at = ?5
         WHERE id = ?1 AND status = 'pending' RETURNING account_id, message_id",
        params![id, status.as_str(), error, next, sent],
        |row| {
            Ok((
                AccountId(row.int("account_id")?),
                MessageId(row.int("message_id")?),
            ))
        },
    )?;
    let Some((account, message)) = row else {
        return Ok(());
    };
    set_delivery(tx, account, message, status, now)?;
    Ok(())
}

/// Sets a message's delivery; logs `message.updated` when it changed.
fn set_delivery(
    tx: &Connection,
    account: AccountId,
    message: MessageId,
    status: DeliveryStatus,
    now: Timestamp,
) -> StoreResult<Message> {
    let mut message = load_message(tx, account, message)?;
    if message.delivery == Some(status) {
        return Ok(message);
    }
    execute(
        tx,
        "UPDATE messages SET delivery = ?2 WHERE id = ?1",
        params![message.id.0, status.as_str()],
    )?;
    message.delivery = Some(status);
    let conversation = load_conversation(tx, account, message.conversation_id)?;
    append_event(
        tx,
        account,
        EventType::MessageUpdated,
        now,
        message_event(&conversation, &message),
    )?;
    Ok(message)
}

fn retry(
    tx: &Connection,
    account: AccountId,
    message: MessageId,
    now: Timestamp,
) -> StoreResult<Message> {
    let requeued = execute(
        tx,
        "UPDATE outbound_mail SET status = 'pending', next_attempt_at = ?3, last_error = NULL
         WHERE account_id = ?1 AND message_id = ?2 AND status = 'failed'",
        [account.0, message.0, now.0],
    )?;
    if requeued == 0 {
        load_message(tx, account, message)?;
        return Err(InvalidField::new("message", "is not a failed e-mail reply").into());
    }
    set_delivery(tx, account, message, DeliveryStatus::Pending, now)
}
