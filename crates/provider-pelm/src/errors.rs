//! The one place Pelm's answers become [`utilconnect::Error`]s.

use utilconnect::http::{Response, vendor_error};
use utilconnect::{Error, ErrorKind, Operation};

use crate::wire::ErrorBody;

/// Maps a non-2xx Pelm response to an error.
///
/// | status | `error_code` | kind |
/// |---|---|---|
/// | 400 | any, on the code exchange | [`ErrorKind::InvalidCode`] |
/// | 400 | `parameter_missing`, `parameter_invalid`, … | [`ErrorKind::InvalidInput`] |
/// | 401 | `credentials_invalid` (or none) | [`ErrorKind::Unauthorized`] |
/// | 401 | `token_invalid`, … on the code exchange | [`ErrorKind::InvalidCode`] |
/// | 402 | `quota_reached` | [`ErrorKind::QuotaExceeded`] |
/// | 403 | `permission_denied` | [`ErrorKind::Forbidden`] |
/// | 404 | | [`ErrorKind::NotFound`] |
/// | 429 | | [`ErrorKind::RateLimited`] with `Retry-After` |
/// | 500 | `data_unavailable` | [`ErrorKind::Pending`] (temporary) |
/// | 5xx | other | [`ErrorKind::Upstream`] (temporary) |
/// | other | | [`ErrorKind::Unexpected`] |
pub(crate) fn map_error(response: &Response, operation: Operation) -> Error {
    let status = response.status().as_u16();
    let body: Option<ErrorBody> = serde_json::from_slice(response.body()).ok();
    let code = body.as_ref().and_then(|b| b.error_code.as_deref());
    let on_exchange = operation == Operation::Complete;

    let (kind, message) = match (status, code) {
        (400, _) if on_exchange => (
            ErrorKind::InvalidCode,
            "Pelm refused the authorization code; start a new flow",
        ),
        (400, _) => (ErrorKind::InvalidInput, "Pelm refused a parameter"),
        (401, Some("credentials_invalid") | None) => (
            ErrorKind::Unauthorized,
            "Pelm refused the client id or secret",
        ),
        (401, Some(_)) if on_exchange => (
            ErrorKind::InvalidCode,
            "the authorization code is unknown, expired or already used; start a new flow",
        ),
        (401, Some(_)) => (ErrorKind::Unauthorized, "Pelm refused the credentials"),
        (402, _) => (
            ErrorKind::QuotaExceeded,
            "the Pelm account has reached its quota; upgrade the plan or contact Pelm",
        ),
        (403, _) => (
            ErrorKind::Forbidden,
            "the Pelm credentials are not allowed to do this",
        ),
        (404, _) => (
            ErrorKind::NotFound,
            "Pelm does not know this endpoint or object",
        ),
        (429, _) => (ErrorKind::RateLimited, "Pelm is rate limiting requests"),
        (500, Some("data_unavailable")) => (
            ErrorKind::Pending,
            "Pelm is still loading the user's data; try again in a few minutes",
        ),
        (500..=599, _) => (ErrorKind::Upstream, "Pelm answered with a server error"),
        _ => (
            ErrorKind::Unexpected,
            "Pelm answered with an undocumented status",
        ),
    };

    let vendor = body
        .as_ref()
        .map(|b| (b.error_code.as_deref(), b.message.as_deref()));
    vendor_error(response, crate::NAME, operation, kind, message, vendor)
}
