//! Flatpeak's API versions: the paths and body shapes of Connect in each.
//!
//! The `Flatpeak-Version` header selects the version; without it the account's dashboard
//! default applies, so the provider always sends it. Sources: the 2024-08-24 OpenAPI spec
//! (`flatpeak-openapi-2024-08-24.json`), the anode reference pages ("Create a Connect token",
//! `POST /connect/token`; "Exchange a connect token", `GET /connect/tariff/token`), and the
//! busbar reference pages ("Create a Connect session", `POST /connect`; "Retrieve a Connect
//! session", `GET /connect/{connect_token}`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The placeholder in a retrieve path template that the connect token replaces (as one
/// percent-encoded path segment).
pub const TOKEN_PLACEHOLDER: &str = "{connect_token}";

/// A Flatpeak API version, chosen by `api_version` in `[providers.flatpeak]`.
///
/// ```
/// use utilconnect_flatpeak::ApiVersion;
/// assert_eq!(ApiVersion::V2024_08_24.create_path(), "/connect/tariff/token");
/// assert_eq!(ApiVersion::Anode.default_retrieve_path(), "/connect/tariff/token");
/// assert_eq!(ApiVersion::Busbar.default_retrieve_path(), "/connect/{connect_token}");
/// assert_eq!("2025-09-14.anode".parse::<ApiVersion>(), Ok(ApiVersion::Anode));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ApiVersion {
    /// `2024-08-24` ("zero"): `POST` and `GET /connect/tariff/token`, with `callback_uri`,
    /// `connect_web_uri`, `direction` and `type`.
    #[serde(rename = "2024-08-24")]
    V2024_08_24,
    /// `2025-09-14.anode`: `POST /connect/token` with `connect_url`, `callback_url`,
    /// `tariff_direction`, `tariff_type`, …; the retrieve is still
    /// `GET /connect/tariff/token`.
    #[default]
    #[serde(rename = "2025-09-14.anode")]
    Anode,
    /// busbar: `POST /connect` (a `location_id` is required) and
    /// `GET /connect/{connect_token}`, answering a `connect_session` with `data_available`.
    ///
    /// Flatpeak has not published busbar's `Flatpeak-Version` string, so `"busbar"` here is
    /// our placeholder name, never sent: the header value comes from `busbar_version` in the
    /// config, which is required with this version.
    #[serde(rename = "busbar")]
    Busbar,
}

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [ApiVersion; 3] = [Self::V2024_08_24, Self::Anode, Self::Busbar];

    /// The name written in config (and, for the published versions, sent as
    /// `Flatpeak-Version`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::V2024_08_24 => "2024-08-24",
            Self::Anode => "2025-09-14.anode",
            Self::Busbar => "busbar",
        }
    }

    /// The header value, when Flatpeak has published one (not for busbar).
    pub const fn published_header(self) -> Option<&'static str> {
        match self {
            Self::Busbar => None,
            other => Some(other.name()),
        }
    }

    /// The path of the call that creates a connect token (or, in busbar, a session).
    pub const fn create_path(self) -> &'static str {
        match self {
            Self::V2024_08_24 => "/connect/tariff/token",
            Self::Anode => "/connect/token",
            Self::Busbar => "/connect",
        }
    }

    /// The documented retrieve path: a path taking `?connect_token=`, or a template whose
    /// last segment is [`TOKEN_PLACEHOLDER`].
    pub const fn default_retrieve_path(self) -> &'static str {
        match self {
            Self::V2024_08_24 | Self::Anode => "/connect/tariff/token",
            Self::Busbar => "/connect/{connect_token}",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = UnknownApiVersion;

    /// A version by its config name.
    fn from_str(name: &str) -> Result<Self, UnknownApiVersion> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or(UnknownApiVersion)
    }
}

/// A name that is not one of [`ApiVersion::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownApiVersion;

impl fmt::Display for UnknownApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a Flatpeak API version (2024-08-24, 2025-09-14.anode or busbar)")
    }
}

impl std::error::Error for UnknownApiVersion {}
