//! The `[providers.greenbutton]` configuration table: one or more Data Custodians.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utilconnect::http::HttpConfig;
use utilconnect::{BaseUrl, ConfigKey, Error, Result};

use crate::scope::Scope;

/// How long a user has, by default, between `start` and coming back (RFC 6749 sets no
/// figure; 30 minutes is what the other providers' vendors give).
pub const DEFAULT_AUTHORIZE_TTL: Duration = Duration::from_secs(30 * 60);
/// Accepted range of `authorize_ttl`.
pub const AUTHORIZE_TTL_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(24 * 3600);
/// Most custodians one table may configure.
pub const MAX_CUSTODIANS: usize = 64;
/// Longest custodian id.
pub const MAX_CUSTODIAN_ID_CHARS: usize = 64;

/// The keys of `[providers.greenbutton]`, for listings.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey::required(
        "custodians.<id>.authorize_url",
        "the utility's OAuth authorization endpoint",
    ),
    ConfigKey::required(
        "custodians.<id>.token_url",
        "the utility's OAuth token endpoint",
    ),
    ConfigKey::required(
        "custodians.<id>.client_id",
        "your client id at that utility",
    ),
    ConfigKey::secret(
        "custodians.<id>.client_secret",
        "your client secret at that utility",
    ),
    ConfigKey::required(
        "custodians.<id>.scope",
        "function block scope, e.g. FB=4_5_15;IntervalDuration=3600",
    ),
    ConfigKey::optional("custodians.<id>.name", "the utility's name, for people"),
    ConfigKey::optional(
        "default_custodian",
        "the custodian of flows that name none (default: the only one)",
    ),
    ConfigKey::optional(
        "authorize_ttl",
        "how long a user has to authorize (default 30m, 1m to 24h)",
    ),
    ConfigKey::optional(
        "http",
        "a table: connect_timeout, request_timeout, total_deadline, max_retries, max_body_bytes, … (README)",
    ),
];

/// Green Button's configuration: the Data Custodians (utilities) this app is registered with.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_toml_str("greenbutton", r#"
///     [custodians.sandbox-electric]
///     authorize_url = "https://utility.example/oauth2/authorize"
///     token_url = "https://utility.example/oauth2/token"
///     client_id = "my-client"
///     client_secret = "my-secret"
///     scope = "FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13"
/// "#)?;
/// let config = utilconnect_greenbutton::GreenButtonConfig::from_table(&table)?;
/// assert_eq!(config.custodian(None)?.0, "sandbox-electric");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreenButtonConfig {
    /// The custodians, by the id flows name them with.
    pub custodians: BTreeMap<String, CustodianConfig>,
    /// The custodian of flows that name none; optional when there is only one.
    #[serde(default)]
    pub default_custodian: Option<String>,
    /// How long a user has between `start` and the callback.
    #[serde(default = "default_authorize_ttl", deserialize_with = "authorize_ttl")]
    pub authorize_ttl: Duration,
    /// HTTP policy for the token endpoints.
    #[serde(default)]
    pub http: HttpConfig,
}

/// One Data Custodian (utility): its endpoints and this app's registration there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianConfig {
    /// The utility's name, for people (pages, listings).
    #[serde(default)]
    pub name: Option<String>,
    /// The authorization endpoint the user is sent to.
    pub authorize_url: BaseUrl,
    /// The token endpoint (code exchange and refresh).
    pub token_url: BaseUrl,
    /// This app's client id at the utility.
    pub client_id: String,
    /// This app's client secret at the utility.
    pub client_secret: SecretString,
    /// The function block scope this app is registered for.
    pub scope: Scope,
}

impl GreenButtonConfig {
    /// Reads and checks a `[providers.greenbutton]` table: every error names the key.
    pub fn from_table(table: &utilconnect::ProviderConfig) -> Result<Self> {
        let config: Self = table.extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: ids, the default, non-empty credentials.
    pub fn validate(&self) -> Result<()> {
        let key = |rest: &str| format!("providers.{}.{rest}", crate::NAME);
        let bad = |rest: &str, why: String| {
            Error::invalid_config_key(&key(rest), why).with_provider(crate::NAME)
        };
        if self.custodians.is_empty() {
            return Err(bad(
                "custodians",
                format!(
                    "empty: configure at least one Data Custodian, e.g. [{}.my-utility]",
                    key("custodians")
                ),
            ));
        }
        if self.custodians.len() > MAX_CUSTODIANS {
            return Err(bad(
                "custodians",
                format!(
                    "{} entries; at most {MAX_CUSTODIANS} are supported",
                    self.custodians.len()
                ),
            ));
        }
        for (id, custodian) in &self.custodians {
            check_custodian_id(id).map_err(|why| bad("custodians", why))?;
            let at = |field: &str| format!("custodians.{id}.{field}");
            if custodian.client_id.trim().is_empty() {
                return Err(bad(&at("client_id"), "empty".into()));
            }
            if custodian.client_secret.expose_secret().is_empty() {
                return Err(bad(&at("client_secret"), "empty".into()));
            }
        }
        if let Some(default) = &self.default_custodian {
            if !self.custodians.contains_key(default) {
                return Err(bad(
                    "default_custodian",
                    format!(
                        "names `{}`, which is not configured; custodians: {}",
                        utilconnect::redact::sanitize(default, MAX_CUSTODIAN_ID_CHARS),
                        self.ids()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The custodian `id`, else the default one: `(id, config)`.
    pub fn custodian(&self, id: Option<&str>) -> Result<(&str, &CustodianConfig)> {
        let id = match id {
            Some(id) => id,
            None => match (&self.default_custodian, self.custodians.len()) {
                (Some(default), _) => default.as_str(),
                (None, 1) => self.custodians.keys().next().map_or("", String::as_str),
                (None, _) => {
                    return Err(Error::config(format!(
                        "several Data Custodians are configured and no `default_custodian`: \
                         name one with the `custodian` option ({})",
                        self.ids()
                    )));
                }
            },
        };
        self.custodians
            .get_key_value(id)
            .map(|(id, c)| (id.as_str(), c))
            .ok_or_else(|| {
                Error::config(format!(
                    "unknown Data Custodian `{}`; configured: {}",
                    utilconnect::redact::sanitize(id, MAX_CUSTODIAN_ID_CHARS),
                    self.ids()
                ))
            })
    }

    fn ids(&self) -> String {
        self.custodians
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Custodian ids appear in config keys, options and connection data: letters, digits, `-`
/// and `_`, at most [`MAX_CUSTODIAN_ID_CHARS`].
fn check_custodian_id(id: &str) -> std::result::Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CUSTODIAN_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "custodian id `{}` must be 1 to {MAX_CUSTODIAN_ID_CHARS} letters, digits, `-` or `_`",
            utilconnect::redact::sanitize(id, MAX_CUSTODIAN_ID_CHARS)
        )),
    }
}

fn default_authorize_ttl() -> Duration {
    DEFAULT_AUTHORIZE_TTL
}

fn authorize_ttl<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Duration, D::Error> {
    utilconnect::limits::duration_in(d, AUTHORIZE_TTL_RANGE)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use utilconnect::{ErrorKind, ProviderConfig};

    use super::*;

    fn custodian() -> serde_json::Value {
        json!({
            "authorize_url": "https://a.example/oauth2/authorize",
            "token_url": "https://a.example/oauth2/token",
            "client_id": "client",
            "client_secret": "hunter2-secret",
            "scope": "FB=4_5_15;IntervalDuration=3600",
        })
    }

    fn read(table: serde_json::Value) -> Result<GreenButtonConfig> {
        GreenButtonConfig::from_table(&ProviderConfig::from_json("greenbutton", table))
    }

    #[test]
    fn one_custodian_is_the_default_and_several_need_one_named() {
        let one = read(json!({"custodians": {"a": custodian()}})).unwrap();
        assert_eq!(one.custodian(None).unwrap().0, "a");
        assert_eq!(one.authorize_ttl, DEFAULT_AUTHORIZE_TTL);

        let two = read(json!({"custodians": {"a": custodian(), "b": custodian()}})).unwrap();
        let err = two.custodian(None).unwrap_err();
        assert!(
            err.to_string().contains("`custodian` option (a, b)"),
            "{err}"
        );
        assert_eq!(two.custodian(Some("b")).unwrap().0, "b");
        let err = two.custodian(Some("c\n")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string().contains("unknown Data Custodian `c\\n`"),
            "{err}"
        );

        let with_default = read(json!({
            "custodians": {"a": custodian(), "b": custodian()},
            "default_custodian": "b",
        }))
        .unwrap();
        assert_eq!(with_default.custodian(None).unwrap().0, "b");
    }

    #[test]
    fn every_error_names_its_key_and_never_the_secret() {
        let mut bad_url = custodian();
        bad_url["token_url"] = json!("http://a.example/token");
        let mut bad_scope = custodian();
        bad_scope["scope"] = json!("FB=4&x=1");
        let mut empty_id = custodian();
        empty_id["client_id"] = json!(" ");
        let mut unknown = custodian();
        unknown["tokenurl"] = json!("x");
        for (table, expected) in [
            (
                json!({"custodians": {}}),
                "providers.greenbutton.custodians: empty",
            ),
            (json!({}), "custodians"),
            (
                json!({"custodians": {"a": bad_url}}),
                "custodians.a.token_url",
            ),
            (
                json!({"custodians": {"a": bad_scope}}),
                "custodians.a.scope",
            ),
            (
                json!({"custodians": {"a": empty_id}}),
                "custodians.a.client_id",
            ),
            (json!({"custodians": {"a": unknown}}), "tokenurl"),
            (
                json!({"custodians": {"a b": custodian()}}),
                "custodian id `a b`",
            ),
            (
                json!({"custodians": {"a": custodian()}, "default_custodian": "z"}),
                "providers.greenbutton.default_custodian: names `z`",
            ),
            (
                json!({"custodians": {"a": custodian()}, "authorize_ttl": "3s"}),
                "authorize_ttl",
            ),
        ] {
            let err = read(table.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{table}");
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(expected), "{table}: {shown}");
            assert!(!shown.contains("hunter2-secret"), "{shown}");
        }
    }
}
