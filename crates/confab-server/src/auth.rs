//! Who is asking: agents by session cookie or bearer token, contacts by
//! contact token. Tokens are random; only their SHA-256 is stored.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use confab_domain::{AccountId, Agent, Role};
use confab_store::CredentialKind;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "confab_session";

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with argon2id, off the async runtime.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!(error = %e, "hashing a password");
        ApiError::internal()
    })
}

/// A fixed argon2id hash of a random password: unknown e-mails are checked
/// against it so they cost the same time as known ones.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1Y3bWbgWkd1cHDkvEMVf/HhmbXnFQlGMeH6cuVXdXdU";

/// Checks a password against its hash, off the async runtime. With no hash
/// (unknown e-mail) it still spends the same time, then fails.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DECOY.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The signed-in agent, by bearer token or session cookie.
pub struct AgentAuth {
    pub agent: Agent,
    /// The token hash of the session (for logout), when signed in by cookie.
    pub session_hash: Option<String>,
}

impl AgentAuth {
    /// The account in the path, if it is the agent's own; otherwise "not found"
    /// (another account's ids never answer with data).
    pub fn account(&self, account: i64) -> ApiResult<AccountId> {
        if self.agent.account_id.0 == account {
            Ok(self.agent.account_id)
        } else {
            Err(ApiError::not_found("account"))
        }
    }

    /// Like [`AgentAuth::account`], and the agent must be an admin.
    pub fn admin_of(&self, account: i64) -> ApiResult<AccountId> {
        let id = self.account(account)?;
        if self.agent.role == Role::Admin {
            Ok(id)
        } else {
            Err(ApiError::forbidden("only admins can do this"))
        }
    }
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = state.clock.now();
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            let agent = state
                .store
                .agent_by_credential(CredentialKind::ApiToken, &token_hash(token), now)
                .await?;
            return agent
                .map(|agent| AgentAuth {
                    agent,
                    session_hash: None,
                })
                .ok_or_else(ApiError::unauthorized);
        }
        let Some(token) = cookie_value(parts, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized());
        };
        let hash = token_hash(token);
        let agent = state
            .store
            .agent_by_credential(CredentialKind::Session, &hash, now)
            .await?;
        agent
            .map(|agent| AgentAuth {
                agent,
                session_hash: Some(hash),
            })
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The `Set-Cookie` value for a session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_unknown_emails_cost_a_real_check() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong".into(), Some(hash)).await);
        // The decoy must be a real argon2id hash, or unknown e-mails answer faster.
        assert!(argon2::password_hash::PasswordHash::new(DECOY).is_ok());
        let started = std::time::Instant::now();
        assert!(!verify_password("correct horse".into(), None).await);
        let decoy = started.elapsed();
        assert!(
            decoy > std::time::Duration::from_millis(2),
            "decoy check took {decoy:?}"
        );
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
