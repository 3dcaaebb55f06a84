//! A Redis [`SessionStore`](utilconnect::SessionStore) for [`utilconnect`]: pending flows shared by every instance of an
//! app, so the user's `start` may land on one instance and the vendor's callback on another.
//!
//! Choose it by config; linking the crate registers the `redis` kind:
//!
//! ```toml
//! [session_store]
//! kind = "redis"
//! url = "redis://:password@127.0.0.1:6379/0"   # or rediss://… ; UTILCONNECT_SESSION_STORE__URL
//! # key_prefix = "utilconnect:session:"
//! # connect_timeout = "2s"
//! # response_timeout = "2s"
//! ```
//!
//! ```no_run
//! use utilconnect_redis as _; // registers `kind = "redis"`
//! # fn run() -> utilconnect::Result<()> {
//! let connector = utilconnect::Connector::from_config(&utilconnect::Config::load()?)?;
//! # Ok(()) }
//! ```
//!
//! # What it does on the wire
//!
//! - `put`: `SET <prefix><state digest> <session JSON> PX <ms until the flow expires>`;
//! - `get`: `GET`;
//! - `take`: `GETDEL` (atomic: a callback works once); on servers before 6.2, which lack it,
//!   a two-line Lua script does `GET` + `DEL` in one step.
//!
//! Sessions hold digests only (no secret), so nothing sensitive is stored. The URL's password
//! is a secret: it is never shown in `Debug`, errors or logs.
//!
//! # What it guarantees
//!
//! A `put` that returned `Ok` was acknowledged by the server. Whether it survives a Redis
//! restart is the server's persistence: with `appendonly yes` and `appendfsync always` an
//! acknowledged session survives a crash; with `appendfsync everysec` (Redis' default for AOF)
//! at most a second is lost; with no persistence a restart forgets every pending flow, and
//! its callback then fails with [`ErrorKind::StateMismatch`](utilconnect::ErrorKind). A
//! server that cannot be reached gives [`ErrorKind::Network`](utilconnect::ErrorKind) or
//! [`ErrorKind::Timeout`](utilconnect::ErrorKind) naming the (password-free) URL, and `start`
//! then returns no connect URL.

mod config;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    CONFIG_KEYS, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, MAX_KEY_PREFIX_CHARS, RedisStoreConfig,
    TIMEOUT_RANGE,
};
pub use store::RedisSessionStore;

/// The `kind` written in `[session_store]`.
pub const KIND: &str = "redis";

utilconnect::register_session_store!(utilconnect::StoreDescriptor::new(
    KIND,
    "Redis, shared by every instance of the app (keeps flows across restarts with persistence)",
    CONFIG_KEYS,
    store::build,
    module_path!(),
));
