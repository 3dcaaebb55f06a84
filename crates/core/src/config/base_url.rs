//! [`BaseUrl`]: a vendor base URL from config, https or loopback http only.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer};
use url::{Host, Url};

use crate::error::{Error, Result};

/// A vendor base URL from config: `https://…`, or `http://…` only for a loopback host, so
/// secrets never cross a network in clear text.
///
/// ```
/// use utilconnect::BaseUrl;
/// assert!(BaseUrl::parse("https://api.pelm.com").is_ok());
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://api.pelm.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Parses and checks a base URL.
    pub fn parse(text: &str) -> Result<Self> {
        let url = Url::parse(text)
            .map_err(|e| Error::config(format!("`{text}` is not a valid URL: {e}")))?;
        Self::try_from(url)
    }

    /// A base URL from a constant known to be valid (a provider's documented default).
    ///
    /// # Panics
    ///
    /// If `text` is not a valid base URL: a bug in the constant, caught by any test that
    /// builds the provider's default config.
    pub fn from_static(text: &'static str) -> Self {
        match Self::parse(text) {
            Ok(url) => url,
            Err(err) => panic!("constant base URL {text} is invalid: {err}"),
        }
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Joins a path (e.g. `/auth/token`) onto the base, keeping any base path prefix.
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", path.trim_start_matches('/')));
        url
    }
}

impl TryFrom<Url> for BaseUrl {
    type Error = Error;

    fn try_from(url: Url) -> Result<Self> {
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(Error::config(format!(
                    "`{}` uses plain http; only https is allowed, except for loopback hosts",
                    url.origin().ascii_serialization()
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "base URL scheme `{other}` is not supported; use https"
                )));
            }
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(Error::config("a base URL needs a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "a base URL must not carry credentials; put them in their own keys",
            ));
        }
        Ok(Self(url))
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let url = Url::parse(&text).map_err(serde::de::Error::custom)?;
        Self::try_from(url).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        // Only `localhost` itself: `x.localhost` goes through DNS on many systems, and a
        // resolver can send it anywhere.
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
