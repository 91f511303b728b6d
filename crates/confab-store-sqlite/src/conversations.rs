//! Conversations: loading, saving, folder actions, assignment, tags, counts.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{
    apply_outcome, conversation_event, conversation_search_text, folder_action, join_tags,
    renamed_tags,
};
use confab_store::rows::{CONVERSATION_COLUMNS, CONVERSATION_RETURNING, EntityRow, TAG_COUNTS};
use confab_store::*;
use rusqlite::{Connection, params};
use sqlx::SqliteConnection;

use crate::contacts::{load_contact, save_contact};
use crate::events::append_event;
use crate::lite::{execute, query_all, query_one};
use crate::{SqliteStore, db_error};

/// Loads a conversation of the account for a read.
pub(crate) async fn read_conversation(
    conn: &mut SqliteConnection,
    account: AccountId,
    id: ConversationId,
) -> StoreResult<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.account_id = $1 AND c.id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("conversation"))?;
    row.conversation().map_err(db_error)
}

/// Loads a conversation of the account inside a write.
pub(crate) fn load_conversation(
    tx: &Connection,
    account: AccountId,
    id: ConversationId,
) -> StoreResult<Conversation> {
    query_one(
        tx,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.account_id = ?1 AND c.id = ?2"
        ),
        [account.0, id.0],
        "conversation",
        |row| row.conversation(),
    )
}

/// Writes a conversation's changeable fields back.
///
/// When folder and assignee stay as they are (a message on a conversation,
/// the common case) they are left out of the statement: setting them runs
/// the folder-count trigger (and the assignee's foreign key), so SQLite
/// opens a statement journal — which journals every page the statement
/// touches and makes FTS5 write its pending index out as a new segment. That
/// statement was over a third of the writer's time under ingest. (`RETURNING`
/// would do the same: SQLite runs it as a trigger.)
pub(crate) fn save_conversation(tx: &Connection, conversation: &Conversation) -> StoreResult<()> {
    let (account, id) = (conversation.account_id.0, conversation.id.0);
    let assignee = conversation.assignee_id.map(|a| a.0);
    let (folder, assigned): (String, Option<i64>) = query_one(
        tx,
        "SELECT folder, assignee_id FROM conversations WHERE account_id = ?1 AND id = ?2",
        [account, id],
        "conversation",
        |row| Ok((row.text("folder")?, row.opt_int("assignee_id")?)),
    )?;
    let unmoved = folder == conversation.folder.as_str() && assigned == assignee;
    write_conversation(tx, conversation, unmoved)
}

/// As [`save_conversation`], for a caller that read or wrote the row in
/// this transaction and so knows whether folder or assignee change
/// (`unmoved`: neither does): one statement instead of two. A row that is
/// not where the caller believed is an error, not a silent no-op.
pub(crate) fn write_conversation(
    tx: &Connection,
    conversation: &Conversation,
    unmoved: bool,
) -> StoreResult<()> {
    let (account, id) = (conversation.account_id.0, conversation.id.0);
    let assignee = conversation.assignee_id.map(|a| a.0);
    let sql = if unmoved {
        "UPDATE conversations SET tags = ?5, subject = ?6, snoozed_until = ?7,
                unread_count = ?8, waiting_since = ?9, last_activity_at = ?10, last_message_preview = ?11
         WHERE account_id = ?1 AND id = ?2 AND folder = ?3 AND assignee_id IS ?4"
    } else {
        "UPDATE conversations SET folder = ?3, assignee_id = ?4, tags = ?5, subject = ?6, snoozed_until = ?7,
                unread_count = ?8, waiting_since = ?9, last_activity_at = ?10, last_message_preview = ?11
         WHERE account_id = ?1 AND id = ?2"
    };
    let changed = execute(
        tx,
        sql,
        params![
            account,
            id,
            conversation.folder.as_str(),
            assignee,
            join_tags(&conversation.tags),
            conversation.subject,
            conversation.snoozed_until.map(|t| t.0),
            conversation.unread_count,
            conversation.waiting_since.map(|t| t.0),
            conversation.last_activity_at.0,
            conversation.last_message_preview,
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::Database(format!(
            "conversation {id} was not where its write expected it"
        )));
    }
    Ok(())
}

/// Starts a conversation: the next per-account number, the given folder.
pub(crate) fn insert_conversation(
    tx: &Connection,
    inbox: &InboxRef,
    contact: &Contact,
    folder: Folder,
    subject: Option<&str>,
    now: Timestamp,
) -> StoreResult<Conversation> {
    let number: i64 = query_one(
        tx,
        "UPDATE accounts SET last_conversation_number = last_conversation_number + 1 WHERE id = ?1 RETURNING last_conversation_number",
        [inbox.account.0],
        "account",
        |row| row.int("last_conversation_number"),
    )?;
    query_one(
        tx,
        &format!(
            "INSERT INTO conversations (account_id, number, inbox_id, inbox_kind, contact_id, folder, subject, last_activity_at, created_at, search_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) RETURNING {CONVERSATION_RETURNING}"
        ),
        params![
            inbox.account.0,
            number,
            inbox.id.0,
            inbox.kind.as_str(),
            contact.id.0,
            folder.as_str(),
            subject,
            now.0,
            conversation_search_text(number, subject, contact),
        ],
        "conversation",
        |row| row.conversation(),
    )
}

/// What a new conversation needs of its inbox.
pub(crate) struct InboxRef {
    pub account: AccountId,
    pub id: InboxId,
    pub kind: InboxKind,
}

/// Replaces the conversation's rows in the tag index with its tags.
fn write_tags(tx: &Connection, conversation: &Conversation) -> StoreResult<()> {
    execute(
        tx,
        "DELETE FROM conversation_tags WHERE conversation_id = ?1",
        [conversation.id.0],
    )?;
    for tag in &conversation.tags {
        execute(
            tx,
            "INSERT INTO conversation_tags (conversation_id, account_id, tag) VALUES (?1, ?2, ?3)",
            params![conversation.id.0, conversation.account_id.0, tag],
        )?;
    }
    Ok(())
}

/// Saves a changed conversation and logs `conversation.updated`.
pub(crate) fn save_and_log(
    tx: &Connection,
    conversation: &Conversation,
    action: &str,
    actor: Actor,
    now: Timestamp,
) -> StoreResult<()> {
    save_conversation(tx, conversation)?;
    // Remember when it went to the trash (for the purge), forget on the way out.
    execute(
        tx,
        "UPDATE conversations SET deleted_at = CASE WHEN folder = 'deleted' THEN COALESCE(deleted_at, ?2) ELSE NULL END WHERE id = ?1",
        [conversation.id.0, now.0],
    )?;
    append_event(
        tx,
        conversation.account_id,
        EventType::ConversationUpdated,
        now,
        conversation_event(conversation, action, actor),
    )?;
    Ok(())
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn list_conversations(
        &self,
        account: AccountId,
        query: &ConversationQuery,
    ) -> StoreResult<Page<ListedConversation>> {
        crate::list::list(&self.reader, account, query).await
    }

    async fn count_conversations(
        &self,
        account: AccountId,
        scope: Scope,
        viewer: Option<AgentId>,
    ) -> StoreResult<FolderCounts> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            // Maintained by triggers (migration 0010); 0 is "unassigned".
            "SELECT folder, SUM(n) FROM conversation_counts
             WHERE account_id = $1
               AND ($2 = 'all' OR ($2 = 'mine' AND assignee_id = $3) OR ($2 = 'unassigned' AND assignee_id = 0))
             GROUP BY folder",
        )
        .bind(account.0)
        .bind(scope.as_str())
        .bind(viewer.map(|v| v.0).unwrap_or(-1))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let mut counts = FolderCounts::default();
        for (folder, count) in rows {
            if let Some(folder) = Folder::parse(&folder) {
                counts.add(folder, count);
            }
        }
        Ok(counts)
    }

    async fn get_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
    ) -> StoreResult<Conversation> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        read_conversation(&mut conn, account, id).await
    }

    async fn act_on_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        action: FolderAction,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let action = folder_action(action, now)?;
        self.writer
            .write(move |tx| {
                let mut conversation = load_conversation(tx, account, id)?;
                let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
                apply_outcome(&mut conversation, &outcome);
                if let Some(spam) = outcome.contact_spam {
                    let mut contact = load_contact(tx, account, conversation.contact_id)?;
                    if contact.spam != spam {
                        contact.spam = spam;
                        save_contact(tx, &contact)?;
                        append_event(
                            tx,
                            account,
                            EventType::ContactUpdated,
                            now,
                            confab_store::plan::contact_event(&contact),
                        )?;
                    }
                }
                save_and_log(tx, &conversation, action.name(), actor, now)?;
                Ok(conversation)
            })
            .await
    }

    async fn assign_conversation(
        &self,
        account: AccountId,
        id: ConversationId,
        assignee: Option<AgentId>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        self.writer
            .write(move |tx| {
                let mut conversation = load_conversation(tx, account, id)?;
                if let Some(agent) = assignee {
                    query_one(
                        tx,
                        "SELECT id FROM agents WHERE account_id = ?1 AND id = ?2",
                        [account.0, agent.0],
                        "agent",
                        |row| row.int("id"),
                    )?;
                }
                conversation.assignee_id = assignee;
                save_and_log(tx, &conversation, "assign", actor, now)?;
                Ok(conversation)
            })
            .await
    }

    async fn set_tags(
        &self,
        account: AccountId,
        id: ConversationId,
        tags: &[String],
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let tags = tags.to_vec();
        self.writer
            .write(move |tx| {
                let mut conversation = load_conversation(tx, account, id)?;
                conversation.tags = tags;
                write_tags(tx, &conversation)?;
                save_and_log(tx, &conversation, "tags", actor, now)?;
                Ok(conversation)
            })
            .await
    }

    async fn list_tags(&self, account: AccountId) -> StoreResult<Vec<TagCount>> {
        let rows = sqlx::query(TAG_COUNTS)
            .bind(account.0)
            .fetch_all(&self.reader)
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
        let (from, to) = (from.to_string(), to.map(str::to_string));
        self.writer
            .write(move |tx| {
                let ids = query_all(
                    tx,
                    "SELECT conversation_id FROM conversation_tags WHERE account_id = ?1 AND tag = ?2
                     ORDER BY conversation_id",
                    params![account.0, from],
                    |row| row.int("conversation_id"),
                )?;
                let mut changed = 0;
                for id in ids {
                    let mut conversation = load_conversation(tx, account, ConversationId(id))?;
                    let tags = renamed_tags(&conversation.tags, &from, to.as_deref());
                    if tags == conversation.tags {
                        continue;
                    }
                    conversation.tags = tags;
                    write_tags(tx, &conversation)?;
                    save_and_log(tx, &conversation, "tags", actor, now)?;
                    changed += 1;
                }
                if changed == 0 {
                    return Err(StoreError::NotFound("tag"));
                }
                Ok(changed)
            })
            .await
    }

    async fn mark_read(
        &self,
        account: AccountId,
        id: ConversationId,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        self.writer
            .write(move |tx| {
                let mut conversation = load_conversation(tx, account, id)?;
                if conversation.unread_count != 0 {
                    conversation.unread_count = 0;
                    save_and_log(tx, &conversation, "read", actor, now)?;
                }
                Ok(conversation)
            })
            .await
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
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.conversation().map_err(db_error))
            .collect()
    }
}
