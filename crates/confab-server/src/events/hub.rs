//! The hub: one feed per account that has listeners. A feed broadcasts
//! each event of the account's log once, in sequence order, to every
//! socket of the account: read from the log after each change (and once a
//! second as a safety net; `log_read_every`), or handed over by the store
//! as it commits (below). Reading the log — rather than trusting in-memory
//! messages — is what makes streams exact: the log is the truth, the
//! broadcast is only a fast path, and sockets fill any gap from the log.
//!
//! A store that hands over its events as they commit (SQLite's one writer:
//! [`confab_store::EventStore::take_committed_events`]) spares the feeds
//! that read: the hub passes each account's committed events to its feed,
//! which broadcasts them in order and reads the log only for what they
//! skip (events written by another process), when it starts, when another
//! instance says the log grew, and once a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use confab_domain::AccountId;
use confab_store::{CommittedEvents, LoggedEvent, Store};
use tokio::sync::{Notify, broadcast};

use super::cluster::Cluster;
use super::frames::{self, Frame};
use super::presence::Presence;

/// Events read from the log per query.
const BATCH: u32 = 256;

struct Feed {
    sender: broadcast::Sender<Arc<Frame>>,
    poke: Notify,
    /// Committed events handed over by the store, not yet broadcast.
    arrived: Mutex<Vec<LoggedEvent>>,
    /// Set by [`Hub::poke`] (a change whose events the feed was not handed:
    /// any change on PostgreSQL, another instance's): the feed must read the log.
    stale: AtomicBool,
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
    /// Whether the store hands over this process's committed events (then
    /// a change made here needs no read of the log to be broadcast); false
    /// again should the hand-over stop.
    follows_commits: AtomicBool,
    /// How often a feed reads the log regardless.
    log_read_every: Duration,
    /// Reads of the log by the feeds so far.
    log_reads: AtomicU64,
}

/// A held connection slot; released on drop.
pub struct ConnectionSlot(Arc<Hub>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    /// Takes the store's committed events, when it offers them and a
    /// runtime is there to follow them.
    pub fn new(
        store: Arc<dyn Store>,
        max_connections: usize,
        backlog: usize,
        log_read_every: Duration,
    ) -> Arc<Hub> {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let committed = runtime.as_ref().and_then(|_| store.take_committed_events());
        let hub = Arc::new(Hub {
            store,
            feeds: Mutex::new(HashMap::new()),
            presence: Presence::default(),
            connections: AtomicUsize::new(0),
            max_connections,
            backlog: backlog.max(1),
            cluster: OnceLock::new(),
            follows_commits: AtomicBool::new(committed.is_some()),
            log_read_every,
            log_reads: AtomicU64::new(0),
        });
        if let (Some(runtime), Some(committed)) = (runtime, committed) {
            runtime.spawn(pass_on(Arc::downgrade(&hub), committed));
        }
        hub
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

    /// How many times the feeds have read the event log (each read is a
    /// query; with the store's committed events, a change made here needs
    /// none).
    pub fn log_reads(&self) -> u64 {
        self.log_reads.load(Ordering::Relaxed)
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
            arrived: Mutex::new(Vec::new()),
            stale: AtomicBool::new(false),
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
    /// When the store hands over what this process commits, the feed here
    /// gets the change's events that way (handed over as the transaction
    /// commits, right after its callers are answered): no read of the log.
    pub fn changed(&self, account: AccountId) {
        if !self.follows_commits.load(Ordering::SeqCst) {
            self.poke(account);
        }
        if let Some(cluster) = self.cluster.get() {
            cluster.publish_changed(account);
        }
    }

    /// Says the account's log has grown: this instance's feed reads it now.
    pub fn poke(&self, account: AccountId) {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(&account) {
            feed.stale.store(true, Ordering::SeqCst);
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
        // What was committed between `start` and this feed's joining the
        // hub was handed to no feed: from the log.
        let mut published = self.read_log(account, &feed, start, None).await;
        // The safety net: on its schedule even while changes keep waking
        // the feed (with the store's committed events, those wake-ups read
        // nothing).
        let mut safety_net = tokio::time::interval(self.log_read_every);
        safety_net.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        safety_net.tick().await;
        loop {
            let timed_out = tokio::select! {
                _ = feed.poke.notified() => false,
                _ = safety_net.tick() => true,
            };
            {
                let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
                if feed.sender.receiver_count() == 0 {
                    feeds.remove(&account);
                    return;
                }
            }
            let arrived =
                std::mem::take(&mut *feed.arrived.lock().unwrap_or_else(|e| e.into_inner()));
            for logged in arrived {
                if logged.seq <= published {
                    continue;
                }
                if logged.seq > published + 1 {
                    // Written by someone else first (or before this feed
                    // started): those come from the log.
                    published = self
                        .read_log(account, &feed, published, Some(logged.seq - 1))
                        .await;
                    if logged.seq != published + 1 {
                        // The log could not be read that far: leave the
                        // rest to the next read of the log.
                        break;
                    }
                }
                match frames::handed_over(&logged) {
                    Ok(frame) => {
                        published = logged.seq;
                        let _ = feed.sender.send(Arc::new(frame));
                    }
                    // Unreadable data (which the log's reader refuses too):
                    // the rest waits for the next read of the log.
                    Err(error) => {
                        tracing::error!(%error, account = %logged.account, seq = logged.seq, "a committed event's data");
                        break;
                    }
                }
            }
            if timed_out || feed.stale.swap(false, Ordering::SeqCst) {
                published = self.read_log(account, &feed, published, None).await;
            }
        }
    }

    /// Broadcasts the log's events after `published` (up to `until`, if
    /// given); returns the last seq broadcast.
    async fn read_log(
        &self,
        account: AccountId,
        feed: &Feed,
        mut published: i64,
        until: Option<i64>,
    ) -> i64 {
        loop {
            let want = match until {
                Some(until) if until <= published => return published,
                Some(until) => (until - published).min(i64::from(BATCH)) as u32,
                None => BATCH,
            };
            self.log_reads.fetch_add(1, Ordering::Relaxed);
            let events = match self.store.events_since(account, published, want).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::error!(%error, %account, "reading the event log");
                    return published;
                }
            };
            for event in &events {
                published = event.seq;
                let _ = feed.sender.send(Arc::new(frames::logged(event)));
            }
            if events.len() < want as usize {
                return published;
            }
        }
    }
}

/// Hands each committed transaction's events to the feeds of their
/// accounts (events of accounts nobody listens to are dropped: a feed that
/// starts later reads the log). Holds the hub weakly: the hub holds the
/// store, whose writer holds the other end. Should the hand-over stop, the
/// hub goes back to reading the log after every change.
async fn pass_on(hub: Weak<Hub>, mut committed: CommittedEvents) {
    while let Some(events) = committed.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        let feeds = hub.feeds.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            if let Some(feed) = feeds.get(&event.account) {
                feed.arrived
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(event);
                feed.poke.notify_one();
            }
        }
    }
    if let Some(hub) = hub.upgrade() {
        hub.follows_commits.store(false, Ordering::SeqCst);
        let feeds = hub.feeds.lock().unwrap_or_else(|e| e.into_inner());
        for feed in feeds.values() {
            feed.stale.store(true, Ordering::SeqCst);
            feed.poke.notify_one();
        }
    }
}
