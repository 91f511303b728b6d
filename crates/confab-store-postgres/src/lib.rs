//! Confab's store on PostgreSQL: a pool of connections, row locks, and
//! `tsvector` + GIN search.
//!
//! Unlike SQLite (one writer connection), many transactions run at once, so
//! every transaction locks the rows it changes (`SELECT … FOR NO KEY UPDATE`)
//! and always in the same order — contact, then conversation, then account —
//! so that writers wait for each other instead of deadlocking. The account
//! row is locked last, by the event-sequence counter, and held until commit:
//! an account's events are committed in sequence order. Webhook work locks
//! a webhook row before its deliveries' (as deleting a webhook does), and
//! the delivery queue skips rows another instance holds (`SKIP LOCKED`).

mod accounts;
mod attachments;
mod contacts;
mod conversations;
mod counts;
pub use counts::fold_count_deltas;
mod events;
mod list;
mod mail;
mod messages;
pub mod testing;
mod wakeups;
mod webhooks;

use std::str::FromStr;

use async_trait::async_trait;
use confab_store::{Store, StoreError, StoreResult};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many connections one store keeps at most.
const POOL_SIZE: u32 = 10;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects (a pool of up to ten connections) and migrates.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let options = PgConnectOptions::from_str(url).map_err(db_error)?;
        PostgresStore::connect_with(options).await
    }

    /// Connects with ready-made options and migrates.
    pub async fn connect_with(options: PgConnectOptions) -> StoreResult<PostgresStore> {
        // No JIT: the planner's costs for a search over 10M messages pass
        // `jit_above_cost`, and compiling took 27 of a 30 ms search whose
        // rows took 3 ms (Confab's queries read few rows; JIT pays off for
        // long analytical scans).
        let options = options.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(PostgresStore { pool })
    }

    /// Applies the migrations only (for `confab migrate`).
    pub async fn migrate(url: &str) -> StoreResult<()> {
        let store = PostgresStore::connect(url).await?;
        store.pool.close().await;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn post_contact_message_by_token(
        &self,
        inbox_token: &str,
        session_hash: &str,
        message: confab_store::NewContactMessage,
        now: confab_domain::Timestamp,
    ) -> StoreResult<confab_store::Posted> {
        self.post_by_token(inbox_token, session_hash, message, now)
            .await
    }
}

/// The unique index that makes a retried post return the first message.
pub(crate) const IDEMPOTENCY_INDEX: &str = "messages_idempotency";

/// The unique index that keeps one message per e-mail `Message-ID`.
pub(crate) const EMAIL_ID_INDEX: &str = "messages_email_id";

/// Maps a driver error: unique violations become `Duplicate` (the field is
/// read from the constraint's name), the rest is logged detail.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let constraint = db.constraint().unwrap_or_default();
        let field = if constraint == IDEMPOTENCY_INDEX {
            // Two concurrent posts with one idempotency key; the message
            // store answers the loser with the winner's message.
            "idempotency_key"
        } else if constraint == EMAIL_ID_INDEX {
            // The same mail delivered twice at once: likewise.
            "email_message_id"
        } else if constraint.contains("external_id") {
            "external_id"
        } else if constraint.contains("email_address") {
            "email_address"
        } else if constraint.contains("email") {
            "email"
        } else if constraint.contains("token") {
            "token"
        } else {
            "value"
        };
        return StoreError::Duplicate { field };
    }
    StoreError::Database(error.to_string())
}

/// Whether an error is the idempotency index refusing a second message.
pub(crate) fn is_idempotency_conflict(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Duplicate {
            field: "idempotency_key" | "email_message_id"
        }
    )
}
