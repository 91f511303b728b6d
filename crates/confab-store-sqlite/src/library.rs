//! Settings of the SQLite library itself (not of a connection), made once
//! per process before the first connection opens.

use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// Turns off SQLite's memory statistics. With them on (the default) every
/// allocation and free inside SQLite takes a process-wide mutex to count
/// bytes, shared by the writer and every read connection: contact messages
/// written straight to the store by 128 tasks (`examples/writer_ingest.rs`)
/// went from 9,100 to 10,100 a second without it. Confab never reads those
/// statistics (nor sets a soft heap limit, which needs them). Has no effect
/// when something opened a SQLite connection before (the library is then
/// initialized and keeps its settings). Public for the ingest benchmark's
/// raw loop, which runs in a process of its own. Whether the statistics
/// are off (as the first call found).
pub fn configure() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int;
        // it is refused (SQLITE_MISUSE, nothing changed) once the library
        // is initialized, never unsafe.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!("SQLite's memory statistics stay on (sqlite3_config: {rc})");
        }
        rc == ffi::SQLITE_OK
    })
}
