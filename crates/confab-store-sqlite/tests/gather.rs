//! The writer's connection gathers its log writes (`src/gather.rs`): a
//! commit's frames reach the file in a few calls, and all of them before
//! the commit returns — another connection (SQLite's default VFS, its own
//! file descriptors) reads every committed row, and a process that stops
//! without closing leaves a log SQLite recovers whole; what a transaction
//! spills into the log before a rollback is written at once, as SQLite
//! writes it, not later over another connection's commit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use confab_store_sqlite::{commit, open_writer};
use rusqlite::{Connection, OpenFlags};

/// The tests count this process's write calls; one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("confab-gather-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a folder");
    folder
}

/// A reader on SQLite's default VFS.
fn reader(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("a reader")
}

/// Rows and the sum of their bytes, as `reader` sees them.
fn rows(conn: &Connection) -> (i64, i64) {
    conn.query_row(
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM t",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .expect("the rows")
}

/// A writer on a fresh file in its own folder, with the table `t`.
fn writer_on_fresh_file(name: &str, pragmas: &str) -> (PathBuf, PathBuf, Connection) {
    let folder = folder(name);
    let path = folder.join("c.db");
    let writer = open_writer(&path).expect("the writer");
    writer
        .execute_batch(&format!(
            "{pragmas} CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)"
        ))
        .expect("a table");
    (folder, path, writer)
}

/// Inserts `n` rows of `size` random bytes.
fn insert(conn: &Connection, n: usize, size: i64) {
    for _ in 0..n {
        conn.execute("INSERT INTO t(body) VALUES (randomblob(?1))", [size])
            .expect("a row");
    }
}

/// Commits `n` rows of `size` bytes through [`commit`].
fn commit_rows(writer: &Connection, n: usize, size: i64) {
    let tx = writer.unchecked_transaction().expect("a transaction");
    insert(&tx, n, size);
    commit(&tx).expect("a commit");
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("a check")
}

/// Write calls this process made so far (Linux's `syscw`).
fn write_calls() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    io.lines()
        .find_map(|line| line.strip_prefix("syscw: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscw")
}

#[test]
fn every_commit_is_in_the_file_when_it_returns() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (folder, path, writer) = writer_on_fresh_file("commits", "");
    let reader = reader(&path);
    for round in 1..=40_i64 {
        // One row, then a few pages' worth: commits of one frame and of many.
        commit_rows(&writer, if round % 2 == 0 { 1 } else { 30 }, 3000);
        let expected: (i64, i64) = writer
            .query_row("SELECT count(*), sum(length(body)) FROM t", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .expect("the writer's rows");
        assert_eq!(rows(&reader), expected, "round {round}");
    }
    assert_eq!(integrity(&reader), "ok");
    let _ = std::fs::remove_dir_all(&folder);
}

/// 600 pages in one commit go out in well under 600 write calls (SQLite's
/// own VFS makes two per page: a frame's header, then the page).
#[test]
fn a_commit_writes_its_log_in_few_calls() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (folder, path, writer) = writer_on_fresh_file("calls", "");
    let tx = writer.unchecked_transaction().expect("a transaction");
    insert(&tx, 600, 3000);
    let before = write_calls();
    commit(&tx).expect("a commit");
    drop(tx);
    let calls = write_calls() - before;
    // 600 frames of 4,120 bytes in pieces of at most 128 KiB: 19 calls.
    assert!(calls <= 40, "{calls} write calls for a commit of 600 pages");
    assert_eq!(rows(&reader(&path)), (600, 600 * 3000));
    let _ = std::fs::remove_dir_all(&folder);
}

/// The child half of the next test: writes, then ends the process without
/// closing the connection (no checkpoint, the log left as a crash would).
#[test]
fn child_writes_then_stops() {
    let Ok(path) = std::env::var("CONFAB_GATHER_CHILD_DB") else {
        return;
    };
    let writer = open_writer(Path::new(&path)).expect("the writer");
    // A small page cache: a large transaction spills pages into the log
    // before its commit and writes some of them again (SQLite then
    // rewrites their frames in place and their checksums at commit).
    writer
        .execute_batch("PRAGMA cache_size = 20; CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)")
        .expect("a table");
    for round in 0..5_i64 {
        let tx = writer.unchecked_transaction().expect("a transaction");
        for i in 0..400_i64 {
            tx.execute(
                "INSERT INTO t(id, body) VALUES (?1, randomblob(2000))",
                [round * 1000 + i],
            )
            .expect("a row");
        }
        // Rewrite the first rows: pages already in the log this transaction.
        tx.execute(
            "UPDATE t SET body = randomblob(1500) WHERE id BETWEEN ?1 AND ?1 + 99",
            [round * 1000],
        )
        .expect("an update");
        tx.commit().expect("a commit");
    }
    // A last transaction left open: its spilled frames must not count.
    let tx = writer.unchecked_transaction().expect("a transaction");
    for i in 0..400_i64 {
        tx.execute(
            "INSERT INTO t(id, body) VALUES (?1, randomblob(2000))",
            [900_000 + i],
        )
        .expect("a row");
    }
    std::process::exit(0);
}

#[test]
fn a_log_left_by_a_stopped_process_recovers_whole() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let folder = folder("stopped");
    let path = folder.join("c.db");
    let child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "child_writes_then_stops"])
        .env("CONFAB_GATHER_CHILD_DB", &path)
        .output()
        .expect("the child");
    assert!(
        child.status.success(),
        "the child: {}\n{}{}",
        child.status,
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let wal = std::fs::metadata(folder.join("c.db-wal"))
        .expect("the log the child left")
        .len();
    assert!(wal > 0, "the child left an empty log");
    let reader = Connection::open(&path).expect("a reader");
    assert_eq!(integrity(&reader), "ok");
    assert_eq!(rows(&reader), (5 * 400, 5 * (300 * 2000 + 100 * 1500)));
    let _ = std::fs::remove_dir_all(&folder);
}

/// A transaction that spilled pages into the log and rolled back, then
/// another connection's commit, then the writer reads and commits again:
/// nothing of the rolled-back transaction may reach the file after the
/// other connection's frames (held spill writes, written out at the
/// writer's next read, would overwrite them).
#[test]
fn a_rolled_back_spill_never_overwrites_another_commit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (folder, path, writer) = writer_on_fresh_file("rollback", "PRAGMA cache_size = 10;");
    commit_rows(&writer, 1, 2000);
    // The log copied back: the next transaction starts it over.
    writer
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .expect("a checkpoint");
    // Spills into the log (a small cache), then a rollback.
    let tx = writer.unchecked_transaction().expect("a transaction");
    insert(&tx, 300, 2000);
    tx.rollback().expect("a rollback");
    another_commit_then_the_writers(&path, &writer);
    let _ = std::fs::remove_dir_all(&folder);
}

/// After `writer` committed a row of 2,000 bytes and rolled back a spill:
/// another connection (SQLite's default VFS) commits 300 rows into the
/// same log, then the writer reads (from the log too) and commits a row;
/// the file must be whole, every committed row in it.
fn another_commit_then_the_writers(path: &Path, writer: &Connection) {
    let other = Connection::open(path).expect("another connection");
    let tx = other.unchecked_transaction().expect("a transaction");
    insert(&tx, 300, 1500);
    tx.commit().expect("the other commit");
    let seen: i64 = writer
        .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
        .expect("a count");
    assert_eq!(seen, 301);
    commit_rows(writer, 1, 1000);
    let reader = reader(path);
    assert_eq!(integrity(&reader), "ok");
    assert_eq!(rows(&reader), (302, 2000 + 300 * 1500 + 1000));
}

/// During a commit, only that connection's log holds its writes: another
/// connection writing on the same thread meanwhile (here from the
/// commit's hook) writes straight to its own file — a spill it then rolls
/// back must not stay held and overwrite a later commit of its file.
#[test]
fn only_the_committing_connections_log_holds_writes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (folder, path, writer) = writer_on_fresh_file("own-log", "");
    let (other_folder, other_path, other) =
        writer_on_fresh_file("own-log-other", "PRAGMA cache_size = 10;");
    commit_rows(&other, 1, 2000);
    other
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .expect("a checkpoint");
    let other_log = other_folder.join("c.db-wal");
    let other = Arc::new(Mutex::new(other));
    let in_hook = other.clone();
    let grown = Arc::new(Mutex::new(None));
    let seen = grown.clone();
    writer
        .commit_hook(Some(move || {
            let other = in_hook.lock().expect("the other connection");
            let before = std::fs::metadata(&other_log).expect("its log").len();
            let tx = other.unchecked_transaction().expect("a transaction");
            insert(&tx, 300, 2000);
            let after = std::fs::metadata(&other_log).expect("its log").len();
            tx.rollback().expect("a rollback");
            *seen.lock().expect("the sizes") = Some((before, after));
            false
        }))
        .expect("a commit hook");
    commit_rows(&writer, 20, 3000);
    writer
        .commit_hook(None::<fn() -> bool>)
        .expect("no commit hook");
    let (before, after) = grown.lock().expect("the sizes").expect("the hook ran");
    assert!(
        after > before + 100 * 4096,
        "the other connection's spill was held: its log went from {before} to {after} bytes"
    );
    assert_eq!(rows(&reader(&path)), (20, 20 * 3000));
    // A third connection commits into the other file, then the other
    // connection reads and commits: its file stays whole.
    let other = other.lock().expect("the other connection");
    another_commit_then_the_writers(&other_path, &other);
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::remove_dir_all(&other_folder);
}

/// Writes outside `commit` go straight to the file: a transaction
/// committed with a plain `COMMIT` makes as many calls as SQLite's own VFS.
#[test]
fn only_commit_gathers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (folder, path, writer) = writer_on_fresh_file("plain", "");
    let tx = writer.unchecked_transaction().expect("a transaction");
    insert(&tx, 100, 3000);
    let before = write_calls();
    tx.commit().expect("a plain commit");
    let calls = write_calls() - before;
    assert!(
        calls >= 200,
        "{calls} write calls for 100 pages committed plainly"
    );
    assert_eq!(rows(&reader(&path)), (100, 100 * 3000));
    let _ = std::fs::remove_dir_all(&folder);
}
