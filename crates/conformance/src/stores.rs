//! The store suite: every [`SessionStore`] held to the same contract, as [`Suite`](crate::Suite)
//! holds providers.
//!
//! A store crate gives the suite a [`StoreUnderTest`] (how to open a handle on the store, and
//! whether two handles share sessions) and asserts [`run_store_suite`] finds nothing wrong:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use utilconnect::{InMemorySessionStore, SessionStore};
//! use utilconnect_conformance::stores::{StoreUnderTest, run_store_suite};
//!
//! struct Memory(Arc<InMemorySessionStore>);
//! #[utilconnect::async_trait]
//! impl StoreUnderTest for Memory {
//!     async fn open(&self) -> Arc<dyn SessionStore> { self.0.clone() }
//!     fn shared(&self) -> bool { false }
//! }
//! let failures = run_store_suite(&Memory(Arc::new(InMemorySessionStore::new()))).await;
//! assert!(failures.is_empty(), "{failures:#?}");
//! # });
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::future::join_all;
use utilconnect::{Digest, PendingSession, SessionStore, Url};

use crate::outcome::{Failure, check};

/// How many concurrent `take`s race for one session.
pub const RACING_TAKES: usize = 100;
/// How many sessions the volume case puts and takes.
pub const VOLUME: usize = 10_000;

/// A store the suite can open.
#[async_trait]
pub trait StoreUnderTest: Send + Sync {
    /// A handle on the store. For a [`shared`](Self::shared) store each call returns a new
    /// handle (its own connections) on the same storage, as another instance of the app
    /// would have.
    async fn open(&self) -> Arc<dyn SessionStore>;

    /// Whether two handles see the same sessions (Redis, a file), so the cross-instance
    /// cases run; `false` for a store that lives in one process's memory.
    fn shared(&self) -> bool;
}

/// Runs every case; the failures, by case name (empty when the store conforms).
pub async fn run_store_suite(subject: &dyn StoreUnderTest) -> Vec<(&'static str, Failure)> {
    let mut failures = Vec::new();
    let mut record = |name, result: Result<(), Failure>| {
        if let Err(failure) = result {
            failures.push((name, failure));
        }
    };
    record("take_is_single_use", take_is_single_use(subject).await);
    record("get_does_not_consume", get_does_not_consume(subject).await);
    record("put_replaces", put_replaces(subject).await);
    record(
        "expired_is_never_live",
        expired_is_never_live(subject).await,
    );
    record(
        "racing_takes_one_wins",
        racing_takes_one_wins(subject).await,
    );
    record("volume", volume(subject).await);
    if subject.shared() {
        record(
            "another_instance_takes_it",
            another_instance_takes_it(subject).await,
        );
    }
    failures
}

/// A session for `state` (a label made unique per case), for `user`, expiring `ttl` from now.
pub fn session(state: &str, user: &str, ttl: Duration) -> PendingSession {
    let now = SystemTime::now();
    PendingSession {
        provider: "store-suite".into(),
        user_id: user.into(),
        state_digest: Digest::of(state.as_bytes()),
        token_digest: Digest::of(b"token"),
        callback_url: Url::parse("https://app.example/callback?tenant=a%26b").expect("valid"),
        created_at: now,
        expires_at: now + ttl,
        data: serde_json::Map::from_iter([("custodian".to_owned(), "utility-a".into())]),
    }
}

/// A label no earlier run against the same (persistent) store used.
fn unique(case: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{case}-{nanos}-{}", std::process::id())
}

const TTL: Duration = Duration::from_secs(600);

fn failed(what: &str, err: utilconnect::Error) -> Failure {
    Failure::new(format!("{what}: {err}"))
}

async fn take_is_single_use(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let store = subject.open().await;
    let state = unique("single-use");
    let put = session(&state, "user-1", TTL);
    store.put(put.clone()).await.map_err(|e| failed("put", e))?;
    let key = Digest::of(state.as_bytes());
    let taken = store.take(&key).await.map_err(|e| failed("take", e))?;
    check(
        taken.as_ref() == Some(&put),
        format!("take returned {taken:?}, not the session put"),
    )?;
    let again = store
        .take(&key)
        .await
        .map_err(|e| failed("second take", e))?;
    check(again.is_none(), "a session was taken twice")?;
    let unknown = store
        .get(&Digest::of(b"never put"))
        .await
        .map_err(|e| failed("get", e))?;
    check(
        unknown.is_none(),
        "get of a key never put returned a session",
    )
}

async fn get_does_not_consume(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let store = subject.open().await;
    let state = unique("get");
    store
        .put(session(&state, "user-1", TTL))
        .await
        .map_err(|e| failed("put", e))?;
    let key = Digest::of(state.as_bytes());
    for _ in 0..2 {
        let seen = store.get(&key).await.map_err(|e| failed("get", e))?;
        check(
            seen.is_some_and(|s| s.user_id == "user-1"),
            "get did not return the session",
        )?;
    }
    let taken = store.take(&key).await.map_err(|e| failed("take", e))?;
    check(taken.is_some(), "get consumed the session")
}

async fn put_replaces(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let store = subject.open().await;
    let state = unique("replace");
    store
        .put(session(&state, "first", TTL))
        .await
        .map_err(|e| failed("put", e))?;
    store
        .put(session(&state, "second", TTL))
        .await
        .map_err(|e| failed("second put", e))?;
    let taken = store
        .take(&Digest::of(state.as_bytes()))
        .await
        .map_err(|e| failed("take", e))?;
    check(
        taken.is_some_and(|s| s.user_id == "second"),
        "a second put under one state did not replace the first",
    )
}

async fn expired_is_never_live(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let store = subject.open().await;
    let state = unique("expired");
    let mut expired = session(&state, "user-1", Duration::ZERO);
    expired.expires_at = SystemTime::now() - Duration::from_secs(1);
    store
        .put(expired)
        .await
        .map_err(|e| failed("put of an expired session", e))?;
    let key = Digest::of(state.as_bytes());
    let now = SystemTime::now();
    for (what, found) in [
        ("get", store.get(&key).await.map_err(|e| failed("get", e))?),
        (
            "take",
            store.take(&key).await.map_err(|e| failed("take", e))?,
        ),
    ] {
        check(
            found.as_ref().is_none_or(|s| s.is_expired(now)),
            format!("{what} returned an expired session as live"),
        )?;
    }
    Ok(())
}

async fn racing_takes_one_wins(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let handles = join_all((0..4).map(|_| subject.open())).await;
    let state = unique("race");
    handles[0]
        .put(session(&state, "user-1", TTL))
        .await
        .map_err(|e| failed("put", e))?;
    let key = Digest::of(state.as_bytes());
    let takes = (0..RACING_TAKES).map(|i| {
        let store = handles[i % handles.len()].clone();
        let key = key.clone();
        async move { store.take(&key).await }
    });
    let mut won = 0;
    for result in join_all(takes).await {
        won += usize::from(result.map_err(|e| failed("take", e))?.is_some());
    }
    check(
        won == 1,
        format!("{RACING_TAKES} concurrent takes of one session: {won} got it"),
    )
}

async fn volume(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let store = subject.open().await;
    let run = unique("volume");
    let states: Vec<String> = (0..VOLUME).map(|i| format!("{run}-{i}")).collect();
    for chunk in states.chunks(200) {
        let puts = chunk.iter().map(|s| store.put(session(s, s, TTL)));
        for result in join_all(puts).await {
            result.map_err(|e| failed("put", e))?;
        }
    }
    let mut missing = 0;
    for chunk in states.chunks(200) {
        let takes = chunk.iter().map(|s| {
            let key = Digest::of(s.as_bytes());
            let store = store.clone();
            async move { (s, store.take(&key).await) }
        });
        for (state, result) in join_all(takes).await {
            let taken = result.map_err(|e| failed("take", e))?;
            missing += usize::from(taken.is_none_or(|t| &t.user_id != state));
        }
    }
    check(
        missing == 0,
        format!("{missing} of {VOLUME} sessions were not taken back as put"),
    )
}

async fn another_instance_takes_it(subject: &dyn StoreUnderTest) -> Result<(), Failure> {
    let (a, b) = (subject.open().await, subject.open().await);
    let state = unique("instances");
    let put = session(&state, "user-1", TTL);
    a.put(put.clone())
        .await
        .map_err(|e| failed("put on the first instance", e))?;
    let key = Digest::of(state.as_bytes());
    let seen = b
        .get(&key)
        .await
        .map_err(|e| failed("get on the second instance", e))?;
    check(
        seen.as_ref() == Some(&put),
        "the second instance does not see the session",
    )?;
    let taken = b
        .take(&key)
        .await
        .map_err(|e| failed("take on the second instance", e))?;
    check(
        taken.as_ref() == Some(&put),
        "the second instance could not take the session",
    )?;
    let again = a
        .take(&key)
        .await
        .map_err(|e| failed("take on the first instance", e))?;
    check(
        again.is_none(),
        "the first instance took a session the second had taken",
    )
}
