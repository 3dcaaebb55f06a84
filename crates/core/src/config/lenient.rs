//! Deserializers that accept a number or boolean written as a string, for config keys that
//! may come from environment variables (which are always strings).
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Table {
//!     #[serde(deserialize_with = "utilconnect::lenient::number")]
//!     retries: u32,
//! }
//! let t: Table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"retries": "4"}))
//!     .extract()?;
//! assert_eq!(t.retries, 4);
//! # Ok::<(), utilconnect::Error>(())
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// An integer given as a number or as a string of digits.
pub fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + TryFrom<u64> + TryFrom<i64>,
{
    struct Number<T>(PhantomData<T>);
    impl<T: FromStr + TryFrom<u64> + TryFrom<i64>> Visitor<'_> for Number<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom("integer out of range"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom("integer out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.trim()
                .parse()
                .map_err(|_| E::custom("expected an integer"))
        }
    }
    deserializer.deserialize_any(Number(PhantomData))
}

/// A vendor's lifetime in seconds (`expires_in`), as a number or a string of digits; zero
/// is refused, since a token born expired can only fail later with a misleading error.
pub fn lifetime_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match number::<D, u64>(deserializer)? {
        0 => Err(de::Error::custom(
            "a lifetime of 0 seconds: the token would be born expired",
        )),
        secs => Ok(secs),
    }
}

/// A boolean given as `true`/`false` or as the strings `"true"`/`"false"`.
pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct Boolean;
    impl Visitor<'_> for Boolean {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(E::custom("expected true or false")),
            }
        }
    }
    deserializer.deserialize_any(Boolean)
}
