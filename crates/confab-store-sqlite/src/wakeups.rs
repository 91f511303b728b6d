//! Durable snooze wake-ups: the due time is the conversation's `snoozed_until`.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{apply_outcome, conversation_event};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;

use rusqlite::Connection;

use crate::conversations::save_conversation;
use crate::events::append_event;
use crate::lite::{execute, query_all};
use crate::{SqliteStore, db_error};

#[async_trait]
impl WakeupStore for SqliteStore {
    async fn next_wakeup(&self) -> StoreResult<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(snoozed_until) FROM conversations WHERE snoozed_until IS NOT NULL",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(next.map(Timestamp))
    }

    async fn purge_trash(
        &self,
        deleted_before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, ConversationId)>> {
        self.writer
            .write(move |tx| purge_trash(tx, deleted_before, now, limit))
            .await
    }

    async fn wake_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Conversation>> {
        // One writer: the select and the updates cannot interleave with
        // another wake-up, so each conversation wakes exactly once.
        self.writer.write(move |tx| wake_due(tx, now, limit)).await
    }
}

fn wake_due(tx: &Connection, now: Timestamp, limit: u32) -> StoreResult<Vec<Conversation>> {
    let due = query_all(
        tx,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.snoozed_until IS NOT NULL AND c.snoozed_until <= ?1 ORDER BY c.snoozed_until LIMIT ?2"
        ),
        [now.0, i64::from(limit)],
        |row| row.conversation(),
    )?;
    let mut woken = Vec::with_capacity(due.len());
    for mut conversation in due {
        let outcome = transition(
            conversation.folder,
            conversation.inbox_kind,
            Action::SnoozeTimerFires,
        )?;
        apply_outcome(&mut conversation, &outcome);
        save_conversation(tx, &conversation)?;
        append_event(
            tx,
            conversation.account_id,
            EventType::ConversationUpdated,
            now,
            conversation_event(
                &conversation,
                Action::SnoozeTimerFires.name(),
                Actor::System,
            ),
        )?;
        woken.push(conversation);
    }
    Ok(woken)
}

/// Deletes expired trash, logging `conversation.purged` for each.
fn purge_trash(
    tx: &Connection,
    deleted_before: Timestamp,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<(AccountId, ConversationId)>> {
    let rows = query_all(
        tx,
        "SELECT id, account_id, number FROM conversations
         WHERE folder = 'deleted' AND deleted_at IS NOT NULL AND deleted_at <= ?1 ORDER BY deleted_at, id LIMIT ?2",
        [deleted_before.0, i64::from(limit)],
        |row| Ok((row.int("id")?, row.int("account_id")?, row.int("number")?)),
    )?;
    let mut purged = Vec::with_capacity(rows.len());
    for (id, account, number) in rows {
        execute(tx, "DELETE FROM conversations WHERE id = ?1", [id])?;
        let data = serde_json::json!({"conversation_id": id, "number": number});
        append_event(
            tx,
            AccountId(account),
            EventType::ConversationPurged,
            now,
            data,
        )?;
        purged.push((AccountId(account), ConversationId(id)));
    }
    Ok(purged)
}
