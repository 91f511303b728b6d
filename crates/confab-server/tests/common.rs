//! Starts the real server on 127.0.0.1:0 over a fresh database.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use confab_domain::Timestamp;
use confab_server::config::RateLimit;
use confab_server::{AppState, ManualClock, ServerConfig};
use confab_store::Store;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub state: AppState,
}

pub const START: Timestamp = Timestamp(1_800_000_000_000);

pub async fn spawn_app(store: Arc<dyn Store>, config: ServerConfig) -> TestApp {
    let clock = Arc::new(ManualClock::new(START));
    let state = AppState::new(store.clone(), clock.clone(), config);
    tokio::spawn(confab_server::scheduler::run_snooze_scheduler(
        state.clone(),
    ));
    tokio::spawn(confab_server::webhooks::dispatcher::run_webhook_dispatcher(
        state.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    tokio::spawn(confab_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    TestApp {
        base: format!("http://{address}"),
        // No kept-alive connections: after an early 413 the server closes its
        // side, and a pooled connection reused at that moment fails the next
        // request (seen in CI). Each request gets a fresh connection.
        client: Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client"),
        clock,
        store,
        state,
    }
}

/// Body limit in tests: small, so an oversized body still fits in the
/// socket buffers and the client always reads the 413.
pub const TEST_BODY_LIMIT: usize = 64 * 1024;

/// Generous limits so tests are not throttled unless they mean to be.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        public_rate: RateLimit {
            per_minute: 100_000,
            burst: 10_000,
        },
        login_rate: RateLimit {
            per_minute: 100_000,
            burst: 10_000,
        },
        body_limit: TEST_BODY_LIMIT,
        attachments_dir: test_attachments_dir(),
        ..ServerConfig::default()
    }
}

/// A fresh attachments folder in the system's temporary folder.
pub fn test_attachments_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "confab-test-attachments-{}-{}",
        std::process::id(),
        rand_suffix()
    ))
}

pub async fn sqlite_app() -> TestApp {
    spawn_app(
        Arc::new(confab_store_sqlite::testing::fresh_store().await),
        test_config(),
    )
    .await
}

pub async fn postgres_app() -> TestApp {
    spawn_app(
        Arc::new(confab_store_postgres::testing::fresh_store().await),
        test_config(),
    )
    .await
}

/// An agent's view: account id and bearer token.
pub struct Agent {
    pub account: i64,
    pub id: i64,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Calls the API; returns status and JSON (Null when there is no body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// Creates an account through first-run setup (on an empty install) or the store.
    pub async fn new_account(&self, name: &str) -> Agent {
        let email = format!("admin-{}@{}.test", name.to_lowercase(), name.to_lowercase());
        let hash = confab_server::auth::hash_password("correct horse".into())
            .await
            .expect("hash");
        let (_, agent) = self
            .store
            .create_account(
                name,
                confab_store::NewAgent {
                    name: "Admin".into(),
                    email,
                    password_hash: hash,
                    role: confab_domain::Role::Admin,
                },
                START,
            )
            .await
            .expect("account");
        self.signed_in(&agent).await
    }

    /// An API token for an agent the store made.
    async fn signed_in(&self, agent: &confab_domain::Agent) -> Agent {
        let token = confab_server::auth::new_token();
        self.store
            .create_credential(
                agent.id,
                confab_store::CredentialKind::ApiToken,
                &confab_server::auth::token_hash(&token),
                None,
                START,
            )
            .await
            .expect("token");
        Agent {
            account: agent.account_id.0,
            id: agent.id.0,
            token,
        }
    }

    /// A non-admin agent of the admin's account.
    pub async fn add_plain_agent(&self, admin: &Agent) -> Agent {
        let account = confab_domain::AccountId(admin.account);
        let agent = self
            .store
            .add_agent(
                account,
                confab_store::NewAgent {
                    name: "Bob".into(),
                    email: format!("bob-{}@acme.test", admin.account),
                    password_hash: "unused".into(),
                    role: confab_domain::Role::Agent,
                },
                START,
            )
            .await
            .expect("agent");
        self.signed_in(&agent).await
    }

    pub async fn create_inbox(&self, agent: &Agent, kind: &str) -> Value {
        let mut body = json!({"name": format!("{kind} inbox"), "kind": kind});
        if kind == "email" {
            body["email_address"] = json!(format!(
                "support-{}-{}@acme.test",
                agent.account,
                rand_suffix()
            ));
        }
        let (status, inbox) = self
            .call(
                Method::POST,
                &format!("/api/v1/accounts/{}/inboxes", agent.account),
                Some(&agent.token),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{inbox}");
        inbox
    }

    /// A contact session on an inbox: returns the contact token.
    pub async fn contact_session(&self, inbox_token: &str) -> String {
        let (status, session) = self
            .call(
                Method::POST,
                &format!("/api/v1/public/inboxes/{inbox_token}/contacts"),
                None,
                Some(json!({"name": "Visitor"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        session["token"].as_str().expect("token").to_string()
    }

    /// The contact writes; returns the conversation id.
    pub async fn contact_writes(&self, inbox_token: &str, contact_token: &str, body: &str) -> i64 {
        let response = self
            .client
            .post(self.url(&format!("/api/v1/public/inboxes/{inbox_token}/messages")))
            .header("X-Contact-Token", contact_token)
            .json(&json!({"body": body}))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::CREATED);
        let value: Value = response.json().await.expect("json");
        value["conversation_id"].as_i64().expect("conversation id")
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestApp {
    fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replacen("http://", "ws://", 1), path)
    }

    /// An agent's event stream.
    pub async fn agent_socket(&self, agent: &Agent, since: Option<i64>) -> Socket {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        let mut request = self
            .ws_url(&format!("/api/v1/accounts/{}/events{query}", agent.account))
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", agent.token).parse().expect("header"),
        );
        tokio_tungstenite::connect_async(request)
            .await
            .expect("agent socket")
            .0
    }

    /// A contact's stream.
    pub async fn contact_socket(&self, inbox_token: &str, contact_token: &str) -> Socket {
        let url = self.ws_url(&format!(
            "/api/v1/public/inboxes/{inbox_token}/ws?contact_token={contact_token}"
        ));
        tokio_tungstenite::connect_async(url)
            .await
            .expect("contact socket")
            .0
    }
}

/// The next JSON text frame, or None when the socket closes or nothing comes within 5 s.
pub async fn next_frame(socket: &mut Socket) -> Option<Value> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// The next frame of a given type (skipping others).
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_frame(socket)
            .await
            .unwrap_or_else(|| panic!("no {kind} frame arrived"));
        if frame["type"] == kind {
            return frame;
        }
    }
}
