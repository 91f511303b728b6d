//! The ingest figures: per run on stdout, and the Markdown section.

use std::fmt::Write as _;

use super::{RunResult, Settings};
use crate::report::{Setup, thousands, verdict};
use crate::stats::{median, ms};

/// Issue 6's targets for contact-message ingest: on SQLite a rate and a
/// ratio to the raw limit, on PostgreSQL the ratio to pgbench's rate.
const TARGET_RATE: f64 = 10_000.0;
const TARGET_RATIO: f64 = 0.5;

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The runs at one number of `POST`s in flight: a row of the table.
pub struct Row {
    pub concurrency: usize,
    pub runs: Vec<RunResult>,
}

fn is_sqlite(database: &str) -> bool {
    database == "SQLite"
}

pub fn print_run(n: usize, r: &RunResult) {
    println!(
        "  run {n}: HTTP {:.0} msg/s persisted ({} in {:.2} s) · POST p50 {} p99 {} · \
         acknowledged {} stored {} indexed {} events {} · errors {} · {} frames to {} sockets\n         \
         raw limit {:.0} msg/s ({} in {:.2} s) · ratio {:.0} %",
        r.persisted_rate,
        r.persisted,
        r.window_s,
        ms(r.post.p50),
        ms(r.post.p99),
        r.acknowledged,
        r.stored,
        r.indexed,
        r.events,
        r.errors,
        r.frames,
        r.sockets,
        r.raw_rate,
        r.raw_messages,
        r.raw_s,
        r.ratio() * 100.0,
    );
    let c = &r.cpu;
    // Only SQLite's server has a writer thread.
    let (writer, per_writer) = if c.thread > 0.0 {
        (
            format!(" (writer thread {:.2})", c.thread),
            format!(", writer {:.0} µs", r.micros_per_message(c.thread)),
        )
    } else {
        (String::new(), String::new())
    };
    println!(
        "         CPU in the window: machine {:.2}, server {:.2}{writer}, bench {:.2}, \
         others {:.2} · per message: server {:.0} µs{per_writer}",
        c.machine,
        c.server,
        c.bench,
        c.others(),
        r.micros_per_message(c.server),
    );
    if let Some(error) = &r.first_error {
        println!("         first error: {error}");
    }
}

/// The median of `value` over the runs.
fn median_of(runs: &[RunResult], value: impl Fn(&RunResult) -> f64) -> f64 {
    median(runs.iter().map(|r| (value(r) * 100.0).round() as u64)) as f64 / 100.0
}

/// The CPU columns: where the machine's CPU went, and the server's CPU
/// time per message (the writer thread's apart on SQLite).
fn cpu_cells(sqlite: bool, runs: &[RunResult]) -> (String, String) {
    let server = median_of(runs, |r| r.cpu.server);
    let bench = median_of(runs, |r| r.cpu.bench);
    let others = median_of(runs, |r| r.cpu.others());
    let per_server = median_of(runs, |r| r.micros_per_message(r.cpu.server));
    if sqlite {
        let writer = median_of(runs, |r| r.cpu.thread);
        let per_writer = median_of(runs, |r| r.micros_per_message(r.cpu.thread));
        (
            format!("{server:.2} (writer {writer:.2}) · {bench:.2} · {others:.2}"),
            format!("{per_server:.0} µs (writer {per_writer:.0} µs)"),
        )
    } else {
        (
            format!("{server:.2} · {bench:.2} · {others:.2}"),
            format!("{per_server:.0} µs"),
        )
    }
}

/// Medians over the runs: HTTP rate, raw rate, ratio (of each run's own pair).
pub fn medians(runs: &[RunResult]) -> (f64, f64, f64) {
    let http = median(runs.iter().map(|r| r.persisted_rate.round() as u64)) as f64;
    let raw = median(runs.iter().map(|r| r.raw_rate.round() as u64)) as f64;
    let ratio = median(runs.iter().map(|r| (r.ratio() * 1e4).round() as u64)) as f64 / 1e4;
    (http, raw, ratio)
}

pub fn table(database: &str, rows: &[Row]) -> String {
    let raw_name = if is_sqlite(database) {
        "raw limit, batched inserts"
    } else {
        "raw limit, pgbench"
    };
    let mut md = format!(
        "| database | `POST`s in flight | HTTP ingest, persisted | target | {raw_name} | HTTP / raw | target | POST p50 / p99 | stored · errors · mismatches | CPUs: server · bench · others | server CPU per message | runs: HTTP / raw msg/s |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let _ = writeln!(md, "{}", table_row(database, row));
    }
    md
}

fn table_row(database: &str, row: &Row) -> String {
    let runs = &row.runs;
    let (http, raw, ratio) = medians(runs);
    let lost: u64 = runs
        .iter()
        .map(|r| {
            r.acknowledged.abs_diff(r.stored)
                + r.stored.abs_diff(r.indexed)
                + r.stored.abs_diff(r.events)
        })
        .sum();
    let errors: usize = runs.iter().map(|r| r.errors).sum();
    let each: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{} / {} ({:.0} %)",
                thousands(r.persisted_rate.round() as u64),
                thousands(r.raw_rate.round() as u64),
                r.ratio() * 100.0
            )
        })
        .collect();
    let rate_target = if is_sqlite(database) {
        format!(
            "≥ {} msg/s: {}",
            thousands(TARGET_RATE as u64),
            verdict(http >= TARGET_RATE)
        )
    } else {
        "none".to_string()
    };
    let (cpu, per_message) = cpu_cells(is_sqlite(database), runs);
    format!(
        "| {database} | {} | {} msg/s | {rate_target} | {} msg/s | {:.0} % | ≥ {:.0} %: {} | {} / {} | {} · {} · {} | {cpu} | {per_message} | {} |",
        row.concurrency,
        thousands(http as u64),
        thousands(raw as u64),
        ratio * 100.0,
        TARGET_RATIO * 100.0,
        verdict(ratio >= TARGET_RATIO),
        ms(median(runs.iter().map(|r| r.post.p50))),
        ms(median(runs.iter().map(|r| r.post.p99))),
        thousands(runs.iter().map(|r| r.stored).sum()),
        errors,
        lost,
        each.join("; "),
    )
}

pub fn markdown(ctx: &Setup, settings: &Settings, rows: &[Row]) -> String {
    let mut md = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let revision = ctx
        .revision
        .as_deref()
        .map(|r| format!(" of commit {r}"))
        .unwrap_or_default();
    let sockets = settings.accounts * settings.sockets;
    let n = rows.first().map_or(0, |r| r.runs.len());
    let loads: Vec<String> = rows.iter().map(|r| r.concurrency.to_string()).collect();
    let sqlite = is_sqlite(&ctx.database);
    let server = if sqlite {
        "on SQLite with its default durability (WAL, `synchronous=FULL`, group commit), a \
         fresh database file every run"
    } else {
        "on PostgreSQL with its default durability (`synchronous_commit=on`; one \
         transaction per message), a fresh database every run"
    };
    let raw = if sqlite {
        format!(
            "a second fresh file made the same way (the same migrations, so the same FTS5 \
             index and triggers), the server stopped, then plain inserts on a connection \
             opened as the server's writer is (its pragmas — WAL, `synchronous=FULL` — and \
             its VFS, which gathers the log's writes) and SQLite's automatic checkpoint every {} \
             pages of log (the server starts its checkpoints at that size, on a thread of \
             its own) in transactions of {} messages, each writing \
             what the server writes for a contact message: the message and its FTS5 row, \
             its conversation's counters, preview and activity, the contact's \
             `last_seen_at`, the account's event counter and a `message.created` event as \
             large as the server's; 1 s of warm-up, then {} s measured.",
            confab_store_sqlite::CHECKPOINT_PAGES,
            settings.raw_batch,
            settings.duration.as_secs_f64(),
        )
    } else {
        format!(
            "a second fresh database made the same way (the same migrations, so the same \
             GIN-indexed `search` column), the server stopped, then `pgbench` with {} \
             connections and prepared statements, one transaction per message as the server \
             commits them, each writing for a random conversation what the server writes for \
             a contact message: the message (its tsvector and GIN entry), its conversation's \
             counters, preview and activity, the contact's `last_seen_at`, the account's \
             event counter and a `message.created` event as large as the server's; a 1 s \
             pgbench run as warm-up, then {} s measured (pgbench's rate without connection \
             time).",
            settings.pgbench_clients,
            settings.duration.as_secs_f64(),
        )
    };
    let _ = writeln!(
        md,
        "<!-- Written by confab-bench from what it measured; rerun it rather than editing. -->\n\n\
         Measured {now} on {}; the bench and the server share the machine. Server: \
         `confab serve` (release build{revision}) {server}.\n\n\
         ```sh\ncargo build --release -p confab -p confab-bench\n{}\n```\n\n\
         **HTTP ingest.** {} accounts, each with a chat inbox and {} contacts (one \
         conversation each, started before the measured phase), {} agent sockets in all \
         receiving every event (the fan-out). Contacts `POST` their messages closed \
         loop, each client on a keep-alive connection of its own; the `POST`s in flight \
         are fixed per row ({}), the rows taken in turn within each run: {} s of warm-up, then {} s measured. The rate \
         is what landed: the database's message count at the end of the measured window \
         minus at its start. Afterwards every message answered `201` must be in the \
         `messages` table, found by a full-text search for a word it carries, and have its \
         `message.created` event (*mismatches* counts any difference; it must be 0).\n\n\
         **Raw limit**, in the same run: {raw}\n\n\
         Rates are the medians over {n} run{} per row; the ratio is the median of each run's own \
         HTTP / raw. *CPUs* is where the machine's CPU time went during the measured \
         window, in CPUs busy ({} on this machine): the server process{}, this bench's \
         clients, and everything else ({}); the server's CPU time per persisted message \
         follows.\n",
        ctx.machine,
        ctx.command,
        settings.accounts,
        settings.contacts,
        sockets,
        and_list(&loads),
        settings.warmup.as_secs_f64(),
        settings.duration.as_secs_f64(),
        if n == 1 { "" } else { "s" },
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if sqlite {
            " (and of it the SQLite writer thread, which runs every transaction)"
        } else {
            ""
        },
        if sqlite {
            "the kernel's own threads, other programs"
        } else {
            "PostgreSQL's processes, the kernel's own threads, other programs"
        },
    );
    md.push_str(&table(&ctx.database, rows));
    md
}
