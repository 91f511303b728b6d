//! Talking to Confab the way its clients do: the HTTP API and the agent
//! event stream (WebSocket).

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a request may take before it counts as an error.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The path a contact `POST`s its messages to, in the inbox of `inbox`'s token.
pub fn public_messages_path(inbox: &str) -> String {
    format!("/api/v1/public/inboxes/{inbox}/messages")
}

/// An HTTP client with a connection pool large enough for every sender.
pub fn client() -> Client {
    Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1024)
        .timeout(TIMEOUT)
        .build()
        .expect("an HTTP client")
}

async fn created(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::CREATED {
        bail!("{what}: {status} {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

/// Creates a chat inbox; returns its public token.
pub async fn create_inbox(
    client: &Client,
    base: &str,
    account: i64,
    token: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/accounts/{account}/inboxes"))
        .bearer_auth(token)
        .json(&json!({"name": "Bench chat", "kind": "chat"}))
        .send()
        .await?;
    let inbox = created(response, "creating an inbox").await?;
    inbox["token"]
        .as_str()
        .map(str::to_string)
        .context("inbox without token")
}

/// Starts a contact session on an inbox; returns the contact token.
pub async fn contact_session(client: &Client, base: &str, inbox: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/public/inboxes/{inbox}/contacts"))
        .json(&json!({"name": "Bench visitor"}))
        .send()
        .await?;
    let session = created(response, "starting a contact session").await?;
    session["token"]
        .as_str()
        .map(str::to_string)
        .context("contact session without token")
}

/// The contact writes a message.
pub async fn post_message(
    client: &Client,
    base: &str,
    inbox: &str,
    contact: &str,
    body: &str,
) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base}{}", public_messages_path(inbox)))
        .header("X-Contact-Token", contact)
        .json(&json!({"body": body}))
        .send()
        .await?;
    let status = response.status();
    if status != StatusCode::CREATED {
        bail!("posting a message: {status} {}", response.text().await?);
    }
    // Read the body so the connection goes back to the pool.
    response.bytes().await?;
    Ok(())
}

/// Opens an agent's event stream (live events only).
pub async fn agent_socket(base: &str, account: i64, token: &str) -> anyhow::Result<Socket> {
    let url = format!(
        "{}/api/v1/accounts/{account}/events",
        base.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    // Small client buffers: thousands of sockets share the machine with the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .context("opening an agent socket")?;
    Ok(socket)
}
