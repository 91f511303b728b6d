//! `confab serve --demo` on an empty database: a living demo workspace,
//! with conversations in every folder, and the demo admin can sign in.
//! Started again, it adds nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve_demo(database: &str) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("confab serve --demo");
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "confab --demo did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, base)
}

async fn counts(base: &str) -> Value {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let session: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@demo.confab.test", "password": "demo-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = session["account"]["id"].as_i64().expect("signed in");
    client
        .get(format!(
            "{base}/api/v1/accounts/{account}/conversations/counts"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_every_folder_once() {
    let dir = std::env::temp_dir().join(format!("confab-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let database = format!("sqlite://{}/confab.db", dir.display());
    let (server, base) = serve_demo(&database).await;
    let first = counts(&base).await;
    let total: i64 = ["open", "answered", "closed", "snoozed", "spam", "deleted"]
        .iter()
        .map(|folder| {
            let n = first[folder].as_i64().unwrap_or(0);
            assert!(n > 0, "no demo conversation in {folder}: {first}");
            n
        })
        .sum();
    assert_eq!(total, 200, "{first}");
    drop(server);
    // Again on the same database: nothing is added.
    let (_server, base) = serve_demo(&database).await;
    assert_eq!(counts(&base).await, first);
}
