//! An in-process Flatpeak emulator (feature `sandbox`).
//!
//! It serves, on `127.0.0.1` and an injectable clock:
//! - `/login` (Basic auth, expiring bearers);
//! - each API version's create and retrieve calls, answering in the shapes of the version the
//!   request's `Flatpeak-Version` selects (no header: [`SandboxOptions::default_version`]):
//!   2024-08-24 `POST`/`GET /connect/tariff/token`, anode `POST /connect/token` and
//!   `GET /connect/tariff/token`, busbar `POST /connect` and `GET /connect/{connect_token}`;
//!   each validates its body as its reference page documents; `cot_` tokens live 86400 s, one
//!   session each; the retrieve is 422 while "processing" after Save, then the session once;
//! - the Connect JSON API at `/connect-api` (what Flatpeak's own Connect web app talks to;
//!   point its `CONNECT_API_URL` there), a conversation from `session_start` to
//!   `complete_tariff`;
//! - the hosted Connect web app as plain HTML forms over that same conversation, and the
//!   energy provider's login page;
//! - signed webhooks and `/jwks.json`; any other route answers Flatpeak's JSON 404.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use utilconnect::{Connector, FromConfig};
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
mod conversation;
mod emulator;
mod pages;
mod webhooks;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use utilconnect::{ManualClock, Operation, Result, Url};
use utilconnect_sandbox::futures_boxed::BoxFuture;
use utilconnect_sandbox::{
    EmulatorState, Hosted, RequestLog, Route, Sandbox, SandboxDescriptor, SandboxVariant,
    SignedRequest, UserAction, VendorEmulator, WebhookFault, no_way_on, start_boxed, visit_pages,
};

pub use emulator::{Emulator, Records, SandboxOptions};
use emulator::{PROVIDER_PASSWORD, PROVIDER_USERNAME};

use crate::ApiVersion;
pub use webhooks::{Delivery, DeliveryFault, RETRY_SCHEDULE};

/// Signs `body` at `at` as the emulator signs its events (its published key), for tests that
/// need a correctly signed request with a body of their choosing.
pub fn sign_webhook(body: &[u8], at: std::time::SystemTime) -> SignedRequest {
    webhooks::sign(body, at, None, crate::DEFAULT_API_VERSION.name())
}

/// A running Flatpeak emulator. Dropping it stops the server.
pub type FlatpeakSandbox = Hosted<Emulator>;

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
            .route("/login", get(api::login))
            .route("/jwks.json", get(|| async { axum::Json(webhooks::jwks()) }))
            .route(
                "/connect/tariff/token",
                post(api::create_any).get(api::retrieve_tariff_token),
            )
            .route("/connect/token", post(api::create_any).get(api::not_found))
            .route("/connect", post(api::create_any))
            .route("/connect/{connect_token}", get(api::retrieve_session))
            .route(
                "/connect-api",
                post(api::connect_api).options(api::connect_api_preflight),
            )
            .route("/connect-web", get(pages::open))
            .route("/connect-web/", get(pages::open))
            .route("/connect-web/address", post(pages::address))
            .route("/connect-web/provider", post(pages::provider))
            .route("/connect-web/summary", post(pages::summary))
            .route(
                "/provider-login/",
                get(pages::provider_login_page).post(pages::provider_login),
            )
            .fallback(api::not_found)
            .with_state(self.clone())
    }

    fn provider_table(&self, base_url: &Url) -> serde_json::Value {
        let mut table = serde_json::json!({
            "account_id": self.options.account_id,
            "api_key": self.options.api_key,
            "api_base_url": base_url.as_str(),
            "connect_web_url": base_url.join("/connect-web/").map_or_else(|_| base_url.to_string(), String::from),
            "api_version": self.options.api_version.name(),
        });
        if self.options.api_version == ApiVersion::Busbar {
            table["busbar_version"] = self.options.version_header().into();
        }
        table
    }

    fn flow_options(&self) -> utilconnect::Options {
        let mut options = utilconnect::Options::new();
        if self.options.api_version == ApiVersion::Busbar {
            options.insert(
                "location_id".into(),
                self.options.location_id.clone().into(),
            );
        }
        options
    }

    fn known_secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.options.api_key.clone()];
        secrets.extend(self.issued());
        secrets
    }

    fn route(&self, operation: Operation) -> Option<Route> {
        let version = self.options.api_version;
        match operation {
            Operation::Authenticate => Some(Route::new("GET", "/login")),
            Operation::CreateToken => Some(Route::new("POST", version.create_path())),
            Operation::Complete => Some(Route::new("GET", version.default_retrieve_path())),
            _ => None,
        }
    }

    fn last_webhook(&self, fault: Option<WebhookFault>) -> Option<SignedRequest> {
        self.last_event_signed(fault)
    }

    fn send_webhooks_to(&self, url: &Url) -> bool {
        self.set_webhook_url(url.clone());
        true
    }

    /// The end user's choice on each hosted page for `action`.
    async fn act(&self, base_url: &Url, connect_url: &Url, action: UserAction) -> Result<Url> {
        let close = action == UserAction::Cancel;
        // Address, provider, provider login (twice at most), summary.
        visit_pages(
            base_url,
            connect_url,
            6,
            action,
            "Incorrect email or password",
            |page, round| {
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
            },
        )
        .await
    }
}

/// Starts an emulator whose provider table speaks `version` (for the suite's variants).
fn start_speaking(
    version: ApiVersion,
    addr: Option<std::net::SocketAddr>,
) -> BoxFuture<Result<Box<dyn Sandbox>>> {
    Box::pin(async move {
        let options = SandboxOptions {
            api_version: version,
            ..SandboxOptions::default()
        };
        let sandbox = FlatpeakSandbox::start_with(options, addr).await?;
        Ok(Box::new(sandbox) as Box<dyn Sandbox>)
    })
}

fn start_2024(addr: Option<std::net::SocketAddr>) -> BoxFuture<Result<Box<dyn Sandbox>>> {
    start_speaking(ApiVersion::V2024_08_24, addr)
}

fn start_busbar(addr: Option<std::net::SocketAddr>) -> BoxFuture<Result<Box<dyn Sandbox>>> {
    start_speaking(ApiVersion::Busbar, addr)
}

/// The suite runs the default (anode) and each other version. busbar's retrieve answer has
/// no final action, so a closed or disconnected session cannot be told from one whose data
/// is not ready yet: those cases do not apply to it.
const VARIANTS: &[SandboxVariant] = &[
    SandboxVariant::new("2024-08-24", start_2024),
    SandboxVariant::new("busbar", start_busbar).without(&[
        utilconnect::Capability::UserCancel,
        utilconnect::Capability::Disconnect,
    ]),
];

utilconnect_sandbox::register_sandbox!(
    SandboxDescriptor::new(crate::NAME, start_boxed::<FlatpeakSandbox>).with_variants(VARIANTS)
);
