//! Where pending sessions wait between `start` and the callback.
//!
//! Sessions are keyed by the [`Digest`] of their state and hold no secret, so any store —
//! memory, Redis, a database table — is safe to use. `take` must be atomic (load and delete in
//! one step): that is what makes a callback single-use.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::flow::PendingSession;
use crate::state::Digest;

mod registry;

pub use registry::{
    DEFAULT_STORE_KIND, MAX_MEMORY_CAPACITY, StoreBuildFn, StoreDescriptor,
    session_store_from_config, session_stores,
};

/// Storage for pending sessions.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Saves `session` under its [`state_digest`](PendingSession::state_digest) until its
    /// `expires_at`. Replaces a session already saved under that digest.
    ///
    /// The session is given by value: a store keeps or serializes it, and nothing is copied
    /// on the way.
    async fn put(&self, session: PendingSession) -> Result<()>;

    /// Returns the session under `key` without removing it; `None` if there is none.
    ///
    /// The [`Connector`](crate::Connector) looks a session up with `get` and checks the
    /// callback against it before it [`take`](Self::take)s it, so a forged callback that
    /// carries a real state cannot burn the real flow.
    async fn get(&self, key: &Digest) -> Result<Option<PendingSession>>;

    /// Removes and returns the session under `key`, atomically; `None` if there is none.
    ///
    /// A store may return a session past its `expires_at` (the
    /// [`Connector`](crate::Connector) checks expiry and reports it as such) or may already
    /// have dropped it.
    async fn take(&self, key: &Digest) -> Result<Option<PendingSession>>;
}

/// An in-process store with expiry, for single-instance apps, tests and the sandboxes.
///
/// Expired sessions are swept on writes, and a size cap bounds memory even under a flood of
/// `start` calls that never come back.
///
/// ```
/// use utilconnect::InMemorySessionStore;
///
/// let store = InMemorySessionStore::new().with_capacity(10_000);
/// assert!(store.is_empty());
/// ```
#[derive(Clone)]
pub struct InMemorySessionStore {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
    capacity: usize,
}

struct Inner {
    sessions: HashMap<Digest, PendingSession>,
    next_sweep: SystemTime,
}

/// How often expired sessions are swept, at most.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

impl InMemorySessionStore {
    /// Default maximum number of pending sessions.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store on the system clock with the default capacity.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A store whose expiry follows `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                sessions: HashMap::new(),
                next_sweep: SystemTime::UNIX_EPOCH,
            })),
            clock,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }

    /// Sets the maximum number of pending sessions.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How many sessions are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemorySessionStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InMemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySessionStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn put(&self, session: PendingSession) -> Result<()> {
        let key = &session.state_digest;
        let now = self.clock.now();
        let mut inner = self.lock();
        let full = inner.sessions.len() >= self.capacity;
        if now >= inner.next_sweep || full {
            inner.sessions.retain(|_, s| !s.is_expired(now));
            inner.next_sweep = now.checked_add(SWEEP_INTERVAL).unwrap_or(now);
        }
        if inner.sessions.len() >= self.capacity && !inner.sessions.contains_key(key) {
            return Err(Error::new(
                ErrorKind::RateLimited,
                Operation::Store,
                format!(
                    "the session store holds its maximum of {} pending flows; try again later",
                    self.capacity
                ),
            )
            .with_retry_after(SWEEP_INTERVAL));
        }
        inner.sessions.insert(session.state_digest.clone(), session);
        Ok(())
    }

    async fn get(&self, key: &Digest) -> Result<Option<PendingSession>> {
        Ok(self.lock().sessions.get(key).cloned())
    }

    async fn take(&self, key: &Digest) -> Result<Option<PendingSession>> {
        Ok(self.lock().sessions.remove(key))
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::clock::ManualClock;

    /// A session for the state `state`, expiring `expires_in` from now.
    fn session(state: &[u8], expires_in: Duration, clock: &ManualClock) -> PendingSession {
        PendingSession {
            provider: "test".into(),
            user_id: "u".into(),
            state_digest: Digest::of(state),
            token_digest: Digest::of(b"t"),
            callback_url: Url::parse("https://app.example/cb").unwrap(),
            created_at: clock.now(),
            expires_at: clock.now() + expires_in,
            data: Default::default(),
        }
    }

    #[tokio::test]
    async fn take_is_single_use() {
        let clock = ManualClock::new();
        let store = InMemorySessionStore::with_clock(Arc::new(clock.clone()));
        let key = Digest::of(b"k");
        store
            .put(session(b"k", Duration::from_secs(60), &clock))
            .await
            .unwrap();
        assert!(store.take(&key).await.unwrap().is_some());
        assert!(store.take(&key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_sessions_are_swept_on_write() {
        let clock = ManualClock::new();
        let store = InMemorySessionStore::with_clock(Arc::new(clock.clone()));
        for i in 0..10u8 {
            store
                .put(session(&[i], Duration::from_secs(60), &clock))
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(61));
        let expired = store
            .take(&Digest::of(&[0]))
            .await
            .unwrap()
            .expect("not swept yet");
        assert!(
            expired.is_expired(clock.now()),
            "returned so the caller can say 'expired'"
        );
        assert_eq!(store.len(), 9);
        clock.advance(SWEEP_INTERVAL);
        store
            .put(session(b"new", Duration::from_secs(60), &clock))
            .await
            .unwrap();
        assert_eq!(store.len(), 1, "expired sessions swept on write");
    }

    #[tokio::test]
    async fn capacity_is_enforced_after_sweeping() {
        let clock = ManualClock::new();
        let store = InMemorySessionStore::with_clock(Arc::new(clock.clone())).with_capacity(2);
        store
            .put(session(b"1", Duration::from_secs(10), &clock))
            .await
            .unwrap();
        store
            .put(session(b"2", Duration::from_secs(100), &clock))
            .await
            .unwrap();
        let err = store
            .put(session(b"3", Duration::from_secs(100), &clock))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        clock.advance(Duration::from_secs(11));
        store
            .put(session(b"3", Duration::from_secs(100), &clock))
            .await
            .expect("room after the first session expired");
    }
}
