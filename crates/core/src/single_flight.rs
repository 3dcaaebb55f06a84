//! [`SingleFlight`]: concurrent calls for one key share one call's result.
//!
//! Refreshing one connection from several requests at once must reach the vendor once: a
//! refresh token is often single use, so N refreshes would invalidate all but one of them.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

/// Calls in flight, by key. The entry is dropped when its call ends, so a later call for the
/// same key runs again.
pub(crate) struct SingleFlight<K, V> {
    calls: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `call` for `key`, unless a call for `key` is already running: then waits for it
    /// and returns its result. If the running caller is dropped midway, a waiting one runs
    /// its own `call` instead.
    pub(crate) async fn run<F, Fut>(&self, key: K, call: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self
            .lock()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let value = cell.get_or_init(call).await.clone();
        let mut calls = self.lock();
        if calls.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            calls.remove(&key);
        }
        value
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_calls_for_one_key_run_once_and_a_later_call_runs_again() {
        let flight = Arc::new(SingleFlight::<&str, usize>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (flight, runs, gate) = (flight.clone(), runs.clone(), gate.clone());
            tasks.spawn(async move {
                flight
                    .run("k", || async move {
                        gate.notified().await;
                        runs.fetch_add(1, Ordering::SeqCst) + 1
                    })
                    .await
            });
        }
        // Let every task join the flight before the one call may end.
        while flight.lock().get("k").map_or(0, Arc::strong_count) < 21 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        gate.notify_one();
        while let Some(result) = tasks.join_next().await {
            assert_eq!(
                result.unwrap(),
                1,
                "every caller sees the one call's result"
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0, "the entry ends with its call");
        assert_eq!(
            flight.run("k", || async { 7 }).await,
            7,
            "a later call runs"
        );
        assert_eq!(flight.run("other", || async { 8 }).await, 8);
    }

    #[tokio::test]
    async fn a_dropped_leader_hands_the_call_to_a_waiter() {
        let flight = Arc::new(SingleFlight::<&str, &str>::new());
        let leader = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", std::future::pending).await })
        };
        while flight.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let waiter = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", || async { "waiter ran" }).await })
        };
        tokio::task::yield_now().await;
        leader.abort();
        assert_eq!(waiter.await.unwrap(), "waiter ran");
    }
}
