//! The cached Flatpeak bearer: one `/login` shared by every concurrent caller, renewed
//! shortly before it expires, and dropped when Flatpeak refuses it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use tokio::sync::Mutex;
use utilconnect::{Digest, Result};

struct Cached {
    token: SecretString,
    renew_at: SystemTime,
}

/// Single-flight cache: callers queue on one async lock, so while one of them logs in the
/// others wait for its result instead of logging in too.
#[derive(Default)]
pub(crate) struct BearerCache {
    slot: Mutex<Option<Cached>>,
}

impl BearerCache {
    /// The cached bearer if it is still good at `now`, else the result of `login` (which
    /// returns the bearer and its lifetime), cached until `margin` before it expires.
    /// The flag says whether the bearer came from the cache (`true`) or a fresh login.
    pub async fn get<F, Fut>(
        &self,
        now: SystemTime,
        margin: Duration,
        login: F,
    ) -> Result<(SecretString, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Duration)>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref().filter(|c| now < c.renew_at) {
            return Ok((cached.token.clone(), true));
        }
        let (token, lifetime) = login().await?;
        // A bogus lifetime must not overflow: renew at once rather than never.
        let renew_at = now
            .checked_add(lifetime.saturating_sub(margin))
            .unwrap_or(now);
        *slot = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok((token, false))
    }

    /// The cached bearer if it is good at `now` and nobody holds the cache (no waiting, no
    /// login): the common case, kept free of timers and queues.
    pub fn try_cached(&self, now: SystemTime) -> Option<SecretString> {
        let slot = self.slot.try_lock().ok()?;
        slot.as_ref()
            .filter(|c| now < c.renew_at)
            .map(|c| c.token.clone())
    }

    /// Forgets the cached bearer, whatever it is.
    pub async fn clear(&self) {
        *self.slot.lock().await = None;
    }

    /// Forgets `refused` if it is still the cached bearer (a newer one is kept).
    pub async fn invalidate(&self, refused: &SecretString) {
        let mut slot = self.slot.lock().await;
        let refused = Digest::of_secret(refused);
        if slot
            .as_ref()
            .is_some_and(|c| Digest::of_secret(&c.token).matches(&refused))
        {
            *slot = None;
        }
    }
}

impl std::fmt::Debug for BearerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerCache { .. }")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::ExposeSecret;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_login() {
        let cache = Arc::new(BearerCache::default());
        let logins = Arc::new(AtomicUsize::new(0));
        let now = SystemTime::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (cache, logins) = (cache.clone(), logins.clone());
            tasks.spawn(async move {
                cache
                    .get(now, Duration::from_secs(60), || async {
                        logins.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok((SecretString::from("b1"), Duration::from_secs(3600)))
                    })
                    .await
            });
        }
        while let Some(result) = tasks.join_next().await {
            assert_eq!(result.unwrap().unwrap().0.expose_secret(), "b1");
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn renews_before_expiry_and_after_invalidation() {
        let cache = BearerCache::default();
        let t0 = SystemTime::UNIX_EPOCH;
        let login = |v: &'static str| {
            move || async move { Ok((SecretString::from(v), Duration::from_secs(3600))) }
        };
        let margin = Duration::from_secs(60);
        assert_eq!(
            cache
                .get(t0, margin, login("b1"))
                .await
                .unwrap()
                .0
                .expose_secret(),
            "b1"
        );
        let before = t0 + Duration::from_secs(3539);
        assert_eq!(
            cache
                .get(before, margin, login("b2"))
                .await
                .unwrap()
                .0
                .expose_secret(),
            "b1"
        );
        let within_margin = t0 + Duration::from_secs(3540);
        assert_eq!(
            cache
                .get(within_margin, margin, login("b2"))
                .await
                .unwrap()
                .0
                .expose_secret(),
            "b2"
        );

        cache.invalidate(&SecretString::from("b1")).await;
        assert_eq!(
            cache
                .get(within_margin, margin, login("b3"))
                .await
                .unwrap()
                .0
                .expose_secret(),
            "b2",
            "stale refusal keeps the newer bearer"
        );
        cache.invalidate(&SecretString::from("b2")).await;
        assert_eq!(
            cache
                .get(within_margin, margin, login("b3"))
                .await
                .unwrap()
                .0
                .expose_secret(),
            "b3"
        );
    }

    #[tokio::test]
    async fn an_absurd_lifetime_does_not_overflow() {
        let cache = BearerCache::default();
        let now = SystemTime::now();
        let forever = || async { Ok((SecretString::from("b"), Duration::MAX)) };
        assert!(cache.get(now, Duration::ZERO, forever).await.is_ok());
    }

    #[tokio::test]
    async fn a_failed_login_is_not_cached() {
        let cache = BearerCache::default();
        let now = SystemTime::now();
        let err = cache
            .get(now, Duration::ZERO, || async {
                Err(utilconnect::Error::config("nope"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), utilconnect::ErrorKind::Config);
        let ok = cache
            .get(now, Duration::ZERO, || async {
                Ok((SecretString::from("b"), Duration::from_secs(10)))
            })
            .await
            .unwrap();
        assert_eq!(ok.0.expose_secret(), "b");
        assert!(!ok.1, "fresh from a login");
    }
}
