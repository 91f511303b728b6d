//! What every handler can reach.

use std::sync::Arc;

use confab_store::Store;

use confab_domain::AccountId;

use crate::attachments::AttachmentStorage;
use crate::clock::{Clock, OffsetClock};
use crate::config::ServerConfig;
use crate::events::Hub;
use crate::mail::status::MailStatus;

/// Shared state: the store, the clock, the settings, and a signal that
/// wakes the snooze scheduler when a new timer is set.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub snooze_changed: Arc<tokio::sync::Notify>,
    /// Fans the event log out to live streams.
    pub hub: Arc<Hub>,
    /// Where attachment files live.
    pub attachments: Arc<AttachmentStorage>,
    /// The hand-moved clock of `--dev-clock` (tests only), when on.
    pub dev_clock: Option<Arc<OffsetClock>>,
    /// What the server does with e-mail (set once the mail tasks started).
    pub mail: Arc<std::sync::OnceLock<MailStatus>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> AppState {
        let hub = Hub::new(
            store.clone(),
            config.max_connections,
            config.stream_backlog,
            config.log_read_every,
        );
        let attachments = Arc::new(AttachmentStorage::new(
            config.attachments_dir.clone(),
            config.attachment_max_bytes,
        ));
        AppState {
            attachments,
            store,
            clock,
            config: Arc::new(config),
            snooze_changed: Arc::new(tokio::sync::Notify::new()),
            hub,
            dev_clock: None,
            mail: Arc::default(),
        }
    }

    /// Runs on a clock tests can move forward (`POST /api/v1/dev/clock`).
    pub fn with_dev_clock(mut self) -> AppState {
        let clock = Arc::new(OffsetClock::default());
        self.clock = clock.clone();
        self.dev_clock = Some(clock);
        self
    }

    /// Says the account's event log has grown, so live streams get it now.
    pub fn changed(&self, account: AccountId) {
        self.hub.changed(account);
    }
}
