//! The one place Flatpeak's answers become [`utilconnect::Error`]s.

use utilconnect::http::{Response, vendor_error};
use utilconnect::{Error, ErrorKind, Operation};

use crate::wire::ErrorBody;

/// Maps a non-2xx Flatpeak response, in either body shape, to an error.
///
/// | status | code | kind |
/// |---|---|---|
/// | 400 | any (kept) | [`ErrorKind::InvalidInput`] |
/// | 401, 403 | on `/login` (`Bad credentials`) | [`ErrorKind::Unauthorized`] |
/// | 401 | elsewhere | [`ErrorKind::Unauthorized`] |
/// | 403 | `access_denied`, elsewhere | [`ErrorKind::Forbidden`] |
/// | 404 | | [`ErrorKind::NotFound`] (unknown, claimed or expired session) |
/// | 422 | `pending_connect` or no code, on the retrieve call | [`ErrorKind::Pending`] (temporary) |
/// | 422 | `no_tariff_connected` | [`ErrorKind::Cancelled`] |
/// | 422 | `account_disabled` | [`ErrorKind::Forbidden`] |
/// | 422 | other codes (validation) | [`ErrorKind::InvalidInput`] |
/// | 429 | `too_many_requests` | [`ErrorKind::RateLimited`] with `Retry-After` |
/// | 5xx | | [`ErrorKind::Upstream`] (temporary) |
/// | other | | [`ErrorKind::Unexpected`] |
pub(crate) fn map_error(response: &Response, operation: Operation) -> Error {
    let status = response.status().as_u16();
    let body: Option<ErrorBody> = serde_json::from_slice(response.body()).ok();
    let code = body.as_ref().and_then(|b| b.code.as_deref());

    let (kind, message) = match (status, code) {
        (400, _) => (ErrorKind::InvalidInput, "Flatpeak refused the request"),
        (401 | 403, _) if operation == Operation::Authenticate => (
            ErrorKind::Unauthorized,
            "Flatpeak refused the account id or API key",
        ),
        (401, _) => (ErrorKind::Unauthorized, "Flatpeak refused the bearer token"),
        (403, _) => (
            ErrorKind::Forbidden,
            "Flatpeak denied access with these credentials",
        ),
        (404, _) if operation == Operation::Complete => (
            ErrorKind::NotFound,
            "Flatpeak does not know this Connect session: unknown, expired, or already claimed",
        ),
        (404, _) => (ErrorKind::NotFound, "Flatpeak does not know this object"),
        (422, Some("pending_connect")) | (422, None) if operation == Operation::Complete => (
            ErrorKind::Pending,
            "Flatpeak is still processing the link to the tariff source; try again later",
        ),
        (422, Some("no_tariff_connected")) => (
            ErrorKind::Cancelled,
            "no tariff was connected in this Connect session",
        ),
        (422, Some("account_disabled")) => {
            (ErrorKind::Forbidden, "the Flatpeak account is disabled")
        }
        (422, _) => (
            ErrorKind::InvalidInput,
            "Flatpeak could not process the request",
        ),
        (429, _) => (ErrorKind::RateLimited, "Flatpeak is rate limiting requests"),
        (500..=599, _) => (ErrorKind::Upstream, "Flatpeak answered with a server error"),
        _ => (
            ErrorKind::Unexpected,
            "Flatpeak answered with an undocumented status",
        ),
    };

    // Keep the most specific machine-readable value Flatpeak gave.
    let vendor = body
        .as_ref()
        .map(|b| (code.or(b.error_type.as_deref()), b.message.as_deref()));
    vendor_error(response, crate::NAME, operation, kind, message, vendor)
}
