//! Settings of the SQLite library itself (not of a connection), made once
//! per process before the first connection opens.

use std::path::Path;
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};

use libsqlite3_sys as ffi;

use crate::writer::WRITER_PRAGMAS;

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
///
/// Also registers the VFS that gathers the writer's log writes
/// ([`crate::gather`]).
pub fn configure() -> bool {
    DONE.get_or_init(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int;
        // it is refused (SQLITE_MISUSE, nothing changed) once the library
        // is initialized, never unsafe.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!("SQLite's memory statistics stay on (sqlite3_config: {rc})");
        }
        let gathering = crate::gather::register()
            .inspect_err(|error| {
                tracing::warn!(
                    "the writer's log writes go one by one (registering its VFS: {error})"
                );
            })
            .is_ok();
        Library {
            memory_statistics_off: rc == ffi::SQLITE_OK,
            gathering,
        }
    })
    .memory_statistics_off
}

/// What [`configure`] did, once per process.
struct Library {
    memory_statistics_off: bool,
    /// Whether the log-gathering VFS is registered.
    gathering: bool,
}

static DONE: OnceLock<Library> = OnceLock::new();

/// Opens a write connection as the writer does: SQLite's library set up,
/// the log's writes gathered ([`crate::gather`]), [`WRITER_PRAGMAS`]
/// applied. Public for the ingest benchmark's raw loop.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    configure();
    let gathering = DONE.get().is_some_and(|library| library.gathering);
    let conn = if gathering {
        Connection::open_with_flags_and_vfs(path, OpenFlags::default(), crate::gather::NAME)?
    } else {
        Connection::open(path)?
    };
    conn.execute_batch(WRITER_PRAGMAS)?;
    // The gathering VFS relies on every commit ending with a sync after
    // its last write (no sector padding written after it).
    let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
    if synchronous < 2 {
        return Err(misuse(format!(
            "the writer needs synchronous = FULL, has {synchronous}"
        )));
    }
    let mut powersafe: std::ffi::c_int = -1;
    // SAFETY: the control takes an int; with -1 it only reports the
    // setting into it.
    let rc = unsafe { file_control(&conn, ffi::SQLITE_FCNTL_POWERSAFE_OVERWRITE, &mut powersafe) };
    if rc != ffi::SQLITE_OK || powersafe != 1 {
        return Err(misuse(
            "the writer needs power-safe overwrite (psow) on".into(),
        ));
    }
    Ok(conn)
}

/// `sqlite3_file_control` on the connection's main database; SQLite's
/// result code.
///
/// # Safety
/// `arg` must be the argument `op` takes.
pub(crate) unsafe fn file_control<T>(
    conn: &Connection,
    op: std::ffi::c_int,
    arg: &mut T,
) -> std::ffi::c_int {
    // SAFETY: the handle is this open connection's; the caller vouches
    // for the argument.
    unsafe {
        ffi::sqlite3_file_control(conn.handle(), c"main".as_ptr(), op, (arg as *mut T).cast())
    }
}

fn misuse(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_MISUSE), Some(message))
}
