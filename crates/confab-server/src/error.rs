//! Every error a client can see, and the one place they become HTTP.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confab_domain::validate::InvalidField;
use confab_store::StoreError;
use serde::Serialize;

/// An error answered as `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
    /// The field that failed validation, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first (session cookie or bearer token)",
        )
    }
    pub fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn invalid(field: &'static str, problem: impl Into<String>) -> ApiError {
        ApiError::from(InvalidField::new(field, problem))
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
    fn field(&self) -> Option<String> {
        (self.code == "invalid_field").then(|| {
            self.message
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string()
        })
    }
}

impl From<InvalidField> for ApiError {
    fn from(error: InvalidField) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            error.to_string(),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Refused(refusal) => ApiError::new(
                StatusCode::CONFLICT,
                "transition_refused",
                refusal.to_string(),
            ),
            StoreError::Duplicate { field } => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!("{field} is already taken"),
            ),
            StoreError::Invalid(field) => field.into(),
            StoreError::Database(detail) => {
                tracing::error!(%detail, "database error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                field: self.field(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
