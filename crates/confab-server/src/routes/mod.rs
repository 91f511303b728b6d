//! The routers, per audience, and the app that joins them.

pub mod agents;
pub mod attachments;
pub mod auth;
pub mod contacts;
pub mod conversations;
pub mod dev;
pub mod health;
pub mod identity;
pub mod inboxes;
pub mod mail;
pub mod public;
pub mod tags;
pub mod webhooks;
pub mod widget;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, Method, StatusCode};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::rate_limit;
use crate::state::AppState;

/// The agent and public API as one OpenAPI-documented router. Request
/// bodies are limited to `--body-limit`, except file uploads (up to the
/// attachment limit, checked as the file streams to disk).
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let login = auth::login_router().layer(rate_limit::layer(state.config.login_rate));
    let public = public::router()
        .merge(widget::router())
        .merge(crate::events::streams::contact_router())
        .layer(rate_limit::layer(state.config.public_rate));
    let uploads = attachments::agent_router(state).merge(
        attachments::public_router(state).layer(rate_limit::layer(state.config.public_rate)),
    );
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(login)
        .merge(auth::router())
        .merge(inboxes::router())
        .merge(conversations::router())
        .merge(contacts::router())
        .merge(agents::router())
        .merge(tags::router())
        .merge(mail::router())
        .merge(webhooks::router())
        .merge(crate::events::streams::agent_router())
        .merge(public)
        .layer(RequestBodyLimitLayer::new(state.config.body_limit))
        .merge(uploads)
}

/// The public API is called from any site that installs the widget: any
/// origin may call it, without cookies (the contact token is a header).
/// The agent API stays same-origin: its answers never allow another origin.
/// (Around the whole app, so preflights reach it before method routing.)
fn public_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|_, request| {
            request.uri.path().starts_with("/api/v1/public/")
        }))
        .allow_methods([Method::GET, Method::POST, Method::PATCH])
        .allow_headers([
            CONTENT_TYPE,
            HeaderName::from_static("x-contact-token"),
            HeaderName::from_static("idempotency-key"),
        ])
        .max_age(std::time::Duration::from_secs(24 * 3600))
}

/// The whole app: API, health checks, OpenAPI document, errors as JSON.
pub fn app(state: AppState) -> Router {
    let (api, document) = api(&state).split_for_parts();
    let document = std::sync::Arc::new(document);
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(dev::router())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(public_cors())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
