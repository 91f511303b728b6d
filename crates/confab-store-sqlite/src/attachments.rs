//! Uploaded files: recorded unattached, taken by a message in its own
//! transaction, forgotten when no message wants them.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::attachment_refused;
use confab_store::rows::{
    ATTACHMENT_COLUMNS, ATTACHMENT_INFO_COLUMNS, ATTACHMENT_RETURNING, EntityRow,
};
use confab_store::*;
use rusqlite::{Connection, named_params, params};

use crate::conversations::load_conversation;
use crate::lite::{query_all, query_one};
use crate::{SqliteStore, db_error};

/// The uploads a message may take: in the account, not yet attached, in no
/// conversation or in the message's, the sender's own (for a contact: their
/// uploads through the API or by e-mail). Named parameters `:id`,
/// `:account`, `:conversation`, `:uploader_id`, `:kind`, `:other_kind`
/// ([`uploader_kinds`]).
const ATTACHABLE: &str =
    "id = :id AND account_id = :account AND message_id IS NULL AND attached_at IS NULL
    AND (conversation_id IS NULL OR conversation_id IS :conversation)
    AND uploader_id = :uploader_id AND uploader_kind IN (:kind, :other_kind)";

/// The uploader's id, kind, and the other kind of upload its messages take
/// (a contact's message takes what they uploaded and what their e-mail
/// carried).
fn uploader_kinds(uploader: Uploader) -> (i64, &'static str, &'static str) {
    let (kind, uploader_id) = uploader.parts();
    let other_kind = match uploader {
        Uploader::Contact(_) | Uploader::Email(_) => "email",
        Uploader::Agent(_) => "agent",
    };
    (uploader_id, kind, other_kind)
}

/// Attaches unattached uploads of `uploader` (see [`ATTACHABLE`]) to a new
/// message; `Invalid` if any of them is not such an upload, and the
/// caller's change is rolled back.
pub(crate) fn attach(
    tx: &Connection,
    account: AccountId,
    message: &Message,
    uploader: Uploader,
    ids: &[AttachmentId],
    now: Timestamp,
) -> StoreResult<Vec<Attachment>> {
    if ids.is_empty() {
        // Most messages: nothing to build a statement for.
        return Ok(Vec::new());
    }
    let (uploader_id, kind, other_kind) = uploader_kinds(uploader);
    let sql = format!(
        "UPDATE attachments SET message_id = :message, conversation_id = :conversation, attached_at = :now
         WHERE {ATTACHABLE} RETURNING {ATTACHMENT_INFO_COLUMNS}"
    );
    let mut attached = Vec::with_capacity(ids.len());
    for id in ids {
        let found = crate::lite::query_opt(
            tx,
            &sql,
            named_params! {
                ":message": message.id.0,
                ":conversation": message.conversation_id.0,
                ":now": now.0,
                ":id": id.0,
                ":account": account.0,
                ":uploader_id": uploader_id,
                ":kind": kind,
                ":other_kind": other_kind,
            },
            |row| row.attachment_info(),
        )?;
        match found {
            Some((_, attachment)) => attached.push(attachment),
            None => return Err(attachment_refused(*id)),
        }
    }
    Ok(attached)
}

/// Whether [`attach`] would take every one of `ids` for a message of
/// `uploader` in `conversation` (`None`: one about to be started): the same
/// conditions, read before the message's first write, so that a refused
/// file fails the job before it changed anything (on the one writer
/// thread nothing changes between this read and the attaching; a writer
/// batch undoes and reruns all its messages when one fails after writing).
pub(crate) fn check_attachable(
    tx: &Connection,
    account: AccountId,
    conversation: Option<ConversationId>,
    uploader: Uploader,
    ids: &[AttachmentId],
) -> StoreResult<()> {
    let (uploader_id, kind, other_kind) = uploader_kinds(uploader);
    let sql = format!("SELECT 1 AS found FROM attachments WHERE {ATTACHABLE}");
    for id in ids {
        let found = crate::lite::query_opt(
            tx,
            &sql,
            named_params! {
                ":id": id.0,
                ":account": account.0,
                ":conversation": conversation.map(|c| c.0),
                ":uploader_id": uploader_id,
                ":kind": kind,
                ":other_kind": other_kind,
            },
            |row| row.int("found"),
        )?;
        if found.is_none() {
            return Err(attachment_refused(*id));
        }
    }
    Ok(())
}

/// The attachments of one message, in upload order (on the writer).
pub(crate) fn message_attachments(
    tx: &Connection,
    message: MessageId,
) -> StoreResult<Vec<Attachment>> {
    let found = query_all(
        tx,
        &format!(
            "SELECT {ATTACHMENT_INFO_COLUMNS} FROM attachments WHERE message_id = ?1 ORDER BY id"
        ),
        [message.0],
        |row| row.attachment_info(),
    )?;
    Ok(found
        .into_iter()
        .map(|(_, attachment)| attachment)
        .collect())
}

/// The stored attachments of one message, for sending it (on the writer).
pub(crate) fn stored_attachments(
    tx: &Connection,
    message: MessageId,
) -> StoreResult<Vec<StoredAttachment>> {
    query_all(
        tx,
        &format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a LEFT JOIN messages m ON m.id = a.message_id
             WHERE a.message_id = ?1 ORDER BY a.id"
        ),
        [message.0],
        |row| row.stored_attachment(),
    )
}

/// Puts their attachments on messages read from the pool.
pub(crate) async fn fill_attachments(
    conn: &mut sqlx::SqliteConnection,
    messages: &mut [Message],
) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids = serde_json::Value::from(messages.iter().map(|m| m.id.0).collect::<Vec<_>>());
    let sql = format!(
        "SELECT {ATTACHMENT_INFO_COLUMNS} FROM attachments
         WHERE message_id IN (SELECT value FROM json_each($1)) ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids.to_string())
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

fn create(
    tx: &Connection,
    account: AccountId,
    attachment: NewAttachment,
    now: Timestamp,
) -> StoreResult<StoredAttachment> {
    if let Some(conversation) = attachment.conversation_id {
        load_conversation(tx, account, conversation)?;
    }
    let (kind, uploader_id) = attachment.uploader.parts();
    query_one(
        tx,
        &format!(
            "INSERT INTO attachments (account_id, conversation_id, uploader_kind, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING {ATTACHMENT_RETURNING}"
        ),
        params![
            account.0,
            attachment.conversation_id.map(|c| c.0),
            kind,
            uploader_id,
            attachment.filename,
            attachment.content_type,
            attachment.size_bytes,
            attachment.sha256,
            attachment.storage_key,
            now.0,
        ],
        "attachment",
        |row| row.stored_attachment(),
    )
}

fn purge(
    tx: &Connection,
    created_before: Timestamp,
    limit: u32,
) -> StoreResult<Vec<StoredAttachment>> {
    query_all(
        tx,
        &format!(
            "DELETE FROM attachments WHERE id IN (
                 SELECT id FROM attachments
                 WHERE message_id IS NULL AND (created_at <= ?1 OR attached_at IS NOT NULL)
                 ORDER BY id LIMIT ?2)
             RETURNING {ATTACHMENT_RETURNING}"
        ),
        [created_before.0, i64::from(limit)],
        |row| row.stored_attachment(),
    )
}

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn create_attachment(
        &self,
        account: AccountId,
        attachment: NewAttachment,
        now: Timestamp,
    ) -> StoreResult<StoredAttachment> {
        self.writer
            .write(move |tx| create(tx, account, attachment, now))
            .await
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
            .fetch_optional(&self.reader)
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
        self.writer
            .write(move |tx| purge(tx, created_before, limit))
            .await
    }
}
