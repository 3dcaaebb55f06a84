//! The one place a token endpoint's answers become [`utilconnect::Error`]s.

use utilconnect::http::{Response, vendor_error};
use utilconnect::{Error, ErrorKind, Operation};

use crate::wire::ErrorBody;

/// Which grant a token endpoint call was for: `invalid_grant` means a refused code on the
/// exchange, and a grant that is gone on a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    AuthorizationCode,
    RefreshToken,
}

impl Grant {
    pub(crate) fn operation(self) -> Operation {
        match self {
            Self::AuthorizationCode => Operation::Complete,
            Self::RefreshToken => Operation::Refresh,
        }
    }
}

/// Maps a non-2xx token endpoint answer to an error.
///
/// | status | `error` (RFC 6749 §5.2) | kind |
/// |---|---|---|
/// | 400/401 | `invalid_grant`, exchanging a code | [`ErrorKind::InvalidCode`] |
/// | 400/401 | `invalid_grant`, refreshing | [`ErrorKind::ReauthorizationRequired`] |
/// | 400/401 | `invalid_client` | [`ErrorKind::Unauthorized`] |
/// | 400/401 | `invalid_request` | [`ErrorKind::InvalidInput`] |
/// | 400/401 | `unauthorized_client` | [`ErrorKind::Forbidden`] |
/// | 400/401 | `unsupported_grant_type` | [`ErrorKind::Unsupported`] |
/// | 400/401 | `invalid_scope` | [`ErrorKind::Config`] |
/// | 401 | none | [`ErrorKind::Unauthorized`] |
/// | 429 | | [`ErrorKind::RateLimited`] with `Retry-After` |
/// | 5xx | | [`ErrorKind::Upstream`] |
/// | other | | [`ErrorKind::Unexpected`] |
pub(crate) fn map_error(response: &Response, grant: Grant) -> Error {
    let status = response.status().as_u16();
    let body: Option<ErrorBody> = serde_json::from_slice(response.body()).ok();
    let code = body.as_ref().and_then(|b| b.error.as_deref());
    let (kind, message) = match (status, code) {
        (400 | 401, Some("invalid_grant")) => match grant {
            Grant::AuthorizationCode => (
                ErrorKind::InvalidCode,
                "the utility refused the authorization code (unknown, expired, used, or issued for another client or redirect URI)",
            ),
            Grant::RefreshToken => (
                ErrorKind::ReauthorizationRequired,
                "the utility no longer honours this grant (revoked or expired); send the user through Connect again",
            ),
        },
        (400 | 401, Some("invalid_client")) | (401, None) => (
            ErrorKind::Unauthorized,
            "the utility refused the client id or secret; check this custodian's client_id and client_secret",
        ),
        (400 | 401, Some("invalid_request")) => (
            ErrorKind::InvalidInput,
            "the utility refused the token request as malformed",
        ),
        (400 | 401, Some("unauthorized_client")) => (
            ErrorKind::Forbidden,
            "the utility does not allow this client to use this grant",
        ),
        (400 | 401, Some("unsupported_grant_type")) => (
            ErrorKind::Unsupported,
            "the utility does not support this grant type",
        ),
        (400 | 401, Some("invalid_scope")) => (
            ErrorKind::Config,
            "the utility refused the scope; check this custodian's configured scope",
        ),
        (429, _) => (
            ErrorKind::RateLimited,
            "the utility is rate limiting requests",
        ),
        (500..=599, _) => (
            ErrorKind::Upstream,
            "the utility answered with a server error",
        ),
        _ => (
            ErrorKind::Unexpected,
            "the utility answered with a status or error code RFC 6749 does not define",
        ),
    };
    let vendor = body
        .as_ref()
        .filter(|b| b.error.is_some())
        .map(|b| (b.error.as_deref(), b.error_description.as_deref()));
    vendor_error(
        response,
        crate::NAME,
        grant.operation(),
        kind,
        message,
        vendor,
    )
}
