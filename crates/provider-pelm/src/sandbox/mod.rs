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
//! use utilconnect::sandbox::{Sandbox, UserAction};
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
use utilconnect::sandbox::{
    Browser, Faults, Page, RequestLog, Route, Sandbox, SandboxDescriptor, SandboxServer, UserAction,
};
use utilconnect::{Error, ErrorKind, ManualClock, Operation, ProviderConfig, Result, Url};

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
        let log = RequestLog::default();
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

    async fn click_through(
        &self,
        browser: &Browser,
        first: Page,
        action: UserAction,
    ) -> Result<Url> {
        let mut page = first;
        let mut typed_wrong_password = false;
        // Three pages at most, plus one retry of the credentials page.
        for _ in 0..5 {
            if let Some(url) = page.left_to() {
                return Ok(url.clone());
            }
            let exit = action == UserAction::Cancel;
            page = if let Some(form) = page.form("terms") {
                let choice = if exit { "exit" } else { "accept" };
                browser.submit(&form.set("action", choice)).await?
            } else if let Some(form) = page.form("utility") {
                let form = if exit {
                    form.set("action", "exit")
                } else {
                    form.set("utility", "pge").set("action", "continue")
                };
                browser.submit(&form).await?
            } else if let Some(form) = page.form("credentials") {
                if exit {
                    browser.submit(&form.set("action", "exit")).await?
                } else {
                    let wrong_first =
                        action == UserAction::WrongCredentialsThenApprove && !typed_wrong_password;
                    let password = if wrong_first {
                        "wrong-password"
                    } else {
                        SANDBOX_PASSWORD
                    };
                    let next = browser
                        .submit(
                            &form
                                .set("username", SANDBOX_USERNAME)
                                .set("password", password)
                                .set("action", "submit"),
                        )
                        .await?;
                    if wrong_first {
                        typed_wrong_password = true;
                        if !next.contains("Incorrect username or password") {
                            return Err(end_user_error(format!(
                                "the credentials page accepted a wrong password ({})",
                                next.describe()
                            )));
                        }
                    }
                    next
                }
            } else {
                return Err(end_user_error(format!(
                    "the hosted page showed no way on: {}",
                    page.describe()
                )));
            };
        }
        Err(end_user_error("the hosted pages did not finish".into()))
    }
}

fn end_user_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Complete, message).with_provider(crate::NAME)
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
                // Short waits keep fault tests fast; the policy is the same.
                "http": {
                    "request_timeout": "2s",
                    "total_deadline": "10s",
                    "initial_backoff": "10ms",
                    "max_backoff": "100ms",
                },
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
        let browser = Browser::new(self.server.base_url())?;
        let first = browser.open(connect_url).await?;
        self.click_through(&browser, first, action).await
    }
}

fn start_boxed(
    addr: Option<SocketAddr>,
) -> utilconnect::sandbox::futures_boxed::BoxFuture<Result<Box<dyn Sandbox>>> {
    Box::pin(async move {
        let sandbox = PelmSandbox::start_with(SandboxOptions::default(), addr).await?;
        Ok(Box::new(sandbox) as Box<dyn Sandbox>)
    })
}

utilconnect::register_sandbox!(SandboxDescriptor::new(crate::NAME, start_boxed));
