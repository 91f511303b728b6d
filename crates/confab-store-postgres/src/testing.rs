//! Test support (used by other crates' tests, so not behind `cfg(test)`).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::PostgresStore;

/// The server tests use, unless `CONFAB_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// What every test database's name starts with.
const PREFIX: &str = "confab_test_";

/// How long a test database is kept: each is left behind when its test
/// ends (to look at after a failure), and the first test of a process to
/// make one drops those older than this (a run of the whole suite leaves
/// about 80 of them, about 1 GB in all).
const KEEP: &str = "1 hour";

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
    format!("{PREFIX}{:016x}", hasher.finish())
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
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if !SWEPT.swap(true, Ordering::Relaxed) {
        drop_old_databases(&mut admin, PREFIX, KEEP).await;
    }
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

/// Drops the databases whose name is `prefix` and 16 hex digits, made
/// more than `age` (a PostgreSQL interval) ago, as far as the server
/// tells (the age of each one's `PG_VERSION` file, which needs a superuser
/// or `pg_read_server_files`; without, nothing is dropped). A database in
/// use stays (the drop is not forced). Returns the names dropped.
pub async fn drop_old_databases(
    admin: &mut sqlx::PgConnection,
    prefix: &str,
    age: &str,
) -> Vec<String> {
    // Names are spliced into the drops below: the prefix's characters and
    // the suffix's hex digits are all that is let through.
    if !prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Vec::new();
    }
    let old: Vec<String> = match sqlx::query_scalar(
        "SELECT datname FROM pg_database \
         WHERE starts_with(datname, $1) \
           AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - $2::interval",
    )
    .bind(prefix)
    .bind(age)
    .fetch_all(&mut *admin)
    .await
    {
        Ok(names) => names,
        Err(_) => return Vec::new(),
    };
    let mut dropped = Vec::new();
    for name in old {
        let Some(suffix) = name.strip_prefix(prefix) else {
            continue;
        };
        if suffix.len() != 16 || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let drop = format!("DROP DATABASE IF EXISTS {name}");
        if sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut *admin)
            .await
            .is_ok()
        {
            dropped.push(name);
        }
    }
    dropped
}
