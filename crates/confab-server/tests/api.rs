//! The HTTP API end to end, on SQLite and on PostgreSQL.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
    folder_table_through_http,
    conversation_life_and_search,
    snooze_wakes_through_the_scheduler,
    bad_input_gets_clear_errors,
    other_accounts_answer_not_found,
    sessions_roles_and_setup,
    agents_choose_their_language,
    tags_are_listed_for_agents_and_managed_by_admins,
);

async fn tags_are_listed_for_agents_and_managed_by_admins(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let agent = app.add_plain_agent(&admin).await;
    let inbox = app.create_inbox(&admin, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let tags = |agent: &Agent| format!("/api/v1/accounts/{}/tags", agent.account);
    for (n, set) in [json!(["Billing", "vip"]), json!(["billing"])]
        .into_iter()
        .enumerate()
    {
        let contact = app.contact_session(token).await;
        let id = app
            .contact_writes(token, &contact, &format!("hello {n}"))
            .await;
        let (code, _) = app
            .call(
                Method::PUT,
                &conv(&admin, id, "/tags"),
                Some(&admin.token),
                Some(json!({"tags": set})),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
    }
    // Every agent may list them (suggestions), with their counts.
    let (code, list) = app
        .call(Method::GET, &tags(&agent), Some(&agent.token), None)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        list["items"],
        json!([{"name": "billing", "conversations": 2}, {"name": "vip", "conversations": 1}])
    );
    // Only admins rename or remove.
    let billing = format!("{}/billing", tags(&admin));
    let (code, refused) = app
        .call(
            Method::PATCH,
            &billing,
            Some(&agent.token),
            Some(json!({"name": "invoices"})),
        )
        .await;
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // Bad names and unknown tags are clear errors.
    let (code, bad) = app
        .call(
            Method::PATCH,
            &billing,
            Some(&admin.token),
            Some(json!({"name": "a,b"})),
        )
        .await;
    assert_eq!(
        (code, bad["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        "{bad}"
    );
    let (code, missing) = app
        .call(
            Method::DELETE,
            &format!("{}/nope", tags(&admin)),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(
        (code, missing["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Rename (case and spaces normalised; merges into an existing tag), then remove.
    let (code, renamed) = app
        .call(
            Method::PATCH,
            &billing,
            Some(&admin.token),
            Some(json!({"name": "  VIP "})),
        )
        .await;
    assert_eq!(
        (code, renamed["conversations"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{renamed}"
    );
    let (_, list) = app
        .call(Method::GET, &tags(&admin), Some(&admin.token), None)
        .await;
    assert_eq!(list["items"], json!([{"name": "vip", "conversations": 2}]));
    let (code, removed) = app
        .call(
            Method::DELETE,
            &format!("{}/vip", tags(&admin)),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(
        (code, removed["conversations"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let (_, list) = app
        .call(Method::GET, &tags(&admin), Some(&admin.token), None)
        .await;
    assert_eq!(list["items"], json!([]));
}

async fn agents_choose_their_language(app: TestApp) {
    let admin = app.new_account("Acme").await;
    let me = format!("/api/v1/accounts/{}/agents/{}", admin.account, admin.id);
    let (_, session) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&admin.token), None)
        .await;
    assert_eq!(session["agent"]["locale"], Value::Null, "{session}");
    // An agent sets their own language; it comes back with the session.
    let (code, patched) = app
        .call(
            Method::PATCH,
            &me,
            Some(&admin.token),
            Some(json!({"locale": "pt-BR"})),
        )
        .await;
    assert_eq!(
        (code, patched["locale"].as_str()),
        (StatusCode::OK, Some("pt-BR")),
        "{patched}"
    );
    let (_, session) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&admin.token), None)
        .await;
    assert_eq!(session["agent"]["locale"], "pt-BR");
    // A language Confab does not speak is refused, and nothing changes.
    let (code, refused) = app
        .call(
            Method::PATCH,
            &me,
            Some(&admin.token),
            Some(json!({"locale": "klingon", "name": "Changed"})),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["code"].is_string() && refused["error"]["message"].is_string(),
        "{refused}"
    );
    let (_, session) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&admin.token), None)
        .await;
    assert_eq!(session["agent"]["locale"], "pt-BR");
    assert_ne!(session["agent"]["name"], "Changed");
    // A plain agent chooses their own language, not anyone else's.
    let agent = app.add_plain_agent(&admin).await;
    let theirs = format!("/api/v1/accounts/{}/agents/{}", agent.account, agent.id);
    let (code, own) = app
        .call(
            Method::PATCH,
            &theirs,
            Some(&agent.token),
            Some(json!({"locale": "en"})),
        )
        .await;
    assert_eq!(
        (code, own["locale"].as_str()),
        (StatusCode::OK, Some("en")),
        "{own}"
    );
    let (code, refused) = app
        .call(
            Method::PATCH,
            &me,
            Some(&agent.token),
            Some(json!({"locale": "en"})),
        )
        .await;
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (_, session) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&admin.token), None)
        .await;
    assert_eq!(session["agent"]["locale"], "pt-BR");
}

fn conv(agent: &Agent, id: i64, rest: &str) -> String {
    format!(
        "/api/v1/accounts/{}/conversations/{id}{rest}",
        agent.account,
        id = id
    )
}

/// Brings a fresh conversation into `folder` through HTTP.
async fn in_folder(app: &TestApp, agent: &Agent, inbox_token: &str, folder: &str) -> i64 {
    let contact = app.contact_session(inbox_token).await;
    let id = app.contact_writes(inbox_token, &contact, "start").await;
    let (path, body) = match folder {
        "open" => return id,
        "answered" => ("/messages", json!({"body": "answer"})),
        "closed" => ("/close", json!({})),
        "snoozed" => ("/snooze", json!({"minutes": 30})),
        "deleted" => ("/delete", json!({})),
        "spam" => ("/spam", json!({})),
        _ => unreachable!(),
    };
    let (status, body) = app
        .call(
            Method::POST,
            &conv(agent, id, path),
            Some(&agent.token),
            Some(body),
        )
        .await;
    assert!(status.is_success(), "{folder}: {status} {body}");
    id
}

/// SPEC §2, every agent-triggered row, for every inbox kind, through HTTP.
async fn folder_table_through_http(app: TestApp) {
    let agent = app.new_account("Table").await;
    let folders = ["open", "answered", "closed", "snoozed", "deleted", "spam"];
    // (action, body, expected folder per column open..spam; None = 409)
    let rows: Vec<(&str, Value, [Option<&str>; 6])> = vec![
        (
            "close",
            json!({}),
            [
                Some("closed"),
                Some("closed"),
                None,
                Some("closed"),
                None,
                None,
            ],
        ),
        (
            "reopen",
            json!({}),
            [None, Some("open"), Some("open"), Some("open"), None, None],
        ),
        (
            "snooze",
            json!({"minutes": 60}),
            [
                Some("snoozed"),
                Some("snoozed"),
                Some("snoozed"),
                Some("snoozed"),
                None,
                None,
            ],
        ),
        (
            "delete",
            json!({}),
            [
                Some("deleted"),
                Some("deleted"),
                Some("deleted"),
                Some("deleted"),
                None,
                Some("deleted"),
            ],
        ),
        (
            "restore",
            json!({}),
            [None, None, None, None, Some("open"), None],
        ),
        (
            "spam",
            json!({}),
            [
                Some("spam"),
                Some("spam"),
                Some("spam"),
                Some("spam"),
                Some("spam"),
                None,
            ],
        ),
        (
            "not_spam",
            json!({}),
            [None, None, None, None, None, Some("open")],
        ),
        (
            "note",
            json!({"body": "note", "private": true}),
            [
                Some("open"),
                Some("answered"),
                Some("closed"),
                Some("snoozed"),
                None,
                None,
            ],
        ),
    ];
    for kind in ["chat", "in_app", "email", "form"] {
        let inbox = app.create_inbox(&agent, kind).await;
        let token = inbox["token"].as_str().unwrap().to_string();
        let answered_exists = kind == "email" || kind == "in_app";
        let reply_row: [Option<&str>; 6] = if answered_exists {
            [
                Some("answered"),
                Some("answered"),
                Some("closed"),
                Some("snoozed"),
                None,
                None,
            ]
        } else {
            [
                Some("open"),
                None,
                Some("closed"),
                Some("snoozed"),
                None,
                None,
            ]
        };
        let contact_row = [
            Some("open"),
            Some("open"),
            Some("open"),
            Some("open"),
            Some("deleted"),
            Some("spam"),
        ];
        let mut all_rows = rows.clone();
        all_rows.push(("reply", json!({"body": "reply"}), reply_row));
        for (action, body, expected) in &all_rows {
            for (column, folder) in folders.iter().enumerate() {
                if *folder == "answered" && !answered_exists {
                    continue;
                }
                let id = in_folder(&app, &agent, &token, folder).await;
                let path = match *action {
                    "note" | "reply" => "/messages".to_string(),
                    other => format!("/{other}"),
                };
                let (status, answer) = app
                    .call(
                        Method::POST,
                        &conv(&agent, id, &path),
                        Some(&agent.token),
                        Some(body.clone()),
                    )
                    .await;
                let (_, now) = app
                    .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
                    .await;
                match expected[column] {
                    Some(after) => {
                        assert!(
                            status.is_success(),
                            "{kind}: {action} on {folder}: {status} {answer}"
                        );
                        assert_eq!(now["folder"], after, "{kind}: {action} on {folder}");
                    }
                    None => {
                        assert_eq!(
                            status,
                            StatusCode::CONFLICT,
                            "{kind}: {action} on {folder}: {answer}"
                        );
                        assert_eq!(answer["error"]["code"], "transition_refused");
                        let message = answer["error"]["message"].as_str().unwrap();
                        assert!(
                            message.contains(folder),
                            "the error names the folder: {message}"
                        );
                        assert_eq!(now["folder"], *folder, "a refusal changes nothing");
                    }
                }
            }
        }
        // The contact writes, in every folder.
        for (column, folder) in folders.iter().enumerate() {
            if *folder == "answered" && !answered_exists {
                continue;
            }
            let contact = app.contact_session(&token).await;
            let id = app.contact_writes(&token, &contact, "start").await;
            if *folder != "open" {
                let path = match *folder {
                    "answered" => "/messages",
                    "closed" => "/close",
                    "snoozed" => "/snooze",
                    "deleted" => "/delete",
                    _ => "/spam",
                };
                let body = match *folder {
                    "answered" => json!({"body": "answer"}),
                    "snoozed" => json!({"minutes": 30}),
                    _ => json!({}),
                };
                let (status, _) = app
                    .call(
                        Method::POST,
                        &conv(&agent, id, path),
                        Some(&agent.token),
                        Some(body),
                    )
                    .await;
                assert!(status.is_success());
            }
            let into = app.contact_writes(&token, &contact, "again").await;
            let (_, now) = app
                .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
                .await;
            assert_eq!(
                now["folder"],
                contact_row[column].unwrap(),
                "{kind}: contact writes in {folder}"
            );
            if *folder == "deleted" {
                assert_ne!(into, id, "a new conversation takes the message");
                let (_, new) = app
                    .call(
                        Method::GET,
                        &conv(&agent, into, ""),
                        Some(&agent.token),
                        None,
                    )
                    .await;
                assert_eq!(new["folder"], "open");
            } else {
                assert_eq!(into, id);
            }
        }
    }
}

async fn conversation_life_and_search(app: TestApp) {
    let agent = app.new_account("Life").await;
    let inbox = app.create_inbox(&agent, "email").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app
        .contact_writes(token, &contact, "My invoice for October is wrong")
        .await;
    let list = format!("/api/v1/accounts/{}/conversations", agent.account);
    let (status, page) = app.call(Method::GET, &list, Some(&agent.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"][0]["id"], id);
    assert_eq!(page["items"][0]["unread_count"], 1);
    // Reply with an idempotency key, twice: one message.
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let response = app
            .client
            .post(app.url(&conv(&agent, id, "/messages")))
            .bearer_auth(&agent.token)
            .header("Idempotency-Key", "reply-1")
            .json(&json!({"body": "Sorry! Fixed."}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    app.call(
        Method::POST,
        &conv(&agent, id, "/messages"),
        Some(&agent.token),
        Some(json!({"body": "customer is VIP", "private": true})),
    )
    .await;
    let (_, history) = app
        .call(
            Method::GET,
            &conv(&agent, id, "/messages"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 3);
    // The contact never sees private notes.
    let response = app
        .client
        .get(app.url(&format!("/api/v1/public/inboxes/{token}/messages")))
        .header("X-Contact-Token", &contact)
        .send()
        .await
        .unwrap();
    let theirs: Value = response.json().await.unwrap();
    let bodies: Vec<&str> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["My invoice for October is wrong", "Sorry! Fixed."]);
    // Folder and counts.
    let (_, counts) = app
        .call(
            Method::GET,
            &format!("{list}/counts"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(
        counts,
        json!({"open": 0, "answered": 1, "closed": 0, "snoozed": 0, "deleted": 0, "spam": 0})
    );
    // Search with highlighted snippets, combinable with a folder.
    let (_, found) = app
        .call(
            Method::GET,
            &format!("{list}?folder=answered&q=invoice"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(found["items"][0]["id"], id);
    assert!(
        found["items"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>invoice</mark>")
    );
    let (_, vip) = app
        .call(
            Method::GET,
            &format!("{list}?folder=any&q=vip"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(vip["items"][0]["id"], id, "agents find private notes");
    let (_, none) = app
        .call(
            Method::GET,
            &format!("{list}?folder=open&q=invoice"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(none["items"], json!([]));
    // Tags, assignment, filters.
    let (status, tagged) = app
        .call(
            Method::PUT,
            &conv(&agent, id, "/tags"),
            Some(&agent.token),
            Some(json!({"tags": ["Billing", "billing", "vip"]})),
        )
        .await;
    assert_eq!(
        (status, tagged["tags"].clone()),
        (StatusCode::OK, json!(["billing", "vip"]))
    );
    let (_, assigned) = app
        .call(
            Method::POST,
            &conv(&agent, id, "/assign"),
            Some(&agent.token),
            Some(json!({"agent_id": agent.id})),
        )
        .await;
    assert_eq!(assigned["assignee_id"], agent.id);
    let (_, mine) = app
        .call(
            Method::GET,
            &format!("{list}?folder=answered&scope=mine&tag=billing&channel=email"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(mine["items"][0]["id"], id);
    // The contact answers: back to open; the contact panel shows it.
    app.contact_writes(token, &contact, "Thanks!").await;
    let (_, now) = app
        .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
        .await;
    assert_eq!(now["folder"], "open");
    let contact_id = now["contact_id"].as_i64().unwrap();
    let (_, profile) = app
        .call(
            Method::GET,
            &format!("/api/v1/accounts/{}/contacts/{contact_id}", agent.account),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(profile["conversations"][0]["id"], id);
    let (status, patched) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/contacts/{contact_id}", agent.account),
            Some(&agent.token),
            Some(json!({"name": "Dora", "custom_attributes": {"plan": "pro"}})),
        )
        .await;
    assert_eq!(
        (
            status,
            patched["name"].clone(),
            patched["custom_attributes"]["plan"].clone()
        ),
        (StatusCode::OK, json!("Dora"), json!("pro"))
    );
    // Form: JSON and HTML posts open tickets; the honeypot rejects bots.
    let form = app.create_inbox(&agent, "form").await;
    let form_url = app.url(&format!(
        "/api/v1/public/inboxes/{}/form",
        form["token"].as_str().unwrap()
    ));
    let response = app.client.post(&form_url).json(&json!({"name": "Eva", "email": "eva@example.com", "subject": "Quote", "message": "How much?"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let accepted: Value = response.json().await.unwrap();
    assert!(accepted["conversation_id"].as_i64().is_some());
    let response = app
        .client
        .post(&form_url)
        .form(&[("email", "eva@example.com"), ("message", "Again")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Thank you"));
    let response = app
        .client
        .post(&form_url)
        .json(&json!({"email": "bot@example.com", "message": "spam", "website": "http://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The inbox's thank-you page: HTML posts go there (or to a page of the
    // same site), never to another site.
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", agent.account, form["id"]),
            Some(&agent.token),
            Some(json!({"thank_you_url": "ftp://acme.test/x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, updated) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/inboxes/{}", agent.account, form["id"]),
            Some(&agent.token),
            Some(json!({"thank_you_url": "https://acme.test/thanks"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["thank_you_url"], "https://acme.test/thanks");
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (redirect_to, expected) in [
        (None, "https://acme.test/thanks"),
        (
            Some("https://acme.test/pricing?sent=1"),
            "https://acme.test/pricing?sent=1",
        ),
        (Some("https://evil.test/phish"), "https://acme.test/thanks"),
    ] {
        let mut fields = vec![("email", "eva@example.com"), ("message", "Redirect me")];
        if let Some(to) = redirect_to {
            fields.push(("redirect_to", to));
        }
        let response = no_follow
            .post(&form_url)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], expected);
    }
    let (_, forms) = app
        .call(
            Method::GET,
            &format!("{list}?channel=form"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(
        forms["items"].as_array().unwrap().len(),
        5,
        "each submission is a ticket"
    );
}

async fn snooze_wakes_through_the_scheduler(app: TestApp) {
    let agent = app.new_account("Snooze").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app.contact_writes(token, &contact, "wake me").await;
    let (status, snoozed) = app
        .call(
            Method::POST,
            &conv(&agent, id, "/snooze"),
            Some(&agent.token),
            Some(json!({"minutes": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snoozed["folder"], "snoozed");
    app.clock.advance_minutes(4);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let (_, still) = app
        .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
        .await;
    assert_eq!(still["folder"], "snoozed", "not before its time");
    app.clock.advance_minutes(1);
    // Fired within a second of its due time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let (_, now) = app
            .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
            .await;
        if now["folder"] == "open" {
            assert_eq!(now["snoozed_until"], Value::Null);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the snooze did not fire within a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn bad_input_gets_clear_errors(app: TestApp) {
    let agent = app.new_account("Bad").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app.contact_writes(token, &contact, "hi").await;
    let list = format!("/api/v1/accounts/{}/conversations", agent.account);
    let check = |(status, body): (StatusCode, Value), want: StatusCode, code: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    };
    check(
        app.call(
            Method::POST,
            &conv(&agent, id, "/snooze"),
            Some(&agent.token),
            Some(json!({"minutes": 4})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::POST,
            &conv(&agent, id, "/snooze"),
            Some(&agent.token),
            Some(json!({"minutes": "soon"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::POST,
            &conv(&agent, id, "/snooze"),
            Some(&agent.token),
            Some(json!({})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::POST,
            &conv(&agent, id, "/messages"),
            Some(&agent.token),
            Some(json!({"body": "   "})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::GET,
            &format!("{list}?folder=nope"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::GET,
            &format!("{list}?limit=0"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::GET,
            &format!("{list}?cursor=garbage"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::GET,
            &format!("{list}?unread=maybe"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
    );
    check(
        app.call(
            Method::GET,
            &format!("{list}?created_after=yesterday"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::PUT,
            &conv(&agent, id, "/tags"),
            Some(&agent.token),
            Some(json!({"tags": ["a,b"]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::POST,
            &format!("/api/v1/accounts/{}/inboxes", agent.account),
            Some(&agent.token),
            Some(json!({"name": "x", "kind": "fax"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::POST,
            &format!("/api/v1/accounts/{}/inboxes", agent.account),
            Some(&agent.token),
            Some(json!({"name": "x", "kind": "email"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    check(
        app.call(
            Method::GET,
            &conv(&agent, 999_999, ""),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    check(
        app.call(
            Method::GET,
            &conv(&agent, id, "").replace(&id.to_string(), "abc"),
            Some(&agent.token),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    check(
        app.call(Method::GET, &list, None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    check(
        app.call(Method::GET, &list, Some("not-a-token"), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    check(
        app.call(Method::GET, "/api/v1/nowhere", None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Malformed JSON and wrong content type.
    let response = app
        .client
        .post(app.url(&conv(&agent, id, "/messages")))
        .bearer_auth(&agent.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_json"
    );
    let response = app
        .client
        .post(app.url(&conv(&agent, id, "/messages")))
        .bearer_auth(&agent.token)
        .body("body=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Too large a body.
    // Just over the limit, so the client has sent it all before the 413 comes back.
    let huge = "x".repeat(TEST_BODY_LIMIT + 1000);
    let response = app
        .client
        .post(app.url(&conv(&agent, id, "/messages")))
        .bearer_auth(&agent.token)
        .json(&json!({"body": huge}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Public side: unknown inbox, missing or foreign contact token.
    check(
        app.call(
            Method::POST,
            "/api/v1/public/inboxes/nope/contacts",
            None,
            Some(json!({})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let response = app
        .client
        .post(app.url(&format!("/api/v1/public/inboxes/{token}/messages")))
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let other_inbox = app.create_inbox(&agent, "in_app").await;
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/public/inboxes/{}/messages",
            other_inbox["token"].as_str().unwrap()
        )))
        .header("X-Contact-Token", &contact)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "a contact token works for its own inbox only"
    );
    let response = app
        .client
        .post(app.url("/api/v1/public/inboxes/nope/messages"))
        .header("X-Contact-Token", &contact)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "an unknown inbox");
    // Nothing half-written: the conversation still has its one message.
    let (_, history) = app
        .call(
            Method::GET,
            &conv(&agent, id, "/messages"),
            Some(&agent.token),
            None,
        )
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

async fn other_accounts_answer_not_found(app: TestApp) {
    let mine = app.new_account("Mine").await;
    let theirs = app.new_account("Theirs").await;
    let inbox = app.create_inbox(&theirs, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app.contact_writes(token, &contact, "private stuff").await;
    let contact_id = app
        .call(
            Method::GET,
            &conv(&theirs, id, ""),
            Some(&theirs.token),
            None,
        )
        .await
        .1["contact_id"]
        .as_i64()
        .unwrap();
    // My token, their account in the path.
    let spoofed = Agent {
        account: theirs.account,
        id: mine.id,
        token: mine.token.clone(),
    };
    for (method, path, body) in [
        (Method::GET, conv(&spoofed, id, ""), None),
        (
            Method::GET,
            format!("/api/v1/accounts/{}/conversations", theirs.account),
            None,
        ),
        (Method::POST, conv(&spoofed, id, "/close"), Some(json!({}))),
        (
            Method::GET,
            format!("/api/v1/accounts/{}/contacts/{contact_id}", theirs.account),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{}/inboxes", theirs.account),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{}/agents", theirs.account),
            None,
        ),
    ] {
        let (status, answer) = app.call(method, &path, Some(&mine.token), body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    // My account in the path, their ids.
    for (method, path, body) in [
        (Method::GET, conv(&mine, id, ""), None),
        (Method::GET, conv(&mine, id, "/messages"), None),
        (
            Method::POST,
            conv(&mine, id, "/messages"),
            Some(json!({"body": "hi"})),
        ),
        (Method::POST, conv(&mine, id, "/spam"), Some(json!({}))),
        (
            Method::PUT,
            conv(&mine, id, "/tags"),
            Some(json!({"tags": []})),
        ),
        (
            Method::POST,
            conv(&mine, id, "/assign"),
            Some(json!({"agent_id": null})),
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{}/contacts/{contact_id}", mine.account),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/accounts/{}/contacts/{contact_id}", mine.account),
            Some(json!({"name": "x"})),
        ),
    ] {
        let (status, answer) = app.call(method, &path, Some(&mine.token), body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    let (_, search) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/accounts/{}/conversations?folder=any&q=private",
                mine.account
            ),
            Some(&mine.token),
            None,
        )
        .await;
    assert_eq!(search["items"], json!([]));
    let (_, still) = app
        .call(
            Method::GET,
            &conv(&theirs, id, ""),
            Some(&theirs.token),
            None,
        )
        .await;
    assert_eq!(still["folder"], "open");
}

async fn sessions_roles_and_setup(app: TestApp) {
    // First run: setup is offered once.
    let (_, status) = app.call(Method::GET, "/api/v1/setup", None, None).await;
    assert_eq!(status["needs_setup"], true);
    let (code, _) = app.call(Method::POST, "/api/v1/setup", None, Some(json!({"account_name": "Acme", "name": "Ada", "email": "not-an-email", "password": "long enough"}))).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let setup = json!({"account_name": "Acme", "name": "Ada", "email": "ada@acme.test", "password": "long enough"});
    let (code, created) = app
        .call(Method::POST, "/api/v1/setup", None, Some(setup.clone()))
        .await;
    assert_eq!(code, StatusCode::OK, "{created}");
    let account = created["account"]["id"].as_i64().unwrap();
    let (code, again) = app
        .call(Method::POST, "/api/v1/setup", None, Some(setup))
        .await;
    assert_eq!(
        (code, again["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_set_up"))
    );
    // Login with a cookie session.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ADA@acme.test", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@acme.test", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let me: Value = browser
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["agent"]["email"], "ada@acme.test");
    // An admin adds an agent; the agent cannot manage inboxes or agents.
    let response = browser
        .post(app.url(&format!("/api/v1/accounts/{account}/agents")))
        .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "bob password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = browser
        .post(app.url(&format!("/api/v1/accounts/{account}/agents")))
        .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "bob password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let bob = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    bob.post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "bob@acme.test", "password": "bob password"}))
        .send()
        .await
        .unwrap();
    let response = bob
        .post(app.url(&format!("/api/v1/accounts/{account}/inboxes")))
        .json(&json!({"name": "x", "kind": "chat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = bob
        .post(app.url(&format!("/api/v1/accounts/{account}/agents")))
        .json(&json!({"name": "Eve", "email": "eve@acme.test", "password": "eve password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        bob.get(app.url(&format!("/api/v1/accounts/{account}/conversations")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Logout ends the session.
    assert_eq!(
        browser
            .post(app.url("/api/v1/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        browser
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Health.
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.0,
        StatusCode::OK
    );
    let (code, ready) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (code, ready["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trash_is_purged_after_the_retention() {
    let app = sqlite_app().await;
    let agent = app.new_account("Trash").await;
    let inbox = app.create_inbox(&agent, "chat").await;
    let token = inbox["token"].as_str().unwrap();
    let contact = app.contact_session(token).await;
    let id = app.contact_writes(token, &contact, "throw me away").await;
    let (status, _) = app
        .call(
            Method::POST,
            &conv(&agent, id, "/delete"),
            Some(&agent.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance_minutes(29 * 24 * 60);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        app.call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
            .await
            .0,
        StatusCode::OK,
        "still restorable"
    );
    app.clock.advance_minutes(24 * 60 + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while app
        .call(Method::GET, &conv(&agent, id, ""), Some(&agent.token), None)
        .await
        .0
        != StatusCode::NOT_FOUND
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not purged after 30 days"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
