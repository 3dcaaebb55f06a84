//! Pelm provider for [`utilconnect`]: Pelm's redirect Connect flow.
//!
//! ```no_run
//! use utilconnect::{Config, Connector};
//! use utilconnect_pelm as _; // links the provider so `provider = "pelm"` finds it
//!
//! # async fn run() -> utilconnect::Result<()> {
//! let connector = Connector::from_config(&Config::from_toml_str(r#"
//!     provider = "pelm"
//!     [providers.pelm]
//!     client_id = "my-client"
//!     client_secret = "my-secret"
//! "#)?)?;
//! let started = connector.start("user-42", "https://app.example/pelm/callback").await?;
//! # Ok(()) }
//! ```
//!
//! # Wire format
//!
//! From Pelm's Connect guide (`shared/vendor-docs/pelm-connect-flow.md`) and our wire reference:
//!
//! 1. `POST {api_base_url}/auth/connect-token`, headers `Pelm-Client-Id`, `Pelm-Secret`, form
//!    `user_id` (+ `utility_slug` *or* `utility_id`) → `{"connect_token", "expires_in": 1800}`.
//! 2. The user goes to `{connect_base_url}?redirect_uri=…&connect_token=…&state=…`.
//! 3. Pelm sends the user to `redirect_uri?code=…&state=…`.
//! 4. `POST {api_base_url}/auth/token`, same headers, form `code=…&grant_type=code` →
//!    `{"access_token", "refresh_token", …}`. All three token values are secrets.
//!
//! Errors are `{"error_code", "message"}` bodies, mapped in one function (see the table on
//! `errors::map_error`, reproduced in the README).
//!
//! # Limit: a code is not bound to its flow on the wire
//!
//! Pelm's exchange takes the code alone and answers with tokens alone: nothing says which
//! connect token, and so which `user_id`, a code came from. A callback carrying user A's
//! `code` with user B's `state` therefore completes as user B, linking A's utility account
//! to B, and neither the SDK nor Pelm can tell. (The sandbox behaves as Pelm does: it checks
//! that a code is its own, unexpired, unused and exchanged with the client's credentials.)
//! The guard is the state, which must stay with the user who started the flow: keep
//! `Started::state` in that user's browser session (an HttpOnly cookie) and compare it with
//! the callback's `state` before calling `finish`. `check_callback` refuses a missing, empty
//! or malformed code before the session is consumed, and a code Pelm refuses leaves the
//! session in place, so a forged callback cannot burn the real flow.
//!
//! # Assumptions (not documented by Pelm; each is configuration or easy to change)
//!
//! - **Token path**: the guide's prose says `/auth/connect_token`, every official sample
//!   `/auth/connect-token`; we send the hyphen (`token_path` in config).
//! - **Form encoding**: we send `application/x-www-form-urlencoded` (the guide's curl uses
//!   `multipart/form-data`; the sandbox accepts both).
//! - **`grant_type=code`** is sent with the exchange, as the guide shows; the vendor's newer
//!   quickstart sends `code` alone, and the sandbox accepts both.
//! - **Cancelled flows**: a callback with an `error` parameter, or without `code`, means the
//!   user did not connect ([`ErrorKind::Cancelled`](utilconnect::ErrorKind::Cancelled)).
//! - **Used or unknown code**: Pelm documents `401 token_invalid` for bad tokens; a 400 or a
//!   non-credential 401 on the exchange is reported as
//!   [`ErrorKind::InvalidCode`](utilconnect::ErrorKind::InvalidCode).
//! - **Data readiness**: Pelm answers `500 data_unavailable` for a few minutes after Connect,
//!   so a fresh connection is reported as [`DataStatus::Pending`](utilconnect::DataStatus).
//! - **Rate limits**: none documented; a 429 is treated like any rate limit, honouring
//!   `Retry-After`.
//! - **Connect token reuse**: only the 30-minute expiry is documented; the sandbox also stops
//!   accepting a token once it produced a code (the stricter reading).
//!
//! # Sandbox
//!
//! With feature `sandbox`, [`sandbox::PelmSandbox`] is an in-process Pelm emulator: the two
//! API calls, the hosted Connect pages as plain HTML forms, and the data calls Pelm's own
//! sample apps make with the access token (`GET /accounts`, `/intervals`, `/bills`; `500
//! data_unavailable` for `SandboxOptions::data_delay` after Connect). Their answers' fields are
//! an assumption (the wire reference lists the calls, not their bodies). Any other path
//! answers Pelm's JSON error body. Serve one on a fixed port for a
//! person to click through:
//!
//! ```text
//! cargo run -p utilconnect-examples --bin utilconnect -- sandbox pelm
//! ```

mod client;
mod config;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod wire;

pub use client::{OPTION_KEYS, PelmProvider};
pub use config::{
    CONFIG_KEYS, DEFAULT_API_BASE_URL, DEFAULT_CONNECT_BASE_URL, DEFAULT_EXCHANGE_PATH,
    DEFAULT_TOKEN_PATH, PelmConfig,
};

/// The registry name, as written in config.
pub const NAME: &str = "pelm";

/// What this crate registers with utilconnect.
pub const DESCRIPTOR: utilconnect::ProviderDescriptor = utilconnect::ProviderDescriptor::new(
    NAME,
    "Pelm Connect (utility login on Pelm's hosted page)",
    CONFIG_KEYS,
    utilconnect::build_from_config::<PelmProvider>,
    module_path!(),
)
.with_capabilities(client::CAPABILITIES)
.with_recorded_headers(&["pelm-client-id", "pelm-secret"]);

utilconnect::register_provider!(DESCRIPTOR);
