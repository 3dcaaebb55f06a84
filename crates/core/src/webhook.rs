//! Webhooks: what vendors tell apps after Connect, verified by the provider and read into one
//! typed [`Event`], with duplicates reported through an [`EventStore`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::expiring::ExpiringMap;

/// The verification check a rejected webhook failed ([`Error::webhook_check`](crate::Error::webhook_check)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookCheck {
    /// A signature header is missing, repeated or not text.
    MissingHeader,
    /// The signature scheme is `none` or not one this provider accepts.
    Scheme,
    /// The signature is not in the expected encoding.
    Encoding,
    /// The signing key is unknown (also after refetching the vendor's keys).
    UnknownKey,
    /// The signature does not match the body: tampered, or not the vendor's.
    Signature,
    /// The timestamp is outside the accepted window: a replay, or a wrong clock.
    Timestamp,
    /// The body is larger than the accepted size.
    TooLarge,
    /// The signed body is not an event this provider can read.
    Body,
}

impl WebhookCheck {
    /// A short, stable name (for logs and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing header",
            Self::Scheme => "scheme",
            Self::Encoding => "encoding",
            Self::UnknownKey => "unknown key",
            Self::Signature => "signature",
            Self::Timestamp => "timestamp",
            Self::TooLarge => "too large",
            Self::Body => "body",
        }
    }
}

impl fmt::Display for WebhookCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened, in terms common to every vendor; the vendor's own name is
/// [`Event::raw_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A Connect flow finished and the link exists (e.g. Flatpeak `connect_session.complete`).
    ConnectionCompleted,
    /// The link's credentials or data source expired; the user must connect again (e.g.
    /// Flatpeak `tariff.expired`).
    CredentialsExpired,
    /// The vendor could not fetch the user's data (e.g. Flatpeak `tariff.fetch.failed`).
    DataFetchFailed,
    /// The link changed at the vendor (e.g. Flatpeak `tariff.connection.upgrade`).
    ConnectionChanged,
    /// The user's location changed (e.g. Flatpeak `location.update`).
    LocationUpdated,
    /// An event this SDK does not map: see [`Event::raw_type`].
    Other,
}

/// A verified vendor event.
///
/// ```
/// use utilconnect::{Event, EventKind};
/// let event = Event::new("flatpeak", "evt_1", "connect_session.complete", EventKind::ConnectionCompleted)
///     .with_vendor_id("location_id", "loc_1");
/// assert_eq!(event.vendor_id("location_id"), Some("loc_1"));
/// assert!(!event.is_duplicate());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    provider: String,
    id: String,
    raw_type: String,
    kind: EventKind,
    vendor_ids: BTreeMap<String, String>,
    occurred_at: Option<String>,
    duplicate: bool,
}

/// Longest event id, type or id value kept (they come from the vendor).
const MAX_FIELD_CHARS: usize = 256;

impl Event {
    /// An event `id` of the vendor's type `raw_type`, read as `kind`. Texts are kept
    /// sanitized and bounded: they come from outside.
    pub fn new(provider: impl Into<String>, id: &str, raw_type: &str, kind: EventKind) -> Self {
        Self {
            provider: provider.into(),
            id: crate::redact::sanitize(id, MAX_FIELD_CHARS),
            raw_type: crate::redact::sanitize(raw_type, MAX_FIELD_CHARS),
            kind,
            vendor_ids: BTreeMap::new(),
            occurred_at: None,
            duplicate: false,
        }
    }

    /// Adds a non-secret id the event names (a location, a customer).
    pub fn with_vendor_id(mut self, name: &str, value: &str) -> Self {
        self.vendor_ids.insert(
            crate::redact::sanitize(name, MAX_FIELD_CHARS),
            crate::redact::sanitize(value, MAX_FIELD_CHARS),
        );
        self
    }

    /// When the vendor says it happened (its own text, e.g. RFC 3339).
    pub fn with_occurred_at(mut self, when: &str) -> Self {
        self.occurred_at = Some(crate::redact::sanitize(when, MAX_FIELD_CHARS));
        self
    }

    /// The provider that sent it.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The vendor's event id (the same id on every delivery of one event).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The vendor's event type, e.g. `connect_session.complete`.
    pub fn raw_type(&self) -> &str {
        &self.raw_type
    }

    /// What happened.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// An id the event names, e.g. `location_id`.
    pub fn vendor_id(&self, name: &str) -> Option<&str> {
        self.vendor_ids.get(name).map(String::as_str)
    }

    /// Every id the event names.
    pub fn vendor_ids(&self) -> &BTreeMap<String, String> {
        &self.vendor_ids
    }

    /// When it happened, as the vendor wrote it.
    pub fn occurred_at(&self) -> Option<&str> {
        self.occurred_at.as_deref()
    }

    /// Whether this event id was seen before (vendors deliver at least once): acknowledge it,
    /// and do not act on it twice.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }

    pub(crate) fn marked_duplicate(mut self, duplicate: bool) -> Self {
        self.duplicate = duplicate;
        self
    }
}

/// Remembers which event ids were seen, so a redelivery is reported as a duplicate.
///
/// The in-memory default serves one instance; several instances want a shared one (the Redis
/// store's engine can back it).
#[async_trait]
pub trait EventStore: Send + Sync + fmt::Debug {
    /// Records `provider`'s event `id` for `keep`; whether it had been recorded already.
    /// Atomic: of two concurrent calls for one id, exactly one answers `false`.
    async fn seen(&self, provider: &str, id: &str, keep: Duration) -> Result<bool>;
}

/// How long event ids are remembered: beyond the longest documented redelivery schedule
/// (Flatpeak retries for 24 hours after the first attempt).
pub const EVENT_ID_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);

/// Event ids in this process's memory, bounded and expiring.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use utilconnect::{EventStore, InMemoryEventStore};
/// let store = InMemoryEventStore::new();
/// let keep = std::time::Duration::from_secs(60);
/// assert!(!store.seen("flatpeak", "evt_1", keep).await?);
/// assert!(store.seen("flatpeak", "evt_1", keep).await?);
/// # Ok::<(), utilconnect::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct InMemoryEventStore {
    ids: Arc<Mutex<ExpiringMap<(String, String), ()>>>,
    clock: Arc<dyn Clock>,
}

impl InMemoryEventStore {
    /// Most ids remembered; the oldest are forgotten first when full.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A store whose retention follows `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            ids: Arc::new(Mutex::new(ExpiringMap::new(Self::DEFAULT_CAPACITY))),
            clock,
        }
    }
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InMemoryEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryEventStore")
            .field("capacity", &Self::DEFAULT_CAPACITY)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn seen(&self, provider: &str, id: &str, keep: Duration) -> Result<bool> {
        let now = self.clock.now();
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (provider.to_owned(), id.to_owned());
        if ids.get(&key, now).is_some() {
            return Ok(true);
        }
        ids.insert(key, (), now.checked_add(keep).unwrap_or(now), now);
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn ids_are_remembered_for_the_retention_and_per_provider() {
        let clock = ManualClock::new();
        let store = InMemoryEventStore::with_clock(Arc::new(clock.clone()));
        let keep = Duration::from_secs(60);
        assert!(!store.seen("a", "evt_1", keep).await.unwrap());
        assert!(store.seen("a", "evt_1", keep).await.unwrap());
        assert!(
            !store.seen("b", "evt_1", keep).await.unwrap(),
            "another provider's id"
        );
        clock.advance(Duration::from_secs(61));
        assert!(
            !store.seen("a", "evt_1", keep).await.unwrap(),
            "forgotten after retention"
        );
    }

    #[test]
    fn event_texts_from_outside_are_bounded_and_escaped() {
        let event = Event::new("p", &"x".repeat(10_000), "a\ninjected", EventKind::Other)
            .with_vendor_id("location_id", "loc\u{202e}1");
        assert!(event.id().chars().count() <= MAX_FIELD_CHARS + 1);
        assert!(!event.raw_type().contains('\n'), "{}", event.raw_type());
        assert!(!event.vendor_id("location_id").unwrap().contains('\u{202e}'));
    }
}
