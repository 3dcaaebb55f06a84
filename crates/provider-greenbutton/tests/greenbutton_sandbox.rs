//! Green Button against its Data Custodian emulator: two utilities in one config, the
//! authorize URL's encoding, per-flow custodian and scope, every RFC 6749 error, refresh
//! (rotation, revocation, a non-rotating utility), the ESPI resources a grant opens, and
//! secrets kept out of errors even when the utility echoes them. What every provider must do
//! is the shared suite's (`tests/conformance.rs`).

use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use utilconnect::{Callback, Clock as _, Connection, Connector, ErrorKind, ErrorStatus, Url};
use utilconnect_conformance::Harness;
use utilconnect_greenbutton::ids;
use utilconnect_greenbutton::sandbox::{GreenButtonSandbox, SandboxOptions};
use utilconnect_sandbox::{FaultAction, Sandbox, UserAction};

const CALLBACK: &str = "https://app.example/greenbutton/callback?tenant=a%26b";
const TOKEN_A: &str = "/utility-a/oauth2/token";

/// The shared harness on a Data Custodian emulator with `options`, and a connector on its
/// clock.
async fn setup_with(options: SandboxOptions) -> (Harness<GreenButtonSandbox>, Connector) {
    let sandbox = GreenButtonSandbox::start_with(options, None).await.unwrap();
    let h = Harness::with_sandbox(sandbox)
        .unwrap()
        .with_callback(CALLBACK);
    let connector = h.connector(None).unwrap();
    (h, connector)
}

async fn setup() -> (Harness<GreenButtonSandbox>, Connector) {
    setup_with(SandboxOptions::default()).await
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn options(value: serde_json::Value) -> utilconnect::Options {
    value.as_object().unwrap().clone()
}

fn access_token(connection: &Connection) -> String {
    let credentials = connection.credentials().expect("credentials");
    credentials.access_token.expose_secret().to_owned()
}

fn refresh_token(connection: &Connection) -> String {
    let credentials = connection.credentials().expect("credentials");
    credentials
        .refresh_token
        .as_ref()
        .expect("refresh token")
        .expose_secret()
        .to_owned()
}

/// `GET uri` with `bearer`: status and body.
async fn read_with(uri: &str, bearer: &str) -> (u16, String, Option<String>) {
    let response = reqwest::Client::new()
        .get(uri)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), challenge)
}

#[tokio::test]
async fn a_flow_at_the_second_utility_links_with_its_own_client_and_reads_its_feed() {
    let (h, c) = setup().await;
    let started = c
        .start_with(
            "user-b",
            CALLBACK,
            options(json!({"custodian": "utility-b"})),
        )
        .await
        .unwrap();
    let url = started.connect_url.expose();
    assert_eq!(url.path(), "/utility-b/oauth2/authorize");
    assert_eq!(query(url)["client_id"], "sandbox-client-utility-b");
    let callback = h.act(&started, UserAction::Approve).await.unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();

    assert_eq!(connection.vendor_id(ids::CUSTODIAN), Some("utility-b"));
    assert_eq!(
        connection.vendor_id(ids::SCOPE),
        Some("FB=4_5;IntervalDuration=900;BlockDuration=daily;HistoryLength=24")
    );
    let credentials = connection.credentials().unwrap();
    assert_eq!(
        credentials.access_expires_at,
        Some(h.sandbox().clock().now() + Duration::from_secs(3600)),
        "expiry dated on the sandbox's clock"
    );
    assert!(access_token(&connection).starts_with("gba_"));
    assert!(refresh_token(&connection).starts_with("gbr_"));
    let shown = format!("{connection:?}");
    assert!(!shown.contains(&access_token(&connection)), "{shown}");
    assert!(!shown.contains(&refresh_token(&connection)), "{shown}");
    assert_eq!(h.count("POST", "/utility-b/oauth2/token"), 1);
    assert_eq!(h.count("POST", TOKEN_A), 0);

    // The data the app came for: a well-formed ESPI Atom feed for this grant's bearer.
    let resource = connection.vendor_id(ids::RESOURCE_URI).unwrap();
    assert!(resource.contains("/utility-b/espi/1_1/resource/Batch/Subscription/"));
    let (status, body, _) = read_with(resource, &access_token(&connection)).await;
    assert_eq!(status, 200, "{body}");
    let document = roxmltree::Document::parse(&body).expect("the feed is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "feed");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let espi = "http://naesb.org/espi";
    let readings: Vec<u64> = document
        .descendants()
        .filter(|n| n.has_tag_name((espi, "IntervalReading")))
        .map(|n| {
            let value = n
                .children()
                .find(|c| c.has_tag_name((espi, "value")))
                .unwrap();
            value.text().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(readings.len(), 24, "one day of hourly readings");
    assert!(readings.iter().all(|wh| *wh > 0));

    // The Authorization resource describes the grant as active.
    let authorization = connection.vendor_id(ids::AUTHORIZATION_URI).unwrap();
    let (status, body, _) = read_with(authorization, &access_token(&connection)).await;
    assert_eq!(status, 200, "{body}");
    let document = roxmltree::Document::parse(&body).unwrap();
    let status_text = document
        .descendants()
        .find(|n| n.has_tag_name((espi, "status")))
        .and_then(|n| n.text());
    assert_eq!(status_text, Some("1"));

    // Someone else's bearer opens nothing; another grant's resource is not theirs.
    let (status, _, challenge) = read_with(resource, "gba_not-a-token").await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
    let other = h.connect(&c, "user-a").await.unwrap();
    let (status, _, _) = read_with(resource, &access_token(&other)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_authorize_url_is_form_encoded_and_keeps_the_app_callback_intact() {
    let (h, c) = setup().await;
    let started = c.start("user-1", CALLBACK).await.unwrap();
    let url = started.connect_url.expose();
    let raw = url.query().unwrap();
    assert!(
        raw.contains("scope=FB%3D4_5_15%3BIntervalDuration%3D3600%3BBlockDuration%3Dmonthly%3BHistoryLength%3D13"),
        "{raw}"
    );
    assert!(
        raw.contains(
            "redirect_uri=https%3A%2F%2Fapp.example%2Fgreenbutton%2Fcallback%3Ftenant%3Da%2526b"
        ),
        "{raw}"
    );
    let pairs = query(url);
    assert_eq!(pairs["response_type"], "code");
    assert_eq!(pairs["redirect_uri"], CALLBACK);
    assert_eq!(pairs["state"], started.state.as_str());
    assert_eq!(pairs.len(), 5, "{pairs:?}");
    assert!(h.sandbox().requests().is_empty(), "no vendor call at start");

    // The code is exchanged with exactly the redirect_uri the flow started with.
    let callback = h.act(&started, UserAction::Approve).await.unwrap();
    assert_eq!(query(&callback)["tenant"], "a&b");
    c.finish(callback.as_str()).await.unwrap();
    let exchange = &h.sandbox().requests().to_path(TOKEN_A)[0];
    assert_eq!(exchange.body["redirect_uri"], CALLBACK);
    assert_eq!(exchange.body["grant_type"], "authorization_code");
}

#[tokio::test]
async fn flow_options_pick_the_custodian_and_may_only_narrow_the_scope() {
    let (h, c) = setup().await;
    let narrowed = c
        .start_with(
            "user-1",
            CALLBACK,
            options(json!({"scope": "FB=4;IntervalDuration=3600"})),
        )
        .await
        .unwrap();
    assert_eq!(
        query(narrowed.connect_url.expose())["scope"],
        "FB=4;IntervalDuration=3600"
    );
    let callback = h.act(&narrowed, UserAction::Approve).await.unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(
        connection.vendor_id(ids::SCOPE),
        Some("FB=4;IntervalDuration=3600")
    );

    for (flow_options, expected) in [
        (
            json!({"custodian": "utility-z"}),
            "unknown Data Custodian `utility-z`; configured: utility-a, utility-b",
        ),
        (
            json!({"scope": "FB=4_99"}),
            "asks for more than custodian `utility-a`",
        ),
        (json!({"scope": "FB=4;HistoryLength=99"}), "asks for more"),
        (json!({"scope": "FB=4&client_id=evil"}), "option `scope`"),
        (
            json!({"custodian": 7}),
            "`custodian` must be a non-empty string",
        ),
        (
            json!({"utility": "a"}),
            "unknown Green Button option `utility`",
        ),
    ] {
        let err = c
            .start_with("u", CALLBACK, options(flow_options.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{flow_options}: {err}");
        assert!(err.to_string().contains(expected), "{flow_options}: {err}");
    }
}

#[tokio::test]
async fn a_utility_refusing_the_scope_on_its_page_is_a_config_error_not_a_cancel() {
    let (h, _) = setup().await;
    // The app's config asks utility-a for a block its registration does not cover.
    let c = h
        .connector(Some(
            json!({"custodians": {"utility-a": {"scope": "FB=4_5_15_16"}}}),
        ))
        .unwrap();
    let started = c.start("user-1", CALLBACK).await.unwrap();
    let callback = h.act(&started, UserAction::Approve).await;
    let callback = match callback {
        Ok(url) => url,
        Err(err) => panic!("the utility redirects scope errors back: {err}"),
    };
    assert_eq!(query(&callback)["error"], "invalid_scope");
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.vendor_code(), Some("invalid_scope"));
    assert_eq!(err.status_of_call(), ErrorStatus::CallbackRefused);
}

#[tokio::test]
async fn every_token_endpoint_error_maps_to_its_own_kind() {
    let (h, c) = setup().await;
    let body =
        |code: &str| format!(r#"{{"error":"{code}","error_description":"refused: {code}"}}"#);
    for (status, code, kind) in [
        (400, "invalid_grant", ErrorKind::InvalidCode),
        (401, "invalid_client", ErrorKind::Unauthorized),
        (400, "invalid_request", ErrorKind::InvalidInput),
        (400, "unauthorized_client", ErrorKind::Forbidden),
        (400, "unsupported_grant_type", ErrorKind::Unsupported),
        (400, "invalid_scope", ErrorKind::Config),
        (400, "made_up_error", ErrorKind::Unexpected),
    ] {
        let callback = h
            .approved_callback(&c, &format!("user-{code}"))
            .await
            .unwrap();
        h.sandbox()
            .faults()
            .inject("POST", TOKEN_A, FaultAction::status(status, body(code)), 1);
        let err = c.finish(callback.as_str()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{code}: {err}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.vendor_code(), Some(code));
        assert_eq!(
            err.vendor_message(),
            Some(format!("refused: {code}").as_str())
        );
    }
    // On a refresh, invalid_grant means the grant is gone.
    let connection = h.connect(&c, "refresher").await.unwrap();
    h.sandbox().faults().inject(
        "POST",
        TOKEN_A,
        FaultAction::status(400, body("invalid_grant")),
        1,
    );
    let err = c.refresh(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthorizationRequired);
    assert_eq!(err.operation(), utilconnect::Operation::Refresh);
}

#[tokio::test]
async fn the_emulator_binds_codes_to_client_redirect_uri_time_and_one_use() {
    let (h, c) = setup().await;
    let provider = h.build(None).unwrap();

    // Used twice: the second exchange is refused (and the utility revokes the grant).
    let started = h.start_flow(&c, "user-1").await.unwrap();
    let callback_url = h.act(&started, UserAction::Approve).await.unwrap();
    let callback = Callback::parse(callback_url.as_str()).unwrap();
    let connection = c.finish(callback_url.as_str()).await.unwrap();
    let session = pending_for(&h, "user-1", CALLBACK);
    let err = provider.complete(&session, &callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    assert_eq!(err.vendor_code(), Some("invalid_grant"));
    let err = c.refresh(&connection).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::ReauthorizationRequired,
        "a replayed code revokes its grant"
    );

    // Exchanged with another redirect_uri.
    let started = h.start_flow(&c, "user-2").await.unwrap();
    let callback_url = h.act(&started, UserAction::Approve).await.unwrap();
    let callback = Callback::parse(callback_url.as_str()).unwrap();
    let elsewhere = pending_for(&h, "user-2", "https://app.example/elsewhere");
    let err = provider.complete(&elsewhere, &callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);

    // Exchanged after its 60 seconds.
    let started = h.start_flow(&c, "user-3").await.unwrap();
    let callback_url = h.act(&started, UserAction::Approve).await.unwrap();
    h.sandbox().clock().advance(Duration::from_secs(61));
    let err = c.finish(callback_url.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);

    // Exchanged by another client (utility-b's credentials at utility-a).
    let started = h.start_flow(&c, "user-4").await.unwrap();
    let callback_url = h.act(&started, UserAction::Approve).await.unwrap();
    let provider_b = h
        .build(Some(
            json!({"custodians": {"utility-a": {"client_secret": "sandbox-secret-utility-b"}}}),
        ))
        .unwrap();
    let callback = Callback::parse(callback_url.as_str()).unwrap();
    let err = provider_b
        .complete(&pending_for(&h, "user-4", CALLBACK), &callback)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.vendor_code(), Some("invalid_client"));
}

/// A pending session like the Connector's for a flow at utility-a, for calling the provider
/// directly.
fn pending_for(
    h: &Harness<GreenButtonSandbox>,
    user: &str,
    callback: &str,
) -> utilconnect::PendingSession {
    let request = utilconnect::TokenRequest::new(
        user,
        Url::parse(callback).unwrap(),
        utilconnect::State::generate().unwrap(),
    )
    .unwrap();
    let token = utilconnect::ConnectToken::new("unused".into(), Duration::from_secs(60))
        .with_data(ids::CUSTODIAN, "utility-a")
        .with_data(
            ids::SCOPE,
            "FB=4_5_15;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
        );
    utilconnect::PendingSession::new("greenbutton", &request, &token, h.sandbox().clock().now())
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_and_the_rotated_refresh_token_replaces_the_old() {
    let (h, c) = setup().await;
    let connection = h.connect(&c, "user-1").await.unwrap();
    let resource = connection.vendor_id(ids::RESOURCE_URI).unwrap().to_owned();
    h.sandbox().clock().advance(Duration::from_secs(3601));
    let (status, _, _) = read_with(&resource, &access_token(&connection)).await;
    assert_eq!(status, 401, "the access token expired");

    let renewed = c.refresh(&connection).await.unwrap();
    assert_ne!(
        refresh_token(&renewed),
        refresh_token(&connection),
        "rotated"
    );
    assert_eq!(
        renewed.credentials().unwrap().access_expires_at,
        Some(h.sandbox().clock().now() + Duration::from_secs(3600))
    );
    let (status, _, _) = read_with(&resource, &access_token(&renewed)).await;
    assert_eq!(status, 200);

    // Just after, a refresh of the old connection (another request that read it before the
    // renewal was saved) gets the same renewal, not a refusal of the retired token.
    let late = c.refresh(&connection).await.unwrap();
    assert_eq!(access_token(&late), access_token(&renewed));
    assert_eq!(h.count("POST", TOKEN_A), 2, "one exchange, one refresh");
    // Later, the retired refresh token is refused: the app must keep the renewed connection.
    h.sandbox().clock().advance(utilconnect::REFRESH_REUSE);
    let err = c.refresh(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthorizationRequired);
    let again = c.refresh(&renewed).await.unwrap();
    assert_ne!(access_token(&again), access_token(&renewed));
}

#[tokio::test]
async fn a_utility_that_does_not_rotate_keeps_the_old_refresh_token() {
    let (h, c) = setup_with(SandboxOptions {
        rotate_refresh_tokens: false,
        ..SandboxOptions::default()
    })
    .await;
    let connection = h.connect(&c, "user-1").await.unwrap();
    let renewed = c.refresh(&connection).await.unwrap();
    assert_eq!(refresh_token(&renewed), refresh_token(&connection));
    assert_ne!(access_token(&renewed), access_token(&connection));
}

#[tokio::test]
async fn a_revoked_grant_asks_for_reauthorization_and_closes_the_data() {
    let (h, c) = setup().await;
    let connection = h.connect(&c, "user-1").await.unwrap();
    let authorization = connection.vendor_id(ids::AUTHORIZATION_URI).unwrap();
    assert!(h.sandbox().emulator().revoke(authorization));
    let err = c.refresh(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthorizationRequired);
    assert!(!err.is_temporary());
    assert!(
        err.to_string()
            .contains("send the user through Connect again"),
        "{err}"
    );
    let resource = connection.vendor_id(ids::RESOURCE_URI).unwrap();
    let (status, _, _) = read_with(resource, &access_token(&connection)).await;
    assert_eq!(status, 401);

    // A connection without a refresh token cannot be renewed either, and says why.
    let mut bare = connection.credentials().unwrap().clone();
    bare.refresh_token = None;
    let err = c
        .refresh(&connection.clone().with_credentials(bare))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthorizationRequired);
    // Nor one whose custodian is no longer configured.
    let moved = connection
        .clone()
        .with_vendor_id(ids::CUSTODIAN, "utility-gone");
    let err = c.refresh(&moved).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`utility-gone`"), "{err}");
}

/// A utility that echoes the code, the refresh token and the client secret back in its
/// errors: none reaches the app's error, which stays one bounded line.
#[tokio::test]
async fn a_hostile_utility_cannot_leak_or_inject_through_errors() {
    let (h, c) = setup().await;
    let secret = "sandbox-secret-utility-a";
    let callback = h.approved_callback(&c, "user-1").await.unwrap();
    let code = Callback::parse(callback.as_str())
        .unwrap()
        .param("code")
        .unwrap()
        .expose_secret()
        .to_owned();
    let echo = format!(
        r#"{{"error":"invalid_grant\nFAKE LOG","error_description":"code {code} for secret {secret} {}"}}"#,
        "x".repeat(100_000)
    );
    h.sandbox()
        .faults()
        .inject("POST", TOKEN_A, FaultAction::status(400, echo), 1);
    let err = c.finish(callback.as_str()).await.unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&code), "{shown}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.len() < 8192, "{} bytes", shown.len());
    }

    let connection = c
        .finish(h.approved_callback(&c, "user-2").await.unwrap().as_str())
        .await
        .unwrap();
    let refresh = refresh_token(&connection);
    let echo = format!(
        r#"{{"error":"invalid_grant","error_description":"refresh_token {refresh} is revoked"}}"#
    );
    h.sandbox()
        .faults()
        .inject("POST", TOKEN_A, FaultAction::status(400, echo), 1);
    let err = c.refresh(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthorizationRequired);
    assert!(!format!("{err} {err:?}").contains(&refresh), "{err:?}");
}

/// A token request that is not a form is refused as RFC 6749 says, in JSON.
#[tokio::test]
async fn a_token_request_that_is_not_a_form_is_invalid_request() {
    let (h, _) = setup().await;
    let response = reqwest::Client::new()
        .post(h.sandbox().url(TOKEN_A))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
}
