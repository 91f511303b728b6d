//! Signed contact identity (HMAC of the user's id) over HTTP, on SQLite and
//! on PostgreSQL.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::sqlite_app().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::postgres_app().await).await; })*
        }
    };
}

on_both_databases!(
    signed_ids_find_the_same_contact,
    wrong_hashes_are_refused_and_create_nothing,
    required_identity_refuses_anonymous_sessions,
    only_admins_read_or_change_identity_settings,
    public_answers_never_show_the_secret,
);

/// What the site's backend computes (written here independently of the server).
fn sign(secret: &str, external_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn sessions(inbox: &Value) -> String {
    format!(
        "/api/v1/public/inboxes/{}/contacts",
        inbox["token"].as_str().unwrap()
    )
}

fn identity_path(agent: &Agent, inbox: &Value) -> String {
    format!(
        "/api/v1/accounts/{}/inboxes/{}/identity",
        agent.account, inbox["id"]
    )
}

async fn secret_of(app: &TestApp, admin: &Agent, inbox: &Value) -> String {
    let (status, identity) = app
        .call(
            Method::GET,
            &identity_path(admin, inbox),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{identity}");
    identity["identity_secret"].as_str().unwrap().to_string()
}

async fn contacts_in(app: &TestApp, admin: &Agent) -> usize {
    let (status, list) = app
        .call(
            Method::GET,
            &format!("/api/v1/accounts/{}/contacts", admin.account),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().len()
}

async fn signed_ids_find_the_same_contact(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let inbox = app.create_inbox(&admin, "in_app").await;
    assert_eq!(inbox["identity_required"], false);
    let secret = secret_of(&app, &admin, &inbox).await;
    assert_eq!(secret.len(), 64);
    let hash = sign(&secret, "user-42");

    let (status, first) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": hash, "name": "Dora"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let contact_id = first["contact_id"].as_i64().unwrap();
    let token = first["token"].as_str().unwrap();
    let conversation = app
        .contact_writes(
            inbox["token"].as_str().unwrap(),
            token,
            "hello from the app",
        )
        .await;

    // Another device, later: the same contact, a new session, their history.
    let (status, second) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": hash, "email": "dora@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["contact_id"], contact_id);
    assert_ne!(second["token"], first["token"]);
    let history: Value = app
        .client
        .get(app.url(&format!(
            "/api/v1/public/inboxes/{}/messages",
            inbox["token"].as_str().unwrap()
        )))
        .header("X-Contact-Token", second["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["conversation_id"], conversation);
    assert_eq!(history["items"][0]["body"], "hello from the app");

    let (status, contact) = app
        .call(
            Method::GET,
            &format!("/api/v1/accounts/{}/contacts/{contact_id}", admin.account),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{contact}");
    let contact = if contact["contact"].is_object() {
        &contact["contact"]
    } else {
        &contact
    };
    assert_eq!(contact["external_id"], "user-42");
    assert_eq!(contact["name"], "Dora", "kept from the first session");
    assert_eq!(
        contact["email"], "dora@example.com",
        "updated by the second"
    );

    // Another user id is another contact; anonymous sessions still work.
    let (status, other) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-43", "identity_hash": sign(&secret, "user-43")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_ne!(other["contact_id"], contact_id);
    let (status, anonymous) = app.call(Method::POST, &sessions(&inbox), None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{anonymous}");
    assert_ne!(anonymous["contact_id"], contact_id);
}

async fn wrong_hashes_are_refused_and_create_nothing(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let inbox = app.create_inbox(&admin, "chat").await;
    let other_inbox = app.create_inbox(&admin, "chat").await;
    let secret = secret_of(&app, &admin, &inbox).await;
    let other_secret = secret_of(&app, &admin, &other_inbox).await;
    assert_ne!(secret, other_secret, "one secret per inbox");
    let before = contacts_in(&app, &admin).await;

    let good = sign(&secret, "user-42");
    for body in [
        json!({"external_id": "user-42", "identity_hash": sign(&secret, "user-43")}),
        json!({"external_id": "user-42", "identity_hash": sign(&other_secret, "user-42")}),
        json!({"external_id": "user-42", "identity_hash": good.to_uppercase()}),
        json!({"external_id": "user-42", "identity_hash": &good[..63]}),
        json!({"external_id": "user-42", "identity_hash": "not hex"}),
        json!({"external_id": "user-42"}),
    ] {
        let (status, error) = app
            .call(Method::POST, &sessions(&inbox), None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body} → {error}");
        assert_eq!(error["error"]["code"], "identity_invalid", "{body}");
    }
    let (status, error) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"identity_hash": good})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "external_id");
    let (status, error) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": " user-42", "identity_hash": sign(&secret, " user-42")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(
        contacts_in(&app, &admin).await,
        before,
        "refused sessions create no contact"
    );

    // The right hash for the right inbox works.
    let (status, session) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": good})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(contacts_in(&app, &admin).await, before + 1);
}

async fn required_identity_refuses_anonymous_sessions(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let inbox = app.create_inbox(&admin, "chat").await;
    let (status, updated) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", admin.account, inbox["id"]),
            Some(&admin.token),
            Some(json!({"identity_required": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["identity_required"], true);
    assert_eq!(updated["name"], inbox["name"], "untouched");
    assert_eq!(updated["token"], inbox["token"]);
    assert!(updated.get("identity_secret").is_none(), "{updated}");

    for body in [None, Some(json!({})), Some(json!({"name": "Anon"}))] {
        let (status, error) = app
            .call(Method::POST, &sessions(&inbox), None, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:?} → {error}");
        assert_eq!(error["error"]["code"], "identity_required");
    }
    let (status, error) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": "00"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "identity_invalid");

    let secret = secret_of(&app, &admin, &inbox).await;
    let (status, session) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": sign(&secret, "user-42")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");

    let (status, listed) = app
        .call(
            Method::GET,
            &format!("/api/v1/accounts/{}/inboxes", admin.account),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["identity_required"], true);

    // Switched off again: anonymous visitors are welcome.
    let (status, updated) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", admin.account, inbox["id"]),
            Some(&admin.token),
            Some(json!({"identity_required": false, "name": "Website"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Website");
    let (status, _) = app.call(Method::POST, &sessions(&inbox), None, None).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn only_admins_read_or_change_identity_settings(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let inbox = app.create_inbox(&admin, "in_app").await;
    let agent = app.add_plain_agent(&admin).await;
    let (status, error) = app
        .call(
            Method::GET,
            &identity_path(&agent, &inbox),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(!error.to_string().contains("identity_secret"));
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", agent.account, inbox["id"]),
            Some(&agent.token),
            Some(json!({"identity_required": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Agents still see the inboxes, without the secret.
    let (status, listed) = app
        .call(
            Method::GET,
            &format!("/api/v1/accounts/{}/inboxes", agent.account),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["identity_required"], false);
    assert!(!listed.to_string().contains("identity_secret"), "{listed}");

    // Another account's admin finds nothing.
    let stranger = app.new_account("Other").await;
    for path in [
        format!(
            "/api/v1/accounts/{}/inboxes/{}/identity",
            stranger.account, inbox["id"]
        ),
        format!(
            "/api/v1/accounts/{}/inboxes/{}/identity",
            admin.account, inbox["id"]
        ),
    ] {
        let (status, _) = app
            .call(Method::GET, &path, Some(&stranger.token), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!(
                "/api/v1/accounts/{}/inboxes/{}",
                stranger.account, inbox["id"]
            ),
            Some(&stranger.token),
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", admin.account, inbox["id"]),
            Some(&admin.token),
            Some(json!({"name": "  "})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
}

async fn public_answers_never_show_the_secret(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let inbox = app.create_inbox(&admin, "in_app").await;
    let form = app.create_inbox(&admin, "form").await;
    assert!(inbox.get("identity_secret").is_none(), "{inbox}");
    let secret = secret_of(&app, &admin, &inbox).await;
    let token = inbox["token"].as_str().unwrap();
    let mut seen: Vec<String> = Vec::new();

    let (status, session) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": sign(&secret, "user-42")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    seen.push(session.to_string());
    let contact_token = session["token"].as_str().unwrap();
    let (_, anonymous) = app.call(Method::POST, &sessions(&inbox), None, None).await;
    seen.push(anonymous.to_string());
    let (_, refused) = app
        .call(
            Method::POST,
            &sessions(&inbox),
            None,
            Some(json!({"external_id": "user-42", "identity_hash": "00"})),
        )
        .await;
    seen.push(refused.to_string());

    let mut socket = app.contact_socket(token, contact_token).await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/public/inboxes/{token}/messages")))
        .header("X-Contact-Token", contact_token)
        .header("Idempotency-Key", "first")
        .json(&json!({"body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let posted: Value = response.json().await.unwrap();
    seen.push(posted.to_string());
    let conversation = posted["conversation_id"].as_i64().unwrap();
    let (status, reply) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/accounts/{}/conversations/{conversation}/messages",
                admin.account
            ),
            Some(&admin.token),
            Some(json!({"body": "hello there"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let frame = next_of(&mut socket, "message.created").await;
    seen.push(frame.to_string());
    let frame = next_of(&mut socket, "message.created").await;
    seen.push(frame.to_string());
    let history = app
        .client
        .get(app.url(&format!("/api/v1/public/inboxes/{token}/messages")))
        .header("X-Contact-Token", contact_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("hello there"), "{history}");
    seen.push(history);
    let (_, submitted) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/public/inboxes/{}/form",
                form["token"].as_str().unwrap()
            ),
            None,
            Some(json!({"email": "eve@example.com", "message": "hello"})),
        )
        .await;
    seen.push(submitted.to_string());
    let (_, missing) = app
        .call(
            Method::POST,
            "/api/v1/public/inboxes/nope/contacts",
            None,
            None,
        )
        .await;
    seen.push(missing.to_string());

    for answer in &seen {
        assert!(!answer.contains("identity_secret"), "{answer}");
        assert!(!answer.contains(&secret), "{answer}");
    }
}
