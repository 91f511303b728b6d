//! Durable snooze wake-ups: the due time is the conversation's `snoozed_until`.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{apply_outcome, conversation_event};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;

use crate::conversations::save_conversation;
use crate::events::append_event;
use crate::{PostgresStore, db_error};

#[async_trait]
impl WakeupStore for PostgresStore {
    async fn next_wakeup(&self) -> StoreResult<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(snoozed_until) FROM conversations WHERE snoozed_until IS NOT NULL",
        )
        .fetch_one(&self.pool)
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
        // Several instances may run this at once: each locks the due rows it
        // sees and skips those another caller holds, so each conversation
        // wakes exactly once. Under the lock PostgreSQL re-checks the WHERE
        // clause against the latest row, so a conversation reopened or
        // re-snoozed meanwhile is left alone.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.folder = 'snoozed' AND c.snoozed_until <= $1
             ORDER BY c.snoozed_until, c.id LIMIT $2
             FOR NO KEY UPDATE SKIP LOCKED"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.0)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut due = Vec::with_capacity(rows.len());
        for row in &rows {
            let conversation = row.conversation().map_err(db_error)?;
            if conversation.folder == Folder::Snoozed
                && conversation.snoozed_until.is_some_and(|until| until <= now)
            {
                due.push(conversation);
            }
        }
        // Account rows (the event counters) are locked in ascending id order,
        // so concurrent callers waking conversations of several accounts
        // cannot deadlock; each account's events keep the due order.
        let mut order: Vec<usize> = (0..due.len()).collect();
        order.sort_by_key(|&i| due[i].account_id.0);
        for i in order {
            let conversation = &mut due[i];
            let outcome = transition(
                conversation.folder,
                conversation.inbox_kind,
                Action::SnoozeTimerFires,
            )?;
            apply_outcome(conversation, &outcome);
            save_conversation(&mut tx, conversation).await?;
            append_event(
                &mut tx,
                conversation.account_id,
                EventType::ConversationUpdated,
                now,
                conversation_event(conversation, Action::SnoozeTimerFires.name(), Actor::System),
            )
            .await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(due)
    }
}

/// Deletes expired trash; several instances may race: each takes the rows
/// it can lock and skips the rest, so each conversation is purged once.
pub(crate) async fn purge_trash(
    store: &PostgresStore,
    deleted_before: Timestamp,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<(AccountId, ConversationId)>> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    let mut rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, account_id, number FROM conversations
         WHERE folder = 'deleted' AND deleted_at IS NOT NULL AND deleted_at <= $1
         ORDER BY deleted_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(deleted_before.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    // Account rows (the event counters) are locked in ascending id order.
    rows.sort_by_key(|(id, account, _)| (*account, *id));
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
