//! CSRF `state` values and the one-way digests the session store is keyed by.
//!
//! A [`State`] is 256 bits from the operating system's RNG, written as unpadded URL-safe
//! base64 (43 characters), so it can go into any URL untouched. Equality is constant-time.
//! The session store never sees a state or a connect token itself, only their SHA-256
//! [`Digest`]: a leaked store does not let anyone forge a callback.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorKind, Operation, Result};

/// Number of random bytes in a [`State`] (256 bits).
pub const STATE_BYTES: usize = 32;

/// The opaque CSRF value that ties a callback to the flow that started it.
///
/// ```
/// use utilconnect::State;
///
/// let a = State::generate()?;
/// let b = State::generate()?;
/// assert_ne!(a, b);
/// assert_eq!(a.as_str().len(), 43);
/// assert_eq!(State::parse(a.as_str())?, a);
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Clone)]
pub struct State(String);

impl State {
    /// Draws a fresh state from the operating system's RNG.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; STATE_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                Operation::CreateToken,
                format!("the operating system's random number generator failed: {e}"),
            )
        })?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts a state as it came back on a callback.
    ///
    /// Only the shape is checked (non-empty, at most 512 URL-safe characters); whether it
    /// belongs to a flow is decided by looking its [`digest`](Self::digest) up in the store.
    pub fn parse(text: &str) -> Result<Self> {
        let well_formed = !text.is_empty()
            && text.len() <= 512
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::new(
                ErrorKind::StateMismatch,
                Operation::ParseCallback,
                "the callback's `state` is not a state this SDK issues",
            ))
        }
    }

    /// The state as URL-safe text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 digest the session store is keyed by.
    pub fn digest(&self) -> Digest {
        Digest::of(self.0.as_bytes())
    }
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        // Constant-time in the length of the shorter input; lengths are public (always 43
        // for states we issue).
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for State {}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state travels in URLs, so it is not a secret, but it is a bearer of the flow
        // until the callback: show only a prefix.
        let prefix: String = self.0.chars().take(6).collect();
        write!(f, "State({prefix}…)")
    }
}

/// A SHA-256 digest, stored instead of a state or token, compared in constant time.
///
/// ```
/// use secrecy::SecretString;
/// use utilconnect::Digest;
///
/// let token = SecretString::from("cot_123");
/// let digest = Digest::of_secret(&token);
/// assert!(digest.matches_secret(&SecretString::from("cot_123")));
/// assert!(!digest.matches_secret(&SecretString::from("cot_124")));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// Length of a digest's text: 32 bytes in unpadded URL-safe base64.
const DIGEST_CHARS: usize = 43;

impl TryFrom<String> for Digest {
    type Error = String;

    /// Accepts only what [`Digest::of`] writes: a session read back from a store is
    /// untrusted input.
    fn try_from(text: String) -> std::result::Result<Self, String> {
        let well_formed = text.len() == DIGEST_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if well_formed {
            Ok(Self(text))
        } else {
            Err(format!(
                "a digest is {DIGEST_CHARS} URL-safe base64 characters"
            ))
        }
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> Self {
        digest.0
    }
}

impl Digest {
    /// The digest of some bytes.
    pub fn of(bytes: &[u8]) -> Self {
        // SHA-256 from ring, which the TLS stack already builds: no second hash crate.
        let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
        Self(URL_SAFE_NO_PAD.encode(hash.as_ref()))
    }

    /// The digest of a secret, without exposing it anywhere else.
    pub fn of_secret(secret: &SecretString) -> Self {
        Self::of(secret.expose_secret().as_bytes())
    }

    /// Whether `secret` hashes to this digest, compared in constant time.
    pub fn matches_secret(&self, secret: &SecretString) -> bool {
        self.matches(&Self::of_secret(secret))
    }

    /// Constant-time equality of two digests.
    pub fn matches(&self, other: &Digest) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }

    /// The digest as URL-safe base64 text (safe to log).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(8).collect();
        write!(f, "Digest({prefix}…)")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ten_thousand_states_are_distinct_and_url_safe() {
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let state = State::generate().expect("os rng");
            assert_eq!(state.as_str().len(), 43, "256 bits in unpadded base64");
            assert!(
                state
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(seen.insert(state.as_str().to_owned()), "state repeated");
        }
    }

    #[test]
    fn state_bits_are_not_constant() {
        // A broken RNG that returns zeros would give "AAAA…"; check bits vary per position.
        let states: Vec<State> = (0..64).map(|_| State::generate().expect("rng")).collect();
        for pos in 0..43 {
            let first = states[0].as_str().as_bytes()[pos];
            assert!(
                states.iter().any(|s| s.as_str().as_bytes()[pos] != first),
                "position {pos} never changes"
            );
        }
    }

    #[test]
    fn equality_uses_constant_time_comparison() {
        // Constant time by construction: `eq` goes through `subtle::ConstantTimeEq`, which
        // compares every byte without early exit. Check it agrees with plain equality,
        // including on a difference in the last byte only.
        let a = State::parse("abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE").expect("valid");
        let b = State::parse("abcdefghijklmnopqrstuvwxyz0123456789-_ABCDF").expect("valid");
        let c = State::parse("abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE").expect("valid");
        assert_ne!(a, b);
        assert_eq!(a, c);
        assert_ne!(a, State::parse("abc").expect("valid"));
    }

    #[test]
    fn parse_rejects_what_we_never_issue() {
        for bad in [
            "",
            "has space",
            "semi;colon",
            "percent%20",
            &"a".repeat(513),
        ] {
            let err = State::parse(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::StateMismatch);
        }
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        let state = State::parse("abcdefghijklmnopqrstuvwxyz").expect("valid");
        let debug = format!("{state:?}");
        assert!(!debug.contains("ghijkl"), "{debug}");
    }

    #[test]
    fn a_digest_read_from_a_store_is_validated() {
        let good = Digest::of(b"x");
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), good);
        for bad in [
            "\"ééééééééé\"",
            "\"short\"",
            &format!("\"{}!\"", "a".repeat(42)),
        ] {
            let err = serde_json::from_str::<Digest>(bad).expect_err(bad);
            assert!(err.to_string().contains("43 URL-safe base64"), "{err}");
        }
        // Debug never slices by byte index, whatever it holds.
        assert_eq!(
            format!("{:?}", Digest("ééééééééé".into())),
            "Digest(éééééééé…)"
        );
    }

    #[test]
    fn digest_depends_on_input_and_compares() {
        let a = Digest::of(b"one");
        let b = Digest::of(b"two");
        assert!(!a.matches(&b));
        assert!(a.matches(&Digest::of(b"one")));
        assert_ne!(a.as_str(), "one");
    }
}
