//! The `[providers.pelm]` configuration table.

use secrecy::SecretString;
use serde::Deserialize;
use utilconnect::http::HttpConfig;
use utilconnect::{BaseUrl, ConfigKey};

/// Pelm's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://api.pelm.com";
/// Pelm's hosted Connect page.
pub const DEFAULT_CONNECT_BASE_URL: &str = "https://connect.pelm.com";
/// Path of the connect-token call. The guide's prose says `/auth/connect_token`, every official
/// sample uses the hyphen.
pub const DEFAULT_TOKEN_PATH: &str = "/auth/connect-token";
/// Path of the code exchange.
pub const DEFAULT_EXCHANGE_PATH: &str = "/auth/token";

/// The keys of `[providers.pelm]`, for listings.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey::required("client_id", "Pelm-Client-Id of your Pelm app"),
    ConfigKey::secret("client_secret", "Pelm-Secret of your Pelm app"),
    ConfigKey::optional(
        "api_base_url",
        "API base URL (default https://api.pelm.com)",
    ),
    ConfigKey::optional(
        "connect_base_url",
        "hosted Connect page (default https://connect.pelm.com)",
    ),
    ConfigKey::optional(
        "token_path",
        "connect-token path (default /auth/connect-token)",
    ),
    ConfigKey::optional("exchange_path", "code exchange path (default /auth/token)"),
    ConfigKey::optional(
        "utility_slug",
        "preselect this utility unless a flow names another",
    ),
    ConfigKey::optional(
        "http",
        "a table: connect_timeout, request_timeout, total_deadline, max_retries, max_body_bytes, … (README)",
    ),
];

/// Pelm's configuration.
///
/// ```
/// let table = utilconnect::ProviderConfig::from_toml_str("pelm", r#"
///     client_id = "my-client"
///     client_secret = "my-secret"
/// "#)?;
/// let config: utilconnect_pelm::PelmConfig = table.extract()?;
/// assert_eq!(config.api_base_url.url().as_str(), "https://api.pelm.com/");
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PelmConfig {
    /// Sent as `Pelm-Client-Id`.
    pub client_id: String,
    /// Sent as `Pelm-Secret`.
    pub client_secret: SecretString,
    /// API base URL.
    #[serde(default = "default_api_base_url")]
    pub api_base_url: BaseUrl,
    /// The hosted Connect page.
    #[serde(default = "default_connect_base_url")]
    pub connect_base_url: BaseUrl,
    /// Path of the connect-token call.
    #[serde(default = "default_token_path")]
    pub token_path: String,
    /// Path of the code exchange.
    #[serde(default = "default_exchange_path")]
    pub exchange_path: String,
    /// Utility to preselect when a flow names none.
    #[serde(default)]
    pub utility_slug: Option<String>,
    /// HTTP policy.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_api_base_url() -> BaseUrl {
    BaseUrl::from_static(DEFAULT_API_BASE_URL)
}

fn default_connect_base_url() -> BaseUrl {
    BaseUrl::from_static(DEFAULT_CONNECT_BASE_URL)
}

fn default_token_path() -> String {
    DEFAULT_TOKEN_PATH.to_owned()
}

fn default_exchange_path() -> String {
    DEFAULT_EXCHANGE_PATH.to_owned()
}

#[cfg(test)]
mod tests {
    use utilconnect::{ErrorKind, ProviderConfig};

    use super::*;

    #[test]
    fn defaults_follow_the_vendor_docs() {
        let config: PelmConfig = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "c", "client_secret": "s"}),
        )
        .extract()
        .unwrap();
        assert_eq!(
            config.connect_base_url.url().as_str(),
            "https://connect.pelm.com/"
        );
        assert_eq!(config.token_path, "/auth/connect-token");
        assert_eq!(config.exchange_path, "/auth/token");
        assert_eq!(config.utility_slug, None);
    }

    #[test]
    fn errors_name_the_key_and_hide_the_secret() {
        let err = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "c", "client_secret": "hunter2", "utility": "pge"}),
        )
        .extract::<PelmConfig>()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("unknown key `utility`"), "{err}");

        let config: PelmConfig = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "c", "client_secret": "hunter2"}),
        )
        .extract()
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));

        let err = ProviderConfig::from_json(
            "pelm",
            serde_json::json!({"client_id": "c", "client_secret": "s", "api_base_url": "http://api.pelm.com"}),
        )
        .extract::<PelmConfig>()
        .unwrap_err();
        assert!(err.to_string().contains("api_base_url"), "{err}");
    }
}
