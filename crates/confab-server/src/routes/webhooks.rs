//! Webhook endpoints and their delivery log (admins).

use axum::extract::State;
use axum::http::StatusCode;
use confab_domain::{DeliveryId, EventType, Webhook, WebhookDelivery, WebhookId};
use confab_store::cursor::Cursor;
use confab_store::{NewWebhook, WebhookPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AgentAuth, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::conversations::{MessageParams, page_cursor, page_limit};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

fn url(value: &str) -> ApiResult<String> {
    let value = value.trim();
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2000
        && reqwest::Url::parse(value).is_ok_and(|u| u.host_str().is_some());
    if valid {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid(
            "url",
            "must be an http:// or https:// URL",
        ))
    }
}

fn event_types(values: Vec<String>) -> ApiResult<Vec<String>> {
    let mut types = Vec::with_capacity(values.len());
    for value in values {
        let kind = EventType::parse(value.trim()).ok_or_else(|| {
            let known: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::invalid(
                "event_types",
                format!("unknown event type {value:?}; known: {}", known.join(", ")),
            )
        })?;
        types.push(kind.as_str().to_string());
    }
    types.sort();
    types.dedup();
    Ok(types)
}

/// The account's webhooks.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/webhooks", tag = "webhooks", params(("account" = i64, Path)),
    responses((status = 200, body = WebhookList), (status = 403, body = crate::error::ErrorBody)))]
async fn list_webhooks(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
) -> ApiResult<axum::Json<WebhookList>> {
    let account = auth.admin_of(account)?;
    Ok(axum::Json(WebhookList {
        items: state.store.list_webhooks(account).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateWebhook {
    pub url: String,
    /// Event types to send; absent or empty: all.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// Adds a webhook; it receives events from now on, signed with the returned `secret`.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/webhooks", tag = "webhooks", params(("account" = i64, Path)), request_body = CreateWebhook,
    responses((status = 201, body = Webhook), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Json(request): Json<CreateWebhook>,
) -> ApiResult<(StatusCode, axum::Json<Webhook>)> {
    let account = auth.admin_of(account)?;
    let webhook = NewWebhook {
        url: url(&request.url)?,
        secret: new_token(),
        event_types: event_types(request.event_types)?,
    };
    let webhook = state
        .store
        .create_webhook(account, webhook, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(webhook)))
}

/// One webhook.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/webhooks/{id}", tag = "webhooks", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = Webhook), (status = 404, body = crate::error::ErrorBody)))]
async fn get_webhook(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Webhook>> {
    let account = auth.admin_of(account)?;
    Ok(axum::Json(
        state.store.get_webhook(account, WebhookId(id)).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` turns a disabled webhook back on (and clears the reason).
    pub enabled: Option<bool>,
}

/// Changes a webhook's URL, event types, or turns it on or off.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/webhooks/{id}", tag = "webhooks", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = UpdateWebhook, responses((status = 200, body = Webhook), (status = 422, body = crate::error::ErrorBody)))]
async fn update_webhook(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<UpdateWebhook>,
) -> ApiResult<axum::Json<Webhook>> {
    let account = auth.admin_of(account)?;
    let patch = WebhookPatch {
        url: request.url.as_deref().map(url).transpose()?,
        event_types: request.event_types.map(event_types).transpose()?,
        enabled: request.enabled,
    };
    Ok(axum::Json(
        state
            .store
            .update_webhook(account, WebhookId(id), patch)
            .await?,
    ))
}

/// Removes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/webhooks/{id}", tag = "webhooks", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let account = auth.admin_of(account)?;
    state.store.delete_webhook(account, WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<WebhookDelivery>,
    pub next_cursor: Option<String>,
}

/// The webhook's delivery log, newest first: status, attempts, last answer or error.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/webhooks/{id}/deliveries", tag = "webhooks",
    params(("account" = i64, Path), ("id" = i64, Path), MessageParams), responses((status = 200, body = DeliveryPage)))]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Query(params): Query<MessageParams>,
) -> ApiResult<axum::Json<DeliveryPage>> {
    let account = auth.admin_of(account)?;
    let before = page_cursor(params.cursor.as_deref())?.map(|c| DeliveryId(c.id));
    let page = state
        .store
        .list_webhook_deliveries(
            account,
            WebhookId(id),
            before,
            page_limit(params.limit, 50)?,
        )
        .await?;
    Ok(axum::Json(DeliveryPage {
        items: page.items,
        next_cursor: page.next_cursor.map(Cursor::encode),
    }))
}
