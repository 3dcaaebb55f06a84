//! The nouns of a Connect flow: what the app asks for ([`TokenRequest`]), what the vendor
//! issues ([`ConnectToken`]), what the app keeps meanwhile ([`PendingSession`]) and what it
//! gets at the end ([`Connection`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::state::{Digest, State};

/// Longest user id accepted, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;

/// Longest token lifetime believed from a vendor (400 days); longer claims are capped so a
/// bogus `expires_in` cannot overflow a timestamp.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(400 * 24 * 3600);

/// Vendor-specific options for token creation, validated by the provider.
///
/// Keys and values are those the provider documents (e.g. Pelm's `utility_slug`); an unknown
/// key is an [`ErrorKind::InvalidInput`] error naming it.
pub type Options = Map<String, Value>;

/// What the app asks a provider for when it starts a flow.
///
/// ```
/// use url::Url;
/// use utilconnect::{State, TokenRequest};
///
/// let request = TokenRequest::new("user-42", Url::parse("https://app.example/cb")?, State::generate()?)?
///     .with_option("utility_slug", "pge");
/// assert_eq!(request.user_id(), "user-42");
/// assert_eq!(request.options()["utility_slug"], "pge");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenRequest {
    user_id: String,
    callback_url: Url,
    state: State,
    options: Options,
}

impl TokenRequest {
    /// A request for `user_id` that will come back to `callback_url` carrying `state`.
    ///
    /// Fails with [`ErrorKind::InvalidInput`] for an empty, over-long or control-character
    /// user id, or a callback that is not an absolute `http(s)` URL.
    pub fn new(user_id: impl Into<String>, callback_url: Url, state: State) -> Result<Self> {
        let user_id = user_id.into();
        validate_user_id(&user_id)?;
        validate_callback_url(&callback_url)?;
        Ok(Self {
            user_id,
            callback_url,
            state,
            options: Options::new(),
        })
    }

    /// Adds one vendor-specific option.
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Replaces the vendor-specific options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The app's own id for its user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Where the vendor sends the user back to.
    pub fn callback_url(&self) -> &Url {
        &self.callback_url
    }

    /// The CSRF state the callback must carry.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Vendor-specific options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Refuses options outside `known` (a provider's option keys), naming the first unknown
    /// one and what `vendor` accepts, before anything is sent.
    ///
    /// ```
    /// # let state = utilconnect::State::generate()?;
    /// let request = utilconnect::TokenRequest::new("u", "https://app.example/cb".parse()?, state)?
    ///     .with_option("utilty", "pge");
    /// let err = request.reject_unknown_options(&["utility"], "Acme").unwrap_err();
    /// assert!(err.to_string().contains("unknown Acme option `utilty`; Acme accepts: utility"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject_unknown_options(&self, known: &[&str], vendor: &str) -> Result<()> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(Error::invalid_option(format!(
                "unknown {vendor} option `{}`; {vendor} accepts: {}",
                crate::redact::sanitize(unknown, 64),
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The option `key` as a non-empty string; `None` when absent or null. Anything else
    /// is an [`ErrorKind::InvalidInput`] error naming `vendor`'s option.
    pub fn option_str(&self, key: &str, vendor: &str) -> Result<Option<&str>> {
        match self.options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.as_str())),
            Some(_) => Err(Error::invalid_option(format!(
                "{vendor} option `{key}` must be a non-empty string"
            ))),
        }
    }
}

fn validate_user_id(user_id: &str) -> Result<()> {
    let problem = if user_id.trim().is_empty() {
        Some("must not be empty")
    } else if user_id.len() > MAX_USER_ID_BYTES {
        Some("is longer than 256 bytes")
    } else if user_id.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::CreateToken,
            format!("`user_id` {problem}"),
        )),
        None => Ok(()),
    }
}

fn validate_callback_url(url: &Url) -> Result<()> {
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::CreateToken,
            format!(
                "`callback_url` must be an absolute http(s) URL, got scheme `{}`",
                url.scheme()
            ),
        ))
    }
}

/// What the vendor issued for a flow: the short-lived token, how long it lives, and any
/// non-secret data the provider wants back in [`ConnectProvider::complete`](crate::ConnectProvider::complete).
///
/// It holds only what the vendor issued: the request it answers (user, callback URL, state)
/// stays the [`TokenRequest`], which the [`Connector`](crate::Connector) hands to
/// [`connect_url`](crate::ConnectProvider::connect_url) beside it. The token value is a
/// secret; only its [`Digest`] goes into the [`PendingSession`]. It carries its lifetime, not
/// an instant: the Connector turns it into an expiry on its own clock, so expiry checks use
/// one clock only.
///
/// ```
/// use std::time::Duration;
/// let token = utilconnect::ConnectToken::new("tok_1".into(), Duration::from_secs(1800))
///     .with_data("utility_slug", "pge");
/// assert_eq!(token.lifetime(), Duration::from_secs(1800));
/// assert_eq!(token.data()["utility_slug"], "pge");
/// assert!(!format!("{token:?}").contains("tok_1"));
/// ```
#[derive(Clone)]
pub struct ConnectToken {
    secret: SecretString,
    lifetime: Duration,
    data: Options,
}

impl ConnectToken {
    /// The token the vendor issued, valid for `lifetime` (the vendor's `expires_in`; capped at
    /// [`MAX_TOKEN_LIFETIME`]).
    pub fn new(secret: SecretString, lifetime: Duration) -> Self {
        Self {
            secret,
            lifetime: lifetime.min(MAX_TOKEN_LIFETIME),
            data: Options::new(),
        }
    }

    /// Keeps a non-secret value for [`ConnectProvider::complete`](crate::ConnectProvider::complete);
    /// it is copied into the [`PendingSession`].
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// The token value.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// How long the vendor accepts the token, from its creation.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// When the token expires if it was created at `created_at`.
    pub fn expires_at(&self, created_at: SystemTime) -> SystemTime {
        created_at.checked_add(self.lifetime).unwrap_or(created_at)
    }

    /// Non-secret provider data.
    pub fn data(&self) -> &Options {
        &self.data
    }
}

impl fmt::Debug for ConnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectToken")
            .field("secret", &"[REDACTED]")
            .field("lifetime", &self.lifetime)
            .field("data", &self.data)
            .finish()
    }
}

/// What the app keeps between `start` and the callback: enough to verify and complete the
/// flow, and no secret.
///
/// It is serde-serializable so a [`SessionStore`](crate::SessionStore) can put it in Redis,
/// a database or a signed cookie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingSession {
    /// The provider that issued the token.
    pub provider: String,
    /// The app's id for its user.
    pub user_id: String,
    /// Digest of the CSRF state; the store is keyed by it.
    pub state_digest: Digest,
    /// Digest of the connect token, so a callback that carries the token can be checked.
    pub token_digest: Digest,
    /// The app's callback URL.
    pub callback_url: Url,
    /// When the flow started.
    pub created_at: SystemTime,
    /// When the flow can no longer be finished.
    pub expires_at: SystemTime,
    /// Non-secret provider data recorded at token creation.
    #[serde(default)]
    pub data: Options,
}

impl PendingSession {
    /// The session of the flow `request` started at `provider`, which the vendor answered
    /// with `token`, created at `created_at` (the Connector's clock) and expiring with the
    /// token.
    pub fn new(
        provider: impl Into<String>,
        request: &TokenRequest,
        token: &ConnectToken,
        created_at: SystemTime,
    ) -> Self {
        Self {
            provider: provider.into(),
            user_id: request.user_id.clone(),
            state_digest: request.state.digest(),
            token_digest: Digest::of_secret(&token.secret),
            callback_url: request.callback_url.clone(),
            created_at,
            expires_at: token.expires_at(created_at),
            data: token.data.clone(),
        }
    }

    /// Whether the session can no longer be finished at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

/// Whether the vendor already has the user's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataStatus {
    /// Data can be fetched now.
    Ready,
    /// The account is linked; data is still loading at the vendor.
    Pending,
}

/// Whether the link was made with live or test credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mode {
    /// Real customer data.
    Live,
    /// The vendor's test or sandbox mode.
    Test,
    /// The vendor did not say.
    Unknown,
}

/// Credentials the vendor issued for reading the user's data. Every token is a secret.
#[derive(Clone)]
pub struct AccessCredentials {
    /// The access token.
    pub access_token: SecretString,
    /// When the access token stops working, if the vendor said.
    pub access_expires_at: Option<SystemTime>,
    /// The refresh token, if any.
    pub refresh_token: Option<SecretString>,
    /// When the refresh token stops working, if the vendor said.
    pub refresh_expires_at: Option<SystemTime>,
}

impl AccessCredentials {
    /// Credentials with an access token only.
    pub fn new(access_token: SecretString) -> Self {
        Self {
            access_token,
            access_expires_at: None,
            refresh_token: None,
            refresh_expires_at: None,
        }
    }
}

impl fmt::Debug for AccessCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessCredentials")
            .field("access_token", &"[REDACTED]")
            .field("access_expires_at", &self.access_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// The result of a finished flow: the user's account at the vendor is linked.
///
/// ```
/// use utilconnect::{Connection, DataStatus, Mode};
///
/// let connection = Connection::new("pelm", "user-42")
///     .with_vendor_id("location_id", "loc_1")
///     .with_data_status(DataStatus::Pending)
///     .with_mode(Mode::Test);
/// assert_eq!(connection.vendor_id("location_id"), Some("loc_1"));
/// assert_eq!(connection.data_status(), DataStatus::Pending);
/// ```
#[derive(Debug, Clone)]
pub struct Connection {
    provider: String,
    user_id: String,
    vendor_ids: BTreeMap<String, String>,
    credentials: Option<AccessCredentials>,
    data_status: DataStatus,
    mode: Mode,
}

impl Connection {
    /// A connection for `user_id` at `provider`, data ready, mode unknown.
    pub fn new(provider: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            user_id: user_id.into(),
            vendor_ids: BTreeMap::new(),
            credentials: None,
            data_status: DataStatus::Ready,
            mode: Mode::Unknown,
        }
    }

    /// Records a vendor id (e.g. `customer_id`, `location_id`). Ids are not secrets.
    pub fn with_vendor_id(mut self, name: impl Into<String>, id: impl Into<String>) -> Self {
        self.vendor_ids.insert(name.into(), id.into());
        self
    }

    /// Attaches the vendor's access credentials.
    pub fn with_credentials(mut self, credentials: AccessCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets whether the data is ready.
    pub fn with_data_status(mut self, status: DataStatus) -> Self {
        self.data_status = status;
        self
    }

    /// Sets live or test mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The provider the account is linked at.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The app's id for the user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// One vendor id by name.
    pub fn vendor_id(&self, name: &str) -> Option<&str> {
        self.vendor_ids.get(name).map(String::as_str)
    }

    /// All vendor ids, sorted by name.
    pub fn vendor_ids(&self) -> &BTreeMap<String, String> {
        &self.vendor_ids
    }

    /// The vendor's access credentials, if it issues any.
    pub fn credentials(&self) -> Option<&AccessCredentials> {
        self.credentials.as_ref()
    }

    /// Whether the data is ready.
    pub fn data_status(&self) -> DataStatus {
        self.data_status
    }

    /// Live or test mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-never-shown";

    fn request() -> TokenRequest {
        TokenRequest::new(
            "user-1",
            Url::parse("https://app.example/cb?tenant=a").unwrap(),
            State::generate().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn user_id_is_validated_with_the_field_named() {
        let url = Url::parse("https://app.example/cb").unwrap();
        for bad in ["", "   ", "a\nb", &"x".repeat(257)] {
            let err = TokenRequest::new(bad, url.clone(), State::generate().unwrap()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("`user_id`"), "{err}");
        }
    }

    #[test]
    fn callback_must_be_http_or_https() {
        let err = TokenRequest::new(
            "u",
            Url::parse("mailto:someone@example.com").unwrap(),
            State::generate().unwrap(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`callback_url`"), "{err}");
    }

    #[test]
    fn pending_session_keeps_digests_not_secrets() {
        let request = request();
        let token =
            ConnectToken::new(SECRET.into(), Duration::from_secs(60)).with_data("utility", "pge");
        let session = PendingSession::new("acme", &request, &token, SystemTime::UNIX_EPOCH);
        let json = serde_json::to_string(&session).unwrap();
        assert!(!json.contains(SECRET), "{json}");
        assert!(!json.contains(request.state().as_str()), "{json}");
        assert!(session.token_digest.matches_secret(&SECRET.into()));
        assert!(session.state_digest.matches(&request.state().digest()));
        assert_eq!(session.data["utility"], "pge");
        let back: PendingSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, session);
    }

    #[test]
    fn pending_session_expires_at_token_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let token = ConnectToken::new(SECRET.into(), Duration::from_secs(100));
        let session = PendingSession::new("acme", &request(), &token, SystemTime::UNIX_EPOCH);
        assert!(!session.is_expired(t0 - Duration::from_secs(1)));
        assert!(session.is_expired(t0));
    }

    #[test]
    fn absurd_vendor_lifetimes_are_capped_not_overflowed() {
        let token = ConnectToken::new(SECRET.into(), Duration::MAX);
        assert_eq!(token.lifetime(), MAX_TOKEN_LIFETIME);
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u32::MAX as u64);
        assert!(token.expires_at(far) > far);
    }

    #[test]
    fn debug_of_token_and_connection_hides_secrets() {
        let token = ConnectToken::new(SECRET.into(), Duration::from_secs(60));
        let mut credentials = AccessCredentials::new(SECRET.into());
        credentials.refresh_token = Some(SECRET.into());
        let connection = Connection::new("acme", "u").with_credentials(credentials);
        for debug in [format!("{token:?}"), format!("{connection:?}")] {
            assert!(!debug.contains(SECRET), "{debug}");
            assert!(debug.contains("REDACTED"), "{debug}");
        }
    }
}
