//! A chat visitor who left the page still gets the answer: an agent's chat
//! reply not received by the visitor's widget within `--chat-email-delay`
//! leaves by e-mail through the relay (a real SMTP server, aiosmtpd), and
//! the visitor's e-mail answer threads back into the same chat
//! conversation. A reply the widget received (it says so on the contact
//! stream) is never e-mailed. Runs on SQLite and on PostgreSQL.

mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use lettre::{AsyncTransport, Message};
use serde_json::{Value, json};
use support::{Confab, capture_server, captured, start_confab, temp_dir, wait_for};
use tokio_tungstenite::tungstenite;

impl Confab {
    async fn public(&self, inbox: &str, path: &str, contact: Option<&str>, body: Value) -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/v1/public/inboxes/{inbox}{path}", self.base))
            .json(&body);
        if let Some(contact) = contact {
            request = request.header("X-Contact-Token", contact);
        }
        let response = request.send().await.expect("public request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn reply(&self, conversation: i64, body: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            &format!("/conversations/{conversation}/messages"),
            Some(json!({ "body": body })),
        )
        .await
    }
}

/// A mail's header value, long lines unfolded.
fn header(mail: &str, name: &str) -> Option<String> {
    let unfolded = mail.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        line.strip_prefix(&format!("{name}: "))
            .map(|v| v.trim().to_string())
    })
}

async fn visitor_left_and_came_back(database: &str, name: &str) {
    let maildir = temp_dir(&format!("chat-mail-{name}"));
    let (_relay, relay_port) = capture_server(&maildir, 0).await;
    let extra = ["--chat-email-delay".to_string(), "1".to_string()];
    let confab = start_confab(database, relay_port, &extra).await;
    let inbox = confab
        .call(
            reqwest::Method::POST,
            "/inboxes",
            Some(json!({"name": "Website", "kind": "chat"})),
        )
        .await;
    let inbox = inbox["token"].as_str().unwrap().to_string();

    // A visitor who left an address writes, then closes the tab.
    let session = confab
        .public(
            &inbox,
            "/contacts",
            None,
            json!({"name": "Vera", "email": "vera@example.com"}),
        )
        .await;
    let visitor = session["token"].as_str().unwrap().to_string();
    let posted = confab
        .public(
            &inbox,
            "/messages",
            Some(&visitor),
            json!({"body": "Do you have size 38?"}),
        )
        .await;
    let conversation = posted["conversation_id"].as_i64().unwrap();

    // The agent answers; nobody is on the page: it leaves by e-mail.
    let reply = confab
        .reply(conversation, "Yes, in **blue** and red.")
        .await;
    assert_eq!(
        reply["conversation"]["folder"], "open",
        "chat rules still apply"
    );
    let our_id = reply["message"]["email_message_id"]
        .as_str()
        .expect("a Message-ID for the e-mail copy")
        .to_string();
    let sent = wait_for("the reply at the relay", async || {
        captured(&maildir).into_iter().next()
    })
    .await;
    assert_eq!(
        header(&sent, "X-RcptTo").as_deref(),
        Some("vera@example.com")
    );
    assert_eq!(
        header(&sent, "Message-ID"),
        Some(format!("<{our_id}>")),
        "{sent}"
    );
    assert!(sent.contains("<strong>blue</strong>"), "{sent}");
    let reply_to = header(&sent, "Reply-To").expect("a reply address");
    let reply_to = reply_to
        .rsplit_once('<')
        .map_or(reply_to.as_str(), |(_, a)| a.trim_end_matches('>'))
        .to_string();
    assert!(reply_to.starts_with("noreply+"), "{reply_to}");
    wait_for("the reply to show delivered", async || {
        let history = confab.messages(conversation).await;
        (history[1]["delivery"] == "delivered").then_some(())
    })
    .await;

    // Vera answers the e-mail: back in the same chat conversation.
    let answer = Message::builder()
        .from("Vera <vera@example.com>".parse().unwrap())
        .to(reply_to.parse().unwrap())
        .subject("Re: your chat")
        .message_id(Some("<v2@example.com>".into()))
        .in_reply_to(format!("<{our_id}>"))
        .body("Great, I'll take the blue one.".to_string())
        .unwrap();
    confab
        .mailer()
        .send(answer)
        .await
        .expect("the answer is accepted");
    wait_for("the e-mail answer in the chat", async || {
        let history = confab.messages(conversation).await;
        (history.len() == 3).then_some(())
    })
    .await;
    let history = confab.messages(conversation).await;
    assert_eq!(history[2]["body"], "Great, I'll take the blue one.");
    let all = confab
        .call(reqwest::Method::GET, "/conversations?limit=100", None)
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Vera is back on the page: her widget receives the next reply and says
    // so; no e-mail follows.
    let ws = format!(
        "{}/api/v1/public/inboxes/{inbox}/ws?contact_token={visitor}",
        confab.base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws)
        .await
        .expect("contact stream");
    let live = confab.reply(conversation, "Shipped today!").await;
    let live_id = live["message"]["id"].as_i64().unwrap();
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = socket.next().await {
            let tungstenite::Message::Text(text) = frame else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "message.created" && frame["data"]["message"]["id"] == live_id {
                return frame;
            }
        }
        panic!("the stream ended");
    })
    .await
    .expect("the reply on the contact stream");
    assert_eq!(received["data"]["message"]["body"], "Shipped today!");
    socket
        .send(tungstenite::Message::text(
            json!({"type": "received", "message_id": live_id}).to_string(),
        ))
        .await
        .unwrap();
    // Well past the delay (1 s) and the outbox's polling: still one e-mail.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        captured(&maildir).len(),
        1,
        "a received reply is not e-mailed"
    );
    let history = confab.messages(conversation).await;
    assert_eq!(history[3]["delivery"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_replies_reach_visitors_who_left_by_email_on_sqlite() {
    let dir = temp_dir("chat-mail-sqlite-db");
    let url = format!("sqlite://{}/confab.db", dir.display());
    visitor_left_and_came_back(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_replies_reach_visitors_who_left_by_email_on_postgres() {
    let url = confab_store_postgres::testing::fresh_database_url().await;
    visitor_left_and_came_back(&url, "postgres").await;
}
