//! The outbox of replies that leave by e-mail. Claims lease rows with
//! `FOR UPDATE SKIP LOCKED`, so instances sharing the database never send
//! the same reply at once.

use async_trait::async_trait;
use confab_domain::validate::InvalidField;
use confab_domain::*;
use confab_store::plan::message_event;
use confab_store::rows::{EntityRow, MESSAGE_COLUMNS};
use confab_store::*;
use sqlx::PgConnection;

use crate::accounts::load_inbox;
use crate::contacts::load_contact;
use crate::conversations::load_conversation;
use crate::events::append_event;
use crate::{PostgresStore, db_error};

async fn load_message(
    conn: &mut PgConnection,
    account: AccountId,
    id: MessageId,
) -> StoreResult<Message> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND id = $2");
    let mut message = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("message"))?
        .message()
        .map_err(db_error)?;
    crate::attachments::fill_attachments(conn, std::slice::from_mut(&mut message)).await?;
    Ok(message)
}

/// Sets a message's delivery; logs `message.updated` when it changed.
async fn set_delivery(
    tx: &mut PgConnection,
    account: AccountId,
    message: MessageId,
    status: DeliveryStatus,
    now: Timestamp,
) -> StoreResult<Message> {
    let mut message = load_message(tx, account, message).await?;
    if message.delivery == Some(status) {
        return Ok(message);
    }
    sqlx::query("UPDATE messages SET delivery = $2 WHERE id = $1")
        .bind(message.id.0)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    message.delivery = Some(status);
    let conversation = load_conversation(tx, account, message.conversation_id).await?;
    append_event(
        tx,
        account,
        EventType::MessageUpdated,
        now,
        message_event(&conversation, &message),
    )
    .await?;
    Ok(message)
}

async fn finish(
    tx: &mut PgConnection,
    id: i64,
    outcome: &MailOutcome,
    now: Timestamp,
) -> StoreResult<()> {
    let (status, error, next, sent) = match outcome {
        MailOutcome::Delivered => (DeliveryStatus::Delivered, None, None, Some(now.0)),
        MailOutcome::Retry { error, retry_at } => (
            DeliveryStatus::Pending,
            Some(error.as_str()),
            Some(retry_at.0),
            None,
        ),
        MailOutcome::Failed { error } => (DeliveryStatus::Failed, Some(error.as_str()), None, None),
    };
    let row: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE outbound_mail SET status = $2, last_error = $3, next_attempt_at = $4, sent_at = $5
         WHERE id = $1 AND status = 'pending' RETURNING account_id, message_id",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(error)
    .bind(next)
    .bind(sent)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    if let Some((account, message)) = row {
        set_delivery(tx, AccountId(account), MessageId(message), status, now).await?;
    }
    Ok(())
}

#[async_trait]
impl MailStore for PostgresStore {
    async fn claim_outbound_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboundMail>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let claimed: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "WITH due AS MATERIALIZED (
                 SELECT id FROM outbound_mail WHERE status = 'pending' AND next_attempt_at <= $1
                 ORDER BY next_attempt_at, id LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbound_mail SET attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT id FROM due)
             RETURNING id, account_id, message_id, attempts",
        )
        .bind(now.0)
        .bind(lease_until.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut jobs = Vec::with_capacity(claimed.len());
        for (id, account, message, attempts) in claimed {
            let account = AccountId(account);
            let message = load_message(&mut tx, account, MessageId(message)).await?;
            let conversation = load_conversation(&mut tx, account, message.conversation_id).await?;
            let inbox = load_inbox(&mut tx, account, conversation.inbox_id).await?;
            let contact = load_contact(&mut tx, account, conversation.contact_id).await?;
            let references: Vec<String> = sqlx::query_scalar(
                "SELECT email_message_id FROM messages
                 WHERE conversation_id = $1 AND id < $2 AND email_message_id IS NOT NULL ORDER BY id",
            )
            .bind(conversation.id.0)
            .bind(message.id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            let Some(to) = contact.email.clone() else {
                // The address was removed since: nothing to send to.
                let error = "the contact has no e-mail address".to_string();
                finish(&mut tx, id, &MailOutcome::Failed { error }, now).await?;
                continue;
            };
            let attachments = crate::attachments::stored_attachments(&mut tx, message.id).await?;
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
        tx.commit().await.map_err(db_error)?;
        Ok(jobs)
    }

    async fn finish_outbound_mail(
        &self,
        id: i64,
        outcome: MailOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        finish(&mut tx, id, &outcome, now).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn retry_outbound_mail(
        &self,
        account: AccountId,
        message: MessageId,
        now: Timestamp,
    ) -> StoreResult<Message> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let requeued = sqlx::query(
            "UPDATE outbound_mail SET status = 'pending', next_attempt_at = $3, last_error = NULL
             WHERE account_id = $1 AND message_id = $2 AND status = 'failed'",
        )
        .bind(account.0)
        .bind(message.0)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if requeued.rows_affected() == 0 {
            load_message(&mut tx, account, message).await?;
            return Err(InvalidField::new("message", "is not a failed e-mail reply").into());
        }
        let message = set_delivery(&mut tx, account, message, DeliveryStatus::Pending, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(message)
    }

    async fn contact_received(
        &self,
        account: AccountId,
        contact: ContactId,
        message: MessageId,
    ) -> StoreResult<u64> {
        let dropped = sqlx::query(
            "DELETE FROM outbound_mail
             WHERE account_id = $1 AND unless_received AND status = 'pending' AND attempts = 0
               AND message_id IN (
                   SELECT m.id FROM messages r
                   JOIN conversations c ON c.id = r.conversation_id AND c.contact_id = $2
                   JOIN messages m ON m.conversation_id = r.conversation_id AND m.id <= r.id
                   WHERE r.account_id = $1 AND r.id = $3)",
        )
        .bind(account.0)
        .bind(contact.0)
        .bind(message.0)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(dropped.rows_affected())
    }
}
