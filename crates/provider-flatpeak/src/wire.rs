//! Flatpeak's request and response bodies, as documented.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::options::{PostalAddress, TariffDirection, TariffType, TokenOptions};
use crate::version::ApiVersion;

/// `GET /login` → 200.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginResponse {
    pub bearer_token: SecretString,
    #[serde(deserialize_with = "utilconnect::lenient::lifetime_secs")]
    pub expires_in: u64,
}

/// The create call's body in `version`'s shape: `connect_url` is the Connect web app,
/// `callback_url` the app's callback (with our state), and the options already checked with
/// [`TokenOptions::check_for`].
pub(crate) fn create_body(
    version: ApiVersion,
    connect_url: &str,
    callback_url: &str,
    options: &TokenOptions,
) -> serde_json::Result<Vec<u8>> {
    match version {
        ApiVersion::V2024_08_24 => serde_json::to_vec(&CreateTariffTokenBody {
            callback_uri: callback_url,
            connect_web_uri: connect_url,
            direction: options.tariff_direction,
            tariff_type: options.tariff_type,
            customer_id: options.customer_id.as_deref(),
            customer_reference_id: options.customer_reference_id.as_deref(),
            location_id: options.location_id.as_deref(),
            location_reference_id: options.location_reference_id.as_deref(),
            tariff_id: options.tariff_id.as_deref(),
            postal_address: options.postal_address.as_ref(),
        }),
        ApiVersion::Anode => serde_json::to_vec(&CreateTokenBody {
            connect_url,
            callback_url,
            options,
        }),
        ApiVersion::Busbar => serde_json::to_vec(&CreateSessionBody {
            location_id: options.location_id.as_deref().unwrap_or_default(),
            connect_url,
            callback_url,
            device_id: options.device_id.as_deref(),
            provider_id: options.provider_id.as_deref(),
        }),
    }
}

/// 2024-08-24: `POST /connect/tariff/token` body (schema `ConnectInitTariff`).
#[derive(Debug, Serialize)]
struct CreateTariffTokenBody<'a> {
    callback_uri: &'a str,
    connect_web_uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<TariffDirection>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    tariff_type: Option<TariffType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_reference_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location_reference_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_address: Option<&'a PostalAddress>,
}

/// anode: `POST /connect/token` body (schema `ConnectTokenCreate`).
#[derive(Debug, Serialize)]
struct CreateTokenBody<'a> {
    connect_url: &'a str,
    callback_url: &'a str,
    #[serde(flatten)]
    options: &'a TokenOptions,
}

/// busbar: `POST /connect` body.
#[derive(Debug, Serialize)]
struct CreateSessionBody<'a> {
    location_id: &'a str,
    connect_url: &'a str,
    callback_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_id: Option<&'a str>,
}

/// busbar: `POST /connect` → 200, a `connect_session` whose `id` is the connect token and
/// whose `time_expiry` (RFC 3339, UTC) ends it; there is no `expires_in`.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionCreated {
    pub id: SecretString,
    pub time_expiry: String,
    #[serde(default)]
    pub live_mode: Option<bool>,
}

/// Only the `id` of a busbar session answer, read leniently (whatever else is wrong), so the
/// full decode can keep it out of its error.
#[derive(Debug)]
pub(crate) struct SessionId {
    id: Option<SecretString>,
}

impl SessionId {
    /// The `id` in `body`, if it has one as a string.
    pub(crate) fn of(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Loose {
            #[serde(default)]
            id: Option<serde_json::Value>,
        }
        let id = serde_json::from_slice::<Loose>(body)
            .ok()
            .and_then(|loose| loose.id)
            .and_then(|id| id.as_str().map(|s| SecretString::from(s.to_owned())));
        Self { id }
    }

    /// The id as secrets to scrub (none or one).
    pub(crate) fn as_slice(&self) -> Vec<&SecretString> {
        self.id.iter().collect()
    }
}

/// 2024-08-24 and anode: the create call → 200. `expires_in` has been seen as a string: both
/// are accepted.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateTokenResponse {
    pub connect_token: SecretString,
    #[serde(deserialize_with = "utilconnect::lenient::lifetime_secs")]
    pub expires_in: u64,
    #[serde(default)]
    pub live_mode: Option<bool>,
}

/// The retrieve call → 200: the 2024 and anode `ConnectToken`, or busbar's
/// `connect_session`. The `id` (the token itself) is not read.
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
    /// Whether rates are available, as one of the vendor's own pages names it.
    #[serde(default)]
    pub tariff_available: Option<bool>,
    /// The 2024 and anode retrieve's name for the same.
    #[serde(default)]
    pub is_tariff_processed: Option<bool>,
    /// busbar's: data can be fetched.
    #[serde(default)]
    pub data_available: Option<bool>,
    /// busbar: the device the session was for.
    #[serde(default)]
    pub device_id: Option<String>,
    /// busbar: the energy provider connected.
    #[serde(default)]
    pub provider_id: Option<String>,
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
