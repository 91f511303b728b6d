//! Test support (used by other crates' tests, so not behind `cfg(test)`).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::PostgresStore;

/// The server tests use, unless `CONFAB_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A random name for a test database: `confab_test_<16 hex digits>`.
fn database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(NEXT.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("confab_test_{:016x}", hasher.finish())
}

/// A store on a new, empty, migrated database, created on the server of
/// `CONFAB_TEST_POSTGRES_URL` (default [`DEFAULT_TEST_URL`]). The database
/// is left behind when the test ends. Panics when the server cannot be used.
pub async fn fresh_store() -> PostgresStore {
    let options = fresh_database().await;
    let name = options.get_database().unwrap_or_default().to_string();
    PostgresStore::connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database {name}: {e}"))
}

/// Creates a new, empty database (not migrated) like [`fresh_store`] does
/// and returns how to connect to it, e.g. to open several stores on it.
pub async fn fresh_database() -> PgConnectOptions {
    let url = std::env::var("CONFAB_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_URL.to_string());
    let options = PgConnectOptions::from_str(&url).unwrap_or_else(|e| {
        panic!("CONFAB_TEST_POSTGRES_URL {url:?} is not a PostgreSQL URL: {e}")
    });
    let name = database_name();
    let mut admin = options.connect().await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to the test PostgreSQL server at {url} (set CONFAB_TEST_POSTGRES_URL): {e}"
        )
    });
    // The name is ours (letters, digits, underscore): safe to splice.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name} at {url}: {e}"));
    let _ = admin.close().await;
    options.database(&name)
}

/// Creates a new, empty database like [`fresh_database`] and returns its URL
/// (for tests that start `confab` processes).
pub async fn fresh_database_url() -> String {
    let options = fresh_database().await;
    let base = std::env::var("CONFAB_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_URL.to_string());
    let name = options.get_database().unwrap_or_default().to_string();
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url.to_string(), format!("?{query}")),
        None => (base.clone(), String::new()),
    };
    let server = without_query
        .rsplit_once('/')
        .map_or(without_query.as_str(), |(server, _)| server);
    format!("{server}/{name}{query}")
}
