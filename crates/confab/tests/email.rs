//! E-mail end to end, with real SMTP peers on both sides: mail sent by an
//! SMTP client (lettre) to `confab serve --smtp-listen` opens a
//! conversation; the agent's reply leaves through `--smtp-relay` and is
//! captured by a real SMTP server (Python's aiosmtpd, `tests/support/
//! smtp_capture.py`, started here) with its threading headers; the
//! contact's answer threads back and reopens the conversation. A reply the
//! relay refuses shows `failed` and goes out on retry. A mail's attachment
//! is stored and downloadable; an agent's reply with a file arrives with
//! it. Runs on SQLite and on PostgreSQL.

mod support;

use std::path::Path;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};
use support::{Confab, capture_server, captured, start_confab, temp_dir, wait_for};

fn mail(to: &str, message_id: &str, in_reply_to: Option<&str>, body: &str) -> Message {
    let mut builder = Message::builder()
        .from("Carla Contact <carla@example.com>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject("Invoice question")
        .message_id(Some(message_id.to_string()));
    if let Some(parent) = in_reply_to {
        builder = builder
            .in_reply_to(parent.to_string())
            .references(parent.to_string());
    }
    builder.body(body.to_string()).unwrap()
}

async fn round_trip(database: &str, name: &str) {
    let maildir = temp_dir(name);
    // The relay refuses the first reply for good; the rest it takes.
    let (_relay, relay_port) = capture_server(&maildir, 1).await;
    let files = temp_dir(&format!("{name}-files"));
    let extra = [
        "--smtp-max-message-bytes".to_string(),
        "200000".to_string(),
        "--attachments-dir".to_string(),
        files.display().to_string(),
    ];
    let confab = start_confab(database, relay_port, &extra).await;
    confab
        .call(
            reqwest::Method::POST,
            "/inboxes",
            Some(json!({"name": "Support", "kind": "email", "email_address": "support@acme.test"})),
        )
        .await;
    let mailer = confab.mailer();
    // Settings show admins where mail arrives and which relay replies use.
    let status = confab.call(reqwest::Method::GET, "/mail", None).await;
    assert_eq!(
        status["receiving"],
        format!("smtp://127.0.0.1:{}", confab.smtp_port)
    );
    assert_eq!(status["relay"], format!("smtp://127.0.0.1:{relay_port}"));

    // Mail for an unknown address is refused at RCPT.
    let refused = mailer
        .send(mail("nobody@acme.test", "<x0@example.com>", None, "hello?"))
        .await;
    assert!(
        refused.is_err_and(|e| e.is_permanent()),
        "unknown recipient must get 550"
    );

    // The contact writes: a conversation opens with what they wrote, quotes cut.
    mailer
        .send(mail(
            "Support <SUPPORT@acme.test>",
            "<m1@example.com>",
            None,
            "Where is my invoice?\n\nOn Mon, 2 Nov 2026 at 10:00, Acme <support@acme.test> wrote:\n> Thanks for your order.\n",
        ))
        .await
        .expect("mail accepted");
    // Delivered again (a retrying sender): still one message.
    mailer
        .send(mail(
            "support@acme.test",
            "<m1@example.com>",
            None,
            "Where is my invoice?",
        ))
        .await
        .expect("duplicate accepted");
    let conversation = wait_for("the conversation", async || {
        confab.conversations().await.into_iter().next()
    })
    .await;
    let id = conversation["id"].as_i64().unwrap();
    assert_eq!(conversation["folder"], "open");
    assert_eq!(conversation["subject"], "Invoice question");
    let history = confab.messages(id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["body"], "Where is my invoice?");
    assert!(
        history[0]["full_body"]
            .as_str()
            .unwrap()
            .contains("Thanks for your order.")
    );
    assert_eq!(history[0]["email_message_id"], "m1@example.com");

    // An auto-reply never becomes a message (no mail loops).
    let mut auto = mail(
        "support@acme.test",
        "<auto1@example.com>",
        None,
        "I am out of office.",
    );
    auto.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-replied".into(),
    ));
    mailer.send(auto).await.expect("auto-reply accepted");

    // A reply the relay refuses for good shows `failed`; retry sends it.
    let refused = confab
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"body": "First try"})),
        )
        .await;
    let refused_id = refused["message"]["id"].as_i64().unwrap();
    wait_for("the refused reply to show failed", async || {
        let history = confab.messages(id).await;
        (history.last().unwrap()["delivery"] == "failed").then_some(())
    })
    .await;
    let retried = confab
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{id}/messages/{refused_id}/retry"),
            None,
        )
        .await;
    assert_eq!(retried["delivery"], "pending");
    wait_for("the retried reply at the relay", async || {
        captured(&maildir).into_iter().next()
    })
    .await;

    // The agent replies; it leaves through the relay, threaded.
    let posted = confab
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"body": "Here it is: **paid** on 1 Nov."})),
        )
        .await;
    assert_eq!(posted["message"]["delivery"], "pending");
    assert_eq!(posted["conversation"]["folder"], "answered");
    let our_id = posted["message"]["email_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(our_id.ends_with("@help.acme.test"), "{our_id}");
    let sent = wait_for("the reply at the relay", async || {
        captured(&maildir).into_iter().nth(1)
    })
    .await;
    // Unfold long header lines.
    let sent = sent.replace("\r\n ", " ").replace("\r\n\t", " ");
    assert!(sent.contains("X-RcptTo: carla@example.com"), "{sent}");
    assert!(sent.contains("From: Support <support@acme.test>"), "{sent}");
    assert!(sent.contains("Subject: Re: Invoice question"), "{sent}");
    assert!(sent.contains(&format!("Message-ID: <{our_id}>")), "{sent}");
    let first_try = confab.messages(id).await[1]["email_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sent.contains(&format!("In-Reply-To: <{first_try}>")),
        "{sent}"
    );
    assert!(
        sent.contains(&format!("References: <m1@example.com> <{first_try}>")),
        "{sent}"
    );
    let token = our_id
        .strip_prefix("confab.")
        .unwrap()
        .split('@')
        .next()
        .unwrap();
    assert!(
        sent.contains(&format!("support+{token}@acme.test")),
        "{sent}"
    );
    assert!(
        sent.contains("text/plain") && sent.contains("text/html"),
        "{sent}"
    );
    assert!(sent.contains("<strong>paid</strong>"), "{sent}");
    wait_for("delivery to show delivered", async || {
        let history = confab.messages(id).await;
        let delivered = history
            .iter()
            .filter(|m| m["delivery"] == "delivered")
            .count();
        (delivered == 2).then_some(())
    })
    .await;

    // The contact answers the reply: same conversation, open again.
    mailer
        .send(mail(
            "support@acme.test",
            "<m2@example.com>",
            Some(&format!("<{our_id}>")),
            "Got it, thanks!\n\nEm seg., 2 de nov. de 2026 às 10:05, Support <support@acme.test> escreveu:\n> Here it is",
        ))
        .await
        .expect("answer accepted");
    wait_for("the answer in the same conversation", async || {
        let history = confab.messages(id).await;
        (history.len() == 4).then_some(())
    })
    .await;
    let history = confab.messages(id).await;
    assert_eq!(history[3]["body"], "Got it, thanks!");
    let conversations = confab.conversations().await;
    assert_eq!(
        conversations.len(),
        1,
        "no new conversation: {conversations:?}"
    );
    assert_eq!(conversations[0]["folder"], "open");

    // A client that drops the headers still threads by the reply token.
    mailer
        .send(mail(
            &format!("support+{token}@acme.test"),
            "<m3@example.com>",
            None,
            "One more thing.",
        ))
        .await
        .expect("token mail accepted");
    wait_for("the token-threaded mail", async || {
        (confab.messages(id).await.len() == 5).then_some(())
    })
    .await;
    assert_eq!(confab.conversations().await.len(), 1);

    // A colleague on copy answers in the thread: a conversation of their own.
    let colleague = Message::builder()
        .from("Dan <dan@example.com>".parse().unwrap())
        .to("support@acme.test".parse().unwrap())
        .subject("Re: Invoice question")
        .message_id(Some("<d1@example.com>".into()))
        .in_reply_to(format!("<{our_id}>"))
        .body("Adding Dan from accounting.".to_string())
        .unwrap();
    mailer.send(colleague).await.expect("colleague accepted");
    wait_for("the colleague's conversation", async || {
        (confab.conversations().await.len() == 2).then_some(())
    })
    .await;

    // Oversized mail is refused (552).
    let big = "x".repeat(300_000);
    let oversized = mailer
        .send(mail("support@acme.test", "<big@example.com>", None, &big))
        .await;
    assert!(
        oversized.is_err_and(|e| e.is_permanent()),
        "oversized mail must get 552"
    );
    // Nothing else arrived: the auto-reply and the refused mails left no trace.
    assert_eq!(confab.messages(id).await.len(), 5);

    // A contact-form ticket: the reply goes out by e-mail from the reply
    // address, and the contact's answer to it threads back into the ticket.
    let form = confab
        .call(
            reqwest::Method::POST,
            "/inboxes",
            Some(json!({"name": "Website form", "kind": "form"})),
        )
        .await;
    let submitted: Value = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/public/inboxes/{}/form",
            confab.base,
            form["token"].as_str().unwrap()
        ))
        .json(&json!({"name": "Fiona", "email": "fiona@example.com", "subject": "A quote", "message": "How much for 10 seats?"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = submitted["conversation_id"].as_i64().expect("form ticket");
    confab
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{ticket}/messages"),
            Some(json!({"body": "100 a month."})),
        )
        .await;
    let sent = wait_for("the form reply at the relay", async || {
        captured(&maildir)
            .into_iter()
            .find(|m| m.contains("X-RcptTo: fiona@example.com"))
    })
    .await
    .replace("\r\n ", " ");
    assert!(
        sent.contains("From: \"Website form\" <noreply@help.acme.test>"),
        "{sent}"
    );
    assert!(sent.contains("Subject: Re: A quote"), "{sent}");
    let reply_to = sent
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: \"Website form\" <"))
        .and_then(|l| l.trim_end().strip_suffix('>'))
        .expect("Reply-To with the reply token")
        .to_string();
    assert!(reply_to.starts_with("noreply+"), "{reply_to}");
    let answer = Message::builder()
        .from("Fiona <fiona@example.com>".parse().unwrap())
        .to(reply_to.parse().unwrap())
        .subject("Re: A quote")
        .message_id(Some("<f2@example.com>".into()))
        .body("Deal. Send the invoice.".to_string())
        .unwrap();
    mailer
        .send(answer)
        .await
        .expect("answer to the reply address accepted");
    wait_for("Fiona's answer in the ticket", async || {
        (confab.messages(ticket).await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(
        confab.messages(ticket).await[2]["body"],
        "Deal. Send the invoice."
    );
    // The bare reply address (no token) is not a mailbox.
    let bare = mailer
        .send(mail(
            "noreply@help.acme.test",
            "<f3@example.com>",
            None,
            "hello?",
        ))
        .await;
    assert!(bare.is_err_and(|e| e.is_permanent()));

    attachments_both_ways(&confab, &mailer, &maildir, &files).await;
}

/// A mail with a file becomes a message with that file; the agent's reply
/// with a file of its own leaves with it as a MIME attachment.
async fn attachments_both_ways(
    confab: &Confab,
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    maildir: &Path,
    files: &Path,
) {
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    let scan: &[u8] = b"%PDF-1.4\n% a scanned invoice\n";
    let logo: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let with_file = Message::builder()
        .from("Gabi <gabi@example.com>".parse().unwrap())
        .to("support@acme.test".parse().unwrap())
        .subject("Scan attached")
        .message_id(Some("<g1@example.com>".into()))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("The scan you asked for.".to_string()))
                .singlepart(Attachment::new("../invoice scan.pdf".into()).body(
                    scan.to_vec(),
                    ContentType::parse("application/pdf").unwrap(),
                ))
                // A signature image shown inside the mail: not kept.
                .singlepart(
                    Attachment::new_inline("logo@example.com".into())
                        .body(logo.to_vec(), ContentType::parse("image/png").unwrap()),
                ),
        )
        .unwrap();
    mailer
        .send(with_file)
        .await
        .expect("mail with a file accepted");
    let conversation = wait_for("the mail with a file", async || {
        confab
            .conversations()
            .await
            .into_iter()
            .find(|c| c["subject"] == "Scan attached")
    })
    .await;
    let id = conversation["id"].as_i64().unwrap();
    let history = confab.messages(id).await;
    assert_eq!(history[0]["body"], "The scan you asked for.");
    let stored = history[0]["attachments"].as_array().expect("attachments");
    assert_eq!(stored.len(), 1, "{history:?}");
    assert_eq!(stored[0]["filename"], "invoice scan.pdf");
    assert_eq!(stored[0]["content_type"], "application/pdf");
    assert_eq!(stored[0]["size"], scan.len());
    let download = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/accounts/{}/attachments/{}",
            confab.base, confab.account, stored[0]["id"]
        ))
        .bearer_auth(&confab.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), reqwest::StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), scan);

    // The agent answers with a file.
    let part = reqwest::multipart::Part::bytes(b"Paid on 1 Nov.\n".to_vec())
        .file_name("receipt.txt")
        .mime_str("text/plain")
        .unwrap();
    let uploaded: Value = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/accounts/{}/conversations/{id}/attachments",
            confab.base, confab.account
        ))
        .bearer_auth(&confab.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let posted = confab
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"body": "Your receipt is attached.", "attachment_ids": [uploaded["id"]]})),
        )
        .await;
    assert_eq!(
        posted["message"]["attachments"][0]["filename"],
        "receipt.txt"
    );
    let sent = wait_for("the reply with a file at the relay", async || {
        captured(maildir)
            .into_iter()
            .find(|m| m.contains("X-RcptTo: gabi@example.com"))
    })
    .await;
    let parsed = confab_mail::inbound::parse_inbound(sent.as_bytes()).expect("a readable reply");
    assert_eq!(parsed.body, "Your receipt is attached.");
    assert_eq!(parsed.attachments.len(), 1, "{sent}");
    assert_eq!(
        parsed.attachments[0].filename.as_deref(),
        Some("receipt.txt")
    );
    assert_eq!(parsed.attachments[0].data, b"Paid on 1 Nov.\n");
    // Both files are on disk under the attachments folder, by random keys.
    let mut stored_files = 0;
    for shard in std::fs::read_dir(files).unwrap().flatten() {
        if shard.file_name() != "tmp" {
            stored_files += std::fs::read_dir(shard.path()).unwrap().count();
        }
    }
    assert_eq!(stored_files, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_round_trip_on_sqlite() {
    let dir = temp_dir("sqlite-db");
    let url = format!("sqlite://{}/confab.db", dir.display());
    round_trip(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_round_trip_on_postgres() {
    let url = confab_store_postgres::testing::fresh_database_url().await;
    round_trip(&url, "postgres").await;
}
