//! Team management (admins).

use axum::extract::State;
use axum::http::StatusCode;
use confab_domain::{Agent, AgentId, Locale, Role, validate};
use confab_store::{AgentPatch, NewAgent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AgentAuth, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, add_agent))
        .routes(routes!(update_agent, delete_agent))
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<Agent>,
}

/// The team.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/agents", tag = "agents", params(("account" = i64, Path)), responses((status = 200, body = AgentList)))]
async fn list_agents(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
) -> ApiResult<axum::Json<AgentList>> {
    let account = auth.account(account)?;
    Ok(axum::Json(AgentList {
        items: state.store.list_agents(account).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct AddAgent {
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::Agent
}

/// Adds an agent (admins only).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/agents", tag = "agents", params(("account" = i64, Path)), request_body = AddAgent,
    responses((status = 201, body = Agent), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn add_agent(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Json(request): Json<AddAgent>,
) -> ApiResult<(StatusCode, axum::Json<Agent>)> {
    let account = auth.admin_of(account)?;
    let name = validate::required_text("name", &request.name, validate::MAX_NAME_CHARS)?;
    let email = validate::email("email", &request.email)?;
    validate::password(&request.password)?;
    let password_hash = hash_password(request.password).await?;
    let agent = state
        .store
        .add_agent(
            account,
            NewAgent {
                name,
                email,
                password_hash,
                role: request.role,
            },
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(agent)))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateAgent {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    /// The UI language: `en` or `pt-BR`.
    pub locale: Option<Locale>,
}

/// Changes an agent's name, role, password or UI language (admins, or
/// agents changing their own name, password or language).
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/agents/{id}", tag = "agents", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = UpdateAgent, responses((status = 200, body = Agent), (status = 403, body = crate::error::ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<UpdateAgent>,
) -> ApiResult<axum::Json<Agent>> {
    let is_self = auth.agent.id.0 == id;
    let account = if is_self && request.role.is_none() {
        auth.account(account)?
    } else {
        auth.admin_of(account)?
    };
    let name = request
        .name
        .as_deref()
        .map(|n| validate::required_text("name", n, validate::MAX_NAME_CHARS))
        .transpose()?;
    let password_hash = match request.password {
        Some(password) => {
            validate::password(&password)?;
            Some(hash_password(password).await?)
        }
        None => None,
    };
    let patch = AgentPatch {
        name,
        role: request.role,
        password_hash,
        locale: request.locale,
    };
    Ok(axum::Json(
        state
            .store
            .update_agent(account, AgentId(id), patch)
            .await?,
    ))
}

/// Removes an agent (admins only); their conversations become unassigned.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/agents/{id}", tag = "agents", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_agent(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let account = auth.admin_of(account)?;
    if auth.agent.id.0 == id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_remove_self",
            "you cannot remove yourself",
        ));
    }
    state
        .store
        .delete_agent(account, AgentId(id), state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
