//! End to end in a real browser: headless Chromium, driven through chromedriver (WebDriver,
//! with the fantoccini client), clicks through the example web app and each provider's
//! sandbox pages (approve, cancel, wrong password then approve) and checks the result page.
//! A screenshot of every result page is saved under `target/browser-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` and `scripts/test.sh` install
//! them when missing.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};
use url::Url;
use utilconnect_examples::sandbox_target;
use utilconnect_examples::webapp::{WebApp, serve};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// Chromium under chromedriver, with a throwaway profile; chromedriver is killed on drop.
struct Browser {
    client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn browser() -> Browser {
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {CHROMEDRIVER} ({e}); install Debian's chromium and chromium-driver (scripts/test.sh does)")
        });
    // Wait (bounded) until chromedriver listens.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1000,800".to_owned(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://{addr}"))
        .await
        .expect("a WebDriver session with headless Chromium");
    Browser {
        client,
        _driver: driver,
        _profile: profile,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Approve,
    Cancel,
    WrongPasswordThenApprove,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Cancel => "cancel",
            Self::WrongPasswordThenApprove => "wrong-password",
        }
    }
}

async fn has(client: &Client, css: &str) -> bool {
    client
        .find_all(Locator::Css(css))
        .await
        .map(|found| !found.is_empty())
        .unwrap_or(false)
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

/// Clicks a button that submits a form and waits (bounded) until the browser has left the
/// page: the old document's root element goes stale.
async fn submit(client: &Client, css: &str) {
    let old_root = client.find(Locator::Css("html")).await.expect("a page");
    click(client, css).await;
    for _ in 0..200 {
        if old_root.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("clicking `{css}` did not leave the page within 10 s");
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// A login form of the hosted pages and the sandbox's credentials for it.
struct LoginForm {
    form: &'static str,
    username: &'static str,
    password: &'static str,
    submit: &'static str,
    /// The button that leaves without logging in, where the page has one.
    cancel: Option<&'static str>,
}

const LOGIN_FORMS: &[LoginForm] = &[
    LoginForm {
        form: "form#credentials",
        username: "user@pelm.com",
        password: "password",
        submit: "button[value=submit]",
        cancel: None,
    },
    LoginForm {
        form: "form#provider-login",
        username: "customer@example.com",
        password: "password",
        submit: "button[value=login]",
        cancel: None,
    },
    LoginForm {
        form: "form#login",
        username: "customer@greenbutton.example",
        password: "green-button",
        submit: "button[value=login]",
        cancel: Some("button[value=cancel]"),
    },
];

/// The login form showing, if one is.
async fn login_form_on(client: &Client) -> Option<&'static LoginForm> {
    for login in LOGIN_FORMS {
        if has(client, login.form).await {
            return Some(login);
        }
    }
    None
}

/// Plays the user on whatever hosted page is showing until the browser is back on the app.
async fn click_through(client: &Client, app: &Url, scenario: Scenario) {
    let mut wrong_typed = false;
    let mut idle_polls = 0;
    // Bounded: a few pages, each possibly polled while the browser is still navigating.
    for _ in 0..60 {
        let here = client.current_url().await.expect("current url");
        if here.origin() == app.origin() || has(client, "#outcome").await {
            return;
        }
        let cancel = scenario == Scenario::Cancel;
        if has(client, "form#terms").await {
            submit(
                client,
                if cancel {
                    "form#terms button[value=exit]"
                } else {
                    "form#terms button[value=accept]"
                },
            )
            .await;
        } else if has(client, "form#utility").await {
            if !cancel {
                click(client, "form#utility input[value=pge]").await;
            }
            submit(
                client,
                if cancel {
                    "form#utility button[value=exit]"
                } else {
                    "form#utility button[value=continue]"
                },
            )
            .await;
        } else if let Some(login) = login_form_on(client).await {
            // A vendor's or utility's own login page (Pelm, Flatpeak's energy provider, a
            // Green Button utility).
            if let (true, Some(button)) = (cancel, login.cancel) {
                submit(client, &format!("{} {button}", login.form)).await;
                continue;
            }
            let wrong = scenario == Scenario::WrongPasswordThenApprove && !wrong_typed;
            let password = if wrong { "not-it" } else { login.password };
            let field = |name: &str| format!("{} input[name={name}]", login.form);
            type_into(client, &field("username"), login.username).await;
            type_into(client, &field("password"), password).await;
            submit(client, &format!("{} {}", login.form, login.submit)).await;
            if wrong {
                wrong_typed = true;
                let source = client.source().await.expect("page source");
                assert!(
                    source.contains("Incorrect"),
                    "a wrong password shows an error"
                );
            }
        } else if has(client, "form#authorize").await {
            // The utility shows what the app asks for, in words, before Approve.
            let scope = client
                .find(Locator::Id("scope"))
                .await
                .expect("the scope list")
                .text()
                .await
                .expect("scope text");
            assert!(scope.contains("function blocks 4, 5, 15"), "{scope}");
            submit(client, "form#authorize button[value=approve]").await;
        } else if has(client, "form#address").await {
            if cancel {
                submit(client, "form#address button[value=close]").await;
            } else {
                type_into(
                    client,
                    "form#address input[name=address_line1]",
                    "1-3 Strand",
                )
                .await;
                type_into(client, "form#address input[name=post_code]", "WC2N 5EH").await;
                submit(client, "form#address button[value=continue]").await;
            }
        } else if has(client, "form#provider").await {
            click(client, "form#provider input[value=octopus]").await;
            submit(client, "form#provider button[value=continue]").await;
        } else if has(client, "form#summary").await {
            submit(client, "form#summary button[value=save]").await;
        } else {
            // Between pages: give the navigation a moment, then look again.
            idle_polls += 1;
            if idle_polls > 40 {
                let source = client.source().await.unwrap_or_default();
                panic!("no known form at {here}:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("the hosted pages did not send the browser back to the app");
}

/// The result page's outcome ("Connected" / "Not connected"), waiting (bounded) for it.
async fn outcome(client: &Client) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("outcome"))
        .await
        .expect("a result page")
        .text()
        .await
        .expect("outcome text")
}

/// A vendor answer that means "not ready yet" on the completing call, where the vendor has one.
fn temporary_fault(provider: &str) -> Option<utilconnect_sandbox::FaultAction> {
    use utilconnect_sandbox::FaultAction;
    match provider {
        "pelm" => Some(FaultAction::status(
            500,
            r#"{"error_code":"data_unavailable","message":"Data is loading"}"#,
        )),
        "flatpeak" => Some(FaultAction::status(
            422,
            r#"{"object":"error","type":"api_error","code":"pending_connect","message":"Connect is processing link to tariff source"}"#,
        )),
        _ => None,
    }
}

/// Every app page is styled by the app's own stylesheet and says it runs on a sandbox; a
/// screenshot of it is saved as `<provider>-<name>.png`.
async fn check_app_page(client: &Client, provider: &str, name: &str) {
    let banner = client
        .find(Locator::Id("sandbox-banner"))
        .await
        .unwrap_or_else(|e| panic!("{name}: no sandbox banner: {e}"))
        .text()
        .await
        .expect("banner text");
    assert!(
        banner.contains("no real utility account"),
        "{name}: {banner}"
    );
    let styled = client
        .execute(
            "return getComputedStyle(document.getElementById('sandbox-banner')).backgroundColor",
            vec![],
        )
        .await
        .expect("computed style");
    assert_eq!(
        styled, "rgb(255, 244, 194)",
        "{name}: the stylesheet is served and applied"
    );
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a real PNG");
    std::fs::write(
        screenshot_dir().join(format!("{provider}-{name}.png")),
        &png,
    )
    .expect("save screenshot");
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("browser-screenshots")
}

async fn run_provider(provider: &str) {
    let target = sandbox_target(provider).await.expect("sandbox");
    let connector = target.connector.clone();
    let (app, server) = serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), |base| {
        WebApp::on_sandbox(connector, base)
    })
    .await
    .expect("web app");
    let browser = browser().await;
    let client = &browser.client;
    std::fs::create_dir_all(screenshot_dir()).expect("screenshot dir");

    // Cancel first: for Pelm a user who never connected sees the terms page.
    for scenario in [
        Scenario::Cancel,
        Scenario::Approve,
        Scenario::WrongPasswordThenApprove,
    ] {
        client.goto(app.as_str()).await.expect("open the app");
        check_app_page(client, provider, "index").await;
        submit(client, "#connect").await;
        click_through(client, &app, scenario).await;
        let outcome = outcome(client).await;
        let page = client.source().await.expect("page source");
        let png = client.screenshot().await.expect("screenshot");
        let file = screenshot_dir().join(format!("{provider}-{}.png", scenario.name()));
        std::fs::write(&file, &png).expect("save screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a real PNG");

        match scenario {
            Scenario::Cancel => {
                assert_eq!(outcome, "Not connected", "{page}");
                assert!(page.contains("cancelled by user"), "{page}");
            }
            Scenario::Approve | Scenario::WrongPasswordThenApprove => {
                assert_eq!(outcome, "Connected", "{page}");
                let shown = client
                    .find(Locator::Id("provider"))
                    .await
                    .expect("provider")
                    .text()
                    .await
                    .expect("text");
                assert_eq!(shown, provider);
            }
        }
        check_app_page(client, provider, scenario.name()).await;
        // The result page never shows a secret the sandbox issued or holds.
        if let Some(sandbox) = &target.sandbox {
            for secret in sandbox.known_secrets() {
                assert!(!page.contains(&secret), "{scenario:?}: secret on the page");
            }
        }
        if scenario == Scenario::Approve {
            // The same callback again, in the same browser: used, and it says so.
            let callback = client.current_url().await.expect("url");
            client
                .goto(callback.as_str())
                .await
                .expect("reopen the callback");
            // Wait (bounded) for the new page, not the one it replaces.
            let mut page = String::new();
            for _ in 0..100 {
                page = client.source().await.unwrap_or_default();
                if page.contains("Not connected") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(page.contains("already used"), "{callback}: {page}");
            check_app_page(client, provider, "already-used").await;
        }
    }
    // A temporary failure when finishing (the vendor still loading data): the page offers to
    // try again, and trying again in the same browser connects.
    if let (Some(sandbox), Some(fault)) = (&target.sandbox, temporary_fault(provider)) {
        let route = sandbox
            .route(utilconnect::Operation::Complete)
            .expect("complete route");
        client.goto(app.as_str()).await.expect("open the app");
        submit(client, "#connect").await;
        sandbox.faults().inject(route.method, route.path, fault, 1);
        click_through(client, &app, Scenario::Approve).await;
        let page = client.source().await.expect("page source");
        assert!(
            page.contains("Not connected") && page.contains("your connection is kept"),
            "{page}"
        );
        check_app_page(client, provider, "temporary-failure").await;
        submit(client, "#retry").await;
        let outcome = outcome(client).await;
        assert_eq!(outcome, "Connected");
        check_app_page(client, provider, "retried").await;
    }
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pelm_in_a_real_browser() {
    run_provider("pelm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatpeak_in_a_real_browser() {
    run_provider("flatpeak").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greenbutton_in_a_real_browser() {
    run_provider("greenbutton").await;
}
