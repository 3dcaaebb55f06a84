//! What a case returns: a snapshot to compare, or a failure that says what was wrong.

use std::fmt;

use serde_json::Value;

/// A case's result: `Some(snapshot)` to compare as `<case>@<provider>`, or `None`.
pub type CaseResult = Result<Option<Value>, Failure>;

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<utilconnect::Error> for Failure {
    fn from(err: utilconnect::Error) -> Self {
        Self(format!("unexpected error: {err} ({:?})", err.kind()))
    }
}

/// `Ok(())` when `condition` holds, else a failure with `message`.
pub fn check(condition: bool, message: impl Into<String>) -> Result<(), Failure> {
    if condition {
        Ok(())
    } else {
        Err(Failure::new(message))
    }
}

/// Checks that `result` is an error of `kind`, returning it.
pub fn expect_kind<T: fmt::Debug>(
    result: utilconnect::Result<T>,
    kind: utilconnect::ErrorKind,
    what: &str,
) -> Result<utilconnect::Error, Failure> {
    match result {
        Err(err) if err.kind() == kind => Ok(err),
        Err(err) => Err(Failure::new(format!(
            "{what}: expected {kind:?}, got {:?}: {err}",
            err.kind()
        ))),
        Ok(value) => Err(Failure::new(format!(
            "{what}: expected {kind:?}, got success: {value:?}"
        ))),
    }
}
