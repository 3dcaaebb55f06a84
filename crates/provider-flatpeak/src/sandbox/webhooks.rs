//! The emulator's webhooks: events signed as Flatpeak signs them (RSA-PSS SHA-256, salt 32,
//! over `<timestamp>.<body>`), its JWKS, and deliveries to the configured URL on the
//! documented retry schedule, compressed onto the sandbox clock.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use rsa::RsaPrivateKey;
use rsa::pss::BlindedSigningKey;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::Sha256;
use utilconnect_sandbox::{SignedRequest, WebhookFault};

use crate::webhook::{KEY_ID, SCHEME, SIGNATURE, TIMESTAMP};

/// The key id the emulator's JWKS publishes.
pub(crate) const KEY_ID_VALUE: &str = "sandbox-webhook-key-1";
/// The key id of a key the JWKS does not publish (the unknown-key fault).
const UNKNOWN_KEY_ID: &str = "sandbox-webhook-key-unpublished";

/// Delays before each attempt after the first, per the vendor's older pages: at once, then
/// after 30 s, 1 h, 6 h, 12 h and 24 h.
pub const RETRY_SCHEDULE: &[Duration] = &[
    Duration::ZERO,
    Duration::from_secs(30),
    Duration::from_secs(3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// How a test spoils the next delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryFault {
    /// Signed wrongly (see [`WebhookFault`]).
    Sign(WebhookFault),
    /// Delivered twice.
    Duplicate,
    /// Held back and delivered after the event that follows it.
    OutOfOrder,
}

/// The published key and an unpublished one, made once per process: RSA key generation is
/// slow, and the sandboxes of one test run can share them.
fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let make = |rng: &mut rsa::rand_core::OsRng| {
            RsaPrivateKey::new(rng, 2048)
                .unwrap_or_else(|e| panic!("RSA key generation failed: {e}"))
        };
        (make(&mut rng), make(&mut rng))
    })
}

/// The JWKS at `/jwks.json`: the published key.
pub(crate) fn jwks() -> Value {
    let key = keys().0.to_public_key();
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    json!({"keys": [{
        "kty": "RSA",
        "kid": KEY_ID_VALUE,
        "use": "sig",
        "alg": "PS256",
        "n": b64(key.n().to_bytes_be()),
        "e": b64(key.e().to_bytes_be()),
    }]})
}

/// `body` signed at `now` as Flatpeak signs it, spoiled by `fault`.
pub(crate) fn sign(
    body: &[u8],
    now: SystemTime,
    fault: Option<WebhookFault>,
    version: &str,
) -> SignedRequest {
    let mut secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if fault == Some(WebhookFault::StaleTimestamp) {
        secs = secs.saturating_sub(3600);
    }
    let timestamp = secs.to_string();
    let (key, kid) = match fault {
        Some(WebhookFault::UnknownKey) => (&keys().1, UNKNOWN_KEY_ID),
        _ => (&keys().0, KEY_ID_VALUE),
    };
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    if fault == Some(WebhookFault::BadSignature) {
        message.extend_from_slice(b" (not the body sent)");
    }
    let signature = BlindedSigningKey::<Sha256>::new(key.clone())
        .sign_with_rng(&mut rsa::rand_core::OsRng, &message)
        .to_vec();
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature);
    let scheme = if fault == Some(WebhookFault::SchemeNone) {
        "none"
    } else {
        "v1"
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put(SIGNATURE, format!("{scheme}={encoded}"));
    put(SCHEME, scheme.to_owned());
    put(TIMESTAMP, timestamp);
    put(KEY_ID, kid.to_owned());
    put("flatpeak-version", version.to_owned());
    put("content-type", "application/json".to_owned());
    SignedRequest {
        headers,
        body: body.to_vec(),
    }
}

/// An event waiting to be delivered.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: usize,
    pub due: SystemTime,
}

/// One delivery attempt, as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: usize,
    /// The receiver's status, or `None` when it could not be reached in 10 s.
    pub status: Option<u16>,
}

/// POSTs one signed event to `url`; the status, or `None` when unreachable (10 s timeout,
/// as documented per attempt).
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &url::Url,
    request: SignedRequest,
) -> Option<u16> {
    client
        .post(url.clone())
        .headers(request.headers)
        .body(request.body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}
