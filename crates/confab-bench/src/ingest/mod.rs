//! Contact-message ingest over HTTP against the raw limit (issue 6).
//!
//! HTTP: contacts `POST` messages closed loop, each client on a keep-alive
//! connection of its own, at each number in flight of
//! `--ingest-concurrency` (a table row each), to one `confab serve` on a
//! fresh SQLite file,
//! while idle agent sockets of every account receive the fan-out. The rate
//! is what landed: the database's message count read at the start and at the
//! end of the measured window, and afterwards every acknowledged message must
//! be in the database, in the search index and in the event log.
//!
//! Raw limit: on another fresh database made the same way (the same
//! migrations, so the same full-text index and triggers), the server stopped,
//! the rows a contact message writes written directly: on SQLite plain
//! batched inserts on a connection opened as the server's writer is (its
//! pragmas — WAL, `synchronous=FULL` — and its log-gathering VFS) and
//! SQLite's automatic checkpoint at the size the server starts its own
//! (`raw_sqlite`), on PostgreSQL pgbench
//! (`raw_postgres`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;

use crate::api;
use crate::args::Args;
use crate::fixture::{Fixture, Lab};
use crate::stats::Summary;
use crate::sys::{self, CpuUse, CpuWindow, Machine};

mod db;
mod poster;
mod raw_postgres;
pub mod raw_sqlite;
mod report;

use db::Db;
use poster::Poster;

/// The SQLite writer thread's name as Linux keeps it (15 characters of
/// `confab-sqlite-writer`).
const WRITER_THREAD: &str = "confab-sqlite-w";

/// A word every ingested message carries, to count them in the search index.
const MARK: &str = "zephyrquill";

/// How the ingest scenario runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub accounts: usize,
    pub contacts: usize,
    pub concurrency: usize,
    pub sockets: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub raw_batch: usize,
    /// pgbench's connections (PostgreSQL's raw limit).
    pub pgbench_clients: usize,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Messages that landed in the measured window, per second.
    pub persisted_rate: f64,
    /// Their count, and the window's length.
    pub persisted: u64,
    pub window_s: f64,
    /// POSTs answered 201 (all phases) and the messages the database holds
    /// beyond the set-up: equal when nothing acknowledged was lost.
    pub acknowledged: u64,
    pub stored: u64,
    /// Of those, found by a search for the marker word, and `message.created` events.
    pub indexed: u64,
    pub events: u64,
    pub errors: usize,
    pub first_error: Option<String>,
    pub post: Summary,
    /// Event frames the agent sockets received.
    pub frames: usize,
    pub sockets: usize,
    /// The raw limit: messages/s, over how many messages in how long.
    pub raw_rate: f64,
    pub raw_messages: u64,
    pub raw_s: f64,
    /// Where the CPU went in the measured window (the thread: SQLite's
    /// writer).
    pub cpu: CpuUse,
}

impl RunResult {
    pub fn ratio(&self) -> f64 {
        if self.raw_rate > 0.0 {
            self.persisted_rate / self.raw_rate
        } else {
            0.0
        }
    }

    /// CPU time per persisted message, in µs, of `cpus` CPUs busy over the
    /// CPU window.
    pub fn micros_per_message(&self, cpus: f64) -> f64 {
        if self.persisted == 0 {
            0.0
        } else {
            cpus * self.cpu.seconds * 1e6 / self.persisted as f64
        }
    }

    /// Every acknowledged message landed, indexed, with its event.
    pub fn exact(&self) -> bool {
        self.errors == 0
            && self.acknowledged == self.stored
            && self.indexed == self.stored
            && self.events == self.stored
    }
}

/// `--scenario ingest`: the runs (for each number of `POST`s in flight),
/// the summary, the Markdown section.
pub async fn scenario(args: &Args, machine: Machine) -> anyhow::Result<bool> {
    let timing = args.timing();
    let loads = args.ingest_concurrency();
    let base = Settings {
        accounts: args.ingest_accounts(),
        contacts: args.ingest_contacts(),
        concurrency: loads[0],
        sockets: args.ingest_sockets,
        warmup: timing.warmup,
        duration: timing.duration,
        raw_batch: args.raw_batch.max(1),
        pgbench_clients: args.pgbench_clients.max(1),
    };
    let most = loads.iter().copied().max().unwrap_or(1);
    let files = most + base.accounts * base.sockets + 256;
    let limit = sys::raise_open_files(65_536);
    if (limit as usize) < files {
        eprintln!("warning: open-files limit {limit} is low for {files} connections");
    }
    let database = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut lab = Lab::new(
        &args.confab,
        args.database_url.as_deref(),
        None,
        args.temp_dir.as_deref(),
        args.keep,
    )?;
    println!(
        "confab-bench: contact-message ingest, confab serve ({}) on {database}; temp dir {}\n\
         {} accounts × {} contacts, {} agent sockets; raw limit {}",
        lab.confab.display(),
        lab.dir.display(),
        base.accounts,
        base.contacts,
        base.accounts * base.sockets,
        if args.database_url.is_some() {
            format!("by pgbench with {} clients", base.pgbench_clients)
        } else {
            format!("in transactions of {}", base.raw_batch)
        },
    );
    // The loads taken in turn within each run, so the host's drift falls
    // on every row alike.
    let mut rows: Vec<report::Row> = loads
        .iter()
        .map(|&concurrency| report::Row {
            concurrency,
            runs: Vec::new(),
        })
        .collect();
    for n in 1..=args.runs() {
        for row in &mut rows {
            println!("{} POSTs in flight", row.concurrency);
            let settings = Settings {
                concurrency: row.concurrency,
                ..base.clone()
            };
            let result = run(&mut lab, &settings).await?;
            report::print_run(n, &result);
            row.runs.push(result);
        }
    }
    println!("\nResults\n");
    print!("{}", report::table(database, &rows));
    if let Some(path) = &args.write_markdown {
        let setup = crate::report::Setup {
            machine: machine.describe(),
            revision: args.revision.clone().or_else(sys::revision),
            command: crate::command_line(),
            database: database.into(),
            servers: 1,
            duration_s: base.duration.as_secs_f64(),
            warmup_s: base.warmup.as_secs_f64(),
            senders: most,
            contacts: base.contacts,
            note: None,
        };
        let section = args
            .section
            .as_deref()
            .unwrap_or(if args.database_url.is_some() {
                "ingest-postgres"
            } else {
                "ingest-sqlite"
            });
        let body = report::markdown(&setup, &base, &rows);
        crate::report::write_section(path, section, &body)?;
        println!("\nwrote {}", path.display());
    }
    Ok(rows.iter().flat_map(|r| &r.runs).all(RunResult::exact))
}

/// One run: HTTP ingest on a fresh database, then the raw limit on another.
pub async fn run(lab: &mut Lab, settings: &Settings) -> anyhow::Result<RunResult> {
    let fixture = lab.fixture(1, settings.accounts, settings.contacts).await?;
    let http = http_ingest(&fixture, settings).await;
    lab.release(fixture).await;
    let (mut result, event_data) = http?;

    // The raw limit on a second fresh database with the same conversations;
    // the server is stopped before it runs (a PostgreSQL database is
    // dropped once it is done).
    let mut fixture = lab.fixture(1, settings.accounts, settings.contacts).await?;
    let seeded = seed_conversations(&fixture, &api::client()).await;
    for server in std::mem::take(&mut fixture.servers) {
        server.stop().await;
    }
    let raw = match (seeded, Db::of(&fixture.database_url)) {
        (Err(error), _) | (_, Err(error)) => Err(error),
        (Ok(()), Ok(Db::Sqlite(path))) => {
            let (batch, duration) = (settings.raw_batch.max(1), settings.duration);
            tokio::task::spawn_blocking(move || {
                raw_sqlite::raw_limit(&path, batch, duration, &event_data)
            })
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
        }
        (Ok(()), Ok(Db::Postgres(url))) => {
            raw_postgres::raw_limit(
                &url,
                &lab.dir,
                settings.pgbench_clients,
                settings.duration,
                &event_data,
            )
            .await
        }
    };
    lab.release(fixture).await;
    let (messages, seconds) = raw?;
    result.raw_messages = messages;
    result.raw_s = seconds;
    result.raw_rate = messages as f64 / seconds.max(1e-9);
    Ok(result)
}

/// One message from each contact, so every conversation exists before the
/// measured phase (and the raw limit has rows to update).
async fn seed_conversations(fixture: &Fixture, client: &reqwest::Client) -> anyhow::Result<()> {
    let base = &fixture.servers[0].base;
    let targets: Vec<(String, String)> = fixture
        .accounts
        .iter()
        .flat_map(|a| a.contacts.iter().map(|c| (a.inbox.clone(), c.clone())))
        .collect();
    futures::stream::iter(targets)
        .map(|(inbox, contact)| async move {
            let body = format!("hello, first message {MARK}");
            api::post_message(client, base, &inbox, &contact, &body).await
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

#[derive(Default)]
struct WorkerOut {
    acknowledged: u64,
    post: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
}

/// The HTTP part of a run; also returns a `message.created` event's data as
/// the server wrote it, for the raw limit to write the same size.
async fn http_ingest(
    fixture: &Fixture,
    settings: &Settings,
) -> anyhow::Result<(RunResult, String)> {
    let base = fixture.servers[0].base.clone();
    let client = api::client();
    let db = Db::of(&fixture.database_url)?;

    // Agent sockets that receive (and drop) every event: the fan-out.
    let frames = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = watch::channel(false);
    let socket_plan: Vec<(i64, String)> = fixture
        .accounts
        .iter()
        .flat_map(|a| std::iter::repeat_n((a.id, a.token.clone()), settings.sockets))
        .collect();
    let sockets = socket_plan.len();
    let readers: Vec<_> = futures::stream::iter(socket_plan)
        .map(|(id, token)| {
            let (base, frames, stopped) = (base.clone(), frames.clone(), stopped.clone());
            async move {
                let socket = api::agent_socket(&base, id, &token).await?;
                anyhow::Ok(tokio::spawn(count_frames(socket, frames, stopped)))
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await?;

    seed_conversations(fixture, &client).await?;
    let setup_messages = db.messages().await?;

    // Contacts split among the workers, so one contact has one POST in
    // flight: each its inbox's messages path and its token.
    let targets: Arc<Vec<(String, String)>> = Arc::new(
        fixture
            .accounts
            .iter()
            .flat_map(|a| {
                let path = api::public_messages_path(&a.inbox);
                a.contacts.iter().map(move |c| (path.clone(), c.clone()))
            })
            .collect(),
    );
    let start = Instant::now() + settings.warmup;
    let end = start + settings.duration;
    let mut workers = Vec::with_capacity(settings.concurrency);
    for i in 0..settings.concurrency {
        let targets = targets.clone();
        let poster = Poster::new(&base)?;
        let step = settings.concurrency;
        workers.push(tokio::spawn(async move {
            post_loop(i, step, poster, &targets, start, end).await
        }));
    }

    tokio::time::sleep_until(start.into()).await;
    let at_start = db.messages().await?;
    let started = Instant::now();
    let cpu = CpuWindow::start(fixture.servers[0].pid, WRITER_THREAD);
    tokio::time::sleep_until(end.into()).await;
    let cpu = cpu.finish();
    let at_end = db.messages().await?;
    let window_s = started.elapsed().as_secs_f64();

    let mut outs = Vec::with_capacity(workers.len());
    for worker in workers {
        outs.push(worker.await?);
    }
    // Let the last events reach the sockets before closing them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(true);
    for reader in readers {
        reader.await?;
    }

    let stored = db.messages().await?.saturating_sub(setup_messages);
    let seeded = fixture
        .accounts
        .iter()
        .map(|a| a.contacts.len() as u64)
        .sum::<u64>();
    let indexed = db.indexed().await?.saturating_sub(seeded);
    let events = db.message_events().await?.saturating_sub(seeded);
    let event_data = db.latest_message_event().await?;
    let persisted = at_end.saturating_sub(at_start);
    let result = RunResult {
        persisted_rate: persisted as f64 / window_s.max(1e-9),
        persisted,
        window_s,
        acknowledged: outs.iter().map(|o| o.acknowledged).sum(),
        stored,
        indexed,
        events,
        errors: outs.iter().map(|o| o.errors).sum(),
        first_error: outs.iter().find_map(|o| o.first_error.clone()),
        post: Summary::of(outs.iter().flat_map(|o| o.post.iter().copied()).collect()),
        frames: frames.load(Ordering::Relaxed),
        sockets,
        raw_rate: 0.0,
        raw_messages: 0,
        raw_s: 0.0,
        cpu,
    };
    Ok((result, event_data))
}

/// One closed-loop worker on a connection of its own: its contacts in turn,
/// the next POST as soon as the last is answered, until `end`. POSTs sent at
/// or after `start` and answered by `end` give the round-trip figures.
async fn post_loop(
    i: usize,
    step: usize,
    mut poster: Poster,
    targets: &[(String, String)],
    start: Instant,
    end: Instant,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    if targets.is_empty() {
        return out;
    }
    let mut k = i;
    let mut n = 0u64;
    while Instant::now() < end {
        let (path, contact) = &targets[k % targets.len()];
        k += step;
        n += 1;
        let body = format!("ingest message {i}-{n} from the bench {MARK}");
        let sent = Instant::now();
        match poster.post_message(path, contact, &body).await {
            Ok(()) => {
                out.acknowledged += 1;
                let done = Instant::now();
                if sent >= start && done <= end {
                    out.post.push((done - sent).as_nanos() as u64);
                }
            }
            Err(error) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    out
}

async fn count_frames(
    mut socket: api::Socket,
    frames: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            message = socket.next() => match message {
                Some(Ok(_)) => { frames.fetch_add(1, Ordering::Relaxed); }
                _ => break,
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
}
