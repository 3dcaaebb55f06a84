//! The web app's webhook route: the Flatpeak sandbox sends its signed events there as the
//! vendor would, the app verifies them through `Connector::webhook`, and the result page and
//! `/events` show the connection's latest event; a forged request is refused.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use utilconnect_examples::sandbox_target;
use utilconnect_examples::webapp::{WebApp, serve};
use utilconnect_sandbox::{UserAction, WebhookFault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_verifies_the_sandbox_webhooks_and_shows_the_latest_event() {
    let target = sandbox_target("flatpeak").await.unwrap();
    let connector = target.connector.clone();
    let (app, _server) = serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), |base| {
        WebApp::new(connector, base)
    })
    .await
    .unwrap();
    let sandbox = target.sandbox.as_ref().unwrap();
    let route = app.join("/webhooks/flatpeak").unwrap();
    assert!(sandbox.send_webhooks_to(&route));

    // A flow, driven as a browser would (cookies by hand, no redirects followed).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let connect = http
        .post(app.join("/connect").unwrap())
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = connect
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let location = connect.headers()["location"].to_str().unwrap().to_owned();
    let callback = sandbox
        .act(
            &utilconnect::Url::parse(&location).unwrap(),
            UserAction::Approve,
        )
        .await
        .unwrap();

    // The sandbox delivered connect_session.complete when the user saved; wait (bounded).
    let mut events = serde_json::Value::Null;
    for _ in 0..100 {
        let body = http
            .get(app.join("/events").unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        events = serde_json::from_slice(&body).unwrap();
        if events.as_object().is_some_and(|e| !e.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let event = events
        .as_object()
        .and_then(|e| e.values().next())
        .cloned()
        .expect("an event arrived");
    assert_eq!(event["kind"], "connection_completed", "{events}");
    assert_eq!(event["raw_type"], "connect_session.complete");

    let page = http
        .get(callback.as_str())
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Connected"), "{page}");
    assert!(
        page.contains(r#"<strong id="event">ConnectionCompleted</strong>"#),
        "{page}"
    );
    let location_id = event["vendor_ids"]["location_id"].as_str().unwrap();
    assert!(
        page.contains(location_id),
        "the event is this connection's: {page}"
    );

    // A forged or replayed request is refused, and changes nothing.
    for fault in [WebhookFault::BadSignature, WebhookFault::StaleTimestamp] {
        let forged = sandbox.last_webhook(Some(fault)).unwrap();
        let response = http
            .post(route.clone())
            .headers(forged.headers)
            .body(forged.body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{fault:?}");
        assert!(response.text().await.unwrap().contains("webhook rejected"));
    }
    // The same event again is acknowledged as a duplicate.
    let again = sandbox.last_webhook(None).unwrap();
    let response = http
        .post(route)
        .headers(again.headers)
        .body(again.body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "duplicate");
}
