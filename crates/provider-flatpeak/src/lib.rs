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
//! # Wire format
//!
//! `api_version` selects one of Flatpeak's API versions; the paths, the body shapes and the
//! `Flatpeak-Version` header sent on every call follow it ([`ApiVersion`]):
//!
//! | version | create | retrieve | sources |
//! |---|---|---|---|
//! | `2024-08-24` | `POST /connect/tariff/token` (`callback_uri`, `connect_web_uri`, `direction`, `type`, …) | `GET /connect/tariff/token?connect_token=` | the 2024-08-24 OpenAPI spec |
//! | `2025-09-14.anode` (default) | `POST /connect/token` (`connect_url`, `callback_url`, `tariff_direction`, …) | `GET /connect/tariff/token?connect_token=` | the anode pages "Create a Connect token" and "Exchange a connect token" |
//! | `busbar` | `POST /connect` (`location_id`, `connect_url`, `callback_url`, `device_id`, `provider_id`) | `GET /connect/{connect_token}` | the busbar pages "Create a Connect session" and "Retrieve a Connect session" |
//!
//! 1. `GET /login` with Basic auth (account id, API key) → `{"bearer_token", "expires_in"}`.
//!    The bearer is cached until `bearer_refresh_margin` before it expires; concurrent callers
//!    share one login; a 401/403 on a cached bearer forces one re-login and one retry.
//! 2. The create call with the bearer: `connect_url` (the Connect web app), the callback (the
//!    app's with our `state` appended) and the flow's options as typed [`TokenOptions`],
//!    validated first, including that the version has each one ([`TokenOptions::check_for`]).
//!    → `{"connect_token": "cot_…", "expires_in": 86400}` (`expires_in` may be a string); in
//!    busbar a `connect_session` whose `id` is the token and `time_expiry` its end.
//! 3. The user goes to `{connect_web_url}?fp_cot=<token>`.
//! 4. Flatpeak sends the user to `callback_url?…&state=…&fp_cot=<token>` when they finish *or*
//!    leave, so the callback alone does not mean success.
//! 5. The callback's `fp_cot` must equal the issued token (compared by digest, in constant
//!    time, before any request); then the retrieve call tells what happened: `SAVE` →
//!    connected (data ready when `is_tariff_processed`, or busbar's `data_available`),
//!    `CLOSE` → [`ErrorKind::Cancelled`](utilconnect::ErrorKind::Cancelled), `DISCONNECT` →
//!    [`ErrorKind::Disconnected`](utilconnect::ErrorKind::Disconnected), 422 →
//!    [`ErrorKind::Pending`](utilconnect::ErrorKind::Pending) (temporary; finish again later).
//!
//! # Assumptions (not documented by Flatpeak; each is configuration or easy to change)
//!
//! - **State on the callback**: Flatpeak documents only `fp_cot` on the callback. We append
//!   our own `state` to `callback_url` at token creation and assume Flatpeak keeps the query
//!   and adds `fp_cot`. A `callback_url` with its own `state` or `fp_cot` is refused.
//! - **busbar's version string** is not published: `api_version = "busbar"` is our name for
//!   it, and the header value sent is `busbar_version`, which must be set with it.
//! - **Retrieve path**: each version's documented one; `retrieve_path` overrides it (a path
//!   ending in `{connect_token}` puts the token in the path, otherwise in the query).
//! - **complete_action**: `SAVE`, `CLOSE` or `DISCONNECT`; missing with no (or an empty)
//!   `location_id` means not connected; missing with a `location_id` (historic sessions, and
//!   every busbar session) means connected.
//! - **busbar outcome**: its retrieve answer has no final action, so a session the user
//!   closed reads as connected to its (pre-existing) location with data not yet available.
//! - **Readiness**: `is_tariff_processed` (2024, anode), `tariff_available` (one of the
//!   vendor's own pages), `data_available` (busbar); absent means pending.
//! - **Bearer refusal**: an expired or revoked bearer is answered with 401 or 403; both force
//!   one re-login.
//! - **`connect_url`** in the token is the configured `connect_web_url` (the hosted web app),
//!   which is where the provider login redirect returns to.
//! - **Rate limits**: none published; `Retry-After` is honoured when present.
//!
//! # Sandbox
//!
//! With feature `sandbox`, [`sandbox::FlatpeakSandbox`] is an in-process Flatpeak emulator:
//! `/login`, each API version's create and retrieve calls with schema validation, the Connect
//! JSON API that Flatpeak's own web app talks to, and the hosted Connect pages as plain HTML
//! forms over the same conversation. Serve one on a fixed port for a person to click through:
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
mod version;
mod webhook;
mod wire;

pub use client::{CALLBACK_TOKEN_PARAM, FlatpeakProvider};
pub use config::{
    CONFIG_KEYS, DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, DEFAULT_CONNECT_WEB_URL,
    FlatpeakConfig, WebhookConfig,
};
pub use options::{
    Actions, PostalAddress, PostalAddressType, RouteOptions, TariffDirection, TariffType,
    TokenOptions,
};
pub use version::{ApiVersion, TOKEN_PLACEHOLDER, UnknownApiVersion};

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
