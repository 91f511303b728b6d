//! Per-IP rate limits (token buckets) answering 429 in our error format.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::response::IntoResponse;
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::config::RateLimit;
use crate::error::ApiError;

/// A layer that allows `limit` per client IP.
pub fn layer(limit: RateLimit) -> GovernorLayer<PeerIpKeyExtractor, NoOpMiddleware, Body> {
    let per_minute = u64::from(limit.per_minute.max(1));
    let config = GovernorConfigBuilder::default()
        .per_millisecond((60_000 / per_minute).max(1))
        .burst_size(limit.burst.max(1))
        .finish()
        .unwrap_or_default();
    GovernorLayer::new(config).error_handler(rejection)
}

fn rejection(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; try again in {wait_time} s"),
            )
            .into_response();
            if let Ok(value) = wait_time.to_string().parse() {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        GovernorError::UnableToExtractKey => {
            ApiError::bad_request("cannot tell the client's address").into_response()
        }
        GovernorError::Other { code, msg, .. } => ApiError::new(
            code,
            "rate_limited",
            msg.unwrap_or_else(|| "rate limited".into()),
        )
        .into_response(),
    }
}
