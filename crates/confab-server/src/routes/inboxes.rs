//! Inboxes (channels) of an account.

use axum::extract::State;
use axum::http::StatusCode;
use confab_domain::{Inbox, InboxId, InboxKind, WidgetSettings, validate};
use confab_store::{InboxPatch, NewInbox};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AgentAuth, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inboxes, create_inbox))
        .routes(routes!(update_inbox))
        .routes(routes!(inbox_identity))
}

#[derive(Serialize, ToSchema)]
pub struct InboxList {
    pub items: Vec<Inbox>,
}

/// The account's inboxes, with their public tokens.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/inboxes", tag = "inboxes", params(("account" = i64, Path)),
    responses((status = 200, body = InboxList)))]
async fn list_inboxes(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
) -> ApiResult<axum::Json<InboxList>> {
    let account = auth.account(account)?;
    Ok(axum::Json(InboxList {
        items: state.store.list_inboxes(account).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateInbox {
    pub name: String,
    pub kind: InboxKind,
    /// For email inboxes: the address mail arrives at.
    pub email_address: Option<String>,
}

/// Creates an inbox (admins only); the answer carries its public token.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/inboxes", tag = "inboxes", params(("account" = i64, Path)), request_body = CreateInbox,
    responses((status = 201, body = Inbox), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_inbox(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Json(request): Json<CreateInbox>,
) -> ApiResult<(StatusCode, axum::Json<Inbox>)> {
    let account = auth.admin_of(account)?;
    let name = validate::required_text("name", &request.name, validate::MAX_NAME_CHARS)?;
    let email_address = match (request.kind, request.email_address.as_deref()) {
        (InboxKind::Email, Some(address)) => Some(validate::email("email_address", address)?),
        (InboxKind::Email, None) => {
            return Err(ApiError::invalid(
                "email_address",
                "an email inbox needs the address mail arrives at",
            ));
        }
        (_, _) => None,
    };
    let inbox = NewInbox {
        name,
        kind: request.kind,
        token: new_token(),
        email_address,
        identity_secret: new_token(),
    };
    let inbox = state
        .store
        .create_inbox(account, inbox, state.clock.now())
        .await?;
    state.changed(account);
    Ok((StatusCode::CREATED, axum::Json(inbox)))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateInbox {
    pub name: Option<String>,
    /// Refuse contact sessions without a signed `external_id`.
    pub identity_required: Option<bool>,
    /// Replaces the chat widget's settings (colour, position, pre-chat form, texts).
    pub widget: Option<WidgetSettings>,
    /// Form inboxes: the page an HTML form post redirects to (`null` clears:
    /// Confab's own thank-you page).
    #[serde(default, deserialize_with = "crate::routes::contacts::present")]
    #[schema(value_type = Option<String>)]
    pub thank_you_url: Option<Option<String>>,
}

/// Renames an inbox, switches signed identity on or off, or sets the chat
/// widget's look and texts (admins only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/inboxes/{id}", tag = "inboxes",
    params(("account" = i64, Path), ("id" = i64, Path)), request_body = UpdateInbox,
    responses((status = 200, body = Inbox), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_inbox(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<UpdateInbox>,
) -> ApiResult<axum::Json<Inbox>> {
    let account = auth.admin_of(account)?;
    let name = request
        .name
        .as_deref()
        .map(|name| validate::required_text("name", name, validate::MAX_NAME_CHARS))
        .transpose()?;
    let patch = InboxPatch {
        name,
        identity_required: request.identity_required,
        widget: request.widget.map(WidgetSettings::validated).transpose()?,
        thank_you_url: match request.thank_you_url {
            Some(Some(url)) => Some(Some(web_address("thank_you_url", &url)?)),
            other => other,
        },
    };
    let inbox = state
        .store
        .update_inbox(account, InboxId(id), patch)
        .await?;
    Ok(axum::Json(inbox))
}

#[derive(Serialize, ToSchema)]
pub struct InboxIdentity {
    /// The key a site or app backend signs user ids with:
    /// `identity_hash = hex(HMAC-SHA256(identity_secret, external_id))`.
    pub identity_secret: String,
    pub identity_required: bool,
}

/// The inbox's identity secret, for the site's or app's backend (admins only).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/inboxes/{id}/identity", tag = "inboxes",
    params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = InboxIdentity), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn inbox_identity(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<InboxIdentity>> {
    let account = auth.admin_of(account)?;
    let inbox = state.store.get_inbox(account, InboxId(id)).await?;
    let identity_secret = state.store.inbox_identity_secret(account, inbox.id).await?;
    Ok(axum::Json(InboxIdentity {
        identity_secret,
        identity_required: inbox.identity_required,
    }))
}

/// An absolute `http(s)://` address of at most 2048 characters.
pub fn web_address(field: &'static str, url: &str) -> ApiResult<String> {
    let url = url.trim();
    let parsed = url::Url::parse(url).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    if parsed.is_none() || url.len() > 2048 {
        return Err(ApiError::invalid(
            field,
            "must be a web address like https://example.com/thanks",
        ));
    }
    Ok(url.to_string())
}
