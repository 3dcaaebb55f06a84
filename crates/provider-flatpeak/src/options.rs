//! Token options: every field of Flatpeak's `ConnectTokenCreate` schema that the caller may
//! set, typed and validated before anything is sent.
//!
//! Apps pass them as a JSON map (`Connector::start_with`), so switching vendors stays a config
//! change; this module turns the map into [`TokenOptions`] or an
//! [`ErrorKind::InvalidInput`](utilconnect::ErrorKind::InvalidInput) error naming the field.

use serde::{Deserialize, Serialize};
use utilconnect::{Error, Options, Result};

use crate::version::ApiVersion;

/// Which tariff the customer connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TariffDirection {
    /// Energy bought from the grid (Flatpeak's default).
    Import,
    /// Energy sold to the grid.
    Export,
    /// Local tariffs.
    Local,
}

/// Which kind of tariff the customer connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TariffType {
    /// Energy commodity tariff (Flatpeak's default).
    Commodity,
    /// Non-commodity charges.
    NonCommodity,
}

/// The kind of postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PostalAddressType {
    /// A home.
    Residential,
    /// A business.
    Commercial,
}

/// `actions` of the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Disconnect the tariff for the location and direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_tariff: Option<bool>,
    /// Restart from provider selection without disconnecting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_tariff: Option<bool>,
}

/// `route_options` of the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteOptions {
    /// Enables the `advanced_tariff_capture` route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_tariff_capture: Option<bool>,
    /// Enables the `tariff_name_capture` route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff_name_capture: Option<bool>,
    /// Enables the `contract_term_capture` route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_term_capture: Option<bool>,
}

/// `PostalAddress` of the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street, PO box or company name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// Apartment, suite, unit or building.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// City, district, suburb, town or village.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State, county, province or region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP or postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// Every caller-settable field of `POST /connect/token` (the SDK sets `connect_url` and
/// `callback_url` itself).
///
/// ```
/// let options = serde_json::json!({"location_reference_id": "LOC1", "tariff_direction": "EXPORT"});
/// let parsed = utilconnect_flatpeak::TokenOptions::from_options(options.as_object().unwrap())?;
/// assert_eq!(parsed.tariff_direction, Some(utilconnect_flatpeak::TariffDirection::Export));
///
/// let both = serde_json::json!({"location_id": "loc_1", "location_reference_id": "LOC1"});
/// let err = utilconnect_flatpeak::TokenOptions::from_options(both.as_object().unwrap()).unwrap_err();
/// assert!(err.to_string().contains("not both"));
/// # Ok::<(), utilconnect::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOptions {
    /// A Flatpeak customer id (`cus_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Your id for the customer, to create one with this reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_reference_id: Option<String>,
    /// A Flatpeak location id (`loc_…`); not with `location_reference_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// Your id for the location; not with `location_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_reference_id: Option<String>,
    /// Tariff direction (defaults to the config's, then Flatpeak's `IMPORT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff_direction: Option<TariffDirection>,
    /// Tariff type (defaults to the config's, then Flatpeak's `COMMODITY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff_type: Option<TariffType>,
    /// A Flatpeak tariff id (`trf_…`) for the customer to update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<String>,
    /// Disconnect or edit actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Actions>,
    /// Extra capture routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_options: Option<RouteOptions>,
    /// The kind of `postal_address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_address_type: Option<PostalAddressType>,
    /// The customer's address; Connect skips its address page when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<PostalAddress>,
    /// busbar only: a Flatpeak device id (`dev_…`) the session is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// busbar only: a Flatpeak provider id (`prv_…`) to connect to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

impl TokenOptions {
    /// Parses and validates options from a flow's JSON map.
    pub fn from_options(options: &Options) -> Result<Self> {
        if options.is_empty() {
            return Ok(Self::default());
        }
        let value = serde_json::Value::Object(options.clone());
        let parsed: Self = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            let problem = describe(&err.into_inner().to_string());
            invalid_option(format!("Flatpeak option `{path}`: {problem}"))
        })?;
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks that every option set exists in `version`'s create call (each version takes
    /// its own set: see the crate docs), and what that version requires.
    ///
    /// ```
    /// use utilconnect_flatpeak::{ApiVersion, TokenOptions};
    /// let options = serde_json::json!({"route_options": {"tariff_name_capture": true}});
    /// let options = TokenOptions::from_options(options.as_object().unwrap())?;
    /// options.check_for(ApiVersion::Anode)?;
    /// let err = options.check_for(ApiVersion::V2024_08_24).unwrap_err();
    /// assert!(err.to_string().contains("`route_options` is not an option of Flatpeak API version 2024-08-24"));
    /// # Ok::<(), utilconnect::Error>(())
    /// ```
    pub fn check_for(&self, version: ApiVersion) -> Result<()> {
        let set = [
            ("customer_id", self.customer_id.is_some()),
            (
                "customer_reference_id",
                self.customer_reference_id.is_some(),
            ),
            ("location_id", self.location_id.is_some()),
            (
                "location_reference_id",
                self.location_reference_id.is_some(),
            ),
            ("tariff_direction", self.tariff_direction.is_some()),
            ("tariff_type", self.tariff_type.is_some()),
            ("tariff_id", self.tariff_id.is_some()),
            ("actions", self.actions.is_some()),
            ("route_options", self.route_options.is_some()),
            ("postal_address_type", self.postal_address_type.is_some()),
            ("postal_address", self.postal_address.is_some()),
            ("device_id", self.device_id.is_some()),
            ("provider_id", self.provider_id.is_some()),
        ];
        if let Some((name, _)) = set
            .iter()
            .find(|(name, given)| *given && !versions_of(name).contains(&version))
        {
            let elsewhere: Vec<&str> = versions_of(name).iter().map(|v| v.name()).collect();
            return Err(invalid_option(format!(
                "`{name}` is not an option of Flatpeak API version {version} (it is one of {}); \
                 remove it or set `api_version`",
                elsewhere.join(", ")
            )));
        }
        if version == ApiVersion::V2024_08_24
            && self.tariff_direction == Some(TariffDirection::Local)
        {
            return Err(invalid_option(
                "Flatpeak API version 2024-08-24 takes `tariff_direction` IMPORT or EXPORT only"
                    .into(),
            ));
        }
        if version == ApiVersion::Busbar && self.location_id.is_none() {
            return Err(invalid_option(
                "Flatpeak API version busbar creates a session for an existing location: \
                 the `location_id` option is required"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks what the schema constrains beyond types.
    pub fn validate(&self) -> Result<()> {
        if self.location_id.is_some() && self.location_reference_id.is_some() {
            return Err(invalid_option(
                "give Flatpeak either `location_id` or `location_reference_id`, not both".into(),
            ));
        }
        if let Some(code) = self
            .postal_address
            .as_ref()
            .and_then(|a| a.country_code.as_deref())
        {
            let well_formed = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
            if !well_formed {
                return Err(invalid_option(format!(
                    "Flatpeak option `postal_address.country_code` must be two upper-case letters (ISO 3166-1 alpha-2), got `{}`",
                    utilconnect::redact::sanitize(code, 16)
                )));
            }
        }
        for (name, value) in [
            ("customer_id", &self.customer_id),
            ("customer_reference_id", &self.customer_reference_id),
            ("location_id", &self.location_id),
            ("location_reference_id", &self.location_reference_id),
            ("tariff_id", &self.tariff_id),
            ("device_id", &self.device_id),
            ("provider_id", &self.provider_id),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid_option(format!(
                    "Flatpeak option `{name}` must not be empty"
                )));
            }
        }
        Ok(())
    }
}

/// The versions whose create call takes option `name` (from each version's reference
/// page; the SDK sets the URLs itself).
fn versions_of(name: &str) -> &'static [ApiVersion] {
    use ApiVersion::{Anode, Busbar, V2024_08_24};
    match name {
        "customer_id"
        | "customer_reference_id"
        | "location_reference_id"
        | "tariff_direction"
        | "tariff_type"
        | "tariff_id"
        | "postal_address" => &[V2024_08_24, Anode],
        "location_id" => &[V2024_08_24, Anode, Busbar],
        "actions" | "route_options" | "postal_address_type" => &[Anode],
        "device_id" | "provider_id" => &[Busbar],
        _ => &[],
    }
}

/// serde's message, without quoting the offending value (options are not secrets, but keep
/// messages short and uniform).
fn describe(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// A refused flow option, attributed to this provider.
fn invalid_option(message: String) -> Error {
    Error::invalid_option(message).with_provider(crate::NAME)
}

#[cfg(test)]
mod tests {
    use utilconnect::ErrorKind;

    use super::*;

    fn parse(json: serde_json::Value) -> Result<TokenOptions> {
        TokenOptions::from_options(json.as_object().unwrap())
    }

    #[test]
    fn every_schema_field_is_accepted_and_serialized_back() {
        let json = serde_json::json!({
            "customer_id": "cus_1",
            "customer_reference_id": "CUS1",
            "location_reference_id": "LOC1",
            "tariff_direction": "LOCAL",
            "tariff_type": "NON_COMMODITY",
            "tariff_id": "trf_1",
            "actions": {"disconnect_tariff": false, "edit_tariff": true},
            "route_options": {"advanced_tariff_capture": true, "tariff_name_capture": false, "contract_term_capture": true},
            "postal_address_type": "COMMERCIAL",
            "postal_address": {"address_line1": "1-3", "address_line2": "Strand", "city": "London",
                               "state": "Greater London", "post_code": "WC2N 5EH", "country_code": "GB"},
        });
        let options = parse(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&options).unwrap(), json);
    }

    #[test]
    fn bad_values_name_the_field() {
        for (json, expected) in [
            (
                serde_json::json!({"tariff_direction": "UP"}),
                "`tariff_direction`",
            ),
            (
                serde_json::json!({"postal_address": {"zip": "1"}}),
                "`postal_address.zip`",
            ),
            (
                serde_json::json!({"callback_url": "x"}),
                "unknown field `callback_url`",
            ),
            (
                serde_json::json!({"postal_address": {"country_code": "gbr"}}),
                "country_code",
            ),
            (
                serde_json::json!({"location_id": " "}),
                "`location_id` must not be empty",
            ),
            (
                serde_json::json!({"actions": {"disconnect_tariff": "yes"}}),
                "`actions.disconnect_tariff`",
            ),
        ] {
            let err = parse(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn each_version_takes_its_own_options() {
        let zero_only =
            parse(serde_json::json!({"tariff_direction": "EXPORT", "tariff_id": "trf_1"})).unwrap();
        zero_only.check_for(ApiVersion::V2024_08_24).unwrap();
        zero_only.check_for(ApiVersion::Anode).unwrap();
        let err = zero_only.check_for(ApiVersion::Busbar).unwrap_err();
        assert!(
            err.to_string()
                .contains("`tariff_direction` is not an option of Flatpeak API version busbar"),
            "{err}"
        );

        let local = parse(serde_json::json!({"tariff_direction": "LOCAL"})).unwrap();
        let err = local.check_for(ApiVersion::V2024_08_24).unwrap_err();
        assert!(err.to_string().contains("IMPORT or EXPORT only"), "{err}");

        let device = parse(serde_json::json!({"device_id": "dev_1"})).unwrap();
        let err = device.check_for(ApiVersion::Anode).unwrap_err();
        assert!(err.to_string().contains("(it is one of busbar)"), "{err}");
        let err = device.check_for(ApiVersion::Busbar).unwrap_err();
        assert!(
            err.to_string().contains("`location_id` option is required"),
            "{err}"
        );
        parse(serde_json::json!({"device_id": "dev_1", "location_id": "loc_1"}))
            .unwrap()
            .check_for(ApiVersion::Busbar)
            .unwrap();
    }
}
