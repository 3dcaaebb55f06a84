//! The emulated utility's machine endpoints: the OAuth token endpoint (RFC 6749 §3.2, §4.1.3,
//! §6), and the bearer-protected ESPI resources a grant opens.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use url::form_urlencoded;
use utilconnect::Clock as _;
use utilconnect_sandbox::{Fields, field};

use super::emulator::{BearerRefusal, Emulator, Issued, OAuthError, SandboxCustodian};
use super::feed;

/// `POST /{custodian}/oauth2/token`.
pub(crate) async fn token(
    State(emulator): State<Emulator>,
    Path(custodian): Path<String>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let Some(utility) = emulator.custodian(&custodian).cloned() else {
        return not_found();
    };
    // RFC 6749 §3.2: a form-encoded POST; anything else is a malformed request, said in JSON.
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the token request as application/x-www-form-urlencoded",
        );
    };
    if !client_authenticated(&utility, &headers) {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sandbox\""),
        );
        return response;
    }
    let required = |name: &str| Some(field(&form, name)).filter(|v| !v.is_empty());
    let issued = match field(&form, "grant_type") {
        "authorization_code" => match (required("code"), required("redirect_uri")) {
            (Some(code), Some(redirect_uri)) => {
                emulator.exchange_code(&custodian, code, redirect_uri)
            }
            _ => Err(OAuthError::InvalidRequest),
        },
        "refresh_token" => match required("refresh_token") {
            Some(refresh_token) => emulator.refresh(&custodian, refresh_token),
            None => Err(OAuthError::InvalidRequest),
        },
        "" => Err(OAuthError::InvalidRequest),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code and refresh_token are supported",
            );
        }
    };
    match issued {
        Ok(issued) => token_answer(&emulator, &custodian, &headers, &issued),
        Err(error) => oauth_error(
            StatusCode::BAD_REQUEST,
            error.code(),
            "the grant was refused",
        ),
    }
}

/// RFC 6749 §5.1: the tokens, never cached, with ESPI's two URIs.
fn token_answer(
    emulator: &Emulator,
    custodian: &str,
    headers: &HeaderMap,
    issued: &Issued,
) -> Response {
    let body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": emulator.options.access_ttl.as_secs(),
        "refresh_token": issued.refresh_token,
        "scope": issued.scope,
        "resourceURI": resource_uri(headers, custodian, &issued.subscription_id),
        "authorizationURI": authorization_uri(headers, custodian, &issued.grant_id),
    });
    no_store((StatusCode::OK, axum::Json(body)).into_response())
}

/// `GET /{custodian}/espi/1_1/resource/Batch/Subscription/{id}`: the feed, for its grant's
/// bearer.
pub(crate) async fn subscription(
    State(emulator): State<Emulator>,
    Path((custodian, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let token = bearer_token(&headers).unwrap_or_default();
    match emulator.bearer(&custodian, token, |_, grant| grant.subscription_id == id) {
        Ok(_) => {
            let uri = resource_uri(&headers, &custodian, &id);
            atom(feed::subscription_feed(&uri, &id, emulator.clock.now()))
        }
        Err(refusal) => bearer_refused(refusal),
    }
}

/// `GET /{custodian}/espi/1_1/resource/Authorization/{id}`: the grant, for its bearer.
pub(crate) async fn authorization(
    State(emulator): State<Emulator>,
    Path((custodian, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let token = bearer_token(&headers).unwrap_or_default();
    match emulator.bearer(&custodian, token, |grant_id, _| grant_id == id) {
        Ok(opened) => atom(feed::authorization_entry(
            &authorization_uri(&headers, &custodian, &id),
            &resource_uri(&headers, &custodian, &opened.subscription_id),
            &opened.scope,
            emulator.clock.now(),
        )),
        Err(refusal) => bearer_refused(refusal),
    }
}

/// Any route the emulator does not serve: a JSON error body, never an empty one.
pub(crate) async fn fallback() -> Response {
    not_found()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not_found", "error_description": "no such resource at this Data Custodian"})),
    )
        .into_response()
}

/// HTTP Basic with the utility's registered client, id and secret form-decoded (RFC 6749
/// §2.3.1).
fn client_authenticated(utility: &SandboxCustodian, headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return false;
    };
    form_decode(id) == utility.client_id && form_decode(secret) == utility.client_secret
}

fn form_decode(text: &str) -> String {
    form_urlencoded::parse(text.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// RFC 6750 §3: 401 `invalid_token` or 403 `insufficient_scope`, said in `WWW-Authenticate`.
fn bearer_refused(refusal: BearerRefusal) -> Response {
    let (status, code) = match refusal {
        BearerRefusal::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
        BearerRefusal::NotYours => (StatusCode::FORBIDDEN, "insufficient_scope"),
    };
    let mut response = oauth_error(status, code, "the bearer token does not open this resource");
    if let Ok(challenge) = HeaderValue::from_str(&format!("Bearer error=\"{code}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({"error": code, "error_description": description});
    no_store((status, axum::Json(body)).into_response())
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn atom(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/atom+xml")], body).into_response()
}

/// The `resourceURI` of subscription `id` at `custodian`.
fn resource_uri(headers: &HeaderMap, custodian: &str, id: &str) -> String {
    format!(
        "{}/{custodian}/espi/1_1/resource/Batch/Subscription/{id}",
        base_of(headers)
    )
}

/// The `authorizationURI` of grant `id` at `custodian`.
fn authorization_uri(headers: &HeaderMap, custodian: &str, id: &str) -> String {
    format!(
        "{}/{custodian}/espi/1_1/resource/Authorization/{id}",
        base_of(headers)
    )
}

/// `http://<host>` the request was sent to, so URIs point back at this emulator.
fn base_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}
