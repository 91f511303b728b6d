//! Confab's HTTP server: the agent API, the public contact API, health
//! checks, the OpenAPI document, the agent web UI, and the snooze scheduler.
//!
//! Handlers are thin: parse, call the store through the state machine's
//! rules, map the result. Errors become `{"error":{"code","message"}}` in
//! one place ([`error::ApiError`]).

pub mod attachments;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod mail;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod scheduler;
pub mod state;
pub mod ui;
pub mod webhooks;

use std::net::SocketAddr;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use state::AppState;

/// Serves the app on a bound listener until `shutdown` resolves; in-flight
/// requests are finished before it returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // The web UI answers what the API does not: its files and its pages.
    let app = ui::with_ui(routes::app(state));
    // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm
    // and the peer's delayed ACKs hold some back for tens of milliseconds.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "setting TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
