//! Inboxes (channels) of an account.

use axum::extract::State;
use axum::http::StatusCode;
use confab_domain::{Inbox, InboxKind, validate};
use confab_store::NewInbox;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AgentAuth, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_inboxes, create_inbox))
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
    };
    let inbox = state
        .store
        .create_inbox(account, inbox, state.clock.now())
        .await?;
    state.changed(account);
    Ok((StatusCode::CREATED, axum::Json(inbox)))
}
