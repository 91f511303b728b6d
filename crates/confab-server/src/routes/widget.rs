//! What the chat widget (and any client) reads before a visitor writes —
//! the inbox's public face — and how a visitor updates what the team sees
//! of them (name, e-mail, the page they are on).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use confab_domain::{InboxKind, WidgetSettings, validate};
use confab_store::ContactPatch;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::public::{contact, inbox};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox_face))
        .routes(routes!(update_own_contact))
}

/// A team member as visitors see them.
#[derive(Serialize, ToSchema)]
pub struct TeamMember {
    pub id: i64,
    pub name: String,
}

/// The inbox as the widget and client apps see it: no secrets.
#[derive(Serialize, ToSchema)]
pub struct InboxFace {
    pub name: String,
    pub kind: InboxKind,
    /// Contact sessions need a signed `external_id`.
    pub identity_required: bool,
    pub widget: WidgetSettings,
    /// Whether an agent is online now (live updates come as `availability` frames).
    pub online: bool,
    /// Who may answer: message `sender_id`s of agents are among these ids.
    pub team: Vec<TeamMember>,
}

/// The inbox's public face: name, widget settings, team and availability.
#[utoipa::path(get, path = "/api/v1/public/inboxes/{inbox_token}", tag = "public", params(("inbox_token" = String, Path)),
    responses((status = 200, body = InboxFace), (status = 404, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn inbox_face(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<axum::Json<InboxFace>> {
    let inbox = inbox(&state, &token).await?;
    let team = state
        .store
        .list_agents(inbox.account_id)
        .await?
        .into_iter()
        .map(|agent| TeamMember {
            id: agent.id.0,
            name: agent.name,
        })
        .collect();
    Ok(axum::Json(InboxFace {
        online: state.hub.presence.team_online(inbox.account_id),
        name: inbox.name,
        kind: inbox.kind,
        identity_required: inbox.identity_required,
        widget: inbox.widget,
        team,
    }))
}

/// What a visitor may change about themselves. Absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnContactPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    /// What the widget sees now: page, referrer, browser, OS, language, time zone …
    #[schema(value_type = Object)]
    pub browser: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The visitor's own profile: what they answered in the pre-chat form, the
/// page they are on now. Answers `204`.
#[utoipa::path(patch, path = "/api/v1/public/inboxes/{inbox_token}/contact", tag = "public",
    params(("inbox_token" = String, Path), ("X-Contact-Token" = String, Header)), request_body = OwnContactPatch,
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_own_contact(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Json(request): Json<OwnContactPatch>,
) -> ApiResult<StatusCode> {
    let inbox = inbox(&state, &token).await?;
    let contact = contact(&state, &inbox, &headers).await?;
    let name = request
        .name
        .as_deref()
        .map(|name| validate::required_text("name", name, validate::MAX_NAME_CHARS))
        .transpose()?;
    let email = request
        .email
        .as_deref()
        .map(|email| validate::email("email", email))
        .transpose()?;
    let browser = request.browser.map(browser_facts).transpose()?;
    let patch = ContactPatch {
        name: name.map(Some),
        email: email.map(Some),
        browser,
        ..ContactPatch::default()
    };
    state
        .store
        .update_contact(inbox.account_id, contact.id, patch, state.clock.now())
        .await?;
    state.changed(inbox.account_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Most facts a widget may report about the visitor's browser.
const MAX_BROWSER_FACTS: usize = 30;
/// Longest single fact (a page URL, a user agent), in characters.
const MAX_BROWSER_FACT_CHARS: usize = 2048;

/// Keeps what a widget reports small and flat: short keys, scalar values.
pub fn browser_facts(
    facts: serde_json::Map<String, serde_json::Value>,
) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    if facts.len() > MAX_BROWSER_FACTS {
        return Err(ApiError::invalid(
            "browser",
            format!("at most {MAX_BROWSER_FACTS} facts"),
        ));
    }
    for (key, value) in &facts {
        if key.is_empty() || key.chars().count() > 64 {
            return Err(ApiError::invalid("browser", "keys are 1 to 64 characters"));
        }
        let fits = match value {
            serde_json::Value::String(text) => text.chars().count() <= MAX_BROWSER_FACT_CHARS,
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
                true
            }
            _ => false,
        };
        if !fits {
            return Err(ApiError::invalid(
                "browser",
                format!(
                    "{key}: values are strings of at most {MAX_BROWSER_FACT_CHARS} characters, numbers or booleans"
                ),
            ));
        }
    }
    Ok(facts)
}
