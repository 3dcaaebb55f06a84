//! [`Scope`]: a Green Button "function block" scope string, checked.
//!
//! ESPI scopes are `;`-separated `key=value` terms, e.g.
//! `FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13`, where `FB` lists
//! the function blocks (data sets) granted. The grammar is not formally published with the
//! wire reference, so this parser is conservative: it accepts what the examples show and
//! refuses anything that could smuggle another query parameter or a second scope.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// Longest scope accepted (the examples are under 100 characters).
pub const MAX_SCOPE_CHARS: usize = 512;

/// A checked function-block scope.
///
/// ```
/// use utilconnect_greenbutton::Scope;
/// let scope: Scope = "FB=4_5_15;IntervalDuration=3600;HistoryLength=13".parse()?;
/// assert_eq!(scope.function_blocks().collect::<Vec<_>>(), [4, 5, 15]);
/// assert!("FB=4;IntervalDuration=3600".parse::<Scope>()?.narrows(&scope));
/// assert!("FB=4 OR 1=1".parse::<Scope>().is_err());
/// # Ok::<(), utilconnect_greenbutton::ScopeError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Scope {
    text: String,
    blocks: BTreeSet<u16>,
    /// The terms other than `FB`, in order.
    terms: Vec<(String, String)>,
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError(String);

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScopeError {}

impl Scope {
    /// The scope as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The function block numbers granted (`FB=4_5_15` → 4, 5, 15), ascending.
    pub fn function_blocks(&self) -> impl Iterator<Item = u16> + '_ {
        self.blocks.iter().copied()
    }

    /// The value of term `key` (other than `FB`), e.g. `IntervalDuration`.
    pub fn term(&self, key: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this scope asks for no more than `allowed`: its function blocks are a subset
    /// of `allowed`'s, and each of its other terms appears in `allowed` with the same value.
    /// (Whether a shorter `HistoryLength` is "less" is not documented, so only equal values
    /// count as within the grant.)
    pub fn narrows(&self, allowed: &Scope) -> bool {
        self.blocks.is_subset(&allowed.blocks)
            && self
                .terms
                .iter()
                .all(|(key, value)| allowed.term(key) == Some(value.as_str()))
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, ScopeError> {
        let refuse = |why: String| Err(ScopeError(why));
        if text.is_empty() {
            return refuse("the scope is empty; give a function block scope such as `FB=4_5_15;IntervalDuration=3600`".into());
        }
        if text.chars().count() > MAX_SCOPE_CHARS {
            return refuse(format!(
                "the scope is longer than {MAX_SCOPE_CHARS} characters"
            ));
        }
        let mut blocks = None;
        let mut terms: Vec<(String, String)> = Vec::new();
        for term in text.split(';') {
            let Some((key, value)) = term.split_once('=') else {
                return refuse(format!("scope term `{}` is not `key=value`", shown(term)));
            };
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return refuse(format!(
                    "scope key `{}` must be letters and digits",
                    shown(key)
                ));
            }
            let value_ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !value_ok {
                return refuse(format!(
                    "scope value `{}` of `{key}` must be letters, digits, `_`, `.` or `-`",
                    shown(value)
                ));
            }
            if key == "FB" {
                if blocks.is_some() {
                    return refuse("the scope names `FB` twice".into());
                }
                blocks = Some(function_blocks(value)?);
            } else if terms.iter().any(|(k, _)| k == key) {
                return refuse(format!("the scope names `{key}` twice"));
            } else {
                terms.push((key.to_owned(), value.to_owned()));
            }
        }
        let Some(blocks) = blocks else {
            return refuse("the scope has no `FB=` term naming its function blocks".into());
        };
        Ok(Self {
            text: text.to_owned(),
            blocks,
            terms,
        })
    }
}

/// `4_5_15` → {4, 5, 15}.
fn function_blocks(value: &str) -> Result<BTreeSet<u16>, ScopeError> {
    value
        .split('_')
        .map(|n| {
            n.parse::<u16>()
                .ok()
                .filter(|n| (1..=99).contains(n))
                .ok_or_else(|| {
                    ScopeError(format!(
                        "function block `{}` in `FB={}` is not a number from 1 to 99",
                        shown(n),
                        shown(value)
                    ))
                })
        })
        .collect()
}

/// A piece of a refused scope, bounded and escaped for the message.
fn shown(text: &str) -> String {
    utilconnect::redact::sanitize(text, 64)
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scope").field(&self.text).finish()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13";

    #[test]
    fn the_documented_example_parses() {
        let scope: Scope = FULL.parse().unwrap();
        assert_eq!(scope.as_str(), FULL);
        assert_eq!(scope.function_blocks().collect::<Vec<_>>(), [4, 5, 15]);
        assert_eq!(scope.term("BlockDuration"), Some("monthly"));
        assert_eq!(scope.term("FB"), None);
    }

    #[test]
    fn malformed_scopes_say_what_is_wrong() {
        for (text, expected) in [
            ("", "empty"),
            ("IntervalDuration=3600", "no `FB=`"),
            ("FB=4;FB=5", "`FB` twice"),
            ("FB=4;A=1;A=2", "`A` twice"),
            ("FB=0", "from 1 to 99"),
            ("FB=4__5", "from 1 to 99"),
            ("FB=4;x", "not `key=value`"),
            ("FB=4&client_id=evil", "must be letters"),
            ("FB=4;Interval Duration=1", "must be letters and digits"),
            ("FB=4;A=\n", "must be letters"),
        ] {
            let err = text.parse::<Scope>().unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let long = format!("FB=4;A={}", "x".repeat(MAX_SCOPE_CHARS));
        assert!(
            long.parse::<Scope>()
                .unwrap_err()
                .to_string()
                .contains("longer")
        );
    }

    #[test]
    fn narrowing_is_a_subset_of_blocks_with_equal_terms() {
        let allowed: Scope = FULL.parse().unwrap();
        for (text, narrows) in [
            ("FB=4", true),
            ("FB=4_15;IntervalDuration=3600", true),
            (FULL, true),
            ("FB=4_16", false),
            ("FB=4;IntervalDuration=900", false),
            ("FB=4;Extra=1", false),
        ] {
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope.narrows(&allowed), narrows, "{text}");
        }
    }
}
