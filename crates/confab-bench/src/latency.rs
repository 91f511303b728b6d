//! Delivery latency: contacts POST messages on a fixed schedule (open
//! loop: several senders, each on its own share of the schedule, so a slow
//! response delays only that sender); every agent socket of the account
//! times each message's arrival against the send instant in its body.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{self, Socket};
use crate::args::{Plan, Timing};
use crate::clock;
use crate::fixture::{Account, Fixture};
use crate::stats::Summary;
use crate::sys::OtherLoad;

/// How long to wait after the last send for deliveries still on their way.
const DRAIN: Duration = Duration::from_secs(5);
/// Sockets opened at once.
const CONNECT_AT_ONCE: usize = 32;

/// What one run measured.
#[derive(Debug)]
pub struct RunResult {
    /// POST sent → frame received on an agent socket, one sample per (message, socket).
    pub delivery: Summary,
    /// POST round trips (the write, committed, answered).
    pub post: Summary,
    /// The furthest a sender fell behind its schedule.
    pub lag_max: u64,
    /// Measured messages posted (answered 201).
    pub sent: usize,
    pub send_errors: usize,
    pub first_error: Option<String>,
    /// Messages per second actually posted in the measured phase.
    pub achieved_rate: f64,
    /// Deliveries owed: every posted message to every socket of its account.
    pub expected: usize,
    pub missed: usize,
    pub duplicates: usize,
    /// Sockets the server closed (or that failed) before the end.
    pub cut: usize,
    pub cut_reason: Option<String>,
    /// CPUs' worth of time used by other processes on the machine meanwhile.
    pub other_cpus: f64,
    /// Per measured message: (id, sent ns, POST round trip ns, slowest delivery ns).
    pub trace: Vec<(u64, u64, u64, u64)>,
    /// Per socket: (index, account index, its deliveries).
    pub per_socket: Vec<(usize, usize, Summary)>,
}

struct Schedule {
    accounts: Vec<Account>,
    bases: Vec<String>,
    /// When message 0 is due (bench clock, ns).
    t0: u64,
    interval_ns: f64,
    warmup: usize,
    total: usize,
}

#[derive(Default)]
struct SenderOut {
    /// (account index, message id) of measured messages that were posted.
    sent: Vec<(usize, u64)>,
    /// (message id, sent ns, POST round trip ns).
    post: Vec<(u64, u64, u64)>,
    lag_max: u64,
    first: Option<u64>,
    last: u64,
    errors: usize,
    first_error: Option<String>,
}

struct SocketOut {
    /// Which socket (in opening order; socket n is on server n mod servers).
    index: usize,
    account: usize,
    /// (message id, latency ns) of measured messages.
    got: Vec<(u64, u64)>,
    closed: Option<String>,
}

pub async fn run(fixture: &Fixture, plan: &Plan, timing: &Timing) -> anyhow::Result<RunResult> {
    let received = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = watch::channel(false);
    // Every socket is open (and reading) before the first message.
    let readers = open_sockets(fixture, plan, &received, &stopped).await?;

    let warmup = (plan.rate * timing.warmup.as_secs_f64()).round() as usize;
    let measured = (plan.rate * timing.duration.as_secs_f64()).round() as usize;
    let schedule = Arc::new(Schedule {
        accounts: fixture.accounts.clone(),
        bases: fixture.bases(),
        t0: clock::now_ns() + 100_000_000,
        interval_ns: 1e9 / plan.rate,
        warmup,
        total: warmup + measured,
    });
    let client = api::client();
    let pids: Vec<u32> = fixture.servers.iter().map(|s| s.pid).collect();
    let other = OtherLoad::start(&pids);
    let senders = timing.senders.min(schedule.total.max(1));
    let handles: Vec<_> = (0..senders)
        .map(|i| tokio::spawn(send(i, senders, schedule.clone(), client.clone())))
        .collect();
    let mut outs = Vec::with_capacity(senders);
    for handle in handles {
        outs.push(handle.await?);
    }

    let owed = owed(&outs, plan.accounts);
    let expected: usize = owed.iter().map(Vec::len).sum::<usize>() * plan.sockets_per_account;
    let deadline = Instant::now() + DRAIN;
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other_cpus = other.cpus();
    let _ = stop.send(true);
    let mut sockets = Vec::with_capacity(readers.len());
    for reader in readers {
        sockets.push(reader.await?);
    }
    let mut result = tally(&outs, &sockets, &owed, expected, schedule.interval_ns);
    result.other_cpus = other_cpus;
    Ok(result)
}

/// Opens the plan's agent sockets, spread over the servers, each with a reader task.
async fn open_sockets(
    fixture: &Fixture,
    plan: &Plan,
    received: &Arc<AtomicUsize>,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<SocketOut>>> {
    let bases = fixture.bases();
    let sockets: Vec<(usize, i64, String, String)> = (0..plan.accounts)
        .flat_map(|a| std::iter::repeat_n(a, plan.sockets_per_account))
        .enumerate()
        .map(|(n, a)| {
            let account = &fixture.accounts[a];
            let base = bases[n % bases.len()].clone();
            (a, account.id, account.token.clone(), base)
        })
        .collect();
    futures::stream::iter(sockets.into_iter().enumerate())
        .map(|(n, (a, id, token, base))| {
            let (received, stopped) = (received.clone(), stopped.clone());
            async move {
                let socket = api::agent_socket(&base, id, &token).await?;
                anyhow::Ok(tokio::spawn(read(socket, n, a, received, stopped)))
            }
        })
        .buffer_unordered(CONNECT_AT_ONCE)
        .try_collect()
        .await
}

/// What each account's sockets are owed: the ids of its posted measured messages, sorted.
fn owed(senders: &[SenderOut], accounts: usize) -> Vec<Vec<u64>> {
    let mut owed: Vec<Vec<u64>> = vec![Vec::new(); accounts];
    for &(a, id) in senders.iter().flat_map(|s| &s.sent) {
        owed[a].push(id);
    }
    for ids in &mut owed {
        ids.sort_unstable();
    }
    owed
}

fn tally(
    senders: &[SenderOut],
    sockets: &[SocketOut],
    owed: &[Vec<u64>],
    expected: usize,
    interval_ns: f64,
) -> RunResult {
    let sent: usize = senders.iter().map(|s| s.sent.len()).sum();
    let first = senders.iter().filter_map(|s| s.first).min().unwrap_or(0);
    let last = senders.iter().map(|s| s.last).max().unwrap_or(0);
    let span = (last.saturating_sub(first)) as f64 + interval_ns;
    let mut result = RunResult {
        delivery: Summary::default(),
        post: Summary::of(
            senders
                .iter()
                .flat_map(|s| s.post.iter().map(|p| p.2))
                .collect(),
        ),
        lag_max: senders.iter().map(|s| s.lag_max).max().unwrap_or(0),
        sent,
        send_errors: senders.iter().map(|s| s.errors).sum(),
        first_error: senders.iter().find_map(|s| s.first_error.clone()),
        achieved_rate: if sent == 0 {
            0.0
        } else {
            sent as f64 * 1e9 / span
        },
        expected,
        missed: 0,
        duplicates: 0,
        cut: 0,
        cut_reason: None,
        other_cpus: 0.0,
        trace: Vec::new(),
        per_socket: Vec::new(),
    };
    let mut slowest: HashMap<u64, u64> = HashMap::new();
    let mut deliveries = Vec::with_capacity(expected);
    for socket in sockets {
        if let Some(reason) = &socket.closed {
            result.cut += 1;
            result.cut_reason.get_or_insert_with(|| reason.clone());
        }
        let latencies = socket.got.iter().map(|&(_, latency)| latency).collect();
        result
            .per_socket
            .push((socket.index, socket.account, Summary::of(latencies)));
        for &(id, latency) in &socket.got {
            deliveries.push(latency);
            let max = slowest.entry(id).or_default();
            *max = (*max).max(latency);
        }
        let mut ids: Vec<u64> = socket.got.iter().map(|&(id, _)| id).collect();
        ids.sort_unstable();
        let all = ids.len();
        ids.dedup();
        result.duplicates += all - ids.len();
        let owed = &owed[socket.account];
        let present = owed
            .iter()
            .filter(|id| ids.binary_search(id).is_ok())
            .count();
        result.missed += owed.len() - present;
    }
    result.delivery = Summary::of(deliveries);
    result.trace = senders
        .iter()
        .flat_map(|s| s.post.iter())
        .map(|&(id, sent, post)| (id, sent, post, slowest.get(&id).copied().unwrap_or(0)))
        .collect();
    result.trace.sort_unstable();
    result
}

/// One open-loop sender: messages `i`, `i + step`, … each at its due instant.
async fn send(i: usize, step: usize, s: Arc<Schedule>, client: reqwest::Client) -> SenderOut {
    let mut out = SenderOut::default();
    let accounts = s.accounts.len();
    for k in (i..s.total).step_by(step) {
        let due = s.t0 + (k as f64 * s.interval_ns) as u64;
        tokio::time::sleep_until(clock::instant_at(due).into()).await;
        let a = k % accounts;
        let account = &s.accounts[a];
        let contact = &account.contacts[(k / accounts) % account.contacts.len()];
        let measured = k >= s.warmup;
        let sent = clock::now_ns();
        let body = format!("bench:{k}:{sent}:{}", if measured { 'm' } else { 'w' });
        let base = &s.bases[k % s.bases.len()];
        let result = api::post_message(&client, base, &account.inbox, contact, &body).await;
        if !measured {
            continue;
        }
        match result {
            Ok(()) => {
                out.post.push((k as u64, sent, clock::now_ns() - sent));
                out.sent.push((a, k as u64));
                out.lag_max = out.lag_max.max(sent.saturating_sub(due));
                out.first = Some(out.first.map_or(sent, |f| f.min(sent)));
                out.last = out.last.max(sent);
            }
            Err(error) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    out
}

/// One agent socket: times every measured message it receives.
async fn read(
    mut socket: Socket,
    index: usize,
    account: usize,
    received: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> SocketOut {
    let mut out = SocketOut {
        index,
        account,
        got: Vec::new(),
        closed: None,
    };
    loop {
        let message = tokio::select! {
            biased;
            _ = stop.changed() => break,
            message = socket.next() => message,
        };
        let now = clock::now_ns();
        match message {
            Some(Ok(Message::Text(text))) => {
                if let Some((id, sent)) = measured_message(text.as_str()) {
                    out.got.push((id, now.saturating_sub(sent)));
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                out.closed = Some(frame.map_or_else(
                    || "closed by the server".into(),
                    |f| format!("closed by the server: {} {}", u16::from(f.code), f.reason),
                ));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                out.closed = Some(error.to_string());
                break;
            }
            None => {
                out.closed = Some("connection ended".into());
                break;
            }
        }
    }
    if out.closed.is_none() {
        let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
    }
    out
}

/// Writes a run's traces as CSV (times in ms): `NAME.csv` per message (sent
/// relative to the first send, POST round trip, slowest delivery) and
/// `NAME-sockets.csv` per socket (p50, p99, max of its deliveries).
pub fn write_traces(dir: &std::path::Path, name: &str, result: &RunResult) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let ms = |ns: u64| ns as f64 / 1e6;
    let start = result.trace.iter().map(|t| t.1).min().unwrap_or(0);
    let mut csv = String::from("id,sent_ms,post_ms,slowest_delivery_ms\n");
    for &(id, sent, post, slowest) in &result.trace {
        let _ = writeln!(
            csv,
            "{id},{:.3},{:.3},{:.3}",
            ms(sent - start),
            ms(post),
            ms(slowest)
        );
    }
    std::fs::write(dir.join(format!("{name}.csv")), csv)?;
    let mut csv = String::from("socket,account,deliveries,p50_ms,p99_ms,max_ms\n");
    for &(index, account, s) in &result.per_socket {
        let _ = writeln!(
            csv,
            "{index},{account},{},{:.3},{:.3},{:.3}",
            s.count,
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        );
    }
    std::fs::write(dir.join(format!("{name}-sockets.csv")), csv)?;
    Ok(())
}

/// The id and send instant of a measured `message.created` frame of ours.
/// Cheap on purpose: substring search, no JSON parse (the client shares
/// the CPUs with the server).
fn measured_message(text: &str) -> Option<(u64, u64)> {
    if !text.contains(r#""type":"message.created""#) {
        return None;
    }
    let start = text.find("bench:")? + "bench:".len();
    let mut parts = text[start..].splitn(3, ':');
    let id = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    parts.next()?.starts_with('m').then_some((id, sent))
}

#[cfg(test)]
mod tests {
    use super::measured_message;

    #[test]
    fn finds_the_marker_of_measured_messages_only() {
        let frame = r#"{"seq":9,"type":"message.created","at":1,"data":{"message":{"body":"bench:42:1234:m"}}}"#;
        assert_eq!(measured_message(frame), Some((42, 1234)));
        assert_eq!(measured_message(&frame.replace(":m\"", ":w\"")), None);
        assert_eq!(
            measured_message(&frame.replace("message.created", "conversation.updated")),
            None
        );
    }
}
