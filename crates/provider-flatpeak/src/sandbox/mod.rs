//! An in-process Flatpeak emulator (feature `sandbox`).
//!
//! It serves, on `127.0.0.1`, `/login` (Basic auth, expiring bearers), `POST /connect/token`
//! (the schema's validation and error body; `cot_` tokens valid 86400 s, one session each),
//! the retrieve call (422 while "processing" after Save, then the session once), and the hosted
//! Connect web app as plain HTML forms, on an injectable clock.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use utilconnect::Connector;
//! use utilconnect_sandbox::{Sandbox, UserAction};
//! use utilconnect_flatpeak::sandbox::FlatpeakSandbox;
//!
//! let sandbox = FlatpeakSandbox::start().await?;
//! let provider = utilconnect_flatpeak::FlatpeakProvider::from_config(&sandbox.provider_config())?;
//! let connector = Connector::new(std::sync::Arc::new(provider));
//!
//! let started = connector.start("user-1", "https://app.example/callback").await?;
//! let callback = sandbox.act(started.connect_url.expose(), UserAction::Approve).await?;
//! let connection = connector.finish(callback.as_str()).await?;
//! assert!(connection.vendor_id("location_id").unwrap().starts_with("loc_"));
//! # Ok::<(), utilconnect::Error>(())
//! # }).unwrap();
//! ```

mod api;
mod emulator;
mod pages;

use std::net::SocketAddr;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use utilconnect::{ManualClock, Operation, ProviderConfig, Result, Url};
use utilconnect_sandbox::{
    Browser, Faults, PasswordRound, RequestLog, Route, Sandbox, SandboxDescriptor, SandboxServer,
    StartSandbox, UserAction, no_way_on, quick_http, start_boxed,
};

pub use emulator::SandboxOptions;
use emulator::{Emulator, PROVIDER_PASSWORD, PROVIDER_USERNAME};

/// A running Flatpeak emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct FlatpeakSandbox {
    server: SandboxServer,
    emulator: Emulator,
}

impl FlatpeakSandbox {
    /// Starts an emulator with default options on a free loopback port.
    pub async fn start() -> Result<Self> {
        Self::start_with(SandboxOptions::default(), None).await
    }

    /// Starts an emulator with `options`, on `addr` if given (for a person clicking through).
    pub async fn start_with(options: SandboxOptions, addr: Option<SocketAddr>) -> Result<Self> {
        let log = RequestLog::recording(crate::DESCRIPTOR.recorded_headers());
        let faults = Faults::default();
        let emulator = Emulator::new(options, ManualClock::new(), log.clone());
        let router = Router::new()
            .route("/login", get(api::login))
            .route("/connect/token", post(api::create_token).get(api::retrieve))
            .route("/connect-web", get(pages::open))
            .route("/connect-web/", get(pages::open))
            .route("/connect-web/address", post(pages::address))
            .route("/connect-web/provider", post(pages::provider))
            .route("/connect-web/summary", post(pages::summary))
            .route(
                "/provider-login/",
                get(pages::provider_login_page).post(pages::provider_login),
            )
            .with_state(emulator.clone());
        let server = match addr {
            Some(addr) => SandboxServer::start_on(addr, router, faults, log).await?,
            None => SandboxServer::start(router, faults, log).await?,
        };
        Ok(Self { server, emulator })
    }

    /// The hosted Connect web app's URL.
    pub fn connect_web_url(&self) -> Url {
        self.server
            .base_url()
            .join("/connect-web/")
            .unwrap_or_else(|_| self.server.base_url().clone())
    }

    /// The options in force.
    pub fn options(&self) -> &SandboxOptions {
        &self.emulator.options
    }

    /// The end user's choice on each hosted page for `action`.
    async fn click_through(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        let close = action == UserAction::Cancel;
        let mut round = PasswordRound::new(action, "Incorrect email or password");
        // Address, provider, provider login (twice at most), summary.
        let callback = Browser::new(self.server.base_url())?
            .walk(connect_url, 6, |page| {
                let choice = if let Some(form) = page.form("address") {
                    match close {
                        true => form.set("action", "close"),
                        false => form
                            .set("address_line1", "1-3 Strand")
                            .set("post_code", "WC2N 5EH")
                            .set("country_code", "GB")
                            .set("action", "continue"),
                    }
                } else if let Some(form) = page.form("provider") {
                    match close {
                        true => form.set("action", "close"),
                        false => form.set("provider", "octopus").set("action", "continue"),
                    }
                } else if let Some(form) = page.form("provider-login") {
                    let password = round.password(page, PROVIDER_PASSWORD);
                    form.set("username", PROVIDER_USERNAME)
                        .set("password", password)
                        .set("action", "login")
                } else if let Some(form) = page.form("summary") {
                    let choice = match action {
                        UserAction::Disconnect => "disconnect",
                        UserAction::Cancel => "close",
                        _ => "save",
                    };
                    form.set("action", choice)
                } else {
                    return Err(no_way_on(page));
                };
                Ok(choice)
            })
            .await
            .map_err(|e| e.with_provider(crate::NAME))?;
        round.check().map_err(|e| e.with_provider(crate::NAME))?;
        Ok(callback)
    }
}

#[async_trait]
impl Sandbox for FlatpeakSandbox {
    fn provider_name(&self) -> &'static str {
        crate::NAME
    }

    fn server(&self) -> &SandboxServer {
        &self.server
    }

    fn provider_config(&self) -> ProviderConfig {
        ProviderConfig::from_json(
            crate::NAME,
            serde_json::json!({
                "account_id": self.emulator.options.account_id,
                "api_key": self.emulator.options.api_key,
                "api_base_url": self.server.base_url().as_str(),
                "connect_web_url": self.connect_web_url().as_str(),
                "http": quick_http(),
            }),
        )
    }

    fn known_secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.emulator.options.api_key.clone()];
        secrets.extend(self.emulator.issued());
        secrets
    }

    fn clock(&self) -> &ManualClock {
        &self.emulator.clock
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        match operation {
            Operation::Authenticate => Some(Route::new("GET", "/login")),
            Operation::CreateToken => Some(Route::new("POST", "/connect/token")),
            Operation::Complete => Some(Route::new("GET", "/connect/token")),
            _ => None,
        }
    }

    async fn act(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        self.click_through(connect_url, action).await
    }
}

#[async_trait]
impl StartSandbox for FlatpeakSandbox {
    async fn start_default(addr: Option<SocketAddr>) -> Result<Self> {
        Self::start_with(SandboxOptions::default(), addr).await
    }
}

utilconnect_sandbox::register_sandbox!(SandboxDescriptor::new(
    crate::NAME,
    start_boxed::<FlatpeakSandbox>
));
