//! The one error type every provider and the [`Connector`](crate::Connector) return.
//!
//! An [`Error`] carries a coarse [`ErrorKind`] to branch on, the provider and operation it came
//! from, the vendor's own error code and message when there was one, and a retry hint. Its
//! messages never contain a secret: providers build them from vendor error codes, status lines
//! and [redacted](crate::redact) body excerpts only.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::redact::{self, KnownSecrets};

/// The longest [`Error::message`] kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The longest [`Error::vendor_code`] kept, in characters.
pub const MAX_VENDOR_CODE_CHARS: usize = 128;
/// The longest [`Error::json_path`] kept, in characters.
pub const MAX_JSON_PATH_CHARS: usize = 256;

/// `text` sanitized and cut, reusing it when it is already clean (the common case).
fn bounded(text: String, max_chars: usize) -> String {
    let clean = text.len() <= max_chars && !text.chars().any(|c| c.is_control() || !c.is_ascii());
    if clean {
        text
    } else {
        redact::sanitize(&text, max_chars)
    }
}

/// Vendor-supplied text: redacted, then sanitized and cut.
fn vendor_text(text: &str, max_chars: usize) -> String {
    redact::keepable(text, &KnownSecrets::new(), max_chars)
}

/// What went wrong, coarse enough to branch on.
///
/// New kinds may be added in minor releases, so match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Configuration is missing, malformed, or names an unknown provider or key.
    Config,
    /// The caller passed something the provider or vendor refuses (bad id, bad URL, bad option).
    InvalidInput,
    /// The vendor refused our server credentials.
    Unauthorized,
    /// The credentials are valid but not allowed to do this.
    Forbidden,
    /// The vendor account has used up its quota or plan (e.g. Pelm `quota_reached`).
    QuotaExceeded,
    /// The vendor does not know the object (e.g. an unknown or purged connect session).
    NotFound,
    /// Too many requests; see [`Error::retry_after`].
    RateLimited,
    /// The vendor answered with a server error (5xx).
    Upstream,
    /// The connection failed or was dropped.
    Network,
    /// A request or the whole call's deadline ran out.
    Timeout,
    /// The vendor's answer could not be decoded; see [`Error::json_path`] and
    /// [`Error::body_excerpt`].
    Decode,
    /// The vendor's answer was larger than the configured body cap.
    ResponseTooLarge,
    /// The callback's `state` is missing, unknown, already used, or does not match.
    StateMismatch,
    /// The user cancelled or denied the connection on the vendor's page.
    Cancelled,
    /// The user removed an existing link on the vendor's page (e.g. Flatpeak's Disconnect).
    Disconnected,
    /// The connect token or pending session has expired.
    ExpiredToken,
    /// The authorization code or callback token is unknown, already used, or does not match.
    InvalidCode,
    /// The vendor has not finished yet (e.g. data still loading); try again later.
    Pending,
    /// The provider does not support this operation or option.
    Unsupported,
    /// A webhook failed verification; [`Error::webhook_check`] says which check. Answer the
    /// sender with a 4xx and do not act on it.
    WebhookRejected,
    /// The user's grant is gone (revoked at the vendor, or its refresh token expired): no
    /// call with these credentials can succeed; send the user through Connect again.
    ReauthorizationRequired,
    /// Something the SDK did not expect from the vendor (an undocumented status or shape).
    Unexpected,
}

impl ErrorKind {
    /// Whether an error of this kind is [`ErrorStatus::Temporary`] unless the error says
    /// otherwise (see [`Error::status_of_call`]).
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Upstream | Self::Network | Self::Timeout | Self::Pending
        )
    }

    /// The status an error of this kind has unless its maker sets another.
    pub fn default_status(self) -> ErrorStatus {
        match self {
            _ if self.is_temporary() => ErrorStatus::Temporary,
            // The code is not this flow's or no longer good: the flow's own callback may be.
            Self::InvalidCode => ErrorStatus::CallbackRefused,
            _ => ErrorStatus::Permanent,
        }
    }

    /// A short, stable, human-readable name for the kind (used in messages and snapshots).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::InvalidInput => "invalid input",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::QuotaExceeded => "quota exceeded",
            Self::NotFound => "not found",
            Self::RateLimited => "rate limited",
            Self::Upstream => "upstream error",
            Self::Network => "network error",
            Self::Timeout => "timeout",
            Self::Decode => "decode error",
            Self::ResponseTooLarge => "response too large",
            Self::StateMismatch => "state mismatch",
            Self::Cancelled => "cancelled by user",
            Self::Disconnected => "disconnected by user",
            Self::ExpiredToken => "expired",
            Self::InvalidCode => "invalid code",
            Self::Pending => "pending",
            Self::Unsupported => "unsupported",
            Self::ReauthorizationRequired => "reauthorization required",
            Self::WebhookRejected => "webhook rejected",
            Self::Unexpected => "unexpected response",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller may do after an error, apart from what happened ([`ErrorKind`]).
///
/// The kind says what went wrong; the status says whether trying again can help. They differ
/// where it matters: a timeout is usually temporary, but a timed-out single-use exchange
/// (a code, a claimed session) may have been processed and can only fail again.
///
/// For [`Connector::finish`](crate::Connector::finish) the status also says what became of
/// the flow: kept for another try, kept for its real callback, or over.
///
/// ```
/// use utilconnect::{Error, ErrorKind, ErrorStatus, Operation};
/// let timeout = Error::new(ErrorKind::Timeout, Operation::Complete, "no answer");
/// assert_eq!(timeout.status_of_call(), ErrorStatus::Temporary);
/// let burnt = timeout.with_status_of_call(ErrorStatus::Permanent);
/// assert!(!burnt.is_temporary());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorStatus {
    /// The same call may succeed if made again, after [`Error::retry_after`] when given.
    /// After `finish`: the session is kept, the same callback URL can be finished again.
    Temporary,
    /// The same call will fail again. After `finish`: the flow is over, start a new one.
    Permanent,
    /// This callback cannot finish the flow, but the flow is untouched: its session is kept
    /// for the real callback (a forged or mangled callback, a code the vendor refused, a
    /// user's `error`). Starting a new flow is the app's choice.
    CallbackRefused,
}

impl ErrorStatus {
    /// A short, stable name (used in messages and snapshots).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Permanent => "permanent",
            Self::CallbackRefused => "callback refused",
        }
    }
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step of the flow an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Loading configuration or building a provider.
    Configure,
    /// Authenticating the server with the vendor (e.g. Flatpeak `/login`).
    Authenticate,
    /// Creating the connect token.
    CreateToken,
    /// Building the URL of the vendor's hosted page.
    ConnectUrl,
    /// Parsing the callback URL.
    ParseCallback,
    /// Completing the link after the callback.
    Complete,
    /// Reading or writing the session store.
    Store,
    /// Renewing credentials (an optional operation).
    Refresh,
    /// Ending the app's access at the vendor (an optional operation).
    Revoke,
    /// Verifying and reading a webhook the vendor sent (an optional operation).
    Webhook,
}

impl Operation {
    /// A short, stable name for the operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configure => "configure",
            Self::Authenticate => "authenticate",
            Self::CreateToken => "create_token",
            Self::ConnectUrl => "connect_url",
            Self::ParseCallback => "parse_callback",
            Self::Complete => "complete",
            Self::Store => "store",
            Self::Refresh => "refresh",
            Self::Revoke => "revoke",
            Self::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error every utilconnect call returns.
///
/// ```
/// use utilconnect::{Error, ErrorKind, Operation};
/// use std::time::Duration;
///
/// let err = Error::new(ErrorKind::RateLimited, Operation::CreateToken, "slow down")
///     .with_provider("pelm")
///     .with_retry_after(Duration::from_secs(2));
/// assert!(err.is_temporary());
/// assert_eq!(err.to_string(), "pelm create_token: rate limited: slow down (retry after 2s)");
/// ```
#[derive(Clone)]
pub struct Error {
    // Boxed: errors travel through every `Result` in the crate and should stay one pointer.
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    status_of_call: ErrorStatus,
    operation: Operation,
    provider: Option<String>,
    message: String,
    status: Option<u16>,
    vendor_code: Option<String>,
    vendor_message: Option<String>,
    retry_after: Option<Duration>,
    json_path: Option<String>,
    body_excerpt: Option<String>,
    // Shared, so errors can be cloned (one refresh's error is every waiter's).
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
    webhook_check: Option<crate::webhook::WebhookCheck>,
}

/// The result type of utilconnect calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Creates an error of `kind` raised during `operation`.
    ///
    /// `message` must not contain a secret; it is shown to people and written to logs.
    ///
    /// Marked cold (as are the other constructors): errors are the rare path, so the compiler
    /// moves the code that builds them out of the way of the code that succeeds.
    /// It is kept [sanitized](crate::redact::sanitize): control characters escaped, at most
    /// [`MAX_MESSAGE_CHARS`] characters.
    #[cold]
    pub fn new(kind: ErrorKind, operation: Operation, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                status_of_call: kind.default_status(),
                operation,
                provider: None,
                message: bounded(message.into(), MAX_MESSAGE_CHARS),
                status: None,
                vendor_code: None,
                vendor_message: None,
                retry_after: None,
                json_path: None,
                body_excerpt: None,
                source: None,
                webhook_check: None,
            }),
        }
    }

    /// A [`ErrorKind::WebhookRejected`] error: `check` failed, `message` says how (never
    /// with the body, which is the sender's).
    ///
    /// ```
    /// use utilconnect::{Error, WebhookCheck};
    /// let err = Error::webhook(WebhookCheck::Timestamp, "signed 10 minutes ago");
    /// assert_eq!(err.webhook_check(), Some(WebhookCheck::Timestamp));
    /// ```
    #[cold]
    pub fn webhook(check: crate::webhook::WebhookCheck, message: impl Into<String>) -> Self {
        let mut err = Self::new(ErrorKind::WebhookRejected, Operation::Webhook, message);
        err.inner.webhook_check = Some(check);
        err
    }

    /// For a rejected webhook, the check that failed.
    pub fn webhook_check(&self) -> Option<crate::webhook::WebhookCheck> {
        self.inner.webhook_check
    }

    /// Shorthand for a [`ErrorKind::Config`] error.
    #[cold]
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, Operation::Configure, message)
    }

    /// A configuration value that was read but refused by a check of its own (a URL of the
    /// wrong scheme, an id that names nothing): an [`ErrorKind::Config`] error naming the
    /// key's full path, in the same form as the errors of reading a table.
    ///
    /// ```
    /// let err = utilconnect::Error::invalid_config_key("providers.acme.url", "must be https");
    /// assert_eq!(err.details(), "invalid configuration: providers.acme.url: must be https");
    /// ```
    #[cold]
    pub fn invalid_config_key(path: &str, why: impl fmt::Display) -> Self {
        Self::config(format!(
            "invalid configuration: {}: {why}",
            crate::redact::sanitize(path, 256)
        ))
    }

    /// Shorthand for a flow option the app passed that the provider refuses: an
    /// [`ErrorKind::InvalidInput`] error of [`Operation::CreateToken`], found before any request.
    ///
    /// ```
    /// let err = utilconnect::Error::invalid_option("option `utility` must be a string")
    ///     .with_provider("acme");
    /// assert_eq!(err.kind(), utilconnect::ErrorKind::InvalidInput);
    /// assert_eq!(err.operation(), utilconnect::Operation::CreateToken);
    /// ```
    #[cold]
    pub fn invalid_option(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, Operation::CreateToken, message)
    }

    /// Names the provider the error came from.
    #[cold]
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.inner.provider = Some(provider.into());
        self
    }

    /// Records the HTTP status the vendor answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Records the vendor's machine-readable error code (e.g. `quota_reached`), redacted,
    /// sanitized and cut to [`MAX_VENDOR_CODE_CHARS`].
    pub fn with_vendor_code(mut self, code: impl Into<String>) -> Self {
        self.inner.vendor_code = Some(vendor_text(&code.into(), MAX_VENDOR_CODE_CHARS));
        self
    }

    /// Records the vendor's human-readable error text, redacted, sanitized and cut to
    /// [`EXCERPT_CHARS`](redact::EXCERPT_CHARS).
    pub fn with_vendor_message(mut self, message: impl Into<String>) -> Self {
        self.inner.vendor_message = Some(vendor_text(&message.into(), redact::EXCERPT_CHARS));
        self
    }

    /// Records the vendor's code and message (either may be absent) scrubbed of `secrets`
    /// *before* they are cut, so no part of a secret the vendor echoed survives the cut; then
    /// redacted and sanitized like [`with_vendor_code`](Self::with_vendor_code) and
    /// [`with_vendor_message`](Self::with_vendor_message). (Scrubbing afterwards, with
    /// [`scrub`](Self::scrub), cannot recognise a secret the cut split.)
    ///
    /// ```
    /// use utilconnect::{Error, ErrorKind, Operation, redact::KnownSecrets};
    /// let long = format!("{} cot_0123456789", "x".repeat(250));
    /// let err = Error::new(ErrorKind::Unexpected, Operation::Complete, "odd answer")
    ///     .with_vendor_text(None, Some(&long), &KnownSecrets::new().with("cot_0123456789".into()));
    /// assert!(!err.vendor_message().unwrap().contains("cot_"));
    /// ```
    pub fn with_vendor_text(
        mut self,
        code: Option<&str>,
        message: Option<&str>,
        secrets: &KnownSecrets,
    ) -> Self {
        if let Some(code) = code {
            self.inner.vendor_code = Some(redact::keepable(code, secrets, MAX_VENDOR_CODE_CHARS));
        }
        if let Some(message) = message {
            self.inner.vendor_message =
                Some(redact::keepable(message, secrets, redact::EXCERPT_CHARS));
        }
        self
    }

    /// Records how long the vendor asked us to wait before retrying.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.inner.retry_after = Some(retry_after);
        self
    }

    /// Records where in the vendor's JSON decoding failed (e.g. `.expires_in`); the path
    /// names the vendor's keys, so it is sanitized and cut like vendor text.
    pub fn with_json_path(mut self, path: impl Into<String>) -> Self {
        self.inner.json_path = Some(bounded(path.into(), MAX_JSON_PATH_CHARS));
        self
    }

    /// Records a short, [redacted](crate::redact::excerpt) excerpt of the body that failed
    /// (redacted, sanitized and cut again here, whatever the caller passed).
    pub fn with_body_excerpt(mut self, excerpt: impl Into<String>) -> Self {
        self.inner.body_excerpt = Some(vendor_text(&excerpt.into(), redact::EXCERPT_CHARS));
        self
    }

    /// Removes every value of `secrets` from the texts this error keeps (message, vendor code
    /// and message, JSON path, body excerpt): the last guard for a vendor that echoes a secret
    /// the SDK sent it.
    ///
    /// ```
    /// use utilconnect::{Error, ErrorKind, Operation, redact::KnownSecrets};
    /// let err = Error::new(ErrorKind::Unauthorized, Operation::CreateToken, "refused")
    ///     .with_vendor_message("client secret sk_9 rejected")
    ///     .scrub(&KnownSecrets::new().with("sk_9".into()));
    /// assert_eq!(err.vendor_message(), Some("client secret [REDACTED] rejected"));
    /// ```
    #[cold]
    pub fn scrub(mut self, secrets: &KnownSecrets) -> Self {
        if secrets.is_empty() {
            return self;
        }
        let inner = &mut *self.inner;
        let scrub = |text: &mut String| {
            if let Cow::Owned(clean) = secrets.scrub(text) {
                *text = clean;
            }
        };
        scrub(&mut inner.message);
        for text in [
            &mut inner.vendor_code,
            &mut inner.vendor_message,
            &mut inner.json_path,
            &mut inner.body_excerpt,
        ]
        .into_iter()
        .flatten()
        {
            scrub(text);
        }
        self
    }

    /// Attaches the underlying cause. The cause's `Display` must not contain a secret.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.inner.source = Some(std::sync::Arc::from(source.into()));
        self
    }

    /// Sets what the caller may do (by default, the kind's
    /// [`default_status`](ErrorKind::default_status)).
    pub fn with_status_of_call(mut self, status: ErrorStatus) -> Self {
        self.inner.status_of_call = status;
        self
    }

    /// Changes the operation (used when a shared helper's error surfaces in another step).
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.inner.operation = operation;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The step that failed.
    pub fn operation(&self) -> Operation {
        self.inner.operation
    }

    /// The provider that failed, when known.
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// Our own description of what went wrong.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status the vendor answered with, if the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The vendor's machine-readable error code, if it sent one.
    pub fn vendor_code(&self) -> Option<&str> {
        self.inner.vendor_code.as_deref()
    }

    /// The vendor's human-readable error text, if it sent one.
    pub fn vendor_message(&self) -> Option<&str> {
        self.inner.vendor_message.as_deref()
    }

    /// How long to wait before retrying, when the vendor said so.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// For decode errors: where in the JSON the first problem was.
    pub fn json_path(&self) -> Option<&str> {
        self.inner.json_path.as_deref()
    }

    /// For decode and unexpected-response errors: a short redacted excerpt of the body.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.body_excerpt.as_deref()
    }

    /// What the caller may do: retry, start again, or wait for the flow's real callback.
    pub fn status_of_call(&self) -> ErrorStatus {
        self.inner.status_of_call
    }

    /// Whether making the same call again may succeed ([`ErrorStatus::Temporary`]).
    pub fn is_temporary(&self) -> bool {
        self.inner.status_of_call == ErrorStatus::Temporary
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = &self.inner.provider {
            write!(f, "{provider} ")?;
        }
        write!(f, "{}: {}: ", self.inner.operation, self.inner.kind)?;
        self.write_details(f)
    }
}

impl Error {
    /// The error's text without its `<provider> <operation>: <kind>:` prefix: the message,
    /// the HTTP status and what the vendor said, for a line that names those once itself.
    ///
    /// ```
    /// use utilconnect::{Error, ErrorKind, Operation};
    /// let err = Error::new(ErrorKind::Upstream, Operation::Complete, "it broke").with_status(503);
    /// assert_eq!(err.details(), "it broke (HTTP 503)");
    /// assert_eq!(err.to_string(), "complete: upstream error: it broke (HTTP 503)");
    /// ```
    pub fn details(&self) -> String {
        struct Details<'a>(&'a Error);
        impl fmt::Display for Details<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_details(f)
            }
        }
        Details(self).to_string()
    }

    fn write_details(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status})")?;
        }
        match (&self.inner.vendor_code, &self.inner.vendor_message) {
            (Some(code), Some(text)) => write!(f, " [{code}: {text}]")?,
            (Some(code), None) => write!(f, " [{code}]")?,
            (None, Some(text)) => write!(f, " [{text}]")?,
            (None, None) => {}
        }
        if let Some(path) = &self.inner.json_path {
            write!(f, " at {path}")?;
        }
        if let Some(wait) = self.inner.retry_after {
            write!(f, " (retry after {}s)", wait.as_secs_f64())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("status_of_call", &self.inner.status_of_call)
            .field("operation", &self.inner.operation)
            .field("provider", &self.inner.provider)
            .field("message", &self.inner.message)
            .field("status", &self.inner.status)
            .field("vendor_code", &self.inner.vendor_code)
            .field("vendor_message", &self.inner.vendor_message)
            .field("retry_after", &self.inner.retry_after)
            .field("json_path", &self.inner.json_path)
            .field("body_excerpt", &self.inner.body_excerpt)
            .field("source", &self.inner.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_kinds_are_exactly_the_retryable_ones() {
        let temporary = [
            ErrorKind::RateLimited,
            ErrorKind::Upstream,
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::Pending,
        ];
        let permanent = [
            ErrorKind::Config,
            ErrorKind::InvalidInput,
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::QuotaExceeded,
            ErrorKind::NotFound,
            ErrorKind::Decode,
            ErrorKind::ResponseTooLarge,
            ErrorKind::StateMismatch,
            ErrorKind::Cancelled,
            ErrorKind::Disconnected,
            ErrorKind::ExpiredToken,
            ErrorKind::InvalidCode,
            ErrorKind::Unsupported,
            ErrorKind::Unexpected,
        ];
        for kind in temporary {
            assert!(kind.is_temporary(), "{kind:?} should be temporary");
        }
        for kind in permanent {
            assert!(!kind.is_temporary(), "{kind:?} should be permanent");
        }
    }

    #[test]
    fn status_defaults_follow_the_kind_and_can_be_overridden() {
        let status = |kind| Error::new(kind, Operation::Complete, "x").status_of_call();
        assert_eq!(status(ErrorKind::Timeout), ErrorStatus::Temporary);
        assert_eq!(status(ErrorKind::Pending), ErrorStatus::Temporary);
        assert_eq!(status(ErrorKind::InvalidCode), ErrorStatus::CallbackRefused);
        assert_eq!(status(ErrorKind::Cancelled), ErrorStatus::Permanent);
        let err = Error::new(ErrorKind::Timeout, Operation::Complete, "sent, no answer")
            .with_status_of_call(ErrorStatus::Permanent);
        assert!(!err.is_temporary());
        assert_eq!(err.kind(), ErrorKind::Timeout, "the kind is unchanged");
    }

    #[test]
    fn display_names_provider_operation_kind_and_vendor_details() {
        let err = Error::new(
            ErrorKind::QuotaExceeded,
            Operation::CreateToken,
            "plan limit",
        )
        .with_provider("acme")
        .with_status(402)
        .with_vendor_code("quota_reached")
        .with_vendor_message("Quota reached");
        assert_eq!(
            err.to_string(),
            "acme create_token: quota exceeded: plan limit (HTTP 402) [quota_reached: Quota reached]"
        );
        assert_eq!(err.provider(), Some("acme"));
        assert_eq!(err.vendor_code(), Some("quota_reached"));
        assert!(!err.is_temporary());
    }

    #[test]
    fn decode_error_shows_json_path() {
        let err = Error::new(ErrorKind::Decode, Operation::Complete, "bad JSON")
            .with_json_path(".expires_in")
            .with_body_excerpt("{\"expires_in\": true}");
        assert!(err.to_string().ends_with("at .expires_in"));
        assert_eq!(err.body_excerpt(), Some("{\"expires_in\": true}"));
    }

    #[test]
    fn source_is_exposed() {
        let io = std::io::Error::other("boom");
        let err =
            Error::new(ErrorKind::Network, Operation::Complete, "send failed").with_source(io);
        let source = std::error::Error::source(&err).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("boom"));
    }
}
