//! The request log: every request an emulator received, normalised for snapshots.
//!
//! Normalising means: headers reduced to the ones a vendor reads, credentials replaced by
//! `[REDACTED]`, bodies parsed (JSON or form) into JSON values, and every value the emulator
//! registered with [`RequestLog::name_value`] (issued tokens, codes, states, ids) replaced by a
//! stable label such as `[connect_token#1]`, so snapshots do not change from run to run.
//! Requests are kept raw and normalised when read, so a value named after the request that
//! first carried it (a state seen on a page load) is still replaced there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::{Map, Value};

use utilconnect::redact::{REDACTED, is_secret_key};

/// Headers every log records (lower case), besides the vendor's own (see
/// [`RequestLog::recording`]); everything else varies by client and is dropped.
const RECORDED_HEADERS: &[&str] = &["authorization", "content-type", "accept"];

/// One request as an emulator saw it, normalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// Query parameters, normalised.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Selected headers, normalised.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body: a JSON object for JSON and form bodies, a string otherwise, `null` if empty.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub body: Value,
    /// The fault injected into this request, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// The log of one emulator; clones share it.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
    vendor_headers: &'static [&'static str],
}

#[derive(Debug, Default)]
struct Inner {
    paused: bool,
    requests: Vec<RawRequest>,
    /// Exact values to replace, with their labels, in the order they were named.
    names: Vec<(String, String)>,
}

/// A request as received, before normalisation.
#[derive(Debug, Clone)]
struct RawRequest {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    fault: Option<String>,
}

impl RawRequest {
    fn normalise(&self, names: &[(String, String)]) -> RecordedRequest {
        let query = self
            .query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| {
                        let v = normalise_value(names, &k, &v);
                        (k.into_owned(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let headers: BTreeMap<String, String> = self
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), normalise_header(names, name, value)))
            .collect();
        let content_type = headers_content_type(&headers);
        RecordedRequest {
            method: self.method.clone(),
            // A vendor may put a token in the path (`/connect/{connect_token}`).
            path: replace_names(names, &self.path),
            query,
            body: normalise_body(names, content_type.as_deref(), &self.body),
            headers,
            fault: self.fault.clone(),
        }
    }
}

impl RequestLog {
    /// A log that also records the vendor's own headers (lower case; a provider's
    /// [`recorded_headers`](utilconnect::ProviderDescriptor::recorded_headers)), redacting the
    /// values of secret-named ones.
    ///
    /// ```
    /// let log = utilconnect_sandbox::RequestLog::recording(&["acme-version", "acme-secret"]);
    /// # let _ = log;
    /// ```
    pub fn recording(vendor_headers: &'static [&'static str]) -> Self {
        Self {
            inner: Arc::default(),
            vendor_headers,
        }
    }

    /// Replaces `value` wherever it appears in recorded requests with `[label]`.
    ///
    /// Emulators call it for every token, code and id they issue, and for their credentials.
    pub fn name_value(&self, value: impl Into<String>, label: &str) {
        let value = value.into();
        if value.is_empty() {
            return;
        }
        // Kept in naming order (cheap for emulators naming thousands of values); sorted
        // longest-first only when requests are read.
        let mut inner = self.lock();
        if !inner.paused {
            inner.names.push((value, format!("[{label}]")));
        }
    }

    /// Records a raw request. `fault` names the fault injected into it, if any.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        raw_query: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
        fault: Option<String>,
    ) {
        let mut inner = self.lock();
        if inner.paused {
            return;
        }
        let headers = RECORDED_HEADERS
            .iter()
            .chain(self.vendor_headers)
            .filter_map(|name| {
                let value = headers.get(*name)?.to_str().unwrap_or("<non-ascii>");
                Some((*name, value.to_owned()))
            })
            .collect();
        inner.requests.push(RawRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: raw_query.map(str::to_owned),
            headers,
            body: body.to_vec(),
            fault,
        });
    }

    /// Stops (`false`) or resumes (`true`) recording and naming, so a long-running sandbox
    /// (a benchmark, a person clicking for hours) does not grow without bound. Values named
    /// while paused stay unnamed after resuming: pause only where snapshots do not matter.
    pub fn set_recording(&self, on: bool) {
        self.lock().paused = !on;
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<RecordedRequest> {
        let inner = self.lock();
        let names = longest_first(&inner.names);
        inner.requests.iter().map(|r| r.normalise(&names)).collect()
    }

    /// The requests to `path` so far (a `{…}` segment of `path` matches any one segment, as
    /// in [`Faults`](crate::Faults)).
    pub fn to_path(&self, path: &str) -> Vec<RecordedRequest> {
        self.all()
            .into_iter()
            .filter(|r| crate::faults::path_matches(path, &r.path))
            .collect()
    }

    /// Replaces every named value in `text` with its label (for snapshots of results, e.g.
    /// vendor ids in a `Connection`).
    pub fn normalise_text(&self, text: &str) -> String {
        replace_names(&longest_first(&self.lock().names), text)
    }

    /// Every value named so far (issued tokens, codes, …), for tests that assert secrets
    /// appear nowhere.
    pub fn named_values(&self) -> Vec<String> {
        self.lock().names.iter().map(|(v, _)| v.clone()).collect()
    }

    /// How many requests so far.
    pub fn len(&self) -> usize {
        self.lock().requests.len()
    }

    /// Whether no request arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets recorded requests (keeps named values).
    pub fn clear(&self) {
        self.lock().requests.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The names, longest value first (so a value is replaced before any prefix of it); the
/// first label given to a value wins.
fn longest_first(names: &[(String, String)]) -> Vec<(String, String)> {
    let mut sorted = names.to_vec();
    sorted.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    sorted
}

fn headers_content_type(headers: &BTreeMap<String, String>) -> Option<String> {
    headers.get("content-type").map(|c| c.to_ascii_lowercase())
}

fn replace_names(names: &[(String, String)], value: &str) -> String {
    let mut out = value.to_owned();
    for (secret, label) in names {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), label);
        }
    }
    out
}

fn normalise_value(names: &[(String, String)], key: &str, value: &str) -> String {
    let named = replace_names(names, value);
    if named == value && is_secret_key(key) && !value.is_empty() {
        REDACTED.to_owned()
    } else {
        named
    }
}

fn normalise_header(names: &[(String, String)], name: &str, value: &str) -> String {
    match name {
        "authorization" => {
            let scheme = value.split_whitespace().next().unwrap_or_default();
            format!("{scheme} {REDACTED}")
        }
        name if is_secret_key(name) => REDACTED.to_owned(),
        "content-type" => value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => replace_names(names, value),
    }
}

fn normalise_body(names: &[(String, String)], content_type: Option<&str>, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    match content_type {
        Some("application/json") => match serde_json::from_slice::<Value>(body) {
            Ok(value) => normalise_json(names, None, value),
            Err(_) => Value::String(replace_names(names, &String::from_utf8_lossy(body))),
        },
        Some("application/x-www-form-urlencoded") => Value::Object(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| {
                    let v = normalise_value(names, &k, &v);
                    (k.into_owned(), Value::String(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Some(ct) if ct.starts_with("multipart/form-data") => {
            Value::String("<multipart form>".to_owned())
        }
        _ => Value::String(replace_names(names, &String::from_utf8_lossy(body))),
    }
}

fn normalise_json(names: &[(String, String)], key: Option<&str>, value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(normalise_value(names, key.unwrap_or_default(), &s)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| normalise_json(names, key, v))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = normalise_json(names, Some(&k), v);
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn form_bodies_are_parsed_and_named_values_replaced() {
        let log = RequestLog::recording(&["acme-secret", "acme-client-id"]);
        log.name_value("code-123", "code");
        log.record(
            "POST",
            "/auth/token",
            None,
            &headers(&[
                ("content-type", "application/x-www-form-urlencoded"),
                ("acme-secret", "s3cret"),
                ("acme-client-id", "client-1"),
                ("other-vendor-id", "not recorded"),
                ("user-agent", "varies"),
            ]),
            b"code=code-123&grant_type=code&refresh_token=unnamed",
            None,
        );
        let recorded = &log.all()[0];
        assert_eq!(recorded.body["code"], "[code]");
        assert_eq!(recorded.body["grant_type"], "code");
        assert_eq!(recorded.body["refresh_token"], REDACTED);
        assert_eq!(recorded.headers["acme-secret"], REDACTED);
        assert_eq!(recorded.headers["acme-client-id"], "client-1");
        assert!(!recorded.headers.contains_key("user-agent"));
        assert!(!recorded.headers.contains_key("other-vendor-id"));
    }

    #[test]
    fn json_bodies_query_and_authorization_are_normalised() {
        let log = RequestLog::default();
        log.name_value("cot_abc", "connect_token");
        log.record(
            "GET",
            "/connect/token",
            Some("connect_token=cot_abc&x=1"),
            &headers(&[("authorization", "Bearer eyJ.secret.jwt")]),
            b"",
            Some("status 429".into()),
        );
        log.record(
            "POST",
            "/connect/token",
            None,
            &headers(&[("content-type", "application/json; charset=utf-8")]),
            br#"{"callback_url":"https://app/cb?ticket=cot_abc","nested":{"api_key":"k"}}"#,
            None,
        );
        let all = log.all();
        assert_eq!(all[0].query["connect_token"], "[connect_token]");
        assert_eq!(all[0].headers["authorization"], "Bearer [REDACTED]");
        assert_eq!(all[0].fault.as_deref(), Some("status 429"));
        assert_eq!(all[1].headers["content-type"], "application/json");
        assert_eq!(
            all[1].body["callback_url"],
            "https://app/cb?ticket=[connect_token]"
        );
        assert_eq!(all[1].body["nested"]["api_key"], REDACTED);
        assert_eq!(log.to_path("/connect/token").len(), 2);
    }

    #[test]
    fn values_named_after_the_request_are_still_replaced() {
        let log = RequestLog::default();
        log.record(
            "GET",
            "/page",
            Some("state=st-1"),
            &http::HeaderMap::new(),
            b"",
            None,
        );
        log.name_value("st-1", "state#1");
        assert_eq!(log.all()[0].query["state"], "[state#1]");
        assert_eq!(log.named_values(), ["st-1"]);
        assert_eq!(log.normalise_text("state is st-1"), "state is [state#1]");
    }

    #[test]
    fn paused_log_records_and_names_nothing() {
        let log = RequestLog::default();
        log.set_recording(false);
        log.name_value("v", "x");
        log.record("GET", "/", None, &http::HeaderMap::new(), b"", None);
        assert!(log.is_empty());
        assert!(log.named_values().is_empty());
        log.set_recording(true);
        log.record("GET", "/", None, &http::HeaderMap::new(), b"", None);
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn longer_names_win_over_their_prefixes() {
        let log = RequestLog::default();
        log.name_value("abc", "short");
        log.name_value("abcdef", "long");
        log.record(
            "GET",
            "/",
            Some("v=abcdef"),
            &http::HeaderMap::new(),
            b"",
            None,
        );
        assert_eq!(log.all()[0].query["v"], "[long]");
    }
}
