//! The hub: one feed per account that has listeners. A feed reads the
//! account's event log after each change (and once a second as a safety
//! net) and broadcasts each event once, in sequence order, to every socket
//! of the account. Reading the log — rather than trusting in-memory
//! messages — is what makes streams exact: the log is the truth, the
//! broadcast is only a fast path, and sockets fill any gap from the log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use confab_domain::AccountId;
use confab_store::Store;
use tokio::sync::{Notify, broadcast};

use super::cluster::Cluster;
use super::frames::{self, Frame};
use super::presence::Presence;

/// Events read from the log per query.
const BATCH: u32 = 256;

struct Feed {
    sender: broadcast::Sender<Arc<Frame>>,
    poke: Notify,
}

/// Fans the event log out to sockets; tracks presence; counts connections.
pub struct Hub {
    store: Arc<dyn Store>,
    feeds: Mutex<HashMap<AccountId, Arc<Feed>>>,
    pub presence: Presence,
    connections: AtomicUsize,
    max_connections: usize,
    /// Frames a socket may fall behind by before it is cut as a slow consumer.
    backlog: usize,
    /// The other instances, when this one is part of a cluster.
    cluster: OnceLock<Arc<Cluster>>,
}

/// A held connection slot; released on drop.
pub struct ConnectionSlot(Arc<Hub>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    pub fn new(store: Arc<dyn Store>, max_connections: usize, backlog: usize) -> Arc<Hub> {
        Arc::new(Hub {
            store,
            feeds: Mutex::new(HashMap::new()),
            presence: Presence::default(),
            connections: AtomicUsize::new(0),
            max_connections,
            backlog: backlog.max(1),
            cluster: OnceLock::new(),
        })
    }

    /// Takes a connection slot, or `None` past the configured cap.
    pub fn try_connect(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let previous = self.connections.fetch_add(1, Ordering::SeqCst);
        if previous >= self.max_connections {
            self.connections.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(ConnectionSlot(self.clone()))
    }

    /// Open WebSocket connections on this instance.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Listens to an account's frames, starting its feed if needed.
    ///
    /// A new feed starts after the log's last seq as read *before* the feed
    /// exists: a subscriber then catches up from the log (to at least that
    /// seq) and the feed broadcasts everything after it, so nothing falls
    /// between the two. (Read by the feed once it ran, that seq could
    /// already include events committed in the meantime, which the feed
    /// then never broadcast: a socket waiting for them waited forever.)
    pub async fn subscribe(
        self: &Arc<Self>,
        account: AccountId,
    ) -> broadcast::Receiver<Arc<Frame>> {
        if let Some(receiver) = self.subscribe_running(account) {
            return receiver;
        }
        let start = match self.store.last_event_seq(account).await {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(%error, %account, "starting an event feed");
                0
            }
        };
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(&account) {
            return feed.sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(self.backlog);
        let feed = Arc::new(Feed {
            sender,
            poke: Notify::new(),
        });
        feeds.insert(account, feed.clone());
        tokio::spawn(self.clone().run_feed(account, feed, start));
        receiver
    }

    /// Listens to the account's running feed, if any. Under the lock: a
    /// feed leaves the map (and stops) under it when nobody listens.
    fn subscribe_running(&self, account: AccountId) -> Option<broadcast::Receiver<Arc<Frame>>> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds.get(&account).map(|feed| feed.sender.subscribe())
    }

    /// Joins a cluster: changes and ephemeral frames go to the other instances too.
    pub fn join(self: &Arc<Self>, cluster: Arc<Cluster>) {
        if self.cluster.set(cluster.clone()).is_ok() {
            let hub = self.clone();
            tokio::spawn(cluster.clone().publish_presence(hub.clone()));
            tokio::spawn(async move {
                if let Err(error) = cluster.listen(hub).await {
                    tracing::error!(%error, "listening to the cluster");
                }
            });
        }
    }

    /// Says the account's log has grown, here and on every instance of the cluster.
    pub fn changed(&self, account: AccountId) {
        self.poke(account);
        if let Some(cluster) = self.cluster.get() {
            cluster.publish_changed(account);
        }
    }

    /// Says the account's log has grown: this instance's feed reads it now.
    pub fn poke(&self, account: AccountId) {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(&account) {
            feed.poke.notify_one();
        }
    }

    /// Sends a frame that is not logged (typing, presence) to the account's
    /// sockets on every instance.
    pub fn send_ephemeral(&self, account: AccountId, frame: Frame) {
        if let Some(cluster) = self.cluster.get() {
            cluster.publish_ephemeral(account, &frame);
        }
        self.send_local(account, frame);
    }

    /// Sends an ephemeral frame to this instance's sockets only.
    pub fn send_local(&self, account: AccountId, frame: Frame) {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(&account) {
            let _ = feed.sender.send(Arc::new(frame));
        }
    }

    async fn run_feed(self: Arc<Self>, account: AccountId, feed: Arc<Feed>, start: i64) {
        let mut published = start;
        loop {
            tokio::select! {
                _ = feed.poke.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            {
                let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
                if feed.sender.receiver_count() == 0 {
                    feeds.remove(&account);
                    return;
                }
            }
            loop {
                let events = match self.store.events_since(account, published, BATCH).await {
                    Ok(events) => events,
                    Err(error) => {
                        tracing::error!(%error, %account, "reading the event log");
                        break;
                    }
                };
                for event in &events {
                    published = event.seq;
                    let _ = feed.sender.send(Arc::new(frames::logged(event)));
                }
                if events.len() < BATCH as usize {
                    break;
                }
            }
        }
    }
}
