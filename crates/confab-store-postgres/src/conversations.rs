//! Conversations: loading, saving, folder actions, assignment, tags, counts.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{
    apply_outcome, conversation_event, conversation_search_text, folder_action, join_tags,
    renamed_tags,
};
use confab_store::rows::{CONVERSATION_COLUMNS, CONVERSATION_RETURNING, EntityRow, TAG_COUNTS};
use confab_store::*;
use sqlx::PgConnection;

use crate::contacts::{lock_contact, save_contact};
use crate::events::append_event;
use crate::{PostgresStore, db_error};

/// Loads a conversation of the account (without locking it).
pub(crate) async fn load_conversation(
    conn: &mut PgConnection,
    account: AccountId,
    id: ConversationId,
) -> StoreResult<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.account_id = $1 AND c.id = $2"
    );
    fetch_conversation(conn, sql, account, id).await
}

/// Loads a conversation the transaction will change, locking its row until
/// the transaction ends (after its contact's, before its account's).
pub(crate) async fn lock_conversation(
    tx: &mut PgConnection,
    account: AccountId,
    id: ConversationId,
) -> StoreResult<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.account_id = $1 AND c.id = $2
         FOR NO KEY UPDATE"
    );
    fetch_conversation(tx, sql, account, id).await
}

async fn fetch_conversation(
    conn: &mut PgConnection,
    sql: String,
    account: AccountId,
    id: ConversationId,
) -> StoreResult<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("conversation"))?;
    row.conversation().map_err(db_error)
}

/// Writes a conversation's changeable fields back.
pub(crate) async fn save_conversation(
    tx: &mut PgConnection,
    conversation: &Conversation,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE conversations SET folder = $3, assignee_id = $4, tags = $5, subject = $6, snoozed_until = $7,
                unread_count = $8, waiting_since = $9, last_activity_at = $10, last_message_preview = $11
         WHERE account_id = $1 AND id = $2",
    )
    .bind(conversation.account_id.0)
    .bind(conversation.id.0)
    .bind(conversation.folder.as_str())
    .bind(conversation.assignee_id.map(|a| a.0))
    .bind(join_tags(&conversation.tags))
    .bind(&conversation.subject)
    .bind(conversation.snoozed_until.map(|t| t.0))
    .bind(conversation.unread_count)
    .bind(conversation.waiting_since.map(|t| t.0))
    .bind(conversation.last_activity_at.0)
    .bind(&conversation.last_message_preview)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Starts a conversation: the next per-account number, the given folder.
pub(crate) async fn insert_conversation(
    tx: &mut PgConnection,
    inbox: &Inbox,
    contact: &Contact,
    folder: Folder,
    subject: Option<&str>,
    now: Timestamp,
) -> StoreResult<Conversation> {
    let number: i64 = sqlx::query_scalar(
        "UPDATE accounts SET last_conversation_number = last_conversation_number + 1 WHERE id = $1 RETURNING last_conversation_number",
    )
    .bind(inbox.account_id.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    let sql = format!(
        "INSERT INTO conversations (account_id, number, inbox_id, inbox_kind, contact_id, folder, subject, last_activity_at, created_at, search_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING {CONVERSATION_RETURNING}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(inbox.account_id.0)
        .bind(number)
        .bind(inbox.id.0)
        .bind(inbox.kind.as_str())
        .bind(contact.id.0)
        .bind(folder.as_str())
        .bind(subject)
        .bind(now.0)
        .bind(conversation_search_text(number, subject, contact))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    row.conversation().map_err(db_error)
}

/// Replaces the conversation's rows in the tag index with its tags.
async fn write_tags(tx: &mut PgConnection, conversation: &Conversation) -> StoreResult<()> {
    sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
        .bind(conversation.id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    if !conversation.tags.is_empty() {
        sqlx::query(
            "INSERT INTO conversation_tags (conversation_id, account_id, tag)
             SELECT $1, $2, UNNEST($3::text[])",
        )
        .bind(conversation.id.0)
        .bind(conversation.account_id.0)
        .bind(&conversation.tags)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Saves a changed conversation and logs `conversation.updated`.
pub(crate) async fn save_and_log(
    tx: &mut PgConnection,
    conversation: &Conversation,
    action: &str,
    actor: Actor,
    now: Timestamp,
) -> StoreResult<()> {
    save_conversation(tx, conversation).await?;
    // Remember when it went to the trash (for the purge), forget on the way out.
    sqlx::query(
        "UPDATE conversations SET deleted_at = CASE WHEN folder = 'deleted' THEN COALESCE(deleted_at, $2) ELSE NULL END WHERE id = $1",
    )
    .bind(conversation.id.0)
    .bind(now.0)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    append_event(
        tx,
        conversation.account_id,
        EventType::ConversationUpdated,
        now,
        conversation_event(conversation, action, actor),
    )
    .await?;
    Ok(())
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn list_conversations(
        &self,
        account: AccountId,
        query: &ConversationQuery,
    ) -> StoreResult<Page<ListedConversation>> {
        crate::list::list(&self.pool, account, query).await
    }

    async fn count_conversations(
        &self,
        account: AccountId,
        scope: Scope,
        viewer: Option<AgentId>,
    ) -> StoreResult<FolderCounts> {
        crate::counts::count(&self.pool, account, scope, viewer).await
    }

    async fn get_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
    ) -> StoreResult<Conversation> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        load_conversation(&mut conn, account, id).await
    }

    async fn act_on_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        action: FolderAction,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let changes_contact = matches!(action, FolderAction::MarkSpam | FolderAction::NotSpam);
        let action = folder_action(action, now)?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Spam actions change the contact too: lock it first, like every
        // transaction that changes a contact and its conversations.
        let mut contact = None;
        if changes_contact {
            let contact_id: Option<i64> = sqlx::query_scalar(
                "SELECT contact_id FROM conversations WHERE account_id = $1 AND id = $2",
            )
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            let contact_id = contact_id.ok_or(StoreError::NotFound("conversation"))?;
            contact = Some(lock_contact(&mut tx, account, ContactId(contact_id)).await?);
        }
        let mut conversation = lock_conversation(&mut tx, account, id).await?;
        let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
        apply_outcome(&mut conversation, &outcome);
        if let Some(spam) = outcome.contact_spam {
            let mut contact = match contact {
                Some(contact) => contact,
                None => lock_contact(&mut tx, account, conversation.contact_id).await?,
            };
            if contact.spam != spam {
                contact.spam = spam;
                save_contact(&mut tx, &contact).await?;
                append_event(
                    &mut tx,
                    account,
                    EventType::ContactUpdated,
                    now,
                    confab_store::plan::contact_event(&contact),
                )
                .await?;
            }
        }
        save_and_log(&mut tx, &conversation, action.name(), actor, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(conversation)
    }

    async fn assign_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        assignee: Option<AgentId>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut conversation = lock_conversation(&mut tx, account, id).await?;
        if let Some(agent) = assignee {
            let exists: Option<i64> = sqlx::query_scalar(
                // Held until commit: the agent cannot be deleted under us.
                "SELECT id FROM agents WHERE account_id = $1 AND id = $2 FOR KEY SHARE",
            )
            .bind(account.0)
            .bind(agent.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            if exists.is_none() {
                return Err(StoreError::NotFound("agent"));
            }
        }
        conversation.assignee_id = assignee;
        save_and_log(&mut tx, &conversation, "assign", actor, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(conversation)
    }

    async fn set_tags(
        &self,
        account: AccountId,
        id: ConversationId,
        tags: &[String],
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut conversation = lock_conversation(&mut tx, account, id).await?;
        conversation.tags = tags.to_vec();
        write_tags(&mut tx, &conversation).await?;
        save_and_log(&mut tx, &conversation, "tags", actor, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(conversation)
    }

    async fn list_tags(&self, account: AccountId) -> StoreResult<Vec<TagCount>> {
        let rows = sqlx::query(TAG_COUNTS)
            .bind(account.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.tag_count().map_err(db_error))
            .collect()
    }

    async fn rename_tag(
        &self,
        account: AccountId,
        from: &str,
        to: Option<&str>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Every row locked first, in id order, before any event takes the
        // account's lock (the order the other writes keep).
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.account_id = $1 AND c.id IN
                   (SELECT conversation_id FROM conversation_tags WHERE account_id = $1 AND tag = $2)
             ORDER BY c.id FOR NO KEY UPDATE"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(from)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut changed = 0;
        for row in &rows {
            let mut conversation = row.conversation().map_err(db_error)?;
            // Read again after the lock: a concurrent edit may have taken the tag off.
            let tags = renamed_tags(&conversation.tags, from, to);
            if tags == conversation.tags {
                continue;
            }
            conversation.tags = tags;
            write_tags(&mut tx, &conversation).await?;
            save_and_log(&mut tx, &conversation, "tags", actor, now).await?;
            changed += 1;
        }
        if changed == 0 {
            return Err(StoreError::NotFound("tag"));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(changed)
    }

    async fn mark_read(
        &self,
        account: AccountId,
        id: ConversationId,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut conversation = lock_conversation(&mut tx, account, id).await?;
        if conversation.unread_count != 0 {
            conversation.unread_count = 0;
            save_and_log(&mut tx, &conversation, "read", actor, now).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(conversation)
    }

    async fn contact_conversations(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> StoreResult<Vec<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.account_id = $1 AND c.contact_id = $2 ORDER BY c.id DESC LIMIT 100"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(contact.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.conversation().map_err(db_error))
            .collect()
    }
}
