//! The token endpoint's bodies (RFC 6749 §5.1 and §5.2, with ESPI's two extra fields).

use secrecy::SecretString;
use serde::Deserialize;

/// `POST <token_url>` → 200, for both grants.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: SecretString,
    pub token_type: String,
    #[serde(default, deserialize_with = "optional_lifetime")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub scope: Option<String>,
    /// ESPI: where the granted data (a Subscription feed) is read.
    #[serde(default, rename = "resourceURI")]
    pub resource_uri: Option<String>,
    /// ESPI: the Authorization resource describing the grant.
    #[serde(default, rename = "authorizationURI")]
    pub authorization_uri: Option<String>,
}

/// RFC 6749 §5.2 error body: `{"error": "…", "error_description"?: "…"}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

fn optional_lifetime<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    utilconnect::lenient::lifetime_secs(d).map(Some)
}
