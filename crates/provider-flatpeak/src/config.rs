//! The `[providers.flatpeak]` configuration table.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use utilconnect::http::HttpConfig;
use utilconnect::{BaseUrl, ConfigKey};

use crate::options::{TariffDirection, TariffType};
use crate::version::{ApiVersion, TOKEN_PLACEHOLDER};

/// Flatpeak's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://api.flatpeak.com";
/// Flatpeak's hosted Connect web app.
pub const DEFAULT_CONNECT_WEB_URL: &str = "https://connect-web.flatpeak.com";
/// The API version used unless `api_version` names another.
pub const DEFAULT_API_VERSION: ApiVersion = ApiVersion::Anode;
/// The longest `retrieve_path` or `busbar_version` accepted.
const MAX_SETTING_CHARS: usize = 256;

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
        "2024-08-24, 2025-09-14.anode (the default) or busbar: paths, bodies and the Flatpeak-Version header",
    ),
    ConfigKey::optional(
        "busbar_version",
        "the Flatpeak-Version value to send with api_version = \"busbar\" (required with it: Flatpeak has not published one)",
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
        "session retrieve path (default: the version's, /connect/tariff/token or /connect/{connect_token})",
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
/// assert_eq!(config.api_version, utilconnect_flatpeak::ApiVersion::Anode);
/// assert_eq!(config.retrieve_path(), "/connect/tariff/token");
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
    /// The API version spoken: its paths and body shapes, and the `Flatpeak-Version` header
    /// sent on every call.
    #[serde(default)]
    pub api_version: ApiVersion,
    /// The `Flatpeak-Version` value sent with [`ApiVersion::Busbar`], whose version string
    /// Flatpeak has not published (required with it, ignored otherwise).
    #[serde(default)]
    pub busbar_version: Option<String>,
    /// Default `tariff_direction` for new tokens.
    #[serde(default)]
    pub tariff_direction: Option<TariffDirection>,
    /// Default `tariff_type` for new tokens.
    #[serde(default)]
    pub tariff_type: Option<TariffType>,
    /// Path of the session retrieve call, overriding the version's documented one (see
    /// [`FlatpeakConfig::retrieve_path`]).
    #[serde(default, rename = "retrieve_path")]
    pub retrieve_path_override: Option<String>,
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

impl FlatpeakConfig {
    /// The retrieve path: `retrieve_path` when set, else the version's documented one.
    pub fn retrieve_path(&self) -> &str {
        self.retrieve_path_override
            .as_deref()
            .unwrap_or(self.api_version.default_retrieve_path())
    }

    /// The `Flatpeak-Version` value sent on every call.
    pub fn version_header(&self) -> &str {
        match self.api_version.published_header() {
            Some(published) => published,
            None => self.busbar_version.as_deref().unwrap_or_default(),
        }
    }

    /// Checks what serde cannot: the busbar header value and the retrieve path's shape.
    pub(crate) fn check(&self) -> utilconnect::Result<()> {
        let bad = |key: &str, why: &str| {
            utilconnect::Error::invalid_config_key(&format!("providers.{}.{key}", crate::NAME), why)
                .with_provider(crate::NAME)
        };
        if self.api_version == ApiVersion::Busbar {
            match self.busbar_version.as_deref() {
                None | Some("") => {
                    return Err(bad(
                        "busbar_version",
                        "required with api_version = \"busbar\": Flatpeak has not published \
                         busbar's Flatpeak-Version string, so set the value your account uses",
                    ));
                }
                Some(value) if !is_header_token(value) => {
                    return Err(bad(
                        "busbar_version",
                        "must be at most 256 visible ASCII characters (it is sent as a header)",
                    ));
                }
                Some(_) => {}
            }
        }
        let unused = |key: &str| {
            bad(
                key,
                &format!(
                    "Flatpeak API version {} has no such field",
                    self.api_version
                ),
            )
        };
        match self.api_version {
            ApiVersion::Busbar if self.tariff_direction.is_some() => {
                return Err(unused("tariff_direction"));
            }
            ApiVersion::Busbar if self.tariff_type.is_some() => return Err(unused("tariff_type")),
            ApiVersion::V2024_08_24 if self.tariff_direction == Some(TariffDirection::Local) => {
                return Err(bad(
                    "tariff_direction",
                    "Flatpeak API version 2024-08-24 takes IMPORT or EXPORT only",
                ));
            }
            _ => {}
        }
        let path = self.retrieve_path();
        let placeholder_ok = match path.find(TOKEN_PLACEHOLDER) {
            None => true,
            Some(at) => {
                path.matches(TOKEN_PLACEHOLDER).count() == 1
                    && path.ends_with(TOKEN_PLACEHOLDER)
                    && path[..at].ends_with('/')
            }
        };
        if !path.starts_with('/')
            || path.chars().count() > MAX_SETTING_CHARS
            || path.contains(['?', '#'])
            || !placeholder_ok
        {
            return Err(bad(
                "retrieve_path",
                "must be a path starting with `/`, at most 256 characters, without a query; \
                 `{connect_token}` may only be its whole last segment",
            ));
        }
        Ok(())
    }
}

/// A header value we are willing to send: visible ASCII, bounded.
fn is_header_token(value: &str) -> bool {
    value.len() <= MAX_SETTING_CHARS && value.bytes().all(|b| b.is_ascii_graphic())
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
        assert_eq!(config.api_version, ApiVersion::Anode);
        assert_eq!(config.version_header(), "2025-09-14.anode");
        assert_eq!(config.retrieve_path(), "/connect/tariff/token");
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

    #[test]
    fn each_version_has_its_paths_and_header() {
        let zero: FlatpeakConfig = table(serde_json::json!({"api_version": "2024-08-24"}))
            .extract()
            .unwrap();
        assert_eq!(zero.version_header(), "2024-08-24");
        assert_eq!(zero.retrieve_path(), "/connect/tariff/token");
        zero.check().unwrap();

        let busbar: FlatpeakConfig = table(serde_json::json!({"api_version": "busbar"}))
            .extract()
            .unwrap();
        assert_eq!(busbar.retrieve_path(), "/connect/{connect_token}");
        let err = busbar.check().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string()
                .contains("providers.flatpeak.busbar_version"),
            "{err}"
        );

        let busbar: FlatpeakConfig = table(serde_json::json!({
            "api_version": "busbar", "busbar_version": "2026-01-01.busbar",
        }))
        .extract()
        .unwrap();
        busbar.check().unwrap();
        assert_eq!(busbar.version_header(), "2026-01-01.busbar");
        let control: FlatpeakConfig = table(serde_json::json!({
            "api_version": "busbar", "busbar_version": "v\r\nX-Injected: 1",
        }))
        .extract()
        .unwrap();
        let err = control.check().unwrap_err();
        assert!(err.to_string().contains("visible ASCII"), "{err}");
        assert!(!err.to_string().contains("Injected"), "{err}");

        let err = table(serde_json::json!({"api_version": "2026-13-13"}))
            .extract::<FlatpeakConfig>()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("2024-08-24, 2025-09-14.anode, busbar"),
            "{err}"
        );
    }

    #[test]
    fn a_retrieve_path_must_be_a_plain_path() {
        for bad in [
            "connect/token",
            "/connect/token?x=1",
            "/connect/{connect_token}/more",
            "/connect{connect_token}",
            "/a/{connect_token}/{connect_token}",
        ] {
            let config: FlatpeakConfig = table(serde_json::json!({"retrieve_path": bad}))
                .extract()
                .unwrap();
            let err = config.check().unwrap_err();
            assert!(
                err.to_string().contains("providers.flatpeak.retrieve_path"),
                "{bad}: {err}"
            );
        }
        let config: FlatpeakConfig =
            table(serde_json::json!({"retrieve_path": "/v2/connect/{connect_token}"}))
                .extract()
                .unwrap();
        config.check().unwrap();
    }
}
