//! The `scale` scenario: issue 6's query-side targets on a database filled
//! by confab-datagen — start-up time and idle memory of `confab serve` on an
//! empty and on the filled database, then inbox list, folder counts and
//! search latency over HTTP, one request at a time.

mod data;
mod queries;
mod report;
mod startup;

use anyhow::bail;

use crate::args::Args;
use crate::fixture::Lab;
use crate::memory::settled_rss;
use crate::sys::Machine;

pub use data::Backend;

use self::data::Filled;
use self::queries::QueryResult;
use self::startup::{Starts, timed_start};

/// Everything the scenario measured.
pub struct ScaleResult {
    /// The database, as the report names it (for PostgreSQL with its settings).
    pub backend: String,
    pub filled: Filled,
    pub runs: usize,
    /// Empty database, first start (migrations run).
    pub empty_first: Starts,
    /// Empty, migrated database, restarted.
    pub empty_restart: Starts,
    pub empty_rss_kib: u64,
    pub filled_starts: Starts,
    pub filled_rss_kib: u64,
    /// The same server after the query passes, idle again.
    pub after_queries_rss_kib: u64,
    pub queries: QueryResult,
}

/// Runs the scenario; true when every request succeeded and search found hits.
pub async fn run(args: &Args, machine: Machine) -> anyhow::Result<bool> {
    let backend = match args.database_url.as_deref() {
        Some(url) => Backend::Postgres {
            server_url: url.into(),
        },
        None => Backend::Sqlite,
    };
    let given_postgres = args
        .scale_data
        .as_ref()
        .is_some_and(|data| data.to_string_lossy().starts_with("postgres://"));
    if args.scale_data.is_some() && given_postgres != matches!(backend, Backend::Postgres { .. }) {
        bail!(
            "--scale-data is a SQLite file, or with --database-url a postgres:// database filled by confab-datagen"
        );
    }
    let lab = Lab::new(
        &args.confab,
        None,
        None,
        args.temp_dir.as_deref(),
        args.keep,
    )?;
    let runs = args.runs();
    println!(
        "confab-bench scale: confab serve ({}) on {}; temp dir {}",
        lab.confab.display(),
        backend.label(),
        lab.dir.display()
    );
    if args.scale_data.is_none() {
        println!(
            "\nFilling {} conversations with confab-datagen (seed {})",
            args.scale_conversations(),
            args.scale_seed
        );
    }
    let filled = data::filled(
        &backend,
        &lab.dir,
        args.scale_data.as_deref(),
        args.scale_conversations(),
        args.scale_seed,
    )
    .await?;
    report::print_data(&filled);

    let mut made = Vec::new();
    let measured = measure(&lab, &backend, filled, runs, &mut made).await;
    for name in &made {
        backend.drop(name).await;
    }
    let result = measured?;
    if let Some(name) = &result.filled.postgres_name {
        if args.keep {
            eprintln!("kept database {name}");
        } else {
            backend.drop(name).await;
        }
    }

    println!("\nResults\n");
    print!("{}", report::tables(&result));
    if let Some(path) = &args.write_markdown {
        let setup = report::Setup {
            machine: machine.describe(),
            revision: args.revision.clone().or_else(crate::sys::revision),
            command: crate::command_line(),
        };
        let section = args.section.clone().unwrap_or_else(|| match backend {
            Backend::Sqlite => "scale-sqlite".into(),
            Backend::Postgres { .. } => "scale-postgres".into(),
        });
        report::write(path, &section, &setup, &result)?;
        println!("\nwrote {}", path.display());
    }
    Ok(result.queries.failures.is_empty())
}

/// Start-ups, idle memory and the query passes. PostgreSQL databases it
/// makes are added to `made`, for the caller to drop.
async fn measure(
    lab: &Lab,
    backend: &Backend,
    filled: Filled,
    runs: usize,
    made: &mut Vec<String>,
) -> anyhow::Result<ScaleResult> {
    println!("\nStart-up on an empty database ({runs} runs each)");
    let mut empty_first = Starts::default();
    let mut last_empty = String::new();
    for n in 1..=runs {
        let (url, name) = backend.empty(&lab.dir, n).await?;
        made.extend(name);
        let log = lab.dir.join(format!("serve-empty-{n}.log"));
        let (server, took) = timed_start(&lab.confab, &url, log).await?;
        server.stop().await;
        empty_first.push(took);
        last_empty = url;
    }
    let mut empty_restart = Starts::default();
    let mut empty_rss_kib = 0;
    for n in 1..=runs {
        let log = lab.dir.join(format!("serve-empty-restart-{n}.log"));
        let (server, took) = timed_start(&lab.confab, &last_empty, log).await?;
        empty_restart.push(took);
        if n == runs {
            empty_rss_kib = settled_rss(&server).await?;
        }
        server.stop().await;
    }
    report::print_starts("empty, new (migrations at start)", &empty_first, None);
    report::print_starts("empty, migrated", &empty_restart, Some(empty_rss_kib));

    println!("\nStart-up on the filled database ({runs} runs)");
    let mut filled_starts = Starts::default();
    let mut kept = None;
    for n in 1..=runs {
        let log = lab.dir.join(format!("serve-filled-{n}.log"));
        let (server, took) = timed_start(&lab.confab, &filled.url, log).await?;
        filled_starts.push(took);
        if n == runs {
            kept = Some(server);
        } else {
            server.stop().await;
        }
    }
    let Some(server) = kept else {
        bail!("no server started on the filled database");
    };
    let filled_rss_kib = settled_rss(&server).await?;
    report::print_starts("filled", &filled_starts, Some(filled_rss_kib));

    println!("\nInbox list, counts and search (one warm-up pass, then {runs} measured)");
    let queries = queries::run(&server, &filled, runs).await;
    let after_queries_rss_kib = match &queries {
        Ok(_) => settled_rss(&server).await?,
        Err(_) => 0,
    };
    server.stop().await;
    let queries = queries?;
    Ok(ScaleResult {
        backend: backend.describe().await,
        filled,
        runs,
        empty_first,
        empty_restart,
        empty_rss_kib,
        filled_starts,
        filled_rss_kib,
        after_queries_rss_kib,
        queries,
    })
}
