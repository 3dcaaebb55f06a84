//! figment's errors turned into ours: keys named, values never echoed.

use figment::Metadata;
use figment::error::{Actual, Kind};

use crate::error::Error;

/// Turns figment's error into ours, naming keys but never echoing values (a value in the
/// wrong place may be a secret).
pub(super) fn config_error(err: figment::Error, table: Option<&Table>) -> Error {
    config_error_in(err, table, None)
}

/// Which table a value was read from, for errors: its dotted path (`providers.pelm`,
/// `session_store`) and the provider it configures, if any.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table<'a> {
    pub path: &'a str,
    pub provider: Option<&'a str>,
}

/// [`config_error`] for a table extracted from under `key`.
pub(super) fn config_error_in(
    err: figment::Error,
    table: Option<&Table>,
    key: Option<&str>,
) -> Error {
    let problems: Vec<String> = err
        .into_iter()
        .map(|e| {
            let mut path = key
                .into_iter()
                .chain(e.path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(".");
            if path.is_empty() {
                path = table.map_or_else(|| "top level".to_owned(), |t| t.path.to_owned());
            } else if let Some(t) = table {
                path = format!("{}.{path}", t.path);
            }
            let source = e.metadata.as_ref().map(describe_source).unwrap_or_default();
            format!("{path}: {}{source}", describe(&e.kind))
        })
        .collect();
    let mut error = Error::config(format!("invalid configuration: {}", problems.join("; ")));
    if let Some(p) = table.and_then(|t| t.provider) {
        error = error.with_provider(p);
    }
    error
}

/// Where a bad value came from: a file or the environment (not code locations, which mean
/// nothing to the person fixing their config).
fn describe_source(metadata: &Metadata) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => format!(" (from {})", path.display()),
        Some(figment::Source::Custom(custom)) => format!(" (from {custom})"),
        _ if metadata.name.contains("environment") => format!(" (from {})", metadata.name),
        _ => String::new(),
    }
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::UnknownField(field, expected) => {
            format!(
                "unknown key `{field}` (expected one of: {})",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => format!("missing key `{field}`"),
        Kind::DuplicateField(field) => format!("key `{field}` given twice"),
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", type_of(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            let example = if expected.contains("duration") {
                " (write it like \"30s\", \"500ms\" or \"2m\")"
            } else {
                ""
            };
            format!("{} that is not {expected}{example}", type_of(actual))
        }
        Kind::InvalidLength(len, expected) => format!("invalid length {len}, expected {expected}"),
        // The value is not repeated: it may be a secret typed into the wrong key.
        Kind::UnknownVariant(_, expected) => {
            format!("unknown value (expected one of: {})", expected.join(", "))
        }
        Kind::Message(message) => without_source_lines(message),
        other => format!("invalid value ({})", kind_name(other)),
    }
}

/// A TOML parser's message without the quoted source line (which shows the value on it, a
/// secret as like as not): `TOML parse error at line 3, column 17; duplicate key`.
fn without_source_lines(message: &str) -> String {
    let is_gutter = |line: &str| {
        let trimmed = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        trimmed.starts_with('|')
    };
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_gutter(line))
        .collect::<Vec<_>>()
        .join("; ")
}

fn type_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another kind of value",
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range",
        Kind::Unsupported(_) => "unsupported value",
        Kind::UnsupportedKey(..) => "unsupported key",
        _ => "invalid",
    }
}
