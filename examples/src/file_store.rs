//! A [`SessionStore`] in a directory, one file per pending session, so `utilconnect token`
//! and `utilconnect complete` can run as separate processes, and many at once.
//!
//! It shows how little a store needs: pending sessions hold no secret (digests only), so the
//! files are safe on disk. Every step is one atomic file-system operation, so concurrent
//! processes need no lock: `put` writes a temporary file and renames it into place; `take`
//! renames the session's file to a name of its own (only one rename of a file can succeed)
//! and then reads and deletes it. (An earlier version kept every session in one JSON file and
//! rewrote it on each change: concurrent processes lost each other's sessions.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use utilconnect::{Digest, Error, ErrorKind, Operation, PendingSession, Result, SessionStore};

/// Largest session file read (a real one is well under 1 KiB).
const MAX_SESSION_BYTES: u64 = 64 * 1024;
/// Expired files are swept by a `put` at most this often (per store).
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Pending sessions as files `<dir>/<state digest>.json`.
#[derive(Debug)]
pub struct FileSessionStore {
    dir: PathBuf,
    /// Makes this process's temporary names unique.
    counter: AtomicU64,
    /// When this store last swept (seconds since the epoch).
    last_sweep: AtomicU64,
}

impl FileSessionStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            counter: AtomicU64::new(0),
            last_sweep: AtomicU64::new(0),
        }
    }

    /// Where the sessions are kept.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, key: &Digest) -> PathBuf {
        // A digest is URL-safe base64: a safe file name.
        self.dir.join(format!("{}.json", key.as_str()))
    }

    /// A name no other call, in this process or another, uses.
    fn private_name(&self, what: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!(".{what}-{}-{n}", std::process::id()))
    }

    async fn read(&self, path: &Path) -> Result<Option<PendingSession>> {
        let bytes = match tokio::fs::metadata(path).await {
            Ok(meta) if meta.len() > MAX_SESSION_BYTES => {
                return Err(store_error(format!(
                    "{} is larger than any session file",
                    path.display()
                )));
            }
            Ok(_) => tokio::fs::read(path).await,
            Err(err) => Err(err),
        };
        match bytes {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| store_error(format!("{} is not a session file: {e}", path.display()))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(store_error(format!(
                "cannot read {}: {err}",
                path.display()
            ))),
        }
    }

    /// Deletes session files past their expiry (best effort: another process may be
    /// sweeping too).
    async fn sweep(&self) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return;
        };
        let now = SystemTime::now();
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                if let Ok(Some(session)) = self.read(&path).await {
                    if session.is_expired(now) {
                        let _ = tokio::fs::remove_file(&path).await;
                    }
                }
            }
        }
    }
}

fn store_error(message: String) -> Error {
    Error::new(ErrorKind::Unexpected, Operation::Store, message)
}

#[async_trait]
impl SessionStore for FileSessionStore {
    async fn put(&self, session: PendingSession) -> Result<()> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| store_error(format!("cannot create {}: {e}", self.dir.display())))?;
        let json = serde_json::to_vec(&session)
            .map_err(|e| store_error(format!("cannot encode a session: {e}")))?;
        let tmp = self.private_name("put");
        tokio::fs::write(&tmp, json)
            .await
            .map_err(|e| store_error(format!("cannot write {}: {e}", tmp.display())))?;
        let target = self.file(&session.state_digest);
        // A rename replaces the target in one step: readers see the old file or the new one.
        tokio::fs::rename(&tmp, &target)
            .await
            .map_err(|e| store_error(format!("cannot write {}: {e}", target.display())))?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_sweep.load(Ordering::Relaxed);
        let due = now >= last.saturating_add(SWEEP_INTERVAL.as_secs());
        if due
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.sweep().await;
        }
        Ok(())
    }

    async fn get(&self, key: &Digest) -> Result<Option<PendingSession>> {
        self.read(&self.file(key)).await
    }

    async fn take(&self, key: &Digest) -> Result<Option<PendingSession>> {
        let claimed = self.private_name("take");
        match tokio::fs::rename(self.file(key), &claimed).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(store_error(format!(
                    "cannot take a session in {}: {err}",
                    self.dir.display()
                )));
            }
        }
        let session = self.read(&claimed).await;
        let _ = tokio::fs::remove_file(&claimed).await;
        session
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use utilconnect_conformance::stores::{StoreUnderTest, run_store_suite, session};

    use super::*;

    /// Each `open` is a new store on the same directory, as another process would have.
    struct InDir(PathBuf);

    #[async_trait]
    impl StoreUnderTest for InDir {
        async fn open(&self) -> Arc<dyn SessionStore> {
            Arc::new(FileSessionStore::new(&self.0))
        }

        fn shared(&self) -> bool {
            true
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_file_store_passes_the_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let failures = run_store_suite(&InDir(dir.path().join("sessions"))).await;
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_typed_error_and_expired_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileSessionStore::new(dir.path());
        let key = Digest::of(b"x");
        std::fs::write(store.file(&key), "not json").unwrap();
        let err = store.get(&key).await.unwrap_err();
        assert_eq!(err.operation(), Operation::Store);
        assert!(err.to_string().contains("not a session file"), "{err}");

        let mut expired = session("old", "u", Duration::ZERO);
        expired.expires_at = SystemTime::now() - Duration::from_secs(1);
        let old = expired.state_digest.clone();
        store.put(expired).await.unwrap();
        store.sweep().await;
        assert!(!store.file(&old).exists(), "swept");
    }
}
