//! Protocol edge cases, spoken line by line over a raw TCP connection to
//! the listener on 127.0.0.1.

mod common;

use common::{RawClient, spawn_smtp, test_config};
use confab_mail::inbound::{MailKind, Signal, classify};

#[tokio::test]
async fn greeting_and_ehlo_capabilities() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::connect(server.addr).await;
    assert_eq!(client.reply().await, "220 mx.confab.test ESMTP Confab\r\n");
    let ehlo = client.command("EHLO client.example", 250).await;
    assert_eq!(
        ehlo,
        "250-mx.confab.test\r\n250-PIPELINING\r\n250-SIZE 65536\r\n\
         250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
        "no STARTTLS without a certificate"
    );
    client.command("HELO client.example", 250).await;
    client.command("QUIT", 221).await;
    assert!(client.is_closed().await);
    server.shutdown().await;
}

#[tokio::test]
async fn commands_out_of_order_get_503() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::connect(server.addr).await;
    client.expect(220).await;
    client.command("MAIL FROM:<ana@example.org>", 503).await; // before EHLO
    client.command("EHLO client.example", 250).await;
    client
        .command("RCPT TO:<support@help.confab.example>", 503)
        .await; // before MAIL
    client.command("DATA", 503).await; // before MAIL
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client.command("MAIL FROM:<ana@example.org>", 503).await; // twice
    client.command("DATA", 503).await; // before RCPT
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await;
    client.command("DATA", 354).await;
    client
        .send("Subject: finally\r\n\r\nin order\r\n.\r\n")
        .await;
    client.expect(250).await;
    assert_eq!(server.sink.deliveries().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_syntax_gets_501_and_unknown_commands_500() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("EHLO", 501).await;
    client.command("MAIL FROM:ana@example.org", 501).await;
    client.command("MAIL FROM:<not an address>", 501).await;
    let reply = client
        .command("MAIL FROM:<ana@example.org> NOSUCHPARAM=1", 555)
        .await;
    assert!(reply.starts_with("555 5.5.4 "), "{reply:?}");
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client.command("RCPT TO:<>", 501).await;
    client
        .command("RCPT TO:support@help.confab.example", 501)
        .await;
    let reply = client.command("FROBNICATE now", 500).await;
    assert!(reply.starts_with("500 5.5.2 "), "{reply:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn other_commands() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("NOOP", 250).await;
    client.command("HELP", 214).await;
    let reply = client.command("VRFY support", 252).await;
    assert!(reply.starts_with("252 2.5.0 "), "{reply:?}");
    client.command("EXPN staff", 502).await;
    client.command("AUTH PLAIN AGFuYQBzZWNyZXQ=", 502).await;
    client.command("BDAT 10 LAST", 502).await;
    client.command("STARTTLS", 502).await; // no certificate configured
    server.shutdown().await;
}

#[tokio::test]
async fn declared_size_over_the_limit_gets_552_at_mail_from() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    let reply = client
        .command("MAIL FROM:<ana@example.org> SIZE=65537", 552)
        .await;
    assert!(reply.starts_with("552 5.3.4 "), "{reply:?}");
    client
        .command("MAIL FROM:<ana@example.org> SIZE=65536", 250)
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn rset_clears_the_transaction() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await;
    client.command("RSET", 250).await;
    client.command("DATA", 503).await;
    client.command("MAIL FROM:<bruno@example.org>", 250).await;
    server.shutdown().await;
}

#[tokio::test]
async fn pipelined_transaction_is_answered_in_order() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::connect(server.addr).await;
    client.expect(220).await;
    // One write, as a PIPELINING client sends it (RFC 2920).
    client
        .send(
            "EHLO client.example\r\n\
             MAIL FROM:<ana@example.org>\r\n\
             RCPT TO:<support@help.confab.example>\r\n\
             RCPT TO:<nobody@help.confab.example>\r\n\
             RCPT TO:<sales@help.confab.example>\r\n\
             DATA\r\n",
        )
        .await;
    client.expect(250).await;
    client.expect(250).await;
    client.expect(250).await;
    let refused = client.expect(550).await;
    assert!(refused.starts_with("550 5.1.1 "), "{refused:?}");
    client.expect(250).await;
    client.expect(354).await;
    // The message and the next command in one write, too. A bare-LF dot
    // line is not the end (that is how SMTP smuggling works); a dot-stuffed
    // first line is unstuffed.
    client
        .send("..first line\r\nsecond\n.\nMAIL FROM:<evil@example.org>\r\nlast\r\n.\r\nQUIT\r\n")
        .await;
    client.expect(250).await;
    client.expect(221).await;

    let deliveries = server.sink.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].data,
        b".first line\r\nsecond\n.\nMAIL FROM:<evil@example.org>\r\nlast\r\n"
    );
    assert_eq!(
        deliveries[0].rcpt_to,
        ["support@help.confab.example", "sales@help.confab.example"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn empty_message_is_delivered_empty() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await;
    client.command("DATA", 354).await;
    client.command(".", 250).await;
    assert_eq!(server.sink.deliveries()[0].data, b"");
    server.shutdown().await;
}

#[tokio::test]
async fn all_recipients_refused_makes_data_554() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client
        .command("RCPT TO:<nobody@help.confab.example>", 550)
        .await;
    client.command("DATA", 554).await;
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_recipients_get_452() {
    let mut config = test_config();
    config.max_recipients = 2;
    let server = spawn_smtp(config).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await;
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await; // duplicate, not counted
    client
        .command("RCPT TO:<sales@help.confab.example>", 250)
        .await;
    let reply = client
        .command("RCPT TO:<billing@help.confab.example>", 452)
        .await;
    assert!(reply.starts_with("452 4.5.3 "), "{reply:?}");
    client.command("DATA", 354).await;
    client.command("Subject: two\r\n\r\nhi\r\n.", 250).await;
    assert_eq!(
        server.sink.deliveries()[0].rcpt_to,
        ["support@help.confab.example", "sales@help.confab.example"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn null_sender_bounce_is_accepted_and_classified() {
    let server = spawn_smtp(test_config()).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<>", 250).await;
    client
        .command("RCPT TO:<support+c7Hq2x@help.confab.example>", 250)
        .await;
    client.command("DATA", 354).await;
    client
        .command(
            "From: MAILER-DAEMON@mx.example.org\r\nSubject: failure\r\n\r\nUser unknown\r\n.",
            250,
        )
        .await;
    let delivery = &server.sink.deliveries()[0];
    assert_eq!(delivery.mail_from, "");
    let mail = delivery.parse().expect("parses");
    assert_eq!(classify(&mail), MailKind::Bounce(Signal::NullSender));
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_errors_close_the_connection() {
    let mut config = test_config();
    config.max_errors = 3;
    let server = spawn_smtp(config).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("FOO", 500).await;
    client.command("BAR", 500).await;
    client.send("BAZ\r\n").await;
    client.expect(500).await;
    let reply = client.expect(421).await;
    assert!(reply.starts_with("421 4.7.0 "), "{reply:?}");
    assert!(client.is_closed().await);
    server.shutdown().await;
}

#[tokio::test]
async fn over_long_lines_are_refused_and_skipped() {
    let mut config = test_config();
    config.max_line_length = 64;
    let server = spawn_smtp(config).await;
    let mut client = RawClient::ready(server.addr).await;
    let long = format!("NOOP {}", "x".repeat(10_000));
    let reply = client.command(&long, 500).await;
    assert_eq!(reply, "500 5.5.2 Line too long\r\n");
    client.command("NOOP", 250).await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_data_is_refused_after_the_terminator() {
    let mut config = test_config();
    config.max_message_size = 100;
    let server = spawn_smtp(config).await;
    let mut client = RawClient::ready(server.addr).await;
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    client
        .command("RCPT TO:<support@help.confab.example>", 250)
        .await;
    client.command("DATA", 354).await;
    for _ in 0..100 {
        client.send(format!("{}\r\n", "y".repeat(998))).await;
    }
    let reply = client.command(".", 552).await;
    assert!(reply.starts_with("552 5.3.4 "), "{reply:?}");
    // The session goes on after the refusal.
    client.command("MAIL FROM:<ana@example.org>", 250).await;
    assert!(server.sink.deliveries().is_empty());
    server.shutdown().await;
}
