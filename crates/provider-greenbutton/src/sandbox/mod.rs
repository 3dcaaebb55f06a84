//! An in-process Green Button Data Custodian emulator (feature `sandbox`), with two
//! utilities (`utility-a`, `utility-b`) to prove the multi-utility config.
//!
//! Per utility, on `127.0.0.1`: the authorization pages (customer login, the requested scope
//! in words, Approve / Deny), the token endpoint (HTTP Basic client authentication; codes
//! single use, short-lived and bound to the client and redirect URI; the refresh grant with
//! rotating refresh tokens), the `authorizationURI` resource and a `resourceURI` Subscription
//! feed (a small valid ESPI Atom document) for the grant's bearer. A test revokes a grant
//! with [`Emulator::revoke`], as a customer would on the utility's website. Every other path
//! answers a JSON 404.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use utilconnect_sandbox::{Sandbox, UserAction};
//! use utilconnect_greenbutton::sandbox::GreenButtonSandbox;
//!
//! let sandbox = GreenButtonSandbox::start().await?;
//! let connector = utilconnect_sandbox::connector_for(&sandbox)?;
//!
//! let started = connector.start("user-1", "https://app.example/callback").await?;
//! let callback = sandbox.act(started.connect_url.expose(), UserAction::Approve).await?;
//! let connection = connector.finish(callback.as_str()).await?;
//! assert_eq!(connection.vendor_id("custodian"), Some("utility-a"));
//!
//! // The access token expires; a refresh renews it.
//! let renewed = connector.refresh(&connection).await?;
//! assert!(renewed.credentials().is_some());
//! # Ok::<(), utilconnect::Error>(())
//! # }).unwrap();
//! ```

mod api;
mod emulator;
mod feed;
mod pages;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use utilconnect::{Error, ErrorKind, ManualClock, Operation, Result, Url};
use utilconnect_sandbox::{
    EmulatorState, Hosted, RequestLog, Route, SandboxDescriptor, UserAction, VendorEmulator,
    no_way_on, start_boxed, visit_pages,
};

use emulator::{CUSTOMER_PASSWORD, CUSTOMER_USERNAME};
pub use emulator::{Emulator, Records, SandboxCustodian, SandboxOptions};

/// A running Data Custodian emulator. Dropping it stops the server.
pub type GreenButtonSandbox = Hosted<Emulator>;

/// The custodian the sandbox's provider table makes the default.
const DEFAULT_CUSTODIAN: &str = "utility-a";

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
            .route("/{custodian}/oauth2/authorize", get(pages::authorize))
            .route("/{custodian}/oauth2/login", post(pages::login))
            .route("/{custodian}/oauth2/decision", post(pages::decision))
            .route("/{custodian}/oauth2/token", post(api::token))
            .route(
                "/{custodian}/espi/1_1/resource/Authorization/{id}",
                get(api::authorization),
            )
            .route(
                "/{custodian}/espi/1_1/resource/Batch/Subscription/{id}",
                get(api::subscription),
            )
            .fallback(api::fallback)
            .with_state(self.clone())
    }

    fn provider_table(&self, base_url: &Url) -> serde_json::Value {
        let base = base_url.as_str().trim_end_matches('/');
        let custodians: serde_json::Map<String, serde_json::Value> = self
            .options
            .custodians
            .iter()
            .map(|c| {
                let table = serde_json::json!({
                    "name": c.name,
                    "authorize_url": format!("{base}/{}/oauth2/authorize", c.id),
                    "token_url": format!("{base}/{}/oauth2/token", c.id),
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "scope": c.scope,
                });
                (c.id.clone(), table)
            })
            .collect();
        let default = self
            .options
            .custodians
            .iter()
            .find(|c| c.id == DEFAULT_CUSTODIAN)
            .or(self.options.custodians.first())
            .map(|c| c.id.clone());
        serde_json::json!({
            "custodians": custodians,
            "default_custodian": default,
        })
    }

    fn known_secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .options
            .custodians
            .iter()
            .map(|c| c.client_secret.clone())
            .collect();
        secrets.extend(self.issued());
        secrets
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        match operation {
            Operation::Complete | Operation::Refresh => {
                Some(Route::new("POST", "/utility-a/oauth2/token"))
            }
            _ => None,
        }
    }

    /// The customer on the utility's pages: log in, then approve or deny.
    async fn act(&self, base_url: &Url, connect_url: &Url, action: UserAction) -> Result<Url> {
        if action == UserAction::Disconnect {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Operation::Complete,
                "a utility's authorization pages offer no disconnect (revoke the grant instead)",
            ));
        }
        let cancel = action == UserAction::Cancel;
        visit_pages(
            base_url,
            connect_url,
            4,
            action,
            "Incorrect email or password",
            |page, round| {
                let choice = if let Some(form) = page.form("login") {
                    let password = round.password(page, CUSTOMER_PASSWORD);
                    form.set("username", CUSTOMER_USERNAME)
                        .set("password", password)
                        .set("action", "login")
                } else if let Some(form) = page.form("authorize") {
                    form.set("action", if cancel { "deny" } else { "approve" })
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
    start_boxed::<GreenButtonSandbox>
));
