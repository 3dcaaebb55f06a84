//! Fault injection: make the next matching requests to an emulator misbehave.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How a faulted request misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with this status and JSON body, and a `Retry-After` header if given.
    Status {
        /// The status code.
        status: u16,
        /// The response body (sent as `application/json`).
        body: String,
        /// The `Retry-After` header value, e.g. `"1"`.
        retry_after: Option<String>,
    },
    /// Process the request at once (even if the client gives up) but answer only after this
    /// long, like a slow vendor.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Answer 200 with a truncated JSON body.
    MalformedBody,
    /// Answer 200 with a JSON body of this many bytes.
    OversizedBody(usize),
}

impl FaultAction {
    /// A status fault with a JSON body.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::Status {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    /// A status fault with a JSON body and `Retry-After`.
    pub fn status_with_retry_after(
        status: u16,
        body: impl Into<String>,
        retry_after: impl Into<String>,
    ) -> Self {
        Self::Status {
            status,
            body: body.into(),
            retry_after: Some(retry_after.into()),
        }
    }

    /// A short label for the request log.
    pub fn label(&self) -> String {
        match self {
            Self::Status { status, .. } => format!("status {status}"),
            Self::Delay(d) => format!("delay {}ms", d.as_millis()),
            Self::DropConnection => "drop connection".into(),
            Self::MalformedBody => "malformed body".into(),
            Self::OversizedBody(n) => format!("oversized body {n}B"),
        }
    }
}

/// A fault waiting for matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method to match (`None`: any).
    pub method: Option<String>,
    /// Path to match exactly.
    pub path: String,
    /// What to do.
    pub action: FaultAction,
    /// How many more requests it applies to.
    pub remaining: usize,
}

/// The faults of one emulator; clones share them.
///
/// ```
/// use utilconnect_sandbox::{FaultAction, Faults};
///
/// let faults = Faults::default();
/// faults.inject("POST", "/auth/token", FaultAction::DropConnection, 1);
/// assert_eq!(faults.take("POST", "/auth/token"), Some(FaultAction::DropConnection));
/// assert_eq!(faults.take("POST", "/auth/token"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Fault>>>);

impl Faults {
    /// Makes the next `times` requests of `method` (`"*"`: any) to `path` misbehave.
    pub fn inject(&self, method: &str, path: &str, action: FaultAction, times: usize) {
        let method = (method != "*").then(|| method.to_ascii_uppercase());
        self.lock().push(Fault {
            method,
            path: path.to_owned(),
            action,
            remaining: times,
        });
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The faults still pending.
    pub fn pending(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// The action for a request, consuming one use of the first matching fault.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        let mut faults = self.lock();
        let index = faults.iter().position(|f| {
            f.remaining > 0
                && path_matches(&f.path, path)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let fault = &mut faults[index];
        fault.remaining -= 1;
        let action = fault.action.clone();
        if fault.remaining == 0 {
            faults.remove(index);
        }
        Some(action)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `path` is what a fault's `pattern` names: the same path, where a `{…}` segment of
/// the pattern stands for any one segment (`/connect/{connect_token}`).
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g => {}
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_segment_stands_for_one_segment() {
        assert!(path_matches("/connect/token", "/connect/token"));
        assert!(path_matches("/connect/{connect_token}", "/connect/cot_1"));
        assert!(!path_matches("/connect/{connect_token}", "/connect/"));
        assert!(!path_matches(
            "/connect/{connect_token}",
            "/connect/cot_1/x"
        ));
        assert!(!path_matches("/connect/{connect_token}", "/connect"));
        assert!(!path_matches("/connect/token", "/connect/tokens"));
    }

    #[test]
    fn faults_match_method_and_path_and_run_out() {
        let faults = Faults::default();
        faults.inject("post", "/a", FaultAction::MalformedBody, 2);
        faults.inject("*", "/b", FaultAction::DropConnection, 1);
        assert_eq!(faults.take("GET", "/a"), None);
        assert_eq!(faults.take("POST", "/a"), Some(FaultAction::MalformedBody));
        assert_eq!(faults.take("POST", "/a"), Some(FaultAction::MalformedBody));
        assert_eq!(faults.take("POST", "/a"), None);
        assert_eq!(
            faults.take("DELETE", "/b"),
            Some(FaultAction::DropConnection)
        );
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn clear_removes_everything() {
        let faults = Faults::default();
        faults.inject("*", "/a", FaultAction::MalformedBody, 5);
        faults.clear();
        assert_eq!(faults.take("GET", "/a"), None);
    }
}
