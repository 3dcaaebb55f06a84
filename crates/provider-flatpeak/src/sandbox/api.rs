//! The emulated API: `GET /login`, each API version's create and retrieve calls (with the
//! version's validation), the Connect JSON API endpoint, and Flatpeak's JSON error bodies
//! for everything else.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::conversation;
use super::emulator::{Emulator, Refusal, is_country_code};
use crate::ApiVersion;

/// The standard error body (2024 and anode alike), stamped with the emulator's clock.
pub(crate) fn error(
    emulator: &Emulator,
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
) -> Response {
    use utilconnect::Clock as _;
    let body = json!({
        "object": "error",
        "type": kind,
        "code": code,
        "message": message,
        "live_mode": false,
        "time_created": utilconnect_sandbox::rfc3339(emulator.clock.now()),
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

/// Why an API request is answered before its body is read.
pub(crate) enum Turned {
    /// A `Flatpeak-Version` the emulator does not know (an assumption: Flatpeak documents no
    /// answer for it).
    UnknownVersion,
    /// The route does not exist in the request's version.
    NoSuchRoute,
    /// No valid bearer.
    Unauthorized,
}

impl Turned {
    /// The error body this refusal is answered with.
    fn answer(self, emulator: &Emulator) -> Response {
        match self {
            Self::UnknownVersion => error(
                emulator,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "invalid_version",
                "Unknown Flatpeak-Version",
            ),
            Self::NoSuchRoute => not_found_response(emulator),
            Self::Unauthorized => error(
                emulator,
                StatusCode::FORBIDDEN,
                "invalid_request",
                "access_denied",
                "Bearer token is missing, invalid or expired",
            ),
        }
    }
}

/// The version a request speaks: its `Flatpeak-Version` header, else the account's default.
fn version_of(emulator: &Emulator, headers: &HeaderMap) -> Result<ApiVersion, Turned> {
    let Some(value) = headers.get("flatpeak-version") else {
        return Ok(emulator.options.default_version);
    };
    let value = value.to_str().unwrap_or_default();
    if value == emulator.options.busbar_version {
        return Ok(ApiVersion::Busbar);
    }
    ApiVersion::ALL
        .into_iter()
        .find(|v| v.published_header() == Some(value))
        .ok_or(Turned::UnknownVersion)
}

/// The version of an authorized request that one of `versions` serves.
fn admit(
    emulator: &Emulator,
    headers: &HeaderMap,
    versions: &[ApiVersion],
) -> Result<ApiVersion, Turned> {
    let version = version_of(emulator, headers)?;
    if !versions.contains(&version) {
        return Err(Turned::NoSuchRoute);
    }
    let valid = bearer(headers).is_some_and(|b| emulator.bearer_valid(b));
    if valid {
        Ok(version)
    } else {
        Err(Turned::Unauthorized)
    }
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

/// The create call of every version (2024-08-24 `POST /connect/tariff/token`, anode
/// `POST /connect/token`, busbar `POST /connect`): the path says which version it belongs to.
pub(crate) async fn create_any(
    State(emulator): State<Emulator>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let versions: Vec<ApiVersion> = ApiVersion::ALL
        .into_iter()
        .filter(|v| v.create_path() == uri.path())
        .collect();
    create(&emulator, &headers, &body, &versions)
}

fn create(
    emulator: &Emulator,
    headers: &HeaderMap,
    body: &[u8],
    versions: &[ApiVersion],
) -> Response {
    let version = match admit(emulator, headers, versions) {
        Ok(version) => version,
        Err(turned) => return turned.answer(emulator),
    };
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => {
            return error(
                emulator,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "invalid_json",
                "Request body is not valid JSON",
            );
        }
    };
    if let Err((code, message)) = validate(&request, shape_of(version)) {
        return error(
            emulator,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            code,
            &message,
        );
    }
    let (token, ttl) = emulator.create_session(request, version);
    if version == ApiVersion::Busbar {
        return match emulator.session_object(&token, version) {
            Some(object) => Json(object).into_response(),
            None => not_found_response(emulator),
        };
    }
    let expires_in = if emulator.options.expires_in_as_string {
        json!(ttl.as_secs().to_string())
    } else {
        json!(ttl.as_secs())
    };
    Json(json!({"connect_token": token, "expires_in": expires_in, "live_mode": false}))
        .into_response()
}

/// 2024-08-24 and anode: `GET /connect/tariff/token?connect_token=…`.
pub(crate) async fn retrieve_tariff_token(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let version = match admit(
        &emulator,
        &headers,
        &[ApiVersion::V2024_08_24, ApiVersion::Anode],
    ) {
        Ok(version) => version,
        Err(turned) => return turned.answer(&emulator),
    };
    let Some(token) = query.get("connect_token") else {
        return error(
            &emulator,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "parameter_missing",
            "connect_token is required",
        );
    };
    retrieve(&emulator, token, version)
}

/// busbar: `GET /connect/{connect_token}`.
pub(crate) async fn retrieve_session(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match admit(&emulator, &headers, &[ApiVersion::Busbar]) {
        Ok(version) => retrieve(&emulator, &token, version),
        Err(turned) => turned.answer(&emulator),
    }
}

fn retrieve(emulator: &Emulator, token: &str, version: ApiVersion) -> Response {
    match emulator.retrieve(token, version) {
        Ok(object) => Json(object).into_response(),
        Err(None) => error(
            emulator,
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

/// What one version's create call accepts, from its reference page.
pub(crate) struct Shape {
    /// Every field the schema has.
    known: &'static [&'static str],
    /// The fields it requires (non-empty strings).
    required: &'static [&'static str],
    /// Optional string fields.
    strings: &'static [&'static str],
    /// Fields that take one of a few values.
    enums: &'static [(&'static str, &'static [&'static str])],
    /// Objects of booleans, with their fields.
    flags: &'static [(&'static str, &'static [&'static str])],
}

const ADDRESS_FIELDS: &[&str] = &[
    "address_line1",
    "address_line2",
    "city",
    "state",
    "post_code",
    "country_code",
];

/// 2024-08-24 `ConnectInitTariff` (the JSON spec).
const ZERO: Shape = Shape {
    known: &[
        "direction",
        "type",
        "callback_uri",
        "connect_web_uri",
        "customer_id",
        "customer_reference_id",
        "location_id",
        "location_reference_id",
        "tariff_id",
        "postal_address",
    ],
    required: &["callback_uri"],
    strings: &[
        "connect_web_uri",
        "customer_id",
        "customer_reference_id",
        "location_id",
        "location_reference_id",
        "tariff_id",
    ],
    enums: &[
        ("direction", &["IMPORT", "EXPORT"]),
        ("type", &["COMMODITY", "NON_COMMODITY"]),
    ],
    flags: &[],
};

/// anode `ConnectTokenCreate` (the seed page).
const ANODE: Shape = Shape {
    known: &[
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
    ],
    required: &["connect_url", "callback_url"],
    strings: &[
        "customer_id",
        "customer_reference_id",
        "location_id",
        "location_reference_id",
        "tariff_id",
    ],
    enums: &[
        ("tariff_direction", &["IMPORT", "EXPORT", "LOCAL"]),
        ("tariff_type", &["COMMODITY", "NON_COMMODITY"]),
        ("postal_address_type", &["RESIDENTIAL", "COMMERCIAL"]),
    ],
    flags: &[
        ("actions", &["disconnect_tariff", "edit_tariff"]),
        (
            "route_options",
            &[
                "advanced_tariff_capture",
                "tariff_name_capture",
                "contract_term_capture",
            ],
        ),
    ],
};

/// busbar "Create a Connect session".
const BUSBAR: Shape = Shape {
    known: &[
        "location_id",
        "connect_url",
        "callback_url",
        "device_id",
        "provider_id",
    ],
    required: &["location_id", "connect_url", "callback_url"],
    strings: &["device_id", "provider_id"],
    enums: &[],
    flags: &[],
};

fn shape_of(version: ApiVersion) -> &'static Shape {
    match version {
        ApiVersion::V2024_08_24 => &ZERO,
        ApiVersion::Anode => &ANODE,
        ApiVersion::Busbar => &BUSBAR,
    }
}

/// A create request checked the way the version's reference page documents it.
fn validate(request: &Value, shape: &Shape) -> Result<(), Invalid> {
    let object = request.as_object().ok_or((
        "parameter_invalid",
        "The body must be a JSON object".to_owned(),
    ))?;
    known_keys(object, shape.known, "")?;
    for required in shape.required {
        match object.get(*required) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(invalid(format!("{required} must be a string"))),
            None => return Err(("parameter_missing", format!("{required} is required"))),
        }
    }
    for field in shape.strings {
        if object.get(*field).is_some_and(|v| !v.is_string()) {
            return Err(invalid(format!("{field} must be a string")));
        }
    }
    if object.contains_key("location_id") && object.contains_key("location_reference_id") {
        return Err(invalid(
            "You can only supply either location_id or location_reference_id".into(),
        ));
    }
    for (field, allowed) in shape.enums {
        one_of(object, field, allowed)?;
    }
    for (field, allowed) in shape.flags {
        booleans(object, field, allowed)?;
    }
    if let Some(address) = object.get("postal_address") {
        let address = address
            .as_object()
            .ok_or_else(|| invalid("postal_address must be an object".into()))?;
        known_keys(address, ADDRESS_FIELDS, "postal_address.")?;
        if address.values().any(|v| !v.is_string()) {
            return Err(invalid("postal_address fields must be strings".into()));
        }
        if let Some(code) = address.get("country_code").and_then(Value::as_str) {
            if !is_country_code(code) {
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

/// The Connect JSON API (`https://connect.flatpeak.com`, one endpoint): one submit of the
/// conversation, answered as JSON. Browsers call it from the web app's origin, so answers
/// allow any origin (the token in the body is the only credential).
pub(crate) async fn connect_api(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = match serde_json::from_slice::<conversation::Submit>(&body) {
        Ok(submit) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| h.len() <= 255 && h.bytes().all(|b| b.is_ascii_graphic()))
                .unwrap_or("127.0.0.1");
            let links = conversation::Links {
                origin: format!("http://{host}"),
            };
            conversation::submit(&emulator, &submit, &links)
        }
        Err(_) => conversation::Answer::Refused(
            StatusCode::BAD_REQUEST,
            json!({
                "object": "error",
                "type": "invalid_request",
                "code": "invalid_json",
                "message": "The body must be a submit: {route, type, connect_token, action?, data?}",
                "live_mode": false,
            }),
        ),
    };
    let (status, body) = match answer {
        conversation::Answer::Render(page) => (StatusCode::OK, page),
        conversation::Answer::Refused(status, body) => (status, body),
    };
    (
        status,
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(body),
    )
        .into_response()
}

/// The browser's CORS preflight for [`connect_api`].
pub(crate) async fn connect_api_preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"),
        ],
    )
        .into_response()
}

/// Any route the emulator does not serve: Flatpeak's standard error body, as JSON (never an
/// empty 404).
pub(crate) async fn not_found(State(emulator): State<Emulator>) -> Response {
    not_found_response(&emulator)
}

fn not_found_response(emulator: &Emulator) -> Response {
    error(
        emulator,
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
        assert!(validate(&base(), &ANODE).is_ok());
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
            assert_eq!(validate(&request, &ANODE).unwrap_err().0, code, "{request}");
        }
    }

    #[test]
    fn each_version_has_its_own_create_shape() {
        let zero =
            json!({"callback_uri": "https://app/cb", "direction": "EXPORT", "type": "COMMODITY"});
        assert!(validate(&zero, &ZERO).is_ok());
        assert_eq!(validate(&zero, &ANODE).unwrap_err().0, "parameter_invalid");
        assert_eq!(
            validate(&json!({"callback_uri": "x", "direction": "LOCAL"}), &ZERO)
                .unwrap_err()
                .0,
            "parameter_invalid"
        );
        assert_eq!(validate(&base(), &ZERO).unwrap_err().0, "parameter_invalid");
        let busbar = json!({"location_id": "loc_1", "connect_url": "https://c/", "callback_url": "myapp://done"});
        assert!(validate(&busbar, &BUSBAR).is_ok());
        assert_eq!(
            validate(&base(), &BUSBAR).unwrap_err(),
            ("parameter_missing", "location_id is required".to_owned())
        );
    }
}
