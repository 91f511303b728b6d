//! Webhooks and their delivery log.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::listing::cut_page;
use confab_store::plan::join_tags;
use confab_store::rows::{DELIVERY_COLUMNS, EntityRow, WEBHOOK_COLUMNS};
use confab_store::*;

use rusqlite::{Connection, params};

use crate::lite::{execute, query_all, query_one, query_opt};
use crate::{SqliteStore, db_error};

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        account: AccountId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        self.writer
            .write(move |tx| {
                query_one(
                    tx,
                    &format!(
                        "INSERT INTO webhooks (account_id, url, secret, event_types, cursor_seq, created_at)
                         SELECT id, ?2, ?3, ?4, last_event_seq, ?5 FROM accounts WHERE id = ?1
                         RETURNING {WEBHOOK_COLUMNS}"
                    ),
                    params![
                        account.0,
                        webhook.url,
                        webhook.secret,
                        join_tags(&webhook.event_types),
                        now.0
                    ],
                    "account",
                    |row| row.webhook(),
                )
            })
            .await
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
        self.writer
            .write(move |tx| {
                query_one(
                    tx,
                    &format!(
                        "UPDATE webhooks SET url = COALESCE(?3, url), event_types = COALESCE(?4, event_types),
                                enabled = COALESCE(?5, enabled),
                                disabled_reason = CASE WHEN ?5 = 1 THEN NULL ELSE disabled_reason END
                         WHERE account_id = ?1 AND id = ?2 RETURNING {WEBHOOK_COLUMNS}"
                    ),
                    params![
                        account.0,
                        id.0,
                        patch.url,
                        patch.event_types.map(|types| join_tags(&types)),
                        patch.enabled
                    ],
                    "webhook",
                    |row| row.webhook(),
                )
            })
            .await
    }

    async fn delete_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<()> {
        self.writer
            .write(move |tx| {
                let deleted = execute(
                    tx,
                    "DELETE FROM webhooks WHERE account_id = ?1 AND id = ?2",
                    [account.0, id.0],
                )?;
                if deleted == 0 {
                    return Err(StoreError::NotFound("webhook"));
                }
                Ok(())
            })
            .await
    }

    async fn enqueue_webhook_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        self.writer
            .write(move |tx| enqueue_deliveries(tx, now, limit))
            .await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let mut jobs = self
            .writer
            .write(move |tx| claim_deliveries(tx, now, lease_until, limit))
            .await?;
        jobs.sort_by_key(|job| (job.delivery.webhook_id, job.delivery.seq));
        Ok(jobs)
    }

    async fn finish_webhook_delivery(
        &self,
        id: DeliveryId,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.writer
            .write(move |tx| finish_delivery(tx, id, outcome, now))
            .await
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

/// Turns new events into pending deliveries for every webhook behind the log.
fn enqueue_deliveries(tx: &Connection, now: Timestamp, limit: u32) -> StoreResult<u32> {
    let behind = query_all(
        tx,
        "SELECT w.id, w.account_id, w.cursor_seq, w.event_types FROM webhooks w JOIN accounts a ON a.id = w.account_id
         WHERE w.enabled = 1 AND w.cursor_seq < a.last_event_seq ORDER BY w.id",
        [],
        |row| {
            Ok((
                row.int("id")?,
                row.int("account_id")?,
                row.int("cursor_seq")?,
                row.text("event_types")?,
            ))
        },
    )?;
    let mut created = 0u32;
    for (webhook, account, cursor, types) in behind {
        let wanted = confab_store::plan::split_tags(&types);
        let events = query_all(
            tx,
            "SELECT seq, type FROM events WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            [account, cursor, i64::from(limit)],
            |row| Ok((row.int("seq")?, row.text("type")?)),
        )?;
        let Some((last, _)) = events.last().cloned() else {
            continue;
        };
        for (seq, event_type) in events {
            if !wanted.is_empty() && !wanted.contains(&event_type) {
                continue;
            }
            created += execute(
                tx,
                "INSERT INTO webhook_deliveries (webhook_id, account_id, seq, event_type, status, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5) ON CONFLICT (webhook_id, seq) DO NOTHING",
                params![webhook, account, seq, event_type, now.0],
            )? as u32;
        }
        execute(
            tx,
            "UPDATE webhooks SET cursor_seq = ?2 WHERE id = ?1",
            [webhook, last],
        )?;
    }
    Ok(created)
}

/// Leases due deliveries (one more attempt each) with what sending needs.
fn claim_deliveries(
    tx: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<DeliveryJob>> {
    let claimed = query_all(
        tx,
        &format!(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?2
             WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                          WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND w.enabled = 1
                          ORDER BY d.next_attempt_at, d.id LIMIT ?3)
             RETURNING {DELIVERY_COLUMNS}, account_id"
        ),
        [now.0, lease_until.0, i64::from(limit)],
        |row| Ok((row.delivery()?, AccountId(row.int("account_id")?))),
    )?;
    let mut jobs = Vec::with_capacity(claimed.len());
    for (delivery, account) in claimed {
        let (url, secret) = query_one(
            tx,
            "SELECT url, secret FROM webhooks WHERE id = ?1",
            [delivery.webhook_id.0],
            "webhook",
            |row| Ok((row.text("url")?, row.text("secret")?)),
        )?;
        let event = query_one(
            tx,
            "SELECT seq, type, at, data FROM events WHERE account_id = ?1 AND seq = ?2",
            [account.0, delivery.seq],
            "event",
            |row| row.event(),
        )?;
        jobs.push(DeliveryJob {
            delivery,
            account,
            url,
            secret,
            event,
        });
    }
    Ok(jobs)
}

/// Records an attempt's outcome; giving up disables the webhook with the reason.
fn finish_delivery(
    tx: &Connection,
    id: DeliveryId,
    outcome: DeliveryOutcome,
    now: Timestamp,
) -> StoreResult<()> {
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
    let webhook = query_opt(
        tx,
        "UPDATE webhook_deliveries SET status = ?2, last_status = ?3, last_error = ?4, next_attempt_at = ?5, delivered_at = ?6
         WHERE id = ?1 AND status = 'pending' RETURNING webhook_id",
        params![id.0, status, last_status, error, next, delivered],
        |row| row.int("webhook_id"),
    )?;
    if let (Some(webhook), DeliveryOutcome::GiveUp { error, .. }) = (webhook, &outcome) {
        execute(
            tx,
            "UPDATE webhooks SET enabled = 0, disabled_reason = ?2 WHERE id = ?1",
            params![
                webhook,
                format!(
                    "disabled after deliveries kept failing for over 24 hours; last error: {error}"
                )
            ],
        )?;
    }
    Ok(())
}
