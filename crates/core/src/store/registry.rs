//! Session stores chosen by config: `[session_store] kind = "…"`, each kind registered by the
//! crate that provides it (the in-memory store by core), as providers are.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::{InMemorySessionStore, SessionStore};
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::registry::{BuildContext, ConfigKey};

/// The store used when the configuration names none.
pub const DEFAULT_STORE_KIND: &str = "memory";

/// Builds a store from the `[session_store]` table, on the context's clock.
pub type StoreBuildFn = fn(&ProviderConfig, &BuildContext) -> Result<Arc<dyn SessionStore>>;

/// A session store kind, as registered by its crate.
///
/// ```
/// # fn build(_: &utilconnect::ProviderConfig, _: &utilconnect::BuildContext) -> utilconnect::Result<std::sync::Arc<dyn utilconnect::SessionStore>> { unimplemented!() }
/// const MINE: utilconnect::StoreDescriptor = utilconnect::StoreDescriptor::new(
///     "mine", "my store", &[], build, module_path!(),
/// );
/// utilconnect::register_session_store!(MINE);
/// ```
pub struct StoreDescriptor {
    kind: &'static str,
    description: &'static str,
    config_keys: &'static [ConfigKey],
    build: StoreBuildFn,
    origin: &'static str,
}

impl StoreDescriptor {
    /// A descriptor for `kind`; `origin` names the registering crate (`module_path!()`).
    pub const fn new(
        kind: &'static str,
        description: &'static str,
        config_keys: &'static [ConfigKey],
        build: StoreBuildFn,
        origin: &'static str,
    ) -> Self {
        Self {
            kind,
            description,
            config_keys,
            build,
            origin,
        }
    }

    /// The `kind` written in config.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// One line for listings.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The keys of `[session_store]` this kind reads, besides `kind`.
    pub fn config_keys(&self) -> &'static [ConfigKey] {
        self.config_keys
    }

    /// Builds the store from `table` within `context`.
    pub fn build(
        &self,
        table: &ProviderConfig,
        context: &BuildContext,
    ) -> Result<Arc<dyn SessionStore>> {
        (self.build)(table, context)
    }
}

impl fmt::Debug for StoreDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreDescriptor")
            .field("kind", &self.kind)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

inventory::collect!(StoreDescriptor);

/// Registers a session store kind, next to the crate's store.
#[macro_export]
macro_rules! register_session_store {
    ($descriptor:expr) => {
        $crate::__private::inventory::submit! { $descriptor }
    };
}

/// Every registered store kind, sorted; an error if two crates registered one kind.
pub fn session_stores() -> Result<Vec<&'static StoreDescriptor>> {
    crate::registry::sorted_unique_by(
        inventory::iter::<StoreDescriptor>,
        |d| (d.kind, d.origin),
        "session store kind",
    )
}

/// The store `[session_store]` configures: `kind` (default `memory`) picks the registered
/// kind, which reads the rest of the table.
///
/// ```
/// use utilconnect::{BuildContext, ProviderConfig};
/// let table = ProviderConfig::session_store_from_json(serde_json::json!({"kind": "memory"}));
/// let store = utilconnect::session_store_from_config(&table, &BuildContext::default())?;
/// let unknown = ProviderConfig::session_store_from_json(serde_json::json!({"kind": "etcd"}));
/// let err = utilconnect::session_store_from_config(&unknown, &BuildContext::default()).unwrap_err();
/// assert!(err.to_string().contains("unknown session store kind `etcd`"), "{err}");
/// # Ok::<(), utilconnect::Error>(())
/// ```
pub fn session_store_from_config(
    table: &ProviderConfig,
    context: &BuildContext,
) -> Result<Arc<dyn SessionStore>> {
    let KindOnly { kind } = table.extract()?;
    let kind = kind.as_deref().unwrap_or(DEFAULT_STORE_KIND);
    let all = session_stores()?;
    let kinds: Vec<&str> = all.iter().map(|d| d.kind).collect();
    let descriptor = all.into_iter().find(|d| d.kind == kind).ok_or_else(|| {
        let guess = crate::registry::closest(kind, &kinds)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        Error::config(format!(
            "unknown session store kind `{}` in `{}`; {guess}available: {} (link the crate that \
             provides it: `use <store crate> as _;`)",
            crate::redact::sanitize(kind, 64),
            table.path(),
            kinds.join(", ")
        ))
    })?;
    descriptor.build(table, context)
}

/// `[session_store]` read for its `kind` alone (the kind's builder checks the rest).
#[derive(Deserialize)]
struct KindOnly {
    #[serde(default)]
    kind: Option<String>,
}

/// `[session_store]` for the in-memory store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryConfig {
    #[allow(dead_code, reason = "read by session_store_from_config")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "capacity")]
    capacity: Option<usize>,
}

/// Most sessions an in-memory store may be configured to hold.
pub const MAX_MEMORY_CAPACITY: usize = 10_000_000;

fn capacity<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<usize>, D::Error> {
    crate::config::limits::number_in(d, 1..=MAX_MEMORY_CAPACITY as u64).map(Some)
}

fn build_memory(table: &ProviderConfig, context: &BuildContext) -> Result<Arc<dyn SessionStore>> {
    let config: MemoryConfig = table.extract()?;
    let store = InMemorySessionStore::with_clock(context.clock().clone()).with_capacity(
        config
            .capacity
            .unwrap_or(InMemorySessionStore::DEFAULT_CAPACITY),
    );
    Ok(Arc::new(store))
}

crate::register_session_store!(StoreDescriptor::new(
    DEFAULT_STORE_KIND,
    "in this process's memory (one instance; lost on restart)",
    &[ConfigKey::optional(
        "capacity",
        "most pending flows held (default 100000)"
    )],
    build_memory,
    module_path!(),
));

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorKind;

    fn build(table: serde_json::Value) -> Result<Arc<dyn SessionStore>> {
        session_store_from_config(
            &ProviderConfig::session_store_from_json(table),
            &BuildContext::default(),
        )
    }

    #[test]
    fn memory_is_the_default_and_its_table_is_checked() {
        let store = build(json!({})).unwrap();
        assert!(format!("{store:?}").contains("InMemorySessionStore"));
        let store = build(json!({"kind": "memory", "capacity": 5})).unwrap();
        assert!(format!("{store:?}").contains("capacity: 5"), "{store:?}");
        for (table, expected) in [
            (
                json!({"kind": "memory", "capacty": 5}),
                "session_store: unknown key `capacty`",
            ),
            (json!({"capacity": 0}), "session_store.capacity"),
            (
                json!({"kind": "etcd"}),
                "unknown session store kind `etcd` in `session_store`; available: memory",
            ),
        ] {
            let err = build(table.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{table}");
            assert!(err.to_string().contains(expected), "{table}: {err}");
        }
    }
}
