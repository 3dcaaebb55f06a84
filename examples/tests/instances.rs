//! Two instances of the web app (two processes) on one Redis, as behind a load balancer:
//! the flow starts on one and its callback lands on the other; a used callback fails on
//! either; and Redis restarting between start and callback loses nothing it acknowledged.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use utilconnect::Url;
use utilconnect_redis::testing::RedisServer;
use utilconnect_sandbox::{Sandbox, UserAction};

/// One web app process and the URL it serves.
struct Instance {
    url: Url,
    _child: Child,
}

async fn instance(dir: &Path) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webapp"))
        .args(["--live", "--port", "0"])
        .current_dir(dir)
        .env_remove("UTILCONNECT_PROVIDER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the web app runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("open ") {
                let url = rest.split_whitespace().next().expect("a URL");
                return Url::parse(url).expect("a URL");
            }
        }
        panic!("the web app exited before serving");
    })
    .await
    .expect("the web app serves within 60 s");
    Instance { url, _child: child }
}

/// A browser: no redirects followed, cookies kept by name (the instances share a host, as
/// behind one load balancer, so they see the same cookies).
#[derive(Default)]
struct Browser {
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request
            .header(COOKIE, cookie.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }

    /// Starts a flow on `app`: the vendor's connect URL.
    async fn start(&mut self, app: &Url) -> Url {
        let (status, _, _) = self.send(self.http.get(app.clone())).await;
        assert_eq!(status, 200);
        let (status, location, body) = self
            .send(self.http.post(app.join("/connect").unwrap()))
            .await;
        assert_eq!(status, 303, "{body}");
        Url::parse(&location.expect("a redirect to the vendor")).unwrap()
    }

    async fn open(&mut self, url: &Url) -> (u16, String) {
        let (status, _, body) = self.send(self.http.get(url.clone())).await;
        (status, body)
    }
}

/// `callback` as it would reach `instance` (same path and query, another port).
fn at(instance: &Instance, callback: &Url) -> Url {
    let mut url = callback.clone();
    url.set_port(instance.url.port()).unwrap();
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_started_on_one_instance_finishes_on_another_through_redis() {
    let mut redis = RedisServer::start_persistent().await.unwrap();
    let vendor = utilconnect_pelm::sandbox::PelmSandbox::start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "provider = \"pelm\"\n[session_store]\nkind = \"redis\"\nurl = \"{}\"\n{}",
        redis.url(),
        utilconnect_sandbox::provider_toml(&vendor).unwrap()
    );
    std::fs::write(dir.path().join("utilconnect.toml"), toml).unwrap();
    let (a, b) = (instance(dir.path()).await, instance(dir.path()).await);
    let mut browser = Browser::new();

    // Start on A, come back on B.
    let connect_url = browser.start(&a.url).await;
    let callback = vendor.act(&connect_url, UserAction::Approve).await.unwrap();
    assert_eq!(
        callback.port(),
        a.url.port(),
        "the vendor sends the user back to A"
    );
    let (status, page) = browser.open(&at(&b, &callback)).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"<h1 id="outcome">Connected</h1>"#),
        "{page}"
    );

    // The same callback again, on A: used.
    let (status, page) = browser.open(&callback).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("state mismatch") && page.contains("already used"),
        "{page}"
    );

    // Redis restarts between start and callback: the acknowledged flow is still there. The
    // instance's first call may meet the dropped connection: a temporary error, after which
    // the same callback finishes.
    let connect_url = browser.start(&a.url).await;
    let callback = vendor.act(&connect_url, UserAction::Approve).await.unwrap();
    redis.restart().await.unwrap();
    let mut outcome = None;
    for _ in 0..20 {
        let (status, page) = browser.open(&at(&b, &callback)).await;
        if status == 503 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        outcome = Some((status, page));
        break;
    }
    let (status, page) = outcome.expect("the callback finished after Redis came back");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"<h1 id="outcome">Connected</h1>"#),
        "{page}"
    );
}
