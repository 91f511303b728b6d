//! Checkpoints, mostly off the writer's thread.
//!
//! In WAL mode SQLite appends every commit to the `-wal` file and, by
//! default, the connection that commits copies the log back into the
//! database (a checkpoint, with an fsync of each file) once the log holds
//! [`CHECKPOINT_PAGES`]. On the writer that is time every queued change
//! waits for: under contact-message ingest a profile of the writer found
//! 10 % of its CPU in checkpoints, and their fsyncs on top — while the
//! other core had time to spare.
//!
//! So the writer's connection does not checkpoint in its commits (no
//! automatic checkpoint). After each commit it looks at the log's size (a
//! WAL hook SQLite calls on commit); from [`CHECKPOINT_PAGES`] on, this module's thread runs a `PASSIVE`
//! checkpoint on a connection of its own, which copies the log into the
//! database without blocking the writer or the readers. That alone would
//! not do: SQLite starts the log over only when a transaction begins with
//! all of it copied, and under steady writes the writer has always
//! committed more by the time the thread's checkpoint ends — the log would
//! grow without end. So the writer finishes each round itself, between two
//! batches (after answering the one it committed): a `PASSIVE` checkpoint
//! of its own then copies only what was committed during the thread's (a
//! few batches' pages), and its next transaction starts the log over, as
//! with SQLite's default (unless a reader still reads from the log's
//! older frames: then a later commit starts another round).
//!
//! Should the thread be gone, or woken but not yet copying when the log
//! reaches [`STUCK_PAGES`] (starved of CPU), the writer copies the log
//! itself, as SQLite's own checkpoint would. SQLite runs one checkpoint at
//! a time: while the thread copies, the writer's attempt finds the log busy
//! and the log grows by what is committed until the thread's copy ends.
//!
//! Durability is unchanged: a commit is on disk when it returns (the log's
//! fsync); a checkpoint only moves committed pages from the log into the
//! database file, fsyncing both, on whichever connection runs it.

use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use confab_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::lite::lite_error;
use crate::writer::CHECKPOINT_PAGES;

/// Log pages from which the writer copies the log itself although a round
/// is under way (the thread's copy takes a few batches' time; this is over
/// a thousand messages' worth).
const STUCK_PAGES: c_int = 4 * CHECKPOINT_PAGES as c_int;

thread_local! {
    /// Pages in the log after the last commit on this thread's connection
    /// (set by the WAL hook, which SQLite calls on the committing thread).
    static LOG_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// Where a round of checkpointing is.
const IDLE: u8 = 0;
/// The thread is copying the log.
const COPYING: u8 = 1;
/// The thread has copied the log as it was; the writer finishes the round.
const COPIED: u8 = 2;

/// The handle the writer keeps: says when the log has grown.
pub(crate) struct Checkpointer {
    poke: mpsc::SyncSender<()>,
    round: Arc<AtomicU8>,
    /// Whether the writer said that the thread is gone (once).
    warned: Cell<bool>,
}

impl Checkpointer {
    /// Turns off `conn`'s own checkpoints, watches its log, and starts the
    /// thread that checkpoints the database at `path`.
    pub(crate) fn start(conn: &Connection, path: &Path) -> StoreResult<Checkpointer> {
        let own = Connection::open(path).map_err(lite_error)?;
        // FULL as on the writer (SQLite's default, said here all the same):
        // a checkpoint fsyncs the log before copying it and the database
        // before the log may start over — with `OFF` a power cut could take
        // acknowledged commits with it.
        own.execute_batch("PRAGMA cache_size = -64; PRAGMA synchronous = FULL;")
            .map_err(lite_error)?;
        // Replaces the hook `wal_autocheckpoint` installs: the writer no
        // longer checkpoints on its own when it commits.
        conn.wal_hook(Some(|_, pages| {
            LOG_PAGES.set(pages);
            Ok(())
        }));
        let (poke, pokes) = mpsc::sync_channel::<()>(1);
        let round = Arc::new(AtomicU8::new(IDLE));
        let thread_round = round.clone();
        std::thread::Builder::new()
            .name("confab-sqlite-ckpt".into())
            .spawn(move || run(&own, &pokes, &thread_round))
            .map_err(|e| StoreError::Database(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            poke,
            round,
            warned: Cell::new(false),
        })
    }

    /// Called on the writer's thread, with its connection, after each
    /// batch was answered: starts a round when the log has reached
    /// [`CHECKPOINT_PAGES`], finishes one the thread has done its part of.
    pub(crate) fn committed(&self, conn: &Connection) {
        match self.round.load(Ordering::Acquire) {
            COPIED => {
                self.round.store(IDLE, Ordering::Release);
                LOG_PAGES.set(0);
                checkpoint(conn);
            }
            IDLE if LOG_PAGES.get() >= CHECKPOINT_PAGES as c_int => {
                self.round.store(COPYING, Ordering::Release);
                // The channel is empty while no round is under way: this
                // fails only when the thread is gone.
                if self.poke.try_send(()).is_err() {
                    self.round.store(IDLE, Ordering::Release);
                    if !self.warned.replace(true) {
                        tracing::warn!(
                            "the checkpoint thread is gone; the writer checkpoints the SQLite log itself"
                        );
                    }
                    checkpoint(conn);
                }
            }
            COPYING if LOG_PAGES.get() >= STUCK_PAGES => {
                // While the thread copies, this finds the log busy and
                // returns at once, having copied nothing.
                let copied = checkpoint(conn);
                if copied == Some(Copied::Yes) {
                    tracing::debug!("the checkpoint thread is behind; the writer checkpointed");
                }
            }
            _ => {}
        }
    }
}

/// Whether a `PASSIVE` checkpoint ran or found another one running.
#[derive(PartialEq)]
enum Copied {
    Yes,
    Busy,
}

/// The thread: a passive checkpoint per poke, until the writer is gone. It
/// runs at the writer's priority (when the writer has it; the writer says
/// so otherwise): at a lower one, a writer kept busy left it too little of
/// a CPU, and the log grew while it waited.
fn run(conn: &Connection, pokes: &mpsc::Receiver<()>, round: &AtomicU8) {
    let _ = crate::writer::set_writer_nice();
    while pokes.recv().is_ok() {
        if checkpoint(conn).is_none() {
            // A failing disk: do not spin on it.
            std::thread::sleep(Duration::from_millis(100));
        }
        round.store(COPIED, Ordering::Release);
    }
}

/// One `PASSIVE` checkpoint: copies what it can, waits for nobody. Another
/// checkpoint under way is not an error: its first column says so. An
/// error is logged; `None` then.
fn checkpoint(conn: &Connection) -> Option<Copied> {
    let copied = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(if row.get::<_, i64>(0)? == 0 {
            Copied::Yes
        } else {
            Copied::Busy
        })
    });
    copied
        .inspect_err(|error| tracing::warn!(%error, "checkpointing the SQLite log"))
        .ok()
}
