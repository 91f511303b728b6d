//! Settings of the SQLite library made when the store opens (a test binary
//! of its own: nothing may open a connection before the store does).

use confab_store::Store;
use confab_store_sqlite::SqliteStore;
use libsqlite3_sys as ffi;

/// SQLite's memory statistics are off: its allocations take no
/// process-wide lock (see `library::configure`), so the counter of memory
/// in use stays 0 while the store's connections hold their caches.
#[tokio::test]
async fn the_store_turns_sqlite_memory_statistics_off() {
    let folder = std::env::temp_dir().join(format!("confab-library-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let url = format!("sqlite://{}/confab.db", folder.display());
    let store = SqliteStore::connect(&url).await.expect("store");
    store.ping().await.expect("a read");
    // SAFETY: reads a counter.
    let used = unsafe { ffi::sqlite3_memory_used() };
    assert_eq!(used, 0, "SQLite counted {used} bytes in use");
    let _ = std::fs::remove_dir_all(&folder);
}
