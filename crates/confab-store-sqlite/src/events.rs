use async_trait::async_trait;
use confab_domain::event::Event;
use confab_domain::{AccountId, EventType, Timestamp};
use confab_store::rows::EntityRow;
use confab_store::{CommittedEvents, EventStore, LoggedEvent, StoreError, StoreResult};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::lite::{execute, query_one};

use crate::{SqliteStore, db_error};

/// Appends an event inside the caller's transaction; returns its sequence number.
/// The account row's counter makes the sequence gap-free: a rolled-back
/// transaction takes its increment with it.
pub(crate) fn append_event(
    tx: &Connection,
    account: AccountId,
    event_type: EventType,
    at: Timestamp,
    data: impl Serialize,
) -> StoreResult<i64> {
    let data = serde_json::to_string(&data)
        .map_err(|e| StoreError::Database(format!("an event's data: {e}")))?;
    // Two plain statements, not `UPDATE … RETURNING`: RETURNING opens a
    // statement journal, and FTS5 writes out the batch's pending search
    // terms at each one (migration 0012).
    if execute(
        tx,
        "UPDATE accounts SET last_event_seq = last_event_seq + 1 WHERE id = ?1",
        [account.0],
    )? == 0
    {
        return Err(StoreError::NotFound("account"));
    }
    let seq: i64 = query_one(
        tx,
        "SELECT last_event_seq FROM accounts WHERE id = ?1",
        [account.0],
        "account",
        |row| row.int("last_event_seq"),
    )?;
    execute(
        tx,
        "INSERT INTO events (account_id, seq, type, at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account.0, seq, event_type.as_str(), at.0, &data],
    )?;
    crate::committed::record(|| LoggedEvent {
        account,
        seq,
        event_type,
        at,
        data,
    });
    Ok(seq)
}

#[async_trait]
impl EventStore for SqliteStore {
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
        .fetch_all(&self.reader)
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
                .fetch_optional(&self.reader)
                .await
                .map_err(db_error)?;
        Ok(seq.unwrap_or(0))
    }

    fn take_committed_events(&self) -> Option<CommittedEvents> {
        self.writer.take_committed()
    }
}
