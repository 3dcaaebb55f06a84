//! The linear-time scanners behind [`redact_text`](super::redact_text).
//!
//! Each takes one pass over its input (plus one pass per removed value), whatever the input:
//! a hostile vendor body must not cost more CPU than its size. They are hand-written rather
//! than regular expressions because a regex iterator's worst case is quadratic in the input.

use super::{REDACTED, is_secret_key};

/// Replaces the value of every secret-named key in JSON-looking text, at any depth. A value
/// that is an object or an array is replaced whole; a value cut off by the end of the text is
/// replaced up to the end. Text that is not JSON passes through unchanged.
pub(super) fn json_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let key_end = string_end(bytes, i);
        let colon = skip_space(bytes, key_end);
        if bytes.get(colon) != Some(&b':') {
            i = key_end;
            continue;
        }
        let key = &text[i + 1..key_end.saturating_sub(1).max(i + 1)];
        let value = skip_space(bytes, colon + 1);
        i = value;
        if is_secret_key(key) && value < bytes.len() {
            out.push_str(&text[copied..value]);
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
            i = value_end(bytes, value);
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces the value of every secret-named `key=value` (query, form) or `Key: value`
/// (header) pair.
pub(super) fn pairs(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    // Where the next key may start: a key never reaches back over an earlier separator, which
    // keeps the backward scans linear in total.
    let mut floor = 0;
    let mut i = 0;
    while i < bytes.len() {
        let separator = bytes[i];
        if separator != b'=' && separator != b':' {
            i += 1;
            continue;
        }
        let mut key_start = i;
        while key_start > floor && is_key_byte(bytes[key_start - 1]) {
            key_start -= 1;
        }
        floor = i + 1;
        // The key is checked first: scanning every value would make `a=a=a=…` quadratic.
        if key_start == i || !is_secret_key(&text[key_start..i]) {
            i += 1;
            continue;
        }
        let mut value = i + 1;
        if separator == b':' {
            while value < bytes.len() && matches!(bytes[value], b' ' | b'\t') {
                value += 1;
            }
        }
        let rest = &text[value..];
        let already_redacted = rest.strip_prefix('"').unwrap_or(rest).starts_with(REDACTED);
        let end = if bytes.get(value) == Some(&b'"') {
            string_end(bytes, value)
        } else {
            let mut end = value;
            while end < bytes.len() && !is_pair_end(bytes[end]) {
                end += 1;
            }
            end
        };
        if end > value && !already_redacted {
            out.push_str(&text[copied..value]);
            out.push_str(REDACTED);
            copied = end;
            i = end;
            floor = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces the credential after every `Bearer` or `Basic` scheme word.
pub(super) fn auth_schemes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let scheme_len = ["bearer", "basic"].into_iter().find_map(|scheme| {
            let candidate = bytes.get(i..i + scheme.len())?;
            candidate
                .eq_ignore_ascii_case(scheme.as_bytes())
                .then_some(scheme.len())
        });
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let Some(scheme_len) = scheme_len.filter(|_| at_word_start) else {
            i += 1;
            continue;
        };
        let mut token = i + scheme_len;
        while token < bytes.len() && bytes[token].is_ascii_whitespace() {
            token += 1;
        }
        let mut end = token;
        while end < bytes.len() && is_token_byte(bytes[end]) {
            end += 1;
        }
        if token > i + scheme_len && end > token {
            out.push_str(&text[copied..token]);
            out.push_str(REDACTED);
            copied = end;
            i = end;
        } else {
            i += scheme_len;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The index after the string that opens at `start` (a `"`), or the end of the text.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after the JSON value that starts at `start`: a string, a whole object or array
/// (nested ones included), or a bare scalar.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes[start] {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = start;
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']') {
                if bytes[i].is_ascii_whitespace() {
                    break;
                }
                i += 1;
            }
            i
        }
    }
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn is_pair_end(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'&' | b',' | b';' | b'"' | b'\'' | b'<' | b'>')
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
}
