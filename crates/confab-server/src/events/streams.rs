//! The two WebSocket routes: the agent event stream and the contact stream.

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use confab_domain::*;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::frames::{Frame, ephemeral_text};
use super::presence::{PresenceView, Status};
use super::socket::{self, ClientMessages, Viewer};
use crate::auth::{AgentAuth, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

/// Socket buffers, sized deliberately: 4 KiB each way keeps an idle socket
/// small (the defaults hold ~128 KiB per direction).
const BUFFER: usize = 4 * 1024;
/// Largest message a client may send.
const MAX_INCOMING: usize = 64 * 1024;

pub fn agent_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(agent_events))
}

pub fn contact_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(contact_stream))
}

fn sized(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_write_buffer_size(16 * BUFFER)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// The last sequence number the client has; everything after it is
    /// replayed before live events. Absent: live events only.
    pub since: Option<i64>,
    /// The contact token (contact stream; browsers cannot set headers on WebSockets).
    pub contact_token: Option<String>,
}

/// The agent's live stream (WebSocket): replays every event after `since`,
/// then streams live, in order, each frame `{seq, type, at, data}`; also
/// typing and presence frames (`seq: null`). Clients send
/// `{"type":"typing","conversation_id":N,"typing":true}`,
/// `{"type":"viewing","conversation_id":N|null}` and
/// `{"type":"presence","status":"online"|"away"}`. A close with code 4000
/// means "too slow: reconnect with since=<last seq>".
#[utoipa::path(get, path = "/api/v1/accounts/{account}/events", tag = "events", params(("account" = i64, Path), StreamParams),
    responses((status = 101, description = "switching to WebSocket"), (status = 401, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
async fn agent_events(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(account): Path<i64>,
    Query(params): Query<StreamParams>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let account = auth.account(account)?;
    let slot = state.hub.try_connect().ok_or_else(too_many)?;
    let since = match params.since {
        Some(since) if since >= 0 => since,
        Some(_) => {
            return Err(ApiError::invalid(
                "since",
                "must be a sequence number (0 or more)",
            ));
        }
        None => state.store.last_event_seq(account).await?,
    };
    let agent = auth.agent.id;
    Ok(
        sized(upgrade).on_upgrade(move |socket: WebSocket| async move {
            let _slot = slot;
            let came_online = state.hub.presence.connect(account, agent);
            if came_online {
                broadcast_presence(
                    &state,
                    account,
                    state.hub.presence.view(account, agent),
                    true,
                );
            }
            let greeting = state
                .hub
                .presence
                .snapshot(account)
                .into_iter()
                .map(|view| ephemeral_text("presence", state.clock.now(), json!(view)))
                .collect();
            let client = AgentClient {
                state: state.clone(),
                account,
                agent,
            };
            socket::run(
                socket,
                state.clone(),
                Viewer::Agent { account, agent },
                since,
                client,
                greeting,
            )
            .await;
            if state.hub.presence.disconnect(account, agent) {
                let offline = PresenceView {
                    agent_id: agent,
                    status: Status::Offline,
                    viewing: None,
                };
                broadcast_presence(&state, account, offline, true);
            }
        }),
    )
}

fn too_many() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "this server holds its maximum of live connections; retry shortly",
    )
}

/// Tells agents about a presence change, and contacts when team availability changed.
fn broadcast_presence(
    state: &AppState,
    account: AccountId,
    view: PresenceView,
    availability_may_change: bool,
) {
    let now = state.clock.now();
    let contact_text = availability_may_change.then(|| {
        ephemeral_text(
            "availability",
            now,
            json!({"online": state.hub.presence.team_online(account)}),
        )
    });
    state.hub.send_ephemeral(
        account,
        Frame {
            seq: None,
            agent_text: Some(ephemeral_text("presence", now, json!(view))),
            contact_text,
            contact_id: None,
            skip_agent: None,
        },
    );
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AgentSays {
    Typing { conversation_id: i64, typing: bool },
    Viewing { conversation_id: Option<i64> },
    Presence { status: Status },
}

struct AgentClient {
    state: AppState,
    account: AccountId,
    agent: AgentId,
}

impl ClientMessages for AgentClient {
    async fn handle(&mut self, text: &str) {
        let Ok(said) = serde_json::from_str::<AgentSays>(text) else {
            return;
        };
        let (state, account, agent, now) = (
            &self.state,
            self.account,
            self.agent,
            self.state.clock.now(),
        );
        match said {
            AgentSays::Typing {
                conversation_id,
                typing,
            } => {
                // Only conversations of the agent's own account.
                let Ok(conversation) = state
                    .store
                    .get_conversation(account, ConversationId(conversation_id))
                    .await
                else {
                    return;
                };
                let data = json!({"conversation_id": conversation.id, "agent_id": agent, "typing": typing});
                let for_contact = json!({"conversation_id": conversation.id, "sender_type": "agent", "agent_id": agent, "typing": typing});
                state.hub.send_ephemeral(
                    account,
                    Frame {
                        seq: None,
                        agent_text: Some(ephemeral_text("typing", now, data)),
                        contact_text: Some(ephemeral_text("typing", now, for_contact)),
                        contact_id: Some(conversation.contact_id),
                        skip_agent: Some(agent.0),
                    },
                );
            }
            AgentSays::Viewing { conversation_id } => {
                if let Some(view) = state.hub.presence.set_viewing(
                    account,
                    agent,
                    conversation_id.map(ConversationId),
                ) {
                    broadcast_presence(state, account, view, false);
                }
            }
            AgentSays::Presence { status } => {
                if status == Status::Offline {
                    return;
                }
                if let Some(view) = state.hub.presence.set_status(account, agent, status) {
                    broadcast_presence(state, account, view, true);
                }
            }
        }
    }
}

/// The contact's live stream (WebSocket), with the contact token as
/// `contact_token` or `X-Contact-Token`: agent replies (never private
/// notes), the conversation's state as the contact sees it (`open` or
/// `closed`), agent typing, and team availability. The contact sends
/// `{"type":"typing","typing":true}`, and `{"type":"received","message_id":N}`
/// once it shows an agent reply (a reply not received by then is e-mailed to
/// a visitor who left an address, see `--chat-email-delay`).
#[utoipa::path(get, path = "/api/v1/public/inboxes/{inbox_token}/ws", tag = "public", params(("inbox_token" = String, Path), StreamParams),
    responses((status = 101, description = "switching to WebSocket"), (status = 401, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
async fn contact_stream(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let inbox = state
        .store
        .inbox_by_token(&token)
        .await?
        .ok_or_else(|| ApiError::not_found("inbox"))?;
    let contact_token = params
        .contact_token
        .clone()
        .or_else(|| {
            headers
                .get("x-contact-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the contact token as contact_token or X-Contact-Token",
            )
        })?;
    let contact = state
        .store
        .contact_by_session(inbox.id, &token_hash(&contact_token))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown contact token for this inbox",
            )
        })?;
    let slot = state.hub.try_connect().ok_or_else(too_many)?;
    let account = inbox.account_id;
    let since = match params.since {
        Some(since) if since >= 0 => since,
        Some(_) => {
            return Err(ApiError::invalid(
                "since",
                "must be a sequence number (0 or more)",
            ));
        }
        None => state.store.last_event_seq(account).await?,
    };
    Ok(
        sized(upgrade).on_upgrade(move |socket: WebSocket| async move {
            let _slot = slot;
            let online = state.hub.presence.team_online(account);
            let greeting = vec![ephemeral_text(
                "availability",
                state.clock.now(),
                json!({"online": online}),
            )];
            let viewer = Viewer::Contact {
                account,
                inbox: inbox.id,
                contact: contact.id,
            };
            let client = ContactClient {
                state: state.clone(),
                account,
                inbox: inbox.id,
                contact: contact.id,
            };
            socket::run(socket, state, viewer, since, client, greeting).await;
        }),
    )
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContactSays {
    Typing {
        typing: bool,
    },
    /// The widget shows this message: its e-mail copy is not needed.
    Received {
        message_id: i64,
    },
}

struct ContactClient {
    state: AppState,
    account: AccountId,
    inbox: InboxId,
    contact: ContactId,
}

impl ClientMessages for ContactClient {
    async fn handle(&mut self, text: &str) {
        let typing = match serde_json::from_str::<ContactSays>(text) {
            Ok(ContactSays::Typing { typing }) => typing,
            Ok(ContactSays::Received { message_id }) => {
                // Only the contact's own conversations (the store checks).
                if let Err(error) = self
                    .state
                    .store
                    .contact_received(self.account, self.contact, MessageId(message_id))
                    .await
                {
                    tracing::warn!(%error, "recording a receipt");
                }
                return;
            }
            Err(_) => return,
        };
        let Ok(conversations) = self
            .state
            .store
            .contact_conversations(self.account, self.contact)
            .await
        else {
            return;
        };
        // Typing goes to the contact's latest conversation in this inbox; spam stays silent.
        let Some(conversation) = conversations.into_iter().find(|c| c.inbox_id == self.inbox)
        else {
            return;
        };
        if matches!(conversation.folder, Folder::Spam | Folder::Deleted) {
            return;
        }
        let now = self.state.clock.now();
        let data = json!({"conversation_id": conversation.id, "contact_id": self.contact, "typing": typing});
        self.state.hub.send_ephemeral(
            self.account,
            Frame {
                seq: None,
                agent_text: Some(ephemeral_text("typing", now, data)),
                contact_text: None,
                contact_id: None,
                skip_agent: None,
            },
        );
    }
}
