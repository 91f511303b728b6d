//! Two `confab serve` processes sharing the machine's PostgreSQL, joined by
//! its NATS: an event written on one reaches streams on the other, and a
//! client of an instance that is killed resumes on the other without a gap;
//! presence snapshots and team availability cover agents on both.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const NATS: &str = "nats://127.0.0.1:4222";

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(database: &str) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database,
            "--nats-url",
            NATS,
        ])
        .args([
            "--public-rate-per-minute",
            "1000000",
            "--public-rate-burst",
            "100000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start confab");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "confab did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Instance { child, base }
}

async fn post(url: String, headers: &[(&str, &str)], body: Value) -> Value {
    let mut request = reqwest::Client::new().post(url).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("post");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn agent_socket(instance: &Instance, account: i64, token: &str, since: i64) -> Socket {
    let url = format!(
        "{}/api/v1/accounts/{account}/events?since={since}",
        instance.base.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("socket")
        .0
}

async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Runs `confab admin …` on the database; returns its JSON (account_id, agent_id, token).
fn admin(database: &str, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("admin")
        .args(args)
        .args(["--database-url", database])
        .output()
        .expect("confab admin");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("admin JSON")
}

/// Makes the account and its admin Ada: (account id, Ada's agent id, her token).
fn bootstrap(database: &str) -> (i64, i64, String) {
    let credentials = admin(
        database,
        &[
            "bootstrap",
            "--account",
            "Cluster",
            "--email",
            "ada@cluster.test",
            "--password",
            "correct horse",
        ],
    );
    (
        credentials["account_id"].as_i64().unwrap(),
        credentials["agent_id"].as_i64().unwrap(),
        credentials["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_covers_agents_on_every_instance() {
    let database = confab_store_postgres::testing::fresh_database_url().await;
    let (account, ada_id, ada_token) = bootstrap(&database);
    let bob = admin(
        &database,
        &[
            "add-agent",
            "--account",
            &account.to_string(),
            "--email",
            "bob@cluster.test",
            "--password",
            "correct horse",
        ],
    );
    let bob_token = bob["token"].as_str().unwrap().to_string();
    let a = start(&database).await;
    let b = start(&database).await;
    let bearer = format!("Bearer {ada_token}");
    let inbox = post(
        format!("{}/api/v1/accounts/{account}/inboxes", a.base),
        &[("authorization", &bearer)],
        json!({"name": "Chat", "kind": "chat"}),
    )
    .await;
    let inbox_token = inbox["token"].as_str().unwrap().to_string();
    let contact = post(
        format!("{}/api/v1/public/inboxes/{inbox_token}/contacts", b.base),
        &[],
        json!({}),
    )
    .await;
    let contact_token = contact["token"].as_str().unwrap().to_string();

    // Ada is connected to A only; Bob, connecting to B, sees her online in
    // his first frames, and a contact on B sees the team available.
    let _ada = agent_socket(&a, account, &ada_token, 0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut bob_socket = agent_socket(&b, account, &bob_token, 0).await;
        let mut seen = false;
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_millis(300), next_frame(&mut bob_socket)).await
        {
            if frame["type"] == "presence"
                && frame["data"]["agent_id"] == ada_id
                && frame["data"]["status"] == "online"
            {
                seen = true;
                break;
            }
        }
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B's snapshot never showed Ada, connected to A"
        );
    }
    // Bob may have heard of Ada from A's live presence frame a moment before
    // B's copy of A's presence table arrives (tables follow every change):
    // a contact on B sees the team available once it has.
    let url = format!(
        "{}/api/v1/public/inboxes/{inbox_token}/ws?contact_token={contact_token}",
        b.base.replacen("http", "ws", 1)
    );
    loop {
        let (mut contact_socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("contact socket");
        let availability = loop {
            let frame = next_frame(&mut contact_socket)
                .await
                .expect("availability frame");
            if frame["type"] == "availability" {
                break frame;
            }
        };
        if availability["data"]["online"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a contact on B never saw the team available: {availability}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_events_and_clients_resume_on_the_survivor() {
    let database = confab_store_postgres::testing::fresh_database_url().await;
    let (account, _, token) = bootstrap(&database);

    let a = start(&database).await;
    let b = start(&database).await;
    let bearer = format!("Bearer {token}");
    let inbox = post(
        format!("{}/api/v1/accounts/{account}/inboxes", a.base),
        &[("authorization", &bearer)],
        json!({"name": "Chat", "kind": "chat"}),
    )
    .await;
    let inbox_token = inbox["token"].as_str().unwrap().to_string();
    let contact = post(
        format!("{}/api/v1/public/inboxes/{inbox_token}/contacts", a.base),
        &[],
        json!({}),
    )
    .await;
    let contact_token = contact["token"].as_str().unwrap().to_string();

    // Posted on A, received on B.
    let mut on_b = agent_socket(&b, account, &token, 0).await;
    let url_a = format!("{}/api/v1/public/inboxes/{inbox_token}/messages", a.base);
    post(
        url_a,
        &[("x-contact-token", &contact_token)],
        json!({"body": "hello from A"}),
    )
    .await;
    let received = loop {
        let frame = next_frame(&mut on_b).await.expect("B streams A's event");
        if frame["type"] == "message.created" {
            break frame;
        }
    };
    assert_eq!(received["data"]["message"]["body"], "hello from A");
    drop(on_b);

    // A client of A; writers post through B; A is killed mid-stream; the client resumes on B.
    let mut a = a;
    let mut socket = agent_socket(&a, account, &token, 0).await;
    let url_b = format!("{}/api/v1/public/inboxes/{inbox_token}/messages", b.base);
    let writer = tokio::spawn(async move {
        for n in 0..60 {
            post(
                url_b.clone(),
                &[("x-contact-token", &contact_token)],
                json!({"body": format!("message {n}")}),
            )
            .await;
        }
    });
    let mut seqs = Vec::new();
    let mut messages = 0;
    while seqs.len() < 10 {
        let frame = next_frame(&mut socket).await.expect("frames from A");
        if let Some(seq) = frame["seq"].as_i64() {
            seqs.push(seq);
            messages += usize::from(frame["type"] == "message.created");
        }
    }
    a.child.kill().expect("kill A");
    let _ = a.child.wait();
    // Whatever A had already sent is still readable; then the socket ends.
    while let Some(frame) = next_frame(&mut socket).await {
        if let Some(seq) = frame["seq"].as_i64() {
            seqs.push(seq);
            messages += usize::from(frame["type"] == "message.created");
        }
    }
    let mut resumed = agent_socket(&b, account, &token, *seqs.last().unwrap()).await;
    while messages < 61 {
        let frame = next_frame(&mut resumed)
            .await
            .expect("frames from B after the resume");
        if let Some(seq) = frame["seq"].as_i64() {
            seqs.push(seq);
            messages += usize::from(frame["type"] == "message.created");
        }
    }
    writer.await.unwrap();
    let expected: Vec<i64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, expected, "no gap and no duplicate across the kill");
}
