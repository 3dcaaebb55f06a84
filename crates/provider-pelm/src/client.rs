//! [`PelmProvider`]: Pelm's Connect flow behind [`ConnectProvider`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderName;
use secrecy::ExposeSecret;
use serde_json::Value;
use utilconnect::http::{HttpClient, Idempotency, Response};
use utilconnect::redact::KnownSecrets;
use utilconnect::{
    AccessCredentials, Callback, Capability, Clock, ConnectProvider, ConnectToken, Connection,
    DataStatus, Error, ErrorKind, FromConfig, Operation, PendingSession, ProviderConfig, Result,
    SystemClock, TokenRequest, Url,
};

use crate::config::PelmConfig;
use crate::errors::map_error;
use crate::wire::{ConnectTokenResponse, TokenResponse};

/// What this provider supports (its descriptor declares it).
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability::AccessCredentials,
    Capability::DataPending,
    Capability::UserCancel,
    Capability::CredentialRetry,
];

/// `Pelm-Client-Id` (header names are case-insensitive; HTTP/1.1 clients send them lower case).
const CLIENT_ID_HEADER: HeaderName = HeaderName::from_static("pelm-client-id");
/// `Pelm-Secret`.
const SECRET_HEADER: HeaderName = HeaderName::from_static("pelm-secret");

/// Token options Pelm understands (`TokenRequest::options` / `Connector::start_with`).
pub const OPTION_KEYS: &[&str] = &["utility_slug", "utility_id"];

/// Pelm's Connect flow.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_json("pelm", serde_json::json!({
///     "client_id": "my-client", "client_secret": "my-secret",
/// }));
/// use utilconnect::FromConfig;
/// let provider = utilconnect_pelm::PelmProvider::from_config(&table)?;
/// use utilconnect::ConnectProvider;
/// assert_eq!(provider.descriptor().name(), "pelm");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug)]
pub struct PelmProvider {
    config: PelmConfig,
    http: HttpClient,
    /// `api_base_url` + `token_path`, joined once.
    token_url: Url,
    /// `api_base_url` + `exchange_path`, joined once.
    exchange_url: Url,
    clock: Arc<dyn Clock>,
}

impl PelmProvider {
    /// Builds the provider from its configuration.
    pub fn new(config: PelmConfig) -> Result<Self> {
        let http = HttpClient::new(crate::NAME, config.http.clone())?
            .with_known_secrets(KnownSecrets::new().with(config.client_secret.clone()));
        Ok(Self {
            token_url: config.api_base_url.join(&config.token_path),
            exchange_url: config.api_base_url.join(&config.exchange_path),
            config,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    fn with_credentials(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = request.header(CLIENT_ID_HEADER, &self.config.client_id);
        match reqwest::header::HeaderValue::from_str(self.config.client_secret.expose_secret()) {
            Ok(mut secret) => {
                // Keeps it out of reqwest's and hyper's own Debug output.
                secret.set_sensitive(true);
                request.header(SECRET_HEADER, secret)
            }
            // Not a valid header value: send nothing, Pelm answers 401 credentials_invalid.
            Err(_) => request,
        }
    }

    /// The utility fields of the form: from the flow's options, else the configured default.
    fn utility_fields(&self, request: &TokenRequest) -> Result<Vec<(&'static str, String)>> {
        request
            .reject_unknown_options(OPTION_KEYS, "Pelm")
            .map_err(|e| e.with_provider(crate::NAME))?;
        let text = |key: &str| -> Result<Option<String>> {
            // Pelm's utility ids are numbers; a JSON number is fine for one.
            if let (Some(Value::Number(n)), "utility_id") = (request.options().get(key), key) {
                return Ok(Some(n.to_string()));
            }
            request
                .option_str(key, "Pelm")
                .map(|v| v.map(str::to_owned))
                .map_err(|e| e.with_provider(crate::NAME))
        };
        match (text("utility_slug")?, text("utility_id")?) {
            (Some(_), Some(_)) => Err(invalid_option(
                "give Pelm either `utility_slug` or `utility_id`, not both".into(),
            )),
            (Some(slug), None) => Ok(vec![("utility_slug", slug)]),
            (None, Some(id)) => Ok(vec![("utility_id", id)]),
            (None, None) => Ok(self
                .config
                .utility_slug
                .clone()
                .map(|slug| vec![("utility_slug", slug)])
                .unwrap_or_default()),
        }
    }

    async fn post_form(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<Response> {
        let response = self
            .http
            .send(operation, idempotency, |client| {
                self.with_credentials(client.post(url.clone())).form(form)
            })
            .await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(map_error(&response, operation))
        }
    }
}

/// The callback's code: missing means the user left without connecting (Pelm's page sends no
/// `error`); an empty or malformed one cannot be Pelm's.
fn code_of(callback: &Callback) -> Result<&secrecy::SecretString> {
    callback
        .required_code(
            ErrorKind::Cancelled,
            "the user left Pelm Connect without connecting an account (no `code` on the callback)",
        )
        .map_err(|e| e.with_provider(crate::NAME))
}

/// A refused flow option, attributed to this provider.
fn invalid_option(message: String) -> Error {
    Error::invalid_option(message).with_provider(crate::NAME)
}

impl FromConfig for PelmProvider {
    /// Builds the provider from its `[providers.pelm]` table.
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
impl ConnectProvider for PelmProvider {
    fn descriptor(&self) -> &'static utilconnect::ProviderDescriptor {
        &crate::DESCRIPTOR
    }

    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
        let utility = self.utility_fields(request)?;
        let mut form = vec![("user_id", request.user_id())];
        form.extend(utility.iter().map(|(k, v)| (*k, v.as_str())));
        // Creating a second token is harmless, so transient failures are retried.
        let response = self
            .post_form(
                Operation::CreateToken,
                Idempotency::Idempotent,
                &self.token_url,
                &form,
            )
            .await?;
        let body: ConnectTokenResponse = response.json(crate::NAME, Operation::CreateToken)?;
        let lifetime = Duration::from_secs(body.expires_in);
        let mut token = ConnectToken::new(body.connect_token, lifetime);
        for (key, value) in utility {
            token = token.with_data(key, value);
        }
        Ok(token)
    }

    fn connect_url(&self, request: &TokenRequest, token: &ConnectToken) -> Result<Url> {
        let mut url = self.config.connect_base_url.url().clone();
        url.query_pairs_mut()
            .append_pair("redirect_uri", request.callback_url().as_str())
            .append_pair("connect_token", token.secret().expose_secret())
            .append_pair("state", request.state().as_str());
        Ok(url)
    }

    fn check_callback(&self, _session: &PendingSession, callback: &Callback) -> Result<()> {
        code_of(callback).map(drop)
    }

    /// Exchanges the callback's code.
    ///
    /// Limit: Pelm's exchange takes the code alone and answers with tokens alone, so nothing
    /// on the wire says which connect token (and so which `user_id`) a code came from. A code
    /// from one flow sent back with another flow's `state` cannot be told apart here and
    /// links to the second flow's user. What guards against it is the state: keep
    /// [`Started::state`](utilconnect::Started::state) in the user's own browser session
    /// (an HttpOnly cookie) and compare it with the callback's before calling `finish`.
    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection> {
        let code = code_of(callback)?;
        // The code is single-use: never resend the exchange once it may have reached Pelm.
        let response = self
            .post_form(
                Operation::Complete,
                Idempotency::NotIdempotent,
                &self.exchange_url,
                &[("code", code.expose_secret()), ("grant_type", "code")],
            )
            .await?;
        let body: TokenResponse = response.json(crate::NAME, Operation::Complete)?;
        let now = self.clock.now();
        let credentials = AccessCredentials {
            access_token: body.access_token,
            access_expires_at: None, // Pelm: "the access_token will not expire"
            refresh_token: body.refresh_token,
            refresh_expires_at: body
                .refresh_token_expires_in
                .and_then(|s| now.checked_add(Duration::from_secs(s))),
        };
        Ok(Connection::new(crate::NAME, session.user_id.clone())
            .with_credentials(credentials)
            // Pelm answers `data_unavailable` for a few minutes after Connect.
            .with_data_status(DataStatus::Pending))
    }
}
