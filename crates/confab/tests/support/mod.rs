//! What the end-to-end tests share: child processes, free ports, waiting,
//! and a real SMTP server capturing mail (aiosmtpd, `smtp_capture.py`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde_json::Value;

/// A child process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `probe` until it answers something, for up to 20 s.
pub async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real SMTP server capturing into a folder (aiosmtpd); it refuses the
/// first `reject_first` messages with 550.
pub async fn capture_server(folder: &Path, reject_first: u32) -> (Process, u16) {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_capture.py");
    let child = Command::new("python3")
        .arg(script)
        .args([
            "--port",
            &port.to_string(),
            "--reject-first",
            &reject_first.to_string(),
        ])
        .arg("--dir")
        .arg(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 -m aiosmtpd (pip install aiosmtpd)");
    let process = Process(child);
    wait_for("aiosmtpd to listen", async || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;
    (process, port)
}

/// The mails captured so far, oldest first.
pub fn captured(folder: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect()
}

/// A running `confab serve` with an account and its admin's API token.
pub struct Confab {
    _process: Process,
    pub base: String,
    pub smtp_port: u16,
    pub account: i64,
    pub token: String,
}

/// Bootstraps an account on `database`, then runs `confab serve` with its
/// SMTP listener and `--smtp-relay` at `relay_port`, plus `extra` flags.
pub async fn start_confab(database: &str, relay_port: u16, extra: &[String]) -> Confab {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["admin", "bootstrap", "--database-url", database])
        .args([
            "--account",
            "Acme",
            "--email",
            "ada@acme.test",
            "--password",
            "correct horse",
        ])
        .output()
        .expect("bootstrap");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let credentials: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (port, smtp_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database])
        .args(["--public-url", "https://help.acme.test"])
        .args(["--smtp-listen", &format!("127.0.0.1:{smtp_port}")])
        .args(["--smtp-relay", &format!("smtp://127.0.0.1:{relay_port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("confab serve");
    let process = Process(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_for("confab to be ready", async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    Confab {
        _process: process,
        base,
        smtp_port,
        account: credentials["account_id"].as_i64().unwrap(),
        token: credentials["token"].as_str().unwrap().to_string(),
    }
}

impl Confab {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/api/v1/accounts/{}{path}", self.base, self.account);
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub async fn conversations(&self) -> Vec<Value> {
        let page = self
            .call(reqwest::Method::GET, "/conversations?limit=100", None)
            .await;
        page["items"].as_array().unwrap().clone()
    }

    pub async fn messages(&self, conversation: i64) -> Vec<Value> {
        let page = self
            .call(
                reqwest::Method::GET,
                &format!("/conversations/{conversation}/messages"),
                None,
            )
            .await;
        page["items"].as_array().unwrap().clone()
    }

    pub fn mailer(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp_port)
            .build()
    }
}
