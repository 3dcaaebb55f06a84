//! Configuration problems turned into our errors: keys named, values never echoed.

use super::layers::{Located, Source};
use crate::error::Error;

/// Which table a value was read from, for errors: its dotted path (`providers.pelm`,
/// `session_store`) and the provider it configures, if any.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table<'a> {
    pub path: &'a str,
    pub provider: Option<&'a str>,
}

/// A problem found reading `table` (or the top level), under `key` when one key of the table
/// was read, as an [`ErrorKind::Config`](crate::ErrorKind::Config) error.
pub(super) fn config_error(located: Located, table: Option<&Table>, key: Option<&str>) -> Error {
    let path = table
        .map(|t| t.path)
        .into_iter()
        .chain(key)
        .chain(located.path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".");
    let path = if path.is_empty() { "top level" } else { &path };
    let source = match &located.source {
        Some(source @ (Source::File(_) | Source::Env(_))) => format!(" (from {source})"),
        _ => String::new(),
    };
    let mut error = Error::invalid_config_key(path, format_args!("{}{source}", located.problem));
    if let Some(p) = table.and_then(|t| t.provider) {
        error = error.with_provider(p);
    }
    error
}

/// A TOML syntax error from `source`, saying where (line and column) but not quoting the line,
/// which shows the value on it, a secret as like as not.
pub(super) fn syntax_error(err: &basic_toml::Error, source: &str) -> Error {
    let message = err.to_string();
    let first_line = message.lines().next().unwrap_or_default();
    Error::config(format!(
        "invalid configuration: {source}: TOML syntax error: {}",
        crate::redact::sanitize(first_line, 200)
    ))
}
