//! Configuration: `utilconnect.toml` layered under `UTILCONNECT_…` environment variables.
//!
//! Layering is done by [figment], which merges sources, keeps track of where every value came
//! from, and names the exact key (and file) in its errors; that is what lets a provider's
//! `deny_unknown_fields` table report `providers.pelm.client_secert` instead of a bare
//! "unknown field".
//!
//! ```toml
//! provider = "pelm"              # or UTILCONNECT_PROVIDER=pelm
//!
//! [providers.pelm]
//! client_id = "…"
//! client_secret = "…"            # or UTILCONNECT_PROVIDERS__PELM__CLIENT_SECRET=…
//!
//! [providers.pelm.http]          # optional, see http::HttpConfig
//! request_timeout = "10s"
//! ```
//!
//! Environment variables use `__` between levels: `UTILCONNECT_PROVIDERS__FLATPEAK__API_KEY`.
//! Their values are taken verbatim as strings (figment's own `Env` would turn a secret such as
//! `0012345` into the number 12345); numeric keys accept strings through [`lenient`].
//! `UTILCONNECT_CONFIG` names another file instead of `./utilconnect.toml`.

mod base_url;
mod env;
mod errors;
pub mod lenient;
pub mod limits;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use base_url::BaseUrl;
use env::VerbatimEnv;
use errors::{Table, config_error, config_error_in};

use crate::error::{Error, Result};

/// The table that chooses and configures the session store.
pub const SESSION_STORE_TABLE: &str = "session_store";

/// The file read by [`Config::load`] unless `UTILCONNECT_CONFIG` names another.
pub const DEFAULT_CONFIG_FILE: &str = "utilconnect.toml";
/// Prefix of every environment variable read.
pub const ENV_PREFIX: &str = "UTILCONNECT_";
/// `UTILCONNECT_…` variables that are not configuration keys.
pub(crate) const ENV_NOT_KEYS: &[&str] = &["config", "live"];
/// The largest configuration file or text read, in bytes. A real one is a few hundred bytes;
/// the cap keeps a runaway or hostile file from costing seconds of parsing.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The top-level keys; anything else is an error naming it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    provider: Option<String>,
    #[serde(default)]
    providers: BTreeMap<String, figment::value::Value>,
    #[serde(default)]
    #[allow(dead_code, reason = "validated for shape here, read by focus")]
    session_store: Option<figment::value::Value>,
}

/// Loaded configuration: which provider to use and each provider's table.
///
/// ```
/// let config = utilconnect::Config::from_toml_str(r#"
///     provider = "pelm"
///     [providers.pelm]
///     client_id = "id"
/// "#)?;
/// assert_eq!(config.provider_name()?, "pelm");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Clone)]
pub struct Config {
    figment: Figment,
    provider: Option<String>,
}

impl Config {
    /// Loads `./utilconnect.toml` (or the file named by `UTILCONNECT_CONFIG`; a missing file is
    /// fine) overlaid by `UTILCONNECT_…` environment variables.
    pub fn load() -> Result<Self> {
        let path = std::env::var_os("UTILCONNECT_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::load_file(&path)
    }

    /// Loads `path` (a missing file is fine) overlaid by `UTILCONNECT_…` environment variables.
    pub fn load_file(path: &Path) -> Result<Self> {
        if let Ok(metadata) = std::fs::metadata(path) {
            check_size(metadata.len(), &path.display().to_string())?;
        }
        let figment = Figment::new()
            .merge(Toml::file(path))
            .merge(VerbatimEnv::from_process());
        Self::from_figment(figment)
    }

    /// Parses configuration from TOML text only (no file, no environment): for tests and docs.
    pub fn from_toml_str(toml: &str) -> Result<Self> {
        check_size(toml.len() as u64, "the configuration text")?;
        Self::from_figment(Figment::from(Toml::string(toml)))
    }

    /// Uses any figment, for apps that already layer their own configuration.
    pub fn from_figment(figment: Figment) -> Result<Self> {
        let top: TopLevel = figment.extract().map_err(|e| config_error(e, None))?;
        Ok(Self {
            figment,
            provider: top.provider,
        })
    }

    /// This configuration with `name` as the chosen provider (a command-line flag over the
    /// file and the environment, say).
    ///
    /// ```
    /// let config = utilconnect::Config::from_toml_str(r#"provider = "pelm""#)?.with_provider("flatpeak");
    /// assert_eq!(config.provider_name()?, "flatpeak");
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn with_provider(mut self, name: impl Into<String>) -> Self {
        self.provider = Some(name.into());
        self
    }

    /// The provider chosen by `provider = "…"` / `UTILCONNECT_PROVIDER`.
    pub fn provider_name(&self) -> Result<&str> {
        self.provider.as_deref().ok_or_else(|| {
            Error::config(
                "no provider chosen: set `provider = \"<name>\"` in utilconnect.toml \
                 or UTILCONNECT_PROVIDER",
            )
        })
    }

    /// The `[providers.<name>]` table (empty when absent).
    pub fn provider_config(&self, name: &str) -> ProviderConfig {
        let path = format!("providers.{name}");
        ProviderConfig {
            provider: name.to_owned(),
            figment: self.figment.focus(&path),
            path,
        }
    }

    /// Checks every `[providers.<name>]` table present, not only the chosen one: each must
    /// name a registered provider (a typo gets the closest name) and hold only that
    /// provider's keys, so a misspelt table or key is reported now, not when someone switches
    /// to it later.
    pub fn check_provider_tables(&self) -> Result<()> {
        let top: TopLevel = self.figment.extract().map_err(|e| config_error(e, None))?;
        let registered = crate::registry::providers()?;
        let names: Vec<&str> = registered.iter().map(|d| d.name()).collect();
        for name in top.providers.keys() {
            let Some(descriptor) = registered.iter().find(|d| d.name() == name) else {
                let shown = crate::redact::sanitize(name, 64);
                let guess = crate::registry::closest(name, &names)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                return Err(Error::config(format!(
                    "`[providers.{shown}]` is not a registered provider; {guess}(registered: {}; \
                     link a provider crate to register it)",
                    names.join(", ")
                )));
            };
            descriptor.check_table(&self.provider_config(name), false)?;
        }
        Ok(())
    }

    /// The `[session_store]` table (empty when absent: the in-memory store), read by
    /// [`Connector::from_config`](crate::Connector::from_config).
    pub fn session_store_config(&self) -> ProviderConfig {
        ProviderConfig::section(SESSION_STORE_TABLE, self.figment.focus(SESSION_STORE_TABLE))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are not shown: any of them may be a secret.
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

fn check_size(bytes: u64, what: &str) -> Result<()> {
    if bytes > MAX_CONFIG_BYTES {
        return Err(Error::config(format!(
            "{what} is {bytes} bytes; a configuration of at most {MAX_CONFIG_BYTES} bytes is read"
        )));
    }
    Ok(())
}

/// One configuration table, handed to its builder: a provider's (`[providers.<name>]`) or
/// the session store's (`[session_store]`).
///
/// ```
/// use serde::Deserialize;
/// use secrecy::SecretString;
///
/// #[derive(Debug, Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct PelmConfig { client_id: String, client_secret: SecretString }
///
/// let table = utilconnect::ProviderConfig::from_json("pelm", serde_json::json!({
///     "client_id": "id", "client_secret": "s", "typo": 1,
/// }));
/// let err = table.extract::<PelmConfig>().unwrap_err();
/// assert!(err.to_string().contains("`typo`"));
/// ```
#[derive(Clone)]
pub struct ProviderConfig {
    provider: String,
    /// Where the table sits, for errors: `providers.pelm`, `session_store`.
    path: String,
    figment: Figment,
}

impl ProviderConfig {
    /// A table built in code (sandboxes and tests use this to point a provider at an emulator).
    pub fn from_json(provider: impl Into<String>, table: serde_json::Value) -> Self {
        Self::of_provider(provider.into(), Figment::from(Serialized::defaults(table)))
    }

    /// A table from TOML text.
    pub fn from_toml_str(provider: impl Into<String>, toml: &str) -> Self {
        Self::of_provider(provider.into(), Figment::from(Toml::string(toml)))
    }

    /// The session store's table built in code, e.g. `{"kind": "redis", "url": …}`.
    pub fn session_store_from_json(table: serde_json::Value) -> Self {
        Self::section(
            SESSION_STORE_TABLE,
            Figment::from(Serialized::defaults(table)),
        )
    }

    fn of_provider(provider: String, figment: Figment) -> Self {
        Self {
            path: format!("providers.{provider}"),
            provider,
            figment,
        }
    }

    /// A table that configures no provider (errors carry no provider name).
    fn section(path: &str, figment: Figment) -> Self {
        Self {
            provider: String::new(),
            path: path.to_owned(),
            figment,
        }
    }

    fn table(&self) -> Table<'_> {
        Table {
            path: &self.path,
            provider: Some(self.provider.as_str()).filter(|p| !p.is_empty()),
        }
    }

    /// This table with `overlay`'s keys merged over it (tables merge key by key), e.g. to
    /// shorten timeouts in a test.
    ///
    /// ```
    /// let table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"http": {"max_retries": 3}}))
    ///     .merged(serde_json::json!({"http": {"request_timeout": "1s"}}));
    /// let http: utilconnect::http::HttpConfig = table.extract_key("http")?;
    /// assert_eq!((http.max_retries, http.request_timeout.as_secs()), (3, 1));
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn merged(self, overlay: serde_json::Value) -> Self {
        Self {
            provider: self.provider,
            path: self.path,
            figment: self.figment.merge(Serialized::defaults(overlay)),
        }
    }

    /// Deserializes one key of the table.
    pub fn extract_key<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        // Focused rather than `extract_inner`, whose errors put the key after the field.
        self.figment
            .focus(key)
            .extract()
            .map_err(|e| config_error_in(e, Some(&self.table()), Some(key)))
    }

    /// The provider this table belongs to (empty for a table that configures none).
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Where the table sits in the configuration, e.g. `providers.pelm` or `session_store`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Deserializes the table into the provider's config struct.
    ///
    /// Errors are [`ErrorKind::Config`](crate::ErrorKind::Config) and name the key, e.g.
    /// ``providers.pelm: unknown key `typo` ``; they never echo a value.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T> {
        self.figment
            .extract()
            .map_err(|e| config_error(e, Some(&self.table())))
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail closures return figment's own error type"
)]
mod tests;
