//! Attachments: files on disk under the attachments folder ([`storage`]),
//! what they are and how they are served ([`kind`]), and taking a file in
//! (upload or e-mail) so that it is stored whole, checked, and recorded —
//! or leaves nothing behind.

pub mod kind;
pub mod storage;

use confab_domain::{AccountId, ConversationId};
use confab_store::{NewAttachment, StoredAttachment, Uploader};
pub use storage::{AttachmentStorage, SavedFile, StorageError, Upload};

use crate::error::ApiError;
use crate::state::AppState;

/// Why a file was not kept.
#[derive(Debug, thiserror::Error)]
pub enum FileRefused {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Its content is of a kind Confab does not take.
    #[error("{0}")]
    Type(&'static str),
    #[error(transparent)]
    Store(#[from] confab_store::StoreError),
}

impl From<FileRefused> for ApiError {
    fn from(error: FileRefused) -> ApiError {
        use axum::http::StatusCode;
        match error {
            FileRefused::Storage(StorageError::TooLarge { limit }) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("files may be at most {limit} bytes"),
            ),
            FileRefused::Storage(StorageError::Io(error)) => {
                tracing::error!(%error, "storing an attachment");
                ApiError::internal()
            }
            FileRefused::Type(why) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type", why)
            }
            FileRefused::Store(error) => error.into(),
        }
    }
}

/// What a file arriving is, besides its bytes.
pub struct Incoming<'a> {
    pub account: AccountId,
    pub conversation: Option<ConversationId>,
    pub uploader: Uploader,
    /// The sender's file name, raw.
    pub filename: Option<&'a str>,
    /// The type the sender declared.
    pub declared_type: Option<&'a str>,
}

/// Checks a fully written upload, moves it into place and records it
/// (unattached). Refused or failed, nothing stays on disk.
pub async fn keep(
    state: &AppState,
    upload: Upload,
    incoming: Incoming<'_>,
) -> Result<StoredAttachment, FileRefused> {
    let filename = kind::clean_filename(incoming.filename.unwrap_or(""));
    let content_type = kind::content_type(upload.head(), incoming.declared_type, &filename)
        .map_err(|refused| FileRefused::Type(refused.0))?;
    let saved = upload.finish().await?;
    let record = NewAttachment {
        conversation_id: incoming.conversation,
        uploader: incoming.uploader,
        filename,
        content_type,
        size_bytes: saved.size as i64,
        sha256: saved.sha256,
        storage_key: saved.storage_key.clone(),
    };
    match state
        .store
        .create_attachment(incoming.account, record, state.clock.now())
        .await
    {
        Ok(stored) => Ok(stored),
        Err(error) => {
            if let Err(io) = state.attachments.delete(&saved.storage_key).await {
                tracing::warn!(error = %io, "removing the file of an attachment not recorded");
            }
            Err(error.into())
        }
    }
}

/// Takes a file that is already in memory (a mail attachment).
pub async fn keep_bytes(
    state: &AppState,
    data: &[u8],
    incoming: Incoming<'_>,
) -> Result<StoredAttachment, FileRefused> {
    let mut upload = state.attachments.begin().await?;
    upload.write(data).await?;
    keep(state, upload, incoming).await
}
