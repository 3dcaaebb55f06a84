//! [`Hosted`]: one vendor's emulator served on loopback, with everything a [`Sandbox`] is
//! beyond the vendor's own rules written once.
//!
//! A provider crate writes the rules (a [`VendorEmulator`]: its routes, its provider table,
//! its end user) and names the sandbox `pub type MySandbox = Hosted<MyEmulator>;`. Starting,
//! the fault and request-log plumbing, the registry's start function and the `Sandbox` impl
//! come from here.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use async_trait::async_trait;
use axum::Router;
use url::Url;
use utilconnect::{ManualClock, Operation, ProviderConfig, ProviderDescriptor, Result};

use crate::emulator::{EmulatorState, StartSandbox};
use crate::faults::Faults;
use crate::record::RequestLog;
use crate::server::SandboxServer;
use crate::webhook::{SignedRequest, WebhookFault};
use crate::{Route, Sandbox, UserAction, quick_http};

/// One vendor's emulator: its state and rules, apart from serving them.
///
/// Implementations are cheap to clone (clones share state, see
/// [`EmulatorState`](crate::EmulatorState)), because axum handlers take the emulator as
/// their state.
#[async_trait]
pub trait VendorEmulator: Clone + Send + Sync + fmt::Debug + 'static {
    /// What a test may tune (lifetimes, credentials, delays); `Default` is what the registry
    /// starts.
    type Options: Default + fmt::Debug + Send + Sync + 'static;

    /// The vendor's own tables (tokens, codes, page visits), behind the state's lock.
    type Records: Send + 'static;

    /// The descriptor of the provider emulated: its name, and the request headers its
    /// request log keeps ([`recorded_headers`](utilconnect::ProviderDescriptor::recorded_headers)).
    const DESCRIPTOR: &'static ProviderDescriptor;

    /// A fresh emulator on `clock`; issued tokens are named in `log`.
    fn new(options: Self::Options, clock: ManualClock, log: RequestLog) -> Self;

    /// The kit's state under this emulator: options, clock, issuer, records.
    fn state(&self) -> &EmulatorState<Self::Options, Self::Records>;

    /// The vendor's routes, with this emulator as their state.
    fn router(&self) -> Router;

    /// The provider table pointing at the emulator served on `base_url` (without `http`:
    /// [`Hosted`] adds [`quick_http`]).
    fn provider_table(&self, base_url: &Url) -> serde_json::Value;

    /// Every credential, token and code this emulator knows (see
    /// [`Sandbox::known_secrets`]).
    fn known_secrets(&self) -> Vec<String>;

    /// The API route behind `operation` (see [`Sandbox::route`]).
    fn route(&self, operation: Operation) -> Option<Route>;

    /// Plays the end user on the pages served at `base_url` (see [`Sandbox::act`]).
    async fn act(&self, base_url: &Url, connect_url: &Url, action: UserAction) -> Result<Url>;

    /// The last webhook sent, signed again (see [`Sandbox::last_webhook`]).
    fn last_webhook(&self, fault: Option<WebhookFault>) -> Option<SignedRequest> {
        let _ = fault;
        None
    }

    /// Where webhooks go from now on (see [`Sandbox::send_webhooks_to`]).
    fn send_webhooks_to(&self, url: &Url) -> bool {
        let _ = url;
        false
    }

    /// Options every flow needs (see [`Sandbox::flow_options`]).
    fn flow_options(&self) -> utilconnect::Options {
        utilconnect::Options::new()
    }
}

/// A [`VendorEmulator`] served on `127.0.0.1`. Dropping it stops the server.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use async_trait::async_trait;
/// use axum::{Router, routing::get};
/// use utilconnect::{ManualClock, Operation, ProviderDescriptor, Result, Url};
/// use utilconnect_sandbox::{EmulatorState, Hosted, RequestLog, Route, Sandbox, UserAction, VendorEmulator};
///
/// # fn build(_: &utilconnect::ProviderConfig, _: &utilconnect::BuildContext) -> Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> { unimplemented!() }
/// const TOY: ProviderDescriptor = ProviderDescriptor::new("toy", "a toy", &[], build, "doc");
///
/// #[derive(Debug, Clone)]
/// struct Toy(EmulatorState<(), ()>);
///
/// #[async_trait]
/// impl VendorEmulator for Toy {
///     type Options = ();
///     type Records = ();
///     const DESCRIPTOR: &'static ProviderDescriptor = &TOY;
///     fn new(_: (), clock: ManualClock, log: RequestLog) -> Self { Toy(EmulatorState::new((), clock, log)) }
///     fn state(&self) -> &EmulatorState<(), ()> { &self.0 }
///     fn router(&self) -> Router { Router::new().route("/ping", get(|| async { "pong" })) }
///     fn provider_table(&self, base: &Url) -> serde_json::Value {
///         serde_json::json!({ "api_base_url": base.as_str() })
///     }
///     fn known_secrets(&self) -> Vec<String> { Vec::new() }
///     fn route(&self, _: Operation) -> Option<Route> { None }
///     async fn act(&self, _: &Url, url: &Url, _: UserAction) -> Result<Url> { Ok(url.clone()) }
/// }
///
/// let sandbox = Hosted::<Toy>::start().await?;
/// let body = reqwest::get(sandbox.url("/ping")).await.unwrap().text().await.unwrap();
/// assert_eq!(body, "pong");
/// assert_eq!(sandbox.provider_name(), "toy");
/// # Ok::<(), utilconnect::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Hosted<E> {
    server: SandboxServer,
    emulator: E,
}

impl<E: VendorEmulator> Hosted<E> {
    /// Starts an emulator with default options on a free loopback port.
    pub async fn start() -> Result<Self> {
        Self::start_with(E::Options::default(), None).await
    }

    /// Starts an emulator with `options`, on `addr` if given (a fixed loopback port, for a
    /// person clicking through), else on a free loopback port.
    pub async fn start_with(options: E::Options, addr: Option<SocketAddr>) -> Result<Self> {
        let log = RequestLog::recording(E::DESCRIPTOR.recorded_headers());
        let emulator = E::new(options, ManualClock::new(), log.clone());
        let addr = addr.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let server =
            SandboxServer::start_on(addr, emulator.router(), Faults::default(), log).await?;
        Ok(Self { server, emulator })
    }

    /// The vendor's emulator (its state and rules).
    pub fn emulator(&self) -> &E {
        &self.emulator
    }

    /// The options in force.
    pub fn options(&self) -> &E::Options {
        &self.emulator.state().options
    }

    /// `path` on the emulator, e.g. `sandbox.url("/connect/")`.
    pub fn url(&self, path: &str) -> Url {
        let base = self.server.base_url();
        base.join(path).unwrap_or_else(|_| base.clone())
    }
}

#[async_trait]
impl<E: VendorEmulator> Sandbox for Hosted<E> {
    fn provider_name(&self) -> &'static str {
        E::DESCRIPTOR.name()
    }

    fn server(&self) -> &SandboxServer {
        &self.server
    }

    fn provider_config(&self) -> ProviderConfig {
        let mut table = self.emulator.provider_table(self.server.base_url());
        if let Some(object) = table.as_object_mut() {
            object.insert("http".to_owned(), quick_http());
        }
        ProviderConfig::from_json(E::DESCRIPTOR.name(), table)
    }

    fn known_secrets(&self) -> Vec<String> {
        self.emulator.known_secrets()
    }

    fn clock(&self) -> &ManualClock {
        &self.emulator.state().clock
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        self.emulator.route(operation)
    }

    fn last_webhook(&self, fault: Option<WebhookFault>) -> Option<SignedRequest> {
        self.emulator.last_webhook(fault)
    }

    fn send_webhooks_to(&self, url: &Url) -> bool {
        self.emulator.send_webhooks_to(url)
    }

    fn flow_options(&self) -> utilconnect::Options {
        self.emulator.flow_options()
    }

    async fn act(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        self.emulator
            .act(self.server.base_url(), connect_url, action)
            .await
            .map_err(|e| e.with_provider(E::DESCRIPTOR.name()))
    }
}

#[async_trait]
impl<E: VendorEmulator> StartSandbox for Hosted<E> {
    async fn start_default(addr: Option<SocketAddr>) -> Result<Self> {
        Self::start_with(E::Options::default(), addr).await
    }
}
