//! Making vendor and user text safe to keep in errors, logs and snapshots.
//!
//! Three layers, applied to every vendor- or user-supplied string an error keeps:
//! - [`KnownSecrets`]: the secret values the SDK itself holds for a call (API key, client
//!   secret, bearer, connect token, code) are removed wherever they appear;
//! - [`redact_text`]: every value whose key looks like a credential (`token`, `secret`,
//!   `password`, `key`, `code`, `authorization`, …) becomes `[REDACTED]`, at any depth;
//! - [`sanitize`]: control characters are escaped and the text is cut to a bound.
//!
//! Vendor bodies are only ever shown as a bounded [`excerpt`]. This is a second line of
//! defence: providers never put a secret into an error on purpose.

mod scan;

use std::borrow::Cow;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

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
    "credential",
];

/// Key names (lower case, matched exactly) that hold secrets without saying so: OAuth-style
/// authorization codes. (`country_code`, `post_code`, `error_code` are not secrets.)
const SECRET_KEYS: &[&str] = &["code", "auth_code", "authorization_code"];

/// Whether a field, header or parameter name looks like it holds a secret.
///
/// ```
/// assert!(utilconnect::redact::is_secret_key("access_token"));
/// assert!(utilconnect::redact::is_secret_key("Acme-Secret"));
/// assert!(utilconnect::redact::is_secret_key("code"));
/// assert!(!utilconnect::redact::is_secret_key("post_code"));
/// assert!(!utilconnect::redact::is_secret_key("user_id"));
/// ```
pub fn is_secret_key(name: &str) -> bool {
    // Without allocating: the scanners ask this for every key of a vendor body.
    let name = name.as_bytes();
    SECRET_KEYS
        .iter()
        .any(|key| name.eq_ignore_ascii_case(key.as_bytes()))
        || SECRET_KEY_PARTS.iter().any(|part| {
            name.windows(part.len())
                .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
        })
}

/// Replaces every secret-looking value in `text` with [`REDACTED`]: values of secret-named
/// keys in JSON (at any depth, objects and arrays replaced whole), in `key=value` and
/// `Key: value` pairs, and credentials after `Bearer` / `Basic`.
///
/// Its cost is linear in the length of `text`, whatever the text.
///
/// ```
/// let text = r#"{"data":{"access_token":"abc123","user_id":"u1"}}"#;
/// assert_eq!(
///     utilconnect::redact::redact_text(text),
///     r#"{"data":{"access_token":"[REDACTED]","user_id":"u1"}}"#,
/// );
/// ```
pub fn redact_text(text: &str) -> String {
    let text = scan::json_values(text);
    let text = scan::auth_schemes(&text);
    scan::pairs(&text)
}

/// A redacted excerpt of at most [`EXCERPT_CHARS`] characters of a (possibly non-UTF-8) body,
/// for error messages, with control characters escaped.
///
/// ```
/// let body = format!("{{\"refresh_token\":\"r1\",\"pad\":\"{}\"}}", "x".repeat(1000));
/// let excerpt = utilconnect::redact::excerpt(body.as_bytes());
/// assert!(!excerpt.contains("r1"));
/// assert!(excerpt.chars().count() <= utilconnect::redact::EXCERPT_CHARS + 1);
/// ```
pub fn excerpt(body: &[u8]) -> String {
    excerpt_scrubbing(body, &KnownSecrets::default())
}

/// Like [`excerpt`], and also removes every value in `secrets` wherever it appears (for a
/// vendor that echoes a secret under an innocent key, or in prose).
///
/// ```
/// use utilconnect::redact::{KnownSecrets, excerpt_scrubbing};
/// let secrets = KnownSecrets::new().with("s3cr3t-42".into());
/// let text = excerpt_scrubbing(b"client secret s3cr3t-42 rejected", &secrets);
/// assert_eq!(text, "client secret [REDACTED] rejected");
/// ```
pub fn excerpt_scrubbing(body: &[u8], secrets: &KnownSecrets) -> String {
    // Past the window by the longest secret, so `keepable` can see one that straddles it.
    let window = &body[..body
        .len()
        .min(WINDOW_BYTES + secrets.longest_spelling() + 3)];
    keepable(&String::from_utf8_lossy(window), secrets, EXCERPT_CHARS)
}

/// How much of a vendor text is read to make what is kept of it. What is kept is at most a
/// few hundred characters, so reading further costs CPU (a hostile body may be megabytes)
/// for nothing shown.
pub const WINDOW_BYTES: usize = 16 * 1024;

/// Vendor or user `text` made fit to keep in an error or a log: its first [`WINDOW_BYTES`],
/// scrubbed of `secrets`, [redacted](redact_text), then [sanitized](sanitize) to `max_chars`.
///
/// The cut at the window cannot leak: a value cut off is redacted up to the cut as if the
/// text ended there, and a known secret that straddles the cut is dropped with the rest.
///
/// ```
/// use utilconnect::redact::{KnownSecrets, keepable};
/// let secrets = KnownSecrets::new().with("cot_42".into());
/// let text = "{\"id\":\"cot_42\",\"data\":{\"access_token\":\"at\"}}\nnext";
/// assert_eq!(
///     keepable(text, &secrets, 200),
///     r#"{"id":"[REDACTED]","data":{"access_token":"[REDACTED]"}}\nnext"#,
/// );
/// ```
pub fn keepable(text: &str, secrets: &KnownSecrets, max_chars: usize) -> String {
    let mut cut = text.len().min(WINDOW_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = secrets.safe_cut(text, cut);
    let window = secrets.scrub(&text[..cut]);
    sanitize(&redact_text(&window), max_chars)
}

/// `text` made safe to keep in an error or a log line: control and bidirectional-formatting
/// characters escaped (so a value cannot start a new log line or reorder one), and cut to
/// `max_chars` characters plus `…`.
///
/// ```
/// let shown = utilconnect::redact::sanitize("bad\nINFO forged line", 12);
/// assert_eq!(shown, "bad\\nINFO fo…");
/// ```
pub fn sanitize(text: &str, max_chars: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_add(8)));
    // Counted in characters written, escapes included: the bound is on what is kept.
    let mut shown = 0;
    for c in text.chars() {
        if shown >= max_chars {
            out.push('…');
            break;
        }
        let before = out.len();
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
        shown += if c.is_ascii() || needs_escape(c) {
            out.len() - before
        } else {
            1
        };
    }
    out
}

/// Characters that could forge or reorder a log line.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The secret values the SDK itself holds for one call (its API key or client secret, the
/// bearer it sent, the connect token or code of the flow), removed from any vendor text it
/// keeps, wherever they appear and under whatever key.
///
/// Each value is also removed in its form-encoded and JSON-escaped spellings. `Debug` shows
/// only how many values it holds.
///
/// ```
/// use utilconnect::redact::KnownSecrets;
/// let secrets = KnownSecrets::new().with("s3cr3t".into());
/// assert_eq!(secrets.scrub("echo: s3cr3t!"), "echo: [REDACTED]!");
/// assert_eq!(format!("{secrets:?}"), "KnownSecrets(1)");
/// ```
#[derive(Clone, Default)]
pub struct KnownSecrets {
    values: Vec<SecretString>,
}

impl KnownSecrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// These secrets and `secret` (an empty one is ignored).
    pub fn with(mut self, secret: SecretString) -> Self {
        self.add(secret);
        self
    }

    /// Adds `secret` (an empty one is ignored).
    pub fn add(&mut self, secret: SecretString) {
        if !secret.expose_secret().is_empty() {
            self.values.push(secret);
        }
    }

    /// Adds every secret of `other`.
    pub fn extend(&mut self, other: &KnownSecrets) {
        self.values.extend(other.values.iter().cloned());
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every known secret replaced by [`REDACTED`].
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in &self.values {
            for spelling in spellings(secret.expose_secret()) {
                // memchr's SIMD search: a hostile body may be megabytes.
                if memchr::memmem::find(text.as_bytes(), spelling.as_bytes()).is_some() {
                    text = Cow::Owned(text.replace(spelling.as_ref(), REDACTED));
                }
            }
        }
        text
    }

    /// The length of the longest spelling of any secret, in bytes.
    fn longest_spelling(&self) -> usize {
        self.values
            .iter()
            .flat_map(|secret| spellings(secret.expose_secret()).map(|s| s.len()))
            .max()
            .unwrap_or(0)
    }

    /// `cut`, or an earlier char boundary so that no secret straddles it: cutting through a
    /// secret would keep its first part where `scrub` cannot recognise it. Repeated until
    /// nothing moves it, since moving it for one secret can make it split another.
    fn safe_cut(&self, text: &str, mut cut: usize) -> usize {
        loop {
            let before = cut;
            for secret in &self.values {
                for spelling in spellings(secret.expose_secret()) {
                    let len = spelling.len();
                    let from = cut.saturating_sub(len - 1);
                    let to = (cut + len - 1).min(text.len());
                    let region = &text.as_bytes()[from..to];
                    let straddling = memchr::memmem::find_iter(region, spelling.as_bytes())
                        .map(|at| from + at)
                        .find(|&start| start < cut && start + len > cut);
                    if let Some(start) = straddling {
                        cut = start;
                    }
                }
            }
            if cut == before {
                return cut;
            }
        }
    }
}

/// A secret as it may appear in vendor text: as is, form-encoded, JSON-escaped.
fn spellings(value: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let encoded: Cow<'_, str> = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let escaped: Cow<'_, str> = match serde_json::to_string(value) {
        Ok(quoted) => Cow::Owned(quoted[1..quoted.len() - 1].to_owned()),
        Err(_) => Cow::Borrowed(value),
    };
    // JSON may also escape `/` (as PHP's encoder does by default).
    let slashes: Cow<'_, str> = Cow::Owned(escaped.replace('/', "\\/"));
    let mut all = vec![Cow::Borrowed(value)];
    for other in [encoded, escaped, slashes] {
        if !all.contains(&other) {
            all.push(other);
        }
    }
    all.into_iter()
}

impl fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnownSecrets({})", self.values.len())
    }
}

#[cfg(test)]
mod tests;
