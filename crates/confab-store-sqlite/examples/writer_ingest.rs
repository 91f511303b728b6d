//! The SQLite writer alone: contact messages written straight to the store
//! (no HTTP, no events fanned out), 128 at a time from two runtime threads,
//! each the same transaction the server writes for a widget's message.
//! Prints the rate over 8 s (after 2 s of warm-up), how many changes
//! shared each commit, and the writer thread's CPU (Linux: `/proc`). What the HTTP ingest benchmark (`confab-bench
//! --scenario ingest`) would reach if requests cost nothing.
//!
//! `cargo run --release -p confab-store-sqlite --example writer_ingest`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use confab_domain::Timestamp;
use confab_store::conformance::Fixture;
use confab_store::{MessageStore, NewContactMessage};

const IN_FLIGHT: usize = 128;
const CONTACTS: usize = 1024;
const T0: i64 = 1_800_000_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let store = Arc::new(confab_store_sqlite::testing::fresh_store().await);
    let fixture = Arc::new(Fixture::new(store.as_ref()).await);
    let mut contacts = Vec::with_capacity(CONTACTS);
    for i in 0..CONTACTS {
        contacts.push(
            fixture
                .new_contact(store.as_ref(), &format!("c{i}"))
                .await
                .id,
        );
    }
    let contacts = Arc::new(contacts);
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(IN_FLIGHT);
    for first in 0..IN_FLIGHT {
        let (store, fixture, contacts) = (store.clone(), fixture.clone(), contacts.clone());
        let (written, stop) = (written.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut k = first;
            while !stop.load(Ordering::Relaxed) {
                let message = NewContactMessage {
                    body: format!("ingest message writer-{k} from the example"),
                    ..NewContactMessage::default()
                };
                let at = Timestamp(T0 + k as i64);
                store
                    .post_contact_message(
                        fixture.account,
                        fixture.chat.id,
                        contacts[k % contacts.len()],
                        message,
                        at,
                    )
                    .await
                    .expect("a contact message");
                written.fetch_add(1, Ordering::Relaxed);
                k += IN_FLIGHT;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (transactions0, jobs0) = store.write_counts();
    let before = written.load(Ordering::Relaxed);
    let (cpu0, since) = (writer_cpu_seconds(), std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = written.load(Ordering::Relaxed);
    let (cpu1, window) = (writer_cpu_seconds(), since.elapsed().as_secs_f64());
    let (transactions1, jobs1) = store.write_counts();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a writing task");
    }
    let messages = (after - before).max(1) as f64;
    println!(
        "writer alone: {} contact messages/s, {:.1} per commit; writer thread {:.2} of a CPU, {:.0} µs of CPU per message",
        (after - before) / 8,
        (jobs1 - jobs0) as f64 / (transactions1 - transactions0).max(1) as f64,
        (cpu1 - cpu0) / window,
        (cpu1 - cpu0) * 1e6 / messages,
    );
}

/// CPU seconds (user + system) the writer thread has used: the thread of
/// this process named `confab-sqlite-w` (Linux keeps 15 characters of
/// `confab-sqlite-writer`); 0 where there is no `/proc`.
fn writer_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ticks: u64 = tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == "confab-sqlite-w")
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / hz as f64
}
