//! Start-up time: spawning `confab serve` → its first `200` from `/readyz`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::server::Server;

/// How often `/readyz` is asked while the server starts.
pub const POLL: Duration = Duration::from_millis(2);

/// Starts `confab serve` (confab itself is the child: no shell in the time)
/// and returns it once ready, with the time it took.
pub async fn timed_start(
    confab: &Path,
    database_url: &str,
    log: PathBuf,
) -> anyhow::Result<(Server, Duration)> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()?;
    let started = Instant::now();
    let mut server = Server::spawn(confab, database_url, None, log, false)?;
    server.wait_ready(&client, POLL).await?;
    Ok((server, started.elapsed()))
}

/// The start-up times of one kind of database, in nanoseconds, one per run.
#[derive(Debug, Clone, Default)]
pub struct Starts {
    pub runs: Vec<u64>,
}

impl Starts {
    pub fn push(&mut self, took: Duration) {
        self.runs.push(took.as_nanos() as u64);
    }

    pub fn median(&self) -> u64 {
        crate::stats::median(self.runs.iter().copied())
    }
}
