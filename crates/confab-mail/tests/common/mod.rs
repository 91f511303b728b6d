//! Shared by the SMTP tests: a listener on `127.0.0.1:0` with a sink that
//! records what it is given, and a raw line-based client.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_mail::smtp::{BoxFuture, DeliverError, Envelope, MailSink, SmtpConfig, serve};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf,
    WriteHalf,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound on any single wait in a test; never a fixed sleep.
pub const WAIT: Duration = Duration::from_secs(10);

/// The mailboxes the test sink accepts.
pub const KNOWN: [&str; 3] = [
    "support@help.confab.example",
    "sales@help.confab.example",
    "billing@help.confab.example",
];

/// A sink that accepts [`KNOWN`] recipients (and any `support+token@…`),
/// records deliveries, and can be told to fail the next one.
#[derive(Default)]
pub struct RecordingSink {
    deliveries: Mutex<Vec<Envelope>>,
    fail_next: Mutex<Option<DeliverError>>,
}

impl RecordingSink {
    pub fn deliveries(&self) -> Vec<Envelope> {
        self.deliveries
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    pub fn fail_next(&self, error: DeliverError) {
        if let Ok(mut next) = self.fail_next.lock() {
            *next = Some(error);
        }
    }
}

impl MailSink for RecordingSink {
    fn accepts<'a>(&'a self, recipient: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move { KNOWN.contains(&recipient) || recipient.starts_with("support+") })
    }

    fn deliver(&self, envelope: Envelope) -> BoxFuture<'_, Result<(), DeliverError>> {
        Box::pin(async move {
            if let Some(error) = self.fail_next.lock().ok().and_then(|mut next| next.take()) {
                return Err(error);
            }
            if let Ok(mut deliveries) = self.deliveries.lock() {
                deliveries.push(envelope);
            }
            Ok(())
        })
    }
}

/// A running listener.
pub struct TestServer {
    pub addr: SocketAddr,
    pub sink: Arc<RecordingSink>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Defaults for tests: small limits so they are quick to reach.
pub fn test_config() -> SmtpConfig {
    let mut config = SmtpConfig::new("mx.confab.test");
    config.max_message_size = 64 * 1024;
    config
}

/// Starts `serve` on `127.0.0.1:0`.
pub async fn spawn_smtp(config: SmtpConfig) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let sink = Arc::new(RecordingSink::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, sink.clone(), async move {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        sink,
        stop: Some(stop),
        task,
    }
}

impl TestServer {
    /// Signals shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) {
        self.begin_shutdown();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve does not panic");
    }
}

/// A client speaking SMTP line by line, for protocol edge cases, over TCP
/// or TLS.
pub struct RawClient<S = TcpStream> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
}

impl RawClient<TcpStream> {
    /// Connects and returns the client with the greeting unread.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).await.expect("connect");
        RawClient::over(stream)
    }

    /// Connects, reads the greeting and says `EHLO`.
    pub async fn ready(addr: SocketAddr) -> RawClient {
        let mut client = RawClient::connect(addr).await;
        client.expect(220).await;
        client.send("EHLO client.example\r\n").await;
        client.expect(250).await;
        client
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawClient<S> {
    /// A client over an open stream.
    pub fn over(stream: S) -> RawClient<S> {
        let (read, write) = tokio::io::split(stream);
        RawClient {
            reader: BufReader::new(read),
            writer: write,
        }
    }

    /// The stream back, e.g. to start TLS on it. Panics if the server sent
    /// more than was read.
    pub fn into_stream(self) -> S {
        assert!(
            self.reader.buffer().is_empty(),
            "unread bytes from the server"
        );
        self.reader.into_inner().unsplit(self.writer)
    }

    /// Sends bytes as they are.
    pub async fn send(&mut self, text: impl AsRef<[u8]>) {
        self.writer.write_all(text.as_ref()).await.expect("write");
    }

    /// Reads one whole reply (all its lines).
    pub async fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(WAIT, self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read");
            assert!(read > 0, "connection closed; reply so far: {reply:?}");
            assert!(line.ends_with("\r\n"), "replies end in CRLF: {line:?}");
            reply.push_str(&line);
            // The last line of a reply has a space after the code.
            if line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    /// Reads a reply and asserts its code; returns the reply.
    pub async fn expect(&mut self, code: u16) -> String {
        let reply = self.reply().await;
        assert!(
            reply.starts_with(&format!("{code} ")) || reply.starts_with(&format!("{code}-")),
            "expected {code}, got {reply:?}"
        );
        reply
    }

    /// Sends a command and asserts the code of its reply.
    pub async fn command(&mut self, command: &str, code: u16) -> String {
        self.send(format!("{command}\r\n")).await;
        self.expect(code).await
    }

    /// Whether the server closed the connection (EOF) within [`WAIT`].
    pub async fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(WAIT, self.reader.read_to_end(&mut rest)).await,
            Ok(Ok(_))
        ) && rest.is_empty()
    }
}
