//! Flatpeak provider for [`utilconnect`]: Flatpeak's hosted Connect web app.
//!
//! ```no_run
//! use utilconnect::{Config, Connector};
//! use utilconnect_flatpeak as _; // links the provider so `provider = "flatpeak"` finds it
//!
//! # async fn run() -> utilconnect::Result<()> {
//! let connector = Connector::from_config(&Config::from_toml_str(r#"
//!     provider = "flatpeak"
//!     [providers.flatpeak]
//!     account_id = "acc_…"
//!     api_key = "sk_test_…"
//! "#)?)?;
//! let started = connector.start("user-42", "https://app.example/flatpeak/callback").await?;
//! # Ok(()) }
//! ```
//!
//! # Wire format (API version `2025-09-14.anode`)
//!
//! 1. `GET /login` with Basic auth (account id, API key) → `{"bearer_token", "expires_in"}`.
//!    The bearer is cached until `bearer_refresh_margin` before it expires; concurrent callers
//!    share one login; a 401/403 on a cached bearer forces one re-login and one retry.
//! 2. `POST /connect/token` with the bearer and `Flatpeak-Version`, JSON body of the OpenAPI
//!    schema: `connect_url` (the Connect web app), `callback_url` (the app's callback with our
//!    `state` appended) and every optional field as typed [`TokenOptions`], validated first.
//!    → `{"connect_token": "cot_…", "expires_in": 86400}` (`expires_in` may be a string).
//! 3. The user goes to `{connect_web_url}?fp_cot=<token>`.
//! 4. Flatpeak sends the user to `callback_url?…&state=…&fp_cot=<token>` when they finish *or*
//!    leave, so the callback alone does not mean success.
//! 5. The callback's `fp_cot` must equal the issued token (compared by digest, in constant
//!    time, before any request); then `GET /connect/token?connect_token=…` tells what
//!    happened: `SAVE` → connected (data ready when `tariff_available`), `CLOSE` →
//!    [`ErrorKind::Cancelled`](utilconnect::ErrorKind::Cancelled), `DISCONNECT` →
//!    [`ErrorKind::Disconnected`](utilconnect::ErrorKind::Disconnected), 422 →
//!    [`ErrorKind::Pending`](utilconnect::ErrorKind::Pending) (temporary; finish again later).
//!
//! # Assumptions (not documented by Flatpeak; each is configuration or easy to change)
//!
//! - **State on the callback**: Flatpeak documents only `fp_cot` on the callback. We append
//!   our own `state` to `callback_url` at token creation and assume Flatpeak keeps the query
//!   and adds `fp_cot`. A `callback_url` with its own `state` or `fp_cot` is refused.
//! - **Retrieve path**: `GET /connect/token?connect_token=…` for anode (the previous version
//!   documents `/connect/tariff/token`): `retrieve_path` in config.
//! - **complete_action**: `SAVE`, `CLOSE` or `DISCONNECT`; missing with no `location_id` means
//!   not connected; missing with a `location_id` (historic sessions) means connected.
//! - **Readiness**: `tariff_available` (anode) or `is_tariff_processed` (previous version);
//!   absent means pending.
//! - **Bearer refusal**: an expired or revoked bearer is answered with 401 or 403; both force
//!   one re-login.
//! - **`connect_url`** in the token is the configured `connect_web_url` (the hosted web app),
//!   which is where the provider login redirect returns to.
//! - **Rate limits**: none published; `Retry-After` is honoured when present.
//!
//! # Sandbox
//!
//! With feature `sandbox`, [`sandbox::FlatpeakSandbox`] is an in-process Flatpeak emulator:
//! `/login`, `POST /connect/token` with schema validation, the retrieve call, and the hosted
//! Connect pages as plain HTML forms. Serve one on a fixed port for a person to click through:
//!
//! ```text
//! cargo run -p utilconnect-examples --bin utilconnect -- sandbox flatpeak
//! ```

mod bearer;
mod client;
mod config;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod options;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod webhook;
mod wire;

pub use client::{CALLBACK_TOKEN_PARAM, FlatpeakProvider};
pub use config::{
    CONFIG_KEYS, DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, DEFAULT_CONNECT_WEB_URL,
    DEFAULT_RETRIEVE_PATH, FlatpeakConfig, WebhookConfig,
};
pub use options::{
    Actions, PostalAddress, PostalAddressType, RouteOptions, TariffDirection, TariffType,
    TokenOptions,
};

/// The registry name, as written in config.
pub const NAME: &str = "flatpeak";

/// What this crate registers with utilconnect.
pub const DESCRIPTOR: utilconnect::ProviderDescriptor = utilconnect::ProviderDescriptor::new(
    NAME,
    "Flatpeak Connect (tariff connection on Flatpeak's hosted web app)",
    CONFIG_KEYS,
    utilconnect::build_from_config::<FlatpeakProvider>,
    module_path!(),
)
.with_capabilities(client::CAPABILITIES)
.with_secret_params(&[CALLBACK_TOKEN_PARAM])
.with_recorded_headers(&["flatpeak-version"]);

utilconnect::register_provider!(DESCRIPTOR);
