//! The OpenAPI document lists every route; public endpoints are rate limited.

mod common;

use common::*;
use confab_server::ServerConfig;
use confab_server::config::RateLimit;
use reqwest::StatusCode;
use serde_json::Value;

/// Every route of SPEC §5 that this server answers.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("get", "/api/v1/setup"),
    ("post", "/api/v1/setup"),
    ("get", "/api/v1/accounts/{account}/inboxes"),
    ("post", "/api/v1/accounts/{account}/inboxes"),
    ("patch", "/api/v1/accounts/{account}/inboxes/{id}"),
    ("get", "/api/v1/accounts/{account}/inboxes/{id}/identity"),
    ("get", "/api/v1/accounts/{account}/conversations"),
    ("get", "/api/v1/accounts/{account}/conversations/counts"),
    ("get", "/api/v1/accounts/{account}/conversations/{id}"),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/close",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/reopen",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/snooze",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/messages/{message}/retry",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/delete",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/restore",
    ),
    ("post", "/api/v1/accounts/{account}/conversations/{id}/spam"),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/not_spam",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/assign",
    ),
    ("post", "/api/v1/accounts/{account}/conversations/{id}/read"),
    (
        "get",
        "/api/v1/accounts/{account}/conversations/{id}/messages",
    ),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/messages",
    ),
    ("put", "/api/v1/accounts/{account}/conversations/{id}/tags"),
    ("get", "/api/v1/accounts/{account}/contacts"),
    ("get", "/api/v1/accounts/{account}/contacts/{id}"),
    ("patch", "/api/v1/accounts/{account}/contacts/{id}"),
    ("get", "/api/v1/accounts/{account}/agents"),
    ("post", "/api/v1/accounts/{account}/agents"),
    ("patch", "/api/v1/accounts/{account}/agents/{id}"),
    ("delete", "/api/v1/accounts/{account}/agents/{id}"),
    ("get", "/api/v1/accounts/{account}/tags"),
    ("get", "/api/v1/accounts/{account}/mail"),
    ("patch", "/api/v1/accounts/{account}/tags/{tag}"),
    ("delete", "/api/v1/accounts/{account}/tags/{tag}"),
    ("post", "/api/v1/public/inboxes/{inbox_token}/contacts"),
    ("get", "/api/v1/public/inboxes/{inbox_token}/messages"),
    ("post", "/api/v1/public/inboxes/{inbox_token}/messages"),
    ("post", "/api/v1/public/inboxes/{inbox_token}/form"),
    ("get", "/api/v1/public/inboxes/{inbox_token}"),
    ("patch", "/api/v1/public/inboxes/{inbox_token}/contact"),
    ("get", "/api/v1/accounts/{account}/events"),
    ("get", "/api/v1/accounts/{account}/webhooks"),
    ("post", "/api/v1/accounts/{account}/webhooks"),
    ("get", "/api/v1/accounts/{account}/webhooks/{id}"),
    ("patch", "/api/v1/accounts/{account}/webhooks/{id}"),
    ("delete", "/api/v1/accounts/{account}/webhooks/{id}"),
    ("get", "/api/v1/accounts/{account}/webhooks/{id}/deliveries"),
    ("get", "/api/v1/public/inboxes/{inbox_token}/ws"),
    (
        "post",
        "/api/v1/accounts/{account}/conversations/{id}/attachments",
    ),
    ("get", "/api/v1/accounts/{account}/attachments/{id}"),
    ("post", "/api/v1/public/inboxes/{inbox_token}/attachments"),
    (
        "get",
        "/api/v1/public/inboxes/{inbox_token}/attachments/{id}",
    ),
];

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let app = sqlite_app().await;
    let document: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = document["paths"].as_object().expect("paths");
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is missing from /api/openapi.json"
        );
    }
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "a documented route is missing from this test's list"
    );
}

#[tokio::test]
async fn public_endpoints_answer_429_past_the_burst() {
    let config = ServerConfig {
        public_rate: RateLimit {
            per_minute: 60,
            burst: 5,
        },
        ..test_config()
    };
    let app = spawn_app(
        std::sync::Arc::new(confab_store_sqlite::testing::fresh_store().await),
        config,
    )
    .await;
    let url = app.url("/api/v1/public/inboxes/unknown/contacts");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(app.client.post(&url).send().await.unwrap().status());
    }
    assert_eq!(&statuses[..5], &[StatusCode::NOT_FOUND; 5]);
    let response = app.client.post(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // The agent API is not throttled by the public limit.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[test]
fn default_public_limit_never_locks_out_an_office() {
    let defaults = ServerConfig::default();
    assert!(defaults.public_rate.per_minute >= 120 && defaults.public_rate.burst >= 60);
}
