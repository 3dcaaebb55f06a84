//! The one HTTP policy every provider uses.
//!
//! [`HttpClient`] wraps a single `reqwest::Client` per provider with: connect and request
//! timeouts, a total deadline across retries, exponential backoff with jitter on 429, 502, 503,
//! 504 and connection failures (honouring `Retry-After`), redirects disabled (a vendor API
//! never redirects; following one could leak credentials to another host), a cap on response
//! size, and one `tracing` span per call that names provider, operation, method, path, attempts,
//! status and latency, but never a query string, header or body.
//!
//! Calls that must not run twice (a single-use code exchange) use [`Idempotency::NotIdempotent`]:
//! they are retried only when the vendor cannot have processed them (connection refused, 429).

mod sent;

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::redact::{self, KnownSecrets};
use sent::SentSecrets;

/// Timeouts, retries and limits for one provider's HTTP calls.
///
/// Every field has a default; in config it is the optional `[providers.<name>.http]` table,
/// durations written like `"10s"` or `"250ms"`. Every field has a sane range (the `*_RANGE`
/// constants): a value outside it is a config error naming the key, at load, rather than a
/// call that never ends, a retry storm or an out-of-memory abort later.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Time to establish a connection.
    #[serde(deserialize_with = "limits::connect_timeout")]
    pub connect_timeout: Duration,
    /// Time for one attempt, from connecting to the last body byte.
    #[serde(deserialize_with = "limits::request_timeout")]
    pub request_timeout: Duration,
    /// Time for the whole call, retries and waits included.
    #[serde(deserialize_with = "limits::total_deadline")]
    pub total_deadline: Duration,
    /// Retries after the first attempt.
    #[serde(deserialize_with = "limits::max_retries")]
    pub max_retries: u32,
    /// First backoff; doubles on each retry.
    #[serde(deserialize_with = "limits::backoff")]
    pub initial_backoff: Duration,
    /// Longest backoff between two attempts.
    #[serde(deserialize_with = "limits::backoff")]
    pub max_backoff: Duration,
    /// Largest response body accepted, in bytes.
    #[serde(deserialize_with = "limits::max_body_bytes")]
    pub max_body_bytes: usize,
}

impl HttpConfig {
    /// Allowed `connect_timeout`s.
    pub const CONNECT_TIMEOUT_RANGE: RangeInclusive<Duration> =
        Duration::from_millis(1)..=Duration::from_secs(5 * 60);
    /// Allowed `request_timeout`s.
    pub const REQUEST_TIMEOUT_RANGE: RangeInclusive<Duration> =
        Duration::from_millis(1)..=Duration::from_secs(10 * 60);
    /// Allowed `total_deadline`s.
    pub const TOTAL_DEADLINE_RANGE: RangeInclusive<Duration> =
        Duration::from_millis(1)..=Duration::from_secs(60 * 60);
    /// Allowed `initial_backoff`s and `max_backoff`s.
    pub const BACKOFF_RANGE: RangeInclusive<Duration> =
        Duration::ZERO..=Duration::from_secs(10 * 60);
    /// Allowed `max_retries`.
    pub const MAX_RETRIES_RANGE: RangeInclusive<u64> = 0..=10;
    /// Allowed `max_body_bytes` (1 byte to 64 MiB).
    pub const MAX_BODY_BYTES_RANGE: RangeInclusive<u64> = 1..=64 * 1024 * 1024;

    /// Checks every field against its range, for a config built in code rather than loaded
    /// (loading checks each key as it reads it).
    ///
    /// ```
    /// let mut config = utilconnect::http::HttpConfig::default();
    /// config.max_retries = 1_000;
    /// let err = config.validate().unwrap_err();
    /// assert!(err.to_string().contains("max_retries"), "{err}");
    /// ```
    pub fn validate(&self) -> Result<()> {
        let durations = [
            (
                "connect_timeout",
                self.connect_timeout,
                Self::CONNECT_TIMEOUT_RANGE,
            ),
            (
                "request_timeout",
                self.request_timeout,
                Self::REQUEST_TIMEOUT_RANGE,
            ),
            (
                "total_deadline",
                self.total_deadline,
                Self::TOTAL_DEADLINE_RANGE,
            ),
            ("initial_backoff", self.initial_backoff, Self::BACKOFF_RANGE),
            ("max_backoff", self.max_backoff, Self::BACKOFF_RANGE),
        ];
        for (key, value, range) in durations {
            crate::config::limits::check_duration(value, &range)
                .map_err(|problem| Error::config(format!("http.{key}: {problem}")))?;
        }
        let numbers = [
            (
                "max_retries",
                u64::from(self.max_retries),
                Self::MAX_RETRIES_RANGE,
            ),
            (
                "max_body_bytes",
                self.max_body_bytes as u64,
                Self::MAX_BODY_BYTES_RANGE,
            ),
        ];
        for (key, value, range) in numbers {
            crate::config::limits::check_number(value, &range)
                .map_err(|problem| Error::config(format!("http.{key}: {problem}")))?;
        }
        Ok(())
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            total_deadline: Duration::from_secs(45),
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Each bounded key's deserializer: the value as written, then its range.
mod limits {
    use std::time::Duration;

    use serde::Deserializer;

    use super::HttpConfig;
    use crate::config::limits::{duration_in, number_in};

    pub fn connect_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        duration_in(d, HttpConfig::CONNECT_TIMEOUT_RANGE)
    }

    pub fn request_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        duration_in(d, HttpConfig::REQUEST_TIMEOUT_RANGE)
    }

    pub fn total_deadline<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        duration_in(d, HttpConfig::TOTAL_DEADLINE_RANGE)
    }

    pub fn backoff<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        duration_in(d, HttpConfig::BACKOFF_RANGE)
    }

    pub fn max_retries<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        number_in(d, HttpConfig::MAX_RETRIES_RANGE)
    }

    pub fn max_body_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        number_in(d, HttpConfig::MAX_BODY_BYTES_RANGE)
    }
}

/// Whether a call may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it again is harmless (reads, token creation): retried on any transient failure.
    Idempotent,
    /// Sending it again may burn something single-use: retried only when the vendor cannot
    /// have processed it (connection refused, 429).
    NotIdempotent,
}

/// A fully-read HTTP response. Its `Debug` shows the status, the body's length and the
/// header names only: the body and header values may carry tokens.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    attempts: u32,
    secrets: SentSecrets,
    /// Sent as [`Idempotency::NotIdempotent`]: the vendor may have acted on it whatever it
    /// answered.
    single_use: bool,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// A response built from its parts, for testing or fuzzing a provider's decoding and
    /// error mapping without a server. Its [known secrets](Self::known_secrets) are `secrets`.
    ///
    /// ```
    /// use utilconnect::http::Response;
    /// use utilconnect::redact::KnownSecrets;
    /// let response = Response::from_parts(
    ///     http::StatusCode::UNAUTHORIZED,
    ///     http::HeaderMap::new(),
    ///     bytes::Bytes::from_static(b"secret sk_1 refused"),
    ///     KnownSecrets::new().with("sk_1".into()),
    /// );
    /// assert_eq!(response.excerpt(), "secret [REDACTED] refused");
    /// ```
    pub fn from_parts(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        secrets: KnownSecrets,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            attempts: 1,
            secrets: SentSecrets::only(secrets),
            single_use: false,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body (at most [`HttpConfig::max_body_bytes`]).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// How many attempts the call took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The `Retry-After` header as a duration (seconds or an HTTP date), if present.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The secrets this call sent (the client's own, and the request's credentials, secret
    /// query and form values), which any text kept from this response is scrubbed of.
    ///
    /// Worked out when asked (on an error path): the success path only keeps the parts.
    pub fn known_secrets(&self) -> KnownSecrets {
        self.secrets.known()
    }

    /// A redacted excerpt of the body, scrubbed of the [known secrets](Self::known_secrets),
    /// for error messages.
    pub fn excerpt(&self) -> String {
        redact::excerpt_scrubbing(&self.body, &self.known_secrets())
    }

    /// Decodes the body as JSON.
    ///
    /// On failure the [`ErrorKind::Decode`] error carries the JSON path of the first problem
    /// and a redacted excerpt of the body, scrubbed of the [known
    /// secrets](Self::known_secrets); it never quotes a value.
    pub fn json<T: DeserializeOwned>(&self, provider: &str, operation: Operation) -> Result<T> {
        decode_json_scrubbing(&self.body, provider, operation, &self.known_secrets())
    }

    /// Like [`json`](Self::json), and also removes `secrets` the request did not carry: for
    /// answers that echo a secret the SDK holds under an innocent key.
    pub fn json_scrubbing<T: DeserializeOwned>(
        &self,
        provider: &str,
        operation: Operation,
        secrets: &[&SecretString],
    ) -> Result<T> {
        let mut all = self.known_secrets();
        for secret in secrets {
            all.add((*secret).clone());
        }
        decode_json_scrubbing(&self.body, provider, operation, &all)
    }
}

/// Decodes JSON with the path of the first problem on failure (see [`Response::json`]).
pub fn decode_json<T: DeserializeOwned>(
    body: &[u8],
    provider: &str,
    operation: Operation,
) -> Result<T> {
    decode_json_scrubbing(body, provider, operation, &KnownSecrets::new())
}

/// [`decode_json`], with `secrets` removed from the excerpt and the JSON path before they are
/// cut, so no part of a secret survives the cut.
pub fn decode_json_scrubbing<T: DeserializeOwned>(
    body: &[u8],
    provider: &str,
    operation: Operation,
    secrets: &KnownSecrets,
) -> Result<T> {
    // The fast path; the path-tracking decoder runs only to explain a failure.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    // serde_json refuses nesting deeper than 128 levels, so a hostile body cannot overflow
    // the stack here.
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let what = match inner.classify() {
            serde_json::error::Category::Data => "has an unexpected shape",
            serde_json::error::Category::Eof => "ends too early",
            serde_json::error::Category::Syntax => "is not valid JSON",
            serde_json::error::Category::Io => "could not be read",
        };
        let mut error = Error::new(
            ErrorKind::Decode,
            operation,
            format!(
                "the vendor's response {what} ({})",
                strip_quoted(&inner.to_string())
            ),
        )
        .with_provider(provider)
        .with_body_excerpt(redact::excerpt_scrubbing(body, secrets));
        if path != "." {
            error = error.with_json_path(secrets.scrub(&path));
        }
        error.scrub(secrets)
    })
}

/// serde's messages quote offending values (`invalid type: string "…"`, ``integer `123` ``);
/// drop everything inside quotes or backticks, a value may be a secret.
fn strip_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in message.chars() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(quote) if c == quote => {
                out.push(quote);
                open = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                out.push('…');
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// The error for a vendor's non-2xx `response`, with everything every provider attaches:
/// provider, status, the vendor's code and message (redacted, bounded), a redacted body
/// excerpt when the body was not the vendor's error shape, and `Retry-After`. A 5xx answer to
/// a single-use call is [`Permanent`](crate::ErrorStatus::Permanent) unless `kind` is
/// [`ErrorKind::Pending`] (the vendor's own "try again later").
///
/// Each provider decides `kind` and `message` from its own error table and passes the code
/// and message it parsed from its own body shape (`None` when the body did not parse).
pub fn vendor_error(
    response: &Response,
    provider: &str,
    operation: Operation,
    kind: ErrorKind,
    message: &str,
    vendor: Option<(Option<&str>, Option<&str>)>,
) -> Error {
    let mut error = Error::new(kind, operation, message)
        .with_provider(provider)
        .with_status(response.status().as_u16());
    match vendor {
        Some((code, text)) => {
            error = error.with_vendor_text(code, text, &response.known_secrets());
        }
        None if !response.body().is_empty() => error = error.with_body_excerpt(response.excerpt()),
        None => {}
    }
    if let Some(wait) = response.retry_after() {
        error = error.with_retry_after(wait);
    }
    // A server error after a single-use call (a code exchange) may have come after the vendor
    // used it: sending it again can only fail, unless the vendor said what is temporary.
    let server_error = response.status().is_server_error();
    if response.single_use && server_error && kind != ErrorKind::Pending {
        error = error.with_status_of_call(crate::error::ErrorStatus::Permanent);
    }
    error.scrub(&response.known_secrets())
}

/// A uniform number in [0, 1] for backoff jitter, from the OS (a generator crate for one
/// number per retry is not worth its build time); 0.5 if the OS cannot give one.
fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// Why a connection could not be made, in words that say what to check.
fn connect_cause(err: &reqwest::Error) -> &'static str {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        chain.push_str(&e.to_string().to_ascii_lowercase());
        chain.push(' ');
        source = e.source();
    }
    if chain.contains("dns") || chain.contains("lookup") || chain.contains("resolve") {
        "the host name does not resolve (check it, and this machine's DNS)"
    } else if chain.contains("refused") {
        "the connection was refused (check the URL's port, and that the server runs)"
    } else if chain.contains("certificate") || chain.contains("tls") {
        "the TLS handshake failed (check the URL and the server's certificate)"
    } else {
        "no connection (check the network and the URL)"
    }
}

/// Builds one attempt's request on the provider's client.
type BuildRequest<'a> = dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync + 'a;

/// One provider's HTTP client and policy. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    provider: &'static str,
    secrets: Arc<KnownSecrets>,
    /// Paths under this prefix end in a secret (see [`HttpClient::with_secret_path_prefix`]).
    secret_path_prefix: Option<Arc<str>>,
}

impl HttpClient {
    /// Builds the client for `provider` with `config`.
    ///
    /// ```
    /// let http = utilconnect::http::HttpClient::new("pelm", Default::default())?;
    /// assert_eq!(http.config().max_body_bytes, 1024 * 1024);
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn new(provider: &'static str, config: HttpConfig) -> Result<Self> {
        config.validate().map_err(|e| e.with_provider(provider))?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("utilconnect/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::config(format!(
                    "could not build the HTTP client: {}",
                    e.without_url()
                ))
                .with_provider(provider)
            })?;
        Ok(Self {
            client,
            config,
            provider,
            secrets: Arc::default(),
            secret_path_prefix: None,
        })
    }

    /// Marks paths under `prefix` as ending in a secret, for vendors that put a token in the
    /// path (`GET /connect/{connect_token}`): traces show `{prefix}{…}` instead of the path.
    ///
    /// ```
    /// let http = utilconnect::http::HttpClient::new("acme", Default::default())?
    ///     .with_secret_path_prefix("/sessions/");
    /// assert_eq!(http.shown_path("/sessions/tok_123"), "/sessions/{…}");
    /// assert_eq!(http.shown_path("/login"), "/login");
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn with_secret_path_prefix(mut self, prefix: &str) -> Self {
        self.secret_path_prefix = Some(prefix.into());
        self
    }

    /// `path` as traces show it (see [`with_secret_path_prefix`](Self::with_secret_path_prefix)).
    pub fn shown_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        match self.secret_path_prefix.as_deref() {
            Some(prefix) if path.len() > prefix.len() && path.starts_with(prefix) => {
                format!("{prefix}{{…}}").into()
            }
            _ => path.into(),
        }
    }

    /// Scrubs `secrets` (the provider's API key or client secret) from any vendor text kept
    /// from this client's responses, on top of what each request carries: its sensitive
    /// headers (reqwest marks Basic and Bearer credentials; mark your own with
    /// `HeaderValue::set_sensitive`) and secret-named query and form values.
    ///
    /// ```
    /// use utilconnect::redact::KnownSecrets;
    /// let http = utilconnect::http::HttpClient::new("pelm", Default::default())?
    ///     .with_known_secrets(KnownSecrets::new().with("my-client-secret".into()));
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn with_known_secrets(mut self, secrets: KnownSecrets) -> Self {
        self.secrets = Arc::new(secrets);
        self
    }

    /// The policy in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The underlying client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request built by `build` under the policy, rebuilding it for each attempt.
    ///
    /// Returns the last response whatever its status (the provider maps vendor errors);
    /// fails only when no response was had: network, timeout, body cap.
    pub async fn send(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync,
    ) -> Result<Response> {
        let now = Instant::now();
        // Config bounds the deadline; checked anyway, an instant must never overflow.
        let deadline = now.checked_add(self.config.total_deadline).unwrap_or(now);
        self.send_dyn(deadline, operation, idempotency, &build)
            .await
    }

    /// Like [`send`](Self::send), but within a deadline the caller already set (for an
    /// operation that makes several calls, e.g. a login and then the call it was for).
    pub async fn send_within(
        &self,
        deadline: Instant,
        operation: Operation,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync,
    ) -> Result<Response> {
        self.send_dyn(deadline, operation, idempotency, &build)
            .await
    }

    /// The policy itself, compiled once: the generic entry points only pass their builder on
    /// as a trait object, so every call of every provider runs the same code instead of a
    /// copy of its own.
    ///
    /// Every call allocates this future, so it is kept small: the request is handed to
    /// reqwest before the first await (it is not kept in the future's state) and rebuilt only
    /// for a retry, and the span instruments each await rather than wrapping a second future.
    async fn send_dyn(
        &self,
        deadline: Instant,
        operation: Operation,
        idempotency: Idempotency,
        build: &BuildRequest<'_>,
    ) -> Result<Response> {
        let started = Instant::now();
        let (span, secrets, mut sending) = {
            let request = self.build_request(operation, build)?;
            let secrets = SentSecrets::of(&self.secrets, &request);
            let span = tracing::info_span!(
                "utilconnect.http",
                provider = self.provider,
                operation = operation.as_str(),
                method = %request.method(),
                path = self.shown_path(request.url().path()).as_ref(),
                attempts = tracing::field::Empty,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let timeout = self.attempt_timeout(deadline, operation, 0)?;
            (span, secrets, self.execute(request, timeout))
        };
        let mut attempt: u32 = 1;
        span.record("attempts", attempt);
        loop {
            let attempt_started = Instant::now();
            let outcome = self
                .attempt(operation, sending)
                .instrument(span.clone())
                .await;
            if let Ok(response) = &outcome {
                span.record("status", response.status.as_u16());
            }
            let wait = span.in_scope(|| {
                self.retry_wait(&outcome, attempt, idempotency, attempt_started.elapsed())
            });
            let wait = match wait {
                Some(wait) if wait < deadline.saturating_duration_since(Instant::now()) => wait,
                _ => {
                    span.record("latency_ms", started.elapsed().as_millis() as u64);
                    return match outcome {
                        Ok(mut response) => {
                            response.attempts = attempt;
                            response.secrets = secrets;
                            response.single_use = idempotency == Idempotency::NotIdempotent;
                            Ok(response)
                        }
                        Err(failure) => Err(failure.into_error(idempotency)),
                    };
                }
            };
            drop(outcome); // the failed attempt's response is not kept through the wait
            span.in_scope(|| {
                tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
            });
            tokio::time::sleep(wait).await;
            let timeout = self.attempt_timeout(deadline, operation, attempt)?;
            sending = self.execute(self.build_request(operation, build)?, timeout);
            attempt += 1;
            span.record("attempts", attempt);
        }
    }

    /// The next attempt's timeout: the per-attempt limit, cut short by `deadline`; a timeout
    /// error naming the `attempts_so_far` when the deadline has already passed.
    fn attempt_timeout(
        &self,
        deadline: Instant,
        operation: Operation,
        attempts_so_far: u32,
    ) -> Result<Duration> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.deadline_error(operation, attempts_so_far));
        }
        Ok(remaining.min(self.config.request_timeout))
    }

    /// Hands `request` to reqwest with `timeout`; nothing is sent until the result is polled.
    fn execute(
        &self,
        mut request: reqwest::Request,
        timeout: Duration,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<'_> {
        *request.timeout_mut() = Some(timeout);
        self.client.execute(request)
    }

    /// Builds one attempt's request; a builder error (a bad header value, say) is the
    /// caller's input, never the vendor's.
    fn build_request(
        &self,
        operation: Operation,
        build: &BuildRequest<'_>,
    ) -> Result<reqwest::Request> {
        build(&self.client).build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                operation,
                format!("could not build the request: {}", e.without_url()),
            )
            .with_provider(self.provider)
        })
    }

    /// Whether to try again after `outcome`, and after how long; `None` to stop here.
    fn retry_wait(
        &self,
        outcome: &Result<Response, Failure>,
        attempt: u32,
        idempotency: Idempotency,
        latency: Duration,
    ) -> Option<Duration> {
        let retries_left = attempt <= self.config.max_retries;
        match outcome {
            Ok(response) => {
                tracing::debug!(
                    attempt,
                    status = response.status.as_u16(),
                    latency_ms = latency.as_millis() as u64,
                    "response"
                );
                if !retries_left || !should_retry_status(response.status, idempotency) {
                    None
                } else {
                    Some(
                        response
                            .retry_after()
                            .unwrap_or_else(|| self.backoff(attempt)),
                    )
                }
            }
            Err(failure) => {
                tracing::debug!(
                    attempt,
                    latency_ms = latency.as_millis() as u64,
                    error = %failure.error,
                    "request failed"
                );
                if retries_left && failure.retryable(idempotency) {
                    Some(self.backoff(attempt))
                } else {
                    None
                }
            }
        }
    }

    /// Awaits one attempt's response and reads its body, within the size cap.
    async fn attempt(
        &self,
        operation: Operation,
        sending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Result<Response, Failure> {
        let mut response = sending.await.map_err(|e| self.failure(operation, e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let cap = self.config.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(Failure::final_error(self.too_large(operation, status)));
        }
        let mut body = Body::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.failure(operation, e).after_send())?
        {
            if body.len() + chunk.len() > cap {
                return Err(Failure::final_error(self.too_large(operation, status)));
            }
            body.push(chunk);
        }
        Ok(Response {
            status,
            headers,
            body: body.into_bytes(),
            attempts: 1,
            secrets: SentSecrets::default(),
            single_use: false,
        })
    }

    fn failure(&self, operation: Operation, err: reqwest::Error) -> Failure {
        // The host and port only: the URL's path or query may carry a token.
        let host = err.url().and_then(|url| {
            let host = url.host_str()?;
            Some(match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        });
        let err = err.without_url();
        let to = host.map(|h| format!(" to {h}")).unwrap_or_default();
        let (kind, what) = if err.is_timeout() {
            (ErrorKind::Timeout, format!("the request{to} timed out"))
        } else if err.is_connect() {
            (
                ErrorKind::Network,
                format!("could not connect{to}: {}", connect_cause(&err)),
            )
        } else {
            (ErrorKind::Network, format!("the connection{to} failed"))
        };
        let reached_server = !err.is_connect();
        let error = Error::new(kind, operation, what)
            .with_provider(self.provider)
            .with_source(err);
        Failure {
            error,
            reached_server,
            transient: true,
        }
    }

    fn too_large(&self, operation: Operation, status: StatusCode) -> Error {
        Error::new(
            ErrorKind::ResponseTooLarge,
            operation,
            format!(
                "the response is larger than the {} byte cap",
                self.config.max_body_bytes
            ),
        )
        .with_provider(self.provider)
        .with_status(status.as_u16())
    }

    fn deadline_error(&self, operation: Operation, attempts: u32) -> Error {
        Error::new(
            ErrorKind::Timeout,
            operation,
            format!(
                "gave up after {attempts} attempt(s): the deadline ({}s for the whole call) passed",
                self.config.total_deadline.as_secs_f64()
            ),
        )
        .with_provider(self.provider)
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so waits spread out
    /// but never collapse to zero.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.config.max_backoff);
        let half = exp / 2;
        let jitter = unit_random();
        half + half.mul_f64(jitter)
    }
}

/// A response body read chunk by chunk. Usually the whole body arrives as one chunk, which is
/// kept as it is; only a body in several chunks is copied together.
#[derive(Default)]
struct Body {
    first: Bytes,
    rest: Option<BytesMut>,
}

impl Body {
    fn len(&self) -> usize {
        self.rest.as_ref().map_or(self.first.len(), BytesMut::len)
    }

    fn push(&mut self, chunk: Bytes) {
        match &mut self.rest {
            Some(rest) => rest.extend_from_slice(&chunk),
            None if self.first.is_empty() => self.first = chunk,
            None => {
                let mut rest = BytesMut::with_capacity(self.first.len() + chunk.len());
                rest.extend_from_slice(&self.first);
                rest.extend_from_slice(&chunk);
                self.rest = Some(rest);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        self.rest.map_or(self.first, BytesMut::freeze)
    }
}

/// An attempt that got no usable response.
struct Failure {
    error: Error,
    /// Whether the request may have been processed by the vendor.
    reached_server: bool,
    /// Whether trying again could help at all.
    transient: bool,
}

impl Failure {
    fn final_error(error: Error) -> Self {
        Self {
            error,
            reached_server: true,
            transient: false,
        }
    }

    fn after_send(mut self) -> Self {
        self.reached_server = true;
        self
    }

    /// The error to return: a single-use call that may have reached the vendor cannot be
    /// made again, so its failure is permanent whatever its kind.
    fn into_error(self, idempotency: Idempotency) -> Error {
        if idempotency == Idempotency::NotIdempotent && self.reached_server {
            self.error
                .with_status_of_call(crate::error::ErrorStatus::Permanent)
        } else {
            self.error
        }
    }

    fn retryable(&self, idempotency: Idempotency) -> bool {
        self.transient && (idempotency == Idempotency::Idempotent || !self.reached_server)
    }
}

fn should_retry_status(status: StatusCode, idempotency: Idempotency) -> bool {
    match idempotency {
        Idempotency::Idempotent => matches!(status.as_u16(), 429 | 502 | 503 | 504),
        // A 429 is a refusal before processing; a 5xx may have come after it.
        Idempotency::NotIdempotent => status.as_u16() == 429,
    }
}

/// Parses `Retry-After` as delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests;
