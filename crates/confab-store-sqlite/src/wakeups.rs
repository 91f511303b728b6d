//! Durable snooze wake-ups: the due time is the conversation's `snoozed_until`.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{apply_outcome, conversation_event};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;

use crate::conversations::save_conversation;
use crate::events::append_event;
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
        purge_trash(self, deleted_before, now, limit).await
    }

    async fn wake_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Conversation>> {
        // One writer connection: the select and the updates cannot interleave
        // with another wake-up, so each conversation wakes exactly once.
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.snoozed_until IS NOT NULL AND c.snoozed_until <= $1 ORDER BY c.snoozed_until LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.0)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut woken = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut conversation = row.conversation().map_err(db_error)?;
            let outcome = transition(
                conversation.folder,
                conversation.inbox_kind,
                Action::SnoozeTimerFires,
            )?;
            apply_outcome(&mut conversation, &outcome);
            save_conversation(&mut tx, &conversation).await?;
            append_event(
                &mut tx,
                conversation.account_id,
                EventType::ConversationUpdated,
                now,
                conversation_event(
                    &conversation,
                    Action::SnoozeTimerFires.name(),
                    Actor::System,
                ),
            )
            .await?;
            woken.push(conversation);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(woken)
    }
}

/// Deletes expired trash; shared by the `WakeupStore` impl.
pub(crate) async fn purge_trash(
    store: &SqliteStore,
    deleted_before: Timestamp,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<(AccountId, ConversationId)>> {
    let mut tx = store.writer.begin().await.map_err(db_error)?;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, account_id, number FROM conversations
         WHERE folder = 'deleted' AND deleted_at IS NOT NULL AND deleted_at <= $1 ORDER BY deleted_at, id LIMIT $2",
    )
    .bind(deleted_before.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let mut purged = Vec::with_capacity(rows.len());
    for (id, account, number) in rows {
        sqlx::query("DELETE FROM conversations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let data = serde_json::json!({"conversation_id": id, "number": number});
        append_event(
            &mut tx,
            AccountId(account),
            EventType::ConversationPurged,
            now,
            data,
        )
        .await?;
        purged.push((AccountId(account), ConversationId(id)));
    }
    tx.commit().await.map_err(db_error)?;
    Ok(purged)
}
