//! One client connection: reading, writing, timeouts, shutdown, and the
//! switch to TLS. The rules live in [`Session`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;

use super::config::SmtpConfig;
use super::data::DataReader;
use super::lines::{Line, LineReader};
use super::reply::Reply;
use super::session::{Next, Session};
use super::sink::MailSink;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How a stretch of the conversation over one transport ended.
enum End {
    /// The connection is over.
    Closed,
    /// The client asked for TLS and was told to go ahead.
    StartTls,
}

/// Serves one client until it quits, fails, times out or the listener shuts
/// down (`shutdown` turns `true`).
pub(crate) async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpConfig>,
    sink: Arc<dyn MailSink>,
    shutdown: watch::Receiver<bool>,
) {
    let mut session = Session::new(Arc::clone(&config), sink, peer);
    let greeting = session.greeting();
    match converse(
        &mut session,
        &mut stream,
        Some(greeting),
        &config,
        shutdown.clone(),
    )
    .await
    {
        Ok(End::Closed) => {
            let _ = stream.shutdown().await;
        }
        Ok(End::StartTls) => {
            let Some(tls) = &config.tls else {
                return;
            };
            match timeout(config.idle_timeout, tls.acceptor.accept(stream)).await {
                Ok(Ok(mut stream)) => {
                    session.tls_started();
                    if let Err(error) =
                        converse(&mut session, &mut stream, None, &config, shutdown).await
                    {
                        tracing::debug!(%peer, %error, "SMTP connection failed after STARTTLS");
                    }
                    let _ = stream.shutdown().await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        Err(error) => tracing::debug!(%peer, %error, "SMTP connection failed"),
    }
}

/// Runs the command loop over `stream`. Input read but not yet used is
/// dropped when this returns, which is what `STARTTLS` requires.
async fn converse<S>(
    session: &mut Session,
    stream: &mut S,
    greeting: Option<Reply>,
    config: &SmtpConfig,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut input: Vec<u8> = Vec::new();
    let mut output: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut lines = LineReader::new(config.max_line_length);
    let mut data: Option<DataReader> = None;
    if let Some(greeting) = greeting {
        greeting.write_to(&mut output);
    }

    loop {
        // Answer everything already received (pipelined commands come in
        // batches), then flush once, before waiting for more.
        loop {
            let next = if let Some(reader) = data.as_mut() {
                let mut unread = input.iter();
                let done = reader.ingest(&mut unread);
                let used = input.len() - unread.as_slice().len();
                input.drain(..used);
                if !done {
                    break;
                }
                let Some(reader) = data.take() else {
                    break;
                };
                session.message(reader.finish(), &mut output).await
            } else {
                match lines.next_line(&mut input) {
                    Line::Complete(line) => session.command(&line, &mut output).await,
                    Line::TooLong => session.line_too_long(&mut output),
                    Line::Incomplete => break,
                }
            };
            match next {
                Next::Command => {}
                Next::Data => data = Some(DataReader::new(config.max_message_size)),
                Next::StartTls => {
                    write_all(stream, &mut output, config).await?;
                    return Ok(End::StartTls);
                }
                Next::Close => {
                    write_all(stream, &mut output, config).await?;
                    return Ok(End::Closed);
                }
            }
        }
        write_all(stream, &mut output, config).await?;

        tokio::select! {
            biased;
            () = stopped(&mut shutdown) => {
                session.shutting_down().write_to(&mut output);
                write_all(stream, &mut output, config).await?;
                return Ok(End::Closed);
            }
            read = timeout(config.idle_timeout, stream.read(&mut chunk)) => match read {
                Ok(Ok(0)) => return Ok(End::Closed),
                Ok(Ok(count)) => input.extend_from_slice(&chunk[..count]),
                Ok(Err(error)) => return Err(error),
                Err(_) => {
                    session.timed_out().write_to(&mut output);
                    write_all(stream, &mut output, config).await?;
                    return Ok(End::Closed);
                }
            },
        }
    }
}

/// Completes once the listener shuts down (or is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

/// Sends and clears `output`; a client that does not read its replies
/// within the idle timeout is dropped.
async fn write_all<S>(stream: &mut S, output: &mut Vec<u8>, config: &SmtpConfig) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    if output.is_empty() {
        return Ok(());
    }
    let sent = timeout(config.idle_timeout, async {
        stream.write_all(output).await?;
        stream.flush().await
    })
    .await;
    output.clear();
    match sent {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "client is not reading replies",
        )),
    }
}
