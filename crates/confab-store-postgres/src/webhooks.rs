//! Webhooks and their delivery log.
//!
//! Several instances may enqueue, claim and finish deliveries at once. Row
//! locks are taken webhook first, then delivery (like the `ON DELETE
//! CASCADE` of a deleted webhook), and the queue's own work skips rows
//! another instance holds instead of waiting for them.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::listing::cut_page;
use confab_store::plan::{join_tags, split_tags};
use confab_store::rows::{DELIVERY_COLUMNS, EntityRow, WEBHOOK_COLUMNS};
use confab_store::*;

use crate::{PostgresStore, db_error};

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(
        &self,
        account: AccountId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        // `FOR SHARE` waits for the account's in-flight event writers (they
        // hold its row until commit), so the cursor starts after every event
        // logged before the webhook exists, and before every later one.
        let sql = format!(
            "INSERT INTO webhooks (account_id, url, secret, event_types, cursor_seq, created_at)
             SELECT id, $2, $3, $4, last_event_seq, $5 FROM accounts WHERE id = $1 FOR SHARE
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(join_tags(&webhook.event_types))
            .bind(now.0)
            .fetch_optional(&self.pool)
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
            .fetch_all(&self.pool)
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
            .fetch_optional(&self.pool)
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
                    disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END
             WHERE account_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .bind(patch.url)
            .bind(patch.event_types.map(|types| join_tags(&types)))
            .bind(patch.enabled)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("webhook"))?;
        row.webhook().map_err(db_error)
    }

    async fn delete_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<()> {
        let deleted = sqlx::query("DELETE FROM webhooks WHERE account_id = $1 AND id = $2")
            .bind(account.0)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(())
    }

    async fn enqueue_webhook_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        // Each webhook that is behind is locked until commit; one another
        // instance holds (it is advancing it, or it is being edited) is
        // skipped this round. Only committed events count towards
        // `last_event_seq`, and an account's events commit in sequence order
        // (the account row lock), so reading `seq > cursor_seq` never passes
        // over an event that commits later with a lower seq.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let behind: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT w.id, w.account_id, w.cursor_seq, w.event_types
             FROM webhooks w JOIN accounts a ON a.id = w.account_id
             WHERE w.enabled AND w.cursor_seq < a.last_event_seq
             ORDER BY w.id
             FOR NO KEY UPDATE OF w SKIP LOCKED",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut created = 0u32;
        for (webhook, account, cursor, types) in behind {
            // One statement per webhook: the next batch of events, the
            // deliveries for the wanted types (never twice, by the unique
            // constraint) and the cursor moved past the whole batch.
            let inserted: i64 = sqlx::query_scalar(
                "WITH batch AS (
                     SELECT seq, type FROM events WHERE account_id = $2 AND seq > $3
                     ORDER BY seq LIMIT $4
                 ),
                 inserted AS (
                     INSERT INTO webhook_deliveries
                         (webhook_id, account_id, seq, event_type, status, next_attempt_at, created_at)
                     SELECT $1, $2, seq, type, 'pending', $5, $5 FROM batch
                     WHERE cardinality($6::TEXT[]) = 0 OR type = ANY($6::TEXT[])
                     ORDER BY seq
                     ON CONFLICT (webhook_id, seq) DO NOTHING
                     RETURNING 1
                 ),
                 moved AS (
                     UPDATE webhooks SET cursor_seq = (SELECT MAX(seq) FROM batch)
                     WHERE id = $1 AND EXISTS (SELECT 1 FROM batch)
                 )
                 SELECT COUNT(*) FROM inserted",
            )
            .bind(webhook)
            .bind(account)
            .bind(cursor)
            .bind(i64::from(limit))
            .bind(now.0)
            .bind(split_tags(&types))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
            created += u32::try_from(inserted).unwrap_or(u32::MAX);
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
        // One statement: lock the due deliveries nobody else holds (under the
        // lock PostgreSQL re-checks them against their latest version, so
        // one just claimed or finished elsewhere drops out), lease them, and
        // read what to send.
        let sql = format!(
            "WITH due AS MATERIALIZED (
                 SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.enabled
                 ORDER BY d.next_attempt_at, d.id LIMIT $3
                 FOR UPDATE OF d SKIP LOCKED
             ),
             claimed AS (
                 UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2
                 WHERE id IN (SELECT id FROM due)
                 RETURNING {DELIVERY_COLUMNS}, account_id
             )
             SELECT claimed.*, w.url, w.secret, e.type, e.at, e.data
             FROM claimed
             JOIN webhooks w ON w.id = claimed.webhook_id
             JOIN events e ON e.account_id = claimed.account_id AND e.seq = claimed.seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.0)
            .bind(lease_until.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut jobs = rows
            .iter()
            .map(|row| {
                Ok(DeliveryJob {
                    delivery: row.delivery()?,
                    account: AccountId(row.int("account_id")?),
                    url: row.text("url")?,
                    secret: row.text("secret")?,
                    event: row.event()?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(db_error)?;
        jobs.sort_by_key(|job| (job.delivery.webhook_id, job.delivery.seq));
        Ok(jobs)
    }

    async fn finish_webhook_delivery(
        &self,
        id: DeliveryId,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
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
        if matches!(outcome, DeliveryOutcome::GiveUp { .. }) {
            // The webhook row is locked before the delivery's, in the order
            // a webhook's deletion takes them, so the two cannot deadlock.
            sqlx::query(
                "SELECT w.id FROM webhooks w
                 WHERE w.id = (SELECT webhook_id FROM webhook_deliveries WHERE id = $1)
                 FOR NO KEY UPDATE",
            )
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        // Only a pending delivery changes: a second finish (or one that
        // races it) finds it finished and does nothing.
        let webhook: Option<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4,
                    next_attempt_at = $5, delivered_at = $6
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
            sqlx::query("UPDATE webhooks SET enabled = FALSE, disabled_reason = $2 WHERE id = $1")
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
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(webhook.0)
            .bind(before.map(|d| d.0).unwrap_or(i64::MAX))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let items = rows
            .iter()
            .map(|row| row.delivery().map_err(db_error))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(cut_page(items, limit, |d| Cursor { key: 0, id: d.id.0 }))
    }
}
