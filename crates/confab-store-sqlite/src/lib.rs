//! Confab's store on SQLite: one file, WAL, foreign keys on, FTS5 search.
//!
//! Writes go through one writer thread that owns the only write connection
//! (a second one only checkpoints) and commits concurrent changes together
//! (group commit, see [`writer`]), so transactions never fight over SQLite's single write lock; reads use their
//! own async pool (sqlx) and run concurrently under WAL.

mod accounts;
mod attachments;
mod checkpointer;
mod committed;
mod contacts;
mod conversations;
mod events;
mod fold;
mod gather;
mod library;
mod list;
mod lite;
mod mail;
mod messages;
mod rank;
mod wakeups;
mod webhooks;
mod writer;

pub use gather::commit;
pub use library::{configure as configure_library, open_writer};
pub use list::SEARCH_WINDOW;
pub use writer::{CHECKPOINT_PAGES, WRITER_PRAGMAS};

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use confab_store::{Store, StoreError, StoreResult};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many read connections the pool keeps: twice the cores, between 4
/// and 8. A read runs on its connection's own thread without yielding, so
/// more connections than that add no speed, only memory (each fills its
/// page cache, below): 4 on a 2-core machine.
fn reader_count() -> u32 {
    std::thread::available_parallelism()
        .map_or(4, |cores| {
            u32::try_from(cores.get()).unwrap_or(4).saturating_mul(2)
        })
        .clamp(4, 8)
}

/// The page cache of each read connection, in KiB when negative (SQLite's
/// default is 2,000 KiB). The pool hands out its connections in turn,
/// so every one of them fills its cache: with the default, a burst of
/// searches on 10M messages left the server at 50–63 MiB; with 512 KiB, at
/// 42 MiB (32–34 MiB with two malloc arenas, before `confab`'s trimmer),
/// list and search as fast within the runs' noise (the database stays in
/// the OS's page cache; a page read is then a copy, not a disk read). The
/// writer keeps the default.
const READER_CACHE_SIZE: &str = "-512";

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: writer::Writer,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        library::configure();
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(folder) = options.get_filename().parent()
            && !folder.as_os_str().is_empty()
        {
            std::fs::create_dir_all(folder)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", folder.display())))?;
        }
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db_error)?;
        MIGRATOR
            .run(&migrator)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        migrator.close().await;
        let writer = writer::Writer::open(options.get_filename())?;
        let reader = SqlitePoolOptions::new()
            .max_connections(reader_count())
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    let db = handle.as_raw_handle();
                    // SAFETY: the handle is locked for us while we register.
                    unsafe { rank::register(db).and_then(|()| fold::register(db)) }
                        .map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
            .connect_with(
                options
                    .read_only(true)
                    .pragma("cache_size", READER_CACHE_SIZE),
            )
            .await
            .map_err(db_error)?;
        Ok(SqliteStore { writer, reader })
    }

    /// How many transactions the writer has ended and how many changes they
    /// carried: their ratio is the number of changes sharing each commit.
    pub fn write_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        let stats = self.writer.stats();
        (
            stats.transactions.load(Ordering::Relaxed),
            stats.jobs.load(Ordering::Relaxed),
        )
    }

    /// Applies the migrations only (for `confab migrate`).
    pub async fn migrate(url: &str) -> StoreResult<()> {
        SqliteStore::connect(url).await.map(|_| ())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn post_contact_message_by_token(
        &self,
        inbox_token: &str,
        session_hash: &str,
        message: confab_store::NewContactMessage,
        now: confab_domain::Timestamp,
    ) -> StoreResult<confab_store::Posted> {
        let (inbox_token, session_hash) = (inbox_token.to_owned(), session_hash.to_owned());
        self.writer
            .write_rerunnable(move |tx| {
                messages::post_by_token(tx, &inbox_token, &session_hash, &message, now)
            })
            .await
    }
}

/// Maps a driver error: unique violations become `Duplicate`, the rest is logged detail.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        return StoreError::Duplicate {
            field: duplicate_field(db.message()),
        };
    }
    StoreError::Database(error.to_string())
}

/// Which field a unique-constraint message names.
pub(crate) fn duplicate_field(message: &str) -> &'static str {
    if message.contains("external_id") {
        "external_id"
    } else if message.contains("email_address") {
        "email_address"
    } else if message.contains("email") {
        "email"
    } else if message.contains("token") {
        "token"
    } else {
        "value"
    }
}

/// Helpers for tests in this and other crates.
pub mod testing {
    use super::SqliteStore;

    /// A store on a new database file in the system's temporary folder.
    pub async fn fresh_store() -> SqliteStore {
        SqliteStore::connect(&fresh_url())
            .await
            .expect("open a test database")
    }

    /// The URL of a new database file in the system's temporary folder
    /// (created by the first store that connects to it).
    pub fn fresh_url() -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let folder = std::env::temp_dir().join(format!(
            "confab-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&folder);
        format!("sqlite://{}/confab.db", folder.display())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_connections_follow_the_cores_within_bounds() {
        let n = super::reader_count();
        assert!((4..=8).contains(&n), "{n}");
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        if cores <= 2 {
            assert_eq!(n, 4);
        }
    }
}
