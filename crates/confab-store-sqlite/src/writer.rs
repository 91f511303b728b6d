//! The one writer, with group commit.
//!
//! Every change to the database runs on one dedicated thread that owns the
//! only write connection (rusqlite: statements run synchronously, without a
//! thread hop per statement). Jobs that arrive while a commit is on its way
//! to disk wait in the queue; the thread then runs all of them in **one**
//! transaction — each inside its own savepoint, so a job that fails leaves
//! no trace and does not disturb the others — and commits once. Nobody is
//! answered before that commit returns: an acknowledged change is on disk
//! (`synchronous=FULL`), yet many changes share one fsync.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use confab_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::lite::lite_error;

/// The most jobs one transaction takes (bounds how long a commit holds the
/// rest of the queue, and the work lost to a failing commit).
const MAX_BATCH: usize = 512;

/// A job, type-erased: runs on the writer thread inside the open
/// transaction (or is told why it cannot run) and says whether it
/// succeeded, plus how to answer its caller once the transaction's fate is
/// known.
type Job = Box<dyn FnOnce(Result<&Connection, &str>) -> Ran + Send>;

struct Ran {
    ok: bool,
    answer: Answer,
}

/// Called after the transaction ends, with its error if it failed.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// The handle callers use; cheap to clone, the thread ends with the last one.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// Counters of the writer's work (how well commits are shared).
#[derive(Default)]
pub(crate) struct Stats {
    /// Transactions ended (committed or rolled back).
    pub transactions: AtomicU64,
    /// Jobs run.
    pub jobs: AtomicU64,
}

impl Writer {
    /// Opens the write connection on its own thread.
    pub(crate) fn open(path: &Path) -> StoreResult<Writer> {
        crate::library::configure();
        let conn = Connection::open(path).map_err(lite_error)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(lite_error)?;
        // temp_store: every job runs in a savepoint, and SQLite keeps the
        // original of each page a job changes in a sub-journal — a temporary
        // file by default, one pwrite per page (a third of the writer's time
        // in contact-message ingest); in memory it is a copy.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(lite_error)?;
        conn.set_prepared_statement_cache_capacity(256);
        let (queue, jobs) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        std::thread::Builder::new()
            .name("confab-sqlite-writer".into())
            .spawn(move || run(conn, jobs, &counters))
            .map_err(|e| StoreError::Database(format!("starting the writer thread: {e}")))?;
        Ok(Writer { queue, stats })
    }

    /// The writer's counters so far.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Runs `job` in a write transaction and returns its result once the
    /// transaction is durably committed (or its error; a failed job changes
    /// nothing).
    pub(crate) async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => catch_unwind(AssertUnwindSafe(|| job(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Database("a write job panicked".into()))),
                Err(why) => Err(StoreError::Database(why.to_string())),
            };
            Ran {
                ok: result.is_ok(),
                answer: Box::new(move |commit_error| {
                    let result = match (result, commit_error) {
                        (Ok(_), Some(error)) => {
                            Err(StoreError::Database(format!("commit failed: {error}")))
                        }
                        (result, _) => result,
                    };
                    let _ = reply.send(result);
                }),
            }
        });
        self.queue
            .send(job)
            .map_err(|_| StoreError::Database("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer thread has stopped".into()))?
    }
}

/// The writer thread's niceness, ahead of the request threads (0): every
/// change waits for this one thread, and with the two cores busy it
/// waited for a core about as long as it ran (contact-message ingest:
/// on a core 44 % of the time, runnable and waiting 38 %).
const WRITER_NICE: i32 = -10;

/// Gives the calling thread (the writer) [`WRITER_NICE`] when the process
/// may (`CAP_SYS_NICE`: root outside most containers, or systemd's
/// `AmbientCapabilities=`);
/// otherwise it keeps the default and says so once.
fn raise_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WRITER_NICE)
        };
        if result != 0 {
            tracing::info!(
                "the SQLite writer thread keeps the default priority ({}); with CAP_SYS_NICE it would run ahead of request threads",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// The writer thread: take what is queued, run it as one transaction, repeat.
fn run(conn: Connection, jobs: mpsc::Receiver<Job>, stats: &Stats) {
    raise_priority();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let answers = run_batch(&conn, batch.drain(..));
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        for (answer, error) in answers {
            answer(error.as_deref());
        }
    }
}

/// Runs one batch; returns each job's answer with the error to give it.
fn run_batch(
    conn: &Connection,
    batch: impl ExactSizeIterator<Item = Job>,
) -> Vec<(Answer, Option<String>)> {
    let alone = batch.len() == 1;
    let mut answers: Vec<(Answer, Option<String>)> = Vec::with_capacity(batch.len());
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE") {
        for job in batch {
            answers.push((job(Err(&error)).answer, None));
        }
        return answers;
    }
    let mut any_ok = false;
    // Set when a failed job's changes could not be undone: then nothing of
    // this batch may be committed.
    let mut poisoned: Option<String> = None;
    for job in batch {
        if let Some(why) = &poisoned {
            answers.push((job(Err(why)).answer, None));
            continue;
        }
        if alone {
            let ran = job(Ok(conn));
            any_ok = ran.ok;
            answers.push((ran.answer, None));
            continue;
        }
        if let Err(error) = exec(conn, "SAVEPOINT job") {
            answers.push((job(Err(&error)).answer, None));
            poisoned = Some(error);
            continue;
        }
        let ran = job(Ok(conn));
        let closed = if ran.ok {
            exec(conn, "RELEASE job")
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        };
        if let Err(error) = closed {
            poisoned = Some(error);
        }
        any_ok |= ran.ok;
        answers.push((ran.answer, None));
    }
    let finished = match poisoned {
        Some(error) => Err(error),
        None if any_ok => exec(conn, "COMMIT"),
        None => exec(conn, "ROLLBACK"),
    };
    if let Err(error) = finished {
        // Nothing of the batch stays: end the transaction, and tell every
        // job that had succeeded.
        let _ = exec(conn, "ROLLBACK");
        for (_, slot) in answers.iter_mut() {
            *slot = Some(error.clone());
        }
    }
    answers
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lite::{execute, query_one};
    use confab_store::rows::EntityRow;

    fn open() -> Writer {
        let folder = std::env::temp_dir().join(format!(
            "confab-writer-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&folder).unwrap();
        Writer::open(&folder.join("w.db")).unwrap()
    }

    fn rand_suffix() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    async fn setup(writer: &Writer) {
        writer
            .write(|tx| {
                tx.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                    .map_err(lite_error)
            })
            .await
            .unwrap();
    }

    async fn count(writer: &Writer) -> i64 {
        writer
            .write(|tx| query_one(tx, "SELECT COUNT(*) AS n FROM t", [], "t", |r| r.int("n")))
            .await
            .unwrap()
    }

    /// The writer thread runs ahead of the others when the process may
    /// raise a thread's priority (root with `CAP_SYS_NICE`, as CI runs),
    /// else at the default.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_writer_thread_runs_ahead_when_allowed() {
        // SAFETY: plain system calls on the calling thread's own id.
        let nice_of_this_thread =
            || unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        let writer = open();
        let nice = writer
            .write(move |_| Ok(nice_of_this_thread()))
            .await
            .unwrap();
        // Whether this process may: try it on a thread of its own.
        let allowed = std::thread::spawn(|| {
            // SAFETY: as above.
            unsafe {
                libc::setpriority(
                    libc::PRIO_PROCESS,
                    libc::gettid() as libc::id_t,
                    WRITER_NICE,
                ) == 0
            }
        })
        .join()
        .unwrap();
        assert_eq!(nice, if allowed { WRITER_NICE } else { 0 });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_share_commits_and_all_land() {
        let writer = open();
        setup(&writer).await;
        let before = writer.stats().transactions.load(Ordering::Relaxed);
        let mut tasks = Vec::new();
        for k in 0..2000i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |tx| execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'x')", [k]))
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), 1);
        }
        assert_eq!(count(&writer).await, 2000);
        let transactions = writer.stats().transactions.load(Ordering::Relaxed) - before;
        assert!(
            transactions < 2000,
            "2000 concurrent writes took {transactions} transactions: no commit was shared"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_job_leaves_no_trace_and_spares_its_batch() {
        let writer = open();
        setup(&writer).await;
        let mut tasks = Vec::new();
        for k in 0..600i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |tx| {
                        execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?;
                        match k % 3 {
                            // A half-done change that then fails.
                            0 => {
                                execute(
                                    tx,
                                    "INSERT INTO t (k, v) VALUES (?1, 'y')",
                                    [k + 100_000],
                                )?;
                                Err(StoreError::NotFound("thing"))
                            }
                            // A panic half-way.
                            1 if k % 9 == 1 => panic!("job {k} panics"),
                            _ => Ok(k),
                        }
                    })
                    .await
            }));
        }
        let mut kept = 0;
        for (k, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            match k % 3 {
                0 => assert!(matches!(result, Err(StoreError::NotFound("thing")))),
                1 if k % 9 == 1 => assert!(matches!(result, Err(StoreError::Database(_)))),
                _ => {
                    assert_eq!(result.unwrap(), k as i64);
                    kept += 1;
                }
            }
        }
        assert_eq!(count(&writer).await, kept);
        let stray = writer
            .write(|tx| {
                query_one(
                    tx,
                    "SELECT COUNT(*) AS n FROM t WHERE k >= 100000 OR k % 3 = 0",
                    [],
                    "t",
                    |r| r.int("n"),
                )
            })
            .await
            .unwrap();
        assert_eq!(stray, 0, "a failed job's rows were committed");
    }

    #[tokio::test]
    async fn a_constraint_error_is_reported_not_swallowed() {
        let writer = open();
        setup(&writer).await;
        let insert = |k: i64| {
            move |tx: &Connection| execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'x')", [k])
        };
        writer.write(insert(1)).await.unwrap();
        let again = writer.write(insert(1)).await;
        assert!(
            matches!(again, Err(StoreError::Duplicate { .. })),
            "{again:?}"
        );
        assert_eq!(count(&writer).await, 1);
    }
}
