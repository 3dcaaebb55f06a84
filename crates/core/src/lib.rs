//! One API for the "Connect" onboarding flows of utility-data vendors.
//!
//! An app creates a short-lived connect token on its server, sends its user to the vendor's
//! hosted Connect page, receives the user back on a callback URL, and completes the link.
//! With utilconnect the app writes that once against [`Connector`] and picks the vendor by
//! configuration (`provider = "pelm"` in `utilconnect.toml`, or `UTILCONNECT_PROVIDER`).
//!
//! A whole app (`examples/src/bin/minimal.rs`, built in every test run); `Cargo.toml`:
//! `utilconnect`, the provider crates you want (e.g. `utilconnect-pelm`), and `tokio` with
//! `macros` and `rt-multi-thread`.
//!
//! ```rust,ignore
//! use utilconnect::{Config, Connector};
//! // Link the providers you want: a crate never named in code is not linked.
//! use utilconnect_pelm as _;
//!
//! #[tokio::main]
//! async fn main() -> utilconnect::Result<()> {
//!     let connector = Connector::from_config(&Config::load()?)?;
//!
//!     // "Connect your utility account" clicked: send the browser to the vendor.
//!     let started = connector.start("user-42", "https://app.example/utility/callback").await?;
//!     println!("redirect the browser to {}", started.connect_url.expose());
//!
//!     // The vendor sends the browser back to /utility/callback?…
//!     let connection = connector.finish("https://app.example/utility/callback?code=…&state=…").await?;
//!     println!("linked {} at {}", connection.user_id(), connection.provider());
//!     Ok(())
//! }
//! ```
//!
//! Providers implement the small [`ConnectProvider`] trait and describe themselves once, in a
//! `const` [`ProviderDescriptor`] (name, capabilities, config keys, secret parameters, build
//! function) registered with [`register_provider!`]; optional operations such as
//! [`Connector::refresh`] are offered by [`Capability`]. Core names no vendor. Every error has
//! an [`ErrorKind`] (what happened) and an [`ErrorStatus`] (what the caller may do). Every
//! secret is a [`secrecy::SecretString`]; no `Debug`, `Display`, error or log line shows one,
//! even when a vendor echoes it back ([`redact`]).
//!
//! Vendor emulators are built from the `utilconnect-sandbox` crate (the emulator kit).

mod callback;
mod clock;
mod config;
mod connector;
mod error;
mod expiring;
mod flow;
pub mod http;
mod provider;
pub mod redact;
mod registry;
mod single_flight;
mod state;
mod store;
mod webhook;

pub use callback::{Callback, MAX_CALLBACK_URL_BYTES, MAX_PARAM_BYTES, MAX_PARAMS};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    BaseUrl, Config, DEFAULT_CONFIG_FILE, ENV_PREFIX, MAX_CONFIG_BYTES, ProviderConfig,
    SESSION_STORE_TABLE, lenient, limits,
};
pub use connector::{ConnectUrl, Connector, ConnectorBuilder, REFRESH_REUSE, Started};
pub use error::{
    Error, ErrorKind, ErrorStatus, MAX_JSON_PATH_CHARS, MAX_MESSAGE_CHARS, MAX_VENDOR_CODE_CHARS,
    Operation, Result,
};
pub use flow::{
    AccessCredentials, ConnectToken, Connection, DataStatus, MAX_TOKEN_LIFETIME, MAX_USER_ID_BYTES,
    Mode, Options, PendingSession, TokenRequest,
};
pub use provider::{Capability, ConnectProvider, unsupported};
pub use registry::{
    BuildContext, BuildFn, ConfigKey, FromConfig, ProviderDescriptor, build_from_config,
    build_provider, provider, providers,
};
pub use state::{Digest, STATE_BYTES, State};
pub use store::{
    DEFAULT_STORE_KIND, InMemorySessionStore, MAX_MEMORY_CAPACITY, SessionStore, StoreBuildFn,
    StoreDescriptor, session_store_from_config, session_stores,
};
pub use webhook::{
    EVENT_ID_RETENTION, Event, EventKind, EventStore, InMemoryEventStore, WebhookCheck,
};

// Re-exported so provider crates share our versions.
pub use async_trait::async_trait;
pub use secrecy;
pub use url::Url;

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
