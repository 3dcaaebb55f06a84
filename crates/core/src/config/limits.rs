//! Range checks for config values: a duration or number outside its range is refused at
//! load, with the range in the message and the key named by the loader.
//!
//! ```
//! use std::time::Duration;
//! #[derive(Debug, serde::Deserialize)]
//! struct Table {
//!     #[serde(deserialize_with = "margin")]
//!     #[allow(dead_code)]
//!     margin: Duration,
//! }
//! fn margin<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
//!     utilconnect::limits::duration_in(d, Duration::ZERO..=Duration::from_secs(3600))
//! }
//! let table = utilconnect::ProviderConfig::from_json("x", serde_json::json!({"margin": "2h"}));
//! let err = table.extract::<Table>().unwrap_err();
//! assert!(err.to_string().contains("margin: must be at most 1h"), "{err}");
//! # Ok::<(), utilconnect::Error>(())
//! ```

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use humantime_serde::re::humantime::format_duration;
use serde::{Deserializer, de};

/// A duration written like `"10s"`, within `range`.
pub fn duration_in<'de, D: Deserializer<'de>>(
    deserializer: D,
    range: RangeInclusive<Duration>,
) -> Result<Duration, D::Error> {
    let value: Duration = humantime_serde::deserialize(deserializer)?;
    check_duration(value, &range).map_err(de::Error::custom)?;
    Ok(value)
}

/// An integer (or a string of digits) within `range`.
pub fn number_in<'de, D, T>(deserializer: D, range: RangeInclusive<u64>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let value: u64 = super::lenient::number(deserializer)?;
    check_number(value, &range).map_err(de::Error::custom)?;
    T::try_from(value).map_err(|_| de::Error::custom("integer out of range"))
}

/// Why `value` is outside `range`, if it is.
pub fn check_duration(value: Duration, range: &RangeInclusive<Duration>) -> Result<(), String> {
    check(value, range, |d| format_duration(*d).to_string())
}

/// Why `value` is outside `range`, if it is.
pub fn check_number(value: u64, range: &RangeInclusive<u64>) -> Result<(), String> {
    check(value, range, u64::to_string)
}

// The message names the bound, not the value: the loader adds the key, and a value is
// never echoed (it may be a secret typed into the wrong key).
fn check<T: PartialOrd, S: Display>(
    value: T,
    range: &RangeInclusive<T>,
    show: impl Fn(&T) -> S,
) -> Result<(), String> {
    if value > *range.end() {
        Err(format!("must be at most {}", show(range.end())))
    } else if value < *range.start() {
        Err(format!("must be at least {}", show(range.start())))
    } else {
        Ok(())
    }
}
