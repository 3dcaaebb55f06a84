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

/// What the web app says on every page when it runs against a sandbox.
pub const SANDBOX_BANNER: &str = "the provider is an emulator running on this machine: no real utility account is linked, and the test login is shown on its pages.";

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
    let name = match provider {
        Some(name) => name.to_owned(),
        None => config.provider_name()?.to_owned(),
    };
    // An unknown name fails here, first, with the closest registered one.
    utilconnect::provider(&name)?;
    Ok(name)
}

/// Like [`chosen_provider`], falling back to the first registered sandbox: for tools that
/// run against the embedded sandboxes by default.
pub fn chosen_or_first_sandbox(provider: Option<&str>, config: &Config) -> Result<String> {
    if provider.is_some() || config.provider_name().is_ok() {
        // A name was given: it must be right (no silent fallback to another provider).
        return chosen_provider(provider, config);
    }
    utilconnect_sandbox::sandboxes()?
        .first()
        .map(|s| s.provider().to_owned())
        .ok_or_else(|| Error::config("no provider sandbox is registered"))
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

/// A one-line description of an error for people: what happened (once), where (provider and
/// step), and advice that fits the cause.
///
/// ```
/// let err = utilconnect::Error::config("no provider chosen: set `provider` in utilconnect.toml");
/// assert_eq!(
///     utilconnect_examples::explain(&err),
///     "error: no provider chosen: set `provider` in utilconnect.toml",
/// );
/// ```
pub fn explain(err: &Error) -> String {
    use utilconnect::ErrorKind::*;
    let what = err.details();
    let context = match err.provider() {
        Some(provider) => format!(" ({provider}, {})", err.operation()),
        None => String::new(),
    };
    let message = err.message();
    let hint = match err.kind() {
        // Config messages already say which key or variable to fix.
        Config if message.contains("utilconnect.toml") || message.contains("UTILCONNECT_") => None,
        Config => Some("check utilconnect.toml and UTILCONNECT_* variables"),
        // Network messages say what to check (DNS, port, TLS).
        Network => None,
        Unauthorized | Forbidden => Some("check the provider's credentials"),
        InvalidInput => Some("fix the input named above"),
        Timeout if err.provider().is_some() => Some(
            "the vendor did not answer in time: try again, or raise the provider's http.total_deadline",
        ),
        RateLimited | Upstream | Pending => Some("try again in a moment"),
        StateMismatch | ExpiredToken | InvalidCode => Some("start a new flow"),
        ReauthorizationRequired => Some("send the user through Connect again"),
        Cancelled => Some("the user chose not to connect; they can start again"),
        Disconnected => Some("the user removed the link"),
        QuotaExceeded => Some("raise the vendor plan's quota"),
        _ => None,
    };
    match hint {
        Some(hint) => format!("error: {what}{context} — {hint}"),
        None => format!("error: {what}{context}"),
    }
}

/// The log subscriber of the examples' binaries: off unless asked, so a person debugging a
/// flow sees the SDK's spans (`utilconnect.start`, `utilconnect.finish`, HTTP attempts) on
/// `writer` (standard error). `RUST_LOG` decides when set; otherwise `verbosity` (the CLI's
/// `-v` count): 0 nothing, 1 the SDK's steps (info), 2 and more its detail (debug).
///
/// ```
/// let subscriber = utilconnect_examples::log_subscriber(1, std::io::sink);
/// tracing::subscriber::with_default(subscriber, || tracing::info!("shown at -v"));
/// ```
pub fn log_subscriber<W>(verbosity: u8, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match verbosity {
            0 => "off",
            1 => "utilconnect=info",
            _ => "utilconnect=debug,info",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish()
}
