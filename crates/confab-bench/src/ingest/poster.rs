//! A contact's `POST`s on a keep-alive connection of its own, as plain as
//! HTTP/1.1 allows (hyper's connection, without a client's pool, URL
//! parsing and cookie store).
//!
//! The bench's clients share the machine's two CPUs with the server: with
//! `reqwest` they took 0.37–0.40 of a CPU at 128 `POST`s in flight, half
//! of it in `reqwest`'s request (its cookie layer, compiled in by the
//! workspace's `cookies` feature, re-serialises and re-parses every
//! request's URL: 11 % of the bench's CPU). The server sees the same
//! requests (method, path, headers as `reqwest` sent them, JSON body).

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

use crate::api::TIMEOUT;

/// One keep-alive connection to the server; reconnects after an error.
pub struct Poster {
    /// `host:port`, for the connection and the `Host` header.
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Poster {
    /// A poster for the server at `base` (`http://host:port`); connects at
    /// its first `POST`.
    pub fn new(base: &str) -> anyhow::Result<Poster> {
        let authority = base
            .strip_prefix("http://")
            .context("the server's address is not http://")?
            .trim_end_matches('/')
            .to_string();
        Ok(Poster {
            authority,
            sender: None,
        })
    }

    /// `POST`s `body` as a contact's message to `path` (the inbox's public
    /// messages route) with the contact's token; `Ok` on `201`.
    pub async fn post_message(
        &mut self,
        path: &str,
        contact: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let result = tokio::time::timeout(TIMEOUT, self.try_post(path, contact, body))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {TIMEOUT:?}")));
        if result.is_err() {
            // The next POST opens a new connection.
            self.sender = None;
        }
        result
    }

    async fn try_post(&mut self, path: &str, contact: &str, body: &str) -> anyhow::Result<()> {
        // A connection the server closed while it was idle is opened
        // again before anything is sent on it.
        if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
            self.sender = None;
        }
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => self.sender.insert(self.connect().await?),
        };
        sender.ready().await?;
        let request = Request::post(path)
            .header(HOST, &self.authority)
            .header(ACCEPT, "*/*")
            .header(CONTENT_TYPE, "application/json")
            .header("X-Contact-Token", contact)
            .body(Full::new(Bytes::from(serde_json::to_vec(
                &json!({ "body": body }),
            )?)))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        // Read the body so the connection is free for the next request.
        let text = response.into_body().collect().await?.to_bytes();
        if status != StatusCode::CREATED {
            bail!(
                "posting a message: {status} {}",
                String::from_utf8_lossy(&text)
            );
        }
        Ok(())
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.authority).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("ingest: a contact's connection failed: {error}");
            }
        });
        Ok(sender)
    }
}
