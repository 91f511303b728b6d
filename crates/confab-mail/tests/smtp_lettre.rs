//! The listener driven by a real SMTP client (lettre, tokio, plain TCP or
//! STARTTLS) over a real socket on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{KNOWN, RawClient, WAIT, spawn_smtp, test_config};
use confab_mail::inbound::{MailKind, classify};
use confab_mail::smtp::{DeliverError, SmtpTls};
use lettre::address::Envelope as LettreEnvelope;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls::pki_types::pem::PemObject;

const TLS_CERT: &[u8] = include_bytes!("fixtures/tls/cert.pem");
const TLS_KEY: &[u8] = include_bytes!("fixtures/tls/key.pem");

fn address(text: &str) -> Address {
    text.parse().expect("valid address")
}

fn envelope(from: &str, to: &[&str]) -> LettreEnvelope {
    LettreEnvelope::new(Some(address(from)), to.iter().map(|a| address(a)).collect())
        .expect("valid envelope")
}

fn client(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(WAIT))
        .build()
}

/// The reply code of a failed send, e.g. "550".
fn code(error: &lettre::transport::smtp::Error) -> String {
    error
        .status()
        .map(|code| code.to_string())
        .unwrap_or_default()
}

/// A message whose lines start with dots, including a lone "." that would
/// end the transfer if the client did not stuff it, and 8-bit text. Its
/// last line has no CRLF: lettre always ends the transfer with
/// `CRLF . CRLF`, so that CRLF becomes the last line's ending (see
/// [`received`]).
const DOTTED: &[u8] = b"From: Ana <ana@example.org>\r\n\
To: support@help.confab.example\r\n\
Subject: dots\r\n\
Message-ID: <dots-1@example.org>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
First line\r\n\
.\r\n\
..two dots\r\n\
.leading dot\r\n\
 . not at the start\r\n\
Ol\xc3\xa1, obrigada!\r\n\
\r\n\
last line";

/// What the listener must hand over for `sent`: the bytes between `DATA`
/// and the terminating `CRLF . CRLF`, unstuffed; with lettre that is the
/// message plus the CRLF lettre writes before the final dot.
fn received(sent: &[u8]) -> Vec<u8> {
    [sent, b"\r\n"].concat()
}

#[tokio::test]
async fn accepted_mail_arrives_byte_exact() {
    let server = spawn_smtp(test_config()).await;
    let response = client(server.addr.port())
        .send_raw(
            &envelope("ana@example.org", &["support@help.confab.example"]),
            DOTTED,
        )
        .await
        .expect("accepted");
    assert_eq!(response.code().to_string(), "250");

    let deliveries = server.sink.deliveries();
    let [delivery] = deliveries.as_slice() else {
        panic!("one delivery expected: {deliveries:?}");
    };
    assert_eq!(
        delivery.data,
        received(DOTTED),
        "dot-stuffing undone, nothing else changed"
    );
    assert_eq!(delivery.mail_from, "ana@example.org");
    assert_eq!(delivery.rcpt_to, ["support@help.confab.example"]);
    assert!(!delivery.helo.is_empty());
    assert!(delivery.peer.ip().is_loopback());
    assert!(!delivery.tls);
    server.shutdown().await;
}

#[tokio::test]
async fn built_message_arrives_and_parses() {
    let server = spawn_smtp(test_config()).await;
    let message = Message::builder()
        .from("Ana Souza <ana@example.org>".parse().expect("mailbox"))
        .to("support+c7Hq2x@help.confab.example".parse().expect("mailbox"))
        .subject("Pedido nº 42")
        .in_reply_to("<agent-1@help.confab.example>".to_owned())
        .header(ContentType::TEXT_PLAIN)
        .body("Chegou, obrigada!\n\nEm seg., 3 de jan. de 2022 às 10:00, Suporte <s@x.example> escreveu:\n> Enviamos hoje.\n".to_owned())
        .expect("message");
    client(server.addr.port())
        .send(message)
        .await
        .expect("accepted");

    let deliveries = server.sink.deliveries();
    let mail = deliveries[0].parse().expect("parses");
    assert_eq!(mail.subject.as_deref(), Some("Pedido nº 42"));
    assert_eq!(mail.in_reply_to, ["agent-1@help.confab.example"]);
    assert_eq!(mail.body, "Chegou, obrigada!");
    assert_eq!(mail.envelope_from.as_deref(), Some("ana@example.org"));
    assert_eq!(classify(&mail), MailKind::Personal);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_recipient_is_refused_with_550() {
    let server = spawn_smtp(test_config()).await;
    let error = client(server.addr.port())
        .send_raw(
            &envelope("ana@example.org", &["nobody@help.confab.example"]),
            DOTTED,
        )
        .await
        .expect_err("refused");
    assert!(error.is_permanent(), "{error}");
    assert_eq!(code(&error), "550");
    assert!(server.sink.deliveries().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_message_is_refused_with_552_and_the_server_carries_on() {
    let mut config = test_config();
    config.max_message_size = 1024;
    let server = spawn_smtp(config).await;
    let client = client(server.addr.port());
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..200 {
        big.extend_from_slice(b"0123456789012345678901234567890123456789\r\n");
    }
    let error = client
        .send_raw(
            &envelope("ana@example.org", &["support@help.confab.example"]),
            &big,
        )
        .await
        .expect_err("too big");
    assert!(error.is_permanent(), "{error}");
    assert_eq!(code(&error), "552");
    assert!(server.sink.deliveries().is_empty());

    client
        .send_raw(
            &envelope("ana@example.org", &["support@help.confab.example"]),
            b"Subject: small\r\n\r\nok\r\n",
        )
        .await
        .expect("a message under the limit still goes through");
    assert_eq!(server.sink.deliveries().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn multiple_recipients_arrive_in_one_envelope() {
    let server = spawn_smtp(test_config()).await;
    client(server.addr.port())
        .send_raw(&envelope("ana@example.org", &KNOWN), DOTTED)
        .await
        .expect("accepted");
    let deliveries = server.sink.deliveries();
    assert_eq!(deliveries.len(), 1, "one message, not one per recipient");
    assert_eq!(deliveries[0].rcpt_to, KNOWN);
    assert_eq!(deliveries[0].data, received(DOTTED));
    server.shutdown().await;
}

#[tokio::test]
async fn rset_forgets_the_transaction() {
    let server = spawn_smtp(test_config()).await;
    let mut connection = AsyncSmtpConnection::connect_tokio1(
        server.addr,
        Some(WAIT),
        &ClientId::Domain("client.example".to_owned()),
        None,
        None,
    )
    .await
    .expect("connected");
    connection
        .command(Mail::new(Some(address("first@example.org")), vec![]))
        .await
        .expect("MAIL accepted");
    connection
        .command(Rcpt::new(address("sales@help.confab.example"), vec![]))
        .await
        .expect("RCPT accepted");
    let reset = connection.command(Rset).await.expect("RSET accepted");
    assert_eq!(reset.code().to_string(), "250");

    connection
        .send(
            &envelope("second@example.org", &["billing@help.confab.example"]),
            b"Subject: again\r\n\r\nhi\r\n",
        )
        .await
        .expect("a new transaction after RSET");
    let _ = connection.quit().await;

    let deliveries = server.sink.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].mail_from, "second@example.org",
        "the first sender is gone"
    );
    assert_eq!(
        deliveries[0].rcpt_to,
        ["billing@help.confab.example"],
        "and so is its recipient"
    );
    assert_eq!(deliveries[0].helo, "client.example");
    server.shutdown().await;
}

#[tokio::test]
async fn sink_failures_map_to_451_and_554() {
    let server = spawn_smtp(test_config()).await;
    let client = client(server.addr.port());
    let envelope = envelope("ana@example.org", &["support@help.confab.example"]);

    server
        .sink
        .fail_next(DeliverError::Temporary("database unavailable".to_owned()));
    let error = client
        .send_raw(&envelope, DOTTED)
        .await
        .expect_err("deferred");
    assert!(error.is_transient(), "{error}");
    assert_eq!(code(&error), "451");

    server
        .sink
        .fail_next(DeliverError::Permanent("unparseable".to_owned()));
    let error = client
        .send_raw(&envelope, DOTTED)
        .await
        .expect_err("refused");
    assert!(error.is_permanent(), "{error}");
    assert_eq!(code(&error), "554");

    assert!(server.sink.deliveries().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn starttls_delivers_over_tls() {
    let mut config = test_config();
    config.tls = Some(SmtpTls::from_pem(TLS_CERT, TLS_KEY).expect("fixture certificate"));
    let server = spawn_smtp(config).await;
    let tls = TlsParameters::builder("localhost".to_owned())
        .add_root_certificate(Certificate::from_pem(TLS_CERT).expect("certificate"))
        .build_rustls()
        .expect("TLS parameters");
    let client = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.addr.port())
        .timeout(Some(WAIT))
        .tls(Tls::Required(tls))
        .build();
    client
        .send_raw(
            &envelope("ana@example.org", &["support@help.confab.example"]),
            DOTTED,
        )
        .await
        .expect("accepted over TLS");
    let deliveries = server.sink.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].tls);
    assert_eq!(deliveries[0].data, received(DOTTED));
    server.shutdown().await;
}

#[tokio::test]
async fn starttls_discards_commands_pipelined_behind_it() {
    let mut config = test_config();
    config.tls = Some(SmtpTls::from_pem(TLS_CERT, TLS_KEY).expect("fixture certificate"));
    let server = spawn_smtp(config).await;
    let mut client = RawClient::connect(server.addr).await;
    client.expect(220).await;
    let ehlo = client.command("EHLO client.example", 250).await;
    assert!(ehlo.ends_with("250 STARTTLS\r\n"), "{ehlo:?}");
    // A man in the middle appends a plaintext command to STARTTLS, hoping
    // it runs inside the TLS session (CVE-2011-0411).
    client
        .send("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
        .await;
    client.expect(220).await;

    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(TLS_CERT) {
        roots.add(certificate.expect("certificate")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config));
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let handshake =
        tokio::time::timeout(WAIT, connector.connect(server_name, client.into_stream()))
            .await
            .expect("handshake ends in time");
    // If the injected bytes reached the socket after the server started
    // the handshake, they break it: also a safe outcome.
    if let Ok(stream) = handshake {
        let mut client = RawClient::over(stream);
        let ehlo = client.command("EHLO client.example", 250).await;
        assert!(!ehlo.contains("STARTTLS"), "not offered twice: {ehlo:?}");
        client
            .command("RCPT TO:<support@help.confab.example>", 503)
            .await;
        client.command("STARTTLS", 503).await;
    }
    assert!(server.sink.deliveries().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn bad_tls_material_is_an_error() {
    assert!(SmtpTls::from_pem(b"not a certificate", TLS_KEY).is_err());
    assert!(SmtpTls::from_pem(TLS_CERT, b"not a key").is_err());
}

#[tokio::test]
async fn shutdown_says_421_to_open_connections() {
    let mut server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    server.begin_shutdown();
    let reply = client.expect(421).await;
    assert!(reply.starts_with("421 4.3.2 "), "{reply:?}");
    assert!(client.is_closed().await);
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_get_421() {
    let mut config = test_config();
    config.max_connections = 1;
    let server = spawn_smtp(config).await;
    let mut first = RawClient::connect(server.addr).await;
    first.expect(220).await;
    let mut second = RawClient::connect(server.addr).await;
    let reply = second.expect(421).await;
    assert!(reply.starts_with("421 4.3.2 "), "{reply:?}");
    assert!(second.is_closed().await);

    first.command("QUIT", 221).await;
    assert!(first.is_closed().await);
    // The slot is free again once the first connection is gone (its task
    // may need a moment after the socket closes to give the slot back).
    let freed = tokio::time::timeout(WAIT, async {
        loop {
            let mut client = RawClient::connect(server.addr).await;
            if client.reply().await.starts_with("220 ") {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(freed.is_ok(), "the slot was never given back");
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_with_421() {
    let mut config = test_config();
    config.idle_timeout = Duration::from_millis(200);
    let server = spawn_smtp(config).await;
    let mut client = RawClient::ready(server.addr).await;
    // Say nothing: the server gives up after the idle timeout.
    let reply = client.expect(421).await;
    assert!(reply.starts_with("421 4.4.2 "), "{reply:?}");
    assert!(client.is_closed().await);
    server.shutdown().await;
}
