//! An in-process Pelm emulator (feature `sandbox`).
//!
//! It serves, on `127.0.0.1`, Pelm's two API calls with the documented bodies and errors, and
//! the hosted Connect pages as plain HTML forms. Tokens expire after 30 minutes and codes after
//! 5 (on an injectable clock); codes are single-use; the documented sandbox login
//! `user@pelm.com` / `password` is the only one that connects.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use utilconnect::{Connector, FromConfig};
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
mod data;
mod emulator;
mod pages;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use utilconnect::{Error, ErrorKind, ManualClock, Operation, Result, Url};
use utilconnect_sandbox::{
    EmulatorState, Hosted, RequestLog, Route, SandboxDescriptor, UserAction, VendorEmulator,
    no_way_on, start_boxed, visit_pages,
};

pub use emulator::{Emulator, Records, SandboxOptions};
use emulator::{SANDBOX_PASSWORD, SANDBOX_USERNAME};

/// A running Pelm emulator. Dropping it stops the server.
pub type PelmSandbox = Hosted<Emulator>;

#[async_trait]
impl VendorEmulator for Emulator {
    type Options = SandboxOptions;
    type Records = Records;
    const DESCRIPTOR: &'static utilconnect::ProviderDescriptor = &crate::DESCRIPTOR;

    fn new(options: SandboxOptions, clock: ManualClock, log: RequestLog) -> Self {
        Emulator::new(options, clock, log)
    }

    fn state(&self) -> &EmulatorState<SandboxOptions, Records> {
        self
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/auth/connect-token", post(api::connect_token))
            .route("/auth/connect_token", post(api::connect_token))
            .route("/auth/token", post(api::exchange))
            .route("/connect", get(pages::open))
            .route("/connect/", get(pages::open))
            .route("/connect/terms", post(pages::terms))
            .route("/connect/utility", post(pages::utility))
            .route("/connect/credentials", post(pages::credentials))
            .route("/accounts", get(data::accounts))
            .route("/intervals", get(data::intervals))
            .route("/bills", get(data::bills))
            .fallback(data::not_found)
            .with_state(self.clone())
    }

    fn provider_table(&self, base_url: &Url) -> serde_json::Value {
        serde_json::json!({
            "client_id": self.options.client_id,
            "client_secret": self.options.client_secret,
            "api_base_url": base_url.as_str(),
            "connect_base_url": base_url.join("/connect/").map_or_else(|_| base_url.to_string(), String::from),
        })
    }

    fn known_secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.options.client_secret.clone()];
        secrets.extend(self.issued());
        secrets
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        match operation {
            Operation::CreateToken => Some(Route::new("POST", "/auth/connect-token")),
            Operation::Complete => Some(Route::new("POST", "/auth/token")),
            _ => None,
        }
    }

    /// The end user's choice on each hosted page for `action`.
    async fn act(&self, base_url: &Url, connect_url: &Url, action: UserAction) -> Result<Url> {
        if action == UserAction::Disconnect {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Operation::Complete,
                "Pelm's Connect pages offer no disconnect",
            ));
        }
        let exit = action == UserAction::Cancel;
        visit_pages(
            base_url,
            connect_url,
            5,
            action,
            "Incorrect username or password",
            |page, round| {
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
            },
        )
        .await
    }
}

utilconnect_sandbox::register_sandbox!(SandboxDescriptor::new(
    crate::NAME,
    start_boxed::<PelmSandbox>
));
