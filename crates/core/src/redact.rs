//! Redaction of secret-looking values in text that may end up in errors, logs or snapshots.
//!
//! Vendor bodies are only ever shown as a bounded [`excerpt`], after every value whose key looks
//! like a credential (`token`, `secret`, `password`, `key`, `code`, `authorization`, …) has been
//! replaced by `[REDACTED]`. This is a second line of defence: providers never put a secret into
//! an error on purpose.

use std::sync::LazyLock;

use regex::Regex;

/// The replacement text for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The longest excerpt, in characters, that [`excerpt`] returns (before the ellipsis).
pub const EXCERPT_CHARS: usize = 256;

/// Key names (lower case, matched as substrings) whose values are treated as secrets.
const SECRET_KEY_PARTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "authorization",
    "cookie",
    "fp_cot",
    "credential",
];

/// Key names (lower case, matched exactly) that hold secrets without saying so: OAuth-style
/// authorization codes. (`country_code`, `post_code`, `error_code` are not secrets.)
const SECRET_KEYS: &[&str] = &["code", "auth_code", "authorization_code"];

/// Whether a field, header or parameter name looks like it holds a secret.
///
/// ```
/// assert!(utilconnect::redact::is_secret_key("access_token"));
/// assert!(utilconnect::redact::is_secret_key("Pelm-Secret"));
/// assert!(utilconnect::redact::is_secret_key("code"));
/// assert!(!utilconnect::redact::is_secret_key("post_code"));
/// assert!(!utilconnect::redact::is_secret_key("user_id"));
/// ```
pub fn is_secret_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_KEYS.contains(&lower.as_str())
        || SECRET_KEY_PARTS.iter().any(|part| lower.contains(part))
}

/// `"name": "value"` and `"name": 123` pairs in JSON-looking text.
static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?P<key>[^"\\]{1,64})"\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"?|[^,}\]\s]+)"#)
        .expect("static regex is valid")
});

/// `name=value` pairs in form-, query- or header-looking text.
static FORM_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<key>[A-Za-z0-9_.\-]{1,64})(?P<sep>=|:\s*)(?P<value>[^&\s,;]+)")
        .expect("static regex is valid")
});

/// `Bearer xyz` / `Basic xyz` credentials anywhere in text.
static AUTH_SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
        .expect("static regex is valid")
});

/// Replaces every secret-looking value in `text` with [`REDACTED`].
///
/// ```
/// let text = r#"{"access_token":"abc123","user_id":"u1"}"#;
/// assert_eq!(
///     utilconnect::redact::redact_text(text),
///     r#"{"access_token":"[REDACTED]","user_id":"u1"}"#,
/// );
/// ```
pub fn redact_text(text: &str) -> String {
    let text = JSON_PAIR.replace_all(text, |caps: &regex::Captures<'_>| {
        match (caps.get(0), caps.name("value")) {
            (Some(whole), Some(value)) if is_secret_key(&caps["key"]) => {
                let prefix = &whole.as_str()[..value.start() - whole.start()];
                format!("{prefix}\"{REDACTED}\"")
            }
            _ => caps[0].to_owned(),
        }
    });
    let text = FORM_PAIR.replace_all(&text, |caps: &regex::Captures<'_>| {
        if is_secret_key(&caps["key"]) && !caps["value"].starts_with('"') {
            format!("{}{}{REDACTED}", &caps["key"], &caps["sep"])
        } else {
            caps[0].to_owned()
        }
    });
    AUTH_SCHEME
        .replace_all(&text, |caps: &regex::Captures<'_>| {
            format!("{} {REDACTED}", &caps["scheme"])
        })
        .into_owned()
}

/// A redacted excerpt of at most [`EXCERPT_CHARS`] characters of a (possibly non-UTF-8) body,
/// for error messages.
///
/// ```
/// let body = format!("{{\"refresh_token\":\"r1\",\"pad\":\"{}\"}}", "x".repeat(1000));
/// let excerpt = utilconnect::redact::excerpt(body.as_bytes());
/// assert!(!excerpt.contains("r1"));
/// assert!(excerpt.chars().count() <= utilconnect::redact::EXCERPT_CHARS + 1);
/// ```
pub fn excerpt(body: &[u8]) -> String {
    // Redact before truncating, so a cut cannot split a key from its value.
    let text = String::from_utf8_lossy(body);
    let redacted = redact_text(&text);
    let mut out: String = redacted.chars().take(EXCERPT_CHARS).collect();
    if redacted.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_json_string_and_number_values_of_secret_keys() {
        let body = r#"{"access_token": "at-1", "refresh_token":"rt-1", "expires_in": 3600, "code": 42, "message":"ok"}"#;
        let out = redact_text(body);
        for secret in ["at-1", "rt-1", "42"] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains(r#""expires_in": 3600"#));
        assert!(out.contains(r#""message":"ok""#));
    }

    #[test]
    fn redacts_escaped_quotes_inside_values() {
        let out = redact_text(r#"{"client_secret":"a\"b-secret"}"#);
        assert!(!out.contains("b-secret"), "{out}");
    }

    #[test]
    fn redacts_form_query_and_header_pairs() {
        let out = redact_text("code=abc&state=xyz&connect_token=cot_1 Pelm-Secret: s3cr3t");
        assert!(!out.contains("abc"));
        assert!(!out.contains("cot_1"));
        assert!(!out.contains("s3cr3t"));
        assert!(out.contains("state=xyz"));
    }

    #[test]
    fn redacts_bearer_and_basic_credentials() {
        let out = redact_text("sent Bearer eyJhbGciOi.x.y and basic YWNjOnNr");
        assert!(!out.contains("eyJhbGciOi"));
        assert!(!out.contains("YWNjOnNr"));
    }

    #[test]
    fn truncated_json_value_is_still_redacted() {
        let out = redact_text(r#"{"connect_token":"cot_abcdef"#);
        assert!(!out.contains("cot_abcdef"), "{out}");
    }

    #[test]
    fn excerpt_is_bounded_and_survives_invalid_utf8() {
        let mut body = vec![0xff, 0xfe];
        body.extend(std::iter::repeat_n(b'a', 10_000));
        let out = excerpt(&body);
        assert_eq!(out.chars().count(), EXCERPT_CHARS + 1);
        assert!(out.ends_with('…'));
        assert!(out.starts_with('\u{fffd}'));
    }
}
