//! Files: uploads by agents (into a conversation) and by contacts (from
//! the widget or an app), and downloads for those allowed to see the
//! conversation. An upload is stored unattached; a message takes it with
//! `attachment_ids`. Downloads always carry `X-Content-Type-Options:
//! nosniff`; only images, PDF and text are shown inline, everything else is
//! a download of `application/octet-stream`.

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    ETAG, HeaderValue, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use confab_domain::{AttachmentId, ConversationId};
use confab_store::{StoredAttachment, Uploader};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::attachments::{Incoming, keep, kind};
use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::routes::public::{contact_by_token, inbox};
use crate::state::AppState;

/// Room for the multipart framing around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The upload routes take bodies up to the attachment limit (the rest of
/// the API keeps the smaller `--body-limit`).
fn upload_limit(state: &AppState) -> DefaultBodyLimit {
    let limit = usize::try_from(state.config.attachment_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MULTIPART_OVERHEAD);
    DefaultBodyLimit::max(limit)
}

/// Agents' upload and download.
pub fn agent_router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_agent))
        .layer(upload_limit(state))
        .routes(routes!(download_agent))
}

/// Contacts' upload and download (rate limited with the public API).
pub fn public_router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_public))
        .layer(upload_limit(state))
        .routes(routes!(download_public))
}

/// A stored upload, ready to be attached with `attachment_ids`.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    pub id: AttachmentId,
    /// The file name, cleaned (no folders or control characters).
    pub filename: String,
    /// What Confab found the file to be by its content.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Where to download it (for contacts, add `?contact_token=…` or send
    /// `X-Contact-Token`).
    pub url: String,
}

/// Multipart body of an upload: one file in the field `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

fn multipart_error(error: MultipartError) -> ApiError {
    let status = error.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "too_large", "the upload is too large");
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("unreadable multipart body: {}", error.body_text()),
    )
}

fn multipart_rejection(rejection: MultipartRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!(
            "send multipart/form-data with the file in a field named `file`: {}",
            rejection.body_text()
        ),
    )
}

/// Streams the `file` field to disk and records it. Other fields are ignored.
async fn receive(
    state: &AppState,
    multipart: Result<Multipart, MultipartRejection>,
    account: confab_domain::AccountId,
    conversation: Option<ConversationId>,
    uploader: Uploader,
) -> ApiResult<StoredAttachment> {
    let mut multipart = multipart.map_err(multipart_rejection)?;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().map(str::to_string);
        let declared = field.content_type().map(str::to_string);
        let mut upload = state
            .attachments
            .begin()
            .await
            .map_err(crate::attachments::FileRefused::from)?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            upload
                .write(&chunk)
                .await
                .map_err(crate::attachments::FileRefused::from)?;
        }
        let incoming = Incoming {
            account,
            conversation,
            uploader,
            filename: filename.as_deref(),
            declared_type: declared.as_deref(),
        };
        return Ok(keep(state, upload, incoming).await?);
    }
    Err(ApiError::invalid(
        "file",
        "send the file in a multipart field named `file`",
    ))
}

fn uploaded(stored: &StoredAttachment, url: String) -> (StatusCode, axum::Json<Uploaded>) {
    (
        StatusCode::CREATED,
        axum::Json(Uploaded {
            id: stored.id,
            filename: stored.filename.clone(),
            content_type: stored.content_type.clone(),
            size: stored.size_bytes,
            url,
        }),
    )
}

/// The file's content, with headers that keep a browser from running it.
async fn serve(state: &AppState, attachment: &StoredAttachment) -> ApiResult<Response> {
    let file = match state.attachments.open(&attachment.storage_key).await {
        Ok(file) => file,
        Err(error) => {
            tracing::error!(%error, attachment = attachment.id.0, "an attachment's file is missing");
            return Err(ApiError::not_found("attachment"));
        }
    };
    let (content_type, inline) = kind::served_as(&attachment.content_type);
    let disposition = kind::content_disposition(&attachment.filename, inline);
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(CONTENT_TYPE, content_type);
    set(CONTENT_LENGTH, attachment.size_bytes.to_string());
    set(CONTENT_DISPOSITION, disposition);
    set(X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    // Files never change: cache privately (they are not public).
    set(CACHE_CONTROL, "private, max-age=86400".into());
    set(ETAG, format!("\"{}\"", attachment.sha256));
    if attachment.content_type != "application/pdf" {
        // Nothing in a served file may run or load anything (the PDF
        // viewer of some browsers does not work in a sandbox).
        set(
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox".into(),
        );
    }
    Ok(response)
}

/// Uploads a file into a conversation; attach it with the `attachment_ids`
/// of a reply or note. 413 `too_large` over the limit, 415 `unsupported_type`
/// for programs, scripts, HTML and SVG.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/attachments", tag = "attachments",
    params(("account" = i64, Path), ("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Uploaded), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_agent(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<Uploaded>)> {
    let account = auth.account(account)?;
    let conversation = state
        .store
        .get_conversation(account, ConversationId(id))
        .await?;
    let stored = receive(
        &state,
        multipart,
        account,
        Some(conversation.id),
        Uploader::Agent(auth.agent.id),
    )
    .await?;
    let url = format!("/api/v1/accounts/{}/attachments/{}", account, stored.id);
    Ok(uploaded(&stored, url))
}

/// Downloads a file of the account (any agent of the account).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/attachments/{id}", tag = "attachments",
    params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 404, body = crate::error::ErrorBody)))]
async fn download_agent(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let account = auth.account(account)?;
    let attachment = state
        .store
        .get_attachment(account, AttachmentId(id))
        .await?;
    serve(&state, &attachment).await
}

/// Uploads a file as the contact; attach it with the `attachment_ids` of
/// their next message. 413 `too_large`, 415 `unsupported_type`.
#[utoipa::path(post, path = "/api/v1/public/inboxes/{inbox_token}/attachments", tag = "public",
    params(("inbox_token" = String, Path), ("X-Contact-Token" = String, Header)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Uploaded), (status = 401, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_public(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<Uploaded>)> {
    let inbox = inbox(&state, &token).await?;
    let contact = contact_by_token(&state, &inbox, &headers, None).await?;
    let stored = receive(
        &state,
        multipart,
        inbox.account_id,
        None,
        Uploader::Contact(contact.id),
    )
    .await?;
    let url = format!("/api/v1/public/inboxes/{token}/attachments/{}", stored.id);
    Ok(uploaded(&stored, url))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// The contact token, for `<img src>` and links (or send `X-Contact-Token`).
    pub contact_token: Option<String>,
}

/// Whether a contact may see a file: their own upload not yet sent, or a
/// file of a message (never a private note) in their conversation of this
/// inbox.
async fn contact_may_see(
    state: &AppState,
    inbox: &confab_domain::Inbox,
    contact: &confab_domain::Contact,
    attachment: &StoredAttachment,
) -> ApiResult<bool> {
    let (Some(_), Some(conversation)) = (attachment.message_id, attachment.conversation_id) else {
        return Ok(matches!(attachment.uploader, Uploader::Contact(id) if id == contact.id));
    };
    if attachment.private {
        return Ok(false);
    }
    let conversation = state
        .store
        .get_conversation(inbox.account_id, conversation)
        .await?;
    Ok(conversation.contact_id == contact.id && conversation.inbox_id == inbox.id)
}

/// Downloads a file of the contact's conversation in this inbox. Works as
/// an `<img src>` with `?contact_token=…`. Anything else is 404.
#[utoipa::path(get, path = "/api/v1/public/inboxes/{inbox_token}/attachments/{id}", tag = "public",
    params(("inbox_token" = String, Path), ("id" = i64, Path), DownloadParams, ("X-Contact-Token" = Option<String>, Header)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn download_public(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, i64)>,
    Query(params): Query<DownloadParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let inbox = inbox(&state, &token).await?;
    let contact =
        contact_by_token(&state, &inbox, &headers, params.contact_token.as_deref()).await?;
    let attachment = state
        .store
        .get_attachment(inbox.account_id, AttachmentId(id))
        .await?;
    if !contact_may_see(&state, &inbox, &contact, &attachment).await? {
        return Err(ApiError::not_found("attachment"));
    }
    serve(&state, &attachment).await
}
