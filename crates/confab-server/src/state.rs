//! What every handler can reach.

use std::sync::Arc;

use confab_store::Store;

use crate::clock::Clock;
use crate::config::ServerConfig;

/// Shared state: the store, the clock, the settings, and a signal that
/// wakes the snooze scheduler when a new timer is set.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub snooze_changed: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> AppState {
        AppState {
            store,
            clock,
            config: Arc::new(config),
            snooze_changed: Arc::new(tokio::sync::Notify::new()),
        }
    }
}
