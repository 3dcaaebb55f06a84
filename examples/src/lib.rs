//! Code shared by the examples: picking a connector (a real vendor from config, or a
//! provider's embedded sandbox), and the web app.
//!
//! The examples link every provider; an app links the ones it wants the same way.

use utilconnect::{Config, Connector, Error, Result};
use utilconnect_sandbox::Sandbox;
// Named so the linker keeps their registrations.
use utilconnect_flatpeak as _;
use utilconnect_greenbutton as _;
use utilconnect_pelm as _;
// Registers `[session_store] kind = "redis"`.
use utilconnect_redis as _;

pub mod file_store;
pub mod webapp;

/// A connector and, when it talks to an embedded sandbox, the sandbox (keep it alive).
pub struct Target {
    /// The connector the app code uses.
    pub connector: Connector,
    /// The running sandbox, if the connector points at one.
    pub sandbox: Option<Box<dyn Sandbox>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("provider", &self.connector.provider().descriptor().name())
            .field(
                "sandbox",
                &self.sandbox.as_ref().map(|s| s.base_url().as_str()),
            )
            .finish()
    }
}

/// The provider named by `provider`, else by config (`provider = …` /
/// `UTILCONNECT_PROVIDER`); an error saying how to choose one otherwise.
pub fn chosen_provider(provider: Option<&str>, config: &Config) -> Result<String> {
    match provider {
        Some(name) => Ok(name.to_owned()),
        None => config.provider_name().map(str::to_owned),
    }
}

/// Like [`chosen_provider`], falling back to the first registered sandbox: for tools that
/// run against the embedded sandboxes by default.
pub fn chosen_or_first_sandbox(provider: Option<&str>, config: &Config) -> Result<String> {
    chosen_provider(provider, config).or_else(|_| {
        utilconnect_sandbox::sandboxes()?
            .first()
            .map(|s| s.provider().to_owned())
            .ok_or_else(|| Error::config("no provider sandbox is registered"))
    })
}

/// A connector for `provider` against its embedded sandbox (no credentials needed).
pub async fn sandbox_target(provider: &str) -> Result<Target> {
    let sandbox = utilconnect_sandbox::sandbox(provider)?.start().await?;
    let connector = utilconnect_sandbox::connector_for(sandbox.as_ref())?;
    Ok(Target {
        connector,
        sandbox: Some(sandbox),
    })
}

/// A connector for `provider` against the real vendor, from `config` (file and environment),
/// with the session store `[session_store]` configures.
pub fn live_target(provider: &str, config: &Config) -> Result<Target> {
    Ok(Target {
        connector: Connector::from_config(&config.clone().with_provider(provider))?,
        sandbox: None,
    })
}

/// A one-line description of an error for people: kind, message, and what to do.
pub fn explain(err: &Error) -> String {
    use utilconnect::ErrorKind::*;
    let hint = match err.kind() {
        Config => "check utilconnect.toml and UTILCONNECT_* variables",
        Unauthorized | Forbidden => "check the provider's credentials",
        InvalidInput => "fix the input named above",
        RateLimited | Upstream | Network | Timeout | Pending => "try again in a moment",
        StateMismatch | ExpiredToken | InvalidCode => "start a new flow",
        Cancelled => "the user chose not to connect; they can start again",
        Disconnected => "the user removed the link",
        QuotaExceeded => "raise the vendor plan's quota",
        _ => "see the message above",
    };
    format!("{} error: {err} — {hint}", err.kind())
}
