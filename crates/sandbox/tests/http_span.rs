//! The HTTP policy's tracing span, read through the kit's log capture: one span per call,
//! naming provider, operation, path, attempts, status and latency, and never a secret.

use std::time::Duration;

use utilconnect::Operation;
use utilconnect::http::{HttpClient, HttpConfig, Idempotency};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "cot_super_secret_token_value";

fn fast() -> HttpConfig {
    HttpConfig {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..HttpConfig::default()
    }
}

#[tokio::test]
async fn one_span_per_call_with_attempts_and_status_and_no_secrets() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("{{\"t\":\"{SECRET}\"}}")))
        .mount(&server)
        .await;
    let (captured, _guard) = utilconnect_sandbox::LogCapture::install();

    let url = format!("{}/connect/token?connect_token={SECRET}", server.uri());
    let response = HttpClient::new("test", fast())
        .unwrap()
        .send(Operation::CreateToken, Idempotency::Idempotent, |c| {
            c.post(&url)
                .bearer_auth(SECRET)
                .body(format!("token={SECRET}"))
        })
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let logs = captured.text();
    assert!(logs.contains("utilconnect.http"), "{logs}");
    assert!(logs.contains("provider=\"test\""), "{logs}");
    assert!(logs.contains("operation=\"create_token\""), "{logs}");
    assert!(logs.contains("path=\"/connect/token\""), "{logs}");
    assert!(logs.contains("attempts=2"), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    // The per-attempt events sit inside the call's span.
    for event in ["response", "retrying"] {
        assert!(
            logs.lines().any(|line| line.contains("utilconnect.http{")
                && line.contains(&format!("utilconnect::http: {event} attempt="))),
            "no `{event}` event inside the span:\n{logs}"
        );
    }
    assert!(!logs.contains(SECRET), "secret in logs:\n{logs}");
}
