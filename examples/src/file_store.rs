//! A [`SessionStore`] in a JSON file, so `utilconnect token` and `utilconnect complete` can
//! run as separate processes. It shows how little a store needs: pending sessions hold no
//! secret (digests only), so the file is safe to keep on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;
use utilconnect::{Digest, Error, ErrorKind, Operation, PendingSession, Result, SessionStore};

/// Pending sessions in one JSON file, keyed by state digest.
#[derive(Debug)]
pub struct FileSessionStore {
    path: PathBuf,
    // Serialises this process's read-modify-write cycles.
    lock: Mutex<()>,
}

impl FileSessionStore {
    /// A store in `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// Where the sessions are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read(&self) -> Result<HashMap<String, PendingSession>> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                store_error(format!(
                    "{} is not a session file: {e}",
                    self.path.display()
                ))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
            Err(err) => Err(store_error(format!(
                "cannot read {}: {err}",
                self.path.display()
            ))),
        }
    }

    async fn write(&self, sessions: &HashMap<String, PendingSession>) -> Result<()> {
        let json = serde_json::to_vec_pretty(sessions)
            .map_err(|e| store_error(format!("cannot encode sessions: {e}")))?;
        // Write then rename, so a crash never leaves half a file.
        let tmp = self.path.with_extension("tmp");
        tokio::fs::write(&tmp, json)
            .await
            .map_err(|e| store_error(format!("cannot write {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| store_error(format!("cannot write {}: {e}", self.path.display())))
    }
}

fn store_error(message: String) -> Error {
    Error::new(ErrorKind::Config, Operation::Store, message)
}

#[async_trait]
impl SessionStore for FileSessionStore {
    async fn put(&self, session: PendingSession) -> Result<()> {
        let _guard = self.lock.lock().await;
        let mut sessions = self.read().await?;
        sessions.insert(session.state_digest.as_str().to_owned(), session);
        self.write(&sessions).await
    }

    async fn get(&self, key: &Digest) -> Result<Option<PendingSession>> {
        let _guard = self.lock.lock().await;
        Ok(self.read().await?.remove(key.as_str()))
    }

    async fn take(&self, key: &Digest) -> Result<Option<PendingSession>> {
        let _guard = self.lock.lock().await;
        let mut sessions = self.read().await?;
        let session = sessions.remove(key.as_str());
        if session.is_some() {
            self.write(&sessions).await?;
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn session() -> PendingSession {
        PendingSession {
            provider: "pelm".into(),
            user_id: "u".into(),
            state_digest: Digest::of(b"state"),
            token_digest: Digest::of(b"token"),
            callback_url: url::Url::parse("https://app.example/cb").unwrap(),
            created_at: SystemTime::UNIX_EPOCH,
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(60),
            data: Default::default(),
        }
    }

    #[tokio::test]
    async fn sessions_survive_a_new_store_and_are_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        let key = Digest::of(b"state");
        FileSessionStore::new(&path).put(session()).await.unwrap();

        let reopened = FileSessionStore::new(&path);
        assert_eq!(reopened.take(&key).await.unwrap(), Some(session()));
        assert_eq!(reopened.take(&key).await.unwrap(), None);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), "{}");
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        std::fs::write(&path, "not json").unwrap();
        let err = FileSessionStore::new(&path)
            .take(&Digest::of(b"x"))
            .await
            .unwrap_err();
        assert_eq!(err.operation(), Operation::Store);
        assert!(err.to_string().contains("not a session file"), "{err}");
    }
}
