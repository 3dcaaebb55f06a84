//! [`SingleFlight`]: calls for one key share one call's result, while it runs and for a
//! short while after it succeeded.
//!
//! Refreshing one connection from several requests must reach the vendor once: a refresh
//! token is often single use, so a second refresh with the same token, sent while the first
//! runs *or just after it rotated the token*, would be refused and look like a revoked grant.
//! So a success also answers calls for the same key for a grace period.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::OnceCell;

use crate::expiring::ExpiringMap;

/// Most successes remembered at once; older ones are dropped first when full.
const MAX_REMEMBERED: usize = 10_000;

struct Calls<K, T, E> {
    in_flight: HashMap<K, Arc<OnceCell<Result<T, E>>>>,
    succeeded: ExpiringMap<K, T>,
}

/// Calls by key: running ones, and recent successes.
pub(crate) struct SingleFlight<K, T, E> {
    grace: Duration,
    calls: Mutex<Calls<K, T, E>>,
}

impl<K: Eq + Hash + Clone, T: Clone, E: Clone> SingleFlight<K, T, E> {
    /// Successes answer calls for the same key for `grace`.
    pub(crate) fn new(grace: Duration) -> Self {
        Self {
            grace,
            calls: Mutex::new(Calls {
                in_flight: HashMap::new(),
                succeeded: ExpiringMap::new(MAX_REMEMBERED),
            }),
        }
    }

    /// The result of a success for `key` within the grace period before `now`; else runs
    /// `call`, unless a call for `key` is already running: then waits for it and returns its
    /// result. If the running caller is dropped midway, a waiting one runs its own `call`.
    pub(crate) async fn run<F, Fut>(&self, key: K, now: SystemTime, call: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut calls = self.lock();
            if let Some(value) = calls.succeeded.get(&key, now) {
                return Ok(value.clone());
            }
            calls.in_flight.entry(key.clone()).or_default().clone()
        };
        let result = cell.get_or_init(call).await.clone();
        let mut calls = self.lock();
        if calls
            .in_flight
            .get(&key)
            .is_some_and(|c| Arc::ptr_eq(c, &cell))
        {
            calls.in_flight.remove(&key);
            if let Ok(value) = &result {
                let until = now.checked_add(self.grace).unwrap_or(now);
                calls.succeeded.insert(key, value.clone(), until, now);
            }
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, Calls<K, T, E>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.lock().in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const GRACE: Duration = Duration::from_secs(60);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn concurrent_calls_for_one_key_run_once() {
        let flight = Arc::new(SingleFlight::<&str, usize, ()>::new(GRACE));
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (flight, runs, gate) = (flight.clone(), runs.clone(), gate.clone());
            tasks.spawn(async move {
                flight
                    .run("k", at(0), || async move {
                        gate.notified().await;
                        Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
                    })
                    .await
            });
        }
        // Let every task join the flight before the one call may end.
        while flight
            .lock()
            .in_flight
            .get("k")
            .map_or(0, Arc::strong_count)
            < 21
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        gate.notify_one();
        while let Some(result) = tasks.join_next().await {
            assert_eq!(
                result.unwrap(),
                Ok(1),
                "every caller sees the one call's result"
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            flight.in_flight(),
            0,
            "the running entry ends with its call"
        );
    }

    #[tokio::test]
    async fn a_success_answers_the_same_key_for_the_grace_period_and_a_failure_does_not() {
        let flight = SingleFlight::<&str, u32, &str>::new(GRACE);
        assert_eq!(flight.run("k", at(0), || async { Ok(1) }).await, Ok(1));
        // Just after: the first success answers, no second call.
        assert_eq!(flight.run("k", at(59), || async { Ok(2) }).await, Ok(1));
        assert_eq!(flight.run("other", at(59), || async { Ok(3) }).await, Ok(3));
        // After the grace period a call runs again.
        assert_eq!(flight.run("k", at(60), || async { Ok(4) }).await, Ok(4));
        // A failure is not remembered: the next call tries again.
        assert_eq!(
            flight.run("f", at(0), || async { Err("boom") }).await,
            Err("boom")
        );
        assert_eq!(flight.run("f", at(1), || async { Ok(5) }).await, Ok(5));
    }

    #[tokio::test]
    async fn a_dropped_leader_hands_the_call_to_a_waiter() {
        let flight = Arc::new(SingleFlight::<&str, &str, ()>::new(GRACE));
        let leader = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", at(0), std::future::pending).await })
        };
        while flight.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let waiter = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", at(0), || async { Ok("waiter ran") }).await })
        };
        tokio::task::yield_now().await;
        leader.abort();
        assert_eq!(waiter.await.unwrap(), Ok("waiter ran"));
    }

    #[test]
    fn remembered_successes_are_bounded() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let flight = SingleFlight::<usize, usize, ()>::new(GRACE);
        runtime.block_on(async {
            for key in 0..MAX_REMEMBERED + 5 {
                flight
                    .run(key, at(0), || async move { Ok(key) })
                    .await
                    .unwrap();
            }
        });
        assert_eq!(flight.lock().succeeded.len(), MAX_REMEMBERED);
    }
}
