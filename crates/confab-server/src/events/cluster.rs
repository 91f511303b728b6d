//! Joining instances of a cluster through NATS. Logged events need no
//! payload on the wire: an instance only says "account N's log grew", and
//! every instance's hub reads the shared PostgreSQL log itself, so ordering
//! and completeness still come from the log. Ephemeral frames (typing,
//! presence) travel whole.

use std::sync::Arc;
use std::time::Duration;

use confab_domain::{AccountId, ContactId};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::frames::Frame;
use super::hub::Hub;
use super::presence::PublishedPresence;

const CHANGED: &str = "confab.changed";
const EPHEMERAL: &str = "confab.ephemeral";
const PRESENCE: &str = "confab.presence";
/// How often an instance republishes its presence table without changes
/// (well inside [`super::presence::REMOTE_TTL`]).
const PRESENCE_EVERY: Duration = Duration::from_secs(5);

/// This instance's link to the others.
pub struct Cluster {
    client: async_nats::Client,
    /// Tells this instance's presence tables apart from the others'.
    instance: u64,
}

/// An instance's whole presence table on the wire.
#[derive(Serialize, Deserialize)]
struct WirePresence {
    instance: u64,
    agents: Vec<PublishedPresence>,
}

/// An ephemeral frame on the wire.
#[derive(Serialize, Deserialize)]
struct WireFrame {
    agent_text: Option<String>,
    contact_text: Option<String>,
    contact_id: Option<i64>,
    skip_agent: Option<i64>,
}

impl Cluster {
    /// Connects to NATS. Messages this instance publishes are not echoed back to it.
    pub async fn connect(url: &str) -> Result<Cluster, String> {
        let client = async_nats::ConnectOptions::new()
            .name("confab")
            .no_echo()
            .connect(url)
            .await
            .map_err(|e| format!("connecting to NATS at {url}: {e}"))?;
        Ok(Cluster {
            client,
            instance: rand::random(),
        })
    }

    /// Tells the other instances that an account's log grew.
    pub fn publish_changed(&self, account: AccountId) {
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(error) = client
                .publish(format!("{CHANGED}.{account}"), bytes::Bytes::new())
                .await
            {
                tracing::warn!(%error, "publishing a change to NATS");
            }
        });
    }

    /// Sends an ephemeral frame to the other instances.
    pub fn publish_ephemeral(&self, account: AccountId, frame: &Frame) {
        let wire = WireFrame {
            agent_text: frame.agent_text.as_ref().map(|t| t.as_str().to_string()),
            contact_text: frame.contact_text.as_ref().map(|t| t.as_str().to_string()),
            contact_id: frame.contact_id.map(|c| c.0),
            skip_agent: frame.skip_agent,
        };
        let Ok(payload) = serde_json::to_vec(&wire) else {
            return;
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(error) = client
                .publish(format!("{EPHEMERAL}.{account}"), payload.into())
                .await
            {
                tracing::warn!(%error, "publishing an ephemeral frame to NATS");
            }
        });
    }

    /// Publishes this instance's presence table on every change (at most
    /// every 50 ms) and every [`PRESENCE_EVERY`], until NATS closes.
    pub async fn publish_presence(self: Arc<Self>, hub: Arc<Hub>) {
        loop {
            let wire = WirePresence {
                instance: self.instance,
                agents: hub.presence.local_table(),
            };
            let Ok(payload) = serde_json::to_vec(&wire) else {
                return;
            };
            if let Err(error) = self.client.publish(PRESENCE, payload.into()).await {
                tracing::warn!(%error, "publishing presence to NATS");
            }
            tokio::select! {
                _ = hub.presence.changed.notified() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ = tokio::time::sleep(PRESENCE_EVERY) => {}
            }
        }
    }

    /// Feeds what other instances publish into this instance's hub, until NATS closes.
    pub async fn listen(self: Arc<Self>, hub: Arc<Hub>) -> Result<(), String> {
        let mut changed = self
            .client
            .subscribe(format!("{CHANGED}.*"))
            .await
            .map_err(|e| e.to_string())?;
        let mut ephemeral = self
            .client
            .subscribe(format!("{EPHEMERAL}.*"))
            .await
            .map_err(|e| e.to_string())?;
        let mut presence = self
            .client
            .subscribe(PRESENCE)
            .await
            .map_err(|e| e.to_string())?;
        loop {
            tokio::select! {
                Some(message) = changed.next() => {
                    if let Some(account) = account_of(&message.subject) {
                        hub.poke(account);
                    }
                }
                Some(message) = ephemeral.next() => {
                    let Some(account) = account_of(&message.subject) else { continue };
                    let Ok(wire) = serde_json::from_slice::<WireFrame>(&message.payload) else { continue };
                    hub.send_local(account, Frame {
                        seq: None,
                        agent_text: wire.agent_text.map(Into::into),
                        contact_text: wire.contact_text.map(Into::into),
                        contact_id: wire.contact_id.map(ContactId),
                        skip_agent: wire.skip_agent,
                    });
                }
                Some(message) = presence.next() => {
                    let Ok(wire) = serde_json::from_slice::<WirePresence>(&message.payload) else { continue };
                    if wire.instance != self.instance {
                        hub.presence.set_remote(wire.instance, wire.agents);
                    }
                }
                else => return Ok(()),
            }
        }
    }
}

fn account_of(subject: &str) -> Option<AccountId> {
    subject.rsplit('.').next()?.parse().ok().map(AccountId)
}
