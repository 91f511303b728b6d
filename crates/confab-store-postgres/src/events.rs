//! The per-account event log.

use async_trait::async_trait;
use confab_domain::event::Event;
use confab_domain::{AccountId, EventType, Timestamp};
use confab_store::rows::EntityRow;
use confab_store::{EventStore, StoreResult};
use sqlx::PgConnection;

use crate::{PostgresStore, db_error};

/// Appends an event inside the caller's transaction; returns its sequence number.
/// The account row's counter makes the sequence gap-free: a rolled-back
/// transaction takes its increment with it. The update locks the account
/// row until the transaction ends, so an account's writers commit one after
/// the other, in sequence order: a reader never sees seq n+1 before n.
pub(crate) async fn append_event(
    tx: &mut PgConnection,
    account: AccountId,
    event_type: EventType,
    at: Timestamp,
    data: serde_json::Value,
) -> StoreResult<i64> {
    // One statement (one round trip): the account's counter, then the
    // event with the number it gave; the counter's row lock orders the
    // account's events until commit.
    let seq: i64 = sqlx::query_scalar(
        "WITH next AS (
             UPDATE accounts SET last_event_seq = last_event_seq + 1 WHERE id = $1
             RETURNING last_event_seq
         )
         INSERT INTO events (account_id, seq, type, at, data)
         SELECT $1, last_event_seq, $2, $3, $4 FROM next
         RETURNING seq",
    )
    .bind(account.0)
    .bind(event_type.as_str())
    .bind(at.0)
    .bind(data.to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(seq)
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn events_since(
        &self,
        account: AccountId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, type, at, data FROM events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(account.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| row.event().map_err(db_error))
            .collect()
    }

    async fn last_event_seq(&self, account: AccountId) -> StoreResult<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT last_event_seq FROM accounts WHERE id = $1")
                .bind(account.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(seq.unwrap_or(0))
    }
}
