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
//! [providers.pelm.http]          # optional, see HttpConfig
//! request_timeout = "10s"
//! ```
//!
//! Environment variables use `__` between levels: `UTILCONNECT_PROVIDERS__FLATPEAK__API_KEY`.
//! Their values are taken verbatim as strings (figment's own `Env` would turn a secret such as
//! `0012345` into the number 12345); numeric keys accept strings through [`lenient`].
//! `UTILCONNECT_CONFIG` names another file instead of `./utilconnect.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::error::{Actual, Kind};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use url::{Host, Url};

use crate::error::{Error, Result};

/// The file read by [`Config::load`] unless `UTILCONNECT_CONFIG` names another.
pub const DEFAULT_CONFIG_FILE: &str = "utilconnect.toml";
/// Prefix of every environment variable read.
pub const ENV_PREFIX: &str = "UTILCONNECT_";
/// `UTILCONNECT_…` variables that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &["config", "live"];
/// The largest configuration file or text read, in bytes. A real one is a few hundred bytes;
/// the cap keeps a runaway or hostile file from costing seconds of parsing.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The top-level keys; anything else is an error naming it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    provider: Option<String>,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "validated for shape here, read per provider by focus"
    )]
    providers: BTreeMap<String, figment::value::Value>,
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
        ProviderConfig {
            provider: name.to_owned(),
            figment: self.figment.focus(&format!("providers.{name}")),
        }
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

/// `UTILCONNECT_…` environment variables as a figment provider, values kept as the exact
/// strings given.
///
/// The result does not depend on the order of the variables: they are placed sorted by
/// name, and a variable that cannot be placed (an empty or dotted level, a key that is both a
/// value and a table, the same key twice) is an error naming the variables, never ignored.
struct VerbatimEnv {
    vars: Vec<(String, std::result::Result<String, ()>)>,
}

impl VerbatimEnv {
    fn from_process() -> Self {
        Self::from_vars(std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.into_string().map_err(drop),
            )
        }))
    }

    /// The variables among `vars` that start with [`ENV_PREFIX`] (in any case).
    fn from_vars(vars: impl Iterator<Item = (String, std::result::Result<String, ()>)>) -> Self {
        let mut vars: Vec<_> = vars
            .filter(|(name, _)| {
                name.get(..ENV_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
            })
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        Self { vars }
    }

    fn place(&self) -> std::result::Result<Dict, String> {
        let mut dict = Dict::new();
        // Which variable set each path, to name both sides of a conflict.
        let mut origins: BTreeMap<Vec<String>, &str> = BTreeMap::new();
        for (name, value) in &self.vars {
            let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if ENV_NOT_KEYS.contains(&rest.as_str()) {
                continue;
            }
            let shown = crate::redact::sanitize(name, 128);
            let path: Vec<String> = rest.split("__").map(str::to_owned).collect();
            if let Some(bad) = path.iter().find(|level| !is_env_level(level)) {
                let why = if bad.is_empty() {
                    "it has an empty level (a trailing, leading or doubled `__`)".to_owned()
                } else {
                    "a level may hold only letters, digits and single `_` (use `__` between levels)"
                        .to_owned()
                };
                return Err(format!(
                    "environment variable `{shown}` cannot be placed: {why}"
                ));
            }
            let Ok(value) = value else {
                return Err(format!("environment variable `{shown}` is not valid UTF-8"));
            };
            for depth in 1..=path.len() {
                let prefix = &path[..depth];
                if let Some(other) = origins.get(prefix) {
                    let clash = if depth == path.len() {
                        "sets the same key as"
                    } else {
                        "sets a value where a table is needed by"
                    };
                    return Err(format!(
                        "environment variables `{}` and `{shown}` conflict: one {clash} the other",
                        crate::redact::sanitize(other, 128)
                    ));
                }
            }
            if origins.keys().any(|set| set.starts_with(&path)) {
                return Err(format!(
                    "environment variable `{shown}` sets a value where other variables set a table"
                ));
            }
            origins.insert(path.clone(), name);
            insert_at(&mut dict, &path, Value::from(value.clone()));
        }
        Ok(dict)
    }
}

/// One `__`-separated level of a variable name: what a config key can be.
fn is_env_level(level: &str) -> bool {
    !level.is_empty()
        && level
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Sets `value` at `path` in `dict`, making tables on the way (conflicts are checked before).
fn insert_at(dict: &mut Dict, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = dict;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        let Value::Dict(_, nested) = entry else {
            return;
        };
        table = nested;
    }
    table.insert(last.clone(), value);
}

impl Provider for VerbatimEnv {
    fn metadata(&self) -> Metadata {
        Env::prefixed(ENV_PREFIX).metadata()
    }

    fn data(&self) -> std::result::Result<Map<Profile, Dict>, figment::Error> {
        let dict = self.place().map_err(figment::Error::from)?;
        Ok(Profile::Default.collect(dict))
    }
}

/// One provider's configuration table, handed to its builder.
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
    figment: Figment,
}

impl ProviderConfig {
    /// A table built in code (sandboxes and tests use this to point a provider at an emulator).
    pub fn from_json(provider: impl Into<String>, table: serde_json::Value) -> Self {
        Self {
            provider: provider.into(),
            figment: Figment::from(Serialized::defaults(table)),
        }
    }

    /// A table from TOML text.
    pub fn from_toml_str(provider: impl Into<String>, toml: &str) -> Self {
        Self {
            provider: provider.into(),
            figment: Figment::from(Toml::string(toml)),
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
            figment: self.figment.merge(Serialized::defaults(overlay)),
        }
    }

    /// Deserializes one key of the table.
    pub fn extract_key<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        // Focused rather than `extract_inner`, whose errors put the key after the field.
        self.figment
            .focus(key)
            .extract()
            .map_err(|e| config_error_in(e, Some(&self.provider), Some(key)))
    }

    /// The provider this table belongs to.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Deserializes the table into the provider's config struct.
    ///
    /// Errors are [`ErrorKind::Config`](crate::ErrorKind::Config) and name the key, e.g.
    /// ``providers.pelm: unknown key `typo` ``; they never echo a value.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T> {
        self.figment
            .extract()
            .map_err(|e| config_error(e, Some(&self.provider)))
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Turns figment's error into ours, naming keys but never echoing values (a value in the
/// wrong place may be a secret).
fn config_error(err: figment::Error, provider: Option<&str>) -> Error {
    config_error_in(err, provider, None)
}

/// [`config_error`] for a table extracted from under `key`.
fn config_error_in(err: figment::Error, provider: Option<&str>, key: Option<&str>) -> Error {
    let problems: Vec<String> = err
        .into_iter()
        .map(|e| {
            let mut path = key
                .into_iter()
                .chain(e.path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(".");
            if path.is_empty() {
                path =
                    provider.map_or_else(|| "top level".to_owned(), |p| format!("providers.{p}"));
            } else if let Some(p) = provider {
                path = format!("providers.{p}.{path}");
            }
            let source = e.metadata.as_ref().map(describe_source).unwrap_or_default();
            format!("{path}: {}{source}", describe(&e.kind))
        })
        .collect();
    let mut error = Error::config(format!("invalid configuration: {}", problems.join("; ")));
    if let Some(p) = provider {
        error = error.with_provider(p);
    }
    error
}

/// Where a bad value came from: a file or the environment (not code locations, which mean
/// nothing to the person fixing their config).
fn describe_source(metadata: &Metadata) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => format!(" (from {})", path.display()),
        Some(figment::Source::Custom(custom)) => format!(" (from {custom})"),
        _ if metadata.name.contains("environment") => format!(" (from {})", metadata.name),
        _ => String::new(),
    }
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::UnknownField(field, expected) => {
            format!(
                "unknown key `{field}` (expected one of: {})",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => format!("missing key `{field}`"),
        Kind::DuplicateField(field) => format!("key `{field}` given twice"),
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", type_of(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!("invalid {}: expected {expected}", type_of(actual))
        }
        Kind::InvalidLength(len, expected) => format!("invalid length {len}, expected {expected}"),
        // The value is not repeated: it may be a secret typed into the wrong key.
        Kind::UnknownVariant(_, expected) => {
            format!("unknown value (expected one of: {})", expected.join(", "))
        }
        Kind::Message(message) => without_source_lines(message),
        other => format!("invalid value ({})", kind_name(other)),
    }
}

/// A TOML parser's message without the quoted source line (which shows the value on it, a
/// secret as like as not): `TOML parse error at line 3, column 17; duplicate key`.
fn without_source_lines(message: &str) -> String {
    let is_gutter = |line: &str| {
        let trimmed = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        trimmed.starts_with('|')
    };
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_gutter(line))
        .collect::<Vec<_>>()
        .join("; ")
}

fn type_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another kind of value",
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range",
        Kind::Unsupported(_) => "unsupported value",
        Kind::UnsupportedKey(..) => "unsupported key",
        _ => "invalid",
    }
}

/// Deserializers that accept a number or boolean written as a string, for config keys that
/// may come from environment variables (which are always strings).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Table {
///     #[serde(deserialize_with = "utilconnect::lenient::number")]
///     retries: u32,
/// }
/// let t: Table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"retries": "4"}))
///     .extract()?;
/// assert_eq!(t.retries, 4);
/// # Ok::<(), utilconnect::Error>(())
/// ```
pub mod lenient {
    use std::fmt;
    use std::marker::PhantomData;
    use std::str::FromStr;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    /// An integer given as a number or as a string of digits.
    pub fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr + TryFrom<u64> + TryFrom<i64>,
    {
        struct Number<T>(PhantomData<T>);
        impl<T: FromStr + TryFrom<u64> + TryFrom<i64>> Visitor<'_> for Number<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
                T::try_from(v).map_err(|_| E::custom("integer out of range"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
                T::try_from(v).map_err(|_| E::custom("integer out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
                v.trim()
                    .parse()
                    .map_err(|_| E::custom("expected an integer"))
            }
        }
        deserializer.deserialize_any(Number(PhantomData))
    }

    /// A vendor's lifetime in seconds (`expires_in`), as a number or a string of digits; zero
    /// is refused, since a token born expired can only fail later with a misleading error.
    pub fn lifetime_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        match number::<D, u64>(deserializer)? {
            0 => Err(de::Error::custom(
                "a lifetime of 0 seconds: the token would be born expired",
            )),
            secs => Ok(secs),
        }
    }

    /// A boolean given as `true`/`false` or as the strings `"true"`/`"false"`.
    pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        struct Boolean;
        impl Visitor<'_> for Boolean {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                match v.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(E::custom("expected true or false")),
                }
            }
        }
        deserializer.deserialize_any(Boolean)
    }
}

/// Range checks for config values: a duration or number outside its range is refused at
/// load, with the range in the message and the key named by the loader.
///
/// ```
/// use std::time::Duration;
/// #[derive(Debug, serde::Deserialize)]
/// struct Table {
///     #[serde(deserialize_with = "margin")]
///     #[allow(dead_code)]
///     margin: Duration,
/// }
/// fn margin<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
///     utilconnect::limits::duration_in(d, Duration::ZERO..=Duration::from_secs(3600))
/// }
/// let table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"margin": "2h"}));
/// let err = table.extract::<Table>().unwrap_err();
/// assert!(err.to_string().contains("margin: must be at most 1h"), "{err}");
/// # Ok::<(), utilconnect::Error>(())
/// ```
pub mod limits {
    use std::fmt::Display;
    use std::ops::RangeInclusive;
    use std::time::Duration;

    use humantime_serde::re::humantime::format_duration;
    use serde::{Deserializer, de};

    /// A duration written like `"10s"`, within `range`.
    pub fn duration_in<'de, D: Deserializer<'de>>(
        deserializer: D,
        range: RangeInclusive<Duration>,
    ) -> Result<Duration, D::Error> {
        let value: Duration = humantime_serde::deserialize(deserializer)?;
        check_duration(value, &range).map_err(de::Error::custom)?;
        Ok(value)
    }

    /// An integer (or a string of digits) within `range`.
    pub fn number_in<'de, D, T>(deserializer: D, range: RangeInclusive<u64>) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        let value: u64 = super::lenient::number(deserializer)?;
        check_number(value, &range).map_err(de::Error::custom)?;
        T::try_from(value).map_err(|_| de::Error::custom("integer out of range"))
    }

    /// Why `value` is outside `range`, if it is.
    pub fn check_duration(value: Duration, range: &RangeInclusive<Duration>) -> Result<(), String> {
        check(value, range, |d| format_duration(*d).to_string())
    }

    /// Why `value` is outside `range`, if it is.
    pub fn check_number(value: u64, range: &RangeInclusive<u64>) -> Result<(), String> {
        check(value, range, u64::to_string)
    }

    // The message names the bound, not the value: the loader adds the key, and a value is
    // never echoed (it may be a secret typed into the wrong key).
    fn check<T: PartialOrd, S: Display>(
        value: T,
        range: &RangeInclusive<T>,
        show: impl Fn(&T) -> S,
    ) -> Result<(), String> {
        if value > *range.end() {
            Err(format!("must be at most {}", show(range.end())))
        } else if value < *range.start() {
            Err(format!("must be at least {}", show(range.start())))
        } else {
            Ok(())
        }
    }
}

/// A vendor base URL from config: `https://…`, or `http://…` only for a loopback host, so
/// secrets never cross a network in clear text.
///
/// ```
/// use utilconnect::BaseUrl;
/// assert!(BaseUrl::parse("https://api.pelm.com").is_ok());
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://api.pelm.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Parses and checks a base URL.
    pub fn parse(text: &str) -> Result<Self> {
        let url = Url::parse(text)
            .map_err(|e| Error::config(format!("`{text}` is not a valid URL: {e}")))?;
        Self::try_from(url)
    }

    /// A base URL from a constant known to be valid (a provider's documented default).
    ///
    /// # Panics
    ///
    /// If `text` is not a valid base URL: a bug in the constant, caught by any test that
    /// builds the provider's default config.
    pub fn from_static(text: &'static str) -> Self {
        match Self::parse(text) {
            Ok(url) => url,
            Err(err) => panic!("constant base URL {text} is invalid: {err}"),
        }
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Joins a path (e.g. `/auth/token`) onto the base, keeping any base path prefix.
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", path.trim_start_matches('/')));
        url
    }
}

impl TryFrom<Url> for BaseUrl {
    type Error = Error;

    fn try_from(url: Url) -> Result<Self> {
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(Error::config(format!(
                    "`{}` uses plain http; only https is allowed, except for loopback hosts",
                    url.origin().ascii_serialization()
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "base URL scheme `{other}` is not supported; use https"
                )));
            }
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(Error::config("a base URL needs a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "a base URL must not carry credentials; put them in their own keys",
            ));
        }
        Ok(Self(url))
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let url = Url::parse(&text).map_err(serde::de::Error::custom)?;
        Self::try_from(url).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        // Only `localhost` itself: `x.localhost` goes through DNS on many systems, and a
        // resolver can send it anywhere.
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail closures return figment's own error type"
)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::*;
    use crate::ErrorKind;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Table {
        client_id: String,
        client_secret: SecretString,
        api_base_url: Option<BaseUrl>,
        #[serde(default)]
        retries: u32,
    }

    #[test]
    fn reads_provider_and_table_from_toml() {
        let config = Config::from_toml_str(
            r#"
            provider = "pelm"
            [providers.pelm]
            client_id = "id-1"
            client_secret = "secret-1"
            api_base_url = "http://127.0.0.1:9"
            "#,
        )
        .unwrap();
        assert_eq!(config.provider_name().unwrap(), "pelm");
        let table: Table = config.provider_config("pelm").extract().unwrap();
        assert_eq!(table.client_id, "id-1");
        assert_eq!(table.client_secret.expose_secret(), "secret-1");
        assert_eq!(table.api_base_url.unwrap().url().port(), Some(9));
    }

    #[test]
    fn unknown_top_level_key_is_named() {
        let err = Config::from_toml_str("provder = \"pelm\"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("unknown key `provder`"), "{err}");
    }

    #[test]
    fn unknown_and_missing_provider_keys_are_named_with_their_path() {
        let config = Config::from_toml_str(
            "[providers.pelm]\nclient_id = \"x\"\nclient_secret = \"y\"\nclient_secert = \"z\"",
        )
        .unwrap();
        let err = config
            .provider_config("pelm")
            .extract::<Table>()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("providers.pelm"), "{text}");
        assert!(text.contains("unknown key `client_secert`"), "{text}");
        assert!(!text.contains(".rs:"), "no code locations: {text}");
        assert_eq!(err.provider(), Some("pelm"));

        let err = ProviderConfig::from_json("pelm", serde_json::json!({"client_id": "x"}))
            .extract::<Table>()
            .unwrap_err();
        assert!(
            err.to_string().contains("missing key `client_secret`"),
            "{err}"
        );
    }

    #[test]
    fn errors_never_echo_values() {
        // A secret typed as a number (wrong type) must not appear in the message.
        let err = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "x", "client_secret": 987654321}),
        )
        .extract::<Table>()
        .unwrap_err();
        assert!(!err.to_string().contains("987654321"), "{err}");
        assert!(!format!("{err:?}").contains("987654321"), "{err:?}");
        assert!(err.to_string().contains("client_secret"), "{err}");
    }

    #[test]
    fn debug_of_configs_shows_no_value() {
        let config = Config::from_toml_str(
            "provider = \"pelm\"\n[providers.pelm]\nclient_secret = \"sekrit-123\"\n",
        )
        .unwrap();
        let table = config.provider_config("pelm");
        let extracted: Table = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "id", "client_secret": "sekrit-123"}),
        )
        .extract()
        .unwrap();
        let debug = format!("{config:?} {table:?} {extracted:?}");
        assert!(!debug.contains("sekrit-123"), "{debug}");
        assert!(debug.contains("pelm"), "{debug}");
    }

    #[test]
    fn plain_http_is_refused_unless_loopback() {
        let err = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "x", "client_secret": "y", "api_base_url": "http://api.pelm.com"}),
        )
        .extract::<Table>()
        .unwrap_err();
        assert!(err.to_string().contains("api_base_url"), "{err}");
        assert!(err.to_string().contains("plain http"), "{err}");

        for ok in [
            "https://api.pelm.com",
            "http://127.0.0.1:1",
            "http://127.8.0.1",
            "http://[::1]:80",
            "http://localhost:3000",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://evil.localhost",
            "http://a.b.localhost:8080",
            "ftp://x",
            "https://user:pw@host",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_url_join_keeps_prefix() {
        let base = BaseUrl::parse("https://host/v1/").unwrap();
        assert_eq!(
            base.join("/auth/token").as_str(),
            "https://host/v1/auth/token"
        );
        let base = BaseUrl::parse("https://host").unwrap();
        assert_eq!(base.join("login").as_str(), "https://host/login");
    }

    #[test]
    fn missing_provider_choice_says_how_to_set_it() {
        let config = Config::from_toml_str("").unwrap();
        let err = config.provider_name().unwrap_err();
        assert!(err.to_string().contains("UTILCONNECT_PROVIDER"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_supplies_secrets() {
        // figment::Jail gives each closure its own env and directory, so this test cannot
        // disturb others running in parallel.
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "utilconnect.toml",
                "provider = \"flatpeak\"\n[providers.pelm]\nclient_id = \"from-file\"\n",
            )?;
            jail.set_env("UTILCONNECT_PROVIDER", "pelm");
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__CLIENT_SECRET", "from-env");
            jail.set_env("UTILCONNECT_LIVE", "pelm");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.provider_name().map_err(|e| e.to_string())?, "pelm");
            let table: Table = config
                .provider_config("pelm")
                .extract()
                .map_err(|e| e.to_string())?;
            assert_eq!(table.client_id, "from-file");
            assert_eq!(table.client_secret.expose_secret(), "from-env");
            Ok(())
        });
    }

    #[test]
    fn numeric_looking_secret_from_env_stays_a_string() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__CLIENT_ID", "id");
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__CLIENT_SECRET", "0012345");
            let table: Table = Config::load()
                .map_err(|e| e.to_string())?
                .provider_config("pelm")
                .extract()
                .map_err(|e| e.to_string())?;
            assert_eq!(table.client_secret.expose_secret(), "0012345");
            Ok(())
        });
    }

    #[test]
    fn numeric_keys_from_env_are_parsed_leniently() {
        #[derive(Debug, Deserialize)]
        struct Numbers {
            #[serde(deserialize_with = "lenient::number")]
            retries: u32,
            #[serde(deserialize_with = "lenient::boolean")]
            verbose: bool,
        }
        figment::Jail::expect_with(|jail| {
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__RETRIES", "7");
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__VERBOSE", "true");
            let numbers: Numbers = Config::load()
                .map_err(|e| e.to_string())?
                .provider_config("pelm")
                .extract()
                .map_err(|e| e.to_string())?;
            assert_eq!(numbers.retries, 7);
            assert!(numbers.verbose);
            jail.set_env("UTILCONNECT_PROVIDERS__PELM__RETRIES", "seven");
            let err = Config::load()
                .map_err(|e| e.to_string())?
                .provider_config("pelm")
                .extract::<Numbers>()
                .expect_err("not a number");
            assert!(
                err.to_string().contains("retries: expected an integer"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn out_of_range_durations_and_numbers_are_refused_at_load_naming_the_key() {
        use crate::http::HttpConfig;
        for (key, value, says) in [
            ("total_deadline", "\"500000000000y\"", "must be at most 1h"),
            ("request_timeout", "\"0s\"", "must be at least 1ms"),
            ("max_retries", "4294967295", "must be at most 10"),
            (
                "max_body_bytes",
                "\"18446744073709551615\"",
                "must be at most 67108864",
            ),
            ("max_backoff", "\"1year\"", "must be at most 10m"),
        ] {
            let toml = format!("[providers.pelm.http]\n{key} = {value}\n");
            let err = Config::from_toml_str(&toml)
                .unwrap()
                .provider_config("pelm")
                .extract_key::<HttpConfig>("http")
                .expect_err(key);
            let text = err.to_string();
            assert!(
                text.contains(&format!("providers.pelm.http.{key}: {says}")),
                "{text}"
            );
        }
        // The same bound, from the environment.
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "UTILCONNECT_PROVIDERS__PELM__HTTP__TOTAL_DEADLINE",
                "500000000000y",
            );
            let err = Config::load()
                .map_err(|e| e.to_string())?
                .provider_config("pelm")
                .extract_key::<HttpConfig>("http")
                .expect_err("out of range");
            assert!(
                err.to_string()
                    .contains("total_deadline: must be at most 1h"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn toml_syntax_errors_do_not_show_the_line_they_are_on() {
        for toml in [
            "[providers.pelm]\nclient_secret = \"sk_live_echoed\nclient_id = \"x\"\n",
            "[providers.pelm]\nclient_secret = \"sk_live_echoed\"\nclient_secret = \"sk_live_echoed\"\n",
            "[providers.pelm]\nclient_secret = sk_live_echoed\n",
        ] {
            let err = Config::from_toml_str(toml).expect_err(toml);
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("sk_live_echoed"), "{shown}");
            assert!(shown.contains("line"), "still says where: {shown}");
        }
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "other.toml",
                "[providers.pelm]\nclient_secret = \"sk_live_echoed\n",
            )?;
            jail.set_env("UTILCONNECT_CONFIG", "other.toml");
            let err = Config::load().expect_err("syntax error");
            assert!(!err.to_string().contains("sk_live_echoed"), "{err}");
            assert!(err.to_string().contains("other.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_enum_value_is_not_echoed() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        enum Direction {
            Import,
            Export,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Table {
            direction: Direction,
        }
        let err = ProviderConfig::from_json("x", serde_json::json!({"direction": "sk_live_typo"}))
            .extract::<Table>()
            .unwrap_err();
        assert!(!err.to_string().contains("sk_live_typo"), "{err}");
        assert!(err.to_string().contains("Import, Export"), "{err}");
    }

    #[test]
    fn env_overlay_does_not_depend_on_variable_order() {
        let vars = |names: &[(&str, &str)]| {
            names
                .iter()
                .map(|(n, v)| (n.to_string(), Ok(v.to_string())))
                .collect::<Vec<_>>()
        };
        let clash = [
            ("UTILCONNECT_PROVIDERS__PELM", "flat"),
            (
                "UTILCONNECT_PROVIDERS__PELM__API_BASE_URL",
                "http://127.0.0.1:1",
            ),
        ];
        let mut reversed = clash;
        reversed.reverse();
        for order in [clash, reversed] {
            let err = VerbatimEnv::from_vars(vars(&order).into_iter())
                .place()
                .expect_err("a key cannot be both a value and a table");
            assert!(err.contains("UTILCONNECT_PROVIDERS__PELM`"), "{err}");
            assert!(
                err.contains("UTILCONNECT_PROVIDERS__PELM__API_BASE_URL"),
                "{err}"
            );
        }
        let both_cases = [
            ("UTILCONNECT_PROVIDER", "pelm"),
            ("utilconnect_provider", "flatpeak"),
        ];
        let err = VerbatimEnv::from_vars(vars(&both_cases).into_iter())
            .place()
            .expect_err("the same key twice");
        assert!(err.contains("conflict"), "{err}");
    }

    #[test]
    fn env_variables_that_cannot_be_placed_are_errors() {
        for name in [
            "UTILCONNECT_",
            "UTILCONNECT_PROVIDERS__",
            "UTILCONNECT___PROVIDER",
            "UTILCONNECT_PROVIDERS.PELM",
            "UTILCONNECT_PROVIDERS__PELM__CLIENT-ID",
        ] {
            let err = VerbatimEnv::from_vars([(name.to_owned(), Ok("1".to_owned()))].into_iter())
                .place()
                .expect_err(name);
            assert!(err.contains(name), "{err}");
        }
        let err =
            VerbatimEnv::from_vars([("UTILCONNECT_PROVIDER".to_owned(), Err(()))].into_iter())
                .place()
                .expect_err("not UTF-8");
        assert!(err.contains("not valid UTF-8"), "{err}");
        // And through `Config::load`, as an error rather than silence.
        figment::Jail::expect_with(|jail| {
            jail.set_env("UTILCONNECT_PROVIDERS__", "1");
            let err = Config::load().expect_err("cannot be placed");
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains("UTILCONNECT_PROVIDERS__"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_oversized_configuration_is_refused_before_parsing() {
        let huge = "k = 1\n".repeat(60_000);
        let err = Config::from_toml_str(&huge).unwrap_err();
        assert!(err.to_string().contains("at most 262144 bytes"), "{err}");
        figment::Jail::expect_with(|jail| {
            jail.create_file("utilconnect.toml", &huge)?;
            let err = Config::load().expect_err("too big");
            assert!(err.to_string().contains("utilconnect.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_env_key_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("UTILCONNECT_PROVIDR", "pelm");
            let err = Config::load().expect_err("unknown key");
            assert!(err.to_string().contains("`providr`"), "{err}");
            assert!(err.to_string().contains("environment"), "says where: {err}");
            Ok(())
        });
    }
}
