//! Flatpeak's webhooks: a signature made independently by the `openssl` command line verifies
//! (so our signer and verifier cannot share a mistake), each header and encoding check, the
//! JWKS cache and its refetch bound, and the emulator's deliveries: signed POSTs, the retry
//! schedule on the sandbox clock, tariff expiry, duplicates and out-of-order delivery.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use utilconnect::{Clock as _, Connector, ErrorKind, EventKind, FromConfig as _, WebhookCheck};
use utilconnect_conformance::Harness;
use utilconnect_flatpeak::FlatpeakProvider;
use utilconnect_flatpeak::sandbox::{
    DeliveryFault, FlatpeakSandbox, RETRY_SCHEDULE, SandboxOptions,
};
use utilconnect_sandbox::{Sandbox, WebhookFault};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What a webhook receiver got, and the statuses it answers with (then 200).
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.received.lock().unwrap().push((headers, body));
    let status = receiver.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// A receiver on loopback; its URL.
async fn receiver(answers: &[u16]) -> (Receiver, utilconnect::Url) {
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().extend(answers);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = utilconnect::Url::parse(&format!(
        "http://{}/webhooks/flatpeak",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let app = Router::new()
        .route("/webhooks/flatpeak", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

/// Changes a good request's headers or body.
type Spoil = Box<dyn Fn(&mut HeaderMap, &mut Vec<u8>)>;

async fn harness() -> (Harness<FlatpeakSandbox>, Connector) {
    let sandbox = FlatpeakSandbox::start_with(SandboxOptions::default(), None)
        .await
        .unwrap();
    let h = Harness::with_sandbox(sandbox).unwrap();
    let c = h.connector(None).unwrap();
    (h, c)
}

fn header_value(name: &str, value: &str) -> (http::HeaderName, http::HeaderValue) {
    (name.parse().unwrap(), value.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_made_by_openssl_verifies_and_a_tampered_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "key.pem",
    ]);
    run(&["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = br#"{"id":"evt_openssl","object":"event","type":"tariff.fetch.failed","data":{"location_id":"loc_9"},"time_created":"2026-12-05T00:00:00Z"}"#;
    let mut message = format!("{now}.").into_bytes();
    message.extend_from_slice(body);
    std::fs::write(dir.path().join("message"), &message).unwrap();
    let signature = run(&[
        "dgst",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-sign",
        "key.pem",
        "message",
    ]);

    // The openssl key, published as a JWKS by a stand-in for Flatpeak's API.
    let public = rsa::RsaPublicKey::from_public_key_pem(
        &std::fs::read_to_string(dir.path().join("pub.pem")).unwrap(),
    )
    .unwrap();
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "kid": "openssl-1", "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be())}]});
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&api)
        .await;
    let table = utilconnect::ProviderConfig::from_json(
        "flatpeak",
        serde_json::json!({"account_id": "acc_1", "api_key": "sk_test_x", "api_base_url": api.uri()}),
    );
    let connector = Connector::new(Arc::new(FlatpeakProvider::from_config(&table).unwrap()));

    let headers: HeaderMap = [
        header_value("flatpeak-signature", &format!("v1={}", b64(signature))),
        header_value("flatpeak-signature-scheme", "v1"),
        header_value("flatpeak-timestamp", &now.to_string()),
        header_value("flatpeak-key-id", "openssl-1"),
    ]
    .into_iter()
    .collect();
    let event = connector.webhook(&headers, body).await.unwrap();
    assert_eq!(event.kind(), EventKind::DataFetchFailed);
    assert_eq!(event.id(), "evt_openssl");
    assert_eq!(event.vendor_id("location_id"), Some("loc_9"));

    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    let err = connector.webhook(&headers, &tampered).await.unwrap_err();
    assert_eq!(err.webhook_check(), Some(WebhookCheck::Signature), "{err}");
}

#[tokio::test]
async fn each_header_and_encoding_check_names_itself_and_never_echoes_the_body() {
    let (h, c) = harness().await;
    h.connect(&c, "user-1").await.unwrap();
    let good = h.sandbox().last_webhook(None).unwrap();
    let body_marker = String::from_utf8_lossy(&good.body).to_string();
    let cases: Vec<(&str, Spoil, WebhookCheck)> = vec![
        (
            "no signature",
            Box::new(|h, _| {
                h.remove("flatpeak-signature");
            }),
            WebhookCheck::MissingHeader,
        ),
        (
            "two timestamps",
            Box::new(|h, _| {
                h.append("flatpeak-timestamp", "1".parse().unwrap());
            }),
            WebhookCheck::MissingHeader,
        ),
        (
            "unknown scheme",
            Box::new(|h, _| {
                h.insert("flatpeak-signature-scheme", "hmac-sha1".parse().unwrap());
            }),
            WebhookCheck::Scheme,
        ),
        (
            "not base64url",
            Box::new(|h, _| {
                h.insert("flatpeak-signature", "v1=***".parse().unwrap());
            }),
            WebhookCheck::Encoding,
        ),
        (
            "no version",
            Box::new(|h, _| {
                h.insert("flatpeak-signature", "abc".parse().unwrap());
            }),
            WebhookCheck::Encoding,
        ),
        (
            "timestamp not a number",
            Box::new(|h, _| {
                h.insert("flatpeak-timestamp", "yesterday".parse().unwrap());
            }),
            WebhookCheck::Timestamp,
        ),
        (
            "future timestamp",
            Box::new(|h, _| {
                h.insert("flatpeak-timestamp", "99999999999".parse().unwrap());
            }),
            WebhookCheck::Timestamp,
        ),
        (
            "too large",
            Box::new(|_, b| b.extend(std::iter::repeat_n(b' ', 300 * 1024))),
            WebhookCheck::TooLarge,
        ),
    ];
    for (name, spoil, check) in cases {
        let (mut headers, mut body) = (good.headers.clone(), good.body.clone());
        spoil(&mut headers, &mut body);
        let err = c.webhook(&headers, &body).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WebhookRejected, "{name}: {err}");
        assert_eq!(err.webhook_check(), Some(check), "{name}: {err}");
        assert!(!format!("{err} {err:?}").contains(&body_marker), "{name}");
    }
    // A signed body that is not an event is refused after the signature passed.
    let wrong = utilconnect_flatpeak::sandbox::sign_webhook(b"[1,2,3]", h.sandbox().clock().now());
    let err = c.webhook(&wrong.headers, &wrong.body).await.unwrap_err();
    assert_eq!(err.webhook_check(), Some(WebhookCheck::Body), "{err}");
}

#[tokio::test]
async fn the_jwks_is_cached_and_refetched_for_an_unknown_key_at_most_once_per_interval() {
    let (h, c) = harness().await;
    h.connect(&c, "user-1").await.unwrap();
    let good = h.sandbox().last_webhook(None).unwrap();
    for _ in 0..3 {
        c.webhook(&good.headers, &good.body).await.unwrap();
    }
    assert_eq!(h.count("GET", "/jwks.json"), 1, "fetched once, then cached");
    let unknown = h
        .sandbox()
        .last_webhook(Some(WebhookFault::UnknownKey))
        .unwrap();
    for _ in 0..5 {
        let err = c
            .webhook(&unknown.headers, &unknown.body)
            .await
            .unwrap_err();
        assert_eq!(err.webhook_check(), Some(WebhookCheck::UnknownKey));
    }
    assert_eq!(
        h.count("GET", "/jwks.json"),
        1,
        "a flood of unknown key ids fetches nothing"
    );
    h.sandbox().clock().advance(Duration::from_secs(61));
    let unknown = h
        .sandbox()
        .last_webhook(Some(WebhookFault::UnknownKey))
        .unwrap();
    let _ = c
        .webhook(&unknown.headers, &unknown.body)
        .await
        .unwrap_err();
    assert_eq!(
        h.count("GET", "/jwks.json"),
        2,
        "refetched once after the interval"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_delivers_signed_events_on_the_retry_schedule() {
    let (receiver, url) = receiver(&[500, 503, 500]).await;
    let (h, c) = harness().await;
    assert!(h.sandbox().send_webhooks_to(&url));
    let emulator = h.sandbox().emulator().clone();
    h.connect(&c, "user-1").await.unwrap();
    // The first attempt runs as the flow is saved; wait (bounded) for it.
    for _ in 0..200 {
        if !emulator.deliveries().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let statuses = |d: &[utilconnect_flatpeak::sandbox::Delivery]| {
        d.iter().map(|d| (d.attempt, d.status)).collect::<Vec<_>>()
    };
    assert_eq!(statuses(&emulator.deliveries()), [(1, Some(500))]);
    // "Retried at once": due now, on the next round.
    emulator.deliver_due().await;
    assert_eq!(
        statuses(&emulator.deliveries()),
        [(1, Some(500)), (2, Some(503))]
    );
    // Then after 30 s of sandbox time, not before.
    h.sandbox()
        .clock()
        .advance(RETRY_SCHEDULE[1] - Duration::from_secs(1));
    emulator.deliver_due().await;
    assert_eq!(emulator.deliveries().len(), 2, "not due yet");
    h.sandbox().clock().advance(Duration::from_secs(1));
    emulator.deliver_due().await;
    assert_eq!(emulator.deliveries().last().unwrap().status, Some(500));
    h.sandbox().clock().advance(RETRY_SCHEDULE[2]);
    assert_eq!(
        emulator.deliver_due().await,
        1,
        "acknowledged on the fourth attempt"
    );

    // Every attempt was the same event, signed as Flatpeak signs: the app verifies it.
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    let (headers, body) = received.last().unwrap();
    let event = c.webhook(headers, body).await.unwrap();
    assert_eq!(event.kind(), EventKind::ConnectionCompleted);
    let (headers, body) = &received[0];
    let redelivered = c.webhook(headers, body).await;
    // The first attempt's timestamp is 30 s + 1 h old on the sandbox clock: a replay now.
    assert_eq!(
        redelivered.unwrap_err().webhook_check(),
        Some(WebhookCheck::Timestamp)
    );
    h.sandbox().clock().advance(RETRY_SCHEDULE[3]);
    assert_eq!(emulator.deliver_due().await, 0, "nothing more to send");
    assert_eq!(receiver.received.lock().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tariffs_expire_on_the_sandbox_clock_and_delivery_faults_reach_the_app() {
    let (receiver, url) = receiver(&[]).await;
    let (h, c) = harness().await;
    let emulator = h.sandbox().emulator().clone();
    // Two saved flows, events not sent yet (no URL), then the URL and a duplicate delivery.
    h.connect(&c, "user-1").await.unwrap();
    h.connect(&c, "user-2").await.unwrap();
    h.sandbox().send_webhooks_to(&url);
    emulator.fault_next_delivery(DeliveryFault::Duplicate);
    assert_eq!(emulator.deliver_due().await, 2);
    let ids = |r: &Receiver| -> Vec<String> {
        r.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| {
                serde_json::from_slice::<serde_json::Value>(b).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let sent = ids(&receiver);
    assert_eq!(sent.len(), 3, "the first event twice: {sent:?}");
    assert_eq!(sent[0], sent[1]);
    let mut duplicates = Vec::new();
    let received = receiver.received.lock().unwrap().clone();
    for (headers, body) in received {
        duplicates.push(c.webhook(&headers, &body).await.unwrap().is_duplicate());
    }
    assert_eq!(duplicates, [false, true, false]);

    // Thirty days on, both tariffs expire; delivered out of order.
    receiver.received.lock().unwrap().clear();
    h.sandbox()
        .clock()
        .advance(SandboxOptions::default().tariff_ttl);
    emulator.fault_next_delivery(DeliveryFault::OutOfOrder);
    assert_eq!(emulator.deliver_due().await, 2);
    let received = receiver.received.lock().unwrap().clone();
    let mut events = Vec::new();
    for (headers, body) in &received {
        events.push(c.webhook(headers, body).await.unwrap());
    }
    assert!(
        events
            .iter()
            .all(|e| e.kind() == EventKind::CredentialsExpired),
        "{events:?}"
    );
    let order: Vec<&str> = events.iter().map(|e| e.id()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_ne!(order, sorted, "delivered out of order: {order:?}");
}
