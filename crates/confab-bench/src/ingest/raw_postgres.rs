//! PostgreSQL's raw limit: pgbench writing the rows a contact message writes.
//!
//! A pgbench script (prepared statements, one transaction per message, as the
//! server commits them, with PostgreSQL's default durability) that, for a
//! random one of the database's conversations, writes the message (its
//! `search` tsvector is a generated column, so it is indexed by the same GIN
//! index), its conversation's counters, preview and activity, the contact's
//! `last_seen_at`, the account's event counter and a `message.created` event
//! as large as the server's.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::Connection as _;

use super::MARK;
use super::db::connect;

/// Milliseconds since the epoch, as the schema stores times.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn script() -> String {
    format!(
        "\\set c random(:lo, :hi)\n\
         BEGIN;\n\
         SELECT account_id AS acc, contact_id AS who FROM conversations WHERE id = :c \\gset\n\
         INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, private, created_at)\n  \
           VALUES (:acc, :c, 'contact', :who, concat('ingest message raw-', :c::bigint, ' from the bench {MARK}'), false, {NOW_MS});\n\
         UPDATE conversations SET unread_count = unread_count + 1,\n  \
           waiting_since = coalesce(waiting_since, {NOW_MS}), last_activity_at = {NOW_MS},\n  \
           last_message_preview = concat('ingest message raw-', :c::bigint, ' from the bench {MARK}')\n  \
           WHERE account_id = :acc AND id = :c;\n\
         UPDATE contacts SET last_seen_at = {NOW_MS} WHERE id = :who;\n\
         UPDATE accounts SET last_event_seq = last_event_seq + 1 WHERE id = :acc RETURNING last_event_seq AS seq \\gset\n\
         INSERT INTO events (account_id, seq, type, at, data) VALUES (:acc, :seq, 'message.created', {NOW_MS}, :data);\n\
         END;\n"
    )
}

/// Runs pgbench with `clients` connections on `url` for a second of warm-up,
/// then for `duration`; returns the messages committed in the measured run
/// and its length in seconds.
pub async fn raw_limit(
    url: &str,
    dir: &Path,
    clients: usize,
    duration: Duration,
    event_data: &str,
) -> anyhow::Result<(u64, f64)> {
    let mut db = connect(url).await?;
    let (lo, hi, n): (Option<i64>, Option<i64>, i64) =
        sqlx::query_as("SELECT min(id), max(id), count(*) FROM conversations")
            .fetch_one(&mut db)
            .await
            .context("reading the conversations for pgbench")?;
    let _ = db.close().await;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        bail!("pgbench found no conversations to write into");
    };
    if hi - lo + 1 != n {
        bail!("pgbench needs conversations with ids in one run; found {n} in {lo}..={hi}");
    }
    let script_path = dir.join("ingest-raw.pgbench");
    std::fs::write(&script_path, script())?;
    let common: Vec<String> = vec![
        "--no-vacuum".into(),
        "--protocol=prepared".into(),
        "--jobs=2".into(),
        format!("--client={clients}"),
        format!("--file={}", script_path.display()),
        format!("--define=lo={lo}"),
        format!("--define=hi={hi}"),
        format!("--define=data={event_data}"),
    ];
    let command = |seconds: u64| {
        let mut command = Command::new("pgbench");
        command
            .args(&common)
            .arg(format!("--time={seconds}"))
            .arg(url);
        command
    };
    let (warm_up, run) = (command(1), command(duration.as_secs().max(1)));
    let (warm, measured) =
        tokio::task::spawn_blocking(move || (output(warm_up), output(run))).await?;
    warm.context("pgbench warm-up")?;
    let report = measured.context("pgbench")?;
    let processed = field(&report, "number of transactions actually processed:")
        .and_then(|v| v.split('/').next()?.trim().parse::<u64>().ok());
    let tps = rate(&report);
    match (processed, tps) {
        (Some(processed), Some(tps)) if tps > 0.0 => Ok((processed, processed as f64 / tps)),
        _ => bail!("could not read pgbench's report:\n{report}"),
    }
}

fn output(mut command: Command) -> anyhow::Result<String> {
    let out = command
        .output()
        .context("running pgbench (PostgreSQL's client tools must be on PATH)")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "pgbench failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// pgbench's rate without connection time: PostgreSQL 13 and older print
/// it after the rate including connections ("excluding connections
/// establishing"); 14 and newer print only it.
fn rate(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|line| {
            line.contains("tps =")
                && (line.contains("without initial connection") || line.contains("excluding"))
        })
        .unwrap_or(report);
    field(line, "tps =").and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
}

/// The rest of the report line that starts with `label`.
fn field<'a>(report: &'a str, label: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|line| line.trim().strip_prefix(label).map(str::trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_report_lines() {
        let report = "number of transactions actually processed: 43123\n\
                      latency average = 3.7 ms\n\
                      tps = 4312.345678 (without initial connection time)\n";
        assert_eq!(
            field(report, "number of transactions actually processed:"),
            Some("43123")
        );
        assert_eq!(rate(report), Some(4312.345678));
        let old = "tps = 4100.1 (including connections establishing)\n\
                   tps = 4312.3 (excluding connections establishing)\n";
        assert_eq!(rate(old), Some(4312.3));
    }
}
