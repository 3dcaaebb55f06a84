//! [`GreenButtonProvider`]: the OAuth 2.0 authorization code grant of Green Button Connect
//! My Data behind [`ConnectProvider`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::form_urlencoded;
use utilconnect::http::{HttpClient, Idempotency, Response};
use utilconnect::redact::KnownSecrets;
use utilconnect::{
    AccessCredentials, Callback, Capability, Clock, ConnectProvider, ConnectToken, Connection,
    DataStatus, Error, ErrorKind, FromConfig, Operation, PendingSession, ProviderConfig, Result,
    State, SystemClock, TokenRequest, Url,
};

use crate::config::{CustodianConfig, GreenButtonConfig};
use crate::errors::{Grant, map_error};
use crate::scope::Scope;
use crate::wire::TokenResponse;

/// What this provider supports (its descriptor declares it).
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability::AccessCredentials,
    Capability::UserCancel,
    Capability::CredentialRetry,
    Capability::LocalToken,
    Capability::Refresh,
];

/// Per-flow options (`Connector::start_with`): `custodian` picks the utility, `scope` narrows
/// the configured scope.
pub const OPTION_KEYS: &[&str] = &["custodian", "scope"];

/// Names of the connection's vendor ids.
pub mod ids {
    /// The custodian (utility) id from config.
    pub const CUSTODIAN: &str = "custodian";
    /// The scope granted.
    pub const SCOPE: &str = "scope";
    /// ESPI `resourceURI`: where the granted data is read.
    pub const RESOURCE_URI: &str = "resource_uri";
    /// ESPI `authorizationURI`: the Authorization resource describing the grant.
    pub const AUTHORIZATION_URI: &str = "authorization_uri";
}

/// Longest URI kept from a token response.
const MAX_URI_CHARS: usize = 2048;

/// Green Button Connect My Data, for one or more Data Custodians.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_json("greenbutton", serde_json::json!({
///     "custodians": {"sandbox-electric": {
///         "authorize_url": "https://utility.example/oauth2/authorize",
///         "token_url": "https://utility.example/oauth2/token",
///         "client_id": "my-client", "client_secret": "my-secret",
///         "scope": "FB=4_5_15;IntervalDuration=3600",
///     }},
/// }));
/// use utilconnect::FromConfig;
/// let provider = utilconnect_greenbutton::GreenButtonProvider::from_config(&table)?;
/// use utilconnect::ConnectProvider;
/// assert_eq!(provider.descriptor().name(), "greenbutton");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug)]
pub struct GreenButtonProvider {
    config: GreenButtonConfig,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl GreenButtonProvider {
    /// Builds the provider from a checked configuration.
    pub fn new(config: GreenButtonConfig) -> Result<Self> {
        config.validate()?;
        let secrets = config
            .custodians
            .values()
            .fold(KnownSecrets::new(), |secrets, c| {
                secrets.with(c.client_secret.clone())
            });
        let http = HttpClient::new(crate::NAME, config.http.clone())?.with_known_secrets(secrets);
        Ok(Self {
            config,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &GreenButtonConfig {
        &self.config
    }

    /// The custodian and scope of a flow: from its options, else the configured defaults.
    fn flow_choice<'a>(
        &'a self,
        request: &TokenRequest,
    ) -> Result<(&'a str, &'a CustodianConfig, Scope)> {
        request
            .reject_unknown_options(OPTION_KEYS, "Green Button")
            .map_err(|e| e.with_provider(crate::NAME))?;
        let text = |key: &str| {
            request
                .option_str(key, "Green Button")
                .map_err(|e| e.with_provider(crate::NAME))
        };
        let (id, custodian) = self
            .config
            .custodian(text("custodian")?)
            .map_err(|e| invalid_option(format!("option `custodian`: {}", e.message())))?;
        let scope = match text("scope")? {
            None => custodian.scope.clone(),
            Some(asked) => {
                let scope: Scope = asked
                    .parse()
                    .map_err(|e| invalid_option(format!("option `scope`: {e}")))?;
                if !scope.narrows(&custodian.scope) {
                    return Err(invalid_option(format!(
                        "option `scope` asks for more than custodian `{id}` is configured for \
                         (`{}`): a flow may only narrow it",
                        custodian.scope
                    )));
                }
                scope
            }
        };
        Ok((id, custodian, scope))
    }

    /// The custodian a pending flow or a connection was made with.
    fn custodian_named(&self, id: Option<&str>, operation: Operation) -> Result<&CustodianConfig> {
        let id = id.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                operation,
                "this flow or connection does not say which Data Custodian it belongs to",
            )
            .with_provider(crate::NAME)
        })?;
        self.config.custodians.get(id).ok_or_else(|| {
            Error::config(format!(
                "Data Custodian `{}` of this flow or connection is no longer configured",
                utilconnect::redact::sanitize(id, 64)
            ))
            .with_provider(crate::NAME)
        })
    }

    /// `POST <token_url>` with HTTP Basic client authentication and `form`.
    async fn token_call(
        &self,
        custodian: &CustodianConfig,
        grant: Grant,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse> {
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
        let id: String = form_urlencoded::byte_serialize(custodian.client_id.as_bytes()).collect();
        let secret: String =
            form_urlencoded::byte_serialize(custodian.client_secret.expose_secret().as_bytes())
                .collect();
        let url = custodian.token_url.url();
        // A code and a rotating refresh token are single use: never resent once they may
        // have reached the utility.
        let response: Response = self
            .http
            .send(grant.operation(), Idempotency::NotIdempotent, |client| {
                client
                    .post(url.clone())
                    .basic_auth(&id, Some(&secret))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .form(form)
            })
            .await?;
        if !response.status().is_success() {
            return Err(map_error(&response, grant));
        }
        let body: TokenResponse = response.json(crate::NAME, grant.operation())?;
        if !body.token_type.eq_ignore_ascii_case("bearer") {
            return Err(Error::new(
                ErrorKind::Unexpected,
                grant.operation(),
                format!(
                    "the utility issued a `{}` token; Green Button uses Bearer tokens",
                    utilconnect::redact::sanitize(&body.token_type, 32)
                ),
            )
            .with_provider(crate::NAME));
        }
        Ok(body)
    }

    /// The credentials in a token answer, dated on the provider's clock; `previous` is the
    /// refresh token to keep when the utility does not rotate it.
    fn credentials(
        &self,
        body: &TokenResponse,
        previous: Option<&SecretString>,
    ) -> AccessCredentials {
        let now: SystemTime = self.clock.now();
        let mut credentials = AccessCredentials::new(body.access_token.clone());
        credentials.access_expires_at = body
            .expires_in
            .and_then(|s| now.checked_add(Duration::from_secs(s)));
        credentials.refresh_token = body.refresh_token.clone().or_else(|| previous.cloned());
        credentials
    }
}

/// Adds the ESPI fields of a token answer to `connection`. A URI that is not a URL is left
/// out (and logged) rather than failing a link the utility has already made.
fn with_grant_ids(mut connection: Connection, body: &TokenResponse) -> Connection {
    if let Some(scope) = &body.scope {
        match scope.parse::<Scope>() {
            Ok(scope) => connection = connection.with_vendor_id(ids::SCOPE, scope.as_str()),
            Err(e) => {
                tracing::warn!(%e, "the utility's granted scope is malformed; keeping the requested one")
            }
        }
    }
    for (name, uri) in [
        (ids::RESOURCE_URI, &body.resource_uri),
        (ids::AUTHORIZATION_URI, &body.authorization_uri),
    ] {
        let Some(uri) = uri else { continue };
        match Url::parse(uri) {
            Ok(url) if uri.len() <= MAX_URI_CHARS && matches!(url.scheme(), "https" | "http") => {
                connection = connection.with_vendor_id(name, url.as_str());
            }
            _ => tracing::warn!(
                field = name,
                "the utility sent a URI that is not an http(s) URL; left out"
            ),
        }
    }
    connection
}

/// The callback's code. A callback with neither `code` nor `error` is not a redirect the
/// utility makes.
fn code_of(callback: &Callback) -> Result<&SecretString> {
    callback
        .required_code(
            ErrorKind::InvalidCode,
            "the callback carries neither `code` nor `error`",
        )
        .map_err(|e| e.with_provider(crate::NAME))
}

/// A refused flow option, attributed to this provider.
fn invalid_option(message: String) -> Error {
    Error::invalid_option(message).with_provider(crate::NAME)
}

impl FromConfig for GreenButtonProvider {
    /// Builds the provider from its `[providers.greenbutton]` table.
    fn from_config(table: &ProviderConfig) -> Result<Self> {
        Self::new(GreenButtonConfig::from_table(table)?)
    }

    /// Reads time from `clock` (the expiries it computes), e.g. a sandbox's.
    fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl ConnectProvider for GreenButtonProvider {
    fn descriptor(&self) -> &'static utilconnect::ProviderDescriptor {
        &crate::DESCRIPTOR
    }

    /// No vendor call: the grant starts at the authorization endpoint. The "token" is a
    /// random value that never leaves the app; the flow's custodian and scope ride along as
    /// session data.
    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
        let (id, _, scope) = self.flow_choice(request)?;
        let nonce = State::generate()?;
        Ok(
            ConnectToken::new(nonce.as_str().to_owned().into(), self.config.authorize_ttl)
                .with_data(ids::CUSTODIAN, id)
                .with_data(ids::SCOPE, scope.as_str()),
        )
    }

    fn connect_url(&self, request: &TokenRequest, token: &ConnectToken) -> Result<Url> {
        let data = |key: &str| token.data().get(key).and_then(Value::as_str);
        let custodian = self.custodian_named(data(ids::CUSTODIAN), Operation::ConnectUrl)?;
        let scope = data(ids::SCOPE).unwrap_or(custodian.scope.as_str());
        let mut url = custodian.authorize_url.url().clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &custodian.client_id)
            .append_pair("redirect_uri", request.callback_url().as_str())
            .append_pair("scope", scope)
            .append_pair("state", request.state().as_str());
        Ok(url)
    }

    fn check_callback(&self, _session: &PendingSession, callback: &Callback) -> Result<()> {
        code_of(callback).map(drop)
    }

    /// Exchanges the code at the custodian's token endpoint, with the same `redirect_uri`
    /// the flow was started with (RFC 6749 §4.1.3).
    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection> {
        let code = code_of(callback)?;
        let data = |key: &str| session.data.get(key).and_then(Value::as_str);
        let custodian_id = data(ids::CUSTODIAN);
        let custodian = self.custodian_named(custodian_id, Operation::Complete)?;
        let body = self
            .token_call(
                custodian,
                Grant::AuthorizationCode,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.expose_secret()),
                    ("redirect_uri", session.callback_url.as_str()),
                ],
            )
            .await?;
        let requested = data(ids::SCOPE).unwrap_or(custodian.scope.as_str());
        let connection = Connection::new(crate::NAME, session.user_id.clone())
            .with_vendor_id(ids::CUSTODIAN, custodian_id.unwrap_or_default())
            .with_vendor_id(ids::SCOPE, requested)
            .with_credentials(self.credentials(&body, None))
            .with_data_status(DataStatus::Ready);
        Ok(with_grant_ids(connection, &body))
    }

    /// The refresh grant (RFC 6749 §6) at the custodian the connection was made with.
    async fn refresh(&self, connection: &Connection) -> Result<Connection> {
        let custodian =
            self.custodian_named(connection.vendor_id(ids::CUSTODIAN), Operation::Refresh)?;
        let refresh_token = connection
            .credentials()
            .and_then(|c| c.refresh_token.as_ref())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ReauthorizationRequired,
                    Operation::Refresh,
                    "this connection has no refresh token; send the user through Connect again",
                )
                .with_provider(crate::NAME)
            })?;
        let body = self
            .token_call(
                custodian,
                Grant::RefreshToken,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose_secret()),
                ],
            )
            .await?;
        let renewed = connection
            .clone()
            .with_credentials(self.credentials(&body, Some(refresh_token)));
        Ok(with_grant_ids(renewed, &body))
    }
}
