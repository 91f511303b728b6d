//! Attachment files on disk, under the attachments folder.
//!
//! A file is written to `tmp/` first, flushed to disk, then renamed to
//! `KEY[0..2]/KEY` — a reader never sees half a file, and a failed or
//! refused upload leaves nothing behind. Keys are random (128 bits, hex):
//! the user's file name never touches the file system.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// How many leading bytes are kept to decide what a file is.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// Why a file could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Bigger than the configured limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The disk failed.
    #[error("attachment storage: {0}")]
    Io(#[from] std::io::Error),
}

/// The attachments folder and the largest file it takes.
#[derive(Debug, Clone)]
pub struct AttachmentStorage {
    dir: PathBuf,
    max_bytes: u64,
}

/// A file being written; dropped before [`Upload::finish`], it is removed.
pub struct Upload {
    temp: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    max_bytes: u64,
    final_dir: PathBuf,
    key: String,
}

/// A file safely in place.
#[derive(Debug, Clone)]
pub struct SavedFile {
    pub storage_key: String,
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// Whether a storage key is one Confab made (so it can never name a path
/// outside the folder, whatever the database holds).
fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl AttachmentStorage {
    /// Files live under `dir` (created when the first file arrives); each
    /// at most `max_bytes`.
    pub fn new(dir: PathBuf, max_bytes: u64) -> AttachmentStorage {
        AttachmentStorage { dir, max_bytes }
    }

    /// The largest file taken, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The attachments folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a stored file lies; `None` for a key Confab did not make.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.dir.join(&key[..2]).join(key))
    }

    /// Starts writing a new file.
    pub async fn begin(&self) -> Result<Upload, StorageError> {
        let key = format!("{:032x}", rand::random::<u128>());
        let temp_dir = self.dir.join("tmp");
        tokio::fs::create_dir_all(&temp_dir).await?;
        let temp = temp_dir.join(format!("{key}.part"));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        Ok(Upload {
            temp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            max_bytes: self.max_bytes,
            final_dir: self.dir.join(&key[..2]),
            key,
        })
    }

    /// Stores bytes already in memory (mail attachments).
    pub async fn save(&self, data: &[u8]) -> Result<SavedFile, StorageError> {
        let mut upload = self.begin().await?;
        upload.write(data).await?;
        upload.finish().await
    }

    /// Opens a stored file for reading.
    pub async fn open(&self, key: &str) -> std::io::Result<tokio::fs::File> {
        let path = self.path(key).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a storage key")
        })?;
        tokio::fs::File::open(path).await
    }

    /// Reads a stored file whole (for mail).
    pub async fn read(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let path = self.path(key).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a storage key")
        })?;
        tokio::fs::read(path).await
    }

    /// Deletes a stored file; one already gone is fine.
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        let Some(path) = self.path(key) else {
            return Ok(());
        };
        match tokio::fs::remove_file(path).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

impl Upload {
    /// Appends a chunk; `TooLarge` once the file would pass the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        if self.size + chunk.len() as u64 > self.max_bytes {
            return Err(StorageError::TooLarge {
                limit: self.max_bytes,
            });
        }
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        match self.file.as_mut() {
            Some(file) => file.write_all(chunk).await?,
            None => return Err(std::io::Error::other("upload already finished").into()),
        }
        Ok(())
    }

    /// The first bytes of the file, to decide what it is.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Flushes the file to disk and moves it into place.
    pub async fn finish(mut self) -> Result<SavedFile, StorageError> {
        let Some(mut file) = self.file.take() else {
            return Err(std::io::Error::other("upload already finished").into());
        };
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::create_dir_all(&self.final_dir).await?;
        tokio::fs::rename(&self.temp, self.final_dir.join(&self.key)).await?;
        // Renamed: nothing for Drop to clean up.
        self.temp = PathBuf::new();
        let hasher = std::mem::take(&mut self.hasher);
        Ok(SavedFile {
            storage_key: self.key.clone(),
            size: self.size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(limit: u64) -> AttachmentStorage {
        let dir = std::env::temp_dir().join(format!(
            "confab-storage-test-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        AttachmentStorage::new(dir, limit)
    }

    #[tokio::test]
    async fn files_land_whole_under_random_keys() {
        let storage = storage(1024);
        let saved = storage.save(b"hello").await.unwrap();
        assert!(valid_key(&saved.storage_key));
        assert_eq!(saved.size, 5);
        assert_eq!(
            saved.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(storage.read(&saved.storage_key).await.unwrap(), b"hello");
        // Nothing is left in the temporary folder.
        let temp = std::fs::read_dir(storage.dir().join("tmp"))
            .unwrap()
            .count();
        assert_eq!(temp, 0);
        storage.delete(&saved.storage_key).await.unwrap();
        storage.delete(&saved.storage_key).await.unwrap();
        assert!(storage.read(&saved.storage_key).await.is_err());
        let _ = std::fs::remove_dir_all(storage.dir());
    }

    #[tokio::test]
    async fn too_large_or_abandoned_uploads_leave_nothing() {
        let storage = storage(4);
        assert!(matches!(
            storage.save(b"hello").await,
            Err(StorageError::TooLarge { limit: 4 })
        ));
        let mut upload = storage.begin().await.unwrap();
        upload.write(b"abc").await.unwrap();
        drop(upload);
        let temp = std::fs::read_dir(storage.dir().join("tmp"))
            .unwrap()
            .count();
        assert_eq!(temp, 0);
        let _ = std::fs::remove_dir_all(storage.dir());
    }

    #[test]
    fn only_our_keys_name_paths() {
        let storage = storage(1);
        assert!(storage.path("../../etc/passwd").is_none());
        assert!(storage.path("0123456789abcdef0123456789abcde/").is_none());
        assert!(storage.path("0123456789abcdef0123456789abcdef").is_some());
    }
}
