//! The inbox list, counts, one conversation, folder actions, assignment,
//! tags and messages.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations))
        .routes(routes!(counts))
        .routes(routes!(get_conversation))
        .routes(routes!(close))
        .routes(routes!(reopen))
        .routes(routes!(snooze))
        .routes(routes!(delete))
        .routes(routes!(restore))
        .routes(routes!(spam))
        .routes(routes!(not_spam))
        .routes(routes!(assign))
        .routes(routes!(mark_read))
        .routes(routes!(set_tags))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(retry_message))
}

/// The inbox list's query string.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// open (default), answered, closed, snoozed, deleted, spam — or `any` with `q`.
    pub folder: Option<String>,
    /// mine, unassigned, all (default).
    pub scope: Option<String>,
    pub inbox_id: Option<i64>,
    /// chat, in_app, email, form.
    pub channel: Option<String>,
    pub assignee_id: Option<i64>,
    pub tag: Option<String>,
    pub unread: Option<bool>,
    /// Last message from the contact.
    pub waiting: Option<bool>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub activity_after: Option<String>,
    pub activity_before: Option<String>,
    pub contact_id: Option<i64>,
    /// Full-text search; results are ranked.
    pub q: Option<String>,
    /// last_activity (default), oldest_waiting, created.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 25.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ListedItem {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Search results: the matching text, HTML-escaped, with `<mark>` around matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ListedItem>,
    pub next_cursor: Option<String>,
}

fn time_param(field: &'static str, value: Option<&str>) -> ApiResult<Option<Timestamp>> {
    value
        .map(|text| {
            Timestamp::parse_rfc3339(text)
                .ok_or_else(|| ApiError::invalid(field, "must be an RFC 3339 date-time"))
        })
        .transpose()
}

/// Parses the page size (1 ..= 100).
pub fn page_limit(limit: Option<u32>, default: u32) -> ApiResult<u32> {
    match limit.unwrap_or(default) {
        limit @ 1..=100 => Ok(limit),
        _ => Err(ApiError::invalid("limit", "must be from 1 to 100")),
    }
}

/// Parses a cursor handed out earlier.
pub fn page_cursor(cursor: Option<&str>) -> ApiResult<Option<Cursor>> {
    cursor
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API gave out"))
        })
        .transpose()
}

fn scope_param(scope: Option<&str>) -> ApiResult<Scope> {
    scope
        .map(|s| {
            Scope::parse(s)
                .ok_or_else(|| ApiError::invalid("scope", "must be mine, unassigned or all"))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

impl ListParams {
    fn into_query(self, viewer: AgentId) -> ApiResult<ConversationQuery> {
        let search = self
            .q
            .as_deref()
            .map(SearchQuery::parse)
            .filter(|q| !q.is_empty());
        let folder = match self.folder.as_deref() {
            None => Some(Folder::Open),
            Some("any") => None,
            Some(name) => Some(Folder::parse(name).ok_or_else(|| {
                ApiError::invalid(
                    "folder",
                    "must be open, answered, closed, snoozed, deleted, spam or any",
                )
            })?),
        };
        Ok(ConversationQuery {
            folder,
            scope: scope_param(self.scope.as_deref())?,
            viewer: Some(viewer),
            inbox_id: self.inbox_id.map(InboxId),
            kind: self
                .channel
                .as_deref()
                .map(|k| {
                    InboxKind::parse(k).ok_or_else(|| {
                        ApiError::invalid("channel", "must be chat, in_app, email or form")
                    })
                })
                .transpose()?,
            assignee_id: self.assignee_id.map(AgentId),
            tag: self.tag.map(|t| t.trim().to_lowercase()),
            unread: self.unread.unwrap_or(false),
            waiting: self.waiting.unwrap_or(false),
            created_after: time_param("created_after", self.created_after.as_deref())?,
            created_before: time_param("created_before", self.created_before.as_deref())?,
            activity_after: time_param("activity_after", self.activity_after.as_deref())?,
            activity_before: time_param("activity_before", self.activity_before.as_deref())?,
            contact_id: self.contact_id.map(ContactId),
            search,
            search_private: true,
            sort: self
                .sort
                .as_deref()
                .map(|s| {
                    Sort::parse(s).ok_or_else(|| {
                        ApiError::invalid(
                            "sort",
                            "must be last_activity, oldest_waiting or created",
                        )
                    })
                })
                .transpose()?
                .unwrap_or_default(),
            cursor: page_cursor(self.cursor.as_deref())?,
            limit: page_limit(self.limit, 25)?,
        })
    }
}

/// The inbox list: a folder, a scope, quick filters, search, sort, cursor pages.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/conversations", tag = "conversations", params(("account" = i64, Path), ListParams),
    responses((status = 200, body = ConversationPage), (status = 422, body = crate::error::ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<ConversationPage>> {
    let account = auth.account(account)?;
    let query = params.into_query(auth.agent.id)?;
    let page = state.store.list_conversations(account, &query).await?;
    Ok(axum::Json(ConversationPage {
        items: page
            .items
            .into_iter()
            .map(|i| ListedItem {
                conversation: i.conversation,
                snippet: i.snippet,
            })
            .collect(),
        next_cursor: page.next_cursor.map(Cursor::encode),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// mine, unassigned, all (default).
    pub scope: Option<String>,
}

/// Conversations per folder for a scope.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/conversations/counts", tag = "conversations", params(("account" = i64, Path), CountParams),
    responses((status = 200, body = FolderCounts)))]
async fn counts(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Query(params): Query<CountParams>,
) -> ApiResult<axum::Json<FolderCounts>> {
    let account = auth.account(account)?;
    let scope = scope_param(params.scope.as_deref())?;
    Ok(axum::Json(
        state
            .store
            .count_conversations(account, scope, Some(auth.agent.id))
            .await?,
    ))
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/conversations/{id}", tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = crate::error::ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Conversation>> {
    let account = auth.account(account)?;
    Ok(axum::Json(
        state
            .store
            .get_conversation(account, ConversationId(id))
            .await?,
    ))
}

async fn act(
    state: &AppState,
    auth: &AgentAuth,
    account: i64,
    id: i64,
    action: FolderAction,
) -> ApiResult<axum::Json<Conversation>> {
    let account = auth.account(account)?;
    let conversation = state
        .store
        .act_on_conversation(
            account,
            ConversationId(id),
            action,
            Actor::Agent(auth.agent.id),
            state.clock.now(),
        )
        .await?;
    // Any folder change may set, move or cancel a snooze timer.
    state.snooze_changed.notify_one();
    state.changed(account);
    Ok(axum::Json(conversation))
}

macro_rules! folder_action {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
            responses((status = 200, body = Conversation), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
        async fn $name(State(state): State<AppState>, auth: AgentAuth, Path((account, id)): Path<(i64, i64)>) -> ApiResult<axum::Json<Conversation>> {
            act(&state, &auth, account, id, $action).await
        }
    };
}

folder_action!(
    close,
    "/api/v1/accounts/{account}/conversations/{id}/close",
    FolderAction::Close,
    "Closes the conversation."
);
folder_action!(
    reopen,
    "/api/v1/accounts/{account}/conversations/{id}/reopen",
    FolderAction::Reopen,
    "Reopens the conversation (cancels a snooze)."
);
folder_action!(
    delete,
    "/api/v1/accounts/{account}/conversations/{id}/delete",
    FolderAction::Delete,
    "Moves the conversation to the trash."
);
folder_action!(
    restore,
    "/api/v1/accounts/{account}/conversations/{id}/restore",
    FolderAction::Restore,
    "Restores a deleted conversation to open."
);
folder_action!(
    spam,
    "/api/v1/accounts/{account}/conversations/{id}/spam",
    FolderAction::MarkSpam,
    "Marks the conversation as spam and flags its contact."
);
folder_action!(
    not_spam,
    "/api/v1/accounts/{account}/conversations/{id}/not_spam",
    FolderAction::NotSpam,
    "Takes the conversation out of spam and unflags its contact."
);

#[derive(Deserialize, ToSchema)]
pub struct SnoozeRequest {
    /// 5 to 1440.
    pub minutes: i64,
}

/// Snoozes the conversation for 5 minutes to 24 hours.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/snooze", tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = SnoozeRequest,
    responses((status = 200, body = Conversation), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn snooze(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<SnoozeRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    act(
        &state,
        &auth,
        account,
        id,
        FolderAction::Snooze {
            minutes: request.minutes,
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct AssignRequest {
    /// The agent, or null to unassign.
    pub agent_id: Option<i64>,
}

/// Assigns to an agent of the account, or unassigns.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/assign", tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = AssignRequest, responses((status = 200, body = Conversation), (status = 404, body = crate::error::ErrorBody)))]
async fn assign(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<AssignRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    let account = auth.account(account)?;
    let conversation = state
        .store
        .assign_conversation(
            account,
            ConversationId(id),
            request.agent_id.map(AgentId),
            Actor::Agent(auth.agent.id),
            state.clock.now(),
        )
        .await?;
    state.changed(account);
    Ok(axum::Json(conversation))
}

/// Marks the conversation read (unread count 0).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/read", tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = Conversation)))]
async fn mark_read(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Conversation>> {
    let account = auth.account(account)?;
    let conversation = state
        .store
        .mark_read(
            account,
            ConversationId(id),
            Actor::Agent(auth.agent.id),
            state.clock.now(),
        )
        .await?;
    state.changed(account);
    Ok(axum::Json(conversation))
}

#[derive(Deserialize, ToSchema)]
pub struct TagsRequest {
    pub tags: Vec<String>,
}

/// Replaces the tag set.
#[utoipa::path(put, path = "/api/v1/accounts/{account}/conversations/{id}/tags", tag = "conversations", params(("account" = i64, Path), ("id" = i64, Path)),
    request_body = TagsRequest, responses((status = 200, body = Conversation), (status = 422, body = crate::error::ErrorBody)))]
async fn set_tags(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Json(request): Json<TagsRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    let account = auth.account(account)?;
    let tags = validate::tags(&request.tags)?;
    let conversation = state
        .store
        .set_tags(
            account,
            ConversationId(id),
            &tags,
            Actor::Agent(auth.agent.id),
            state.clock.now(),
        )
        .await?;
    state.changed(account);
    Ok(axum::Json(conversation))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    pub cursor: Option<String>,
    /// 1 to 100, default 100.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<Message>,
    pub next_cursor: Option<String>,
}

/// The conversation's history, oldest first, private notes included.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/conversations/{id}/messages", tag = "messages", params(("account" = i64, Path), ("id" = i64, Path), MessageParams),
    responses((status = 200, body = MessagePage)))]
async fn list_messages(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    Query(params): Query<MessageParams>,
) -> ApiResult<axum::Json<MessagePage>> {
    let account = auth.account(account)?;
    let after = page_cursor(params.cursor.as_deref())?.map(|c| MessageId(c.id));
    let page = state
        .store
        .list_messages(
            account,
            ConversationId(id),
            true,
            after,
            page_limit(params.limit, 100)?,
        )
        .await?;
    Ok(axum::Json(MessagePage {
        items: page.items,
        next_cursor: page.next_cursor.map(Cursor::encode),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PostMessage {
    /// Markdown; may be empty when files are attached.
    #[serde(default)]
    pub body: String,
    /// Files uploaded into this conversation (`POST …/attachments`) to attach.
    #[serde(default)]
    pub attachment_ids: Vec<AttachmentId>,
    /// A private note, never shown to the contact.
    #[serde(default)]
    pub private: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PostedMessage {
    pub message: Message,
    pub conversation: Conversation,
}

/// Reads the `Idempotency-Key` header.
pub fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// An agent reply or private note. A repeated `Idempotency-Key` returns the first message.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/messages", tag = "messages", params(("account" = i64, Path), ("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header)), request_body = PostMessage,
    responses((status = 201, body = PostedMessage), (status = 200, body = PostedMessage, description = "idempotent replay"), (status = 409, body = crate::error::ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id)): Path<(i64, i64)>,
    headers: HeaderMap,
    Json(request): Json<PostMessage>,
) -> ApiResult<(StatusCode, axum::Json<PostedMessage>)> {
    let account = auth.account(account)?;
    let body =
        validate::message_body_with_attachments(&request.body, !request.attachment_ids.is_empty())?;
    let now = state.clock.now();
    let message = NewAgentMessage {
        agent_id: auth.agent.id,
        body,
        private: request.private,
        idempotency_key: idempotency_key(&headers)?,
        email_message_id: Some(state.config.new_message_id(account)),
        // For a chat visitor who leaves before the reply reaches their widget.
        chat_email_at: state
            .config
            .chat_email_delay
            .map(|delay| now.plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))),
        attachments: request.attachment_ids,
    };
    let posted = state
        .store
        .post_agent_message(account, ConversationId(id), message, now)
        .await?;

    state.changed(account);
    let status = if posted.created_message {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(PostedMessage {
            message: posted.message,
            conversation: posted.conversation,
        }),
    ))
}

/// Sends a reply whose e-mail delivery failed again (its `delivery` goes
/// back to `pending`). 422 when the message is not a failed e-mail reply.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/conversations/{id}/messages/{message}/retry", tag = "messages",
    params(("account" = i64, Path), ("id" = i64, Path), ("message" = i64, Path)),
    responses((status = 200, body = Message), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn retry_message(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path((account, id, message)): Path<(i64, i64, i64)>,
) -> ApiResult<axum::Json<Message>> {
    let account = auth.account(account)?;
    let conversation = state
        .store
        .get_conversation(account, ConversationId(id))
        .await?;
    let message = state
        .store
        .retry_outbound_mail(
            account,
            confab_domain::MessageId(message),
            state.clock.now(),
        )
        .await?;
    if message.conversation_id != conversation.id {
        return Err(confab_store::StoreError::NotFound("message").into());
    }
    state.changed(account);
    Ok(axum::Json(message))
}
