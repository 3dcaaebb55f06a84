//! The app-facing API: [`Connector::start`] and [`Connector::finish`], the same for every
//! vendor.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tracing::Instrument as _;
use url::Url;

use crate::callback::Callback;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, ErrorKind, ErrorStatus, Operation, Result};
use crate::flow::{Connection, Options, PendingSession, TokenRequest};
use crate::provider::{Capability, ConnectProvider};
use crate::redact::KnownSecrets;
use crate::registry::{self, BuildContext, ProviderDescriptor};
use crate::single_flight::SingleFlight;
use crate::state::{Digest, State};
use crate::store::{InMemorySessionStore, SessionStore};
use crate::webhook::{EVENT_ID_RETENTION, Event, EventStore, InMemoryEventStore};

/// The vendor's hosted page for one flow. It carries the connect token (and the state), so
/// `Debug` and `Display` redact them; use [`expose`](Self::expose) for the redirect.
///
/// ```
/// let url = utilconnect::Url::parse("https://connect.pelm.com/?connect_token=tok_1&state=s")?;
/// let connect_url = utilconnect::ConnectUrl::new(url);
/// assert_eq!(
///     connect_url.to_string(),
///     "https://connect.pelm.com/?connect_token=[REDACTED]&state=[REDACTED]",
/// );
/// assert!(connect_url.expose().as_str().contains("tok_1"));
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectUrl {
    url: Url,
    secret_params: &'static [&'static str],
}

impl ConnectUrl {
    /// Wraps a connect URL; `state` and parameters with a [secret
    /// name](crate::redact::is_secret_key) are redacted when shown.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            secret_params: &[],
        }
    }

    /// Also redacts these parameters when shown (a provider's
    /// [`secret_params`](crate::ProviderDescriptor::secret_params)).
    ///
    /// ```
    /// let url = utilconnect::Url::parse("https://connect.example/?ticket=t1&lang=en")?;
    /// let shown = utilconnect::ConnectUrl::new(url).with_secret_params(&["ticket"]);
    /// assert_eq!(shown.to_string(), "https://connect.example/?ticket=[REDACTED]&lang=en");
    /// # Ok::<(), url::ParseError>(())
    /// ```
    pub fn with_secret_params(mut self, names: &'static [&'static str]) -> Self {
        self.secret_params = names;
        self
    }

    /// The full URL, token included: send the browser here, do not log it.
    pub fn expose(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for ConnectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let mut shown = self.url.clone();
        let query: Vec<String> = self
            .url
            .query_pairs()
            .map(|(k, v)| {
                let secret = k == "state"
                    || crate::redact::is_secret_key(&k)
                    || self.secret_params.contains(&k.as_ref());
                let v = if secret {
                    crate::redact::REDACTED.to_owned()
                } else {
                    encode(&v)
                };
                format!("{}={v}", encode(&k))
            })
            .collect();
        if !query.is_empty() {
            shown.set_query(Some(&query.join("&")));
        }
        f.write_str(shown.as_str())
    }
}

impl fmt::Debug for ConnectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectUrl({self})")
    }
}

/// What [`Connector::start`] returns: where to send the user.
#[derive(Debug, Clone)]
pub struct Started {
    /// The vendor's hosted page; redirect the user's browser to `connect_url.expose()`.
    pub connect_url: ConnectUrl,
    /// The flow's CSRF state. Apps that bind flows to a browser session (a cookie) keep it and
    /// compare it with the callback's; the [`Connector`] already checks it against its store.
    pub state: State,
    /// When the flow can no longer be finished.
    pub expires_at: SystemTime,
}

/// Runs Connect flows through one provider, chosen in code or by config.
///
/// `start` creates the state and the vendor token and remembers a [`PendingSession`];
/// `finish` parses the callback, takes the session (so a callback works once), checks the
/// state and expiry, and completes the link. A temporary failure in `finish` puts the session
/// back, so the same callback URL can be finished again later.
///
/// ```
/// # use utilconnect::*;
/// # use async_trait::async_trait;
/// # use url::Url;
/// # #[derive(Debug)] struct Echo;
/// # #[async_trait] impl ConnectProvider for Echo {
/// #   fn descriptor(&self) -> &'static ProviderDescriptor {
/// #     fn build(_: &ProviderConfig, _: &BuildContext) -> Result<std::sync::Arc<dyn ConnectProvider>> { unimplemented!() }
/// #     const ECHO: ProviderDescriptor = ProviderDescriptor::new("echo", "", &[], build, "doc");
/// #     &ECHO }
/// #   async fn create_token(&self, _: &TokenRequest) -> Result<ConnectToken> {
/// #     Ok(ConnectToken::new("tok".into(), std::time::Duration::from_secs(60))) }
/// #   fn connect_url(&self, t: &TokenRequest, _: &ConnectToken) -> Result<Url> {
/// #     let mut u = t.callback_url().clone(); u.query_pairs_mut().append_pair("state", t.state().as_str()); Ok(u) }
/// #   async fn complete(&self, s: &PendingSession, _: &Callback) -> Result<Connection> { Ok(Connection::new("echo", s.user_id.clone())) }
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Usually: Connector::from_config(&Config::load()?)?
/// let connector = Connector::new(std::sync::Arc::new(Echo));
///
/// // 1. On your server, when the user clicks "Connect":
/// let started = connector.start("user-42", "https://app.example/callback").await?;
/// // ... redirect the browser to `started.connect_url.expose()` ...
///
/// // 2. When the vendor sends the browser back to your callback route:
/// let callback_url = started.connect_url.expose().as_str(); // (Echo sends it straight back)
/// let connection = connector.finish(callback_url).await?;
/// assert_eq!(connection.user_id(), "user-42");
///
/// // A callback works once.
/// let replay = connector.finish(callback_url).await.unwrap_err();
/// assert_eq!(replay.kind(), ErrorKind::StateMismatch);
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Connector {
    provider: Arc<dyn ConnectProvider>,
    store: Arc<dyn SessionStore>,
    events: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    options: Options,
    callback_urls: Arc<LastParsed>,
    refreshes: Arc<SingleFlight<Digest, Connection, Error>>,
}

/// How long a successful refresh answers further refreshes of the same old credentials
/// (see [`Connector::refresh`]).
pub const REFRESH_REUSE: std::time::Duration = std::time::Duration::from_secs(60);

/// The callback URL `start` parsed last. Apps send every flow back to the same URL, and
/// parsing it (its host goes through IDNA) cost more than the rest of `start`'s own work.
#[derive(Default)]
struct LastParsed(Mutex<Option<(String, Url)>>);

impl LastParsed {
    fn parse(&self, text: &str) -> std::result::Result<Url, url::ParseError> {
        let last = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, url)) = last().as_ref() {
            if seen == text {
                return Ok(url.clone());
            }
        }
        let url = Url::parse(text)?;
        *last() = Some((text.to_owned(), url.clone()));
        Ok(url)
    }
}

impl Connector {
    /// A connector for `provider` with an in-memory session store and the system clock.
    pub fn new(provider: Arc<dyn ConnectProvider>) -> Self {
        Self::builder(provider).build()
    }

    /// A builder to choose the store, the clock and default token options.
    pub fn builder(provider: Arc<dyn ConnectProvider>) -> ConnectorBuilder {
        ConnectorBuilder {
            provider,
            store: None,
            events: None,
            clock: Arc::new(SystemClock),
            options: Options::new(),
        }
    }

    /// A connector for the provider named in `config`, built from its table.
    ///
    /// ```
    /// let config = utilconnect::Config::from_toml_str(r#"provider = "nobody""#)?;
    /// let err = utilconnect::Connector::from_config(&config).unwrap_err();
    /// assert_eq!(err.kind(), utilconnect::ErrorKind::Config);
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn from_config(config: &Config) -> Result<Self> {
        Ok(Self::builder_from_config(config)?.build())
    }

    /// A builder for the provider named in `config`, built from its table: to choose the
    /// store, clock or default options of a connector whose provider config chooses.
    ///
    /// ```
    /// let config = utilconnect::Config::from_toml_str(r#"provider = "nobody""#)?;
    /// let err = utilconnect::Connector::builder_from_config(&config).unwrap_err();
    /// assert!(err.to_string().contains("unknown provider `nobody`"), "{err}");
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn builder_from_config(config: &Config) -> Result<ConnectorBuilder> {
        Self::builder_from_config_with(config, &BuildContext::default())
    }

    /// Like [`builder_from_config`](Self::builder_from_config), with the provider built within
    /// `context` and the connector on the context's clock: one clock for both.
    pub fn builder_from_config_with(
        config: &Config,
        context: &BuildContext,
    ) -> Result<ConnectorBuilder> {
        let name = config.provider_name()?;
        // The chosen table first (`build_with` reports all it lacks), then typos in the others.
        let provider =
            registry::provider(name)?.build_with(&config.provider_config(name), context)?;
        config.check_provider_tables()?;
        let store =
            crate::store::session_store_from_config(&config.session_store_config(), context)?;
        Ok(Self::builder(provider)
            .clock(context.clock().clone())
            .store(store))
    }

    /// The provider in use.
    pub fn provider(&self) -> &Arc<dyn ConnectProvider> {
        &self.provider
    }

    /// Starts a flow for `user_id` that will come back to `callback_url`.
    pub async fn start(&self, user_id: &str, callback_url: &str) -> Result<Started> {
        self.start_with(user_id, callback_url, Options::new()).await
    }

    /// Starts a flow with vendor-specific `options` (merged over the connector's defaults).
    pub async fn start_with(
        &self,
        user_id: &str,
        callback_url: &str,
        options: Options,
    ) -> Result<Started> {
        let name = self.provider.descriptor().name();
        let span = tracing::info_span!("utilconnect.start", provider = name);
        async {
            let callback_url = self.callback_urls.parse(callback_url).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    Operation::CreateToken,
                    format!("`callback_url` is not a valid URL: {e}"),
                )
                .with_provider(name)
            })?;
            reject_reserved_params(&callback_url, self.provider.descriptor())?;
            let mut merged = self.options.clone();
            merged.extend(options);
            let request = TokenRequest::new(user_id, callback_url, State::generate()?)
                .map_err(|e| e.with_provider(name))?
                .with_options(merged);
            let token = self.provider.create_token(&request).await?;
            let connect_url = self.provider.connect_url(&request, &token)?;
            let session = PendingSession::new(name, &request, &token, self.clock.now());
            let expires_at = session.expires_at;
            self.store
                .put(session)
                .await
                .map_err(|e| e.with_provider(name))?;
            tracing::info!(expires_in_s = token.lifetime().as_secs(), "flow started");
            Ok(Started {
                connect_url: ConnectUrl::new(connect_url)
                    .with_secret_params(self.provider.descriptor().secret_params()),
                state: request.state().clone(),
                expires_at,
            })
        }
        .instrument(span)
        .await
    }

    /// Whether the provider offers `capability` (an optional operation such as
    /// [`Capability::Refresh`](crate::Capability::Refresh), or a page feature).
    pub fn supports(&self, capability: Capability) -> bool {
        self.provider.descriptor().supports(capability)
    }

    /// Renews the credentials of `connection` with the vendor, for providers that offer
    /// [`Capability::Refresh`](crate::Capability::Refresh): the same link with new
    /// credentials (keep it in place of the old one: the vendor may have rotated the refresh
    /// token). For the others, an [`ErrorKind::Unsupported`] error before anything is sent.
    ///
    /// Concurrent refreshes of one connection (the same refresh token) through this
    /// connector or its clones make one vendor call, and all get its result; so do refreshes
    /// of the same old credentials for [`REFRESH_REUSE`] after it succeeded (the vendor may
    /// have retired the old refresh token, and a second request that read the connection
    /// before the first saved its renewal would otherwise be refused). A grant the vendor no
    /// longer honours fails with [`ErrorKind::ReauthorizationRequired`].
    pub async fn refresh(&self, connection: &Connection) -> Result<Connection> {
        self.require(Capability::Refresh)?;
        let refresh_token = connection
            .credentials()
            .and_then(|c| c.refresh_token.as_ref());
        let Some(refresh_token) = refresh_token else {
            return self.provider.refresh(connection).await;
        };
        let name = self.provider.descriptor().name();
        let span = tracing::info_span!("utilconnect.refresh", provider = name);
        self.refreshes
            .run(Digest::of_secret(refresh_token), self.clock.now(), || {
                self.provider.refresh(connection).instrument(span)
            })
            .await
    }

    /// Ends the app's access through `connection` at the vendor, for providers that offer
    /// [`Capability::Revoke`](crate::Capability::Revoke); for the others, an
    /// [`ErrorKind::Unsupported`] error before anything is sent.
    pub async fn revoke(&self, connection: &Connection) -> Result<()> {
        self.require(Capability::Revoke)?;
        self.provider.revoke(connection).await
    }

    /// Verifies a webhook the vendor sent (its headers and its raw body, bytes as received:
    /// read the body before any JSON parsing) and reads it into an [`Event`], for providers
    /// that offer [`Capability::Webhooks`](crate::Capability::Webhooks). Works with any web
    /// framework: it needs only an `http::HeaderMap` and bytes.
    ///
    /// A redelivered event comes back with [`Event::is_duplicate`]: acknowledge it (2xx) and
    /// do not act on it twice. A request that fails verification is an
    /// [`ErrorKind::WebhookRejected`] error naming the check
    /// ([`Error::webhook_check`]): answer 4xx; nothing from the body is in the error.
    pub async fn webhook(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<Event> {
        self.require(Capability::Webhooks)?;
        let name = self.provider.descriptor().name();
        let span = tracing::info_span!("utilconnect.webhook", provider = name);
        async {
            let event = self
                .provider
                .verify_webhook(headers, body)
                .await
                .map_err(|e| e.with_provider(name))?;
            let seen = self
                .events
                .seen(name, event.id(), EVENT_ID_RETENTION)
                .await
                .map_err(|e| e.with_provider(name))?;
            tracing::info!(kind = ?event.kind(), duplicate = seen, "webhook verified");
            Ok(event.marked_duplicate(seen))
        }
        .instrument(span)
        .await
    }

    fn require(&self, capability: Capability) -> Result<()> {
        match capability.operation() {
            Some(operation) if !self.supports(capability) => Err(crate::provider::unsupported(
                self.provider.descriptor(),
                operation,
            )),
            _ => Ok(()),
        }
    }

    /// Finishes the flow the vendor's redirect to `callback_url` belongs to.
    ///
    /// `callback_url` may be absolute or the request target your web framework saw
    /// (`/callback?code=…&state=…`).
    ///
    /// The session is consumed only once the callback has passed every check that needs no
    /// vendor call (state, expiry, an `error` parameter, the provider's
    /// [`check_callback`](ConnectProvider::check_callback)): a forged callback that carries a
    /// real state leaves the real flow untouched. After the vendor call, the session is put
    /// back only when finishing can still succeed. The error's
    /// [`status_of_call`](Error::status_of_call) says which: `Temporary` (finish the same
    /// callback again later), `CallbackRefused` (the flow waits for its real callback) or
    /// `Permanent` (the flow is over, e.g. a single-use exchange that timed out after it was
    /// sent: start a new one). No code or token from the callback appears in an error.
    pub async fn finish(&self, callback_url: &str) -> Result<Connection> {
        let name = self.provider.descriptor().name();
        let span = tracing::info_span!("utilconnect.finish", provider = name);
        async {
            let callback = Callback::parse(callback_url).map_err(|e| e.with_provider(name))?;
            let secrets = callback.known_secrets(self.provider.descriptor());
            self.finish_callback(&callback, &secrets)
                .await
                .map_err(|e| e.scrub(&secrets))
        }
        .instrument(span)
        .await
    }

    /// `finish` for a parsed callback whose secret values are `secrets`.
    async fn finish_callback(
        &self,
        callback: &Callback,
        secrets: &KnownSecrets,
    ) -> Result<Connection> {
        let name = self.provider.descriptor().name();
        let session = self.find_session(callback, secrets).await?;
        // Refused before the session is consumed: the flow is intact for its real callback.
        let refused = |err: Error| err.with_status_of_call(ErrorStatus::CallbackRefused);
        if let Some(cancelled) = callback.vendor_error(secrets) {
            tracing::info!("user did not connect");
            return Err(refused(cancelled.with_provider(name)));
        }
        self.provider
            .check_callback(&session, callback)
            .map_err(refused)?;
        let session = self.claim(&session.state_digest).await?;
        match self.provider.complete(&session, callback).await {
            Ok(connection) => {
                tracing::info!("flow finished");
                Ok(connection)
            }
            Err(err)
                if matches!(
                    err.status_of_call(),
                    ErrorStatus::Temporary | ErrorStatus::CallbackRefused
                ) =>
            {
                match self.store.put(session).await {
                    Ok(()) => {
                        tracing::info!(kind = %err.kind(), "session kept: the flow can still be finished");
                        Err(err)
                    }
                    Err(store) => {
                        // The status promised a kept session: it is gone, so the flow is over.
                        tracing::warn!(%store, "could not keep the session");
                        Err(err.with_status_of_call(ErrorStatus::Permanent))
                    }
                }
            }
            Err(err) => Err(err),
        }
    }

    /// The session the callback's state names, checked but not consumed.
    async fn find_session(
        &self,
        callback: &Callback,
        secrets: &KnownSecrets,
    ) -> Result<PendingSession> {
        let name = self.provider.descriptor().name();
        let Some(raw_state) = callback.state() else {
            // A vendor may send an abandoned flow back without our state; its error still
            // tells the app what happened.
            if let Some(cancelled) = callback.vendor_error(secrets) {
                return Err(cancelled.with_provider(name));
            }
            return Err(self.mismatch("the callback carries no `state`"));
        };
        let digest = State::parse(raw_state)
            .map_err(|e| e.with_provider(name))?
            .digest();
        let session = self
            .store
            .get(&digest)
            .await
            .map_err(|e| e.with_provider(name))?
            .ok_or_else(|| {
                self.mismatch("the callback's `state` is unknown, already used, or long expired")
            })?;
        if !session.state_digest.matches(&digest) {
            return Err(self.mismatch("the session store returned another flow's session"));
        }
        if session.provider != name {
            return Err(Error::config(format!(
                "this flow was started with provider `{}` but the connector now uses `{name}`",
                session.provider
            ))
            .with_provider(name));
        }
        if session.is_expired(self.clock.now()) {
            // An expired flow can never finish: drop it now rather than at the store's sweep.
            let _ = self.store.take(&digest).await;
            return Err(Error::new(
                ErrorKind::ExpiredToken,
                Operation::Complete,
                "the flow expired before the user came back; start a new one",
            )
            .with_provider(name));
        }
        Ok(session)
    }

    /// Takes the session for good (atomically, so a callback works once).
    async fn claim(&self, digest: &crate::state::Digest) -> Result<PendingSession> {
        self.store
            .take(digest)
            .await
            .map_err(|e| e.with_provider(self.provider.descriptor().name()))?
            .ok_or_else(|| {
                // Another request holds the session (a double submit, a forged callback
                // mid-call); it may put it back, so this is worth retrying.
                self.mismatch("the callback's `state` is being finished by another request")
                    .with_status_of_call(ErrorStatus::Temporary)
            })
    }

    fn mismatch(&self, message: &str) -> Error {
        Error::new(ErrorKind::StateMismatch, Operation::Complete, message)
            .with_provider(self.provider.descriptor().name())
    }
}

/// Parameters the vendor's redirect adds to the app's callback URL (ours, OAuth's, and the
/// provider's declared ones): an app URL that already carries one would come back with it
/// twice, or with a value the vendor did not send.
const RESERVED_CALLBACK_PARAMS: &[&str] = &["state", "code", "error", "error_description"];

fn reject_reserved_params(callback_url: &Url, provider: &ProviderDescriptor) -> Result<()> {
    let reserved = callback_url.query_pairs().find(|(name, _)| {
        RESERVED_CALLBACK_PARAMS.contains(&name.as_ref())
            || provider.secret_params().contains(&name.as_ref())
    });
    match reserved {
        Some((name, _)) => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::CreateToken,
            format!(
                "`callback_url` must not carry its own `{}` parameter: the vendor's redirect adds it",
                crate::redact::sanitize(&name, 64)
            ),
        )
        .with_provider(provider.name())),
        None => Ok(()),
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("provider", &self.provider.descriptor().name())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Connector`]; see [`Connector::builder`].
pub struct ConnectorBuilder {
    provider: Arc<dyn ConnectProvider>,
    store: Option<Arc<dyn SessionStore>>,
    events: Option<Arc<dyn EventStore>>,
    clock: Arc<dyn Clock>,
    options: Options,
}

impl fmt::Debug for ConnectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorBuilder")
            .field("provider", &self.provider.descriptor().name())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl ConnectorBuilder {
    /// Uses `events` to recognise redelivered webhooks (default: in memory, this process
    /// only; give instances behind one load balancer a shared one).
    pub fn event_store(mut self, events: Arc<dyn EventStore>) -> Self {
        self.events = Some(events);
        self
    }

    /// Keeps pending sessions in `store` (default: an [`InMemorySessionStore`]).
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `clock` for expiry checks (tests and sandboxes use a
    /// [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Vendor options sent with every token unless a `start_with` call overrides them.
    pub fn default_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The connector.
    pub fn build(self) -> Connector {
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(InMemorySessionStore::with_clock(self.clock.clone())));
        let events = self
            .events
            .unwrap_or_else(|| Arc::new(InMemoryEventStore::with_clock(self.clock.clone())));
        Connector {
            provider: self.provider,
            store,
            events,
            clock: self.clock,
            options: self.options,
            callback_urls: Arc::default(),
            refreshes: Arc::new(SingleFlight::new(REFRESH_REUSE)),
        }
    }
}

#[cfg(test)]
mod tests;
