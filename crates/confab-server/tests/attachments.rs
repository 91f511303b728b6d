//! Attachments over HTTP on a real server: uploads by agents and contacts,
//! messages taking them, downloads only for those who may see the
//! conversation, limits, refused types and hostile file names.

mod common;

use common::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn form(name: &str, content_type: &str, data: &[u8]) -> Form {
    let part = Part::bytes(data.to_vec())
        .file_name(name.to_string())
        .mime_str(content_type)
        .expect("mime");
    Form::new().part("file", part)
}

/// The world of a test: an account with a chat inbox, a contact session
/// and the conversation the contact opened.
struct World {
    agent: Agent,
    inbox_token: String,
    contact_token: String,
    conversation: i64,
}

async fn world(app: &TestApp) -> World {
    let agent = app.new_account("Acme").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let inbox_token = inbox["token"].as_str().unwrap().to_string();
    let contact_token = app.contact_session(&inbox_token).await;
    let conversation = app
        .contact_writes(
            &inbox_token,
            &contact_token,
            "Hello, my screen shows an error",
        )
        .await;
    World {
        agent,
        inbox_token,
        contact_token,
        conversation,
    }
}

impl World {
    fn agent_upload_path(&self) -> String {
        format!(
            "/api/v1/accounts/{}/conversations/{}/attachments",
            self.agent.account, self.conversation
        )
    }
    fn public_upload_path(&self) -> String {
        format!("/api/v1/public/inboxes/{}/attachments", self.inbox_token)
    }
}

async fn agent_upload(app: &TestApp, w: &World, form: Form) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&w.agent_upload_path()))
        .bearer_auth(&w.agent.token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn contact_upload(app: &TestApp, w: &World, token: &str, form: Form) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&w.public_upload_path()))
        .header("X-Contact-Token", token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn agent_posts(app: &TestApp, w: &World, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!(
            "/api/v1/accounts/{}/conversations/{}/messages",
            w.agent.account, w.conversation
        ),
        Some(&w.agent.token),
        Some(body),
    )
    .await
}

async fn contact_posts(app: &TestApp, w: &World, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/public/inboxes/{}/messages",
            w.inbox_token
        )))
        .header("X-Contact-Token", token)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("get")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn round_trip(app: TestApp) {
    let w = world(&app).await;
    let mut contact_socket = app.contact_socket(&w.inbox_token, &w.contact_token).await;

    // The agent uploads an image into the conversation.
    let (status, uploaded) = agent_upload(&app, &w, form("screen.png", "image/png", PNG)).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["filename"], "screen.png");
    assert_eq!(uploaded["content_type"], "image/png");
    assert_eq!(uploaded["size"], PNG.len());
    let id = uploaded["id"].as_i64().unwrap();
    assert_eq!(
        uploaded["url"],
        format!("/api/v1/accounts/{}/attachments/{id}", w.agent.account)
    );

    // A reply with the file and no text.
    let (status, posted) = agent_posts(&app, &w, json!({"attachment_ids": [id]})).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    assert_eq!(posted["message"]["body"], "");
    assert_eq!(
        posted["message"]["attachments"],
        json!([{"id": id, "filename": "screen.png", "content_type": "image/png", "size": PNG.len()}])
    );
    // The contact's live stream shows the reply with its file.
    let frame = next_of(&mut contact_socket, "message.created").await;
    assert_eq!(
        frame["data"]["message"]["attachments"][0]["id"], id,
        "{frame}"
    );

    // The agent downloads it: inline, never sniffed.
    let response = get(
        &app,
        uploaded["url"].as_str().unwrap(),
        Some(&w.agent.token),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "image/png");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(header(&response, "content-disposition").starts_with("inline;"));
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);

    // The contact downloads it as an <img src> would (token in the query),
    // or with the header.
    let public = format!("/api/v1/public/inboxes/{}/attachments/{id}", w.inbox_token);
    let response = get(
        &app,
        &format!("{public}?contact_token={}", w.contact_token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    let response = app
        .client
        .get(app.url(&public))
        .header("X-Contact-Token", &w.contact_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Without a token: 401.
    assert_eq!(
        get(&app, &public, None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The contact uploads a text file and sends it with their message.
    let (status, theirs) = contact_upload(
        &app,
        &w,
        &w.contact_token,
        form("log.txt", "text/plain", b"error 42 at startup\n"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let theirs_id = theirs["id"].as_i64().unwrap();
    assert_eq!(
        theirs["url"],
        format!(
            "/api/v1/public/inboxes/{}/attachments/{theirs_id}",
            w.inbox_token
        )
    );
    // Before it is sent, its uploader can see it.
    let response = get(
        &app,
        &format!(
            "{}?contact_token={}",
            theirs["url"].as_str().unwrap(),
            w.contact_token
        ),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, sent) = contact_posts(
        &app,
        &w,
        &w.contact_token,
        json!({"body": "", "attachment_ids": [theirs_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["conversation_id"], w.conversation);
    assert_eq!(sent["message"]["attachments"][0]["filename"], "log.txt");

    // Both sides' histories list the files.
    let (_, history) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                w.agent.account, w.conversation
            ),
            Some(&w.agent.token),
            None,
        )
        .await;
    let with_files: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.get("attachments").is_some())
        .collect();
    assert_eq!(with_files.len(), 2, "{history}");
    let response = app
        .client
        .get(app.url(&format!(
            "/api/v1/public/inboxes/{}/messages",
            w.inbox_token
        )))
        .header("X-Contact-Token", &w.contact_token)
        .send()
        .await
        .unwrap();
    let theirs_view: Value = response.json().await.unwrap();
    assert_eq!(
        theirs_view["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m.get("attachments").is_some())
            .count(),
        2
    );

    // The agent downloads the contact's text as plain text.
    let response = get(
        &app,
        &format!(
            "/api/v1/accounts/{}/attachments/{theirs_id}",
            w.agent.account
        ),
        Some(&w.agent.token),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), "error 42 at startup\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_attach_and_download_on_sqlite() {
    round_trip(sqlite_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_attach_and_download_on_postgres() {
    round_trip(postgres_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_those_who_see_the_conversation_get_its_files() {
    let app = sqlite_app().await;
    let w = world(&app).await;
    let (_, file) = agent_upload(&app, &w, form("a.png", "image/png", PNG)).await;
    let id = file["id"].as_i64().unwrap();
    let public = |token: &str| {
        format!(
            "/api/v1/public/inboxes/{}/attachments/{id}?contact_token={token}",
            w.inbox_token
        )
    };

    // Not yet attached: agents see it, the contact does not.
    assert_eq!(
        get(&app, &public(&w.contact_token), None).await.status(),
        StatusCode::NOT_FOUND
    );
    // A private note's file is never the contact's.
    let (status, note) = agent_posts(
        &app,
        &w,
        json!({"body": "internal", "private": true, "attachment_ids": [id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let response = get(&app, &public(&w.contact_token), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/accounts/{}/attachments/{id}", w.agent.account),
            Some(&w.agent.token)
        )
        .await
        .status(),
        StatusCode::OK
    );

    // A reply's file: another contact of the same inbox does not get it.
    let (_, shown) = agent_upload(&app, &w, form("b.png", "image/png", PNG)).await;
    let shown_id = shown["id"].as_i64().unwrap();
    let (status, _) = agent_posts(
        &app,
        &w,
        json!({"body": "see", "attachment_ids": [shown_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let stranger = app.contact_session(&w.inbox_token).await;
    let shown_url = |token: &str| {
        format!(
            "/api/v1/public/inboxes/{}/attachments/{shown_id}?contact_token={token}",
            w.inbox_token
        )
    };
    assert_eq!(
        get(&app, &shown_url(&w.contact_token), None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&app, &shown_url(&stranger), None).await.status(),
        StatusCode::NOT_FOUND
    );
    // Nor through another inbox of the account.
    let other_inbox = app.create_inbox(&w.agent, "in_app").await;
    let other_token = other_inbox["token"].as_str().unwrap();
    let other_contact = app.contact_session(other_token).await;
    assert_eq!(
        get(
            &app,
            &format!(
                "/api/v1/public/inboxes/{other_token}/attachments/{shown_id}?contact_token={other_contact}"
            ),
            None
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );

    // Another account's agent gets nothing, by either path.
    let rival = app.new_account("Rival").await;
    for path in [
        format!(
            "/api/v1/accounts/{}/attachments/{shown_id}",
            w.agent.account
        ),
        format!("/api/v1/accounts/{}/attachments/{shown_id}", rival.account),
    ] {
        assert_eq!(
            get(&app, &path, Some(&rival.token)).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // ... and cannot upload into this account's conversation.
    let response = app
        .client
        .post(app.url(&w.agent_upload_path()))
        .bearer_auth(&rival.token)
        .multipart(form("x.png", "image/png", PNG))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Files that are not the sender's own unattached uploads are refused
    // with 422, and nothing is posted.
    let (status, error) = contact_posts(
        &app,
        &w,
        &w.contact_token,
        json!({"body": "mine now", "attachment_ids": [shown_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["code"], "invalid_field");
    assert_eq!(error["error"]["field"], "attachment_ids");
    let (_, strangers) =
        contact_upload(&app, &w, &stranger, form("s.txt", "text/plain", b"hi")).await;
    let (status, _) = contact_posts(
        &app,
        &w,
        &w.contact_token,
        json!({"body": "yours", "attachment_ids": [strangers["id"]]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = agent_posts(
        &app,
        &w,
        json!({"body": "again", "attachment_ids": [shown_id]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // An empty message without files is still refused.
    let (status, _) = agent_posts(&app, &w, json!({"body": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_types_and_file_names() {
    const LIMIT: u64 = 128 * 1024;
    let dir = test_attachments_dir();
    let config = confab_server::ServerConfig {
        attachment_max_bytes: LIMIT,
        attachments_dir: dir.clone(),
        ..test_config()
    };
    let app = spawn_app(
        std::sync::Arc::new(confab_store_sqlite::testing::fresh_store().await),
        config,
    )
    .await;
    let w = world(&app).await;

    // Bigger than the JSON body limit, within the attachment limit: taken.
    let big = vec![b'x'; 100 * 1024];
    let (status, file) = agent_upload(&app, &w, form("big.txt", "text/plain", &big)).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["size"], big.len());
    // Over the attachment limit: 413 too_large, and nothing kept.
    let over = vec![b'x'; LIMIT as usize + 1];
    let (status, error) = agent_upload(&app, &w, form("over.txt", "text/plain", &over)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["error"]["code"], "too_large");
    let (status, error) = contact_upload(
        &app,
        &w,
        &w.contact_token,
        form("over.txt", "text/plain", &over),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");

    // Programs, HTML, SVG and scripts: 415 unsupported_type, whatever they claim to be.
    let refused: [(&str, &str, &[u8]); 5] = [
        (
            "page.html",
            "text/html",
            b"<!DOCTYPE html><script>alert(1)</script>",
        ),
        (
            "cat.png",
            "image/png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        ("notes.txt", "text/plain", b"<html><body onload=alert(1)>"),
        (
            "setup.pdf",
            "application/pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
        ),
        ("app.js", "text/plain", b"alert(document.cookie)"),
    ];
    for (name, claimed, data) in refused {
        let (status, error) =
            contact_upload(&app, &w, &w.contact_token, form(name, claimed, data)).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}: {error}"
        );
        assert_eq!(error["error"]["code"], "unsupported_type");
    }
    // A file that is not what it claims is stored as what it is, and
    // served as a download.
    let (status, odd) = agent_upload(
        &app,
        &w,
        form("photo.jpg", "image/jpeg", b"\x00\x01\x02\x03 binary"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(odd["content_type"], "application/octet-stream");
    let response = get(&app, odd["url"].as_str().unwrap(), Some(&w.agent.token)).await;
    assert_eq!(
        header(&response, "content-type"),
        "application/octet-stream"
    );
    assert!(header(&response, "content-disposition").starts_with("attachment;"));

    // File names lose their folders and control characters; the file on
    // disk is named by a random key, inside the attachments folder.
    let (status, sneaky) = agent_upload(
        &app,
        &w,
        form("../../../../tmp/ev\u{202E}il.txt", "text/plain", b"pwned?"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sneaky}");
    assert_eq!(sneaky["filename"], "evil.txt");
    let response = get(&app, sneaky["url"].as_str().unwrap(), Some(&w.agent.token)).await;
    assert_eq!(
        header(&response, "content-disposition"),
        "inline; filename=\"evil.txt\"; filename*=UTF-8''evil.txt"
    );
    let mut names = Vec::new();
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                folders.push(entry.path());
            } else {
                names.push(entry.file_name().to_string_lossy().to_string());
            }
        }
    }
    assert_eq!(names.len(), 3, "big, odd and sneaky: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.len() == 32 && n.chars().all(|c| c.is_ascii_hexdigit())),
        "{names:?}"
    );

    // Bad requests get clear errors.
    let (status, error) = agent_upload(&app, &w, Form::new().text("note", "no file here")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "file");
    let (status, error) = app
        .call(
            Method::POST,
            &w.agent_upload_path(),
            Some(&w.agent.token),
            Some(json!({"file": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "bad_request");
    let _ = std::fs::remove_dir_all(dir);
}
