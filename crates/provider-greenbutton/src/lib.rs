//! Green Button Connect My Data provider for [`utilconnect`]: the open standard (NAESB REQ.21,
//! "ESPI") through which many North American utilities let a customer share their data with
//! a third party, over an OAuth 2.0 authorization code grant (RFC 6749 §4.1).
//!
//! Each utility is a *Data Custodian* with its own endpoints and its own registration of
//! your app; configure as many as you are registered with and pick one per flow:
//!
//! ```no_run
//! use utilconnect::{Config, Connector};
//! use utilconnect_greenbutton as _; // links the provider so `provider = "greenbutton"` finds it
//!
//! # async fn run() -> utilconnect::Result<()> {
//! let connector = Connector::from_config(&Config::from_toml_str(r#"
//!     provider = "greenbutton"
//!     [providers.greenbutton]
//!     default_custodian = "utility-a"
//!     [providers.greenbutton.custodians.utility-a]
//!     authorize_url = "https://utility-a.example/oauth2/authorize"
//!     token_url = "https://utility-a.example/oauth2/token"
//!     client_id = "my-client"
//!     client_secret = "my-secret"
//!     scope = "FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13"
//! "#)?)?;
//! let started = connector.start("user-42", "https://app.example/greenbutton/callback").await?;
//! // Another utility, and a narrower scope, for one flow:
//! let options = serde_json::json!({"custodian": "utility-a", "scope": "FB=4_5"});
//! let started = connector
//!     .start_with("user-43", "https://app.example/greenbutton/callback",
//!                 options.as_object().unwrap().clone())
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Wire format
//!
//! From the wire reference (`shared/vendor-docs/PROTOCOLS.md`, "Green Button Connect My
//! Data"), RFC 6749, and the Green Button Alliance's pages it cites:
//!
//! 1. No call at `start`: the user goes to `<authorize_url>?response_type=code&client_id=…&
//!    redirect_uri=…&scope=…&state=…` (form-encoded query, RFC 6749 appendix B).
//! 2. The utility sends the user to `redirect_uri?code=…&state=…`, or `?error=…&state=…`
//!    (RFC 6749 §4.1.2.1; `access_denied` is [`ErrorKind::Cancelled`](utilconnect::ErrorKind),
//!    the other codes have kinds of their own, see `Callback::vendor_error`).
//! 3. `POST <token_url>`, HTTP Basic `client_id:client_secret`, form
//!    `grant_type=authorization_code&code=…&redirect_uri=…` → `{"access_token", "token_type":
//!    "Bearer", "expires_in", "refresh_token", "scope", "resourceURI", "authorizationURI"}`.
//!    The [`Connection`](utilconnect::Connection) carries the tokens (secrets) in its
//!    credentials, and the custodian id, scope, `resourceURI` and `authorizationURI` as vendor
//!    ids (names in [`ids`]).
//! 4. [`Connector::refresh`](utilconnect::Connector::refresh): the same endpoint,
//!    `grant_type=refresh_token&refresh_token=…`; a new refresh token replaces the old one when
//!    the utility sends one. A revoked grant answers `invalid_grant`:
//!    [`ErrorKind::ReauthorizationRequired`](utilconnect::ErrorKind::ReauthorizationRequired).
//!
//! Token endpoint errors are RFC 6749 §5.2 bodies, mapped in one function (the table is on
//! `errors::map_error`): `invalid_grant` → `InvalidCode` (exchange) or
//! `ReauthorizationRequired` (refresh), `invalid_client` → `Unauthorized`, `invalid_request` →
//! `InvalidInput`, `unauthorized_client` → `Forbidden`, `unsupported_grant_type` →
//! `Unsupported`, `invalid_scope` → `Config`.
//!
//! # Assumptions (not fixed by the documents we have; each is configuration or stated here)
//!
//! - **Flow lifetime**: RFC 6749 sets none for the user's visit; a flow may be finished for
//!   `authorize_ttl` (default 30 minutes, 1 minute to 24 hours).
//! - **Client authentication**: HTTP Basic with id and secret form-encoded first
//!   (RFC 6749 §2.3.1), never the secret in the body.
//! - **Scope grammar**: `key=value` terms joined by `;`, one `FB=` term of `_`-joined function
//!   block numbers (1–99); keys are letters and digits, values letters, digits, `_`, `.`, `-`.
//!   A flow's `scope` option *narrows* the configured one: a subset of its function blocks,
//!   every other term equal to the configured value (whether a shorter `HistoryLength` is
//!   narrower is not documented, so it is refused).
//! - **Data readiness**: a custodian serves the feed once the grant exists, so a new
//!   connection is [`DataStatus::Ready`](utilconnect::DataStatus); a utility still preparing
//!   data answers the feed itself with an error.
//! - **Retries**: the code and (rotating) refresh tokens are single use, so the token endpoint
//!   is never resent once a request may have reached it.
//! - **Scope selection at the third party** (some utilities first send the user to the app's
//!   own scope page with `DataCustodianID`): not supported; the flow starts at the utility.
//! - **Custodian ids** (keys of `custodians`) are letters, digits, `-` and `_`; environment
//!   variables cannot spell a `-`, so use `_` in ids you override from the environment.
//!
//! # Sandbox
//!
//! With feature `sandbox`, [`sandbox::GreenButtonSandbox`] is an in-process Data Custodian
//! emulator with two utilities. Serve one for a person to click through:
//!
//! ```text
//! cargo run -p utilconnect-examples --bin utilconnect -- sandbox greenbutton
//! ```

mod client;
mod config;
mod errors;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod scope;
mod wire;

pub use client::{GreenButtonProvider, OPTION_KEYS, ids};
pub use config::{
    AUTHORIZE_TTL_RANGE, CONFIG_KEYS, CustodianConfig, DEFAULT_AUTHORIZE_TTL, GreenButtonConfig,
    MAX_CUSTODIAN_ID_CHARS, MAX_CUSTODIANS,
};
pub use scope::{MAX_SCOPE_CHARS, Scope, ScopeError};

/// The registry name, as written in config.
pub const NAME: &str = "greenbutton";

/// What this crate registers with utilconnect.
pub const DESCRIPTOR: utilconnect::ProviderDescriptor = utilconnect::ProviderDescriptor::new(
    NAME,
    "Green Button Connect My Data (OAuth 2.0 at the utility; several utilities in one config)",
    CONFIG_KEYS,
    utilconnect::build_from_config::<GreenButtonProvider>,
    module_path!(),
)
.with_capabilities(client::CAPABILITIES);

utilconnect::register_provider!(DESCRIPTOR);
