//! The Flatpeak provider against its sandbox: the whole flow and its other endings, data
//! readiness, the bearer cache, the callback check, every documented error, and secrets kept
//! out of everything people can see.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use utilconnect::FromConfig as _;

use utilconnect::{Connector, DataStatus, ErrorKind, Mode, ProviderConfig, Url};
use utilconnect_conformance::Harness;
use utilconnect_flatpeak::FlatpeakProvider;
use utilconnect_flatpeak::sandbox::{FlatpeakSandbox, SandboxOptions};
use utilconnect_sandbox::{Browser, FaultAction, Page, Sandbox, UserAction};

const CALLBACK: &str = "https://app.example/flatpeak/callback?tenant=a%26b";

/// The shared harness on a Flatpeak sandbox with `options`, flows returning to [`CALLBACK`],
/// and a connector.
async fn setup_with(options: SandboxOptions) -> (Harness<FlatpeakSandbox>, Connector) {
    let sandbox = FlatpeakSandbox::start_with(options, None).await.unwrap();
    let h = Harness::with_sandbox(sandbox)
        .unwrap()
        .with_callback(CALLBACK);
    let connector = h.connector(None).unwrap();
    (h, connector)
}

async fn setup() -> (Harness<FlatpeakSandbox>, Connector) {
    setup_with(SandboxOptions::default()).await
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn full_flow_links_customer_and_location_and_matches_the_wire_snapshot() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();

    assert_eq!(connection.provider(), "flatpeak");
    assert_eq!(connection.user_id(), "user-1");
    assert_eq!(connection.data_status(), DataStatus::Ready);
    assert_eq!(connection.mode(), Mode::Test);
    assert!(
        connection
            .vendor_id("customer_id")
            .unwrap()
            .starts_with("cus_")
    );
    assert!(
        connection
            .vendor_id("location_id")
            .unwrap()
            .starts_with("loc_")
    );
    assert!(
        connection.credentials().is_none(),
        "Flatpeak issues no user token"
    );

    assert_eq!(
        s.paths(),
        [
            "GET /login",
            "POST /connect/token",
            "GET /connect-web/",
            "POST /connect-web/address",
            "POST /connect-web/provider",
            "GET /provider-login/",
            "POST /provider-login/",
            "GET /connect-web/",
            "POST /connect-web/summary",
            "GET /connect/tariff/token",
        ]
    );
    insta::assert_json_snapshot!("full_flow_wire", s.sandbox().requests().all());
}

#[tokio::test]
async fn callback_carries_state_app_query_and_fp_cot() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let url = started.connect_url.expose();
    assert_eq!(url.path(), "/connect-web/");
    assert_eq!(query(url).keys().collect::<Vec<_>>(), ["fp_cot"]);

    let sent = &s.sandbox().requests().to_path("/connect/token")[0];
    assert_eq!(sent.headers["flatpeak-version"], "2025-09-14.anode");
    let sent_callback = Url::parse(sent.body["callback_url"].as_str().unwrap()).unwrap();
    assert_eq!(query(&sent_callback)["tenant"], "a&b");

    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let params = query(&callback);
    assert_eq!(params["tenant"], "a&b");
    assert_eq!(params["state"], started.state.as_str());
    assert!(params["fp_cot"].starts_with("cot_"));
}

#[tokio::test]
async fn a_token_with_an_address_skips_the_address_page() {
    let (s, c) = setup().await;
    let options = serde_json::json!({
        "postal_address": {"address_line1": "1-3 Strand", "post_code": "WC2N 5EH", "country_code": "GB"},
        "postal_address_type": "RESIDENTIAL",
        "customer_reference_id": "CUS-1",
    });
    let started = c
        .start_with("user-1", CALLBACK, options.as_object().unwrap().clone())
        .await
        .unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(s.count("POST", "/connect-web/address"), 0);
    assert_eq!(connection.vendor_id("customer_reference_id"), Some("CUS-1"));
}

#[tokio::test]
async fn close_without_saving_is_cancelled() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Cancel).await.unwrap();
    assert!(
        query(&callback).contains_key("fp_cot"),
        "Flatpeak returns on exit too"
    );
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(err.vendor_code(), Some("CLOSE"));
}

#[tokio::test]
async fn disconnect_is_its_own_outcome() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Disconnect).await.unwrap();
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected);
    assert!(!err.is_temporary());
}

#[tokio::test]
async fn wrong_provider_password_then_the_right_one_connects() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s
        .act(&started, UserAction::WrongCredentialsThenApprove)
        .await
        .unwrap();
    c.finish(callback.as_str()).await.unwrap();
    assert_eq!(s.count("POST", "/provider-login/"), 2);
}

#[tokio::test]
async fn data_is_pending_while_processing_then_ready() {
    let (s, c) = setup_with(SandboxOptions {
        processing_delay: Duration::from_secs(60),
        tariff_delay: Duration::from_secs(60),
        ..SandboxOptions::default()
    })
    .await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();

    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pending);
    assert_eq!(err.status(), Some(422));
    assert!(err.is_temporary());

    s.sandbox().clock().advance(Duration::from_secs(60));
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(
        connection.data_status(),
        DataStatus::Pending,
        "linked, rates not yet available"
    );

    let started = s.start_flow(&c, "user-2").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    s.sandbox().clock().advance(Duration::from_secs(120));
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(connection.data_status(), DataStatus::Ready);
}

#[tokio::test]
async fn an_expired_bearer_forces_one_relogin_and_one_retry() {
    let (s, _) = setup().await;
    // The provider on the system clock, the flows on the sandbox's.
    let provider = FlatpeakProvider::from_config(&s.sandbox().provider_config()).unwrap();
    let c = Connector::builder(Arc::new(provider))
        .clock(Arc::new(s.sandbox().clock().clone()))
        .build();
    s.start_flow(&c, "user-1").await.unwrap();
    // The emulator's clock moves, the provider's (system) clock does not: the cached bearer
    // looks fresh to the provider and Flatpeak refuses it.
    s.sandbox().clock().advance(Duration::from_secs(3601));
    s.start_flow(&c, "user-2").await.unwrap();
    assert_eq!(s.count("GET", "/login"), 2);
    let statuses: Vec<_> = s
        .sandbox()
        .requests()
        .to_path("/connect/token")
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(
        statuses,
        ["POST", "POST", "POST"],
        "one refused, one retried"
    );
}

#[tokio::test]
async fn the_bearer_is_renewed_before_it_expires() {
    let sandbox = FlatpeakSandbox::start().await.unwrap();
    let provider = FlatpeakProvider::from_config(&sandbox.provider_config())
        .unwrap()
        .with_clock(Arc::new(sandbox.clock().clone()));
    let connector = Connector::new(Arc::new(provider));
    connector.start("u", CALLBACK).await.unwrap();
    sandbox.clock().advance(Duration::from_secs(3000));
    connector.start("u", CALLBACK).await.unwrap();
    assert_eq!(sandbox.requests().to_path("/login").len(), 1, "still fresh");
    sandbox.clock().advance(Duration::from_secs(541)); // 59 s before expiry: inside the margin
    connector.start("u", CALLBACK).await.unwrap();
    assert_eq!(sandbox.requests().to_path("/login").len(), 2);
    // Renewed before Flatpeak had to refuse it: one POST per start, none resent.
    assert_eq!(sandbox.requests().to_path("/connect/token").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_calls_on_a_cold_provider_make_one_login() {
    let (s, c) = setup().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let connector = c.clone();
        tasks.spawn(async move { connector.start(&format!("user-{i}"), CALLBACK).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(s.count("GET", "/login"), 1);
    assert_eq!(s.count("POST", "/connect/token"), 100);
}

#[tokio::test]
async fn a_callback_with_another_token_is_rejected_without_any_request() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let mut forged = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "fp_cot" {
                (k, "cot_someone_elses".into())
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(&pairs);
    s.sandbox().requests().clear();

    let err = c.finish(forged.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    assert!(s.sandbox().requests().is_empty(), "{:?}", s.paths());
}

#[tokio::test]
async fn a_callback_without_fp_cot_is_cancelled_without_any_request() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let without: String = callback.as_str().replace("fp_cot=", "other=");
    s.sandbox().requests().clear();
    let err = c.finish(&without).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(s.sandbox().requests().is_empty(), "{:?}", s.paths());
}

#[tokio::test]
async fn options_the_schema_forbids_fail_before_any_request() {
    let (s, c) = setup().await;
    for (options, expected) in [
        (
            serde_json::json!({"location_id": "loc_1", "location_reference_id": "LOC-1"}),
            "not both",
        ),
        (
            serde_json::json!({"tariff_direction": "INBOUND"}),
            "`tariff_direction`",
        ),
        (
            serde_json::json!({"postal_address": {"country_code": "UK1"}}),
            "country_code",
        ),
        (
            serde_json::json!({"utility_slug": "pge"}),
            "unknown field `utility_slug`",
        ),
    ] {
        let err = c
            .start_with("u", CALLBACK, options.as_object().unwrap().clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(expected), "{err}");
    }
    let err = c
        .start("u", "https://app.example/cb?state=mine")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`state`"), "{err}");
    // fp_cot is Flatpeak's (its descriptor declares it); core refuses it all the same.
    let err = c
        .start("u", "https://app.example/cb?fp_cot=mine")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`fp_cot`"), "{err}");
    assert!(s.sandbox().requests().is_empty(), "{:?}", s.paths());
}

#[tokio::test]
async fn expires_in_as_a_string_is_accepted() {
    let (s, c) = setup_with(SandboxOptions {
        expires_in_as_string: true,
        ..SandboxOptions::default()
    })
    .await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let lifetime = started
        .expires_at
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(lifetime > Duration::from_secs(86_000), "{lifetime:?}");
}

#[tokio::test]
async fn the_sandbox_validates_the_schema_with_the_documented_error_body() {
    let (s, _) = setup().await;
    let http = reqwest::Client::new();
    let base = s.sandbox().base_url();
    let options = s.sandbox().options();
    let login = http
        .get(base.join("/login").unwrap())
        .basic_auth(&options.account_id, Some(&options.api_key))
        .send()
        .await
        .unwrap();
    let login: serde_json::Value = serde_json::from_slice(&login.bytes().await.unwrap()).unwrap();
    let bearer = login["bearer_token"].as_str().unwrap();
    let response = http
        .post(base.join("/connect/token").unwrap())
        .bearer_auth(bearer)
        .header("Content-Type", "application/json")
        .body(r#"{"callback_url":"https://app/cb","tariff_type":"GAS"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["object"], "error");
    assert_eq!(body["type"], "invalid_request");
    assert_eq!(body["code"], "parameter_missing");

    let bad_login = http
        .get(base.join("/login").unwrap())
        .basic_auth(&options.account_id, Some("sk_test_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), 403);
}

#[tokio::test]
async fn expired_token_shows_an_error_page_and_the_flow_is_refused() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    s.sandbox().clock().advance(Duration::from_secs(86_401));
    let page = Browser::new(s.sandbox().base_url())
        .unwrap()
        .open(started.connect_url.expose())
        .await
        .unwrap();
    assert!(matches!(page, Page::Html { status: 400, .. }), "{page:?}");
    assert!(page.contains("expired"));
    let callback = format!("{CALLBACK}&state={}&fp_cot=x", started.state.as_str());
    let err = c.finish(&callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredToken);
}

#[tokio::test]
async fn every_documented_error_is_mapped() {
    let (s, c) = setup().await;
    s.start_flow(&c, "warm-up").await.unwrap(); // cache a bearer so /login faults stay separate
    let anode = |kind: &str, code: &str, message: &str| {
        serde_json::json!({"object": "error", "type": kind, "code": code, "message": message,
                           "live_mode": false, "time_created": "2026-01-01T00:00:00Z"})
        .to_string()
    };
    // Errors of the token call.
    let cases = [
        (
            400,
            anode(
                "invalid_request",
                "parameter_invalid",
                "tariff_type is invalid",
            ),
            1,
            ErrorKind::InvalidInput,
        ),
        (
            403,
            anode("invalid_request", "access_denied", "Access denied"),
            2,
            ErrorKind::Forbidden,
        ),
        (
            422,
            anode(
                "api_error",
                "country_code_missing",
                "Country code is required",
            ),
            1,
            ErrorKind::InvalidInput,
        ),
        (
            500,
            r#"{"message":"Internal Server Error"}"#.to_owned(),
            1,
            ErrorKind::Upstream,
        ),
        (
            502,
            "<html>bad gateway</html>".to_owned(),
            10,
            ErrorKind::Upstream,
        ),
    ];
    for (status, body, times, kind) in cases {
        s.sandbox().faults().inject(
            "POST",
            "/connect/token",
            FaultAction::status(status, body.clone()),
            times,
        );
        let err = c.start("u", CALLBACK).await.unwrap_err();
        assert_mapped(&err, status, &body, kind);
        s.sandbox().faults().clear();
    }

    // Errors of the retrieve call, each on a fresh flow.
    let cases = [
        (
            404,
            r#"{"message":"Not Found"}"#.to_owned(),
            ErrorKind::NotFound,
        ),
        (
            422,
            anode(
                "api_error",
                "pending_connect",
                "Connect is processing link to tariff source.",
            ),
            ErrorKind::Pending,
        ),
        (
            422,
            r#"{"message":"Connect is processing link to tariff source."}"#.to_owned(),
            ErrorKind::Pending,
        ),
        (
            422,
            anode("api_error", "no_tariff_connected", "No tariff"),
            ErrorKind::Cancelled,
        ),
        (
            422,
            anode("api_error", "account_disabled", "Disabled"),
            ErrorKind::Forbidden,
        ),
    ];
    for (i, (status, body, kind)) in cases.into_iter().enumerate() {
        let started = s.start_flow(&c, &format!("retrieve-{i}")).await.unwrap();
        let callback = s.act(&started, UserAction::Approve).await.unwrap();
        s.sandbox().faults().inject(
            "GET",
            "/connect/tariff/token",
            FaultAction::status(status, body.clone()),
            1,
        );
        let err = c.finish(callback.as_str()).await.unwrap_err();
        assert_mapped(&err, status, &body, kind);
    }

    s.sandbox().faults().inject(
        "POST",
        "/connect/token",
        FaultAction::status_with_retry_after(
            429,
            anode("rate_limit", "too_many_requests", "Too many requests."),
            "0",
        ),
        10,
    );
    let err = c.start("u", CALLBACK).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert_eq!(err.vendor_code(), Some("too_many_requests"));
    s.sandbox().faults().clear();

    // A wrong API key: /login answers the bare 403 body.
    let mut table = serde_json::json!({
        "account_id": s.sandbox().options().account_id,
        "api_key": "sk_test_wrong",
        "api_base_url": s.sandbox().base_url().as_str(),
    });
    let provider =
        FlatpeakProvider::from_config(&ProviderConfig::from_json("flatpeak", table.take()))
            .unwrap();
    let err = Connector::new(Arc::new(provider))
        .start("u", CALLBACK)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.vendor_message(), Some("Bad credentials"));
}

fn assert_mapped(err: &utilconnect::Error, status: u16, body: &str, kind: ErrorKind) {
    assert_eq!(err.kind(), kind, "{status} {body}: {err}");
    assert_eq!(err.status(), Some(status));
    assert_eq!(err.provider(), Some("flatpeak"));
    if body.contains("\"code\"") {
        assert!(err.vendor_code().is_some(), "code kept: {err}");
    }
    if body.contains("\"message\"") {
        assert!(err.vendor_message().is_some(), "message kept: {err}");
    }
    if !body.starts_with('{') {
        assert!(err.body_excerpt().is_some(), "excerpt kept: {err:?}");
    }
}

/// A vendor that echoes secrets, floods and injects: every error stays bounded, on one line,
/// and free of the API key and the connect token.
#[tokio::test]
async fn a_hostile_vendor_cannot_leak_flood_or_inject_through_errors() {
    let (s, c) = setup().await;
    let config: utilconnect_flatpeak::FlatpeakConfig =
        s.sandbox().provider_config().extract().unwrap();
    use secrecy::ExposeSecret as _;
    let api_key = config.api_key.expose_secret().to_owned();
    let assert_clean = |err: &utilconnect::Error, secrets: &[&str]| {
        for shown in [err.to_string(), format!("{err:?}")] {
            for secret in secrets {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
            assert!(shown.len() < 4096, "{} bytes", shown.len());
        }
    };

    // The login refused, echoing the API key in prose and under an innocent key.
    for body in [
        format!("client secret {api_key} rejected"),
        format!(r#"{{"message":"key {api_key} is not valid\nFAKE LOG LINE","note":"{api_key}"}}"#),
    ] {
        // A fresh provider: no cached bearer, so the login is asked again.
        let c = s.connector(None).unwrap();
        s.sandbox()
            .faults()
            .inject("GET", "/login", FaultAction::status(403, body), 1);
        let err = c.start("u", CALLBACK).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert_clean(&err, &[&api_key]);
        s.sandbox().faults().clear();
    }

    // Retrieve answers that echo the connect token, flood and inject.
    let huge_action = format!("{}\nINJECTED", "X".repeat(900 * 1024));
    type BodyFor = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(BodyFor, ErrorKind)> = vec![
        (
            Box::new(move |cot: &str| {
                serde_json::json!({"id": cot, "object": "connect_token",
                    "complete_action": format!("{huge_action}{cot}")})
                .to_string()
            }),
            ErrorKind::Unexpected,
        ),
        (
            Box::new(|cot: &str| {
                serde_json::json!({"object": "error", "type": "api_error",
                    "code": format!("bad\ncode {cot}"), "message": "oops"})
                .to_string()
            }),
            ErrorKind::Unexpected,
        ),
        (
            Box::new(|cot: &str| format!(r#"{{"id":"{cot}","note":"{cot}","live_mode":"no"}}"#)),
            ErrorKind::Decode,
        ),
    ];
    for (body, kind) in cases {
        let started = s.start_flow(&c, "u").await.unwrap();
        let callback = s.act(&started, UserAction::Approve).await.unwrap();
        let cot = query(&callback)["fp_cot"].clone();
        s.sandbox().faults().inject(
            "GET",
            "/connect/tariff/token",
            FaultAction::status(200, body(&cot)),
            1,
        );
        let err = c.finish(callback.as_str()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_clean(&err, &[&cot, &api_key]);
        s.sandbox().faults().clear();
    }
}

#[tokio::test]
async fn a_token_born_expired_is_a_decode_error_naming_expires_in() {
    let (s, c) = setup().await;
    s.sandbox().faults().inject(
        "POST",
        "/connect/token",
        FaultAction::status(
            200,
            r#"{"connect_token":"cot_zero","expires_in":0,"live_mode":false}"#,
        ),
        1,
    );
    let err = c.start("u", CALLBACK).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.json_path(), Some("expires_in"));
    assert!(!err.to_string().contains("cot_zero"), "{err}");
}

/// One clock: the provider built for a sandbox reads the sandbox's clock, so moving it
/// expires the cached bearer (renewed before use, never refused), and the flow's session
/// with it.
#[tokio::test]
async fn moving_the_sandbox_clock_moves_bearer_token_and_session_expiry_together() {
    let sandbox = FlatpeakSandbox::start().await.unwrap();
    let connector = utilconnect_sandbox::connector_for(&sandbox).unwrap();
    let first = connector.start("user-1", CALLBACK).await.unwrap();
    let callback = sandbox
        .act(first.connect_url.expose(), UserAction::Approve)
        .await
        .unwrap();
    let count = |method: &str, path: &str| {
        sandbox
            .requests()
            .all()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    };
    assert_eq!(count("GET", "/login"), 1);

    // Past the bearer's hour: the provider knows it expired and logs in before the call,
    // rather than sending it and being refused.
    sandbox.clock().advance(Duration::from_secs(3_601));
    connector.start("user-2", CALLBACK).await.unwrap();
    assert_eq!(count("GET", "/login"), 2);
    assert_eq!(
        count("POST", "/connect/token"),
        2,
        "no call was refused for a stale bearer and retried"
    );

    // Past the token's day: the first flow's session expired on the same clock.
    sandbox.clock().advance(Duration::from_secs(86_400));
    let err = connector.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredToken);
}

#[tokio::test]
async fn busbar_a_malformed_session_answer_never_shows_its_token() {
    let (s, c) = setup_with(SandboxOptions {
        api_version: utilconnect_flatpeak::ApiVersion::Busbar,
        ..SandboxOptions::default()
    })
    .await;
    let token = "cot_busbar_token_in_a_bad_answer";
    for body in [
        format!(r#"{{"id":"{token}","object":"connect_session","time_expiry":17}}"#),
        format!(r#"{{"id":"{token}","object":"connect_session","time_expiry":"tomorrow"}}"#),
        format!(
            r#"{{"id":"{token}","object":"connect_session","time_expiry":"2001-01-01T00:00:00Z"}}"#
        ),
    ] {
        s.sandbox().faults().inject(
            "POST",
            "/connect",
            FaultAction::status(200, body.clone()),
            1,
        );
        let options = serde_json::json!({"location_id": "loc_1"});
        let err = c
            .start_with("u", CALLBACK, options.as_object().cloned().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Decode | ErrorKind::Unexpected),
            "{body}: {err}"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(token), "{body}: {shown}");
    }
}
