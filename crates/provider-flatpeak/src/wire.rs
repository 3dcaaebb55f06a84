//! Flatpeak's request and response bodies, as documented.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::options::TokenOptions;

/// `GET /login` → 200.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginResponse {
    pub bearer_token: SecretString,
    #[serde(deserialize_with = "utilconnect::lenient::lifetime_secs")]
    pub expires_in: u64,
}

/// `POST /connect/token` body.
#[derive(Debug, Serialize)]
pub(crate) struct CreateTokenBody<'a> {
    pub connect_url: &'a str,
    pub callback_url: &'a str,
    #[serde(flatten)]
    pub options: &'a TokenOptions,
}

/// `POST /connect/token` → 200. `expires_in` has been seen as a string: both are accepted.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateTokenResponse {
    pub connect_token: SecretString,
    #[serde(deserialize_with = "utilconnect::lenient::lifetime_secs")]
    pub expires_in: u64,
    #[serde(default)]
    pub live_mode: Option<bool>,
}

/// `GET /connect/token?connect_token=…` → 200. The `id` (the token itself) is not read.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionResponse {
    /// `connect_token` / `connect_session`; `error` when Flatpeak put an error body in a 200.
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub live_mode: Option<bool>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub customer_reference_id: Option<String>,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub location_reference_id: Option<String>,
    /// anode's name for whether rates are available.
    #[serde(default)]
    pub tariff_available: Option<bool>,
    /// The previous version's name for the same.
    #[serde(default)]
    pub is_tariff_processed: Option<bool>,
    #[serde(default)]
    pub complete_action: Option<String>,
}

/// Both error shapes: `{"object":"error","type","code","message",…}` and bare `{"message"}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, rename = "type")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}
