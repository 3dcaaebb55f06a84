//! The emulated API: `GET /login`, `POST /connect/token` (with the schema's validation) and
//! the retrieve call, with Flatpeak's documented bodies and errors.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::emulator::{Emulator, Refusal};

/// The standard error body of the anode API.
pub(crate) fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    let body = json!({
        "object": "error",
        "type": kind,
        "code": code,
        "message": message,
        "live_mode": false,
        "time_created": "2026-01-01T00:00:00Z",
    });
    (status, Json(body)).into_response()
}

/// The bare `{"message": …}` body older endpoints (like `/login`) answer with.
fn bare(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message}))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn refuse_bearer(emulator: &Emulator, headers: &HeaderMap) -> Option<Response> {
    let valid = bearer(headers).is_some_and(|b| emulator.bearer_valid(b));
    (!valid).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "access_denied",
            "Bearer token is missing, invalid or expired",
        )
    })
}

/// `GET /login` with Basic auth.
pub(crate) async fn login(State(emulator): State<Emulator>, headers: HeaderMap) -> Response {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let accepted = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(account, key)| emulator.credentials_match(account, key));
    if !accepted {
        return bare(StatusCode::FORBIDDEN, "Bad credentials");
    }
    let (bearer, ttl) = emulator.login();
    Json(json!({"bearer_token": bearer, "expires_in": ttl.as_secs(), "live_mode": false}))
        .into_response()
}

/// `POST /connect/token`.
pub(crate) async fn create_token(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(denied) = refuse_bearer(&emulator, &headers) {
        return denied;
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "invalid_json",
                "Request body is not valid JSON",
            );
        }
    };
    if let Err((code, message)) = validate(&request) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", code, &message);
    }
    let (token, ttl) = emulator.create_session(request);
    let expires_in = if emulator.options.expires_in_as_string {
        json!(ttl.as_secs().to_string())
    } else {
        json!(ttl.as_secs())
    };
    Json(json!({"connect_token": token, "expires_in": expires_in, "live_mode": false}))
        .into_response()
}

/// `GET /connect/token?connect_token=…`.
pub(crate) async fn retrieve(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(denied) = refuse_bearer(&emulator, &headers) {
        return denied;
    }
    let Some(token) = query.get("connect_token") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "parameter_missing",
            "connect_token is required",
        );
    };
    match emulator.retrieve(token) {
        Ok(object) => Json(object).into_response(),
        Err(None) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "api_error",
            "pending_connect",
            "Connect is processing link to tariff source.",
        ),
        Err(Some(Refusal::Unknown | Refusal::Claimed | Refusal::Expired | Refusal::Finished)) => {
            bare(StatusCode::NOT_FOUND, "Not Found")
        }
    }
}

type Invalid = (&'static str, String);

const TOP_LEVEL: &[&str] = &[
    "connect_url",
    "callback_url",
    "customer_id",
    "customer_reference_id",
    "location_id",
    "location_reference_id",
    "tariff_direction",
    "tariff_type",
    "tariff_id",
    "actions",
    "route_options",
    "postal_address_type",
    "postal_address",
];

/// The `ConnectTokenCreate` schema, checked the way the vendor documents it.
fn validate(request: &Value) -> Result<(), Invalid> {
    let object = request.as_object().ok_or((
        "parameter_invalid",
        "The body must be a JSON object".to_owned(),
    ))?;
    known_keys(object, TOP_LEVEL, "")?;
    for required in ["connect_url", "callback_url"] {
        match object.get(required) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(invalid(format!("{required} must be a string"))),
            None => return Err(("parameter_missing", format!("{required} is required"))),
        }
    }
    for field in [
        "customer_id",
        "customer_reference_id",
        "location_id",
        "location_reference_id",
        "tariff_id",
    ] {
        if object.get(field).is_some_and(|v| !v.is_string()) {
            return Err(invalid(format!("{field} must be a string")));
        }
    }
    if object.contains_key("location_id") && object.contains_key("location_reference_id") {
        return Err(invalid(
            "You can only supply either location_id or location_reference_id".into(),
        ));
    }
    one_of(object, "tariff_direction", &["IMPORT", "EXPORT", "LOCAL"])?;
    one_of(object, "tariff_type", &["COMMODITY", "NON_COMMODITY"])?;
    one_of(
        object,
        "postal_address_type",
        &["RESIDENTIAL", "COMMERCIAL"],
    )?;
    booleans(object, "actions", &["disconnect_tariff", "edit_tariff"])?;
    booleans(
        object,
        "route_options",
        &[
            "advanced_tariff_capture",
            "tariff_name_capture",
            "contract_term_capture",
        ],
    )?;
    if let Some(address) = object.get("postal_address") {
        let address = address
            .as_object()
            .ok_or_else(|| invalid("postal_address must be an object".into()))?;
        let fields = [
            "address_line1",
            "address_line2",
            "city",
            "state",
            "post_code",
            "country_code",
        ];
        known_keys(address, &fields, "postal_address.")?;
        if address.values().any(|v| !v.is_string()) {
            return Err(invalid("postal_address fields must be strings".into()));
        }
        if let Some(code) = address.get("country_code").and_then(Value::as_str) {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(invalid(
                    "postal_address.country_code must be an ISO 3166-1 alpha-2 code".into(),
                ));
            }
        }
    }
    Ok(())
}

fn invalid(message: String) -> Invalid {
    ("parameter_invalid", message)
}

fn known_keys(object: &Map<String, Value>, allowed: &[&str], prefix: &str) -> Result<(), Invalid> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(invalid(format!("Unknown parameter {prefix}{unknown}"))),
        None => Ok(()),
    }
}

fn one_of(object: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), Invalid> {
    match object.get(field) {
        None => Ok(()),
        Some(Value::String(v)) if allowed.contains(&v.as_str()) => Ok(()),
        Some(_) => Err(invalid(format!(
            "{field} must be one of {}",
            allowed.join(", ")
        ))),
    }
}

fn booleans(object: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), Invalid> {
    let Some(value) = object.get(field) else {
        return Ok(());
    };
    let inner = value
        .as_object()
        .ok_or_else(|| invalid(format!("{field} must be an object")))?;
    known_keys(inner, allowed, &format!("{field}."))?;
    if inner.values().all(Value::is_boolean) {
        Ok(())
    } else {
        Err(invalid(format!("{field} values must be booleans")))
    }
}

/// Any route the emulator does not serve: Flatpeak's standard error body, as JSON (never an
/// empty 404).
pub(crate) async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request",
        "not_found",
        "Not Found",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        json!({"connect_url": "https://c/", "callback_url": "https://app/cb"})
    }

    fn with(extra: Value) -> Value {
        let mut value = base();
        if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        value
    }

    #[test]
    fn schema_rules_are_enforced() {
        assert!(validate(&base()).is_ok());
        let cases = [
            (json!({"connect_url": "https://c/"}), "parameter_missing"),
            (with(json!({"tariff_type": "GAS"})), "parameter_invalid"),
            (
                with(json!({"location_id": "loc_1", "location_reference_id": "L"})),
                "parameter_invalid",
            ),
            (
                with(json!({"postal_address": {"country_code": "gb"}})),
                "parameter_invalid",
            ),
            (
                with(json!({"actions": {"edit_tariff": "yes"}})),
                "parameter_invalid",
            ),
            (with(json!({"surprise": 1})), "parameter_invalid"),
        ];
        for (request, code) in cases {
            assert_eq!(validate(&request).unwrap_err().0, code, "{request}");
        }
    }
}
