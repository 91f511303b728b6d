//! The OpenAPI document's frame; every route adds itself through utoipa-axum.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

/// Title, version and the two ways agents authenticate.
pub fn base() -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Confab API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The help desk's HTTP API: agent side (session cookie or bearer token) and public contact side (contact token)."))
                .build(),
        )
        .build();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
            crate::auth::SESSION_COOKIE,
        ))),
    );
    components.add_security_scheme(
        "contact_token",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Contact-Token"))),
    );
    document
}
