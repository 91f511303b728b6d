//! Memory per idle agent WebSocket: the server's RSS before and after
//! opening N sockets that stay idle, each reading settled.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{self, Socket};
use crate::fixture::Fixture;
use crate::server::Server;

#[derive(Debug, Clone)]
pub struct MemoryResult {
    pub sockets: usize,
    pub before_kib: u64,
    pub after_kib: u64,
    /// Sockets that closed before the measurement ended.
    pub closed: usize,
}

impl MemoryResult {
    pub fn per_socket_kib(&self) -> f64 {
        self.after_kib.saturating_sub(self.before_kib) as f64 / self.sockets.max(1) as f64
    }
}

pub async fn run(fixture: &Fixture, count: usize) -> anyhow::Result<MemoryResult> {
    let server = &fixture.servers[0];
    let account = &fixture.accounts[0];
    // One socket first, so one-time set-up is not counted per socket.
    let mut warm = api::agent_socket(&server.base, account.id, &account.token).await?;
    let _ = warm.close(None).await;
    drop(warm);
    let before = settled_rss(server).await?;

    let (stop, stopped) = watch::channel(false);
    let holders: Vec<_> = futures::stream::iter(0..count)
        .map(|_| {
            let stopped = stopped.clone();
            async move {
                let socket = api::agent_socket(&server.base, account.id, &account.token).await?;
                anyhow::Ok(tokio::spawn(hold(socket, stopped)))
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await?;
    let after = settled_rss(server).await?;
    let _ = stop.send(true);
    let mut closed = 0;
    for holder in holders {
        if !holder.await? {
            closed += 1;
        }
    }
    Ok(MemoryResult {
        sockets: count,
        before_kib: before,
        after_kib: after,
        closed,
    })
}

/// Keeps a socket open (answering pings) until told to stop; false if it closed early.
async fn hold(mut socket: Socket, mut stop: watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                return true;
            }
            message = socket.next() => match message {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Readings 200 ms apart that must agree: 2 s, longer than the server's
/// own once-a-second return of freed memory to the system
/// (`confab/src/allocator.rs`), so a server that has just finished a burst
/// is not read as idle before it has had its tick (with 0.8 s the bench
/// read the memory of the last requests about half the time).
const SETTLE_READINGS: usize = 11;

/// RSS once [`SETTLE_READINGS`] readings 200 ms apart agree within 64 KiB
/// (or after 15 s).
pub async fn settled_rss(server: &Server) -> anyhow::Result<u64> {
    let mut window = VecDeque::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        window.push_back(server.rss_kib()?);
        if window.len() > SETTLE_READINGS {
            window.pop_front();
        }
        let low = window.iter().copied().min().unwrap_or(0);
        let high = window.iter().copied().max().unwrap_or(0);
        if window.len() == SETTLE_READINGS && high - low <= 64 {
            return Ok(window.back().copied().unwrap_or(0));
        }
        if Instant::now() > deadline {
            eprintln!(
                "  RSS did not settle in 15 s (last 2 s: {low}–{high} KiB); taking the last reading"
            );
            return Ok(window.back().copied().unwrap_or(0));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
