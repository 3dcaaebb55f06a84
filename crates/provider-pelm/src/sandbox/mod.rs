//! An in-process Pelm emulator (feature `sandbox`).
//!
//! It serves, on `127.0.0.1`, Pelm's two API calls with the documented bodies and errors, and
//! the hosted Connect pages as plain HTML forms. Tokens expire after 30 minutes and codes after
//! 5 (on an injectable clock); codes are single-use; the documented sandbox login
//! `user@pelm.com` / `password` is the only one that connects.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use utilconnect::Connector;
//! use utilconnect_sandbox::{Sandbox, UserAction};
//! use utilconnect_pelm::sandbox::PelmSandbox;
//!
//! let sandbox = PelmSandbox::start().await?;
//! let provider = utilconnect_pelm::PelmProvider::from_config(&sandbox.provider_config())?;
//! let connector = Connector::new(std::sync::Arc::new(provider));
//!
//! let started = connector.start("user-1", "https://app.example/callback").await?;
//! let callback = sandbox.act(started.connect_url.expose(), UserAction::Approve).await?;
//! let connection = connector.finish(callback.as_str()).await?;
//! assert_eq!(connection.user_id(), "user-1");
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
use utilconnect::{Error, ErrorKind, ManualClock, Operation, ProviderConfig, Result, Url};
use utilconnect_sandbox::{
    Browser, Faults, PasswordRound, RequestLog, Route, Sandbox, SandboxDescriptor, SandboxServer,
    StartSandbox, UserAction, no_way_on, quick_http, start_boxed,
};

pub use emulator::SandboxOptions;
use emulator::{Emulator, SANDBOX_PASSWORD, SANDBOX_USERNAME};

/// A running Pelm emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct PelmSandbox {
    server: SandboxServer,
    emulator: Emulator,
}

impl PelmSandbox {
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
            .route("/auth/connect-token", post(api::connect_token))
            .route("/auth/connect_token", post(api::connect_token))
            .route("/auth/token", post(api::exchange))
            .route("/connect", get(pages::open))
            .route("/connect/", get(pages::open))
            .route("/connect/terms", post(pages::terms))
            .route("/connect/utility", post(pages::utility))
            .route("/connect/credentials", post(pages::credentials))
            .with_state(emulator.clone());
        let server = match addr {
            Some(addr) => SandboxServer::start_on(addr, router, faults, log).await?,
            None => SandboxServer::start(router, faults, log).await?,
        };
        Ok(Self { server, emulator })
    }

    /// The hosted Connect page's base URL.
    pub fn connect_base_url(&self) -> Url {
        self.server
            .base_url()
            .join("/connect/")
            .unwrap_or_else(|_| self.server.base_url().clone())
    }

    /// The options in force.
    pub fn options(&self) -> &SandboxOptions {
        &self.emulator.options
    }

    /// The end user's choice on each hosted page for `action`.
    async fn click_through(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        let exit = action == UserAction::Cancel;
        let mut round = PasswordRound::new(action, "Incorrect username or password");
        let callback = Browser::new(self.server.base_url())?
            .walk(connect_url, 5, |page| {
                let choice = if let Some(form) = page.form("terms") {
                    form.set("action", if exit { "exit" } else { "accept" })
                } else if let Some(form) = page.form("utility") {
                    match exit {
                        true => form.set("action", "exit"),
                        false => form.set("utility", "pge").set("action", "continue"),
                    }
                } else if let Some(form) = page.form("credentials") {
                    if exit {
                        return Ok(form.set("action", "exit"));
                    }
                    let password = round.password(page, SANDBOX_PASSWORD);
                    form.set("username", SANDBOX_USERNAME)
                        .set("password", password)
                        .set("action", "submit")
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
impl Sandbox for PelmSandbox {
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
                "client_id": self.emulator.options.client_id,
                "client_secret": self.emulator.options.client_secret,
                "api_base_url": self.server.base_url().as_str(),
                "connect_base_url": self.connect_base_url().as_str(),
                "http": quick_http(),
            }),
        )
    }

    fn known_secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.emulator.options.client_secret.clone()];
        secrets.extend(self.emulator.issued());
        secrets
    }

    fn clock(&self) -> &ManualClock {
        &self.emulator.clock
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        match operation {
            Operation::CreateToken => Some(Route::new("POST", "/auth/connect-token")),
            Operation::Complete => Some(Route::new("POST", "/auth/token")),
            _ => None,
        }
    }

    async fn act(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        if action == UserAction::Disconnect {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Operation::Complete,
                "Pelm's Connect pages offer no disconnect",
            )
            .with_provider(crate::NAME));
        }
        self.click_through(connect_url, action).await
    }
}

#[async_trait]
impl StartSandbox for PelmSandbox {
    async fn start_default(addr: Option<SocketAddr>) -> Result<Self> {
        Self::start_with(SandboxOptions::default(), addr).await
    }
}

utilconnect_sandbox::register_sandbox!(SandboxDescriptor::new(
    crate::NAME,
    start_boxed::<PelmSandbox>
));
