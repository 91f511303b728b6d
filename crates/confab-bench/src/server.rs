//! The `confab` binary: bootstrapping accounts with its CLI, and running
//! `confab serve` as a child process with generous limits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// An account made by `confab admin bootstrap`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account: i64,
    pub token: String,
}

/// Runs `confab admin bootstrap` and reads the credentials it prints.
pub fn bootstrap(confab: &Path, database_url: &str, name: &str) -> anyhow::Result<Credentials> {
    let email = format!("admin@{}.bench.test", name.to_lowercase());
    let output = Command::new(confab)
        .args(["admin", "bootstrap", "--database-url", database_url])
        .args(["--account", name, "--email", &email])
        .args(["--password", "bench password, long enough"])
        .env("CONFAB_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} admin bootstrap", confab.display()))?;
    if !output.status.success() {
        bail!(
            "confab admin bootstrap failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let printed: Value =
        serde_json::from_slice(&output.stdout).context("confab admin bootstrap printed no JSON")?;
    Ok(Credentials {
        account: printed["account_id"]
            .as_i64()
            .context("no account_id printed")?,
        token: printed["token"]
            .as_str()
            .context("no token printed")?
            .to_string(),
    })
}

/// Whether `confab serve` knows `--nats-url` (the cluster case).
pub fn supports_nats(confab: &Path) -> anyhow::Result<bool> {
    let output = Command::new(confab)
        .args(["serve", "--help"])
        .output()
        .with_context(|| format!("running {} serve --help", confab.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout).contains("--nats-url"))
}

/// A running `confab serve`.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    pub log: PathBuf,
}

/// Raises the open-files limit, then becomes confab (so the PID is confab's).
const SHELL: &str = r#"ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@""#;

impl Server {
    /// Starts `confab serve` on a free port and waits for `/readyz`.
    pub async fn start(
        confab: &Path,
        database_url: &str,
        nats_url: Option<&str>,
        log: PathBuf,
    ) -> anyhow::Result<Server> {
        let mut server = Server::spawn(confab, database_url, nats_url, log, true)?;
        server
            .wait_ready(&reqwest::Client::new(), Duration::from_millis(50))
            .await?;
        Ok(server)
    }

    /// Starts `confab serve` on a free port without waiting for it. With
    /// `raise_files` it goes through `sh` to raise its open-files limit;
    /// without, confab is the child itself (nothing else in the start time).
    pub fn spawn(
        confab: &Path,
        database_url: &str,
        nats_url: Option<&str>,
        log: PathBuf,
        raise_files: bool,
    ) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = if raise_files {
            let mut command = Command::new("sh");
            command.args(["-c", SHELL]).arg(confab);
            command
        } else {
            Command::new(confab)
        };
        command
            .args(["serve", "--listen", &listen, "--database-url", database_url])
            .args(["--public-rate-per-minute", "100000000"])
            .args(["--public-rate-burst", "1000000"])
            .args(["--login-rate-per-minute", "100000"])
            .args(["--max-connections", "100000"]);
        if let Some(nats) = nats_url {
            command.args(["--nats-url", nats]);
        }
        let child = command
            .env("CONFAB_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting confab serve")?;
        Ok(Server {
            pid: child.id(),
            child,
            base: format!("http://{listen}"),
            log,
        })
    }

    /// Polls `/readyz` every `every` until it answers 200 (30 s at most).
    pub async fn wait_ready(
        &mut self,
        client: &reqwest::Client,
        every: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("confab serve exited ({status}):\n{}", self.log_tail());
            }
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("confab serve not ready after 30 s:\n{}", self.log_tail());
            }
            tokio::time::sleep(every).await;
        }
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        crate::sys::rss_kib(self.pid)
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 5 s.
    pub async fn stop(mut self) {
        // SAFETY: sending a signal to our own child's PID.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
