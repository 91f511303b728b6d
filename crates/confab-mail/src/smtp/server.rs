//! The accept loop: connection cap and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::config::SmtpConfig;
use super::connection::serve_connection;
use super::sink::MailSink;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves SMTP on `listener` until `shutdown` completes, handing accepted
/// messages to `sink`.
///
/// On shutdown it stops accepting, tells every open connection `421` at its
/// next command (a delivery in progress finishes first), and returns once
/// all connections are closed.
pub async fn serve(
    listener: TcpListener,
    config: SmtpConfig,
    sink: Arc<dyn MailSink>,
    shutdown: impl Future<Output = ()>,
) {
    let config = Arc::new(config);
    let max_connections = config
        .max_connections
        .clamp(1, u32::MAX as usize)
        .min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        tracing::warn!(%peer, "too many SMTP connections; refusing");
                        let refusal = format!(
                            "421 4.3.2 {} Too many connections, try again later\r\n",
                            config.hostname
                        );
                        // A fresh socket's send buffer is empty: this does not block.
                        let _ = stream.try_write(refusal.as_bytes());
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let connection = serve_connection(
                        stream,
                        peer,
                        Arc::clone(&config),
                        Arc::clone(&sink),
                        stopping.clone(),
                    );
                    tokio::spawn(async move {
                        connection.await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "SMTP accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }

    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it has closed.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}
