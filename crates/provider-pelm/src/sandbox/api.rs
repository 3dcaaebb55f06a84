//! The emulated API: `POST /auth/connect-token` (and `/auth/connect_token`) and
//! `POST /auth/token`, with Pelm's documented bodies and errors.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::emulator::{CodeRefusal, Emulator};

/// A Pelm error response.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error_code": code, "message": message})),
    )
        .into_response()
}

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Pelm's answer to a request without the app's credentials headers.
pub(crate) const BAD_CREDENTIALS: (StatusCode, &str, &str) = (
    StatusCode::UNAUTHORIZED,
    "credentials_invalid",
    "Invalid Pelm-Client-Id or Pelm-Secret",
);

/// Whether the request carries the app's credentials headers.
pub(crate) fn has_credentials(emulator: &Emulator, headers: &HeaderMap) -> bool {
    emulator.credentials_match(
        header_value(headers, "pelm-client-id"),
        header_value(headers, "pelm-secret"),
    )
}

/// The 401 for requests without the app's credentials headers; `None` when they match.
fn refuse_credentials(emulator: &Emulator, headers: &HeaderMap) -> Option<Response> {
    let (status, code, message) = BAD_CREDENTIALS;
    (!has_credentials(emulator, headers)).then(|| error(status, code, message))
}

/// Reads a form body, url-encoded or multipart (the guide's curl sends multipart).
async fn form_fields(request: Request) -> Result<HashMap<String, String>, Response> {
    let content_type = header_value(request.headers(), header::CONTENT_TYPE.as_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let invalid = |what: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            &format!("Could not read the request body: {what}"),
        )
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|_| invalid("bad multipart body"))?;
        let mut fields = HashMap::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|_| invalid("bad multipart field"))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let value = field
                .text()
                .await
                .map_err(|_| invalid("bad multipart field"))?;
            fields.insert(name, value);
        }
        Ok(fields)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = axum::body::Bytes::from_request(request, &())
            .await
            .map_err(|_| invalid("unreadable body"))?;
        Ok(url::form_urlencoded::parse(&body).into_owned().collect())
    } else {
        Err(invalid("expected a form body"))
    }
}

/// `POST /auth/connect-token`.
pub(crate) async fn connect_token(State(emulator): State<Emulator>, request: Request) -> Response {
    if let Some(denied) = refuse_credentials(&emulator, request.headers()) {
        return denied;
    }
    let fields = match form_fields(request).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let Some(user_id) = fields.get("user_id").filter(|u| !u.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "user_id is required",
        );
    };
    let slug = fields.get("utility_slug").map(String::as_str);
    let id = fields.get("utility_id").map(String::as_str);
    let utility = match (slug, id) {
        (Some(_), Some(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "parameter_invalid",
                "Pass either utility_id or utility_slug, not both",
            );
        }
        (None, None) => None,
        _ => match emulator.utility_by(slug, id) {
            Some(utility) => Some(utility),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "parameter_invalid",
                    "Unknown utility",
                );
            }
        },
    };
    let (token, ttl) = emulator.create_token(user_id, utility);
    Json(json!({"connect_token": token, "expires_in": ttl.as_secs()})).into_response()
}

/// `POST /auth/token`.
pub(crate) async fn exchange(State(emulator): State<Emulator>, request: Request) -> Response {
    if let Some(denied) = refuse_credentials(&emulator, request.headers()) {
        return denied;
    }
    let fields = match form_fields(request).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if fields.get("grant_type").is_some_and(|g| g != "code") {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "grant_type must be code",
        );
    }
    let Some(code) = fields.get("code").filter(|c| !c.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "code is required",
        );
    };
    match emulator.exchange(code) {
        Ok((access, refresh)) => Json(json!({
            "access_token": access,
            "access_token_expires_in": 3600,
            "refresh_token": refresh,
            "refresh_token_expires_in": 1_314_000,
        }))
        .into_response(),
        Err(refusal) => {
            let message = match refusal {
                CodeRefusal::Unknown => "The authorization code is invalid",
                CodeRefusal::Used => "The authorization code has already been used",
                CodeRefusal::Expired => "The authorization code has expired",
            };
            error(StatusCode::UNAUTHORIZED, "token_invalid", message)
        }
    }
}
