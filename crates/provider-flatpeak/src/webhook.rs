//! Flatpeak's signed webhooks: `Flatpeak-Signature: v1=<base64url>` over
//! `<Flatpeak-Timestamp>.<raw body>`, RSA-PSS with SHA-256 (salt 32), the key named by
//! `Flatpeak-Key-ID` in the JWKS at `{api_base_url}/jwks.json`.
//!
//! Checks run cheapest first and each failure names its [`WebhookCheck`]: size, headers,
//! scheme, timestamp window, signature encoding, key, signature, then the body's shape. The
//! body is never echoed in an error.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http::HeaderMap;
use rsa::pss::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::Mutex;
use utilconnect::http::{HttpClient, Idempotency};
use utilconnect::{Error, ErrorKind, Event, EventKind, Operation, Result, Url, WebhookCheck};

use crate::config::WebhookConfig;

/// Header names (case-insensitive on the wire).
pub(crate) const SIGNATURE: &str = "flatpeak-signature";
pub(crate) const SCHEME: &str = "flatpeak-signature-scheme";
pub(crate) const TIMESTAMP: &str = "flatpeak-timestamp";
pub(crate) const KEY_ID: &str = "flatpeak-key-id";

/// Largest JWKS read, and most keys kept from it: a vendor publishes a handful.
const MAX_JWKS_BYTES: usize = 64 * 1024;
const MAX_KEYS: usize = 16;
/// RSA key sizes accepted (the vendor documents RSA-2048).
const KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The vendor's signing keys, fetched on demand and cached.
#[derive(Debug, Default)]
pub(crate) struct Jwks {
    state: Mutex<JwksState>,
}

#[derive(Debug, Default)]
struct JwksState {
    keys: HashMap<String, RsaPublicKey>,
    /// When the keys were last fetched (for the refetch rate bound).
    fetched_at: Option<SystemTime>,
}

/// The JWKS document (RFC 7517): only RSA keys are kept.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

impl Jwks {
    /// The key `kid`: from the cache, else from a fresh JWKS when the last fetch is older
    /// than `refetch_interval` (so unknown ids cannot make us fetch on every request).
    pub(crate) async fn key(
        &self,
        kid: &str,
        http: &HttpClient,
        url: &Url,
        now: SystemTime,
        refetch_interval: Duration,
    ) -> Result<RsaPublicKey> {
        let mut state = self.state.lock().await;
        if let Some(key) = state.keys.get(kid) {
            return Ok(key.clone());
        }
        let may_fetch = state
            .fetched_at
            .is_none_or(|at| now.duration_since(at).unwrap_or_default() >= refetch_interval);
        if may_fetch {
            state.fetched_at = Some(now);
            state.keys = fetch(http, url).await?;
        }
        state.keys.get(kid).cloned().ok_or_else(|| {
            Error::webhook(
                WebhookCheck::UnknownKey,
                format!(
                    "no key `{}` in Flatpeak's JWKS{}",
                    utilconnect::redact::sanitize(kid, 64),
                    if may_fetch {
                        " (just fetched)"
                    } else {
                        " (fetched recently; not fetched again yet)"
                    }
                ),
            )
        })
    }
}

async fn fetch(http: &HttpClient, url: &Url) -> Result<HashMap<String, RsaPublicKey>> {
    let response = http
        .send(Operation::Webhook, Idempotency::Idempotent, |client| {
            client.get(url.clone())
        })
        .await?;
    if !response.status().is_success() {
        return Err(Error::new(
            ErrorKind::Upstream,
            Operation::Webhook,
            format!("Flatpeak's JWKS answered {}", response.status().as_u16()),
        )
        .with_status(response.status().as_u16()));
    }
    if response.body().len() > MAX_JWKS_BYTES {
        return Err(Error::new(
            ErrorKind::ResponseTooLarge,
            Operation::Webhook,
            format!("Flatpeak's JWKS is over {MAX_JWKS_BYTES} bytes"),
        ));
    }
    let set: JwkSet = response.json(crate::NAME, Operation::Webhook)?;
    let mut keys = HashMap::new();
    for jwk in set
        .keys
        .into_iter()
        .filter(|k| k.kty == "RSA")
        .take(MAX_KEYS)
    {
        let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        let decode = |v: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim_end_matches('='))
        };
        let (Ok(n), Ok(e)) = (decode(&n), decode(&e)) else {
            continue;
        };
        let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
        else {
            continue;
        };
        if KEY_BITS.contains(&(n.len() * 8)) {
            keys.insert(kid, key);
        }
    }
    Ok(keys)
}

/// A Flatpeak event body.
#[derive(Deserialize)]
struct EventBody {
    id: String,
    #[serde(default)]
    object: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    time_created: Option<String>,
}

/// Ids an event's `data` may name; nothing else of it is kept (it may carry a token).
const DATA_IDS: &[&str] = &[
    "customer_id",
    "customer_reference_id",
    "location_id",
    "location_reference_id",
    "tariff_id",
    "device_id",
    "provider_id",
];

/// The header `name`, exactly once and as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().map_err(|_| {
            Error::webhook(WebhookCheck::MissingHeader, format!("`{name}` is not text"))
        }),
        (None, _) => Err(Error::webhook(
            WebhookCheck::MissingHeader,
            format!("the request has no `{name}` header"),
        )),
        (Some(_), Some(_)) => Err(Error::webhook(
            WebhookCheck::MissingHeader,
            format!("the request has more than one `{name}` header"),
        )),
    }
}

/// Checks a webhook's signature and reads its event. `key_for(kid)` finds the public key.
pub(crate) async fn verify<F, Fut>(
    config: &WebhookConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    key_for: F,
) -> Result<Event>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<RsaPublicKey>>,
{
    if body.len() > config.max_body_bytes {
        return Err(Error::webhook(
            WebhookCheck::TooLarge,
            format!(
                "the body is {} bytes; at most {} are verified (webhooks.max_body_bytes)",
                body.len(),
                config.max_body_bytes
            ),
        ));
    }
    let signature = header(headers, SIGNATURE)?;
    let scheme = header(headers, SCHEME)?;
    let timestamp = header(headers, TIMESTAMP)?;
    let kid = header(headers, KEY_ID)?;

    let accepted = |s: &str| {
        !s.eq_ignore_ascii_case("none") && config.schemes.iter().any(|k| k.eq_ignore_ascii_case(s))
    };
    if !accepted(scheme) {
        return Err(Error::webhook(
            WebhookCheck::Scheme,
            format!(
                "signature scheme `{}` is not accepted (accepted: {})",
                utilconnect::redact::sanitize(scheme, 32),
                config.schemes.join(", ")
            ),
        ));
    }
    check_timestamp(timestamp, now, config.tolerance)?;
    let (version, encoded) = signature.split_once('=').ok_or_else(|| {
        Error::webhook(
            WebhookCheck::Encoding,
            "`Flatpeak-Signature` is not `v1=<signature>`",
        )
    })?;
    if !accepted(version) {
        return Err(Error::webhook(
            WebhookCheck::Scheme,
            format!(
                "signature version `{}` is not accepted",
                utilconnect::redact::sanitize(version, 32)
            ),
        ));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| Error::webhook(WebhookCheck::Encoding, "the signature is not base64url"))?;
    let signature = Signature::try_from(bytes.as_slice()).map_err(|_| {
        Error::webhook(
            WebhookCheck::Encoding,
            "the signature is not an RSA signature",
        )
    })?;

    let key = key_for(kid.to_owned()).await?;
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    VerifyingKey::<Sha256>::new(key)
        .verify(&message, &signature)
        .map_err(|_| {
            Error::webhook(
                WebhookCheck::Signature,
                "the signature does not match the timestamp and body (tampered, or not Flatpeak's)",
            )
        })?;
    read_event(body)
}

fn check_timestamp(timestamp: &str, now: SystemTime, tolerance: Duration) -> Result<()> {
    let secs: u64 = timestamp.trim().parse().map_err(|_| {
        Error::webhook(
            WebhookCheck::Timestamp,
            "`Flatpeak-Timestamp` is not a Unix time in seconds",
        )
    })?;
    let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let skew = now
        .duration_since(sent)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap_or_default();
    if skew > tolerance {
        return Err(Error::webhook(
            WebhookCheck::Timestamp,
            format!(
                "signed {}s away from now; at most {}s are accepted (a replay, or a clock off)",
                skew.as_secs(),
                tolerance.as_secs()
            ),
        ));
    }
    Ok(())
}

/// The event in a verified body.
fn read_event(body: &[u8]) -> Result<Event> {
    let event: EventBody = serde_json::from_slice(body).map_err(|e| {
        Error::webhook(
            WebhookCheck::Body,
            format!(
                "the signed body is not a Flatpeak event ({:?} at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })?;
    if event.object.as_deref().is_some_and(|o| o != "event") || event.id.is_empty() {
        return Err(Error::webhook(
            WebhookCheck::Body,
            "the signed body is not a Flatpeak event object",
        ));
    }
    let kind = match event.kind.as_str() {
        "connect_session.complete" => EventKind::ConnectionCompleted,
        "tariff.expired" => EventKind::CredentialsExpired,
        "tariff.fetch.failed" => EventKind::DataFetchFailed,
        "tariff.connection.upgrade" => EventKind::ConnectionChanged,
        "location.update" => EventKind::LocationUpdated,
        _ => EventKind::Other,
    };
    let mut out = Event::new(crate::NAME, &event.id, &event.kind, kind);
    for name in DATA_IDS {
        if let Some(value) = event.data.get(*name).and_then(serde_json::Value::as_str) {
            out = out.with_vendor_id(name, value);
        }
    }
    if let Some(when) = &event.time_created {
        out = out.with_occurred_at(when);
    }
    Ok(out)
}
