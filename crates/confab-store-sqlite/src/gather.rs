//! A VFS over SQLite's default one (`unix`) that gathers a commit's writes
//! to the write-ahead log into a few large `pwrite`s.
//!
//! SQLite writes each log frame as two `pwrite`s — its 24-byte header,
//! then the page — so a commit of 100 pages is 200 system calls, each
//! taking the file's lock, marking its buffers dirty (a frame of 4,120
//! bytes straddles two of the OS's pages) and updating the file's times.
//! Under contact-message ingest those calls were a fifth of the writer
//! thread's CPU (docs/benchmarks.md).
//!
//! Writes are held only during a `COMMIT` run by [`commit`], and only to
//! that connection's own log (its `main` database's, as SQLite names it:
//! its journal pointer; an attached database's log is written through);
//! every other write goes straight to the file, as without this VFS (a
//! page spilled into the log mid-transaction, say, which a rollback would
//! leave behind, or another connection's writes on the same thread).
//! Within the commit, the log's writes are held while each one starts
//! where the one before ended and written out in pieces
//! before anything else touches the log: the commit's sync (at
//! `synchronous=FULL` every commit ends with one, and SQLite tells other
//! connections of a commit only after it), a read, a size, a truncate, a
//! file control, a write elsewhere, its close, or once 4 MiB are held.
//! Nothing is acknowledged or shown to a reader earlier than before, and
//! nothing is synced less: durability is SQLite's own. Once a write-out
//! fails, every later one in the same commit fails too without writing
//! (reads of other parts of the log go on): the commit fails, SQLite rolls
//! it back, and what it held is dropped — a brief error cannot let a
//! failed commit's frames reach the log afterwards.
//!
//! Connections that use it must run at `synchronous=FULL` with
//! power-safe overwrite (SQLite's default on `unix`; without it the end of
//! a commit's last frame is written after the sync):
//! [`crate::library::open_writer`] opens the writer's connection with it
//! and checks both. Every other connection uses SQLite's default VFS.
//! Files other than the log are SQLite's own, untouched (opened straight
//! into the space this VFS asks for).

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use libsqlite3_sys as ffi;

/// The name connections open with to use it.
pub(crate) const NAME: &CStr = c"confab-gather";

/// Held writes are written out before the buffer would pass this size.
const MAX_HELD: usize = 4 << 20;

/// The most SQLite's `unix` VFS writes in one call: it masks the length
/// to 17 bits (its own writes are at most a page of 64 KiB), so held bytes
/// go out in pieces of this size.
const UNIX_MAX_WRITE: usize = 0x1ffff;

/// A buffer that grew past this is freed once written out (a large
/// transaction does not keep its memory).
const KEEP_CAPACITY: usize = 1 << 20;

/// SQLite's default VFS, set before this one is registered (so before any
/// of its functions can run) and never changed after.
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

thread_local! {
    /// The log of the connection this thread runs [`commit`] on, while it
    /// does (null otherwise): the only file whose writes are held.
    static COMMITTING: Cell<*mut ffi::sqlite3_file> = const { Cell::new(ptr::null_mut()) };
    /// The log whose writes this thread's commit holds, if any.
    static HOLDING: Cell<*mut ffi::sqlite3_file> = const { Cell::new(ptr::null_mut()) };
}

/// Runs `COMMIT` on a connection [`crate::open_writer`] opened, with its
/// log's writes gathered. Public for the ingest benchmark's raw loop.
pub fn commit(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // Restored after, so that a commit run inside another on this thread
    // (from its hook) does not end the outer one's holding.
    let outer = COMMITTING.replace(own_log(conn));
    let result = conn
        .prepare_cached("COMMIT")
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ());
    COMMITTING.set(outer);
    let held = HOLDING.replace(ptr::null_mut());
    if !held.is_null() {
        // SAFETY: HOLDING names an open log of this thread's connection,
        // set by `write` during this commit and unset by `close`. A failed
        // write-out leaves bytes held, so a failed log is this one.
        unsafe {
            (*held.cast::<LogFile>()).failed = ffi::SQLITE_OK;
            if result.is_ok() {
                // Not reached at synchronous=FULL with power-safe overwrite
                // (open_writer checks both): the sync wrote everything.
                let rc = flush(held);
                tracing::error!("a commit returned with log writes held (written out: {rc})");
            } else {
                // The commit failed and SQLite rolled the transaction back:
                // what it wrote for it was never to be read.
                let log = &mut *held.cast::<LogFile>();
                log.held.clear();
            }
        }
    }
    result
}

/// The connection's write-ahead log, when this VFS opened it (null
/// otherwise: the commit's writes then go out as SQLite makes them).
fn own_log(conn: &rusqlite::Connection) -> *mut ffi::sqlite3_file {
    let mut log: *mut ffi::sqlite3_file = ptr::null_mut();
    // SAFETY: the control takes a file pointer, into which SQLite itself
    // (not any VFS) writes the pager's journal file: in WAL mode its log.
    let rc =
        unsafe { crate::library::file_control(conn, ffi::SQLITE_FCNTL_JOURNAL_POINTER, &mut log) };
    // SAFETY: a file SQLite names is open or, unopened, has no methods.
    if rc != ffi::SQLITE_OK || log.is_null() || !ptr::eq(unsafe { (*log).pMethods }, &LOG_METHODS) {
        return ptr::null_mut();
    }
    log
}

/// A log file: SQLite's file object (its methods ours), the writes held,
/// then SQLite's own file for it at [`real_offset`].
#[repr(C)]
struct LogFile {
    base: ffi::sqlite3_file,
    held: Vec<u8>,
    /// Where in the file the held bytes go.
    at: i64,
    /// Once a write-out failed, its result code, until the commit ends:
    /// the held bytes are then never written (SQLite is rolling the
    /// transaction back — a brief error must not let its frames, its
    /// commit frame among them, reach the log afterwards).
    failed: c_int,
}

/// Where the underlying file starts within the space SQLite allocates.
const fn real_offset() -> usize {
    size_of::<LogFile>().div_ceil(16) * 16
}

/// Registers the VFS (not as the default). Must run after the library's
/// `sqlite3_config` calls (registering initializes SQLite), once per
/// process (`library::configure`).
pub(crate) fn register() -> Result<(), String> {
    // SAFETY: with NULL, sqlite3_vfs_find returns the default VFS, which
    // SQLite keeps for the life of the process.
    let base = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    if base.is_null() {
        return Err("SQLite has no default VFS".into());
    }
    BASE.store(base, Ordering::Release);
    // SAFETY: base is SQLite's default VFS (above).
    let (base_size, max_path) = unsafe { ((*base).szOsFile, (*base).mxPathname) };
    let own = c_int::try_from(real_offset()).map_err(|e| e.to_string())?;
    // SQLite keeps a pointer to a registered VFS until it is unregistered,
    // which never happens: leaked on purpose, once per process.
    let vfs: &'static mut ffi::sqlite3_vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
        iVersion: 2,
        szOsFile: own + base_size,
        mxPathname: max_path,
        pNext: ptr::null_mut(),
        zName: NAME.as_ptr(),
        pAppData: ptr::null_mut(),
        xOpen: Some(open),
        xDelete: Some(delete),
        xAccess: Some(access),
        xFullPathname: Some(full_pathname),
        xDlOpen: Some(dl_open),
        xDlError: Some(dl_error),
        xDlSym: Some(dl_sym),
        xDlClose: Some(dl_close),
        xRandomness: Some(randomness),
        xSleep: Some(sleep),
        xCurrentTime: Some(current_time),
        xGetLastError: Some(get_last_error),
        xCurrentTimeInt64: Some(current_time_int64),
        xSetSystemCall: None,
        xGetSystemCall: None,
        xNextSystemCall: None,
    }));
    // SAFETY: vfs is fully initialized and lives as long as the process.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    if rc != ffi::SQLITE_OK {
        return Err(format!("sqlite3_vfs_register: {rc}"));
    }
    Ok(())
}

/// The default VFS.
fn base() -> *mut ffi::sqlite3_vfs {
    BASE.load(Ordering::Acquire)
}

static LOG_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

// SAFETY (for every function below): SQLite calls a file's methods only
// on the file object its VFS opened, one call at a time per file (a file
// belongs to one connection, used by one thread at a time). A log file's
// object is a `LogFile` whose `held` and `at` `open` initialized, followed
// at `real_offset` by the default VFS's open file.

/// SQLite's own file under a log file.
unsafe fn real(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    unsafe { file.cast::<u8>().add(real_offset()).cast() }
}

/// The underlying file's methods (set: it opened).
unsafe fn methods(file: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    unsafe { &*(*real(file)).pMethods }
}

/// Writes the held bytes out; SQLite's result code. What fails to go out
/// stays held, and every later write-out in the same commit fails the same
/// way without writing: the commit fails, and [`commit`] drops the bytes.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let write = methods(file).xWrite.expect("a file can write");
        let log = &mut *file.cast::<LogFile>();
        if log.held.is_empty() {
            return ffi::SQLITE_OK;
        }
        if log.failed != ffi::SQLITE_OK {
            return log.failed;
        }
        let mut rc = ffi::SQLITE_OK;
        let mut written = 0;
        #[cfg(test)]
        if tests::FAILING.get() > 0 {
            tests::FAILING.set(tests::FAILING.get() - 1);
            rc = ffi::SQLITE_IOERR_WRITE;
        }
        for piece in log.held.chunks(UNIX_MAX_WRITE) {
            if rc != ffi::SQLITE_OK {
                break;
            }
            // At most UNIX_MAX_WRITE bytes, so it fits.
            rc = write(
                real(file),
                piece.as_ptr().cast(),
                piece.len() as c_int,
                log.at + written as i64,
            );
            if rc != ffi::SQLITE_OK {
                break;
            }
            written += piece.len();
        }
        log.held.drain(..written);
        log.at += written as i64;
        if rc != ffi::SQLITE_OK {
            // Bytes stay held, and with them HOLDING: `commit` clears this.
            log.failed = rc;
        }
        if log.held.is_empty() {
            if log.held.capacity() > KEEP_CAPACITY {
                log.held = Vec::new();
            }
            if HOLDING.get() == file {
                HOLDING.set(ptr::null_mut());
            }
        }
        rc
    }
}

/// Runs `then` on the underlying file once the held bytes are out.
unsafe fn flushed(file: *mut ffi::sqlite3_file, then: impl FnOnce() -> c_int) -> c_int {
    match unsafe { flush(file) } {
        ffi::SQLITE_OK => then(),
        failed => failed,
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    unsafe {
        let base = base();
        let open = (*base).xOpen.expect("a VFS can open");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Not the log: SQLite's file as it is, in the space given.
            return open(base, name, file, flags, out_flags);
        }
        // Unset until the file is open: SQLite then will not close it.
        (*file).pMethods = ptr::null();
        let rc = open(base, name, real(file), flags, out_flags);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let log = file.cast::<LogFile>();
        ptr::addr_of_mut!((*log).held).write(Vec::new());
        ptr::addr_of_mut!((*log).at).write(0);
        ptr::addr_of_mut!((*log).failed).write(ffi::SQLITE_OK);
        (*file).pMethods = &LOG_METHODS;
        rc
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let flushed = flush(file);
        let closed = (methods(file).xClose.expect("a file can close"))(real(file));
        if HOLDING.get() == file {
            HOLDING.set(ptr::null_mut());
        }
        ptr::drop_in_place(ptr::addr_of_mut!((*file.cast::<LogFile>()).held));
        if flushed == ffi::SQLITE_OK {
            closed
        } else {
            flushed
        }
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let read = methods(file).xRead.expect("a file can read");
        let log = &*file.cast::<LogFile>();
        let held_end = log.at + log.held.len() as i64;
        // Bytes outside the held range are the file's as they are.
        if log.held.is_empty() || offset + i64::from(amount) <= log.at || offset >= held_end {
            return read(real(file), buf, amount, offset);
        }
        flushed(file, || read(real(file), buf, amount, offset))
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let Ok(length) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let (held, at) = {
            let log = &*file.cast::<LogFile>();
            (log.held.len(), log.at)
        };
        let committing = COMMITTING.get() == file;
        if held == 0 || !committing || offset != at + held as i64 || held + length > MAX_HELD {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            if !committing {
                return write_through(file, buf, amount, offset);
            }
            (*file.cast::<LogFile>()).at = offset;
        }
        let held = &mut (*file.cast::<LogFile>()).held;
        if held.try_reserve(length).is_err() {
            // No memory to hold it: written at once, as SQLite would.
            return flushed(file, || write_through(file, buf, amount, offset));
        }
        held.extend_from_slice(std::slice::from_raw_parts(buf.cast::<u8>(), length));
        HOLDING.set(file);
        ffi::SQLITE_OK
    }
}

/// Writes straight to the underlying file (nothing held before it).
unsafe fn write_through(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe { (methods(file).xWrite.expect("a file can write"))(real(file), buf, amount, offset) }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    unsafe {
        flushed(file, || {
            (methods(file).xTruncate.expect("a file can truncate"))(real(file), size)
        })
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    unsafe {
        flushed(file, || {
            (methods(file).xSync.expect("a file can sync"))(real(file), flags)
        })
    }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    unsafe {
        flushed(file, || {
            (methods(file).xFileSize.expect("a file has a size"))(real(file), size)
        })
    }
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe { (methods(file).xLock.expect("a file can lock"))(real(file), level) }
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe { (methods(file).xUnlock.expect("a file can unlock"))(real(file), level) }
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    unsafe { (methods(file).xCheckReservedLock.expect("a file has locks"))(real(file), out) }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    unsafe {
        flushed(file, || {
            (methods(file).xFileControl.expect("a file has controls"))(real(file), op, arg)
        })
    }
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe { (methods(file).xSectorSize.expect("a file has sectors"))(real(file)) }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        (methods(file)
            .xDeviceCharacteristics
            .expect("a file has a device"))(real(file))
    }
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        match methods(file).xShmMap {
            Some(map) => map(real(file), page, size, extend, out),
            None => ffi::SQLITE_IOERR,
        }
    }
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    unsafe {
        match methods(file).xShmLock {
            Some(lock) => lock(real(file), offset, n, flags),
            None => ffi::SQLITE_IOERR,
        }
    }
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    unsafe {
        if let Some(barrier) = methods(file).xShmBarrier {
            barrier(real(file));
        }
    }
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    unsafe {
        match methods(file).xShmUnmap {
            Some(unmap) => unmap(real(file), delete),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        flushed(file, || match methods(file).xFetch {
            Some(fetch) => fetch(real(file), offset, amount, out),
            None => {
                // Nothing mapped: SQLite reads with xRead instead.
                *out = ptr::null_mut();
                ffi::SQLITE_OK
            }
        })
    }
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    unsafe {
        match methods(file).xUnfetch {
            Some(unfetch) => unfetch(real(file), offset, page),
            None => ffi::SQLITE_OK,
        }
    }
}

// The VFS's own calls, handed to the default VFS.

unsafe extern "C" fn delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    unsafe { ((*base()).xDelete.expect("a VFS can delete"))(base(), name, sync_dir) }
}

unsafe extern "C" fn access(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    unsafe { ((*base()).xAccess.expect("a VFS can look"))(base(), name, flags, out) }
}

unsafe extern "C" fn full_pathname(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    unsafe { ((*base()).xFullPathname.expect("a VFS has paths"))(base(), name, n, out) }
}

unsafe extern "C" fn dl_open(_vfs: *mut ffi::sqlite3_vfs, name: *const c_char) -> *mut c_void {
    unsafe {
        match (*base()).xDlOpen {
            Some(open) => open(base(), name),
            None => ptr::null_mut(),
        }
    }
}

unsafe extern "C" fn dl_error(_vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) {
    unsafe {
        if let Some(error) = (*base()).xDlError {
            error(base(), n, out);
        }
    }
}

type DlSymbol = unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char);

unsafe extern "C" fn dl_sym(
    _vfs: *mut ffi::sqlite3_vfs,
    handle: *mut c_void,
    symbol: *const c_char,
) -> Option<DlSymbol> {
    unsafe { (*base()).xDlSym.and_then(|sym| sym(base(), handle, symbol)) }
}

unsafe extern "C" fn dl_close(_vfs: *mut ffi::sqlite3_vfs, handle: *mut c_void) {
    unsafe {
        if let Some(close) = (*base()).xDlClose {
            close(base(), handle);
        }
    }
}

unsafe extern "C" fn randomness(_vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    unsafe { ((*base()).xRandomness.expect("a VFS has randomness"))(base(), n, out) }
}

unsafe extern "C" fn sleep(_vfs: *mut ffi::sqlite3_vfs, microseconds: c_int) -> c_int {
    unsafe { ((*base()).xSleep.expect("a VFS can sleep"))(base(), microseconds) }
}

unsafe extern "C" fn current_time(_vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    unsafe { ((*base()).xCurrentTime.expect("a VFS has a clock"))(base(), out) }
}

unsafe extern "C" fn get_last_error(
    _vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    unsafe {
        match (*base()).xGetLastError {
            Some(error) => error(base(), n, out),
            None => 0,
        }
    }
}

unsafe extern "C" fn current_time_int64(_vfs: *mut ffi::sqlite3_vfs, out: *mut i64) -> c_int {
    unsafe {
        match (*base()).xCurrentTimeInt64 {
            Some(now) => now(base(), out),
            None => ffi::SQLITE_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rusqlite::{Connection, OpenFlags};

    thread_local! {
        /// Held writes that fail to go out before one does.
        pub(super) static FAILING: Cell<u32> = const { Cell::new(0) };
    }

    fn rows(path: &std::path::Path) -> (i64, String) {
        let reader =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("a reader");
        let count = reader
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .expect("a count");
        let check = reader
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("a check");
        (count, check)
    }

    /// A commit whose held writes cannot go out fails, leaves nothing a
    /// reader sees, and the next commit goes out whole.
    #[test]
    fn a_commit_whose_writes_fail_changes_nothing() {
        let folder =
            std::env::temp_dir().join(format!("confab-gather-fail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("a folder");
        let path = folder.join("c.db");
        let writer = crate::library::open_writer(&path).expect("the writer");
        writer
            .execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)")
            .expect("a table");
        let insert = |n: usize| {
            let tx = writer.unchecked_transaction().expect("a transaction");
            for _ in 0..n {
                tx.execute("INSERT INTO t(body) VALUES (randomblob(3000))", [])
                    .expect("a row");
            }
            let result = super::commit(&tx);
            if result.is_err() && !tx.is_autocommit() {
                tx.rollback().expect("a rollback");
            }
            result
        };
        insert(50).expect("a commit");
        FAILING.set(1);
        let failed = insert(80).expect_err("a commit whose writes fail");
        assert_eq!(FAILING.get(), 0, "the failure was not reached");
        assert!(failed.to_string().contains("disk I/O error"), "{failed}");
        assert!(super::HOLDING.get().is_null());
        assert_eq!(rows(&path), (50, "ok".into()));
        // What a crash now would leave: the database and its log, no
        // wal-index (SQLite rebuilds it from the log's frames). None of
        // the failed commit's frames may be there.
        let copy = folder.join("copy");
        std::fs::create_dir_all(&copy).expect("a folder");
        std::fs::copy(&path, copy.join("c.db")).expect("the database");
        std::fs::copy(folder.join("c.db-wal"), copy.join("c.db-wal")).expect("the log");
        assert_eq!(rows(&copy.join("c.db")), (50, "ok".into()));
        insert(30).expect("a commit after");
        assert_eq!(rows(&path), (80, "ok".into()));
        let _ = std::fs::remove_dir_all(&folder);
    }
}
