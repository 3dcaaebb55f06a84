//! [`FlatpeakProvider`]: Flatpeak's Connect flow behind [`ConnectProvider`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use utilconnect::http::{HttpClient, Idempotency, Response, vendor_error};
use utilconnect::redact::KnownSecrets;
use utilconnect::{
    Callback, Capability, Clock, ConnectProvider, ConnectToken, Connection, DataStatus, Digest,
    Error, ErrorKind, Event, FromConfig, Mode, Operation, PendingSession, ProviderConfig, Result,
    SystemClock, TokenRequest, Url,
};

use crate::bearer::BearerCache;
use crate::config::FlatpeakConfig;
use crate::errors::map_error;
use crate::options::TokenOptions;
use crate::version::{ApiVersion, TOKEN_PLACEHOLDER};
use crate::wire::{
    CreateTokenResponse, ErrorBody, LoginResponse, SessionCreated, SessionId, SessionResponse,
    create_body,
};

/// What this provider supports (its descriptor declares it).
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability::DataPending,
    Capability::UserCancel,
    Capability::CredentialRetry,
    Capability::Disconnect,
    Capability::Webhooks,
];

/// `Flatpeak-Version` (header names are case-insensitive; HTTP/1.1 clients send them lower
/// case).
const VERSION_HEADER: HeaderName = HeaderName::from_static("flatpeak-version");

/// The callback parameter Flatpeak adds: the connect token.
pub const CALLBACK_TOKEN_PARAM: &str = "fp_cot";

/// Flatpeak's Connect flow.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_json("flatpeak", serde_json::json!({
///     "account_id": "acc_1", "api_key": "sk_test_1",
/// }));
/// use utilconnect::FromConfig;
/// let provider = utilconnect_flatpeak::FlatpeakProvider::from_config(&table)?;
/// use utilconnect::ConnectProvider;
/// assert_eq!(provider.descriptor().name(), "flatpeak");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug)]
pub struct FlatpeakProvider {
    config: FlatpeakConfig,
    http: HttpClient,
    bearer: BearerCache,
    clock: Arc<dyn Clock>,
    endpoints: Endpoints,
    jwks: crate::webhook::Jwks,
}

/// The API URLs, joined onto `api_base_url` once.
#[derive(Debug)]
struct Endpoints {
    login: Url,
    create_token: Url,
    retrieve: Retrieve,
    jwks: Url,
}

/// Where the retrieve call puts the connect token.
#[derive(Debug)]
enum Retrieve {
    /// `?connect_token=` on this URL (2024-08-24, anode).
    InQuery(Url),
    /// As the last path segment after this URL's path (busbar).
    InPath(Url),
}

impl Retrieve {
    fn new(config: &FlatpeakConfig) -> Self {
        let path = config.retrieve_path();
        match path.strip_suffix(TOKEN_PLACEHOLDER) {
            Some(prefix) => Self::InPath(config.api_base_url.join(prefix)),
            None => Self::InQuery(config.api_base_url.join(path)),
        }
    }

    /// The request for `token`'s session.
    fn request(&self, client: &reqwest::Client, token: &SecretString) -> reqwest::RequestBuilder {
        match self {
            Self::InQuery(url) => client
                .get(url.clone())
                .query(&[("connect_token", token.expose_secret())]),
            Self::InPath(prefix) => {
                let mut url = prefix.clone();
                // Always `Ok`: `BaseUrl` is http(s), which has path segments. Pushed as a
                // segment, the token is percent-encoded, never read as a path.
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.pop_if_empty().push(token.expose_secret());
                }
                client.get(url)
            }
        }
    }
}

impl FlatpeakProvider {
    /// Builds the provider from its configuration.
    pub fn new(config: FlatpeakConfig) -> Result<Self> {
        config.check()?;
        let mut http = HttpClient::new(crate::NAME, config.http.clone())?
            .with_known_secrets(KnownSecrets::new().with(config.api_key.clone()));
        if let Some(prefix) = config.retrieve_path().strip_suffix(TOKEN_PLACEHOLDER) {
            // The connect token is the retrieve path's last segment: keep it out of traces.
            http = http.with_secret_path_prefix(config.api_base_url.join(prefix).path());
        }
        Ok(Self {
            endpoints: Endpoints {
                login: config.api_base_url.join("/login"),
                create_token: config.api_base_url.join(config.api_version.create_path()),
                retrieve: Retrieve::new(&config),
                jwks: config.api_base_url.join(&config.webhooks.jwks_path),
            },
            jwks: crate::webhook::Jwks::default(),
            config,
            http,
            bearer: BearerCache::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Forgets the cached bearer, so the next call logs in again (e.g. after rotating the
    /// API key, or to measure a flow that includes the login).
    pub async fn clear_bearer(&self) {
        self.bearer.clear().await;
    }

    async fn login(&self) -> Result<(SecretString, Duration)> {
        let response = self
            .http
            .send(Operation::Authenticate, Idempotency::Idempotent, |client| {
                client
                    .get(self.endpoints.login.clone())
                    .basic_auth(
                        &self.config.account_id,
                        Some(self.config.api_key.expose_secret()),
                    )
                    .header(VERSION_HEADER, self.config.version_header())
            })
            .await?;
        if !response.status().is_success() {
            return Err(map_error(&response, Operation::Authenticate));
        }
        let body: LoginResponse = response.json(crate::NAME, Operation::Authenticate)?;
        tracing::debug!(expires_in = body.expires_in, "logged in to Flatpeak");
        Ok((body.bearer_token, Duration::from_secs(body.expires_in)))
    }

    /// The bearer (cached or fresh) and whether it came from the cache.
    async fn bearer(&self, operation: Operation) -> Result<(SecretString, bool)> {
        self.bearer
            .get(self.clock.now(), self.config.bearer_refresh_margin, || {
                self.login()
            })
            .await
            .map_err(|e| e.with_operation(operation))
    }

    /// Sends a bearer-authenticated request; a 401/403 on a *cached* bearer forces one
    /// re-login and one retry. The whole exchange, logins and waiting for another caller's
    /// login included, stays within one total deadline.
    ///
    /// `build` is a trait object so this runs as one copy of code for every call.
    async fn send_authorized(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Response> {
        let now = Instant::now();
        // Config bounds the deadline; checked anyway, an instant must never overflow.
        let deadline = now
            .checked_add(self.http.config().total_deadline)
            .unwrap_or(now);
        let (mut bearer, mut from_cache) = match self.bearer.try_cached(self.clock.now()) {
            Some(bearer) => (bearer, true),
            None => self.bearer_within(deadline, operation).await?,
        };
        loop {
            let response = self
                .http
                .send_within(deadline, operation, idempotency, |client| {
                    build(client)
                        .bearer_auth(bearer.expose_secret())
                        .header(VERSION_HEADER, self.config.version_header())
                })
                .await?;
            if response.status().is_success() {
                return Ok(response);
            }
            let refused = matches!(response.status().as_u16(), 401 | 403);
            if !(refused && from_cache) {
                return Err(map_error(&response, operation));
            }
            tracing::debug!("Flatpeak refused the cached bearer; logging in again");
            self.bearer.invalidate(&bearer).await;
            // Only a bearer that came from the cache earns a second try.
            (bearer, _) = self.bearer_within(deadline, operation).await?;
            from_cache = false;
        }
    }

    /// The bearer, waiting for another caller's login or logging in, until `deadline`.
    async fn bearer_within(
        &self,
        deadline: Instant,
        operation: Operation,
    ) -> Result<(SecretString, bool)> {
        // Logging in is rare (once per bearer lifetime), so its state is boxed: inline, it
        // would make every call's future as large as a login's.
        Box::pin(tokio::time::timeout_at(
            deadline.into(),
            self.bearer(operation),
        ))
        .await
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Timeout,
                operation,
                format!(
                    "gave up: the {}s deadline passed while logging in to Flatpeak",
                    self.http.config().total_deadline.as_secs_f64()
                ),
            )
            .with_provider(crate::NAME))
        })
    }

    /// The JSON body of the create call for `request`, in the configured version's shape:
    /// its options over the configured defaults, and the callback URL carrying the state.
    fn token_body(&self, request: &TokenRequest) -> Result<bytes::Bytes> {
        let mut options = TokenOptions::from_options(request.options())?;
        options.tariff_direction = options.tariff_direction.or(self.config.tariff_direction);
        options.tariff_type = options.tariff_type.or(self.config.tariff_type);
        options.check_for(self.config.api_version)?;
        let callback_url = self.callback_with_state(request)?;
        create_body(
            self.config.api_version,
            self.config.connect_web_url.url().as_str(),
            callback_url.as_str(),
            &options,
        )
        .map(Into::into)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::CreateToken,
                format!("could not encode the token request: {e}"),
            )
            .with_provider(crate::NAME)
        })
    }

    /// The app's callback URL with the flow's state added: Flatpeak keeps the query and adds
    /// `fp_cot` (the Connector has checked the URL carries neither already).
    fn callback_with_state(&self, request: &TokenRequest) -> Result<Url> {
        let mut url = request.callback_url().clone();
        url.query_pairs_mut()
            .append_pair("state", request.state().as_str());
        Ok(url)
    }
}

impl FromConfig for FlatpeakProvider {
    /// Builds the provider from its `[providers.flatpeak]` table.
    fn from_config(table: &ProviderConfig) -> Result<Self> {
        Self::new(table.extract()?)
    }

    /// Reads time from `clock` (the expiries it computes), e.g. a sandbox's.
    fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl ConnectProvider for FlatpeakProvider {
    fn descriptor(&self) -> &'static utilconnect::ProviderDescriptor {
        &crate::DESCRIPTOR
    }

    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
        let json = self.token_body(request)?;
        // A second token is harmless, so transient failures are retried.
        let response = self
            .send_authorized(Operation::CreateToken, Idempotency::Idempotent, &|client| {
                client
                    .post(self.endpoints.create_token.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(json.clone())
            })
            .await?;
        // The state-bearing callback went to Flatpeak only: the session keeps the app's own
        // URL, so no raw state reaches the store.
        let (secret, lifetime, live_mode) = if self.config.api_version == ApiVersion::Busbar {
            session_created(&response, self.clock.now())?
        } else {
            let created: CreateTokenResponse =
                response.json(crate::NAME, Operation::CreateToken)?;
            let lifetime = Duration::from_secs(created.expires_in);
            (created.connect_token, lifetime, created.live_mode)
        };
        let mut token = ConnectToken::new(secret, lifetime);
        if let Some(live) = live_mode {
            token = token.with_data("live_mode", live);
        }
        Ok(token)
    }

    fn connect_url(&self, _: &TokenRequest, token: &ConnectToken) -> Result<Url> {
        let mut url = self.config.connect_web_url.url().clone();
        url.query_pairs_mut()
            .append_pair(CALLBACK_TOKEN_PARAM, token.secret().expose_secret());
        Ok(url)
    }

    fn check_callback(&self, session: &PendingSession, callback: &Callback) -> Result<()> {
        flow_token(session, callback).map(drop)
    }

    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection> {
        let token = flow_token(session, callback)?;
        let secrets = KnownSecrets::new().with(token.clone());
        self.retrieve(session, token)
            .await
            .map_err(|err| err.scrub(&secrets))
    }

    /// Verifies a signed Flatpeak webhook (see the crate docs, "Webhooks").
    async fn verify_webhook(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<Event> {
        let config = &self.config.webhooks;
        let now = self.clock.now();
        crate::webhook::verify(config, headers, body, now, |kid| async move {
            self.jwks
                .key(
                    &kid,
                    &self.http,
                    &self.endpoints.jwks,
                    now,
                    config.jwks_refetch_interval,
                )
                .await
        })
        .await
    }
}

impl FlatpeakProvider {
    /// Retrieves the Connect session of `token` and reads the outcome from it.
    async fn retrieve(&self, session: &PendingSession, token: &SecretString) -> Result<Connection> {
        // Retrieving claims the session (single use): a retrieve that may have reached
        // Flatpeak is not resent blindly.
        let response = self
            .send_authorized(Operation::Complete, Idempotency::NotIdempotent, &|client| {
                self.endpoints.retrieve.request(client, token)
            })
            .await?;
        outcome_of(session, &response, token)
    }
}

/// A busbar create answer: the session's token (its `id`), lifetime and mode.
pub(crate) fn session_created(
    response: &Response,
    now: std::time::SystemTime,
) -> Result<(SecretString, Duration, Option<bool>)> {
    // The token is the session's `id`, a key no redaction rule knows: read it first, so a
    // decode error about any other field cannot show it.
    let id = SessionId::of(response.body());
    let created: SessionCreated =
        response.json_scrubbing(crate::NAME, Operation::CreateToken, &id.as_slice())?;
    let lifetime = lifetime_until(&created.time_expiry, now)?;
    Ok((created.id, lifetime, created.live_mode))
}

/// How long from `now` until `time_expiry` (RFC 3339, UTC), the lifetime of a busbar session.
fn lifetime_until(time_expiry: &str, now: std::time::SystemTime) -> Result<Duration> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Unexpected,
            Operation::CreateToken,
            why.to_owned(),
        )
        .with_provider(crate::NAME)
    };
    let expiry = humantime::parse_rfc3339(time_expiry)
        .map_err(|_| bad("Flatpeak's `time_expiry` is not an RFC 3339 UTC time"))?;
    match expiry.duration_since(now) {
        Ok(lifetime) if !lifetime.is_zero() => Ok(lifetime),
        _ => Err(bad(
            "Flatpeak created a Connect session that has already expired (`time_expiry` is past)",
        )),
    }
}

/// What a successful retrieve answer says about the flow.
pub(crate) fn outcome_of(
    session: &PendingSession,
    response: &Response,
    token: &SecretString,
) -> Result<Connection> {
    // The answer echoes the token as `id`: keep it out of any decode error.
    let retrieved: SessionResponse =
        response.json_scrubbing(crate::NAME, Operation::Complete, &[token])?;
    if retrieved.object.as_deref() == Some("error") {
        let body: ErrorBody = serde_json::from_slice(response.body()).unwrap_or_default();
        let code = body.code.as_deref().or(body.error_type.as_deref());
        return Err(vendor_error(
            response,
            crate::NAME,
            Operation::Complete,
            ErrorKind::Unexpected,
            "Flatpeak answered 200 OK with an error body",
            Some((code, body.message.as_deref())),
        ));
    }
    let connection = connection_from(session, retrieved, &KnownSecrets::new().with(token.clone()))?;
    // Ids are shown and stored as plain text: one that carries the token is an echo, not an id.
    let token = token.expose_secret();
    let echoed = connection
        .vendor_ids()
        .values()
        .any(|id| id.contains(token));
    if echoed {
        return Err(Error::new(
            ErrorKind::Unexpected,
            Operation::Complete,
            "Flatpeak answered with an id that carries the connect token",
        )
        .with_provider(crate::NAME));
    }
    Ok(connection)
}

/// The callback's connect token, checked against the flow's: missing means the user came back
/// without a session; another token means a callback that is not this flow's.
fn flow_token<'a>(session: &PendingSession, callback: &'a Callback) -> Result<&'a SecretString> {
    let token = callback.param(CALLBACK_TOKEN_PARAM).ok_or_else(|| {
        Error::new(
            ErrorKind::Cancelled,
            Operation::Complete,
            "the user came back without a Connect session (no `fp_cot` on the callback)",
        )
        .with_provider(crate::NAME)
    })?;
    // Constant-time, and before any request: a forged callback costs Flatpeak nothing.
    if !session.token_digest.matches(&Digest::of_secret(token)) {
        return Err(Error::new(
            ErrorKind::InvalidCode,
            Operation::Complete,
            "the callback's `fp_cot` is not the token issued for this flow",
        )
        .with_provider(crate::NAME));
    }
    Ok(token)
}

/// Turns a retrieved session into the flow's outcome.
fn connection_from(
    session: &PendingSession,
    retrieved: SessionResponse,
    secrets: &KnownSecrets,
) -> Result<Connection> {
    let outcome = |kind, message: &str, action: &str| {
        Error::new(kind, Operation::Complete, message)
            .with_provider(crate::NAME)
            .with_vendor_code(action.to_owned())
    };
    match retrieved.complete_action.as_deref() {
        Some("CLOSE") => {
            return Err(outcome(
                ErrorKind::Cancelled,
                "the user closed Flatpeak Connect without connecting a tariff",
                "CLOSE",
            ));
        }
        Some("DISCONNECT") => {
            return Err(outcome(
                ErrorKind::Disconnected,
                "the user disconnected the tariff in Flatpeak Connect",
                "DISCONNECT",
            ));
        }
        Some("SAVE") => {}
        None | Some("") if retrieved.location_id.is_some() => {}
        None | Some("") => {
            return Err(outcome(
                ErrorKind::Cancelled,
                "the Connect session ended without a connected location",
                "",
            ));
        }
        Some(other) => {
            // The action is vendor text: it goes where vendor text is bounded and sanitized.
            return Err(Error::new(
                ErrorKind::Unexpected,
                Operation::Complete,
                "Flatpeak reported an undocumented complete_action",
            )
            .with_provider(crate::NAME)
            .with_vendor_text(Some(other), None, secrets));
        }
    }
    let ready = retrieved
        .tariff_available
        .or(retrieved.is_tariff_processed)
        .or(retrieved.data_available)
        .unwrap_or(false);
    let mode = match retrieved.live_mode {
        Some(true) => Mode::Live,
        Some(false) => Mode::Test,
        None => Mode::Unknown,
    };
    let mut connection = Connection::new(crate::NAME, session.user_id.clone())
        .with_data_status(if ready {
            DataStatus::Ready
        } else {
            DataStatus::Pending
        })
        .with_mode(mode);
    for (name, id) in [
        ("customer_id", retrieved.customer_id),
        ("customer_reference_id", retrieved.customer_reference_id),
        ("location_id", retrieved.location_id),
        ("location_reference_id", retrieved.location_reference_id),
        ("device_id", retrieved.device_id),
        ("provider_id", retrieved.provider_id),
    ] {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            connection = connection.with_vendor_id(name, id);
        }
    }
    Ok(connection)
}
