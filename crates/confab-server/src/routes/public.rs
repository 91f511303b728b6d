//! The contact's side: sessions, messages and the contact form. Rate limited per IP.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use confab_domain::{AttachmentId, Contact, ConversationId, Inbox, InboxKind, Message, validate};
use confab_store::{ContactPatch, NewContact, NewContactMessage, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::conversations::idempotency_key;
use crate::routes::identity::verify_identity;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_contact))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(submit_form))
}

/// The inbox a public token names.
pub(crate) async fn inbox(state: &AppState, token: &str) -> ApiResult<Inbox> {
    state
        .store
        .inbox_by_token(token)
        .await?
        .ok_or_else(|| ApiError::not_found("inbox"))
}

pub(crate) async fn contact(
    state: &AppState,
    inbox: &Inbox,
    headers: &HeaderMap,
) -> ApiResult<Contact> {
    contact_by_token(state, inbox, headers, None).await
}

/// The contact of a session token: from `X-Contact-Token`, or from the
/// query string where a header cannot be sent (`<img src>`).
pub(crate) async fn contact_by_token(
    state: &AppState,
    inbox: &Inbox,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> ApiResult<Contact> {
    let token = contact_token(headers, query_token)?;
    state
        .store
        .contact_by_session(inbox.id, &token_hash(token))
        .await?
        .ok_or_else(unknown_contact_token)
}

/// The session token sent in `X-Contact-Token` (or the query string).
fn contact_token<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> ApiResult<&'a str> {
    headers
        .get("x-contact-token")
        .and_then(|v| v.to_str().ok())
        .or(query_token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the contact token in X-Contact-Token",
            )
        })
}

fn unknown_contact_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "unknown contact token for this inbox",
    )
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ContactSessionRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// What the widget saw: page, referrer, browser, OS, language, time zone …
    #[schema(value_type = Object)]
    pub browser: Option<serde_json::Map<String, serde_json::Value>>,
    /// The signed-in user's id in the site or app. Needs `identity_hash`;
    /// the same id always comes back as the same contact.
    pub external_id: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `external_id` under the inbox's identity
    /// secret, computed by the site's or app's backend.
    pub identity_hash: Option<String>,
}

/// The most characters an `external_id` may have.
const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// The verified `external_id` of a session request, if it carries one;
/// refuses unsigned or badly signed ones, and anonymous sessions where the
/// inbox requires identity.
async fn verified_external_id(
    state: &AppState,
    inbox: &Inbox,
    request: &ContactSessionRequest,
) -> ApiResult<Option<String>> {
    let external_id = match request.external_id.as_deref() {
        Some(id) => {
            let checked = validate::optional_text("external_id", Some(id), MAX_EXTERNAL_ID_CHARS)?;
            // The hash covers the exact bytes: no silent trimming.
            if checked.as_deref() != Some(id) {
                return Err(ApiError::invalid(
                    "external_id",
                    "must not be blank or have leading or trailing spaces",
                ));
            }
            Some(id)
        }
        None => None,
    };
    match (external_id, request.identity_hash.as_deref()) {
        (Some(external_id), Some(hash)) => {
            let secret = state
                .store
                .inbox_identity_secret(inbox.account_id, inbox.id)
                .await?;
            if verify_identity(&secret, external_id, hash) {
                Ok(Some(external_id.to_string()))
            } else {
                Err(identity_invalid())
            }
        }
        (Some(_), None) => Err(identity_invalid()),
        (None, Some(_)) => Err(ApiError::invalid(
            "external_id",
            "identity_hash needs the external_id it signs",
        )),
        (None, None) if inbox.identity_required => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "identity_required",
            "this inbox only accepts identified users: send external_id and identity_hash",
        )),
        (None, None) => Ok(None),
    }
}

fn identity_invalid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "identity_invalid",
        "identity_hash is not the HMAC-SHA256 of external_id under this inbox's identity secret",
    )
}

#[derive(Serialize, ToSchema)]
pub struct ContactSession {
    pub contact_id: i64,
    /// Send as `X-Contact-Token`; keep it in the browser or app.
    pub token: String,
}

/// Starts a visitor / app-user session: a new contact (or, for a signed
/// `external_id`, the contact it identified before) and a new token.
#[utoipa::path(post, path = "/api/v1/public/inboxes/{inbox_token}/contacts", tag = "public", params(("inbox_token" = String, Path)),
    request_body = ContactSessionRequest, responses((status = 201, body = ContactSession), (status = 401, description = "`identity_invalid` or `identity_required`", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn create_contact(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, axum::Json<ContactSession>)> {
    let inbox = inbox(&state, &token).await?;
    // The body is optional: an anonymous visitor sends nothing.
    let request: ContactSessionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ContactSessionRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                e.to_string(),
            )
        })?
    };
    let external_id = verified_external_id(&state, &inbox, &request).await?;
    let name = validate::optional_text("name", request.name.as_deref(), validate::MAX_NAME_CHARS)?;
    let email = request
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| validate::email("email", e))
        .transpose()?;
    let phone = validate::optional_text("phone", request.phone.as_deref(), 50)?;
    let browser = request
        .browser
        .map(crate::routes::widget::browser_facts)
        .transpose()?;
    let now = state.clock.now();
    let known = match external_id.as_deref() {
        Some(id) => {
            state
                .store
                .contact_by_external_id(inbox.account_id, id)
                .await?
        }
        None => None,
    };
    let contact = match known {
        // The same user again: the same contact, with what they sent now.
        Some(contact) => {
            let patch = ContactPatch {
                name: name.map(Some),
                email: email.map(Some),
                phone: phone.map(Some),
                browser: browser.clone(),
                ..ContactPatch::default()
            };
            let changes = patch.name.is_some()
                || patch.email.is_some()
                || patch.phone.is_some()
                || patch.browser.is_some();
            if changes {
                state
                    .store
                    .update_contact(inbox.account_id, contact.id, patch, now)
                    .await?
            } else {
                contact
            }
        }
        None => {
            let new = NewContact {
                name,
                email,
                phone,
                external_id: external_id.clone(),
                browser: browser.unwrap_or_default(),
                ..NewContact::default()
            };
            match state.store.create_contact(inbox.account_id, new, now).await {
                Ok(contact) => contact,
                // Another session identified the same user a moment ago.
                Err(StoreError::Duplicate {
                    field: "external_id",
                }) => state
                    .store
                    .contact_by_external_id(inbox.account_id, external_id.as_deref().unwrap_or(""))
                    .await?
                    .ok_or_else(ApiError::internal)?,
                Err(error) => return Err(error.into()),
            }
        }
    };
    let session = new_token();
    state
        .store
        .create_contact_session(contact.id, inbox.id, &token_hash(&session), now)
        .await?;
    state.changed(inbox.account_id);
    Ok((
        StatusCode::CREATED,
        axum::Json(ContactSession {
            contact_id: contact.id.0,
            token: session,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ContactMessages {
    /// Messages of the contact's conversations in this inbox, oldest first (never private notes).
    pub items: Vec<ContactMessage>,
}

/// A message as its contact sees it.
#[derive(Serialize, ToSchema)]
pub struct ContactMessage {
    #[serde(flatten)]
    pub message: Message,
    /// Agent replies: their Markdown as safe HTML (raw HTML escaped, only
    /// http(s) and mailto links); absent for the contact's own messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
}

impl From<Message> for ContactMessage {
    fn from(message: Message) -> ContactMessage {
        let body_html = (message.sender_type == confab_domain::SenderType::Agent)
            .then(|| confab_mail::compose::render_fragment(&message.body));
        ContactMessage { message, body_html }
    }
}

/// The contact's side of their conversations in this inbox.
#[utoipa::path(get, path = "/api/v1/public/inboxes/{inbox_token}/messages", tag = "public", params(("inbox_token" = String, Path), ("X-Contact-Token" = String, Header)),
    responses((status = 200, body = ContactMessages), (status = 401, body = crate::error::ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<ContactMessages>> {
    let inbox = inbox(&state, &token).await?;
    let contact = contact(&state, &inbox, &headers).await?;
    let mut conversations = state
        .store
        .contact_conversations(inbox.account_id, contact.id)
        .await?;
    conversations.retain(|c| c.inbox_id == inbox.id);
    conversations.truncate(10);
    let mut items = Vec::new();
    for conversation in conversations.iter().rev() {
        let page = state
            .store
            .list_messages(inbox.account_id, conversation.id, false, None, 100)
            .await?;
        items.extend(page.items.into_iter().map(ContactMessage::from));
    }
    Ok(axum::Json(ContactMessages { items }))
}

#[derive(Deserialize, ToSchema)]
pub struct ContactPost {
    /// What the contact wrote; may be empty when files are attached.
    #[serde(default)]
    pub body: String,
    /// Files uploaded with `POST …/attachments` to attach.
    #[serde(default)]
    pub attachment_ids: Vec<AttachmentId>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactPosted {
    pub conversation_id: ConversationId,
    pub message: Message,
}

/// The contact writes. A repeated `Idempotency-Key` returns the first message.
#[utoipa::path(post, path = "/api/v1/public/inboxes/{inbox_token}/messages", tag = "public",
    params(("inbox_token" = String, Path), ("X-Contact-Token" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ContactPost, responses((status = 201, body = ContactPosted), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Json(request): Json<ContactPost>,
) -> ApiResult<(StatusCode, axum::Json<ContactPosted>)> {
    let session = contact_token(&headers, None)?;
    let has_files = !request.attachment_ids.is_empty();
    let message = NewContactMessage {
        body: validate::message_body_with_attachments(&request.body, has_files)?,
        idempotency_key: idempotency_key(&headers)?,
        attachments: request.attachment_ids,
        ..NewContactMessage::default()
    };
    // Inbox and session are looked up by the write itself (one trip to the
    // database instead of three on the hottest path).
    let posted = state
        .store
        .post_contact_message_by_token(&token, &token_hash(session), message, state.clock.now())
        .await
        .map_err(|error| match error {
            StoreError::NotFound("contact session") => unknown_contact_token(),
            other => other.into(),
        })?;
    // A contact's message may cancel a snooze timer but never sets one
    // (the folder rules), so the scheduler need not look again: it did for
    // every message, two writes and a read each under load.
    state.changed(posted.conversation.account_id);
    let status = if posted.created_message {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ContactPosted {
            conversation_id: posted.conversation.id,
            message: posted.message,
        }),
    ))
}

/// A contact-form submission (JSON or an HTML form post).
#[derive(Deserialize, ToSchema)]
pub struct FormSubmission {
    pub name: Option<String>,
    pub email: String,
    pub subject: Option<String>,
    pub message: String,
    /// Honeypot: hidden from people; bots fill it.
    #[serde(default)]
    pub website: Option<String>,
    /// Where an HTML form post goes afterwards: a page on the same site as
    /// the inbox's `thank_you_url` (others are ignored: no open redirect).
    pub redirect_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FormAccepted {
    pub conversation_id: ConversationId,
}

/// Opens a ticket from a contact form. JSON in, JSON out; a form post is
/// answered with a redirect (`redirect_to`) or a thank-you page.
#[utoipa::path(post, path = "/api/v1/public/inboxes/{inbox_token}/form", tag = "public", params(("inbox_token" = String, Path)),
    request_body(content = FormSubmission, content_type = "application/json"),
    responses((status = 201, body = FormAccepted), (status = 303, description = "form post redirected"), (status = 422, body = crate::error::ErrorBody)))]
async fn submit_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let submission = if is_json {
        Json::<FormSubmission>::from_request(request, &state)
            .await?
            .0
    } else {
        axum::Form::<FormSubmission>::from_request(request, &state)
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    e.body_text(),
                )
            })?
            .0
    };
    let inbox = inbox(&state, &token).await?;
    if inbox.kind != InboxKind::Form {
        return Err(ApiError::not_found("form inbox"));
    }
    if submission
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected_as_bot",
            "this submission looks automated",
        ));
    }
    let email = validate::email("email", &submission.email)?;
    let name =
        validate::optional_text("name", submission.name.as_deref(), validate::MAX_NAME_CHARS)?;
    let subject = validate::optional_text(
        "subject",
        submission.subject.as_deref(),
        validate::MAX_NAME_CHARS,
    )?;
    let body = validate::message_body(&submission.message)
        .map_err(|e| ApiError::invalid("message", e.problem))?;
    let now = state.clock.now();
    let contact = match state
        .store
        .contact_by_email(inbox.account_id, &email)
        .await?
    {
        Some(contact) => contact,
        None => {
            state
                .store
                .create_contact(
                    inbox.account_id,
                    NewContact {
                        name,
                        email: Some(email),
                        ..NewContact::default()
                    },
                    now,
                )
                .await?
        }
    };
    let message = NewContactMessage {
        body,
        subject,
        new_conversation: true,
        ..NewContactMessage::default()
    };
    let posted = state
        .store
        .post_contact_message(inbox.account_id, inbox.id, contact.id, message, now)
        .await?;
    let conversation_id = posted.conversation.id;
    state.changed(inbox.account_id);
    if is_json {
        return Ok((
            StatusCode::CREATED,
            axum::Json(FormAccepted { conversation_id }),
        )
            .into_response());
    }
    match thank_you_page(
        inbox.thank_you_url.as_deref(),
        submission.redirect_to.as_deref(),
    ) {
        Some(url) => Ok(Redirect::to(&url).into_response()),
        None => Ok(Html(THANK_YOU).into_response()),
    }
}

/// Where a form post sends the visitor: the inbox's thank-you page, or a
/// `redirect_to` on the same site as it; `None`: Confab's own page.
fn thank_you_page(inbox_page: Option<&str>, requested: Option<&str>) -> Option<String> {
    let page = url::Url::parse(inbox_page?).ok()?;
    let same_site = requested
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|r| r.origin() == page.origin());
    Some(same_site.unwrap_or(page).to_string())
}

const THANK_YOU: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Thank you</title><body style=\"font-family:system-ui;max-width:32rem;margin:4rem auto;padding:0 1rem\">\
<h1>Thank you!</h1><p>We received your message and will answer by e-mail soon.</p></body></html>";

#[cfg(test)]
mod tests {
    use super::thank_you_page;

    #[test]
    fn form_posts_go_only_to_the_inbox_site() {
        let page = Some("https://acme.test/thanks");
        assert_eq!(thank_you_page(None, Some("https://acme.test/x")), None);
        assert_eq!(
            thank_you_page(page, None).as_deref(),
            Some("https://acme.test/thanks")
        );
        assert_eq!(
            thank_you_page(page, Some("https://acme.test/pricing?sent=1")).as_deref(),
            Some("https://acme.test/pricing?sent=1")
        );
        assert_eq!(
            thank_you_page(page, Some("https://evil.test/phish")).as_deref(),
            Some("https://acme.test/thanks"),
            "no open redirect"
        );
        assert_eq!(
            thank_you_page(page, Some("javascript:alert(1)")).as_deref(),
            Some("https://acme.test/thanks")
        );
    }
}
