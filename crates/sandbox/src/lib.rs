//! What every utilconnect vendor emulator shares: the emulator kit, a crate of its own so
//! that core carries no server code (like OpenDAL's testkit).
//!
//! A provider crate's emulator is an axum [`Router`](axum::Router) served by [`SandboxServer`]
//! on `127.0.0.1`, which adds, for every vendor alike:
//!
//! - [`Faults`]: make the next matching requests fail (status + `Retry-After`, latency,
//!   dropped connection, malformed or oversized body);
//! - [`RequestLog`]: every request recorded, normalised and redacted, ready for snapshots;
//! - a [`ManualClock`] the emulator reads for expiry, so tests can move
//!   time instead of waiting.
//!
//! The vendor's rules implement [`VendorEmulator`], and [`Hosted`] serves them as a [`Sandbox`],
//! which is what tests and the conformance suite talk to: a provider config pointing at the emulator, and an end user who can click through
//! the hosted pages ([`UserAction`]), using the HTTP-only [`Browser`].

mod browser;
mod capture;
mod emulator;
mod faults;
mod hosted;
mod html;
mod issuer;
mod password;
mod record;
mod server;
mod time;
mod webhook;

use std::fmt;
use std::net::SocketAddr;

use async_trait::async_trait;
use url::Url;

pub use browser::{Browser, Form, Page, end_user_error, escape_html, no_way_on};
pub use capture::LogCapture;
pub use emulator::{EmulatorState, StartSandbox, start_boxed};
pub use faults::{Fault, FaultAction, Faults};
pub use hosted::{Hosted, VendorEmulator};
pub use html::{Fields, error_html, error_page, field, html_page, problem_html};
pub use issuer::Issuer;
pub use password::{PasswordRound, WRONG_PASSWORD, visit_pages};
pub use record::{RecordedRequest, RequestLog};
pub use server::SandboxServer;
pub use time::rfc3339;
pub use webhook::{SignedRequest, WebhookFault};

use utilconnect::ManualClock;
use utilconnect::ProviderConfig;
use utilconnect::{Operation, Result};

/// What the end user does on the vendor's hosted pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserAction {
    /// Goes through every page and connects an account.
    Approve,
    /// Leaves the hosted pages without connecting (an "exit" or "close" button).
    Cancel,
    /// Types wrong utility credentials once, sees the error, then connects.
    WrongCredentialsThenApprove,
    /// Removes an existing link (where the vendor offers it).
    Disconnect,
}

/// An in-process emulator of one vendor, as tests and the conformance suite see it.
#[async_trait]
pub trait Sandbox: Send + Sync + fmt::Debug {
    /// The registry name of the provider this emulates.
    fn provider_name(&self) -> &'static str;

    /// The server the emulator runs on (its address, faults, request log, connections).
    fn server(&self) -> &SandboxServer;

    /// Where the emulator listens (`http://127.0.0.1:<port>/`).
    fn base_url(&self) -> &Url {
        self.server().base_url()
    }

    /// A provider table pointing at this emulator, with its test credentials.
    fn provider_config(&self) -> ProviderConfig;

    /// Every secret this emulator knows: the credentials in
    /// [`provider_config`](Self::provider_config) and every token and code it issued so far,
    /// so tests can assert that none appears in any `Debug`, error, log or snapshot.
    fn known_secrets(&self) -> Vec<String>;

    /// The clock the emulator uses for expiry.
    fn clock(&self) -> &ManualClock;

    /// Fault injection.
    fn faults(&self) -> &Faults {
        self.server().faults()
    }

    /// The recorded requests.
    fn requests(&self) -> &RequestLog {
        self.server().requests()
    }

    /// The API route (method, path) behind `operation`, for injecting faults into it;
    /// `None` when the vendor has no such call (e.g. Pelm has no `Authenticate`).
    fn route(&self, operation: Operation) -> Option<Route>;

    /// Plays the end user: opens `connect_url`, does `action`, and returns the URL the
    /// browser was finally sent to (the app's callback). Fails with
    /// [`ErrorKind::Unsupported`](utilconnect::ErrorKind::Unsupported) for an action the vendor's
    /// pages do not offer, and with [`ErrorKind::InvalidInput`](utilconnect::ErrorKind::InvalidInput)
    /// when the pages show an error instead of redirecting (e.g. an expired token).
    async fn act(&self, connect_url: &Url, action: UserAction) -> Result<Url>;

    /// For vendors that sign webhooks: the last event the emulator sent, signed again now
    /// (spoiled by `fault`, if given), as the app's webhook route would receive it; `None`
    /// when the vendor sends no webhooks or nothing happened yet.
    fn last_webhook(&self, fault: Option<WebhookFault>) -> Option<SignedRequest> {
        let _ = fault;
        None
    }

    /// For vendors that send webhooks: POST them to `url` from now on (the app's webhook
    /// route, known only once the app listens). False when the vendor sends none.
    fn send_webhooks_to(&self, url: &Url) -> bool {
        let _ = url;
        false
    }

    /// Options every flow on this emulator needs (e.g. an API version whose token is made
    /// for an existing location); the conformance suite starts its flows with them.
    fn flow_options(&self) -> utilconnect::Options {
        utilconnect::Options::new()
    }
}

/// HTTP settings for a provider pointed at an emulator: the same policy, with waits short
/// enough that fault tests (timeouts, retries) run in a moment. Emulators put this under
/// `http` in [`Sandbox::provider_config`].
pub fn quick_http() -> serde_json::Value {
    serde_json::json!({
        "request_timeout": "2s",
        "total_deadline": "10s",
        "initial_backoff": "10ms",
        "max_backoff": "100ms",
    })
}

/// An API route of an emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path, e.g. `/auth/token`.
    pub path: &'static str,
}

impl Route {
    /// A route.
    pub const fn new(method: &'static str, path: &'static str) -> Self {
        Self { method, path }
    }
}

/// Starts one provider's emulator on the given loopback address (`None`: a free port); what a
/// provider crate registers for tools that run every sandbox (the quickstart, the CLI, the
/// conformance suite).
pub type StartFn = fn(Option<SocketAddr>) -> futures_boxed::BoxFuture<Result<Box<dyn Sandbox>>>;

/// A registered emulator.
pub struct SandboxDescriptor {
    provider: &'static str,
    start: StartFn,
    variants: &'static [SandboxVariant],
}

/// Another configuration of a provider's emulator that the conformance suite also runs,
/// e.g. one API version of a vendor that has several (selected by the provider's config, so
/// one registered provider covers them all).
///
/// ```
/// # fn start_v1(_: Option<std::net::SocketAddr>) -> utilconnect_sandbox::futures_boxed::BoxFuture<utilconnect::Result<Box<dyn utilconnect_sandbox::Sandbox>>> { unimplemented!() }
/// use utilconnect_sandbox::SandboxVariant;
/// const V1: SandboxVariant = SandboxVariant::new("v1", start_v1)
///     .without(&[utilconnect::Capability::Disconnect]);
/// assert_eq!(V1.name(), "v1");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SandboxVariant {
    name: &'static str,
    start: StartFn,
    without: &'static [utilconnect::Capability],
}

impl SandboxVariant {
    /// A variant called `name` (it suffixes test and snapshot names: `case@provider+name`),
    /// started by `start`.
    pub const fn new(name: &'static str, start: StartFn) -> Self {
        Self {
            name,
            start,
            without: &[],
        }
    }

    /// Capabilities of the provider that this variant does not have (its cases are skipped).
    pub const fn without(mut self, capabilities: &'static [utilconnect::Capability]) -> Self {
        self.without = capabilities;
        self
    }

    /// The variant's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The provider capabilities this variant lacks.
    pub fn lacks(&self) -> &'static [utilconnect::Capability] {
        self.without
    }

    /// Starts this variant on a free loopback port.
    pub async fn start(&self) -> Result<Box<dyn Sandbox>> {
        (self.start)(None).await
    }
}

impl SandboxDescriptor {
    /// A descriptor for `provider`'s emulator; register it with
    /// [`register_sandbox!`](crate::register_sandbox).
    pub const fn new(provider: &'static str, start: StartFn) -> Self {
        Self {
            provider,
            start,
            variants: &[],
        }
    }

    /// The same emulator in other configurations, which the conformance suite runs too.
    pub const fn with_variants(mut self, variants: &'static [SandboxVariant]) -> Self {
        self.variants = variants;
        self
    }

    /// The provider emulated.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The other configurations registered with this emulator.
    pub fn variants(&self) -> &'static [SandboxVariant] {
        self.variants
    }

    /// Starts the emulator on a free loopback port.
    pub async fn start(&self) -> Result<Box<dyn Sandbox>> {
        (self.start)(None).await
    }

    /// Starts the emulator on `addr` (loopback only), for a person to click through.
    pub async fn start_on(&self, addr: SocketAddr) -> Result<Box<dyn Sandbox>> {
        (self.start)(Some(addr)).await
    }
}

impl fmt::Debug for SandboxDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxDescriptor")
            .field("provider", &self.provider)
            .field(
                "variants",
                &self.variants.iter().map(|v| v.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

inventory::collect!(SandboxDescriptor);

/// Registers a provider's emulator (next to its [`register_provider!`](utilconnect::register_provider)).
#[macro_export]
macro_rules! register_sandbox {
    ($descriptor:expr) => {
        $crate::__private::inventory::submit! { $descriptor }
    };
}

/// Every registered emulator, sorted by provider name.
///
/// Fails with [`ErrorKind::Config`](utilconnect::ErrorKind::Config) if two crates registered
/// an emulator for the same provider, as [`utilconnect::providers`] does for providers.
pub fn sandboxes() -> Result<Vec<&'static SandboxDescriptor>> {
    sorted_unique(inventory::iter::<SandboxDescriptor>.into_iter().collect())
}

fn sorted_unique(
    mut all: Vec<&'static SandboxDescriptor>,
) -> Result<Vec<&'static SandboxDescriptor>> {
    all.sort_by_key(|d| d.provider);
    match all
        .windows(2)
        .find(|pair| pair[0].provider == pair[1].provider)
    {
        Some(pair) => Err(utilconnect::Error::config(format!(
            "two sandboxes are registered for provider `{}`; link one emulator per provider",
            pair[0].provider
        ))),
        None => Ok(all),
    }
}

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

/// A boxed, sendable future, without pulling in a futures crate for one alias.
pub mod futures_boxed {
    use std::future::Future;
    use std::pin::Pin;

    /// A pinned, boxed, `Send` future.
    pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
}

/// The registered emulator of `provider`; the error lists the providers that have one.
pub fn sandbox(provider: &str) -> Result<&'static SandboxDescriptor> {
    let all = sandboxes()?;
    let names: Vec<&str> = all.iter().map(|s| s.provider()).collect();
    all.into_iter()
        .find(|s| s.provider() == provider)
        .ok_or_else(|| {
            utilconnect::Error::config(format!(
                "provider `{provider}` has no sandbox; sandboxes: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// A [`Connector`](utilconnect::Connector) for the registered provider `sandbox` emulates, built from
/// the sandbox's table, provider and connector both on the sandbox's clock (so moving the clock
/// expires flows, tokens and a provider's cached credentials together).
pub fn connector_for(sandbox: &dyn Sandbox) -> Result<utilconnect::Connector> {
    let context = utilconnect::BuildContext::new(std::sync::Arc::new(sandbox.clock().clone()));
    let provider = utilconnect::provider(sandbox.provider_name())?
        .build_with(&sandbox.provider_config(), &context)?;
    Ok(utilconnect::Connector::builder(provider)
        .clock(context.clock().clone())
        .build())
}

/// The `[providers.<name>]` table pointing at `sandbox`, as TOML for a `utilconnect.toml`
/// (without the quick `http` settings tests use), e.g. to run a separate process against it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use utilconnect_sandbox::{Hosted, RequestLog, Route, UserAction, VendorEmulator, EmulatorState};
/// # use utilconnect::{ManualClock, Operation, ProviderDescriptor, Result, Url};
/// # fn build(_: &utilconnect::ProviderConfig, _: &utilconnect::BuildContext) -> Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> { unimplemented!() }
/// # const TOY: ProviderDescriptor = ProviderDescriptor::new("toy", "", &[], build, "doc");
/// # #[derive(Debug, Clone)] struct Toy(EmulatorState<(), ()>);
/// # #[async_trait::async_trait] impl VendorEmulator for Toy {
/// #   type Options = (); type Records = (); const DESCRIPTOR: &'static ProviderDescriptor = &TOY;
/// #   fn new(_: (), c: ManualClock, l: RequestLog) -> Self { Toy(EmulatorState::new((), c, l)) }
/// #   fn state(&self) -> &EmulatorState<(), ()> { &self.0 }
/// #   fn router(&self) -> axum::Router { axum::Router::new() }
/// #   fn provider_table(&self, base: &Url) -> serde_json::Value {
/// #     serde_json::json!({"api_base_url": base.as_str(), "units": {"a-1": {"id": 7, "on": true}}})
/// #   }
/// #   fn known_secrets(&self) -> Vec<String> { vec![] }
/// #   fn route(&self, _: Operation) -> Option<Route> { None }
/// #   async fn act(&self, _: &Url, u: &Url, _: UserAction) -> Result<Url> { Ok(u.clone()) }
/// # }
/// let sandbox = Hosted::<Toy>::start().await?;
/// let toml = utilconnect_sandbox::provider_toml(&sandbox)?;
/// assert!(toml.starts_with("[providers.toy]\napi_base_url = \"http://127.0.0.1:"), "{toml}");
/// assert!(toml.contains(r#"units = { "a-1" = { "id" = 7, "on" = true } }"#), "{toml}");
/// # Ok::<(), utilconnect::Error>(()) }).unwrap();
/// ```
pub fn provider_toml(sandbox: &dyn Sandbox) -> Result<String> {
    let table: serde_json::Value = sandbox.provider_config().extract()?;
    let mut toml = format!("[providers.{}]\n", sandbox.provider_name());
    if let Some(object) = table.as_object() {
        for (key, value) in object.iter().filter(|(k, v)| *k != "http" && !v.is_null()) {
            toml.push_str(&format!("{key} = {}\n", toml_value(value)));
        }
    }
    Ok(toml)
}

/// A JSON value as a TOML value: JSON strings, numbers, booleans and arrays are TOML already;
/// objects become inline tables with quoted keys.
fn toml_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    format!(
                        "{} = {}",
                        serde_json::Value::String(k.clone()),
                        toml_value(v)
                    )
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Serves the registered emulator of `provider` on `127.0.0.1:port` for a person to click
/// through: prints a provider table pointing at it and a fresh connect URL (the browser lands
/// on `https://app.example/callback?…` at the end), then waits for Ctrl-C.
///
/// This is what `utilconnect sandbox <name>` runs.
pub async fn serve_for_a_person(provider: &str, port: u16) -> Result<()> {
    let descriptor = sandbox(provider)?;
    let addr = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    let sandbox = descriptor.start_on(addr).await?;
    println!("{provider} sandbox on {}", sandbox.base_url());
    println!("\n# sandbox-only test values");
    print!("{}", provider_toml(sandbox.as_ref())?);
    let started = connector_for(sandbox.as_ref())?
        .start("browser-user", "https://app.example/callback")
        .await?;
    println!(
        "\nOpen this in a browser:\n{}",
        started.connect_url.expose()
    );
    println!("\nCtrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| utilconnect::Error::config(format!("cannot wait for Ctrl-C: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: Option<SocketAddr>) -> futures_boxed::BoxFuture<Result<Box<dyn Sandbox>>> {
        Box::pin(async { Err(utilconnect::Error::config("not started in this test")) })
    }

    static A: SandboxDescriptor = SandboxDescriptor::new("alpha", never);
    static B: SandboxDescriptor = SandboxDescriptor::new("beta", never);
    static B2: SandboxDescriptor = SandboxDescriptor::new("beta", never);

    #[test]
    fn two_sandboxes_for_one_provider_are_an_error() {
        let sorted = sorted_unique(vec![&B, &A]).unwrap();
        let names: Vec<_> = sorted.iter().map(|d| d.provider()).collect();
        assert_eq!(names, ["alpha", "beta"]);
        let err = sorted_unique(vec![&B, &A, &B2]).unwrap_err();
        assert_eq!(err.kind(), utilconnect::ErrorKind::Config);
        assert!(err.to_string().contains("provider `beta`"), "{err}");
    }
}
