//! A small web app: "Connect your utility account", cookies for the user and the flow, the
//! callback route and a result page that shows the connection (never a secret). The provider comes from config;
//! by default it runs against that provider's embedded sandbox.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{OriginalUri, Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;
use utilconnect::{Callback, Connection, Connector, Error, Event, State};
use utilconnect_sandbox::escape_html;

/// The browser's user id (the app's own notion of who is signed in; here, made up).
const USER_COOKIE: &str = "uc_user";
/// The state of the flow this browser started: the callback must carry the same one.
const FLOW_COOKIE: &str = "uc_flow";

/// The web app's state. It keeps nothing per browser: who the user is and which flow they
/// started live in the browser's cookies, and pending flows in the connector's session
/// store, so any number of instances can serve one browser (with a shared store, e.g.
/// Redis, configured in `[session_store]`).
pub struct WebApp {
    connector: Connector,
    public_url: Url,
    /// The latest verified event per id it names (a location, a customer): what the result
    /// page shows. An app would keep this in its database.
    events: Mutex<HashMap<String, Event>>,
    /// Shown on every page when the vendor is a sandbox.
    banner: Option<String>,
}

impl std::fmt::Debug for WebApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApp")
            .field("provider", &self.connector.provider().descriptor().name())
            .field("public_url", &self.public_url.as_str())
            .finish_non_exhaustive()
    }
}

impl WebApp {
    /// An app that serves at `public_url` and links accounts with `connector`.
    pub fn new(connector: Connector, public_url: Url) -> Arc<Self> {
        Self::with_banner(connector, public_url, None)
    }

    /// An app whose vendor is a sandbox: every page says so ([`SANDBOX_BANNER`](crate::SANDBOX_BANNER)).
    pub fn on_sandbox(connector: Connector, public_url: Url) -> Arc<Self> {
        Self::with_banner(connector, public_url, Some(crate::SANDBOX_BANNER))
    }

    fn with_banner(connector: Connector, public_url: Url, banner: Option<&str>) -> Arc<Self> {
        Arc::new(Self {
            connector,
            public_url,
            events: Mutex::new(HashMap::new()),
            banner: banner.map(str::to_owned),
        })
    }
}

/// The app's routes.
pub fn router(app: Arc<WebApp>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/connect", post(connect))
        .route("/callback", get(callback))
        .route("/webhooks/{provider}", post(webhook))
        .route("/events", get(events))
        .route("/style.css", get(style))
        .with_state(app)
}

/// Binds `addr` and serves the app built by `make` (which is told its own base URL).
pub async fn serve(
    addr: SocketAddr,
    make: impl FnOnce(Url) -> Arc<WebApp>,
) -> std::io::Result<(Url, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let base = Url::parse(&format!("http://{local}/"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let app = make(base.clone());
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router(app)).await {
            tracing::error!(%err, "web app stopped");
        }
    });
    Ok((base, task))
}

/// The value of cookie `name`, if the browser sent one.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// The browser's user id from its cookie (checked: the browser may send anything), or a
/// new one with the `Set-Cookie` that keeps it.
fn user(headers: &HeaderMap) -> Result<(String, Option<HeaderValue>), Error> {
    let valid =
        |id: &String| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if let Some(id) = cookie(headers, USER_COOKIE).filter(valid) {
        return Ok((id, None));
    }
    let id = format!("web-user-{}", &State::generate()?.as_str()[..8]).replace('_', "x");
    Ok((id.clone(), Some(set_cookie(USER_COOKIE, &id)?)))
}

fn set_cookie(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax"))
        .map_err(|e| Error::config(e.to_string()))
}

async fn index(AxumState(app): AxumState<Arc<WebApp>>, headers: HeaderMap) -> Response {
    let (user, cookie) = match user(&headers) {
        Ok(user) => user,
        Err(err) => return error_page(&app, &err, None),
    };
    let provider = app.connector.provider().descriptor();
    let body = format!(
        r#"<h1>Utility data</h1>
<p>Signed in as <strong id="user">{}</strong>. Provider: <strong id="provider">{}</strong>.</p>
<form method="post" action="/connect">
  <button id="connect" type="submit">Connect your utility account</button>
</form>"#,
        escape_html(&user),
        escape_html(provider.name()),
    );
    with_cookies(
        Html(app.page("Connect your utility account", &body)).into_response(),
        cookie.into_iter(),
    )
}

async fn connect(AxumState(app): AxumState<Arc<WebApp>>, headers: HeaderMap) -> Response {
    let (user, user_cookie) = match user(&headers) {
        Ok(user) => user,
        Err(err) => return error_page(&app, &err, None),
    };
    let callback = app
        .public_url
        .join("/callback")
        .map(|u| u.to_string())
        .unwrap_or_default();
    let started = match app.connector.start(&user, &callback).await {
        Ok(started) => started,
        Err(err) => return error_page(&app, &err, None),
    };
    // The state goes in an HttpOnly cookie: the callback must come back to this browser.
    let flow_cookie = match set_cookie(FLOW_COOKIE, started.state.as_str()) {
        Ok(cookie) => cookie,
        Err(err) => return error_page(&app, &err, None),
    };
    with_cookies(
        Redirect::to(started.connect_url.expose().as_str()).into_response(),
        user_cookie.into_iter().chain([flow_cookie]),
    )
}

async fn callback(
    AxumState(app): AxumState<Arc<WebApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let target = uri.to_string();
    // Bind the flow to this browser: the callback's state must be the one its cookie holds.
    // The cookie stays until the next flow, so a temporary failure can be finished again
    // and a used callback is reported as used by the connector.
    let expected = cookie(&headers, FLOW_COOKIE).and_then(|s| State::parse(&s).ok());
    let returned = Callback::parse(&target)
        .ok()
        .and_then(|cb| cb.state().map(str::to_owned))
        .and_then(|s| State::parse(&s).ok());
    match (expected, returned) {
        (Some(expected), Some(returned)) if expected == returned => {}
        (_, None) => {} // no state: the connector reports what happened (cancel or mismatch)
        _ => {
            let err = Error::new(
                utilconnect::ErrorKind::StateMismatch,
                utilconnect::Operation::Complete,
                "this callback belongs to a flow this browser did not start",
            );
            return error_page(&app, &err, None);
        }
    }
    match app.connector.finish(&target).await {
        Ok(connection) => {
            let latest = app.latest_event(&connection);
            result_page(&app, &connection, latest.as_ref())
        }
        // The flow is kept: the same callback can be finished again.
        Err(err) if err.status_of_call() == utilconnect::ErrorStatus::Temporary => {
            error_page(&app, &err, Some(&target))
        }
        Err(err) => error_page(&app, &err, None),
    }
}

/// `POST /webhooks/<provider>`: the raw body and headers go to the connector, which checks
/// the vendor's signature; 2xx acknowledges (also a duplicate), 4xx refuses.
async fn webhook(
    AxumState(app): AxumState<Arc<WebApp>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if provider != app.connector.provider().descriptor().name() {
        return (StatusCode::NOT_FOUND, "no such provider here").into_response();
    }
    match app.connector.webhook(&headers, &body).await {
        Ok(event) if event.is_duplicate() => (StatusCode::OK, "duplicate").into_response(),
        Ok(event) => {
            let mut events = app.events.lock().unwrap_or_else(PoisonError::into_inner);
            for id in event.vendor_ids().values() {
                events.insert(id.clone(), event.clone());
            }
            (StatusCode::OK, "ok").into_response()
        }
        Err(err) if err.is_temporary() => {
            (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    }
}

/// `GET /events`: the latest event per id, as JSON (for people and tests).
async fn events(AxumState(app): AxumState<Arc<WebApp>>) -> Response {
    let events = app
        .events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    axum::Json(events).into_response()
}

impl WebApp {
    /// The latest event about `connection`: one naming any of its ids.
    fn latest_event(&self, connection: &Connection) -> Option<Event> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        connection
            .vendor_ids()
            .values()
            .find_map(|id| events.get(id).cloned())
    }
}

fn with_cookies(mut response: Response, cookies: impl Iterator<Item = HeaderValue>) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn result_page(app: &WebApp, connection: &Connection, latest: Option<&Event>) -> Response {
    let event = match latest {
        Some(event) => format!(
            "<strong id=\"event\">{:?}</strong> (<code>{}</code>)",
            event.kind(),
            escape_html(event.raw_type())
        ),
        None => "<span id=\"event\">none yet</span>".to_owned(),
    };
    let ids: String = connection
        .vendor_ids()
        .iter()
        .map(|(k, v)| {
            format!(
                "<li>{}: <code>{}</code></li>",
                escape_html(k),
                escape_html(v)
            )
        })
        .collect();
    let credentials = if connection.credentials().is_some() {
        "received (kept on the server, never shown)"
    } else {
        "none issued by this provider"
    };
    let body = format!(
        r#"<h1 id="outcome">Connected</h1>
<p>Provider: <strong id="provider">{}</strong>, user: <strong id="user">{}</strong></p>
<ul id="ids">{ids}</ul>
<p>Data: <strong id="data">{:?}</strong>, mode: {:?}</p>
<p>Access credentials: {credentials}</p>
<p>Latest event from the vendor: {event}</p>
<p><a href="/">Back</a></p>"#,
        escape_html(connection.provider()),
        escape_html(connection.user_id()),
        connection.data_status(),
        connection.mode(),
    );
    Html(app.page("Connected", &body)).into_response()
}

fn error_page(app: &WebApp, err: &Error, retry: Option<&str>) -> Response {
    let status = if err.is_temporary() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_REQUEST
    };
    let next = match retry {
        Some(callback) => format!(
            r#"<p>The vendor is not ready yet; your connection is kept. <a id="retry" href="{}">Try again</a></p>"#,
            escape_html(callback)
        ),
        None => r#"<p><a id="restart" href="/">Start again</a></p>"#.to_owned(),
    };
    let body = format!(
        r#"<h1 id="outcome">Not connected</h1>
<p>Reason: <strong id="kind">{}</strong></p>
<p id="message">{}</p>
{next}"#,
        escape_html(err.kind().as_str()),
        escape_html(&err.to_string()),
    );
    (status, Html(app.page("Not connected", &body))).into_response()
}

/// The pages' stylesheet, served by the app itself (no CDN).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}\n\
h1{font-size:1.6rem}\n\
button,a#retry,a#restart{display:inline-block;background:#0b6e4f;color:#fff;border:0;border-radius:.4rem;padding:.6rem 1rem;font-size:1rem;text-decoration:none;cursor:pointer}\n\
code{background:#f0f4f8;padding:0 .2rem;border-radius:.2rem;word-break:break-all}\n\
#sandbox-banner{background:#fff4c2;border:1px solid #e0b400;border-radius:.4rem;padding:.5rem .8rem;margin-bottom:1.5rem}\n\
#message{color:#7b1e1e}\n";

/// `GET /style.css`.
async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

impl WebApp {
    /// A whole page: the stylesheet, the sandbox banner when on a sandbox, then `body`.
    fn page(&self, title: &str, body: &str) -> String {
        let banner = self
            .banner
            .as_deref()
            .map(|b| {
                format!(
                    "<p id=\"sandbox-banner\"><strong>Sandbox.</strong> {}</p>\n",
                    escape_html(b)
                )
            })
            .unwrap_or_default();
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n<link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body>\n{banner}{body}\n</body>\n</html>\n",
            escape_html(title)
        )
    }
}
