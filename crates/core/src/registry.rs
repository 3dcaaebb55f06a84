//! Providers register themselves at link time; apps pick one by name from config.
//!
//! A provider crate submits a `const` [`ProviderDescriptor`] with [`register_provider!`]
//! (backed by [`inventory`]). **Pitfall:** a crate listed in `Cargo.toml` but never named in
//! code is not linked, and its registration silently disappears. Name every provider you want
//! in the binary or test that needs it:
//!
//! ```ignore
//! use utilconnect_pelm as _;
//! use utilconnect_flatpeak as _;
//! ```
//!
//! [`register_provider!`]: crate::register_provider

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::provider::{Capability, ConnectProvider};

/// Builds a provider from its configuration table and what it shares with its connector.
pub type BuildFn = fn(&ProviderConfig, &BuildContext) -> Result<Arc<dyn ConnectProvider>>;

/// A provider built from its config table and then put on its connector's clock: what every
/// provider crate's build function does. Implement it and give the descriptor
/// [`build_from_config::<YourProvider>`](build_from_config).
///
/// ```
/// use std::sync::Arc;
/// use utilconnect::{BuildContext, Clock, FromConfig, ProviderConfig, Result};
/// # #[derive(Debug)] struct Toy(Arc<dyn Clock>);
/// # #[utilconnect::async_trait]
/// # impl utilconnect::ConnectProvider for Toy {
/// #     fn descriptor(&self) -> &'static utilconnect::ProviderDescriptor { &TOY }
/// #     async fn create_token(&self, _: &utilconnect::TokenRequest) -> Result<utilconnect::ConnectToken> { unimplemented!() }
/// #     fn connect_url(&self, _: &utilconnect::TokenRequest, _: &utilconnect::ConnectToken) -> Result<utilconnect::Url> { unimplemented!() }
/// #     async fn complete(&self, _: &utilconnect::PendingSession, _: &utilconnect::Callback) -> Result<utilconnect::Connection> { unimplemented!() }
/// # }
/// impl FromConfig for Toy {
///     fn from_config(_table: &ProviderConfig) -> Result<Self> {
///         Ok(Toy(Arc::new(utilconnect::SystemClock)))
///     }
///     fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
///         Toy(clock)
///     }
/// }
/// const TOY: utilconnect::ProviderDescriptor = utilconnect::ProviderDescriptor::new(
///     "toy", "a toy", &[], utilconnect::build_from_config::<Toy>, module_path!(),
/// );
/// let clock = utilconnect::ManualClock::new();
/// let built = TOY.build_with(
///     &ProviderConfig::from_json("toy", serde_json::json!({})),
///     &BuildContext::new(Arc::new(clock.clone())),
/// )?;
/// assert_eq!(built.descriptor().name(), "toy");
/// # Ok::<(), utilconnect::Error>(())
/// ```
pub trait FromConfig: ConnectProvider + Sized + 'static {
    /// Builds the provider from its `[providers.<name>]` table (typed, unknown keys refused).
    fn from_config(table: &ProviderConfig) -> Result<Self>;

    /// The provider reading time from `clock` (its connector's, e.g. a sandbox's), for the
    /// expiries it computes itself.
    fn with_clock(self, clock: Arc<dyn Clock>) -> Self;
}

/// The [`BuildFn`] of any [`FromConfig`] provider: built from its table, on the context's
/// clock.
pub fn build_from_config<P: FromConfig>(
    table: &ProviderConfig,
    context: &BuildContext,
) -> Result<Arc<dyn ConnectProvider>> {
    Ok(Arc::new(
        P::from_config(table)?.with_clock(context.clock().clone()),
    ))
}

/// What a provider is built with besides its table: the clock it shares with its
/// [`Connector`](crate::Connector), so that moving one clock (a sandbox's) moves a provider's
/// own expiries (a cached bearer, a credential's lifetime) and the flows' together.
///
/// ```
/// use std::sync::Arc;
/// use utilconnect::{BuildContext, Clock, ManualClock};
/// let clock = ManualClock::new();
/// let context = BuildContext::new(Arc::new(clock.clone()));
/// assert_eq!(context.clock().now(), clock.now());
/// ```
#[derive(Clone)]
pub struct BuildContext {
    clock: Arc<dyn Clock>,
}

impl BuildContext {
    /// A context on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }

    /// The clock the provider must read time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl Default for BuildContext {
    /// The system clock.
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext").finish_non_exhaustive()
    }
}

/// One key of a provider's configuration table, for `--help`-style listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigKey {
    /// The key as written in `[providers.<name>]`.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Whether the provider cannot be built without it.
    pub required: bool,
    /// Whether it holds a secret (and so should come from the environment).
    pub secret: bool,
}

impl ConfigKey {
    /// A required, non-secret key.
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            required: true,
            secret: false,
        }
    }

    /// An optional, non-secret key.
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            required: false,
            secret: false,
        }
    }

    /// A required secret key.
    pub const fn secret(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            required: true,
            secret: true,
        }
    }
}

/// Everything static about a provider, in one `const`: its name, a description, what it can
/// do, its config keys, which of its parameters and headers carry secrets, and how to build
/// it. The provider crate registers it with [`register_provider!`](crate::register_provider)
/// and its provider returns it from [`ConnectProvider::descriptor`], so nothing is declared
/// twice.
///
/// ```
/// use utilconnect::{Capability, ProviderDescriptor};
/// # fn build(_: &utilconnect::ProviderConfig, _: &utilconnect::BuildContext) -> utilconnect::Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> { unimplemented!() }
/// const ACME: ProviderDescriptor =
///     ProviderDescriptor::new("acme", "Acme Connect", &[], build, module_path!())
///         .with_capabilities(&[Capability::UserCancel])
///         .with_secret_params(&["acme_ticket"])
///         .with_recorded_headers(&["acme-version", "acme-secret"]);
/// assert!(ACME.supports(Capability::UserCancel));
/// assert!(ACME.is_secret_param("acme_ticket") && ACME.is_secret_param("code"));
/// ```
#[derive(Clone, Copy)]
pub struct ProviderDescriptor {
    name: &'static str,
    description: &'static str,
    capabilities: &'static [Capability],
    config_keys: &'static [ConfigKey],
    secret_params: &'static [&'static str],
    recorded_headers: &'static [&'static str],
    build: BuildFn,
    origin: &'static str,
}

impl ProviderDescriptor {
    /// A descriptor; use it in a `const` and pass it to [`register_provider!`](crate::register_provider).
    /// `origin` names the registering crate (use `module_path!()`), for duplicate reports.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        config_keys: &'static [ConfigKey],
        build: BuildFn,
        origin: &'static str,
    ) -> Self {
        Self {
            name,
            description,
            capabilities: &[],
            config_keys,
            secret_params: &[],
            recorded_headers: &[],
            build,
            origin,
        }
    }

    /// What the provider supports (none by default); the conformance suite skips cases by it.
    pub const fn with_capabilities(mut self, capabilities: &'static [Capability]) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Callback and connect-URL parameters that carry a secret under a name that does not
    /// say so (names with `token`, `secret`, `code`, … are secret anyway; see
    /// [`redact::is_secret_key`](crate::redact::is_secret_key)).
    pub const fn with_secret_params(mut self, names: &'static [&'static str]) -> Self {
        self.secret_params = names;
        self
    }

    /// The vendor's own request headers (lower case) an emulator's request log records;
    /// values of secret-named ones are redacted there.
    pub const fn with_recorded_headers(mut self, names: &'static [&'static str]) -> Self {
        self.recorded_headers = names;
        self
    }

    /// The registry name (`pelm`, `flatpeak`), as written in config.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// One line for humans.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The keys of the provider's configuration table.
    pub fn config_keys(&self) -> &'static [ConfigKey] {
        self.config_keys
    }

    /// What the provider supports.
    pub fn capabilities(&self) -> &'static [Capability] {
        self.capabilities
    }

    /// Whether the provider declares `capability`.
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// The parameters declared with [`with_secret_params`](Self::with_secret_params).
    pub fn secret_params(&self) -> &'static [&'static str] {
        self.secret_params
    }

    /// Whether a callback or connect-URL parameter called `name` carries a secret for this
    /// provider: declared so, or named like one.
    pub fn is_secret_param(&self, name: &str) -> bool {
        crate::redact::is_secret_key(name) || self.secret_params.contains(&name)
    }

    /// The headers declared with [`with_recorded_headers`](Self::with_recorded_headers).
    pub fn recorded_headers(&self) -> &'static [&'static str] {
        self.recorded_headers
    }

    /// Where the descriptor was registered from.
    pub fn origin(&self) -> &'static str {
        self.origin
    }

    /// Builds the provider from its table, on the system clock.
    pub fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn ConnectProvider>> {
        self.build_with(config, &BuildContext::default())
    }

    /// Builds the provider from its table within `context` (on its clock), after checking
    /// the table's keys against the declared ones (every problem reported at once).
    pub fn build_with(
        &self,
        config: &ProviderConfig,
        context: &BuildContext,
    ) -> Result<Arc<dyn ConnectProvider>> {
        self.check_table(config, true)?;
        (self.build)(config, context).map_err(|e| e.with_provider(self.name))
    }

    /// Checks `table`'s keys against [`config_keys`](Self::config_keys): every unknown key
    /// (with the closest declared one), and with `require`, every missing required key, in
    /// one error. A provider that declares no keys is not checked here (its builder's
    /// `deny_unknown_fields` still is).
    ///
    /// ```
    /// use utilconnect::{ConfigKey, ProviderConfig, ProviderDescriptor};
    /// # fn build(_: &ProviderConfig, _: &utilconnect::BuildContext) -> utilconnect::Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> { unimplemented!() }
    /// const KEYS: &[ConfigKey] = &[ConfigKey::required("client_id", ""), ConfigKey::secret("client_secret", "")];
    /// const ACME: ProviderDescriptor = ProviderDescriptor::new("acme", "", KEYS, build, "doc");
    /// let table = ProviderConfig::from_json("acme", serde_json::json!({"client_secert": "x"}));
    /// let err = ACME.check_table(&table, true).unwrap_err().to_string();
    /// assert!(err.contains("unknown key `client_secert` (did you mean `client_secret`?)"), "{err}");
    /// assert!(err.contains("missing keys `client_id`, `client_secret`"), "{err}");
    /// ```
    pub fn check_table(&self, table: &ProviderConfig, require: bool) -> Result<()> {
        if self.config_keys.is_empty() {
            return Ok(());
        }
        let value: serde_json::Value = table.extract()?;
        let present: Vec<String> = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let top = |name: &'static str| name.split('.').next().unwrap_or(name);
        // Every provider takes an `http` table (the suite shortens timeouts through it).
        let declared =
            unique_in_order(self.config_keys.iter().map(|k| top(k.name)).chain(["http"]));
        let path = table.path();
        let mut problems: Vec<String> = present
            .iter()
            .filter(|key| !declared.contains(&key.as_str()))
            .map(|key| {
                let shown = crate::redact::sanitize(key, 64);
                match closest(key, &declared) {
                    Some(close) => {
                        format!("{path}: unknown key `{shown}` (did you mean `{close}`?)")
                    }
                    None => format!(
                        "{path}: unknown key `{shown}` (expected one of: {})",
                        declared.join(", ")
                    ),
                }
            })
            .collect();
        if require {
            let missing = unique_in_order(
                self.config_keys
                    .iter()
                    .filter(|k| k.required && !present.iter().any(|p| p == top(k.name)))
                    .map(|k| top(k.name)),
            );
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let plural = if missing.len() > 1 { "s" } else { "" };
                problems.push(format!("{path}: missing key{plural} {list}"));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(
            Error::config(format!("invalid configuration: {}", problems.join("; ")))
                .with_provider(self.name),
        )
    }
}

impl fmt::Debug for ProviderDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderDescriptor")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("capabilities", &self.capabilities)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

inventory::collect!(ProviderDescriptor);

/// Registers a provider descriptor with the global registry.
///
/// ```ignore
/// const PELM: utilconnect::ProviderDescriptor = utilconnect::ProviderDescriptor::new(
///     "pelm", "Pelm Connect", &[], build, module_path!(),
/// );
/// utilconnect::register_provider!(PELM);
/// ```
#[macro_export]
macro_rules! register_provider {
    ($descriptor:expr) => {
        $crate::__private::inventory::submit! { $descriptor }
    };
}

/// Every registered provider, sorted by name.
///
/// Fails with [`ErrorKind::Config`](crate::ErrorKind::Config) if two crates registered the
/// same name.
pub fn providers() -> Result<Vec<&'static ProviderDescriptor>> {
    sorted_unique(inventory::iter::<ProviderDescriptor>)
}

/// The registered provider called `name`; the error lists the available ones.
pub fn provider(name: &str) -> Result<&'static ProviderDescriptor> {
    find(providers()?, name)
}

/// Builds the provider called `name` from its configuration table.
///
/// ```
/// let config = utilconnect::ProviderConfig::from_json("nope", serde_json::json!({}));
/// let err = utilconnect::build_provider("nope", &config).unwrap_err();
/// assert!(err.to_string().contains("unknown provider `nope`"));
/// ```
pub fn build_provider(name: &str, config: &ProviderConfig) -> Result<Arc<dyn ConnectProvider>> {
    provider(name)?.build(config)
}

fn sorted_unique<'a>(
    all: impl IntoIterator<Item = &'a ProviderDescriptor>,
) -> Result<Vec<&'a ProviderDescriptor>> {
    sorted_unique_by(all, |d| (d.name, d.origin), "provider")
}

/// `names` without repeats, in their first order (key listings keep the declared order).
fn unique_in_order(names: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut unique: Vec<&'static str> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// Registered items (`what`: "provider", "session store kind") sorted by name, or an error
/// naming both registering crates when two share a name.
pub(crate) fn sorted_unique_by<'a, T>(
    all: impl IntoIterator<Item = &'a T>,
    name_and_origin: impl Fn(&T) -> (&'static str, &'static str),
    what: &str,
) -> Result<Vec<&'a T>> {
    let mut by_name: BTreeMap<&str, &T> = BTreeMap::new();
    for item in all {
        let (name, origin) = name_and_origin(item);
        if let Some(first) = by_name.insert(name, item) {
            return Err(Error::config(format!(
                "{what} `{name}` is registered twice (by {} and by {origin})",
                name_and_origin(first).1
            )));
        }
    }
    Ok(by_name.into_values().collect())
}

fn find<'a>(all: Vec<&'a ProviderDescriptor>, name: &str) -> Result<&'a ProviderDescriptor> {
    let names: Vec<&str> = all.iter().map(|d| d.name).collect();
    all.into_iter().find(|d| d.name == name).ok_or_else(|| {
        let available = if names.is_empty() {
            "none are registered; link a provider crate (`use <provider crate> as _;`)".to_owned()
        } else {
            format!("available: {}", names.join(", "))
        };
        let shown = crate::redact::sanitize(name, 64);
        match closest(name, &names) {
            Some(close) => Error::config(format!(
                "unknown provider `{shown}`; did you mean `{close}`? ({available})"
            )),
            None => Error::config(format!("unknown provider `{shown}`; {available}")),
        }
    })
}

/// The name in `names` that `typed` most likely meant: equal but for case, or at most two
/// edits away (and closer than any other).
pub(crate) fn closest<'a>(typed: &str, names: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = names.iter().find(|n| n.eq_ignore_ascii_case(typed)) {
        return Some(same);
    }
    let typed = typed.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (edit_distance(&typed, n), *n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance, for names of a few characters (bounded: long input is no typo).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) =
        (a.chars().take(64).collect(), b.chars().take(64).collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_mistyped_name_gets_the_closest_registered_one() {
        let names = ["acme", "globex", "initech"];
        assert_eq!(closest("Acme", &names), Some("acme"), "case only");
        assert_eq!(closest("globx", &names), Some("globex"), "one edit");
        assert_eq!(
            closest("init-ech", &names),
            Some("initech"),
            "one insertion"
        );
        assert_eq!(closest("xyz", &names), None, "nothing close");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    fn never(_: &ProviderConfig, _: &BuildContext) -> Result<Arc<dyn ConnectProvider>> {
        Err(Error::config("not buildable"))
    }

    const A: ProviderDescriptor = ProviderDescriptor::new("alpha", "A", &[], never, "crate_a");
    const B: ProviderDescriptor = ProviderDescriptor::new("beta", "B", &[], never, "crate_b");
    const B2: ProviderDescriptor =
        ProviderDescriptor::new("beta", "B again", &[], never, "crate_c");

    #[test]
    fn sorts_by_name() {
        let sorted = sorted_unique([&B, &A]).unwrap();
        let names: Vec<_> = sorted.iter().map(|d| d.name()).collect();
        assert_eq!(names, ["alpha", "beta"]);
    }

    #[test]
    fn duplicates_are_rejected_naming_both_origins() {
        let err = sorted_unique([&A, &B, &B2]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("`beta` is registered twice"), "{text}");
        assert!(
            text.contains("crate_b") && text.contains("crate_c"),
            "{text}"
        );
    }

    #[test]
    fn unknown_name_lists_available() {
        let err = find(vec![&A, &B], "gamma").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown provider `gamma`; available: alpha, beta")
        );
        let err = find(vec![], "gamma").unwrap_err();
        assert!(err.to_string().contains("none are registered"), "{err}");
    }

    #[test]
    fn build_errors_carry_the_provider_name() {
        let err = A
            .build(&ProviderConfig::from_json("alpha", serde_json::json!({})))
            .unwrap_err();
        assert_eq!(err.provider(), Some("alpha"));
    }
}
