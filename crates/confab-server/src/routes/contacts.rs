//! Contacts and the profile panel.

use axum::extract::State;
use confab_domain::{Contact, ContactId, Conversation, validate};
use confab_store::ContactPatch;
use confab_store::cursor::Cursor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::routes::conversations::{page_cursor, page_limit};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts))
        .routes(routes!(get_contact, update_contact))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactParams {
    /// Matches name, e-mail, phone or company.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next_cursor: Option<String>,
}

/// Contacts, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/contacts", tag = "contacts", params(("account" = i64, Path), ContactParams),
    responses((status = 200, body = ContactPage)))]
async fn list_contacts(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Query(params): Query<ContactParams>,
) -> ApiResult<axum::Json<ContactPage>> {
    let account = auth.account(account)?;
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let page = state
        .store
        .list_contacts(
            account,
            q,
            page_cursor(params.cursor.as_deref())?,
            page_limit(params.limit, 25)?,
        )
        .await?;
    Ok(axum::Json(ContactPage {
        items: page.items,
        next_cursor: page.next_cursor.map(Cursor::encode),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ContactProfile {
    #[serde(flatten)]
    pub contact: Contact,
    /// Their conversations, newest first.
    pub conversations: Vec<Conversation>,
}

/// A contact's profile with their conversations.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/contacts/{id}", tag = "contacts", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = ContactProfile), (status = 404, body = crate::error::ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<ContactProfile>> {
    let account = auth.account(account)?;
    let contact = state.store.get_contact(account, ContactId(id)).await?;
    let conversations = state
        .store
        .contact_conversations(account, contact.id)
        .await?;
    Ok(axum::Json(ContactProfile {
        contact,
        conversations,
    }))
}

/// Fields of a contact to change; absent fields stay, `null` clears.
#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateContact {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub company: Option<Option<String>>,
    /// Merged; a `null` value removes the key.
    #[schema(value_type = Object)]
    pub custom_attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Tells "absent" (outer None) from "null" (Some(None)).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn text_patch(
    field: &'static str,
    value: Option<Option<String>>,
) -> ApiResult<Option<Option<String>>> {
    Ok(match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(validate::optional_text(
            field,
            Some(&text),
            validate::MAX_NAME_CHARS,
        )?),
    })
}

/// Edits a contact's profile.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/contacts/{id}", tag = "contacts", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = UpdateContact, responses((status = 200, body = Contact), (status = 422, body = crate::error::ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<UpdateContact>,
) -> ApiResult<axum::Json<Contact>> {
    let account = auth.account(account)?;
    let email = match request.email {
        Some(Some(email)) if !email.trim().is_empty() => {
            Some(Some(validate::email("email", &email)?))
        }
        Some(_) => Some(None),
        None => None,
    };
    let patch = ContactPatch {
        name: text_patch("name", request.name)?,
        email,
        phone: text_patch("phone", request.phone)?,
        company: text_patch("company", request.company)?,
        custom_attributes: request.custom_attributes,
        browser: None,
    };
    let contact = state
        .store
        .update_contact(account, ContactId(id), patch, state.clock.now())
        .await?;
    state.changed(account);
    Ok(axum::Json(contact))
}
