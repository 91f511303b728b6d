use confab_domain::Refusal;
use confab_domain::validate::InvalidField;

/// What can go wrong in a store. Each variant maps to one HTTP status in the server.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist in this account (or at all).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The folder state machine refused the action.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A unique value is taken (e.g. an agent's e-mail).
    #[error("{field} is already taken")]
    Duplicate { field: &'static str },
    /// Input the store cannot accept.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The database failed; the message is for logs, not for clients.
    #[error("database error: {0}")]
    Database(String),
}

/// The result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;
