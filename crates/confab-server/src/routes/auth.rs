//! Sign in and out, who am I, and the first-run setup.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use confab_domain::{Account, Agent, Role, validate};
use confab_store::{CredentialKind, NewAgent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{
    AgentAuth, hash_password, new_token, session_cookie, token_hash, verify_password,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Login, rate limited on its own.
pub fn login_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(setup_status, setup))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    pub agent: Agent,
    pub account: Account,
}

async fn start_session(state: &AppState, agent: Agent) -> ApiResult<Response> {
    let token = new_token();
    let now = state.clock.now();
    let minutes = state.config.session_minutes;
    state
        .store
        .create_credential(
            agent.id,
            CredentialKind::Session,
            &token_hash(&token),
            Some(now.plus_minutes(minutes)),
            now,
        )
        .await?;
    let account = state.store.get_account(agent.account_id).await?;
    let cookie = session_cookie(&token, minutes * 60, state.config.secure_cookies());
    Ok((
        [(SET_COOKIE, cookie)],
        axum::Json(SessionResponse { agent, account }),
    )
        .into_response())
}

/// Signs in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Response> {
    let email = request.email.trim().to_lowercase();
    let found = state.store.agent_for_login(&email).await?;
    let (agent, hash) = match found {
        Some((agent, hash)) => (Some(agent), Some(hash)),
        None => (None, None),
    };
    if !verify_password(request.password, hash).await {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong e-mail or password",
        ));
    }
    let agent = agent.ok_or_else(ApiError::internal)?;
    start_session(&state, agent).await
}

/// Signs out: the session ends and the cookie is cleared.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<impl IntoResponse> {
    if let Some(hash) = &auth.session_hash {
        state.store.delete_credential(hash).await?;
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = session_cookie("", 0, state.config.secure_cookies()).parse() {
        headers.insert(SET_COOKIE, value);
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The signed-in agent and their account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = SessionResponse), (status = 401, body = crate::error::ErrorBody)))]
async fn me(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<axum::Json<SessionResponse>> {
    let account = state.store.get_account(auth.agent.account_id).await?;
    Ok(axum::Json(SessionResponse {
        agent: auth.agent,
        account,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SetupStatus {
    /// True on a fresh install: the UI offers to create the first workspace.
    pub needs_setup: bool,
}

/// Whether this install still needs its first workspace.
#[utoipa::path(get, path = "/api/v1/setup", tag = "auth", responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(state): State<AppState>) -> ApiResult<axum::Json<SetupStatus>> {
    Ok(axum::Json(SetupStatus {
        needs_setup: state.store.count_accounts().await? == 0,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    pub account_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// Creates the first workspace and its admin, then signs in. Only on an empty install.
#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", request_body = SetupRequest,
    responses((status = 200, body = SessionResponse), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn setup(
    State(state): State<AppState>,
    Json(request): Json<SetupRequest>,
) -> ApiResult<Response> {
    if state.store.count_accounts().await? > 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_set_up",
            "this install already has a workspace; sign in instead",
        ));
    }
    let account_name = validate::required_text(
        "account_name",
        &request.account_name,
        validate::MAX_NAME_CHARS,
    )?;
    let name = validate::required_text("name", &request.name, validate::MAX_NAME_CHARS)?;
    let email = validate::email("email", &request.email)?;
    validate::password(&request.password)?;
    let password_hash = hash_password(request.password).await?;
    let (_, agent) = state
        .store
        .create_account(
            &account_name,
            NewAgent {
                name,
                email,
                password_hash,
                role: Role::Admin,
            },
            state.clock.now(),
        )
        .await?;
    start_session(&state, agent).await
}
