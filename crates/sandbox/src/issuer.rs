//! Minting what an emulator hands out: random secrets and sequential ids, each named in the
//! request log (`[label#n]`) so snapshots stay stable, and the secrets remembered for
//! [`Sandbox::known_secrets`](super::Sandbox::known_secrets).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::record::RequestLog;
use utilconnect::State;

/// Mints and names an emulator's tokens, codes and ids; clones share counters.
///
/// ```
/// use utilconnect_sandbox::{Issuer, RequestLog};
///
/// let log = RequestLog::default();
/// let issuer = Issuer::new(log.clone());
/// let token = issuer.secret("ct_", "connect_token");
/// assert!(token.starts_with("ct_") && token.len() > 40);
/// assert_eq!(issuer.id("loc_", "location_id"), "loc_000000000000000000000001");
/// assert_eq!(log.normalise_text(&token), "[connect_token#1]");
/// assert_eq!(issuer.secrets(), vec![token]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Issuer {
    log: RequestLog,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    counters: HashMap<String, usize>,
    secrets: Vec<String>,
}

impl Issuer {
    /// An issuer naming values in `log`.
    pub fn new(log: RequestLog) -> Self {
        Self {
            log,
            inner: Arc::default(),
        }
    }

    fn next(&self, label: &str) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let n = inner.counters.entry(label.to_owned()).or_default();
        *n += 1;
        *n
    }

    /// A fresh 256-bit random secret with `prefix`, named `[label#n]` and remembered.
    pub fn secret(&self, prefix: &str, label: &str) -> String {
        // The OS RNG failing is not something an emulator can work around; fall back to a
        // counter so the emulator keeps running (tests would notice the predictable value).
        let n = self.next(label);
        let random =
            State::generate().map_or_else(|_| format!("{n:043}"), |s| s.as_str().to_owned());
        let value = format!("{prefix}{random}");
        self.log.name_value(value.clone(), &format!("{label}#{n}"));
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .secrets
            .push(value.clone());
        value
    }

    /// The next sequential id with `prefix` (24 hex digits, like the vendors' ids), named
    /// `[label#n]`. Ids are not secrets.
    pub fn id(&self, prefix: &str, label: &str) -> String {
        let n = self.next(label);
        let value = format!("{prefix}{n:024x}");
        self.log.name_value(value.clone(), &format!("{label}#{n}"));
        value
    }

    /// Names a value the emulator did not mint (e.g. a state it saw) `[label#n]`.
    pub fn name(&self, value: &str, label: &str) {
        let n = self.next(label);
        self.log.name_value(value, &format!("{label}#{n}"));
    }

    /// Every secret minted so far.
    pub fn secrets(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .secrets
            .clone()
    }
}
