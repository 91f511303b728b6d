//! Webhooks against a real HTTP receiver, on SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use confab_server::webhooks::signature::verify;
use reqwest::Method;
use serde_json::{Value, json};

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::sqlite_app().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::postgres_app().await).await; })*
        }
    };
}

on_both_databases!(
    a_receiver_that_fails_then_recovers_gets_every_event_once,
    persistent_failure_disables_the_webhook_visibly
);

/// What the receiver saw.
#[derive(Default)]
struct Received {
    /// Requests so far (including refused ones).
    requests: usize,
    /// Accepted deliveries by id: (seq, type).
    accepted: BTreeMap<i64, (i64, String)>,
    /// Requests whose signature did not verify.
    bad_signatures: usize,
}

/// A receiver on 127.0.0.1 that answers 500 to its first `fail_first` requests.
async fn receiver(secret: Arc<Mutex<String>>, fail_first: usize) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (seen, secret) = (seen.clone(), secret.clone());
            async move {
                let mut seen = seen.lock().unwrap();
                seen.requests += 1;
                let timestamp: i64 = headers["confab-timestamp"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let signature = headers["confab-signature"]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("v1=")
                    .to_string();
                if !verify(&secret.lock().unwrap(), timestamp, &body, &signature) {
                    seen.bad_signatures += 1;
                }
                if seen.requests <= fail_first {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let payload: Value = serde_json::from_slice(&body).unwrap();
                let id: i64 = headers["confab-delivery"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(payload["id"], id);
                seen.accepted.insert(
                    id,
                    (
                        payload["seq"].as_i64().unwrap(),
                        payload["type"].as_str().unwrap().to_string(),
                    ),
                );
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn a_receiver_that_fails_then_recovers_gets_every_event_once(app: TestApp) {
    let agent = app.new_account("Hooks").await;
    let secret = Arc::new(Mutex::new(String::new()));
    let (url, received) = receiver(secret.clone(), 5).await;
    let hooks = format!("/api/v1/accounts/{}/webhooks", agent.account);
    let (status, hook) = app
        .call(
            Method::POST,
            &hooks,
            Some(&agent.token),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_string();
    let first_seq = app
        .store
        .last_event_seq(confab_domain::AccountId(agent.account))
        .await
        .unwrap();

    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    for n in 0..4 {
        app.contact_writes(token, &contact, &format!("message {n}"))
            .await;
    }
    let last_seq = app
        .store
        .last_event_seq(confab_domain::AccountId(agent.account))
        .await
        .unwrap();
    let expected: BTreeSet<i64> = (first_seq + 1..=last_seq).collect();

    // Move the clock a minute at a time: retries come due, the receiver recovers.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = received.lock().unwrap().accepted.len() == expected.len();
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every event was delivered: {:?}",
            received.lock().unwrap().accepted
        );
        app.clock.advance_minutes(1);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    {
        let seen = received.lock().unwrap();
        let seqs: BTreeSet<i64> = seen.accepted.values().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, expected, "every event, once per delivery id");
        assert_eq!(
            seen.accepted.len(),
            expected.len(),
            "no event under two delivery ids"
        );
        assert_eq!(seen.bad_signatures, 0);
        assert!(
            seen.requests > expected.len(),
            "the receiver refused some first"
        );
    }
    let id = hook["id"].as_i64().unwrap();
    let (_, log) = app
        .call(
            Method::GET,
            &format!("{hooks}/{id}/deliveries"),
            Some(&agent.token),
            None,
        )
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), expected.len());
    assert!(items.iter().all(|d| d["status"] == "delivered"));
    assert!(
        items
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap() > 1 && d["last_status"] == 200)
    );
}

async fn persistent_failure_disables_the_webhook_visibly(app: TestApp) {
    let agent = app.new_account("Dead").await;
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hooks = format!("/api/v1/accounts/{}/webhooks", agent.account);
    let (status, hook) = app
        .call(Method::POST, &hooks, Some(&agent.token), Some(json!({"url": format!("http://127.0.0.1:{port}/gone"), "event_types": ["inbox.created"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = hook["id"].as_i64().unwrap();
    app.create_inbox(&agent, "email").await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, now) = app
            .call(
                Method::GET,
                &format!("{hooks}/{id}"),
                Some(&agent.token),
                None,
            )
            .await;
        if now["enabled"] == false {
            let reason = now["disabled_reason"].as_str().unwrap();
            assert!(
                reason.contains("24 hours") && reason.contains("could not connect"),
                "{reason}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook was never disabled: {now}"
        );
        app.clock.advance_minutes(60);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, log) = app
        .call(
            Method::GET,
            &format!("{hooks}/{id}/deliveries"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(log["items"][0]["status"], "failed");
    assert!(log["items"][0]["attempts"].as_i64().unwrap() >= 6);
    // Bad input.
    let (status, error) = app
        .call(
            Method::POST,
            &hooks,
            Some(&agent.token),
            Some(json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &hooks,
            Some(&agent.token),
            Some(json!({"url": "https://x.test/h", "event_types": ["nope"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Turning it back on clears the reason.
    let (_, enabled) = app
        .call(
            Method::PATCH,
            &format!("{hooks}/{id}"),
            Some(&agent.token),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (
            enabled["enabled"].as_bool(),
            enabled["disabled_reason"].clone()
        ),
        (Some(true), Value::Null)
    );
}
