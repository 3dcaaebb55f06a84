//! Parsing the URL the vendor sends the user back to.
//!
//! The parser is strict because the callback is attacker-controlled input: every parameter
//! must be valid UTF-8 after percent-decoding, appear once, and stay within size limits.
//! Success parameters (`code`, `fp_cot`, …) are kept as secrets.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use crate::error::{Error, ErrorKind, Operation, Result};

/// Longest callback URL accepted, in bytes.
pub const MAX_CALLBACK_URL_BYTES: usize = 8 * 1024;
/// Longest single parameter value accepted, in bytes (after decoding).
pub const MAX_PARAM_BYTES: usize = 4 * 1024;
/// Most query parameters accepted on one callback.
pub const MAX_PARAMS: usize = 64;

/// The vendor's redirect back to the app, parsed.
///
/// ```
/// use secrecy::ExposeSecret;
/// use utilconnect::Callback;
///
/// let cb = Callback::parse("https://app.example/cb?code=c-1&state=s-1")?;
/// assert_eq!(cb.state(), Some("s-1"));
/// assert_eq!(cb.param("code").map(|c| c.expose_secret()), Some("c-1"));
/// assert!(cb.error().is_none());
///
/// // A request target as a web framework sees it works too.
/// let cb = Callback::parse("/cb?error=access_denied&error_description=User%20left&state=s-2")?;
/// assert_eq!(cb.error(), Some("access_denied"));
/// assert_eq!(cb.error_description(), Some("User left"));
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Clone)]
pub struct Callback {
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    params: BTreeMap<String, SecretString>,
}

impl Callback {
    /// Parses a callback from an absolute URL, a path with a query (`/cb?…`) or a bare
    /// query (`?…` or `a=b&…`).
    pub fn parse(callback: &str) -> Result<Self> {
        if callback.len() > MAX_CALLBACK_URL_BYTES {
            return Err(invalid(format!(
                "the callback URL is {} bytes; at most {MAX_CALLBACK_URL_BYTES} are accepted",
                callback.len()
            )));
        }
        Self::from_query(extract_query(callback)?)
    }

    /// Parses a callback from its raw (still percent-encoded) query string.
    pub fn from_query(query: &str) -> Result<Self> {
        let mut callback = Self {
            state: None,
            error: None,
            error_description: None,
            params: BTreeMap::new(),
        };
        for (index, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            if index >= MAX_PARAMS {
                return Err(invalid(format!(
                    "the callback has more than {MAX_PARAMS} parameters"
                )));
            }
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(raw_name)
                .ok_or_else(|| invalid("a parameter name of the callback is not valid UTF-8"))?;
            let value = decode(raw_value).ok_or_else(|| {
                invalid(format!(
                    "parameter `{name}` of the callback is not valid UTF-8"
                ))
            })?;
            if value.len() > MAX_PARAM_BYTES {
                return Err(invalid(format!(
                    "callback parameter `{name}` is {} bytes; at most {MAX_PARAM_BYTES} are accepted",
                    value.len()
                )));
            }
            if !callback.insert(name.as_ref(), value.into_owned()) {
                return Err(invalid(format!(
                    "callback parameter `{name}` appears more than once"
                )));
            }
        }
        Ok(callback)
    }

    /// Keeps one parameter; `false` if it was already there.
    fn insert(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "state" => &mut self.state,
            "error" => &mut self.error,
            "error_description" => &mut self.error_description,
            _ => {
                if self.params.contains_key(name) {
                    return false;
                }
                self.params
                    .insert(name.to_owned(), SecretString::from(value));
                return true;
            }
        };
        slot.replace(value).is_none()
    }

    /// The `state` the vendor echoed back, if any.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The `error` parameter (e.g. `access_denied`), if the vendor sent one.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The `error_description` parameter, if the vendor sent one.
    pub fn error_description(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// Any other parameter (`code`, `fp_cot`, …), kept secret.
    pub fn param(&self, name: &str) -> Option<&SecretString> {
        self.params.get(name)
    }

    /// The `code` parameter of a redirect-based (OAuth-style) callback: `None` when absent
    /// (what that means is the provider's to say), an [`ErrorKind::InvalidCode`] error when it
    /// is empty or holds anything but printable ASCII (RFC 6749 §A.11), which no vendor
    /// issues; checked before the session is consumed.
    ///
    /// ```
    /// use utilconnect::{Callback, ErrorKind};
    /// assert!(Callback::parse("/cb?state=s").unwrap().code().is_none());
    /// assert!(Callback::parse("/cb?code=abc&state=s").unwrap().code().unwrap().is_ok());
    /// let err = Callback::parse("/cb?code=a%0Ab&state=s").unwrap().code().unwrap().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidCode);
    /// ```
    pub fn code(&self) -> Option<Result<&SecretString>> {
        let code = self.param("code")?;
        let text = secrecy::ExposeSecret::expose_secret(code);
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Some(Err(Error::new(
                ErrorKind::InvalidCode,
                Operation::Complete,
                "the callback's `code` is empty or not an authorization code",
            )));
        }
        Some(Ok(code))
    }

    /// [`code`](Self::code), with a missing code an error of `missing_kind` saying
    /// `missing_message` (what its absence means is the provider's to say: the user left, or
    /// not a redirect the vendor makes).
    pub fn required_code(
        &self,
        missing_kind: ErrorKind,
        missing_message: &str,
    ) -> Result<&SecretString> {
        self.code().unwrap_or_else(|| {
            Err(Error::new(
                missing_kind,
                Operation::Complete,
                missing_message,
            ))
        })
    }

    /// The values of the parameters that carry a secret for `provider` (`code`, `…token`,
    /// and its [declared ones](crate::ProviderDescriptor::is_secret_param)), to scrub from
    /// any error about this callback.
    pub fn known_secrets(
        &self,
        provider: &crate::ProviderDescriptor,
    ) -> crate::redact::KnownSecrets {
        let mut secrets = crate::redact::KnownSecrets::new();
        for (name, value) in &self.params {
            if provider.is_secret_param(name) {
                secrets.add(value.clone());
            }
        }
        secrets
    }

    /// The names of the other parameters, for diagnostics.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    /// The error for a callback that carries an `error`, with the vendor's text scrubbed of
    /// `secrets` before it is cut (see [`known_secrets`](Self::known_secrets)); `None` when
    /// the callback carries no error.
    ///
    /// The kind follows OAuth 2.0's authorization error codes (RFC 6749 §4.1.2.1), which
    /// redirect-based vendors reuse: `access_denied` (and any code outside the RFC) means the
    /// user did not connect ([`ErrorKind::Cancelled`]); the others say what the app or the
    /// vendor got wrong.
    ///
    /// ```
    /// use utilconnect::{Callback, ErrorKind, redact::KnownSecrets};
    /// let denied = Callback::parse("/cb?error=access_denied&state=s").unwrap();
    /// let err = denied.vendor_error(&KnownSecrets::new()).unwrap();
    /// assert_eq!(err.kind(), ErrorKind::Cancelled);
    /// let scope = Callback::parse("/cb?error=invalid_scope&state=s").unwrap();
    /// assert_eq!(scope.vendor_error(&KnownSecrets::new()).unwrap().kind(), ErrorKind::Config);
    /// ```
    pub fn vendor_error(&self, secrets: &crate::redact::KnownSecrets) -> Option<Error> {
        let code = self.error.as_deref()?;
        let (kind, message) = authorization_error(code);
        let err = Error::new(kind, Operation::Complete, message).with_vendor_text(
            Some(code),
            self.error_description.as_deref(),
            secrets,
        );
        Some(err)
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("state", &self.state.as_ref().map(|_| "…"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The kind and message for an authorization error code on a callback (RFC 6749 §4.1.2.1).
fn authorization_error(code: &str) -> (ErrorKind, &'static str) {
    match code {
        "invalid_request" => (
            ErrorKind::InvalidInput,
            "the vendor refused the authorization request as malformed",
        ),
        "unauthorized_client" => (
            ErrorKind::Forbidden,
            "the vendor does not allow this client to request an authorization code",
        ),
        "unsupported_response_type" => (
            ErrorKind::Unsupported,
            "the vendor does not issue authorization codes to this client",
        ),
        "invalid_scope" => (
            ErrorKind::Config,
            "the vendor refused the requested scope; check the provider's configured scope",
        ),
        "server_error" | "temporarily_unavailable" => (
            ErrorKind::Upstream,
            "the vendor's authorization server failed; start the flow again in a moment",
        ),
        // `access_denied`, and codes outside the RFC: the user did not connect.
        _ => (ErrorKind::Cancelled, "the user did not connect an account"),
    }
}

/// The raw query of an absolute URL, a request target or a bare query.
///
/// The URL is not parsed further: only its query is used, and a full parse (host, IDNA) costs
/// more than the rest of `finish` together. It is still refused if it holds what no URL
/// carries unencoded (spaces, ASCII control characters), which is what a full parse would
/// catch in a mangled redirect.
fn extract_query(callback: &str) -> Result<&str> {
    let trimmed = callback.trim();
    if let Some(bad) = trimmed.bytes().find(|b| *b <= b' ' || *b == 0x7f) {
        return Err(invalid(format!(
            "the callback is not a valid URL: it contains {}",
            describe(bad)
        )));
    }
    let without_fragment = trimmed.split('#').next().unwrap_or_default();
    let absolute =
        without_fragment.starts_with("http://") || without_fragment.starts_with("https://");
    Ok(match without_fragment.split_once('?') {
        Some((_, query)) => query,
        None if absolute || without_fragment.starts_with('/') => "",
        None => without_fragment,
    })
}

fn describe(byte: u8) -> String {
    if byte == b' ' {
        "a space".to_owned()
    } else {
        format!("the control character U+{byte:04X}")
    }
}

/// Percent-decodes one `application/x-www-form-urlencoded` name or value; `None` if the
/// result is not UTF-8.
fn decode(raw: &str) -> Option<Cow<'_, str>> {
    let decoded = if raw.contains('+') {
        Cow::Owned(
            percent_decode_str(&raw.replace('+', " "))
                .decode_utf8()
                .ok()?
                .into_owned(),
        )
    } else {
        percent_decode_str(raw).decode_utf8().ok()?
    };
    Some(decoded)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::ParseCallback, message)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn expose<'a>(cb: &'a Callback, name: &str) -> Option<&'a str> {
        cb.param(name).map(|s| s.expose_secret())
    }

    #[test]
    fn parses_success_params_and_state() {
        let cb = Callback::parse("https://app.example/cb?x=1&code=abc%2Fdef&state=st+1").unwrap();
        assert_eq!(cb.state(), Some("st 1"));
        assert_eq!(expose(&cb, "code"), Some("abc/def"));
        assert_eq!(expose(&cb, "x"), Some("1"));
        assert_eq!(cb.error(), None);
        assert!(cb.vendor_error(&Default::default()).is_none());
    }

    #[test]
    fn parses_error_and_description_into_cancelled() {
        let cb =
            Callback::parse("/cb?error=access_denied&error_description=Nope%21&state=s").unwrap();
        let err = cb.vendor_error(&Default::default()).expect("error present");
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        assert_eq!(err.vendor_code(), Some("access_denied"));
        assert_eq!(err.vendor_message(), Some("Nope!"));
    }

    #[test]
    fn missing_params_are_none_not_errors() {
        let cb = Callback::parse("https://app.example/cb").unwrap();
        assert_eq!(cb.state(), None);
        assert!(cb.param("code").is_none());
        let cb = Callback::parse("/cb").unwrap();
        assert_eq!(cb.param_names().count(), 0);
    }

    #[test]
    fn bare_query_and_fragment_are_handled() {
        let cb = Callback::parse("?code=1&state=2#frag").unwrap();
        assert_eq!(cb.state(), Some("2"));
        let cb = Callback::parse("code=1&state=3").unwrap();
        assert_eq!(cb.state(), Some("3"));
    }

    #[test]
    fn duplicated_param_is_named() {
        let err = Callback::parse("/cb?state=a&code=1&state=b").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("`state` appears more than once"),
            "{err}"
        );
    }

    #[test]
    fn oversized_url_and_param_are_refused() {
        let long = format!(
            "https://app.example/cb?code={}",
            "a".repeat(MAX_CALLBACK_URL_BYTES)
        );
        let err = Callback::parse(&long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("bytes"), "{err}");

        let param = format!("/cb?code={}", "a".repeat(MAX_PARAM_BYTES + 1));
        let err = Callback::parse(&param).unwrap_err();
        assert!(err.to_string().contains("parameter `code`"), "{err}");

        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        let err = Callback::parse(&format!("/cb?{}", many.join("&"))).unwrap_err();
        assert!(err.to_string().contains("more than 64 parameters"), "{err}");
    }

    #[test]
    fn non_utf8_value_is_named() {
        let err = Callback::parse("/cb?state=ok&code=%FF%FE").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("parameter `code`"), "{err}");
        let err = Callback::parse("/cb?%C3=1").unwrap_err();
        assert!(err.to_string().contains("parameter name"), "{err}");
    }

    #[test]
    fn invalid_absolute_url_is_typed() {
        let err = Callback::parse("https://exa mple/cb?code=1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("contains a space"), "{err}");
        let err = Callback::parse("/cb?code=1\r\nSet-Cookie:%20x").unwrap_err();
        assert!(err.to_string().contains("U+000D"), "{err}");
    }

    #[test]
    fn absolute_url_without_query_or_with_fragment_only() {
        let cb = Callback::parse("https://app.example/cb#code=1&state=2").unwrap();
        assert_eq!(cb.state(), None);
        assert_eq!(cb.param_names().count(), 0);
        let cb = Callback::parse("  https://app.example/cb?state=s#code=1  ").unwrap();
        assert_eq!(cb.state(), Some("s"));
        assert!(cb.param("code").is_none());
    }

    #[test]
    fn each_reserved_name_counts_once() {
        for name in ["error", "error_description", "code"] {
            let err = Callback::parse(&format!("/cb?{name}=a&state=s&{name}=b")).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("`{name}` appears more than once")),
                "{err}"
            );
        }
    }

    #[test]
    fn debug_hides_secret_params_and_state() {
        let cb = Callback::parse("/cb?code=very-secret-code&state=state-value").unwrap();
        let debug = format!("{cb:?}");
        assert!(!debug.contains("very-secret-code"), "{debug}");
        assert!(!debug.contains("state-value"), "{debug}");
        assert!(debug.contains("code"));
    }
}
