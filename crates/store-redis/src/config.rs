//! The `[session_store]` table for `kind = "redis"`.

use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use utilconnect::{ConfigKey, Error, Result};

/// Where keys start unless configured: `utilconnect:session:<state digest>`.
pub const DEFAULT_KEY_PREFIX: &str = "utilconnect:session:";
/// Longest key prefix accepted.
pub const MAX_KEY_PREFIX_CHARS: usize = 128;
/// Default connect and response timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Accepted range of the timeouts.
pub const TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(50)..=Duration::from_secs(60);

/// The keys of `[session_store]` for Redis, for listings.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey::secret(
        "url",
        "redis://[:password@]host[:port][/db] or rediss:// for TLS",
    ),
    ConfigKey::optional(
        "key_prefix",
        "prefix of every key (default utilconnect:session:)",
    ),
    ConfigKey::optional(
        "connect_timeout",
        "per connection attempt (default 2s, 50ms to 60s)",
    ),
    ConfigKey::optional("response_timeout", "per command (default 2s, 50ms to 60s)"),
];

/// The Redis store's configuration.
///
/// ```
/// let table = utilconnect::ProviderConfig::session_store_from_json(serde_json::json!({
///     "kind": "redis", "url": "redis://:hunter2@127.0.0.1:6379/0",
/// }));
/// let config = utilconnect_redis::RedisStoreConfig::from_table(&table)?;
/// assert_eq!(config.shown_url(), "redis://:[REDACTED]@127.0.0.1:6379/0");
/// assert!(!format!("{config:?}").contains("hunter2"));
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisStoreConfig {
    #[allow(dead_code, reason = "chosen by session_store_from_config")]
    kind: Option<String>,
    /// The server, with its password if any: a secret.
    pub url: SecretString,
    /// Prefix of every key.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
    /// Timeout of each connection attempt.
    #[serde(default = "default_timeout", deserialize_with = "timeout")]
    pub connect_timeout: Duration,
    /// Timeout of each command.
    #[serde(default = "default_timeout", deserialize_with = "timeout")]
    pub response_timeout: Duration,
}

impl RedisStoreConfig {
    /// The configuration for `url`, with defaults for the rest.
    pub fn new(url: SecretString) -> Self {
        Self {
            kind: None,
            url,
            key_prefix: default_prefix(),
            connect_timeout: DEFAULT_TIMEOUT,
            response_timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Reads and checks a `[session_store]` table.
    pub fn from_table(table: &utilconnect::ProviderConfig) -> Result<Self> {
        let config: Self = table.extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the URL's scheme and the prefix, without echoing the URL.
    pub fn validate(&self) -> Result<()> {
        let url = Url::parse(self.url.expose_secret()).map_err(|_| {
            Error::invalid_config_key("session_store.url", "not a URL; write redis://host:6379/0")
        })?;
        if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none() {
            return Err(Error::invalid_config_key(
                "session_store.url",
                "must be redis://host[:port][/db] or rediss://… (TLS)",
            ));
        }
        let prefix_ok = self.key_prefix.chars().count() <= MAX_KEY_PREFIX_CHARS
            && self.key_prefix.chars().all(|c| c.is_ascii_graphic());
        if !prefix_ok {
            return Err(Error::invalid_config_key(
                "session_store.key_prefix",
                format!(
                    "must be at most {MAX_KEY_PREFIX_CHARS} printable ASCII characters without \
                     spaces"
                ),
            ));
        }
        Ok(())
    }

    /// The URL with its password replaced, for messages.
    pub fn shown_url(&self) -> String {
        match Url::parse(self.url.expose_secret()) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("[REDACTED]"));
                }
                url.to_string().replace("%5BREDACTED%5D", "[REDACTED]")
            }
            Err(_) => "(an invalid URL)".to_owned(),
        }
    }
}

fn default_prefix() -> String {
    DEFAULT_KEY_PREFIX.to_owned()
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

fn timeout<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    utilconnect::limits::duration_in(d, TIMEOUT_RANGE)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use utilconnect::{ErrorKind, ProviderConfig};

    use super::*;

    fn read(table: serde_json::Value) -> Result<RedisStoreConfig> {
        RedisStoreConfig::from_table(&ProviderConfig::session_store_from_json(table))
    }

    #[test]
    fn errors_name_the_key_and_never_the_url_or_its_password() {
        for (table, expected) in [
            (json!({"kind": "redis"}), "missing key `url`"),
            (json!({"url": "http://:hunter2@h/"}), "must be redis://"),
            (
                json!({"url": "hunter2 not a url"}),
                "session_store.url: not a URL",
            ),
            (
                json!({"url": "redis://h", "key_prefix": "a b"}),
                "key_prefix",
            ),
            (
                json!({"url": "redis://h", "connect_timeout": "1ms"}),
                "session_store.connect_timeout",
            ),
            (json!({"url": "redis://h", "typo": 1}), "unknown key `typo`"),
        ] {
            let err = read(table.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{table}");
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(expected), "{table}: {shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn the_shown_url_hides_the_password_only() {
        let config = read(json!({"url": "rediss://user:hunter2@redis.example:6380/2"})).unwrap();
        assert_eq!(
            config.shown_url(),
            "rediss://user:[REDACTED]@redis.example:6380/2"
        );
        let config = read(json!({"url": "redis://127.0.0.1"})).unwrap();
        assert_eq!(config.shown_url(), "redis://127.0.0.1");
        assert_eq!(config.key_prefix, DEFAULT_KEY_PREFIX);
    }
}
