//! The invariants the fuzz targets in `fuzz/` check, one function per target.
//!
//! Each function takes the fuzzer's bytes, runs one part of the SDK that reads untrusted
//! input, and panics when an invariant breaks: no panic inside the SDK, no known secret in
//! anything shown (`Display`, `Debug`), and every error's text bounded and on one line. The
//! nightly fuzz targets call these; the stable test `tests/replay.rs` runs them over the
//! committed corpus in CI, so a crash once found stays fixed.
//!
//! ```
//! utilconnect_fuzz_checks::callback(b"/cb?state=abc&error=access_denied");
//! ```

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::SecretString;
use utilconnect::http::Response;
use utilconnect::redact::{self, KnownSecrets};
use utilconnect::{Callback, Config, Error};

/// A secret the SDK holds (a client secret, an API key).
pub const SECRET: &str = "SeKrEt_f0zz_9c1d4e";
/// A flow's secret (a code, a connect token).
pub const TOKEN: &str = "cot_f0zz_flow_7a2b";

/// The longest `Display` or `Debug` of an error accepted, in bytes.
const MAX_ERROR_TEXT: usize = 8 * 1024;

/// One target's check: the fuzzer's bytes in, a panic on a broken invariant.
pub type Check = fn(&[u8]);

/// Every target, by its directory name under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("callback", callback),
    ("config", config),
    ("pelm_responses", pelm_responses),
    ("flatpeak_responses", flatpeak_responses),
    ("redaction", redaction),
];

/// The callback parser, with a secret code added to whatever the fuzzer sends.
pub fn callback(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let url = format!("{text}&code={TOKEN}");
    match Callback::parse(&url) {
        Ok(callback) => {
            shows_no_secret(&format!("{callback:?}"), &text);
            let secrets = callback.known_secrets(&utilconnect_flatpeak::DESCRIPTOR);
            if let Some(err) = callback.vendor_error(&secrets) {
                error_is_clean(&err, &text);
            }
        }
        Err(err) => error_is_clean(&err, &text),
    }
}

/// Config loading and provider building, with secrets in both providers' tables and the
/// fuzzer's TOML after them.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let toml = format!(
        "provider = \"pelm\"\n[providers.flatpeak]\naccount_id = \"acc_1\"\napi_key = \"{SECRET}\"\n\
         [providers.pelm]\nclient_id = \"id\"\nclient_secret = \"{SECRET}\"\n{text}"
    );
    let config = match Config::from_toml_str(&toml) {
        Ok(config) => config,
        Err(err) => return error_is_clean(&err, &text),
    };
    for name in ["pelm", "flatpeak"] {
        let table = config.provider_config(name);
        match utilconnect::build_provider(name, &table) {
            Ok(provider) => shows_no_secret(&format!("{provider:?}"), &text),
            Err(err) => error_is_clean(&err, &text),
        }
        if let Err(err) = table.extract_key::<utilconnect::http::HttpConfig>("http") {
            error_is_clean(&err, &text);
        }
    }
}

/// Pelm's decoding and error mapping of one answer that may echo the client secret and the
/// code.
pub fn pelm_responses(data: &[u8]) {
    let (response, input) = response(data, KnownSecrets::new().with(SECRET.into()));
    for outcome in utilconnect_pelm::fuzzing::outcomes(&response) {
        if let Err(err) = outcome {
            error_is_clean(&err.scrub(&KnownSecrets::new().with(TOKEN.into())), &input);
        }
    }
}

/// Flatpeak's decoding and error mapping of one answer that may echo the API key and the
/// connect token.
pub fn flatpeak_responses(data: &[u8]) {
    let (response, input) = response(data, KnownSecrets::new().with(SECRET.into()));
    let token = SecretString::from(TOKEN);
    for outcome in utilconnect_flatpeak::fuzzing::outcomes(&response, &token) {
        if let Err(err) = outcome {
            // Before the retrieve, the connect token does not exist yet: an answer to the
            // login or the token call cannot leak it, whatever it says.
            let err = if err.operation() == utilconnect::Operation::Complete {
                err
            } else {
                err.scrub(&KnownSecrets::new().with(TOKEN.into()))
            };
            error_is_clean(&err, &input);
        }
    }
}

/// Excerpts and kept text of any bytes with both secrets in them.
pub fn redaction(data: &[u8]) {
    let (&at, rest) = data.split_first().unwrap_or((&0, &[]));
    let input = String::from_utf8_lossy(rest).into_owned();
    let mut text = input.clone();
    let mut cut = usize::from(at) * text.len() / 256;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.insert_str(cut, &format!("{SECRET} {TOKEN}"));
    let secrets = KnownSecrets::new().with(SECRET.into()).with(TOKEN.into());
    for kept in [
        redact::excerpt_scrubbing(text.as_bytes(), &secrets),
        redact::keepable(&text, &secrets, redact::EXCERPT_CHARS),
    ] {
        shows_no_secret(&kept, &input);
        is_one_bounded_line(&kept, redact::EXCERPT_CHARS + 16);
    }
    let _ = redact::redact_text(&text);
    let _ = redact::excerpt(data);
}

/// A response from the fuzzer's bytes: a status, maybe a `Retry-After`, and a body with both
/// secrets inserted at a place the bytes choose. Also returns the bytes as text, for the
/// check to tell a secret the input itself carries from one the SDK let through.
fn response(data: &[u8], secrets: KnownSecrets) -> (Response, String) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let status = 100 + u16::from_le_bytes([byte(0), byte(1)]) % 500;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let retry_len = usize::from(byte(2) % 16);
    let retry = data.get(3..3 + retry_len).unwrap_or_default();
    let at = byte(3 + retry_len);
    let body = data.get(4 + retry_len..).unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let (true, Ok(value)) = (retry_len > 0, HeaderValue::from_bytes(retry)) {
        headers.insert(http::header::RETRY_AFTER, value);
    }
    let cut = usize::from(at) * body.len() / 256;
    let mut with_secrets = body[..cut].to_vec();
    with_secrets.extend_from_slice(format!("{SECRET}\",\"x\":\"{TOKEN}").as_bytes());
    with_secrets.extend_from_slice(&body[cut..]);
    let input = String::from_utf8_lossy(data).into_owned();
    let response = Response::from_parts(status, headers, Bytes::from(with_secrets), secrets);
    (response, input)
}

/// An error's `Display` and `Debug`: no secret, bounded, and `Display` on one line.
fn error_is_clean(err: &Error, input: &str) {
    let display = err.to_string();
    let debug = format!("{err:?}");
    shows_no_secret(&display, input);
    shows_no_secret(&debug, input);
    is_one_bounded_line(&display, MAX_ERROR_TEXT);
    assert!(
        debug.len() <= MAX_ERROR_TEXT,
        "Debug is {} bytes",
        debug.len()
    );
}

/// `shown` holds neither secret, unless the fuzzer's own input does (then it is its text,
/// not ours).
fn shows_no_secret(shown: &str, input: &str) {
    for secret in [SECRET, TOKEN] {
        assert!(
            input.contains(secret) || !shown.contains(secret),
            "{secret} shown in {shown:?}"
        );
    }
}

fn is_one_bounded_line(text: &str, max_chars: usize) {
    assert!(
        !text.chars().any(char::is_control),
        "control character in {text:?}"
    );
    let chars = text.chars().count();
    assert!(
        chars <= max_chars,
        "{chars} characters, at most {max_chars}"
    );
}
