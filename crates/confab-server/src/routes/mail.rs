//! What the server does with e-mail, for the settings screen (admins).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::mail::status::MailStatus;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mail_status))
}

/// Whether this server receives mail (`--smtp-listen`) and which relay
/// replies leave through (`--smtp-relay`, without its credentials).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/mail", tag = "inboxes", params(("account" = i64, Path)),
    responses((status = 200, body = MailStatus), (status = 403, body = crate::error::ErrorBody)))]
async fn mail_status(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
) -> ApiResult<axum::Json<MailStatus>> {
    auth.admin_of(account)?;
    Ok(axum::Json(state.mail.get().cloned().unwrap_or_default()))
}
