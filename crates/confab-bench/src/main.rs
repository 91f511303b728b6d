//! `confab-bench`: measures real-time delivery of `confab serve` over HTTP
//! and WebSockets (issue 3, item 7) — latency from a contact's POST to its
//! receipt on agent sockets, and memory per idle socket — and writes the
//! figures to docs/benchmarks.md.
//!
//! It starts the servers itself: a fresh temp dir, accounts made with
//! `confab admin bootstrap`, a chat inbox and contact sessions per account
//! made through the API, then `confab serve` with generous limits.
//!
//! `--scenario scale` (issue 6) instead fills a database with confab-datagen
//! and measures start-up, idle memory, inbox list, counts and search on it
//! (see the `scale` module); `--scenario ingest` measures contact-message
//! ingest over HTTP against the raw limit of batched inserts (`ingest`), and
//! `--scenario load` draws delivery latency against the send rate (`load`).

mod api;
mod args;
mod clock;
mod fixture;
mod ingest;
mod latency;
mod load;
mod memory;
mod postgres;
mod report;
mod scale;
mod server;
mod stats;
mod sys;

use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;

use crate::args::{Args, Part};
use crate::fixture::Lab;
use crate::report::LatencyReport;

#[tokio::main]
async fn main() -> ExitCode {
    clock::now_ns();
    // SQLite's library settings as the server makes them (memory statistics
    // off), so the raw loop is not slowed by what the server avoids.
    if !confab_store_sqlite::configure_library() {
        eprintln!("confab-bench: SQLite's memory statistics stay on");
    }
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("confab-bench: deliveries were missed or duplicated, or requests failed");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("confab-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs what was asked; true when every delivery was exact.
async fn run(args: Args) -> anyhow::Result<bool> {
    let machine = sys::Machine::detect();
    let plans = args.plans();
    let timing = args.timing();
    let runs = args.runs();
    if !args.confab.exists() {
        bail!(
            "no confab binary at {} (build it: cargo build --release -p confab, or pass --confab)",
            args.confab.display()
        );
    }
    if args
        .database_url
        .as_deref()
        .is_some_and(|url| !url.starts_with("postgres"))
    {
        bail!("--database-url is for PostgreSQL; the bench makes its SQLite databases itself");
    }
    if let Some(part) = args.alone() {
        if args.scenario.len() > 1 {
            bail!(
                "--scenario {} runs on its own",
                format!("{part:?}").to_lowercase()
            );
        }
        return match part {
            Part::Scale => scale::run(&args, machine).await,
            Part::Ingest => ingest::scenario(&args, machine).await,
            _ => load::scenario(&args, machine).await,
        };
    }
    let nats = server::supports_nats(&args.confab)?;
    let cluster = args.servers > 1;
    if cluster {
        if !nats {
            println!(
                "The cluster scenario is not available: `{} serve` has no --nats-url option yet. \
                 Skipping it.",
                args.confab.display()
            );
            return Ok(true);
        }
        if args.database_url.is_none() {
            bail!("--servers > 1 needs a shared PostgreSQL: pass --database-url postgres://…");
        }
    }
    let most_sockets = plans
        .iter()
        .map(|p| p.accounts * p.sockets_per_account)
        .chain(args.idle_sockets())
        .max()
        .unwrap_or(0);
    let limit = sys::raise_open_files(65_536);
    if (limit as usize) < most_sockets + timing.senders + 256 {
        eprintln!("warning: open-files limit {limit} is low for {most_sockets} sockets");
    }

    let mut lab = Lab::new(
        &args.confab,
        args.database_url.as_deref(),
        Some(&args.nats_url),
        args.temp_dir.as_deref(),
        args.keep,
    )?;
    let database = match args.database_url.as_deref() {
        Some(url) if url.starts_with("postgres") => "PostgreSQL (a fresh database every run)",
        _ => "SQLite (a fresh database file every run)",
    };
    println!(
        "confab-bench: {} × confab serve ({}) on {database}; temp dir {}",
        args.servers,
        lab.confab.display(),
        lab.dir.display()
    );

    let mut reports = Vec::new();
    for plan in &plans {
        println!("\n{}", plan.title());
        let mut results = Vec::new();
        for n in 1..=runs {
            let fixture = lab
                .fixture(args.servers, plan.accounts, timing.contacts)
                .await?;
            let result = latency::run(&fixture, plan, &timing).await;
            lab.release(fixture).await;
            let result = result?;
            report::print_run(n, &result);
            if let Some(dir) = &args.trace_dir {
                std::fs::create_dir_all(dir)?;
                let name = format!("latency-{}-run{n}", plan.key);
                latency::write_traces(dir, &name, &result)?;
                println!("         traces: {}/{name}*.csv", dir.display());
            }
            results.push(result);
        }
        let latency = LatencyReport {
            plan: plan.clone(),
            runs: results,
        };
        report::print_summary(&latency);
        reports.push(latency);
    }

    let memory = match args.idle_sockets() {
        Some(_) if cluster => {
            println!(
                "\nMemory per idle socket is measured on one instance; skipped with --servers > 1"
            );
            None
        }
        Some(count) => {
            println!("\nMemory per idle agent socket");
            let fixture = lab.fixture(1, 1, 0).await?;
            let result = memory::run(&fixture, count).await;
            lab.release(fixture).await;
            let result = result?;
            report::print_memory(&result);
            Some(result)
        }
        None => None,
    };

    println!("\nResults\n");
    if !reports.is_empty() {
        print!("{}", report::latency_table(&reports));
    }
    if let Some(m) = &memory {
        print!("\n{}", report::memory_table(m));
    }

    if let Some(path) = &args.write_markdown {
        let note = if cluster {
            Some(format!(
                "Instances joined by NATS at `{}`. Agent sockets and POSTs alternate between the \
                 instances, so about half of the deliveries cross from one instance to the other.",
                args.nats_url
            ))
        } else if !nats {
            Some(
                "Two instances joined by NATS: not measured — `confab serve` has no \
                 `--nats-url` option in this build."
                    .to_string(),
            )
        } else {
            None
        };
        let setup = report::Setup {
            machine: machine.describe(),
            revision: args.revision.clone().or_else(sys::revision),
            command: command_line(),
            database: database.to_string(),
            servers: args.servers,
            duration_s: timing.duration.as_secs_f64(),
            warmup_s: timing.warmup.as_secs_f64(),
            senders: timing.senders,
            contacts: timing.contacts,
            note,
        };
        let section = args.section.clone().unwrap_or_else(|| {
            match (cluster, database.starts_with("PostgreSQL")) {
                // Memory alone (e.g. `--idle-sockets 10000`) keeps the
                // streams section's latency figures.
                _ if reports.is_empty() => "idle-sockets".into(),
                (true, _) => "streams-cluster".into(),
                (false, true) => "streams-postgres".into(),
                (false, false) => "streams".into(),
            }
        });
        let body = report::markdown(&setup, &reports, memory.as_ref());
        report::write_section(path, &section, &body)?;
        println!("\nwrote {}", path.display());
    }
    let exact = reports.iter().all(LatencyReport::exact);
    Ok(exact && memory.is_none_or(|m| m.closed == 0))
}

/// This bench's command line as typed (the program relative to the current dir).
pub(crate) fn command_line() -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            let arg = if i == 0 {
                std::path::Path::new(&arg)
                    .strip_prefix(&cwd)
                    .map(|p| p.display().to_string())
                    .unwrap_or(arg)
            } else {
                arg
            };
            if arg.contains([' ', '\'', '"']) {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
