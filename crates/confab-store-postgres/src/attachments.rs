//! Uploaded files: recorded unattached, taken by a message in its own
//! transaction, forgotten when no message wants them.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::attachment_refused;
use confab_store::rows::{
    ATTACHMENT_COLUMNS, ATTACHMENT_INFO_COLUMNS, ATTACHMENT_RETURNING, EntityRow,
};
use confab_store::*;
use sqlx::PgConnection;

use crate::conversations::load_conversation;
use crate::{PostgresStore, db_error};

/// Attaches unattached uploads of `uploader` (for a contact: their uploads
/// through the API or by e-mail) to a new message; `Invalid` if any of them
/// is not such an upload (the caller's transaction is then dropped).
pub(crate) async fn attach(
    tx: &mut PgConnection,
    account: AccountId,
    message: &Message,
    uploader: Uploader,
    ids: &[AttachmentId],
    now: Timestamp,
) -> StoreResult<Vec<Attachment>> {
    let (kind, uploader_id) = uploader.parts();
    // A contact's message takes what they uploaded and what their e-mail carried.
    let other_kind = match uploader {
        Uploader::Contact(_) | Uploader::Email(_) => "email",
        Uploader::Agent(_) => "agent",
    };
    let mut attached = Vec::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(attached);
    }
    let sql = format!(
        "UPDATE attachments SET message_id = $1, conversation_id = $2, attached_at = $3
         WHERE id = $4 AND account_id = $5 AND message_id IS NULL AND attached_at IS NULL
           AND (conversation_id IS NULL OR conversation_id = $2)
           AND uploader_id = $6 AND uploader_kind IN ($7, $8)
         RETURNING {ATTACHMENT_INFO_COLUMNS}"
    );
    for id in ids {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(message.id.0)
            .bind(message.conversation_id.0)
            .bind(now.0)
            .bind(id.0)
            .bind(account.0)
            .bind(uploader_id)
            .bind(kind)
            .bind(other_kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        match row {
            Some(row) => attached.push(row.attachment_info().map_err(db_error)?.1),
            None => return Err(attachment_refused(*id)),
        }
    }
    Ok(attached)
}

/// Puts their attachments on messages.
pub(crate) async fn fill_attachments(
    conn: &mut PgConnection,
    messages: &mut [Message],
) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let sql = format!(
        "SELECT {ATTACHMENT_INFO_COLUMNS} FROM attachments WHERE message_id = ANY($1) ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let found = rows
        .iter()
        .map(|row| row.attachment_info().map_err(db_error))
        .collect::<StoreResult<Vec<_>>>()?;
    confab_store::plan::place_attachments(messages, found);
    Ok(())
}

/// The stored attachments of one message, for sending it.
pub(crate) async fn stored_attachments(
    conn: &mut PgConnection,
    message: MessageId,
) -> StoreResult<Vec<StoredAttachment>> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments a LEFT JOIN messages m ON m.id = a.message_id
         WHERE a.message_id = $1 ORDER BY a.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(message.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| row.stored_attachment().map_err(db_error))
        .collect()
}

#[async_trait]
impl AttachmentStore for PostgresStore {
    async fn create_attachment(
        &self,
        account: AccountId,
        attachment: NewAttachment,
        now: Timestamp,
    ) -> StoreResult<StoredAttachment> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        if let Some(conversation) = attachment.conversation_id {
            load_conversation(&mut conn, account, conversation).await?;
        }
        let (kind, uploader_id) = attachment.uploader.parts();
        let sql = format!(
            "INSERT INTO attachments (account_id, conversation_id, uploader_kind, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {ATTACHMENT_RETURNING}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(attachment.conversation_id.map(|c| c.0))
            .bind(kind)
            .bind(uploader_id)
            .bind(&attachment.filename)
            .bind(&attachment.content_type)
            .bind(attachment.size_bytes)
            .bind(&attachment.sha256)
            .bind(&attachment.storage_key)
            .bind(now.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        row.stored_attachment().map_err(db_error)
    }

    async fn get_attachment(
        &self,
        account: AccountId,
        id: AttachmentId,
    ) -> StoreResult<StoredAttachment> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a LEFT JOIN messages m ON m.id = a.message_id
             WHERE a.account_id = $1 AND a.id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("attachment"))?;
        row.stored_attachment().map_err(db_error)
    }

    async fn purge_unattached_attachments(
        &self,
        created_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredAttachment>> {
        // Rows a message is attaching right now are locked: skipped, and the
        // re-checked condition keeps an attached row from being deleted.
        let sql = format!(
            "DELETE FROM attachments WHERE id IN (
                 SELECT id FROM attachments
                 WHERE message_id IS NULL AND (created_at <= $1 OR attached_at IS NOT NULL)
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
               AND message_id IS NULL
             RETURNING {ATTACHMENT_RETURNING}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(created_before.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.stored_attachment().map_err(db_error))
            .collect()
    }
}
