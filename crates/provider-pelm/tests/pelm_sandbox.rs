//! The Pelm provider against its sandbox: the whole flow, the hosted pages' paths, every
//! documented error, the retry rules, and secrets kept out of everything people can see.

use std::sync::Arc;
use std::time::Duration;
use utilconnect::FromConfig as _;

use secrecy::ExposeSecret;
use utilconnect::Clock as _;
use utilconnect::{Callback, Connector, DataStatus, ErrorKind, ProviderConfig, TokenRequest, Url};
use utilconnect_conformance::Harness;
use utilconnect_pelm::PelmProvider;
use utilconnect_pelm::sandbox::PelmSandbox;
use utilconnect_sandbox::{Browser, FaultAction, Page, Sandbox, UserAction};

const CALLBACK: &str = "https://app.example/pelm/callback?tenant=a%26b";

/// The shared harness on a Pelm sandbox, flows returning to [`CALLBACK`], and a connector.
async fn setup() -> (Harness<PelmSandbox>, Connector) {
    let sandbox = PelmSandbox::start().await.unwrap();
    let h = Harness::with_sandbox(sandbox)
        .unwrap()
        .with_callback(CALLBACK);
    let connector = h.connector(None).unwrap();
    (h, connector)
}

#[tokio::test]
async fn full_flow_in_create_mode_links_the_user_and_matches_the_wire_snapshot() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    assert_eq!(callback.path(), "/pelm/callback");
    let connection = c.finish(callback.as_str()).await.unwrap();

    assert_eq!(connection.provider(), "pelm");
    assert_eq!(connection.user_id(), "user-1");
    assert_eq!(connection.data_status(), DataStatus::Pending);
    let credentials = connection
        .credentials()
        .expect("Pelm issues an access token");
    assert!(credentials.access_token.expose_secret().starts_with("at_"));
    assert!(credentials.refresh_token.is_some());
    assert_eq!(
        credentials.access_expires_at, None,
        "Pelm access tokens do not expire"
    );

    assert_eq!(
        s.paths(),
        [
            "POST /auth/connect-token",
            "GET /connect/",
            "POST /connect/terms",
            "POST /connect/utility",
            "POST /connect/credentials",
            "POST /auth/token",
        ]
    );
    insta::assert_json_snapshot!("full_flow_wire", s.sandbox().requests().all());
}

#[tokio::test]
async fn connect_url_carries_token_state_and_an_intact_redirect_uri() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let url = started.connect_url.expose();
    assert_eq!(url.path(), "/connect/");
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query["redirect_uri"], CALLBACK,
        "callback query survives encoding"
    );
    assert_eq!(query["state"], started.state.as_str());
    assert!(query["connect_token"].starts_with("ct_"));
    assert!(
        !url.as_str().contains("tenant=a%26b&"),
        "redirect_uri is encoded as one value"
    );

    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    assert_eq!(
        pairs[0],
        ("tenant".to_owned(), "a&b".to_owned()),
        "app query kept"
    );
}

#[tokio::test]
async fn update_mode_skips_terms_and_a_named_utility_skips_selection() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    c.finish(callback.as_str()).await.unwrap();
    s.sandbox().requests().clear();

    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    c.finish(callback.as_str()).await.unwrap();
    assert!(
        !s.paths().contains(&"POST /connect/terms".to_owned()),
        "{:?}",
        s.paths()
    );
    assert!(s.paths().contains(&"POST /connect/utility".to_owned()));
    s.sandbox().requests().clear();

    let options = serde_json::json!({"utility_slug": "sce"});
    let started = c
        .start_with("user-1", CALLBACK, options.as_object().unwrap().clone())
        .await
        .unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    c.finish(callback.as_str()).await.unwrap();
    assert!(
        !s.paths().contains(&"POST /connect/utility".to_owned()),
        "{:?}",
        s.paths()
    );
    let token_request = &s.sandbox().requests().to_path("/auth/connect-token")[0];
    assert_eq!(token_request.body["utility_slug"], "sce");
}

#[tokio::test]
async fn bad_options_fail_before_any_request() {
    let (s, c) = setup().await;
    for (options, expected) in [
        (
            serde_json::json!({"utility_slug": "pge", "utility_id": 1}),
            "not both",
        ),
        (
            serde_json::json!({"utility": "pge"}),
            "unknown Pelm option `utility`",
        ),
        (
            serde_json::json!({"utility_slug": 7}),
            "`utility_slug` must be a non-empty string",
        ),
    ] {
        let err = c
            .start_with("u", CALLBACK, options.as_object().unwrap().clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert!(s.sandbox().requests().is_empty());
}

#[tokio::test]
async fn exit_is_cancelled_without_an_exchange() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Cancel).await.unwrap();
    assert!(callback.query_pairs().all(|(k, _)| k != "code"));
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(s.sandbox().requests().to_path("/auth/token").is_empty());
}

#[tokio::test]
async fn wrong_password_then_the_right_one_connects() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s
        .act(&started, UserAction::WrongCredentialsThenApprove)
        .await
        .unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(connection.user_id(), "user-1");
    assert_eq!(
        s.sandbox().requests().to_path("/connect/credentials").len(),
        2
    );
}

#[tokio::test]
async fn expired_token_shows_an_error_page_and_the_flow_is_refused() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    s.sandbox().clock().advance(Duration::from_secs(1801));
    let err = s
        .sandbox()
        .act(started.connect_url.expose(), UserAction::Approve)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");

    let browser = Browser::new(s.sandbox().base_url()).unwrap();
    let page = browser.open(started.connect_url.expose()).await.unwrap();
    assert!(matches!(page, Page::Html { status: 400, .. }), "{page:?}");

    let callback = format!("{CALLBACK}&code=whatever&state={}", started.state.as_str());
    let err = c.finish(&callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredToken);
}

#[tokio::test]
async fn bogus_connect_token_shows_an_error_page_never_a_redirect() {
    let (s, _) = setup().await;
    let mut url = s.sandbox().url("/connect/");
    url.query_pairs_mut()
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("connect_token", "ct_bogus");
    let page = Browser::new(s.sandbox().base_url())
        .unwrap()
        .open(&url)
        .await
        .unwrap();
    assert!(matches!(page, Page::Html { status: 400, .. }), "{page:?}");
    assert!(page.contains("not valid"));
}

#[tokio::test]
async fn reused_and_expired_codes_are_invalid_code() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback_url = s.act(&started, UserAction::Approve).await.unwrap();
    let callback = Callback::parse(callback_url.as_str()).unwrap();
    // Complete twice through the provider directly, as a replay past the Connector would.
    let connection = c.finish(callback_url.as_str()).await.unwrap();
    assert_eq!(connection.user_id(), "user-1");
    let session = pending_for(&s, "user-1");
    let err = s
        .build(None)
        .unwrap()
        .complete(&session, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.vendor_code(), Some("token_invalid"));

    let started = s.start_flow(&c, "user-2").await.unwrap();
    let callback_url = s.act(&started, UserAction::Approve).await.unwrap();
    s.sandbox().clock().advance(Duration::from_secs(301));
    let err = c.finish(callback_url.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    assert!(err.vendor_message().unwrap().contains("expired"), "{err}");
}

/// A pending session like the Connector's, for calling the provider directly.
fn pending_for(s: &Harness<PelmSandbox>, user: &str) -> utilconnect::PendingSession {
    let request = TokenRequest::new(
        user,
        Url::parse(CALLBACK).unwrap(),
        utilconnect::State::generate().unwrap(),
    )
    .unwrap();
    let token = utilconnect::ConnectToken::new("unused".into(), Duration::from_secs(60));
    utilconnect::PendingSession::new("pelm", &request, &token, s.sandbox().clock().now())
}

#[tokio::test]
async fn every_documented_error_is_mapped() {
    let (s, c) = setup().await;
    let cases = [
        (
            400,
            r#"{"error_code":"parameter_invalid","message":"Unknown utility"}"#,
            ErrorKind::InvalidInput,
        ),
        (
            400,
            r#"{"error_code":"parameter_missing","message":"user_id is required"}"#,
            ErrorKind::InvalidInput,
        ),
        (
            401,
            r#"{"error_code":"credentials_invalid","message":"Invalid credentials"}"#,
            ErrorKind::Unauthorized,
        ),
        (
            402,
            r#"{"error_code":"quota_reached","message":"Quota reached"}"#,
            ErrorKind::QuotaExceeded,
        ),
        (
            403,
            r#"{"error_code":"permission_denied","message":"Not allowed"}"#,
            ErrorKind::Forbidden,
        ),
        (
            500,
            r#"{"error_code":"internal_error","message":"Oops"}"#,
            ErrorKind::Upstream,
        ),
        (501, "<html>not json</html>", ErrorKind::Upstream),
        (418, r#"{"something":"else"}"#, ErrorKind::Unexpected),
    ];
    for (status, body, kind) in cases {
        s.sandbox().faults().inject(
            "POST",
            "/auth/connect-token",
            FaultAction::status(status, body),
            1,
        );
        let err = c.start("u", CALLBACK).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {body}: {err}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.provider(), Some("pelm"));
        assert_eq!(err.is_temporary(), kind == ErrorKind::Upstream, "{err}");
        if body.starts_with("{\"error_code") {
            assert!(err.vendor_code().is_some(), "{err}");
            assert!(err.vendor_message().is_some(), "{err}");
        }
        if status == 501 {
            assert_eq!(err.body_excerpt(), Some("<html>not json</html>"));
        }
    }

    // The real emulator refuses a wrong secret the documented way.
    let mut table: serde_json::Value = serde_json::json!({
        "client_id": "sandbox-client-id",
        "client_secret": "wrong",
        "api_base_url": s.sandbox().base_url().as_str(),
        "connect_base_url": s.sandbox().url("/connect/").as_str(),
    });
    let provider =
        PelmProvider::from_config(&ProviderConfig::from_json("pelm", table.take())).unwrap();
    let err = Connector::new(Arc::new(provider))
        .start("u", CALLBACK)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.vendor_code(), Some("credentials_invalid"));
}

#[tokio::test]
async fn data_unavailable_on_exchange_is_pending_and_the_flow_can_be_resumed() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    s.sandbox().faults().inject(
        "POST",
        "/auth/token",
        FaultAction::status(
            500,
            r#"{"error_code":"data_unavailable","message":"Data is loading"}"#,
        ),
        1,
    );
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pending);
    assert!(err.is_temporary());
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(connection.user_id(), "user-1");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_then_succeeds() {
    let (s, c) = setup().await;
    s.sandbox().faults().inject(
        "POST",
        "/auth/connect-token",
        FaultAction::status_with_retry_after(
            429,
            r#"{"error_code":"rate_limited","message":"Slow down"}"#,
            "1",
        ),
        1,
    );
    s.start_flow(&c, "u").await.unwrap();
    let faults: Vec<_> = s
        .sandbox()
        .requests()
        .to_path("/auth/connect-token")
        .into_iter()
        .map(|r| r.fault)
        .collect();
    assert_eq!(faults, [Some("status 429".to_owned()), None]);

    // When every attempt is limited, the error carries the vendor's wait.
    s.sandbox().faults().inject(
        "POST",
        "/auth/connect-token",
        FaultAction::status_with_retry_after(429, "{}", "0"),
        10,
    );
    let err = c.start("u", CALLBACK).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert!(err.is_temporary());
}

#[tokio::test]
async fn sandbox_accepts_the_documented_variants() {
    let (s, _) = setup().await;
    let http = reqwest::Client::new();
    let base = s.sandbox().base_url();
    let options = s.sandbox().options();

    // The guide's prose path and its curl's multipart body.
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\nmultipart-user\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"utility_id\"\r\n\r\n1\r\n--{boundary}--\r\n"
    );
    let response = http
        .post(base.join("/auth/connect_token").unwrap())
        .header("Pelm-Client-Id", &options.client_id)
        .header("Pelm-Secret", &options.client_secret)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(json["expires_in"], 1800);

    // An exchange with another grant_type is refused; missing headers are 401.
    let response = http
        .post(base.join("/auth/token").unwrap())
        .header("Pelm-Client-Id", &options.client_id)
        .header("Pelm-Secret", &options.client_secret)
        .form(&[("code", "x"), ("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = http
        .post(base.join("/auth/token").unwrap())
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// A vendor that echoes secrets and injects lines: errors stay bounded, on one line, and free
/// of the client secret and the code.
#[tokio::test]
async fn a_hostile_vendor_cannot_leak_or_inject_through_errors() {
    let (s, c) = setup().await;
    let config: utilconnect_pelm::PelmConfig = s.sandbox().provider_config().extract().unwrap();
    let secret = config.client_secret.expose_secret().to_owned();
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let code = Callback::parse(callback.as_str())
        .unwrap()
        .param("code")
        .unwrap()
        .expose_secret()
        .to_owned();
    let body = format!(
        r#"{{"error_code":"token_invalid\nFAKE LOG LINE {code}","message":"client secret {secret} rejected for code {code}"}}"#
    );
    s.sandbox()
        .faults()
        .inject("POST", "/auth/token", FaultAction::status(401, body), 1);
    let err = c.finish(callback.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&secret), "{shown}");
        assert!(!shown.contains(&code), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
    // Pelm refused the code: the session is kept, so the real callback still finishes.
    let connection = c.finish(callback.as_str()).await.unwrap();
    assert_eq!(connection.user_id(), "user-1");

    // A user-supplied error description cannot forge a log line either.
    let started = s.start_flow(&c, "user-2").await.unwrap();
    let forged = format!(
        "{CALLBACK}&error=access_denied&error_description=ok%0AINFO%20admin%20logged%20in&state={}",
        started.state.as_str()
    );
    let err = c.finish(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(!err.to_string().contains('\n'), "{err}");
    assert!(err.to_string().contains("ok\\nINFO"), "{err}");
}

/// The documented limit (crate docs, "a code is not bound to its flow"): nothing on Pelm's
/// wire ties a code to the connect token it came from, so A's code with B's state finishes
/// B's flow. This pins that behaviour so a change to it is seen and the docs follow.
#[tokio::test]
async fn a_code_from_another_flow_cannot_be_told_apart_as_documented() {
    let (s, c) = setup().await;
    let a = s.start_flow(&c, "user-a").await.unwrap();
    let b = s.start_flow(&c, "user-b").await.unwrap();
    let callback_a = s.act(&a, UserAction::Approve).await.unwrap();
    let code_a = Callback::parse(callback_a.as_str())
        .unwrap()
        .param("code")
        .unwrap()
        .expose_secret()
        .to_owned();
    let swapped = format!("{CALLBACK}&code={code_a}&state={}", b.state.as_str());
    let connection = c.finish(&swapped).await.unwrap();
    assert_eq!(connection.user_id(), "user-b");
    // The code was single-use at the vendor: A's own callback now fails, and says so.
    let err = c.finish(callback_a.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
}

/// One clock: a provider built for a sandbox dates the credentials it returns on the
/// sandbox's clock, as the connector dates the flow.
#[tokio::test]
async fn credential_expiry_is_dated_on_the_sandbox_clock() {
    let sandbox = PelmSandbox::start().await.unwrap();
    sandbox
        .clock()
        .advance(Duration::from_secs(10 * 365 * 24 * 3600));
    let connector = utilconnect_sandbox::connector_for(&sandbox).unwrap();
    let started = connector.start("user-1", CALLBACK).await.unwrap();
    let callback = sandbox
        .act(started.connect_url.expose(), UserAction::Approve)
        .await
        .unwrap();
    let connection = connector.finish(callback.as_str()).await.unwrap();
    let expires = connection
        .credentials()
        .and_then(|c| c.refresh_expires_at)
        .expect("Pelm sends refresh_token_expires_in");
    assert_eq!(
        expires,
        sandbox.clock().now() + Duration::from_secs(1_314_000),
        "dated on the sandbox's clock, not the system's"
    );
}

/// The data calls Pelm's sample apps make after Connect, on the sandbox: 500
/// `data_unavailable` while the data loads, then the account, its hourly intervals and its
/// bills; the usual errors; and a JSON error for anything the emulator does not serve.
#[tokio::test]
async fn after_connect_the_data_calls_answer_as_pelm_does() {
    let (s, c) = setup().await;
    let started = s.start_flow(&c, "user-1").await.unwrap();
    let callback = s.act(&started, UserAction::Approve).await.unwrap();
    let connection = c.finish(callback.as_str()).await.unwrap();
    let token = connection
        .credentials()
        .unwrap()
        .access_token
        .expose_secret()
        .to_owned();
    let options = s.sandbox().options().clone();
    let http = reqwest::Client::new();
    let get = |path: &str, bearer: &str| {
        http.get(s.sandbox().url(path))
            .header("Pelm-Client-Id", &options.client_id)
            .header("Pelm-Secret", &options.client_secret)
            .bearer_auth(bearer)
            .send()
    };
    let json = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        (status, body)
    };

    let (status, body) = json(get("/accounts", &token).await.unwrap()).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (500, Some("data_unavailable"))
    );
    s.sandbox().clock().advance(options.data_delay);

    let (status, accounts) = json(get("/accounts", &token).await.unwrap()).await;
    assert_eq!(status, 200, "{accounts}");
    let account = accounts[0]["id"].as_str().unwrap().to_owned();
    let day = 1_796_428_800u64; // a UTC midnight
    let (status, intervals) = json(
        get(
            &format!(
                "/intervals?account_id={account}&start_date={day}&end_date={}&type=ELECTRIC",
                day + 86_400
            ),
            &token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{intervals}");
    assert_eq!(intervals["intervals"].as_array().unwrap().len(), 24);
    let (status, bills) = json(
        get(&format!("/bills?account_id={account}"), &token)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, bills.as_array().map(Vec::len)), (200, Some(3)));

    for (path, bearer, expected) in [
        (
            "/accounts".to_owned(),
            "at_not-a-token",
            (401, "token_invalid"),
        ),
        (
            "/bills?account_id=acct_other".to_owned(),
            token.as_str(),
            (400, "parameter_invalid"),
        ),
        (
            "/bills".to_owned(),
            token.as_str(),
            (400, "parameter_missing"),
        ),
        (
            format!("/intervals?account_id={account}"),
            token.as_str(),
            (400, "parameter_missing"),
        ),
        (
            "/accounts/nope".to_owned(),
            token.as_str(),
            (404, "not_found"),
        ),
    ] {
        let response = get(&path, bearer).await.unwrap();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let (status, body) = json(response).await;
        assert_eq!(
            (status, body["error_code"].as_str().unwrap()),
            expected,
            "{path}: {body}"
        );
    }
}
