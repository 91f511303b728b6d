//! The account's tags: the list (with how many conversations carry each,
//! for suggestions and settings), renaming and removing a tag everywhere
//! (admins).

use axum::extract::State;
use confab_domain::{TagCount, validate};
use confab_store::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tags))
        .routes(routes!(rename_tag, delete_tag))
}

#[derive(Serialize, ToSchema)]
pub struct TagList {
    pub items: Vec<TagCount>,
}

/// The tags in use, A to Z, with their conversation counts.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/tags", tag = "tags", params(("account" = i64, Path)),
    responses((status = 200, body = TagList)))]
async fn list_tags(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
) -> ApiResult<axum::Json<TagList>> {
    let account = auth.account(account)?;
    let items = state.store.list_tags(account).await?;
    Ok(axum::Json(TagList { items }))
}

#[derive(Deserialize, ToSchema)]
pub struct RenameTag {
    /// The new name; a tag that exists already is merged into.
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TagChanged {
    /// How many conversations changed.
    pub conversations: u64,
}

/// Renames a tag on every conversation (admins); merges into an existing tag.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/tags/{tag}", tag = "tags", params(("account" = i64, Path), ("tag" = String, Path)),
    request_body = RenameTag, responses((status = 200, body = TagChanged), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn rename_tag(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, tag)): Path<(i64, String)>,
    Json(request): Json<RenameTag>,
) -> ApiResult<axum::Json<TagChanged>> {
    let account = auth.admin_of(account)?;
    let from = validate::tag_in("tag", &tag)?;
    let to = validate::tag_in("name", &request.name)?;
    let conversations = if from == to {
        // Nothing to change, but the tag must exist.
        let known = state.store.list_tags(account).await?;
        known
            .iter()
            .find(|t| t.name == from)
            .map(|t| t.conversations as u64)
            .ok_or(confab_store::StoreError::NotFound("tag"))?
    } else {
        let changed = state
            .store
            .rename_tag(
                account,
                &from,
                Some(&to),
                Actor::Agent(auth.agent.id),
                state.clock.now(),
            )
            .await?;
        state.changed(account);
        changed
    };
    Ok(axum::Json(TagChanged { conversations }))
}

/// Removes a tag from every conversation (admins).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/tags/{tag}", tag = "tags", params(("account" = i64, Path), ("tag" = String, Path)),
    responses((status = 200, body = TagChanged), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_tag(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, tag)): Path<(i64, String)>,
) -> ApiResult<axum::Json<TagChanged>> {
    let account = auth.admin_of(account)?;
    let from = validate::tag_in("tag", &tag)?;
    let conversations = state
        .store
        .rename_tag(
            account,
            &from,
            None,
            Actor::Agent(auth.agent.id),
            state.clock.now(),
        )
        .await?;
    state.changed(account);
    Ok(axum::Json(TagChanged { conversations }))
}
