//! Webhooks and their delivery log.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::listing::cut_page;
use confab_store::plan::join_tags;
use confab_store::rows::{DELIVERY_COLUMNS, EntityRow, WEBHOOK_COLUMNS};
use confab_store::*;

use crate::{SqliteStore, db_error};

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        account: AccountId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let sql = format!(
            "INSERT INTO webhooks (account_id, url, secret, event_types, cursor_seq, created_at)
             SELECT id, $2, $3, $4, last_event_seq, $5 FROM accounts WHERE id = $1
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(join_tags(&webhook.event_types))
            .bind(now.0)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("account"))?;
        row.webhook().map_err(db_error)
    }

    async fn list_webhooks(&self, account: AccountId) -> StoreResult<Vec<Webhook>> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.webhook().map_err(db_error))
            .collect()
    }

    async fn get_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<Webhook> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("webhook"))?;
        row.webhook().map_err(db_error)
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> StoreResult<Webhook> {
        let sql = format!(
            "UPDATE webhooks SET url = COALESCE($3, url), event_types = COALESCE($4, event_types),
                    enabled = COALESCE($5, enabled),
                    disabled_reason = CASE WHEN $5 = 1 THEN NULL ELSE disabled_reason END
             WHERE account_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .bind(patch.url)
            .bind(patch.event_types.map(|types| join_tags(&types)))
            .bind(patch.enabled)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("webhook"))?;
        row.webhook().map_err(db_error)
    }

    async fn delete_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM webhooks WHERE account_id = $1 AND id = $2")
            .bind(account.0)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(())
    }

    async fn enqueue_webhook_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let behind: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT w.id, w.account_id, w.cursor_seq, w.event_types FROM webhooks w JOIN accounts a ON a.id = w.account_id
             WHERE w.enabled = 1 AND w.cursor_seq < a.last_event_seq ORDER BY w.id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut created = 0u32;
        for (webhook, account, cursor, types) in behind {
            let wanted = confab_store::plan::split_tags(&types);
            let events: Vec<(i64, String)> =
                sqlx::query_as("SELECT seq, type FROM events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                    .bind(account)
                    .bind(cursor)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
            let Some((last, _)) = events.last().cloned() else {
                continue;
            };
            for (seq, event_type) in events {
                if !wanted.is_empty() && !wanted.contains(&event_type) {
                    continue;
                }
                let inserted = sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, account_id, seq, event_type, status, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (webhook_id, seq) DO NOTHING",
                )
                .bind(webhook)
                .bind(account)
                .bind(seq)
                .bind(event_type)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                created += inserted.rows_affected() as u32;
            }
            sqlx::query("UPDATE webhooks SET cursor_seq = $2 WHERE id = $1")
                .bind(webhook)
                .bind(last)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(created)
    }

    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let sql = format!(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                          WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.enabled = 1
                          ORDER BY d.next_attempt_at, d.id LIMIT $3)
             RETURNING {DELIVERY_COLUMNS}, account_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.0)
            .bind(lease_until.0)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let delivery = row.delivery().map_err(db_error)?;
            let account = AccountId(row.int("account_id").map_err(db_error)?);
            let (url, secret): (String, String) =
                sqlx::query_as("SELECT url, secret FROM webhooks WHERE id = $1")
                    .bind(delivery.webhook_id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
            let event = sqlx::query(
                "SELECT seq, type, at, data FROM events WHERE account_id = $1 AND seq = $2",
            )
            .bind(account.0)
            .bind(delivery.seq)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?
            .event()
            .map_err(db_error)?;
            jobs.push(DeliveryJob {
                delivery,
                account,
                url,
                secret,
                event,
            });
        }
        tx.commit().await.map_err(db_error)?;
        jobs.sort_by_key(|job| (job.delivery.webhook_id, job.delivery.seq));
        Ok(jobs)
    }

    async fn finish_webhook_delivery(
        &self,
        id: DeliveryId,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let (status, last_status, error, next, delivered) = match &outcome {
            DeliveryOutcome::Delivered { status } => {
                ("delivered", Some(*status), None, None, Some(now.0))
            }
            DeliveryOutcome::Retry {
                status,
                error,
                retry_at,
            } => (
                "pending",
                *status,
                Some(error.clone()),
                Some(retry_at.0),
                None,
            ),
            DeliveryOutcome::GiveUp { status, error } => {
                ("failed", *status, Some(error.clone()), None, None)
            }
        };
        let webhook: Option<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4, next_attempt_at = $5, delivered_at = $6
             WHERE id = $1 AND status = 'pending' RETURNING webhook_id",
        )
        .bind(id.0)
        .bind(status)
        .bind(last_status)
        .bind(error)
        .bind(next)
        .bind(delivered)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let (Some(webhook), DeliveryOutcome::GiveUp { error, .. }) = (webhook, &outcome) {
            sqlx::query("UPDATE webhooks SET enabled = 0, disabled_reason = $2 WHERE id = $1")
                .bind(webhook)
                .bind(format!(
                    "disabled after deliveries kept failing for over 24 hours; last error: {error}"
                ))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn list_webhook_deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> StoreResult<Page<WebhookDelivery>> {
        self.get_webhook(account, webhook).await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(webhook.0)
            .bind(before.map(|d| d.0).unwrap_or(i64::MAX))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        let items = rows
            .iter()
            .map(|row| row.delivery().map_err(db_error))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(cut_page(items, limit, |d| Cursor { key: 0, id: d.id.0 }))
    }
}
