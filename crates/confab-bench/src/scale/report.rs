//! The scale scenario's figures: tables on stdout and a Markdown section.

use std::fmt::Write as _;
use std::path::Path;

use super::ScaleResult;
use super::data::Filled;
use super::queries::Group;
use super::startup::{POLL, Starts};
use crate::stats::ms;

/// Issue 6's bounds for start-up and idle memory.
const EMPTY_READY_MS: f64 = 300.0;
const FILLED_READY_MS: f64 = 1000.0;
/// 30 MB (decimal) in KiB.
const IDLE_RSS_KIB: f64 = 30_000_000.0 / 1024.0;

/// How the figures were made, for the Markdown section.
pub struct Setup {
    pub machine: String,
    pub revision: Option<String>,
    pub command: String,
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// What the filled database holds and how it was filled.
pub fn data_line(filled: &Filled) -> String {
    let what = format!(
        "{} conversations, {} messages",
        thousands(filled.conversations),
        thousands(filled.messages)
    );
    match (&filled.fill, &filled.given) {
        (Some(fill), _) => format!(
            "{what} and {} contacts, filled by confab-datagen (seed {}, one account) in {:.1} s \
             ({} messages/s); database {:.0} MiB",
            thousands(fill.contacts),
            fill.seed,
            fill.elapsed.as_secs_f64(),
            thousands((filled.messages as f64 / fill.elapsed.as_secs_f64().max(1e-9)) as u64),
            fill.database_bytes as f64 / (1024.0 * 1024.0),
        ),
        (None, Some(path)) => format!("{what} in the given file `{path}` (filled earlier)"),
        (None, None) => what,
    }
}

pub fn print_data(filled: &Filled) {
    println!("  {}", data_line(filled));
}

fn runs_list(starts: &Starts) -> String {
    starts
        .runs
        .iter()
        .map(|&ns| ms(ns))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn print_starts(what: &str, starts: &Starts, rss_kib: Option<u64>) {
    println!(
        "  {what}: ready after {} (median; runs {}){}",
        ms(starts.median()),
        runs_list(starts),
        rss_kib
            .map(|kib| format!(" · idle RSS {}", mib(kib)))
            .unwrap_or_default()
    );
}

fn ready_cell(starts: &Starts, bound_ms: f64) -> String {
    let bound = if bound_ms >= 1000.0 {
        format!("{} s", bound_ms / 1000.0)
    } else {
        format!("{bound_ms} ms")
    };
    format!(
        "≤ {bound}: {}",
        verdict(starts.median() as f64 <= bound_ms * 1e6)
    )
}

fn rss_cells(kib: u64) -> String {
    format!(
        "{} | ≤ 30 MB: {}",
        mib(kib),
        verdict(kib as f64 <= IDLE_RSS_KIB)
    )
}

/// The start-up and memory table, then the query tables.
pub fn tables(r: &ScaleResult) -> String {
    let mut md = String::from(
        "| database | ready after start | runs | target | idle RSS | target |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    let _ = writeln!(
        md,
        "| empty, new (migrations run at start) | {} | {} | {} | | |",
        ms(r.empty_first.median()),
        runs_list(&r.empty_first),
        ready_cell(&r.empty_first, EMPTY_READY_MS),
    );
    let _ = writeln!(
        md,
        "| empty, migrated (restart) | {} | {} | {} | {} |",
        ms(r.empty_restart.median()),
        runs_list(&r.empty_restart),
        ready_cell(&r.empty_restart, EMPTY_READY_MS),
        rss_cells(r.empty_rss_kib),
    );
    let _ = writeln!(
        md,
        "| filled: {} conversations, {} messages | {} | {} | {} | {} |",
        thousands(r.filled.conversations),
        thousands(r.filled.messages),
        ms(r.filled_starts.median()),
        runs_list(&r.filled_starts),
        ready_cell(&r.filled_starts, FILLED_READY_MS),
        rss_cells(r.filled_rss_kib),
    );
    let _ = writeln!(
        md,
        "| filled, after the requests below | | | | {} |",
        rss_cells(r.after_queries_rss_kib),
    );

    let q = &r.queries;
    md.push_str(
        "\n| requests | per pass | target | p50 | p95 | p99 | max |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for group in Group::ALL {
        let f = q.figures(Some(group));
        let (percentile, bound) = group.target();
        let _ = writeln!(
            md,
            "| {} | {} | p{} ≤ {bound} ms: {} | {} | {} | {} | {} |",
            group.name(),
            f.per_pass,
            (percentile * 100.0).round(),
            verdict(q.met(group)),
            ms(f.p50),
            ms(f.p95),
            ms(f.p99),
            ms(f.max),
        );
    }
    let f = q.figures(None);
    let _ = writeln!(
        md,
        "| all of them | {} | | {} | {} | {} | {} |",
        f.per_pass,
        ms(f.p50),
        ms(f.p95),
        ms(f.p99),
        ms(f.max),
    );
    let _ = writeln!(
        md,
        "\nFailed or wrong answers: {} (warm-up included).",
        q.failures.len()
    );

    md.push_str(
        "\n| search (`folder=any`) | messages carrying the word | hits on the first page (scope `all`) | with a highlighted snippet | p50 / max over scopes and passes |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for s in &q.searches {
        let times = q.search_times(&s.query);
        let _ = writeln!(
            md,
            "| `{}` | {} | {}{} | {} | {} / {} |",
            s.query,
            s.planted.map_or_else(|| "—".to_string(), thousands),
            s.hits,
            if s.more { " (more pages)" } else { "" },
            s.with_snippet,
            ms(times.p50),
            ms(times.max),
        );
    }

    md.push_str("\n| slowest requests (worst of the passes) | time |\n| --- | --- |\n");
    for group in Group::ALL {
        for (label, ns) in q.slowest(group, 3) {
            let _ = writeln!(md, "| `{label}` | {} |", ms(ns));
        }
    }
    md
}

/// Writes the section `name` of the Markdown file at `path`.
pub fn write(path: &Path, name: &str, setup: &Setup, r: &ScaleResult) -> anyhow::Result<()> {
    let mut md = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let revision = setup
        .revision
        .as_deref()
        .map(|r| format!(" of commit {r}"))
        .unwrap_or_default();
    let w = &r.queries.workspace;
    let _ = writeln!(
        md,
        "<!-- Written by confab-bench from what it measured; rerun it rather than editing. -->\n\n\
         Measured {now} on {}; the bench and the server share the machine. Server: \
         `confab serve` (release build{revision}) on {}.\n\n\
         ```sh\ncargo build --release -p confab -p confab-bench\n{}\n```\n\n\
         **Data.** {}.\n\n\
         **Start-up** is the time from spawning `confab serve` to its first `200` from \
         `/readyz` (asked every {} ms), the median of {} starts (each run listed); **idle RSS** \
         is its `VmRSS` once settled after that start, and again after the requests. The \
         database is in the page cache (just written or read): a restart, not a cold boot.\n\n\
         **Requests** go one at a time over one keep-alive connection (latency, not \
         throughput), signed in as the generated admin, timed from sending to the last byte \
         of the body. One unmeasured warm-up pass, then {} measured passes of the same \
         requests: p50, p95 and p99 are medians over the passes, max is over all of them. A \
         pass asks the first page (`limit=50`) of every folder × scope (`mine`, `unassigned`, \
         `all`) × filter (none, `unread`, `tag={}`, `channel=email`, `inbox_id={}`, \
         `assignee_id={}`, `waiting`); `…/conversations/counts` for each scope 10 times; and \
         each search below with `folder=any` in each scope, twice.\n",
        setup.machine,
        r.backend,
        setup.command,
        data_line(&r.filled),
        POLL.as_millis(),
        r.runs,
        r.runs,
        w.tag,
        w.inbox,
        w.assignee,
    );
    md.push_str(&tables(r));
    crate::report::write_section(path, name, &md)
}
