//! Pelm's request and response bodies, as documented.

use secrecy::SecretString;
use serde::Deserialize;

/// `POST /auth/connect-token` → 200.
#[derive(Debug, Deserialize)]
pub(crate) struct ConnectTokenResponse {
    pub connect_token: SecretString,
    #[serde(deserialize_with = "utilconnect::lenient::lifetime_secs")]
    pub expires_in: u64,
}

/// `POST /auth/token` → 200. Only `access_token` matters today; the refresh fields are legacy
/// but kept. `access_token_expires_in` is ignored: Pelm says the access token does not expire.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: SecretString,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default, deserialize_with = "optional_number")]
    pub refresh_token_expires_in: Option<u64>,
}

/// Every Pelm error body: `{"error_code": "…", "message": "…"}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

fn optional_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    utilconnect::lenient::number(d).map(Some)
}
