//! Reading a configuration tree into a caller's type, with errors that say what was wrong
//! without the value.
//!
//! serde's default error messages quote the offending value (`invalid type: string "…"`),
//! and a value typed into the wrong key may be a secret. [`Problem`] keeps only the kind of
//! value found, so every message built from it is safe to show.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{self, Deserializer, Expected, IntoDeserializer, Unexpected, Visitor};
use serde_json::Value;

/// What went wrong reading one value, without the value itself.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Problem {
    /// A key the target type does not have, and the keys it does.
    UnknownKey { key: String, expected: Vec<String> },
    /// A required key that is absent.
    MissingKey(String),
    /// A key given twice.
    DuplicateKey(String),
    /// A value of the wrong kind, e.g. a number where a string was expected.
    InvalidType {
        found: &'static str,
        expected: String,
    },
    /// A value of the right kind that the type refuses, e.g. `"1year"` for a duration.
    InvalidValue {
        found: &'static str,
        expected: String,
    },
    /// A list of the wrong length.
    InvalidLength { length: usize, expected: String },
    /// A value that is not one of an enum's names.
    UnknownVariant { expected: Vec<String> },
    /// A message from a type's own check. Any `Deserialize` impl may write one, so it is
    /// kept bounded and escaped; ours name no value.
    Message(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKey { key, expected } => {
                write!(
                    f,
                    "unknown key `{key}` (expected one of: {})",
                    expected.join(", ")
                )
            }
            Self::MissingKey(key) => write!(f, "missing key `{key}`"),
            Self::DuplicateKey(key) => write!(f, "key `{key}` given twice"),
            Self::InvalidType { found, expected } => {
                write!(f, "expected {expected}, found {found}")
            }
            Self::InvalidValue { found, expected } => {
                let example = if expected.contains("duration") {
                    " (write it like \"30s\", \"500ms\" or \"2m\")"
                } else {
                    ""
                };
                write!(f, "{found} that is not {expected}{example}")
            }
            Self::InvalidLength { length, expected } => {
                write!(f, "invalid length {length}, expected {expected}")
            }
            Self::UnknownVariant { expected } => {
                write!(
                    f,
                    "unknown value (expected one of: {})",
                    expected.join(", ")
                )
            }
            Self::Message(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Problem {}

impl de::Error for Problem {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Message(crate::redact::sanitize(&msg.to_string(), 200))
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::InvalidType {
            found: kind_of(&unexpected),
            expected: expected.to_string(),
        }
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::InvalidValue {
            found: kind_of(&unexpected),
            expected: expected.to_string(),
        }
    }

    fn invalid_length(length: usize, expected: &dyn Expected) -> Self {
        Self::InvalidLength {
            length,
            expected: expected.to_string(),
        }
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        // The value is not kept: it may be a secret typed into the wrong key.
        Self::UnknownVariant {
            expected: expected.iter().map(|&s| s.to_owned()).collect(),
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::UnknownKey {
            key: crate::redact::sanitize(field, 64),
            expected: expected.iter().map(|&s| s.to_owned()).collect(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self::MissingKey(field.to_owned())
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::DuplicateKey(field.to_owned())
    }
}

/// The kind of an unexpected value, in words, never the value.
fn kind_of(unexpected: &Unexpected<'_>) -> &'static str {
    match unexpected {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a float",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Seq => "a list",
        Unexpected::Map => "a table",
        Unexpected::Unit | Unexpected::Option => "nothing",
        _ => "another kind of value",
    }
}

/// A borrowed JSON-shaped tree as a serde deserializer whose errors are [`Problem`]s.
#[derive(Clone, Copy)]
pub(super) struct ValueDeserializer<'de>(pub &'de Value);

impl<'de> IntoDeserializer<'de, Problem> for ValueDeserializer<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer<'de> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(ValueDeserializer));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let entries = map.iter().map(|(k, v)| (k.as_str(), ValueDeserializer(v)));
                let mut access = MapDeserializer::new(entries);
                let value = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Problem> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        match self.0 {
            // A unit variant written as its name, the only enum shape a config file needs.
            Value::String(name) => {
                let name: StrDeserializer<'_, Problem> = name.as_str().into_deserializer();
                visitor.visit_enum(name)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
        mode: Mode,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }

    fn read(value: serde_json::Value) -> Result<Sample, Problem> {
        Sample::deserialize(ValueDeserializer(&value))
    }

    #[test]
    fn reads_every_shape_a_config_uses() {
        let sample = read(serde_json::json!({
            "name": "n", "count": 3, "tags": ["a", "b"], "mode": "slow",
        }))
        .unwrap();
        assert_eq!(
            sample,
            Sample {
                name: "n".into(),
                count: Some(3),
                tags: vec!["a".into(), "b".into()],
                mode: Mode::Slow,
            }
        );
        let sample = read(serde_json::json!({"name": "n", "count": null, "mode": "fast"})).unwrap();
        assert_eq!((sample.count, sample.tags.len()), (None, 0));
    }

    #[test]
    fn problems_name_keys_and_kinds_never_values() {
        let cases = [
            (
                serde_json::json!({"name": "n", "mode": "fast", "nmae": "secret-1"}),
                Problem::UnknownKey {
                    key: "nmae".into(),
                    expected: vec!["name".into(), "count".into(), "tags".into(), "mode".into()],
                },
            ),
            (
                serde_json::json!({"mode": "fast"}),
                Problem::MissingKey("name".into()),
            ),
            (
                serde_json::json!({"name": 4242, "mode": "fast"}),
                Problem::InvalidType {
                    found: "an integer",
                    expected: "a string".into(),
                },
            ),
            (
                serde_json::json!({"name": "n", "mode": "secret-2"}),
                Problem::UnknownVariant {
                    expected: vec!["fast".into(), "slow".into()],
                },
            ),
            (
                serde_json::json!({"name": "n", "mode": "fast", "count": -5}),
                Problem::InvalidValue {
                    found: "an integer",
                    expected: "u32".into(),
                },
            ),
        ];
        for (value, expected) in cases {
            let problem = read(value).unwrap_err();
            assert_eq!(problem, expected);
            let shown = problem.to_string();
            for secret in ["secret-1", "secret-2", "4242", "-5"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }
}
