//! The one writer, with group commit.
//!
//! Every change to the database runs on one dedicated thread that owns the
//! only write connection (rusqlite: statements run synchronously, without a
//! thread hop per statement; a second connection only checkpoints,
//! `checkpointer.rs`). Jobs that arrive while a commit is on its way
//! to disk wait in the queue; the thread then runs all of them in **one**
//! transaction — each inside its own savepoint (rerunnable jobs excepted,
//! below), so a job that fails leaves no trace and does not disturb the
//! others — and commits once. Nobody is
//! answered before that commit returns: an acknowledged change is on disk
//! (`synchronous=FULL`), yet many changes share one fsync.
//!
//! A savepoint per job has a price on the hot path (FTS5 flushes its
//! pending terms at every savepoint, and SQLite copies each page a job
//! changes into the savepoint's journal). Jobs that may run more than once
//! ([`Writer::write_rerunnable`]: their only effect is on the connection)
//! run without one: should such a job fail after changing something, the
//! writer undoes all of them at once and runs them again, each in its own
//! savepoint. A job that fails before changing anything needs no undoing.
//!
//! The events a committed transaction logged are then handed to whoever
//! took them ([`Writer::take_committed`]: the server's event hub), so the
//! hub need not read them back (`committed.rs` keeps them meanwhile).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use confab_store::{CommittedEvents, LoggedEvent, StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::checkpointer::Checkpointer;
use crate::committed;
use crate::lite::lite_error;

/// The most jobs one transaction takes (bounds how long a commit holds the
/// rest of the queue, and the work lost to a failing commit).
const MAX_BATCH: usize = 512;

/// A job, type-erased.
enum Job {
    /// Runs once on the writer thread inside the open transaction (or is
    /// told why it cannot run) and says whether it succeeded, plus how to
    /// answer its caller once the transaction's fate is known.
    Once(OnceJob),
    /// May run again after its changes were undone.
    Rerunnable(Box<dyn Rerun>),
}

/// A job that may run more than once, each run starting from the same
/// database state; it keeps the last run's result until it answers.
trait Rerun: Send {
    /// Runs (again) in the open transaction; whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// The last run's error, if it failed.
    fn failure(&self) -> Option<String>;
    /// Answers the caller once the transaction ended: `error` is why the
    /// transaction failed or the job could not run, if so.
    fn answer(self: Box<Self>, error: Option<&str>);
}

/// A [`Rerun`] from a closure and the channel its caller waits on.
struct RerunJob<T, F> {
    job: F,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Rerun for RerunJob<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = catch_unwind(AssertUnwindSafe(|| (self.job)(conn)))
            .unwrap_or_else(|_| Err(StoreError::Database("a write job panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn failure(&self) -> Option<String> {
        match &self.result {
            Some(Err(error)) => Some(error.to_string()),
            _ => None,
        }
    }

    fn answer(self: Box<Self>, error: Option<&str>) {
        let result = match (self.result, error) {
            (Some(Ok(_)), Some(error)) => Err(StoreError::Database(format!(
                "the batch was not committed: {error}"
            ))),
            (Some(result), _) => result,
            (None, error) => Err(StoreError::Database(
                error.unwrap_or("the job did not run").to_string(),
            )),
        };
        let _ = self.reply.send(result);
    }
}

type OnceJob = Box<dyn FnOnce(Result<&Connection, &str>) -> Ran + Send>;

struct Ran {
    ok: bool,
    answer: Answer,
}

/// Called after the transaction ends, with its error if it failed.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// How long the write-ahead log grows (in pages, 4 KiB each here) before
/// it is copied back into the database file (a checkpoint: the checkpoint
/// thread's, finished by the writer, `checkpointer.rs`). SQLite's default
/// for its automatic checkpoint, named so the ingest benchmark's raw loop uses the same. A
/// longer log copies the pages every message changes less often — 10,000
/// pages made the writer alone (`writer_ingest`) 11–21 % faster when the
/// writer checkpointed itself — but the commit that ran a checkpoint copied
/// the whole log first, and every message behind it waited: with 10,000,
/// scenario (a)'s p99 went from 5.0 and 5.1 ms to 7.1 and 6.8 ms in runs
/// taken in turn.
pub const CHECKPOINT_PAGES: u32 = 1_000;

/// The write connection's settings (named so the ingest benchmark's raw
/// loop uses the same): the log, an fsync per commit, foreign keys, and
/// the savepoints' sub-journal in memory — jobs run in savepoints (all but
/// rerunnable ones, and those too when a batch of them is run again), and
/// SQLite keeps the original of each page a job changes in a sub-journal:
/// a temporary file by default, one pwrite per page (a third of the
/// writer's time in contact-message ingest); in memory it is a copy.
pub const WRITER_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;";

/// The handle callers use; cheap to clone, the thread ends with the last one.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
    tap: Arc<Tap>,
}

/// Where the writer hands each committed transaction's events, once
/// someone asked for them ([`Writer::take_committed`]).
type Tap = OnceLock<tokio_mpsc::UnboundedSender<Vec<LoggedEvent>>>;

/// Counters of the writer's work (how well commits are shared).
#[derive(Default)]
pub(crate) struct Stats {
    /// Batches ended, each one transaction (committed or rolled back;
    /// undoing a batch's rerunnable jobs may begin it again, counted once).
    pub transactions: AtomicU64,
    /// Jobs run.
    pub jobs: AtomicU64,
}

impl Writer {
    /// Opens the write connection on its own thread.
    pub(crate) fn open(path: &Path) -> StoreResult<Writer> {
        let conn = crate::library::open_writer(path).map_err(lite_error)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(lite_error)?;
        conn.set_prepared_statement_cache_capacity(256);
        let checkpointer = Checkpointer::start(&conn, path)?;
        let (queue, jobs) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        let tap = Arc::new(Tap::new());
        let handed = tap.clone();
        std::thread::Builder::new()
            .name("confab-sqlite-writer".into())
            .spawn(move || run(conn, jobs, &counters, &handed, &checkpointer))
            .map_err(|e| StoreError::Database(format!("starting the writer thread: {e}")))?;
        Ok(Writer { queue, stats, tap })
    }

    /// The events of every transaction committed from now on, as each
    /// commits (right after its jobs are answered); `None` once taken.
    pub(crate) fn take_committed(&self) -> Option<CommittedEvents> {
        let (sender, receiver) = tokio_mpsc::unbounded_channel();
        self.tap.set(sender).ok().map(|()| receiver)
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
        let job = Job::Once(Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => catch_unwind(AssertUnwindSafe(|| job(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Database("a write job panicked".into()))),
                Err(why) => Err(StoreError::Database(why.to_string())),
            };
            Ran {
                ok: result.is_ok(),
                answer: Box::new(move |commit_error| {
                    let result = match (result, commit_error) {
                        (Ok(_), Some(error)) => Err(StoreError::Database(format!(
                            "the batch was not committed: {error}"
                        ))),
                        (result, _) => result,
                    };
                    let _ = reply.send(result);
                }),
            }
        }));
        self.send(job, answer).await
    }

    /// As [`Writer::write`], for a job that may run more than once: its
    /// only effect is on the connection it is given, and what it does
    /// depends only on the database (the writer starts each run from the
    /// same state). Such jobs share a batch without a
    /// savepoint each (see the module's notes), so the job must also:
    /// change rows only by `INSERT`, `UPDATE` and `DELETE` (how the writer
    /// tells that a failed job changed nothing: SQLite's count of changed
    /// rows, which DDL and pragmas do not move), and return at SQLite's
    /// first error rather than carry on (after some errors SQLite has
    /// already ended the transaction).
    pub(crate) async fn write_rerunnable<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job = Job::Rerunnable(Box::new(RerunJob {
            job,
            result: None,
            reply,
        }));
        self.send(job, answer).await
    }

    async fn send<T>(&self, job: Job, answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
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
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const WRITER_NICE: i32 = -10;

/// Gives the calling thread (the writer) [`WRITER_NICE`] when the process
/// may (`CAP_SYS_NICE`: root outside most containers, or systemd's
/// `AmbientCapabilities=`);
/// otherwise it keeps the default and says so once.
fn raise_priority() {
    if let Err(error) = set_writer_nice() {
        tracing::info!(
            "the SQLite writer thread keeps the default priority ({error}); with CAP_SYS_NICE it would run ahead of request threads"
        );
    }
}

/// Gives the calling thread [`WRITER_NICE`], if the process may: the
/// writer, and the checkpoint thread, which must keep up with it.
pub(crate) fn set_writer_nice() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WRITER_NICE)
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The writer thread: take what is queued, run it as one transaction, repeat.
fn run(
    conn: Connection,
    jobs: mpsc::Receiver<Job>,
    stats: &Stats,
    tap: &Tap,
    checkpointer: &Checkpointer,
) {
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
        let answers = run_batch(&conn, batch.drain(..), tap);
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        for (pending, error) in answers {
            pending.answer(error.as_deref());
        }
        // The committed events go after the answers, so the callers' tasks
        // are woken before the fan-out's (measured: no clear difference on
        // the POST's round trip; docs/benchmarks.md). A batch that did not
        // commit left none.
        let events = committed::take();
        if !events.is_empty()
            && let Some(tap) = tap.get()
        {
            let _ = tap.send(events);
        }
        // After the answers: the round's last copy, when it is due, delays
        // the next batch, not this one's callers.
        checkpointer.committed(&conn);
    }
}

/// How to answer a job once its batch's transaction has ended.
enum Pending {
    Once(Answer),
    Rerunnable(Box<dyn Rerun>),
}

impl Pending {
    fn answer(self, error: Option<&str>) {
        match self {
            Pending::Once(answer) => answer(error),
            Pending::Rerunnable(job) => job.answer(error),
        }
    }
}

/// One batch's transaction while its jobs run.
struct Batch<'c> {
    conn: &'c Connection,
    /// Whether any job's changes are to be committed.
    any_ok: bool,
    /// Set when the transaction can no longer be committed as run (a failed
    /// job's changes could not be undone, a savepoint could not be opened,
    /// SQLite ended the transaction itself): then nothing of the batch is.
    poisoned: Option<String>,
}

/// Runs one batch; returns each job's answer with the error to give it.
/// Jobs that run once go first, each in its own savepoint; then the
/// rerunnable ones together (the order inside a batch is free: nobody has
/// been answered yet).
fn run_batch(
    conn: &Connection,
    jobs: impl Iterator<Item = Job>,
    tap: &Tap,
) -> Vec<(Pending, Option<String>)> {
    let (mut once, mut rerunnable) = (Vec::new(), Vec::new());
    for job in jobs {
        match job {
            Job::Once(job) => once.push(job),
            Job::Rerunnable(job) => rerunnable.push(job),
        }
    }
    let alone = once.len() + rerunnable.len() == 1;
    let mut answers: Vec<(Pending, Option<String>)> =
        Vec::with_capacity(once.len() + rerunnable.len());
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE") {
        for job in once {
            answers.push((Pending::Once(job(Err(&error)).answer), None));
        }
        for job in rerunnable {
            answers.push((Pending::Rerunnable(job), Some(error.clone())));
        }
        return answers;
    }
    if tap.get().is_some() {
        // Someone takes the events: keep this transaction's and later ones.
        committed::start();
    }
    debug_assert_eq!(
        committed::mark(),
        0,
        "events left from a transaction before"
    );
    let mut batch = Batch {
        conn,
        any_ok: false,
        poisoned: None,
    };
    for job in once {
        let answer = if alone {
            let ran = job(Ok(conn));
            batch.any_ok = ran.ok;
            ran.answer
        } else {
            batch.once_in_savepoint(job)
        };
        answers.push((Pending::Once(answer), None));
    }
    if alone {
        for job in rerunnable.iter_mut() {
            batch.any_ok = job.run(conn);
        }
    } else {
        batch.run_rerunnables(&mut rerunnable);
    }
    answers.extend(
        rerunnable
            .into_iter()
            .map(|job| (Pending::Rerunnable(job), None)),
    );
    let finished = match batch.poisoned {
        Some(error) => Err(error),
        None if batch.any_ok => crate::gather::commit(conn)
            .map_err(|e| e.to_string())
            .map(|()| true),
        None => exec(conn, "ROLLBACK").map(|()| false),
    };
    match finished {
        // Kept to be handed over once the jobs are answered (`run`).
        Ok(true) => {}
        Ok(false) => committed::clear(),
        Err(error) => {
            // Nothing of the batch stays: end the transaction, and tell
            // every job that had succeeded.
            committed::clear();
            let _ = exec(conn, "ROLLBACK");
            for (_, slot) in answers.iter_mut() {
                *slot = Some(error.clone());
            }
        }
    }
    answers
}

impl Batch<'_> {
    /// Runs a job in its own savepoint; a failure leaves no trace.
    fn once_in_savepoint(&mut self, job: OnceJob) -> Answer {
        let mark = match self.open_savepoint() {
            Ok(mark) => mark,
            Err(why) => return job(Err(&why)).answer,
        };
        let ran = job(Ok(self.conn));
        self.close_savepoint(ran.ok, mark);
        ran.answer
    }

    /// Runs a rerunnable job (again) in its own savepoint.
    fn rerun_in_savepoint(&mut self, job: &mut Box<dyn Rerun>) {
        if let Ok(mark) = self.open_savepoint() {
            let ok = job.run(self.conn);
            self.close_savepoint(ok, mark);
        }
    }

    /// Opens a job's savepoint and returns its mark among the
    /// transaction's events, or says why the batch can no longer be
    /// committed as run.
    fn open_savepoint(&mut self) -> Result<usize, String> {
        if self.poisoned.is_none()
            && let Err(error) = exec(self.conn, "SAVEPOINT job")
        {
            self.poisoned = Some(error);
        }
        match &self.poisoned {
            Some(why) => Err(why.clone()),
            None => Ok(committed::mark()),
        }
    }

    /// Releases a job's savepoint, rolling back to it (and forgetting the
    /// events written after `mark`) first if the job failed.
    fn close_savepoint(&mut self, ok: bool, mark: usize) {
        if !ok {
            committed::undo_to(mark);
        }
        let closed = if ok {
            exec(self.conn, "RELEASE job")
        } else {
            exec(self.conn, "ROLLBACK TO job").and_then(|()| exec(self.conn, "RELEASE job"))
        };
        if let Err(error) = closed {
            self.poisoned = Some(error);
        }
        self.any_ok |= ok;
    }

    /// Runs the rerunnable jobs one after another without a savepoint
    /// each. A job that fails without having changed anything is simply
    /// answered with its error; one that fails after changing something
    /// makes the writer undo all of them and run them again, each in its
    /// own savepoint.
    fn run_rerunnables(&mut self, jobs: &mut [Box<dyn Rerun>]) {
        if self.poisoned.is_some() || jobs.is_empty() {
            return;
        }
        // Without earlier jobs to keep, undoing is rolling the whole
        // transaction back; with them, a savepoint around all of these.
        let guarded = self.any_ok;
        if guarded && let Err(error) = exec(self.conn, "SAVEPOINT together") {
            self.poisoned = Some(error);
            return;
        }
        let mark = committed::mark();
        let mut any_ok = false;
        let mut clean = true;
        for job in jobs.iter_mut() {
            let before = self.conn.total_changes();
            let ok = job.run(self.conn);
            if self.conn.is_autocommit() {
                // SQLite itself rolled the transaction back (a full disk,
                // an I/O error): nothing of the batch is left to commit.
                let cause = job.failure().unwrap_or_else(|| "an error".into());
                self.poisoned = Some(format!("the transaction was rolled back by {cause}"));
                return;
            }
            if !ok && self.conn.total_changes() != before {
                clean = false;
                break;
            }
            any_ok |= ok;
        }
        if clean {
            if guarded && let Err(error) = exec(self.conn, "RELEASE together") {
                self.poisoned = Some(error);
            }
            self.any_ok |= any_ok;
            return;
        }
        let undone = if guarded {
            exec(self.conn, "ROLLBACK TO together")
                .and_then(|()| exec(self.conn, "RELEASE together"))
        } else {
            exec(self.conn, "ROLLBACK").and_then(|()| exec(self.conn, "BEGIN IMMEDIATE"))
        };
        committed::undo_to(mark);
        if let Err(error) = undone {
            self.poisoned = Some(error);
            return;
        }
        for job in jobs.iter_mut() {
            self.rerun_in_savepoint(job);
        }
    }
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
    use crate::events::append_event;
    use crate::lite::{execute, query_one};
    use confab_domain::{AccountId, EventType, Timestamp};
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
                // `t`, and the event log's two tables as far as
                // `append_event` needs them (one account).
                tx.execute_batch(
                    "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);
                     CREATE TABLE accounts (id INTEGER PRIMARY KEY, last_event_seq INTEGER NOT NULL);
                     INSERT INTO accounts VALUES (1, 0);
                     CREATE TABLE events (account_id INTEGER NOT NULL, seq INTEGER NOT NULL,
                       type TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL,
                       PRIMARY KEY (account_id, seq));",
                )
                .map_err(lite_error)
            })
            .await
            .unwrap();
    }

    /// The rows of `t` where `condition` holds.
    async fn rows_where(writer: &Writer, condition: &'static str) -> i64 {
        writer
            .write(move |tx| {
                let sql = format!("SELECT COUNT(*) AS n FROM t WHERE {condition}");
                query_one(tx, &sql, [], "t", |r| r.int("n"))
            })
            .await
            .unwrap()
    }

    async fn count(writer: &Writer) -> i64 {
        rows_where(writer, "TRUE").await
    }

    /// Logs job `k`'s event (its data names `k`).
    fn log_event(tx: &Connection, k: i64) -> StoreResult<i64> {
        append_event(
            tx,
            AccountId(1),
            EventType::MessageCreated,
            Timestamp(k),
            serde_json::json!({ "k": k }),
        )
    }

    /// The log as stored: (seq, data), by seq.
    async fn stored_log(writer: &Writer) -> Vec<(i64, String)> {
        writer
            .write(|tx| {
                let mut statement = tx
                    .prepare("SELECT seq, data FROM events ORDER BY seq")
                    .map_err(lite_error)?;
                let rows = statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(lite_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(lite_error)
            })
            .await
            .unwrap()
    }

    /// What the tap handed over so far, as (seq, data) in the order handed.
    /// (A transaction's events are handed over before the writer takes its
    /// next batch: once a later write was answered, as `stored_log`, all of
    /// them are here.)
    fn handed_over(tap: &mut CommittedEvents) -> Vec<(i64, String)> {
        let mut events = Vec::new();
        while let Ok(batch) = tap.try_recv() {
            assert!(!batch.is_empty(), "an empty hand-over");
            events.extend(batch.into_iter().map(|e| (e.seq, e.data)));
        }
        events
    }

    /// The tap handed over exactly the committed log, in order, each event
    /// once; and the log is gap-free from 1.
    async fn check_handed_over(writer: &Writer, tap: &mut CommittedEvents) {
        let stored = stored_log(writer).await;
        let handed = handed_over(tap);
        assert_eq!(handed, stored, "the hand-over is not the committed log");
        assert!(
            stored.iter().zip(1..).all(|((seq, _), n)| *seq == n),
            "the log has a gap"
        );
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
        let mut tap = writer.take_committed().unwrap();
        let mut tasks = Vec::new();
        for k in 0..600i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |tx| {
                        execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?;
                        log_event(tx, k)?;
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
        let stray = rows_where(&writer, "k >= 100000 OR k % 3 = 0").await;
        assert_eq!(stray, 0, "a failed job's rows were committed");
        check_handed_over(&writer, &mut tap).await;
        assert_eq!(stored_log(&writer).await.len() as i64, kept);
    }

    /// What a test job does after (or instead of) inserting its row.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Fate {
        Lands,
        /// Fails before changing anything.
        RefusedFirst,
        /// Inserts its row and a stray one, then fails.
        FailsAfterWriting,
        /// Inserts its row, then panics.
        PanicsAfterWriting,
    }

    fn fate(k: i64) -> Fate {
        match k % 10 {
            3 => Fate::RefusedFirst,
            5 if k % 50 == 5 => Fate::FailsAfterWriting,
            7 if k % 70 == 7 => Fate::PanicsAfterWriting,
            _ => Fate::Lands,
        }
    }

    fn fated_job(
        k: i64,
        runs: Arc<AtomicU64>,
    ) -> impl FnMut(&Connection) -> StoreResult<i64> + Send + 'static {
        move |tx| {
            runs.fetch_add(1, Ordering::Relaxed);
            if fate(k) == Fate::RefusedFirst {
                return Err(StoreError::NotFound("thing"));
            }
            execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?;
            log_event(tx, k)?;
            match fate(k) {
                Fate::FailsAfterWriting => {
                    execute(tx, "INSERT INTO t (k, v) VALUES (?1, 'y')", [k + 100_000])?;
                    Err(StoreError::NotFound("stray"))
                }
                Fate::PanicsAfterWriting => panic!("job {k} panics after writing"),
                _ => Ok(k),
            }
        }
    }

    /// Checks each answer against its job's fate, then that exactly the
    /// rows of the jobs that landed were committed.
    async fn check_fates(writer: &Writer, answers: Vec<(i64, StoreResult<i64>)>) {
        let mut kept = 0;
        for (k, result) in answers {
            match fate(k) {
                Fate::Lands => {
                    assert_eq!(result.unwrap(), k);
                    kept += 1;
                }
                Fate::RefusedFirst => {
                    assert!(
                        matches!(result, Err(StoreError::NotFound("thing"))),
                        "{result:?}"
                    )
                }
                Fate::FailsAfterWriting => {
                    assert!(
                        matches!(result, Err(StoreError::NotFound("stray"))),
                        "{result:?}"
                    )
                }
                Fate::PanicsAfterWriting => {
                    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}")
                }
            }
        }
        assert_eq!(count(writer).await, kept);
        let stray = rows_where(writer, "k >= 100000").await;
        assert_eq!(stray, 0, "a failed job's rows were committed");
        let logged = stored_log(writer).await;
        assert_eq!(
            logged.len() as i64,
            kept,
            "a failed job's event was committed"
        );
    }

    /// Rerunnable jobs share a batch without savepoints: those that fail
    /// before changing anything are answered and the rest commit; one that
    /// fails (or panics) after changing something has all of them undone
    /// and run again in savepoints, so its changes go and the others' stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rerunnable_jobs_failing_after_writing_leave_no_trace_and_spare_the_rest() {
        let writer = open();
        setup(&writer).await;
        let mut tap = writer.take_committed().unwrap();
        let before = writer.stats().transactions.load(Ordering::Relaxed);
        let runs: Vec<Arc<AtomicU64>> = (0..3000).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let mut tasks = Vec::new();
        for k in 0..3000i64 {
            let (writer, runs) = (writer.clone(), runs[k as usize].clone());
            tasks.push(tokio::spawn(async move {
                (k, writer.write_rerunnable(fated_job(k, runs)).await)
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        check_fates(&writer, answers).await;
        check_handed_over(&writer, &mut tap).await;
        let transactions = writer.stats().transactions.load(Ordering::Relaxed) - before;
        assert!(transactions < 3000, "no commit was shared");
        // Some batches were undone and run again, and only those.
        let ran_twice = runs
            .iter()
            .filter(|r| r.load(Ordering::Relaxed) == 2)
            .count();
        assert!(ran_twice > 0, "no job was run again");
        assert!(
            runs.iter()
                .all(|r| (1..=2).contains(&r.load(Ordering::Relaxed)))
        );
    }

    /// Without a failure after writing, each rerunnable job runs once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rerunnable_jobs_run_once_when_none_fails_after_writing() {
        let writer = open();
        setup(&writer).await;
        let mut tap = writer.take_committed().unwrap();
        let runs = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for k in (0..2000i64).filter(|k| matches!(fate(*k), Fate::Lands | Fate::RefusedFirst)) {
            let (writer, runs) = (writer.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                (k, writer.write_rerunnable(fated_job(k, runs)).await)
            }));
        }
        let jobs = tasks.len() as u64;
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        check_fates(&writer, answers).await;
        check_handed_over(&writer, &mut tap).await;
        assert_eq!(runs.load(Ordering::Relaxed), jobs);
    }

    /// Jobs of both kinds in one batch: the rerunnable ones are undone
    /// without undoing the once-only jobs' changes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn undoing_rerunnable_jobs_keeps_the_once_only_jobs_of_their_batch() {
        let writer = open();
        setup(&writer).await;
        let mut tap = writer.take_committed().unwrap();
        let mut tasks = Vec::new();
        for k in 0..3000i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let job = fated_job(k, Arc::new(AtomicU64::new(0)));
                // In runs of ten, so each kind gets every fate.
                let result = if (k / 10) % 2 == 0 {
                    writer.write(job).await
                } else {
                    writer.write_rerunnable(job).await
                };
                (k, result)
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        check_fates(&writer, answers).await;
        check_handed_over(&writer, &mut tap).await;
    }

    /// A full disk half-way through a batch of rerunnable jobs: SQLite ends
    /// the transaction itself, and the writer must not run the rest of the
    /// batch outside one (each statement would commit on its own while its
    /// caller is told it failed). What is answered `Ok` is exactly what is
    /// stored.
    #[tokio::test]
    async fn a_full_disk_mid_batch_stores_exactly_what_was_acknowledged() {
        let writer = open();
        setup(&writer).await;
        let mut tap = writer.take_committed().unwrap();
        writer
            .write(|tx| {
                tx.query_row("PRAGMA max_page_count = 40", [], |_| Ok(()))
                    .map_err(lite_error)
            })
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for k in 0..400i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write_rerunnable(move |tx| {
                        execute(
                            tx,
                            "INSERT INTO t (k, v) VALUES (?1, printf('%.3000c', 'x'))",
                            [k],
                        )?;
                        log_event(tx, k)
                    })
                    .await
            }));
        }
        let mut acknowledged = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                acknowledged += 1;
            }
        }
        assert!(acknowledged < 400, "the disk never filled");
        assert_eq!(count(&writer).await, acknowledged);
        check_handed_over(&writer, &mut tap).await;
        assert_eq!(stored_log(&writer).await.len() as i64, acknowledged);
    }

    /// The log is copied back into the database and started over under
    /// steady writes, though the writer's connection does not checkpoint in
    /// its commits: the checkpoint thread copies it, the writer finishes
    /// each round (without that step the log would grow by every page
    /// written).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_back_and_started_over_under_steady_writes() {
        let writer = open();
        setup(&writer).await;
        let (automatic, page, path): (i64, u64, String) = writer
            .write(|tx| {
                let automatic = query_one(tx, "PRAGMA wal_autocheckpoint", [], "pragma", |row| {
                    row.int("wal_autocheckpoint")
                })?;
                let page = query_one(tx, "PRAGMA page_size", [], "pragma", |row| {
                    row.int("page_size")
                })?;
                Ok((
                    automatic,
                    page as u64,
                    tx.path().unwrap_or_default().to_owned(),
                ))
            })
            .await
            .unwrap();
        // No checkpoint in the writer's commits (its WAL hook replaced
        // SQLite's automatic one).
        assert_eq!(automatic, 0);
        let wal = format!("{path}-wal");
        // The log's checkpoint sequence (bytes 12–15 of its header): SQLite
        // raises it each time the log starts over.
        let sequence = || {
            use std::io::Read;
            let mut header = [0u8; 16];
            std::fs::File::open(&wal)
                .ok()?
                .read_exact(&mut header)
                .ok()?;
            Some(u32::from_be_bytes(header[12..16].try_into().unwrap()))
        };
        // Rows of about a page each, ten times the log's checkpoint size in
        // all, written steadily: sixteen writers of 25 rows a change each,
        // each sending its next change once the last is answered, so the
        // writer nearly always has work queued and the checkpoint thread
        // alone never catches up with it (without the writer's finishing
        // step the log started over 0 or 1 times; sequential writes left
        // the writer idle between them, long enough for the thread).
        let value = "x".repeat(page as usize * 7 / 8);
        let rows = i64::from(CHECKPOINT_PAGES) * 10;
        let (mut largest, mut restarts, mut last) = (0, 0, None);
        let (sizes, mut seen) = tokio::sync::mpsc::unbounded_channel::<()>();
        let senders: Vec<_> = (0..16)
            .map(|w| {
                let (writer, value, sizes) = (writer.clone(), value.clone(), sizes.clone());
                tokio::spawn(async move {
                    for first in (w * 25..rows).step_by(400) {
                        let value = value.clone();
                        writer
                            .write(move |tx| {
                                for k in first..first + 25 {
                                    execute(
                                        tx,
                                        "INSERT INTO t (k, v) VALUES (?1, ?2)",
                                        rusqlite::params![k, value],
                                    )?;
                                }
                                Ok(())
                            })
                            .await
                            .unwrap();
                        let _ = sizes.send(());
                    }
                })
            })
            .collect();
        drop(sizes);
        while seen.recv().await.is_some() {
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
            let now = sequence();
            if last.is_some() && now != last {
                restarts += 1;
            }
            last = now;
        }
        for sender in senders {
            sender.await.unwrap();
        }
        assert_eq!(count(&writer).await, rows);
        // The log started over again and again, and stayed within the
        // checkpoint size plus what was committed while the thread copied
        // (each frame a page and a 24-byte header): half of the ten times
        // it would reach unchecked, with room for a slow thread.
        assert!(restarts >= 2, "the log started over {restarts} times");
        let frame = page + 24;
        assert!(
            largest <= u64::from(CHECKPOINT_PAGES) * 5 * frame,
            "the log grew to {} frames",
            largest / frame
        );
        assert!(largest >= u64::from(CHECKPOINT_PAGES) * frame, "{largest}");
        // And rows were copied into the database file (at least the first
        // round's; the last may still be under way).
        let database = std::fs::metadata(&path).unwrap().len();
        assert!(
            database >= u64::from(CHECKPOINT_PAGES) * page,
            "the database file holds {} pages",
            database / page
        );
        drop(writer);
        let _ = std::fs::remove_dir_all(std::path::Path::new(&path).parent().unwrap());
    }

    /// The tap is taken once.
    #[tokio::test]
    async fn committed_events_are_taken_once() {
        let writer = open();
        assert!(writer.take_committed().is_some());
        assert!(writer.take_committed().is_none());
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
