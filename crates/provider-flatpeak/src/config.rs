//! The `[providers.flatpeak]` configuration table.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use utilconnect::http::HttpConfig;
use utilconnect::{BaseUrl, ConfigKey};

use crate::options::{TariffDirection, TariffType};

/// Flatpeak's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://api.flatpeak.com";
/// Flatpeak's hosted Connect web app.
pub const DEFAULT_CONNECT_WEB_URL: &str = "https://connect-web.flatpeak.com";
/// The API version we target, sent as `Flatpeak-Version`.
pub const DEFAULT_API_VERSION: &str = "2025-09-14.anode";
/// Path of the call that retrieves a finished Connect session (an assumption for anode; the
/// previous version used `/connect/tariff/token`).
pub const DEFAULT_RETRIEVE_PATH: &str = "/connect/token";

/// The keys of `[providers.flatpeak]`, for listings.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey::required(
        "account_id",
        "Flatpeak account id (acc_…), the Basic auth username",
    ),
    ConfigKey::secret("api_key", "Flatpeak API key (sk_test_… or sk_live_…)"),
    ConfigKey::optional(
        "api_base_url",
        "API base URL (default https://api.flatpeak.com)",
    ),
    ConfigKey::optional(
        "connect_web_url",
        "hosted Connect web app (default https://connect-web.flatpeak.com)",
    ),
    ConfigKey::optional(
        "api_version",
        "Flatpeak-Version header (default 2025-09-14.anode)",
    ),
    ConfigKey::optional(
        "tariff_direction",
        "IMPORT, EXPORT or LOCAL, for flows that name none (unset: Flatpeak decides)",
    ),
    ConfigKey::optional(
        "tariff_type",
        "COMMODITY or NON_COMMODITY, for flows that name none (unset: Flatpeak decides)",
    ),
    ConfigKey::optional(
        "retrieve_path",
        "session retrieve path (default /connect/token)",
    ),
    ConfigKey::optional(
        "bearer_refresh_margin",
        "renew the bearer this long before it expires (default 60s)",
    ),
    ConfigKey::optional(
        "webhooks",
        "signature checks: tolerance, max_body_bytes, jwks_path, jwks_refetch_interval, schemes",
    ),
    ConfigKey::optional(
        "http",
        "a table: connect_timeout, request_timeout, total_deadline, max_retries, max_body_bytes, … (README)",
    ),
];

/// Flatpeak's configuration.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_toml_str("flatpeak", r#"
///     account_id = "acc_123"
///     api_key = "sk_test_abc"
///     tariff_direction = "EXPORT"
/// "#)?;
/// let config: utilconnect_flatpeak::FlatpeakConfig = table.extract()?;
/// assert_eq!(config.api_version, "2025-09-14.anode");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatpeakConfig {
    /// Basic auth username for `/login`.
    pub account_id: String,
    /// Basic auth password for `/login`.
    pub api_key: SecretString,
    /// API base URL.
    #[serde(default = "default_api_base_url")]
    pub api_base_url: BaseUrl,
    /// The hosted Connect web app (also sent as the token's `connect_url`).
    #[serde(default = "default_connect_web_url")]
    pub connect_web_url: BaseUrl,
    /// Sent as `Flatpeak-Version` on every call.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Default `tariff_direction` for new tokens.
    #[serde(default)]
    pub tariff_direction: Option<TariffDirection>,
    /// Default `tariff_type` for new tokens.
    #[serde(default)]
    pub tariff_type: Option<TariffType>,
    /// Path of the session retrieve call.
    #[serde(default = "default_retrieve_path")]
    pub retrieve_path: String,
    /// How long before its expiry the cached bearer is renewed.
    #[serde(default = "default_margin", deserialize_with = "margin_within_an_hour")]
    pub bearer_refresh_margin: Duration,
    /// How webhooks are verified.
    #[serde(default)]
    pub webhooks: WebhookConfig,
    /// HTTP policy.
    #[serde(default)]
    pub http: HttpConfig,
}

/// `[providers.flatpeak.webhooks]`: how webhook signatures are checked.
///
/// ```
/// let config = utilconnect_flatpeak::WebhookConfig::default();
/// assert_eq!(config.tolerance, std::time::Duration::from_secs(300));
/// assert_eq!(config.schemes, ["v1"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// How far `Flatpeak-Timestamp` may be from now (either way): older is a replay.
    #[serde(deserialize_with = "second_to_hour")]
    pub tolerance: Duration,
    /// Largest body verified; a larger one is rejected unread.
    #[serde(deserialize_with = "body_cap")]
    pub max_body_bytes: usize,
    /// Path of the JWKS on the API base URL.
    pub jwks_path: String,
    /// At most one JWKS fetch per this interval for an unknown key id (a flood of forged key
    /// ids cannot make us hammer the vendor).
    #[serde(deserialize_with = "second_to_hour")]
    pub jwks_refetch_interval: Duration,
    /// Accepted `Flatpeak-Signature-Scheme` values (and `Flatpeak-Signature` prefixes).
    /// The vendor's preview docs name no value; `v1`, the signature's own prefix, is our
    /// conservative reading. `none` is always refused.
    pub schemes: Vec<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            tolerance: Duration::from_secs(300),
            max_body_bytes: 256 * 1024,
            jwks_path: "/jwks.json".to_owned(),
            jwks_refetch_interval: Duration::from_secs(60),
            schemes: vec!["v1".to_owned()],
        }
    }
}

/// The webhook window and the JWKS refetch interval: 1 s to 1 h.
fn second_to_hour<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    utilconnect::limits::duration_in(d, Duration::from_secs(1)..=Duration::from_secs(3600))
}

/// A webhook body cap from 1 KiB to 8 MiB.
fn body_cap<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    utilconnect::limits::number_in(d, 1024..=8 * 1024 * 1024)
}

fn default_api_base_url() -> BaseUrl {
    BaseUrl::from_static(DEFAULT_API_BASE_URL)
}

fn default_connect_web_url() -> BaseUrl {
    BaseUrl::from_static(DEFAULT_CONNECT_WEB_URL)
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_retrieve_path() -> String {
    DEFAULT_RETRIEVE_PATH.to_owned()
}

fn default_margin() -> Duration {
    Duration::from_secs(60)
}

/// A bearer lives an hour: renewing more than an hour early would log in on every call.
fn margin_within_an_hour<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    utilconnect::limits::duration_in(d, Duration::ZERO..=Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use utilconnect::{ErrorKind, ProviderConfig};

    use super::*;

    fn table(extra: serde_json::Value) -> ProviderConfig {
        let mut json = serde_json::json!({"account_id": "acc_1", "api_key": "sk_test_hidden"});
        if let (Some(base), Some(extra)) = (json.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        ProviderConfig::from_json("flatpeak", json)
    }

    #[test]
    fn defaults_follow_the_vendor_docs() {
        let config: FlatpeakConfig = table(serde_json::json!({})).extract().unwrap();
        assert_eq!(
            config.api_base_url.url().as_str(),
            "https://api.flatpeak.com/"
        );
        assert_eq!(
            config.connect_web_url.url().as_str(),
            "https://connect-web.flatpeak.com/"
        );
        assert_eq!(config.api_version, "2025-09-14.anode");
        assert_eq!(config.retrieve_path, "/connect/token");
        assert_eq!(config.bearer_refresh_margin, Duration::from_secs(60));
        assert!(!format!("{config:?}").contains("sk_test_hidden"));
    }

    #[test]
    fn bad_enum_and_unknown_key_are_named() {
        let err = table(serde_json::json!({"tariff_direction": "SIDEWAYS"}))
            .extract::<FlatpeakConfig>()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("tariff_direction"), "{err}");
        assert!(err.to_string().contains("IMPORT"), "{err}");

        let err = table(serde_json::json!({"apikey": "x"}))
            .extract::<FlatpeakConfig>()
            .unwrap_err();
        assert!(err.to_string().contains("unknown key `apikey`"), "{err}");

        let err = table(serde_json::json!({"bearer_refresh_margin": "soon"}))
            .extract::<FlatpeakConfig>()
            .unwrap_err();
        assert!(err.to_string().contains("bearer_refresh_margin"), "{err}");
    }
}
