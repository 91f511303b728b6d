//! `POST /api/v1/dev/clock` — moves the server's clock forward, so
//! end-to-end tests see timers (snooze wake-ups) fire without waiting.
//! Exists only under `confab serve --dev-clock`; admins only; not part of
//! the public API document.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/dev/clock", post(advance))
}

#[derive(Deserialize)]
struct Advance {
    advance_minutes: i64,
}

async fn advance(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(request): Json<Advance>,
) -> ApiResult<StatusCode> {
    let clock = state
        .dev_clock
        .as_ref()
        .ok_or_else(|| ApiError::not_found("route"))?;
    auth.admin_of(auth.agent.account_id.0)?;
    if !(1..=100_000).contains(&request.advance_minutes) {
        return Err(ApiError::invalid(
            "advance_minutes",
            "must be between 1 and 100000",
        ));
    }
    clock.advance_minutes(request.advance_minutes);
    state.snooze_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
