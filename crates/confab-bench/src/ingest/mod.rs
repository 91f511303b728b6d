//! Contact-message ingest over HTTP against the raw limit (issue 6).
//!
//! HTTP: contacts `POST` messages closed loop (a fixed number in flight over
//! keep-alive connections) to one `confab serve` on a fresh SQLite file,
//! while idle agent sockets of every account receive the fan-out. The rate
//! is what landed: the database's message count read at the start and at the
//! end of the measured window, and afterwards every acknowledged message must
//! be in the database, in the search index and in the event log.
//!
//! Raw limit: on another fresh file made the same way (the same migrations,
//! so the same FTS5 index and triggers), the server stopped, plain batched
//! inserts of the rows a contact message writes, with the server's pragmas
//! (WAL, `synchronous=FULL`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::watch;

use crate::api;
use crate::args::Args;
use crate::fixture::{Fixture, Lab};
use crate::stats::Summary;
use crate::sys::{self, Machine};

mod report;

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
}

impl RunResult {
    pub fn ratio(&self) -> f64 {
        if self.raw_rate > 0.0 {
            self.persisted_rate / self.raw_rate
        } else {
            0.0
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

/// `--scenario ingest`: the runs, the summary, the Markdown section.
pub async fn scenario(args: &Args, machine: Machine) -> anyhow::Result<bool> {
    if args.database_url.is_some() {
        bail!(
            "--scenario ingest runs on SQLite only: the PostgreSQL variant (against pgbench's \
             insert rate for the same rows) is not implemented yet"
        );
    }
    let timing = args.timing();
    let settings = Settings {
        accounts: args.ingest_accounts(),
        contacts: args.ingest_contacts(),
        concurrency: args.ingest_concurrency(),
        sockets: args.ingest_sockets,
        warmup: timing.warmup,
        duration: timing.duration,
        raw_batch: args.raw_batch.max(1),
    };
    let files = settings.concurrency + settings.accounts * settings.sockets + 256;
    let limit = sys::raise_open_files(65_536);
    if (limit as usize) < files {
        eprintln!("warning: open-files limit {limit} is low for {files} connections");
    }
    let mut lab = Lab::new(
        &args.confab,
        None,
        None,
        args.temp_dir.as_deref(),
        args.keep,
    )?;
    println!(
        "confab-bench: contact-message ingest, confab serve ({}) on SQLite; temp dir {}\n\
         {} accounts × {} contacts, {} POSTs in flight, {} agent sockets; raw limit in \
         transactions of {}",
        lab.confab.display(),
        lab.dir.display(),
        settings.accounts,
        settings.contacts,
        settings.concurrency,
        settings.accounts * settings.sockets,
        settings.raw_batch,
    );
    let mut runs = Vec::new();
    for n in 1..=args.runs() {
        let result = run(&mut lab, &settings).await?;
        report::print_run(n, &result);
        runs.push(result);
    }
    println!("\nResults\n");
    print!("{}", report::table(&runs));
    if let Some(path) = &args.write_markdown {
        let setup = crate::report::Setup {
            machine: machine.describe(),
            revision: args.revision.clone().or_else(sys::revision),
            command: crate::command_line(),
            database: "SQLite".into(),
            servers: 1,
            duration_s: settings.duration.as_secs_f64(),
            warmup_s: settings.warmup.as_secs_f64(),
            senders: settings.concurrency,
            contacts: settings.contacts,
            note: None,
        };
        let section = args.section.as_deref().unwrap_or("ingest-sqlite");
        let body = report::markdown(&setup, &settings, &runs);
        crate::report::write_section(path, section, &body)?;
        println!("\nwrote {}", path.display());
    }
    Ok(runs.iter().all(RunResult::exact))
}

/// One run: HTTP ingest on a fresh database, then the raw limit on another.
pub async fn run(lab: &mut Lab, settings: &Settings) -> anyhow::Result<RunResult> {
    let fixture = lab.fixture(1, settings.accounts, settings.contacts).await?;
    let http = http_ingest(&fixture, settings).await;
    lab.release(fixture).await;
    let (mut result, event_data) = http?;

    // The raw limit on a second fresh file with the same conversations.
    let fixture = lab.fixture(1, settings.accounts, settings.contacts).await?;
    let seeded = seed_conversations(&fixture, &api::client()).await;
    let path = sqlite_path(&fixture.database_url)?;
    lab.release(fixture).await;
    seeded?;
    let batch = settings.raw_batch.max(1);
    let duration = settings.duration;
    let (messages, seconds) =
        tokio::task::spawn_blocking(move || raw_limit(&path, batch, duration, &event_data))
            .await??;
    result.raw_messages = messages;
    result.raw_s = seconds;
    result.raw_rate = messages as f64 / seconds.max(1e-9);
    Ok(result)
}

/// The database file of a `sqlite://` URL.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let Some(path) = url.strip_prefix("sqlite://") else {
        bail!("the ingest scenario runs on SQLite only (got {url})");
    };
    Ok(PathBuf::from(path.split('?').next().unwrap_or(path)))
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
    let path = sqlite_path(&fixture.database_url)?;

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
    let setup_messages = count(&path, "SELECT count(*) FROM messages").await?;

    // Contacts split among the workers, so one contact has one POST in flight.
    let targets: Arc<Vec<(String, String)>> = Arc::new(
        fixture
            .accounts
            .iter()
            .flat_map(|a| a.contacts.iter().map(|c| (a.inbox.clone(), c.clone())))
            .collect(),
    );
    let start = Instant::now() + settings.warmup;
    let end = start + settings.duration;
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|i| {
            let (client, base, targets) = (client.clone(), base.clone(), targets.clone());
            let step = settings.concurrency;
            tokio::spawn(
                async move { post_loop(i, step, &client, &base, &targets, start, end).await },
            )
        })
        .collect();

    tokio::time::sleep_until(start.into()).await;
    let at_start = count(&path, "SELECT count(*) FROM messages").await?;
    let started = Instant::now();
    tokio::time::sleep_until(end.into()).await;
    let at_end = count(&path, "SELECT count(*) FROM messages").await?;
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

    let stored = count(&path, "SELECT count(*) FROM messages")
        .await?
        .saturating_sub(setup_messages);
    let seeded = fixture
        .accounts
        .iter()
        .map(|a| a.contacts.len() as u64)
        .sum::<u64>();
    let indexed = count(
        &path,
        &format!("SELECT count(*) FROM message_search WHERE message_search MATCH '{MARK}'"),
    )
    .await?
    .saturating_sub(seeded);
    let events = count(
        &path,
        "SELECT count(*) FROM events WHERE type = 'message.created'",
    )
    .await?
    .saturating_sub(seeded);
    let event_data = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let db = read_only(&path)?;
            Ok(db.query_row(
                "SELECT data FROM events WHERE type = 'message.created' ORDER BY seq DESC LIMIT 1",
                [],
                |row| row.get(0),
            )?)
        })
        .await??
    };
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
    };
    Ok((result, event_data))
}

/// One closed-loop worker: its contacts in turn, the next POST as soon as the
/// last is answered, until `end`. POSTs sent at or after `start` and answered
/// by `end` give the round-trip figures.
async fn post_loop(
    i: usize,
    step: usize,
    client: &reqwest::Client,
    base: &str,
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
        let (inbox, contact) = &targets[k % targets.len()];
        k += step;
        n += 1;
        let body = format!("ingest message {i}-{n} from the bench {MARK}");
        let sent = Instant::now();
        match api::post_message(client, base, inbox, contact, &body).await {
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

fn read_only(path: &Path) -> anyhow::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", path.display()))
}

/// One count from the database (a reader beside the running server, under WAL).
async fn count(path: &Path, sql: &str) -> anyhow::Result<u64> {
    let (path, sql) = (path.to_path_buf(), sql.to_string());
    tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let db = read_only(&path)?;
        let n: i64 = db.query_row(&sql, [], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    })
    .await?
}

/// The raw limit: for `duration` (after a second of warm-up), transactions of
/// `batch` contact messages, each what the server writes for one: the message
/// (its FTS5 row by the schema's trigger), its conversation's counters,
/// preview and activity, the contact's `last_seen_at`, the account's event
/// counter and a `message.created` event of the server's size. Returns the
/// messages committed in the measured time, and that time.
fn raw_limit(
    path: &Path,
    batch: usize,
    duration: Duration,
    event_data: &str,
) -> anyhow::Result<(u64, f64)> {
    let mut db = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    let conversations: Vec<(i64, i64, i64)> = db
        .prepare("SELECT account_id, id, contact_id FROM conversations ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if conversations.is_empty() {
        bail!("the raw limit found no conversations in {}", path.display());
    }
    let warm_until = Instant::now() + Duration::from_secs(1);
    let mut measured_from: Option<Instant> = None;
    let mut messages = 0u64;
    let mut k = 0usize;
    loop {
        let now = Instant::now();
        if let Some(from) = measured_from {
            if now - from >= duration {
                return Ok((messages, (now - from).as_secs_f64()));
            }
        } else if now >= warm_until {
            measured_from = Some(now);
        }
        let tx = db.transaction()?;
        {
            let mut message = tx.prepare_cached(
                "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, private, created_at)
                 VALUES (?1, ?2, 'contact', ?3, ?4, 0, ?5)",
            )?;
            let mut conversation = tx.prepare_cached(
                "UPDATE conversations SET unread_count = unread_count + 1,
                        waiting_since = coalesce(waiting_since, ?3), last_activity_at = ?3,
                        last_message_preview = ?4
                 WHERE account_id = ?1 AND id = ?2",
            )?;
            let mut contact =
                tx.prepare_cached("UPDATE contacts SET last_seen_at = ?2 WHERE id = ?1")?;
            let mut seq = tx.prepare_cached(
                "UPDATE accounts SET last_event_seq = last_event_seq + 1 WHERE id = ?1
                 RETURNING last_event_seq",
            )?;
            let mut event = tx.prepare_cached(
                "INSERT INTO events (account_id, seq, type, at, data)
                 VALUES (?1, ?2, 'message.created', ?3, ?4)",
            )?;
            for _ in 0..batch {
                let (account, id, contact_id) = conversations[k % conversations.len()];
                k += 1;
                let now_ms = chrono::Utc::now().timestamp_millis();
                let body = format!("ingest message raw-{k} from the bench {MARK}");
                message.execute(params![account, id, contact_id, body, now_ms])?;
                conversation.execute(params![account, id, now_ms, body])?;
                contact.execute(params![contact_id, now_ms])?;
                let n: i64 = seq.query_row([account], |row| row.get(0))?;
                event.execute(params![account, n, now_ms, event_data])?;
            }
        }
        tx.commit()?;
        if measured_from.is_some() {
            messages += batch as u64;
        }
    }
}
