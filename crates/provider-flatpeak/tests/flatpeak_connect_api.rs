//! The Connect JSON API of the Flatpeak emulator, spoken as Flatpeak's own Connect web app
//! speaks it (shapes from flat-peak/flatpeak-connect-web's `types.ts`): the conversation from
//! `session_start` to `complete_tariff`, through `session_redirect` to the energy provider's
//! login and back, recorded as a wire snapshot; then its refusals.

use serde_json::{Value, json};
use utilconnect::{Connector, DataStatus, ErrorKind, Url};
use utilconnect_conformance::Harness;
use utilconnect_flatpeak::sandbox::FlatpeakSandbox;
use utilconnect_sandbox::Sandbox;

/// A browser-like client of the emulator that does not follow redirects (each is checked).
struct WebApp {
    http: reqwest::Client,
    api: Url,
    /// Every submit and its answer, in order.
    exchanges: Vec<Value>,
}

impl WebApp {
    fn new(sandbox: &FlatpeakSandbox) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            api: sandbox.url("/connect-api"),
            exchanges: Vec::new(),
        }
    }

    /// POSTs `submit` as the web app's `submitAction` does; the status and the answer.
    async fn submit(&mut self, submit: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.api.clone())
            .header("content-type", "application/json")
            .body(submit.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{submit}"
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        self.exchanges
            .push(json!({"submit": submit, "status": status, "answer": answer}));
        (status, answer)
    }
}

async fn setup() -> (Harness<FlatpeakSandbox>, Connector) {
    let sandbox = FlatpeakSandbox::start().await.unwrap();
    // A fixed day, so the rates' dates in the wire snapshot do not move with the calendar.
    sandbox
        .clock()
        .set(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000));
    let h = Harness::with_sandbox(sandbox).unwrap();
    let connector = h.connector(None).unwrap();
    (h, connector)
}

fn token_of(url: &Url) -> String {
    url.query_pairs()
        .find(|(k, _)| k == "fp_cot")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

fn submit(route: &str, token: &str) -> Value {
    json!({"route": route, "type": "submit", "connect_token": token})
}

#[tokio::test]
async fn the_conversation_runs_from_session_start_to_complete_tariff() {
    let (h, connector) = setup().await;
    let started = h.start_flow(&connector, "api-user").await.unwrap();
    let token = token_of(started.connect_url.expose());
    let mut app = WebApp::new(h.sandbox());

    let (status, page) = app.submit(submit("session_start", &token)).await;
    assert_eq!(
        (status, page["route"].as_str()),
        (200, Some("postal_address_capture"))
    );
    assert_eq!(page["type"], "render");
    assert_eq!(page["connect_token"], token.as_str());

    let mut address = submit("postal_address_capture", &token);
    address["data"] = json!({"postal_address": {"address_line1": "1-3 Strand", "city": "London",
        "country_code": "GB", "post_code": "WC2N 5EH"}});
    let (_, page) = app.submit(address).await;
    assert_eq!(page["route"], "provider_select");
    assert_eq!(page["data"]["postal_address"]["post_code"], "WC2N 5EH");
    let first = page["data"]["providers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut choose = submit("provider_select", &token);
    choose["data"] = json!({"provider": {"id": first}});
    let (_, page) = app.submit(choose).await;
    assert_eq!(page["route"], "session_redirect");
    let login = Url::parse(page["data"]["redirect_url"].as_str().unwrap()).unwrap();
    assert_eq!(login.path(), "/provider-login/");

    // The energy provider's own page, then back to the token's `connect_url`.
    let form = [
        ("fp_cot", token.as_str()),
        ("username", "customer@example.com"),
        ("password", "password"),
        ("action", "login"),
    ];
    let back = app.http.post(login).form(&form).send().await.unwrap();
    assert!(back.status().is_redirection());
    let back = Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(back.path(), "/connect-web/");
    assert_eq!(token_of(&back), token);

    // The web app starts the conversation again where it is.
    let (_, page) = app.submit(submit("session_start", &token)).await;
    assert_eq!(page["route"], "tariff_summary");
    assert!(page["actions"].as_array().unwrap().contains(&json!("SAVE")));

    let mut save = submit("tariff_summary", &token);
    save["action"] = json!("SAVE");
    let (_, page) = app.submit(save).await;
    assert_eq!(page["route"], "complete_tariff");
    let callback = page["data"]["callback_url"].as_str().unwrap().to_owned();

    // The app's side finishes as with the hosted pages.
    let connection = connector.finish(&callback).await.unwrap();
    assert_eq!(connection.data_status(), DataStatus::Ready);

    // The wire, tokens and the sandbox's address named.
    let base = h
        .sandbox()
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let text = serde_json::to_string(&app.exchanges)
        .unwrap()
        .replace(&base, "[sandbox]");
    let wire: Value = serde_json::from_str(&h.sandbox().requests().normalise_text(&text)).unwrap();
    insta::assert_json_snapshot!("connect_api_conversation", wire);
}

#[tokio::test]
async fn close_and_back_leave_through_the_callback() {
    let (h, connector) = setup().await;
    let started = h.start_flow(&connector, "close-user").await.unwrap();
    let token = token_of(started.connect_url.expose());
    let mut app = WebApp::new(h.sandbox());
    app.submit(submit("session_start", &token)).await;
    // BACK on the first page has nowhere to go but the callback.
    let mut back = submit("postal_address_capture", &token);
    back["action"] = json!("BACK");
    let (_, page) = app.submit(back).await;
    assert_eq!(page["route"], "session_redirect");
    let callback = page["data"]["redirect_url"].as_str().unwrap().to_owned();
    assert!(callback.starts_with(h.callback()), "{callback}");
    let err = connector.finish(&callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    // The session is over: the conversation says so.
    let (status, refused) = app.submit(submit("session_start", &token)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("session_complete"))
    );
}

#[tokio::test]
async fn bad_submits_are_refused_with_the_error_body() {
    let (h, connector) = setup().await;
    let started = h.start_flow(&connector, "bad-user").await.unwrap();
    let token = token_of(started.connect_url.expose());
    let mut app = WebApp::new(h.sandbox());

    let hostile = format!("cot_{}\u{1b}[31m\r\n", "x".repeat(5000));
    let (status, body) = app.submit(submit("session_start", &hostile)).await;
    assert_eq!((status, body["object"].as_str()), (400, Some("error")));
    assert_eq!(body["code"], "connect_token_invalid");
    let echoed = body["connect_token"].as_str().unwrap();
    assert!(echoed.chars().count() <= 80, "bounded: {}", echoed.len());
    assert!(
        !echoed.contains('\u{1b}') && !echoed.contains('\r'),
        "{echoed:?}"
    );

    let mut incomplete = submit("postal_address_capture", &token);
    incomplete["data"] = json!({"postal_address": {"address_line1": "1-3 Strand"}});
    let (status, body) = app.submit(incomplete).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("parameter_missing"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("post_code"),
        "{body}"
    );

    let (_, body) = app.submit(submit("tariff_summary", &token)).await;
    assert_eq!(body["code"], "route_invalid");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("postal_address_capture"),
        "{body}"
    );

    let mut save_early = submit("tariff_summary", &token);
    save_early["action"] = json!("SAVE");
    let (_, body) = app.submit(save_early).await;
    assert_eq!(
        body["code"], "route_invalid",
        "no saving before the summary"
    );

    let mut render = submit("session_start", &token);
    render["type"] = json!("render");
    let (_, body) = app.submit(render).await;
    assert_eq!(body["code"], "parameter_invalid");

    let not_json = app
        .http
        .post(app.api.clone())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let body: Value = serde_json::from_slice(&not_json.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "invalid_json");

    // Actions a page does not offer, and submits for a page the session is not on.
    for (route, action, code) in [
        ("postal_address_capture", "SAVE", "action_invalid"),
        ("session_start", "BACK", "action_invalid"),
        ("provider_select", "CLOSE", "route_invalid"),
    ] {
        let mut wrong = submit(route, &token);
        wrong["action"] = json!(action);
        let (status, body) = app.submit(wrong).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some(code)),
            "{route} {action}"
        );
    }

    // A browser's preflight from the web app's origin is allowed.
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.api.clone())
        .header("origin", "http://localhost:7070")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    // Still on the first page: nothing above moved the session.
    let (_, page) = app.submit(submit("session_start", &token)).await;
    assert_eq!(page["route"], "postal_address_capture");
}

/// Steps the conversation with `action` (or `data`) on the page it is on; the next route.
async fn step(
    app: &mut WebApp,
    token: &str,
    route: &str,
    action: Option<&str>,
    data: Option<Value>,
) -> Value {
    let mut next = submit(route, token);
    if let Some(action) = action {
        next["action"] = json!(action);
    }
    if let Some(data) = data {
        next["data"] = data;
    }
    let (status, page) = app.submit(next).await;
    assert_eq!(status, 200, "{route} {action:?}: {page}");
    page
}

/// Chooses the first provider and logs in there; the conversation is on the summary after.
async fn connect_provider(app: &mut WebApp, token: &str) {
    let page = step(
        app,
        token,
        "provider_select",
        None,
        Some(json!({"provider": {"id": "edf"}})),
    )
    .await;
    assert_eq!(page["route"], "session_redirect");
    let login = Url::parse(page["data"]["redirect_url"].as_str().unwrap()).unwrap();
    let form = [
        ("fp_cot", token),
        ("username", "customer@example.com"),
        ("password", "password"),
        ("action", "login"),
    ];
    let back = app.http.post(login).form(&form).send().await.unwrap();
    assert!(back.status().is_redirection());
    let page = step(app, token, "session_start", None, None).await;
    assert_eq!(page["route"], "tariff_summary");
}

#[tokio::test]
async fn every_action_moves_the_session_where_the_page_says() {
    let (h, connector) = setup().await;
    let started = h.start_flow(&connector, "actions-user").await.unwrap();
    let token = token_of(started.connect_url.expose());
    let mut app = WebApp::new(h.sandbox());
    let address = || {
        Some(
            json!({"postal_address": {"address_line1": "1 Road", "post_code": "AB1 2CD", "country_code": "GB"}}),
        )
    };

    step(&mut app, &token, "session_start", None, None).await;
    let page = step(&mut app, &token, "postal_address_capture", None, address()).await;
    assert_eq!(page["route"], "provider_select");
    let page = step(
        &mut app,
        &token,
        "provider_select",
        Some("ADDRESS_CHANGE"),
        None,
    )
    .await;
    assert_eq!(page["route"], "postal_address_capture");
    step(&mut app, &token, "postal_address_capture", None, address()).await;
    let page = step(&mut app, &token, "provider_select", Some("BACK"), None).await;
    assert_eq!(page["route"], "postal_address_capture");
    step(&mut app, &token, "postal_address_capture", None, address()).await;

    connect_provider(&mut app, &token).await;
    let page = step(&mut app, &token, "tariff_summary", Some("EDIT"), None).await;
    assert_eq!(
        page["route"], "provider_select",
        "EDIT chooses the provider again"
    );
    connect_provider(&mut app, &token).await;
    let page = step(&mut app, &token, "tariff_summary", Some("BACK"), None).await;
    assert_eq!(page["route"], "provider_select");
    connect_provider(&mut app, &token).await;

    let page = step(&mut app, &token, "tariff_summary", Some("DISCONNECT"), None).await;
    assert_eq!(page["route"], "session_redirect");
    let callback = page["data"]["redirect_url"].as_str().unwrap();
    let err = connector.finish(callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
}
