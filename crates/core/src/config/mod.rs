//! Configuration: `utilconnect.toml` layered under `UTILCONNECT_…` environment variables.
//!
//! The sources are merged key by key, each value remembering where it came from, so errors
//! name the exact key and its file or variable: a provider's `deny_unknown_fields` table
//! reports ``providers.pelm: unknown key `client_secert` `` instead of a bare "unknown
//! field". Errors never quote a value (a value in the wrong key may be a secret).
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
//! Their values are taken verbatim as strings (a secret such as `0012345` stays a string);
//! numeric keys accept strings through [`lenient`].
//! `UTILCONNECT_CONFIG` names another file instead of `./utilconnect.toml`.

mod base_url;
mod env;
mod errors;
mod file;
mod layers;
pub mod lenient;
pub mod limits;
mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

pub use base_url::BaseUrl;
use env::VerbatimEnv;
use errors::{Table, config_error};
use layers::{Layered, Source};

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
/// How deep arrays and tables may nest in a configuration file: a real one nests two or
/// three deep; the bound keeps a hostile file from exhausting the parser's stack.
pub const MAX_NESTING: usize = 64;

/// The top-level keys; anything else is an error naming it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    provider: Option<String>,
    #[serde(default)]
    providers: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code, reason = "named so it is not an unknown key; read by focus")]
    session_store: Option<IgnoredAny>,
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
    layers: Layered,
    provider: Option<String>,
}

impl Config {
    /// Loads `utilconnect.toml` (or the file named by `UTILCONNECT_CONFIG`) overlaid by
    /// `UTILCONNECT_…` environment variables. A relative path is looked for in the current
    /// directory, then in each parent; no file at all is an empty configuration.
    pub fn load() -> Result<Self> {
        Self::load_in(&VerbatimEnv::from_process(), &current_dir())
    }

    /// Loads `path` (looked for as [`load`](Self::load) does; a missing file is fine)
    /// overlaid by `UTILCONNECT_…` environment variables.
    pub fn load_file(path: &Path) -> Result<Self> {
        Self::load_with(path, &VerbatimEnv::from_process(), &current_dir())
    }

    /// [`load`](Self::load) with `env` as the environment and `cwd` as the current directory.
    fn load_in(env: &VerbatimEnv, cwd: &Path) -> Result<Self> {
        let path = env
            .config_file()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::load_with(&path, env, cwd)
    }

    fn load_with(path: &Path, env: &VerbatimEnv, cwd: &Path) -> Result<Self> {
        let mut layers = match file::find(path, cwd) {
            Some(found) => file::read(&found)?,
            None => Layered::default(),
        };
        layers.merge(env.place().map_err(Error::config)?);
        Self::from_layers(layers)
    }

    /// Parses configuration from TOML text only (no file, no environment): for tests and docs.
    pub fn from_toml_str(toml: &str) -> Result<Self> {
        let shown = "the configuration text";
        file::check_size(toml.len() as u64, shown)?;
        Self::from_layers(file::parse(toml, Source::Code, shown)?)
    }

    /// Uses a configuration tree built in code, for apps that already layer their own
    /// configuration (read it with their own loader, then hand the merged tree over).
    ///
    /// ```
    /// let config = utilconnect::Config::from_json(serde_json::json!({
    ///     "provider": "pelm",
    ///     "providers": {"pelm": {"client_id": "id"}},
    /// }))?;
    /// assert_eq!(config.provider_name()?, "pelm");
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn from_json(tree: serde_json::Value) -> Result<Self> {
        Self::from_layers(Layered::new(tree, Source::Code).map_err(Error::config)?)
    }

    fn from_layers(layers: Layered) -> Result<Self> {
        let top: TopLevel = layers.extract().map_err(|e| config_error(e, None, None))?;
        Ok(Self {
            layers,
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
            layers: self.layers.focus(&path),
            path,
        }
    }

    /// Checks every `[providers.<name>]` table present, not only the chosen one: each must
    /// name a registered provider (a typo gets the closest name) and hold only that
    /// provider's keys, so a misspelt table or key is reported now, not when someone switches
    /// to it later.
    pub fn check_provider_tables(&self) -> Result<()> {
        let top: TopLevel = self
            .layers
            .extract()
            .map_err(|e| config_error(e, None, None))?;
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
        ProviderConfig::section(SESSION_STORE_TABLE, self.layers.focus(SESSION_STORE_TABLE))
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

/// The current directory, or `.` when it cannot be read (then only absolute paths and the
/// directory itself are searched).
fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
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
    layers: Layered,
}

impl ProviderConfig {
    /// A table built in code (sandboxes and tests use this to point a provider at an emulator).
    /// Anything but a JSON object is kept as it is, so reading it fails naming its type.
    pub fn from_json(provider: impl Into<String>, table: serde_json::Value) -> Self {
        Self::of_provider(provider.into(), code_table(table))
    }

    /// A table from TOML text.
    ///
    /// ```
    /// let table = utilconnect::ProviderConfig::from_toml_str("x", "retries = 3")?;
    /// assert_eq!(table.extract_key::<u32>("retries")?, 3);
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn from_toml_str(provider: impl Into<String>, toml: &str) -> Result<Self> {
        let shown = "the table text";
        file::check_size(toml.len() as u64, shown)?;
        let layers = file::parse(toml, Source::Code, shown)?;
        Ok(Self::of_provider(provider.into(), layers))
    }

    /// The session store's table built in code, e.g. `{"kind": "redis", "url": …}`.
    pub fn session_store_from_json(table: serde_json::Value) -> Self {
        Self::section(SESSION_STORE_TABLE, code_table(table))
    }

    fn of_provider(provider: String, layers: Layered) -> Self {
        Self {
            path: format!("providers.{provider}"),
            provider,
            layers,
        }
    }

    /// A table that configures no provider (errors carry no provider name).
    fn section(path: &str, layers: Layered) -> Self {
        Self {
            provider: String::new(),
            path: path.to_owned(),
            layers,
        }
    }

    fn table(&self) -> Table<'_> {
        Table {
            path: &self.path,
            provider: Some(self.provider.as_str()).filter(|p| !p.is_empty()),
        }
    }

    /// This table with `overlay`'s keys merged over it (tables merge key by key; anything but
    /// a table replaces the whole table, so reading it fails), e.g. to shorten timeouts in a
    /// test.
    ///
    /// ```
    /// let table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"http": {"max_retries": 3}}))
    ///     .merged(serde_json::json!({"http": {"request_timeout": "1s"}}));
    /// let http: utilconnect::http::HttpConfig = table.extract_key("http")?;
    /// assert_eq!((http.max_retries, http.request_timeout.as_secs()), (3, 1));
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn merged(mut self, overlay: serde_json::Value) -> Self {
        self.layers.merge(code_table(overlay));
        self
    }

    /// Deserializes one key of the table.
    pub fn extract_key<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        self.layers
            .focus(key)
            .extract()
            .map_err(|e| config_error(e, Some(&self.table()), Some(key)))
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
        self.layers
            .extract()
            .map_err(|e| config_error(e, Some(&self.table()), None))
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A table built in code as a layer.
fn code_table(table: serde_json::Value) -> Layered {
    Layered::of_code(table)
}

#[cfg(test)]
mod tests;
