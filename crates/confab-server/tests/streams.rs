//! Live streams over real sockets, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use confab_store::InboxStore as _;

use common::*;
use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::sqlite_app().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::postgres_app().await).await; })*
        }
    };
}

on_both_databases!(
    live_delivery_and_private_notes,
    resume_misses_nothing_and_repeats_nothing,
    typing_and_presence
);

/// A server whose feeds read the log on their own only once an hour: what
/// reaches a socket in a test came by the hand-over or a read the feed
/// was asked for.
async fn sqlite_app_reading_the_log_hourly(url: &str) -> TestApp {
    let store = confab_store_sqlite::SqliteStore::connect(url)
        .await
        .unwrap();
    let config = confab_server::ServerConfig {
        log_read_every: std::time::Duration::from_secs(3600),
        ..test_config()
    };
    spawn_app(Arc::new(store), config).await
}

/// On SQLite a contact's messages reach the agents' sockets as the writer
/// commits them, without the feed reading each back from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_events_reach_the_sockets_without_reading_the_log() {
    let app = sqlite_app_reading_the_log_hourly(&confab_store_sqlite::testing::fresh_url()).await;
    let agent = app.new_account("Fast path").await;
    let inbox = app.create_inbox(&agent, "in_app").await;
    let token = inbox["token"].as_str().unwrap().to_string();
    let contact = app.contact_session(&token).await;
    let mut socket = app.agent_socket(&agent, None).await;
    // The second arrives by broadcast (the socket's catch-up is over), so
    // the feed has made its first read of the log, at its start.
    for body in ["first", "second"] {
        app.contact_writes(&token, &contact, body).await;
        next_of(&mut socket, "message.created").await;
    }
    let reads = app.state.hub.log_reads();
    for n in 0..60 {
        app.contact_writes(&token, &contact, &format!("message {n}"))
            .await;
    }
    for n in 0..60 {
        let frame = next_of(&mut socket, "message.created").await;
        assert_eq!(frame["data"]["message"]["body"], format!("message {n}"));
    }
    assert_eq!(app.state.hub.log_reads(), reads, "the feed read the log");
}

/// On SQLite the feed broadcasts what this server's writer commits without
/// reading it back; events another process writes into the same file (as
/// `confab admin` does, with a writer of its own) are read from the log
/// when the next event of this server's shows the gap (here the feed's own
/// schedule is an hour away). The feed broadcasts every event once, in
/// order, and so each socket gets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_written_by_another_process_reach_the_sockets_in_order() {
    let url = confab_store_sqlite::testing::fresh_url();
    let app = sqlite_app_reading_the_log_hourly(&url).await;
    let elsewhere = confab_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    let agent = app.new_account("Two writers").await;
    let inbox = app.create_inbox(&agent, "in_app").await;
    let token = inbox["token"].as_str().unwrap().to_string();
    let contact = app.contact_session(&token).await;
    let mut sockets = vec![
        app.agent_socket(&agent, None).await,
        app.agent_socket(&agent, None).await,
    ];
    // What the feed itself broadcasts (a socket would fill gaps from the
    // log on its own).
    let mut feed = app
        .state
        .hub
        .subscribe(confab_domain::AccountId(agent.account))
        .await;
    let mut expected_inboxes = Vec::new();
    for round in 0..20 {
        app.contact_writes(&token, &contact, &format!("here {round}"))
            .await;
        let name = format!("Written elsewhere {round}");
        elsewhere
            .create_inbox(
                confab_domain::AccountId(agent.account),
                confab_store::NewInbox {
                    name: name.clone(),
                    kind: confab_domain::InboxKind::InApp,
                    token: format!("elsewhere-{round}-{}", agent.account),
                    email_address: None,
                    identity_secret: "secret".into(),
                },
                START,
            )
            .await
            .unwrap();
        expected_inboxes.push(name);
        // Every other round, this server writes right after: its event
        // comes with a gap the feed fills from the log.
        if round % 2 == 0 {
            app.contact_writes(&token, &contact, &format!("after {round}"))
                .await;
        }
    }
    app.contact_writes(&token, &contact, "last").await;
    let mut broadcast = Seen::default();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("the feed broadcast the last message")
            .expect("a frame");
        let Some(text) = frame.seq.and(frame.agent_text.as_ref()) else {
            continue;
        };
        if broadcast.note(&serde_json::from_str(text.as_str()).unwrap()) {
            break;
        }
    }
    broadcast.check(
        &expected_inboxes,
        "the feed broadcast every event once, in order",
    );
    for socket in &mut sockets {
        let mut seen = Seen::default();
        while !seen.note(&next_frame(socket).await.expect("a frame")) {}
        seen.check(&expected_inboxes, "every event once, in order");
    }
}

/// The logged frames one listener got, up to the message "last".
#[derive(Default)]
struct Seen {
    seqs: Vec<i64>,
    inboxes: Vec<String>,
}

impl Seen {
    /// Notes a frame (ephemeral ones are skipped); whether it was "last".
    fn note(&mut self, frame: &Value) -> bool {
        let Some(seq) = frame["seq"].as_i64() else {
            return false;
        };
        self.seqs.push(seq);
        if frame["type"] == "inbox.created" {
            let name = frame["data"]["inbox"]["name"].as_str().unwrap_or("");
            self.inboxes.push(name.to_string());
        }
        frame["type"] == "message.created" && frame["data"]["message"]["body"] == "last"
    }

    /// Every event once, in order, the inboxes written elsewhere among them.
    fn check(&self, expected_inboxes: &[String], what: &str) {
        let expected: Vec<i64> = (self.seqs[0]..=*self.seqs.last().unwrap()).collect();
        assert_eq!(self.seqs, expected, "{what}");
        assert!(
            expected_inboxes
                .iter()
                .all(|name| self.inboxes.contains(name)),
            "{:?}",
            self.inboxes
        );
    }
}

async fn reply(app: &TestApp, agent: &Agent, conversation: i64, body: &str, private: bool) {
    let path = format!(
        "/api/v1/accounts/{}/conversations/{conversation}/messages",
        agent.account
    );
    let (status, answer) = app
        .call(
            Method::POST,
            &path,
            Some(&agent.token),
            Some(json!({"body": body, "private": private})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn live_delivery_and_private_notes(app: TestApp) {
    let agent = app.new_account("Live").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let mut agent_socket = app.agent_socket(&agent, None).await;
    // The greeting (a presence snapshot) says the server has counted this agent online.
    next_of(&mut agent_socket, "presence").await;
    let mut contact_socket = app.contact_socket(token, &contact).await;
    assert_eq!(
        next_of(&mut contact_socket, "availability").await["data"]["online"],
        true
    );

    let id = app.contact_writes(token, &contact, "Hello, anyone?").await;
    let created = next_of(&mut agent_socket, "conversation.created").await;
    assert_eq!(created["data"]["conversation"]["id"], id);
    let message = next_of(&mut agent_socket, "message.created").await;
    assert_eq!(message["data"]["message"]["body"], "Hello, anyone?");
    assert_eq!(
        message["seq"].as_i64(),
        Some(created["seq"].as_i64().unwrap() + 1)
    );
    let seen = next_of(&mut contact_socket, "message.created").await;
    assert_eq!(
        seen["data"]["message"]["sender_type"], "contact",
        "the contact sees their own message echoed"
    );

    reply(&app, &agent, id, "internal: check the order", true).await;
    reply(
        &app,
        &agent,
        id,
        "Hi! How can I **help**? <script>x</script>",
        false,
    )
    .await;
    let note = next_of(&mut agent_socket, "message.created").await;
    assert_eq!(note["data"]["message"]["private"], true, "agents see notes");
    let public = next_of(&mut contact_socket, "message.created").await;
    assert_eq!(
        public["data"]["message"]["body"], "Hi! How can I **help**? <script>x</script>",
        "the note never reached the contact"
    );
    assert!(public["data"]["message"].get("private").is_none());
    // The reply's Markdown comes rendered, its raw HTML escaped.
    assert_eq!(
        public["data"]["message"]["body_html"],
        "<p>Hi! How can I <strong>help</strong>? &lt;script&gt;x&lt;/script&gt;</p>\n"
    );
    assert!(seen["data"]["message"].get("body_html").is_none());
    // And so in the contact's history; their own messages stay text.
    let history = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/public/inboxes/{token}/messages")))
        .header("X-Contact-Token", &contact)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{history}");
    assert!(items[0].get("body_html").is_none());
    assert_eq!(
        items[1]["body_html"],
        public["data"]["message"]["body_html"]
    );

    let close = format!(
        "/api/v1/accounts/{}/conversations/{id}/close",
        agent.account
    );
    app.call(Method::POST, &close, Some(&agent.token), Some(json!({})))
        .await;
    let state = next_of(&mut contact_socket, "conversation.state").await;
    assert_eq!(
        state["data"],
        json!({"conversation_id": id, "state": "closed"})
    );
    let updated = next_of(&mut agent_socket, "conversation.updated").await;
    assert_eq!(
        (
            updated["data"]["action"].as_str(),
            updated["data"]["conversation"]["folder"].as_str()
        ),
        (Some("close"), Some("closed"))
    );
}

/// Writers post concurrently while a client keeps dropping and resuming
/// with its last seq: in the end it has every event exactly once, in order.
async fn resume_misses_nothing_and_repeats_nothing(app: TestApp) {
    let app = Arc::new(app);
    let agent = Arc::new(app.new_account("Resume").await);
    let inbox = app.create_inbox(&agent, "in_app").await;
    let token = inbox["token"].as_str().unwrap().to_string();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (app, token) = (app.clone(), token.clone());
        writers.push(tokio::spawn(async move {
            let contact = app.contact_session(&token).await;
            for n in 0..25 {
                app.contact_writes(&token, &contact, &format!("writer {writer} message {n}"))
                    .await;
            }
        }));
    }
    let mut seqs: Vec<i64> = Vec::new();
    let mut messages = 0;
    let mut last = 0;
    let mut round = 0;
    while messages < 100 {
        round += 1;
        assert!(round < 500, "stuck after {messages} messages");
        let mut socket = app.agent_socket(&agent, Some(last)).await;
        // Read a few frames, then drop the connection mid-stream.
        for _ in 0..7 {
            let Some(frame) = next_frame(&mut socket).await else {
                break;
            };
            let Some(seq) = frame["seq"].as_i64() else {
                continue;
            };
            seqs.push(seq);
            last = seq;
            if frame["type"] == "message.created" {
                messages += 1;
            }
        }
        drop(socket);
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let expected: Vec<i64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(
        seqs, expected,
        "every event once, in order, across {round} reconnects"
    );
}

async fn typing_and_presence(app: TestApp) {
    let admin = app.new_account("Presence").await;
    let (status, bob) = app
        .call(
            Method::POST,
            &format!("/api/v1/accounts/{}/agents", admin.account),
            Some(&admin.token),
            Some(json!({"name": "Bob", "email": "bob@presence.test", "password": "bob password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let bob_id = bob["id"].as_i64().unwrap();
    let bob_token = confab_server::auth::new_token();
    app.store
        .create_credential(
            confab_domain::AgentId(bob_id),
            confab_store::CredentialKind::ApiToken,
            &confab_server::auth::token_hash(&bob_token),
            None,
            START,
        )
        .await
        .unwrap();
    let bob = Agent {
        account: admin.account,
        id: bob_id,
        token: bob_token,
    };
    let inbox = app.create_inbox(&admin, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app.contact_writes(token, &contact, "hi").await;

    let mut bob_socket = app.agent_socket(&bob, None).await;
    let mut contact_socket = app.contact_socket(token, &contact).await;
    assert_eq!(
        next_of(&mut contact_socket, "availability").await["data"]["online"],
        true
    );
    let mut admin_socket = app.agent_socket(&admin, None).await;
    let online = next_of(&mut bob_socket, "presence").await;
    assert!(online["data"]["agent_id"] == bob_id || online["data"]["agent_id"] == admin.id);
    // Admin opens the conversation and types: Bob sees both, the contact sees typing.
    admin_socket
        .send(Message::text(
            json!({"type": "viewing", "conversation_id": id}).to_string(),
        ))
        .await
        .unwrap();
    let viewing = loop {
        let frame = next_of(&mut bob_socket, "presence").await;
        if frame["data"]["agent_id"] == admin.id && frame["data"]["viewing"] == id {
            break frame;
        }
    };
    assert_eq!(viewing["seq"], Value::Null, "presence is not logged");
    admin_socket
        .send(Message::text(
            json!({"type": "typing", "conversation_id": id, "typing": true}).to_string(),
        ))
        .await
        .unwrap();
    let typing = next_of(&mut bob_socket, "typing").await;
    assert_eq!(
        (
            typing["data"]["agent_id"].as_i64(),
            typing["data"]["typing"].as_bool()
        ),
        (Some(admin.id), Some(true))
    );
    let contact_sees = next_of(&mut contact_socket, "typing").await;
    assert_eq!(contact_sees["data"]["sender_type"], "agent");
    // The contact types: agents see it.
    contact_socket
        .send(Message::text(
            json!({"type": "typing", "typing": true}).to_string(),
        ))
        .await
        .unwrap();
    let from_contact = next_of(&mut admin_socket, "typing").await;
    assert_eq!(
        (
            from_contact["data"]["conversation_id"].as_i64(),
            from_contact["data"]["typing"].as_bool()
        ),
        (Some(id), Some(true))
    );
    // Away, then gone.
    admin_socket
        .send(Message::text(
            json!({"type": "presence", "status": "away"}).to_string(),
        ))
        .await
        .unwrap();
    loop {
        let frame = next_of(&mut bob_socket, "presence").await;
        if frame["data"]["agent_id"] == admin.id && frame["data"]["status"] == "away" {
            break;
        }
    }
    admin_socket.close(None).await.unwrap();
    loop {
        let frame = next_of(&mut bob_socket, "presence").await;
        if frame["data"]["agent_id"] == admin.id && frame["data"]["status"] == "offline" {
            break;
        }
    }
    // Typing is not logged: the log holds no typing or presence events.
    let events = app
        .store
        .events_since(confab_domain::AccountId(admin.account), 0, 1000)
        .await
        .unwrap();
    assert!(events.iter().all(|e| e.event_type.as_str().contains('.')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_consumer_is_cut_while_others_keep_receiving() {
    const FLOOD: usize = 900;
    use confab_server::ServerConfig;
    let config = ServerConfig {
        stream_backlog: 16,
        ..test_config()
    };
    let app = spawn_app(
        Arc::new(confab_store_sqlite::testing::fresh_store().await),
        config,
    )
    .await;
    let agent = app.new_account("Slow").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    // The slow client: a tiny receive buffer, and it does not read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(app.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!(
        "{}/api/v1/accounts/{}/events",
        app.base.replacen("http", "ws", 1),
        agent.account
    )
    .into_client_request()
    .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", agent.token).parse().unwrap(),
    );
    let (mut slow, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let mut healthy = app.agent_socket(&agent, None).await;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < FLOOD {
            let frame = next_frame(&mut healthy)
                .await
                .expect("the healthy client keeps receiving");
            if frame["type"] == "message.created" {
                got += 1;
            }
        }
        got
    });
    let big = "x".repeat(8000);
    // More than the kernel's socket buffers hold (up to ~4 MiB here) plus the backlog.
    for _ in 0..FLOOD {
        app.contact_writes(token, &contact, &big).await;
    }
    assert_eq!(reader.await.unwrap(), FLOOD);
    // The slow client finds, after what was buffered, a close telling it to resume.
    let mut close = None;
    while let Ok(Some(message)) =
        tokio::time::timeout(std::time::Duration::from_secs(20), slow.next()).await
    {
        match message {
            Ok(Message::Close(frame)) => {
                close = frame;
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 4000);
    assert!(close.reason.as_str().contains("since="), "{}", close.reason);
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_clearly() {
    use confab_server::ServerConfig;
    let config = ServerConfig {
        max_connections: 1,
        ..test_config()
    };
    let app = spawn_app(
        Arc::new(confab_store_sqlite::testing::fresh_store().await),
        config,
    )
    .await;
    let agent = app.new_account("Cap").await;
    let _first = app.agent_socket(&agent, None).await;
    let response = app
        .client
        .get(app.url(&format!("/api/v1/accounts/{}/events", agent.account)))
        .bearer_auth(&agent.token)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_close_dead_peers() {
    use confab_server::ServerConfig;
    use std::time::Duration;
    let config = ServerConfig {
        ping_every: Duration::from_millis(100),
        dead_after: Duration::from_millis(400),
        ..test_config()
    };
    let app = spawn_app(
        Arc::new(confab_store_sqlite::testing::fresh_store().await),
        config,
    )
    .await;
    let agent = app.new_account("Heartbeat").await;
    // A live client answers pings (tungstenite does, while it reads); a dead one never reads.
    let mut alive = app.agent_socket(&agent, None).await;
    let dead = app.agent_socket(&agent, None).await;
    assert_eq!(app.state.hub.connection_count(), 2);
    let reader = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::Instant::now() < deadline {
            if tokio::time::timeout(Duration::from_millis(100), alive.next())
                .await
                .is_ok_and(|m| m.is_none())
            {
                return false;
            }
        }
        true
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while app.state.hub.connection_count() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the dead peer was not closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reader.await.unwrap(), "the live client stays connected");
    drop(dead);
}
