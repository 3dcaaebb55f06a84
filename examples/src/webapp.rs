//! A small web app: "Connect your utility account", a session cookie, the callback route and
//! a result page that shows the connection (never a secret). The provider comes from config;
//! by default it runs against that provider's embedded sandbox.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{OriginalUri, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;
use utilconnect::{Callback, Connection, Connector, Error, State};
use utilconnect_sandbox::escape_html;

const COOKIE: &str = "uc_session";

/// One browser's session: who they are and the flow they started.
#[derive(Debug, Clone)]
struct BrowserSession {
    user_id: String,
    pending_state: Option<State>,
}

/// The web app's state.
pub struct WebApp {
    connector: Connector,
    public_url: Url,
    sessions: Mutex<HashMap<String, BrowserSession>>,
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
        Arc::new(Self {
            connector,
            public_url,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, BrowserSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The app's routes.
pub fn router(app: Arc<WebApp>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/connect", post(connect))
        .route("/callback", get(callback))
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

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The session for this browser, created (with a Set-Cookie) if it has none.
fn session(app: &WebApp, headers: &HeaderMap) -> Result<(String, Option<HeaderValue>), Error> {
    if let Some(id) = session_id(headers).filter(|id| app.sessions().contains_key(id)) {
        return Ok((id, None));
    }
    let id = State::generate()?.as_str().to_owned();
    let n = app.sessions().len() + 1;
    app.sessions().insert(
        id.clone(),
        BrowserSession {
            user_id: format!("web-user-{n}"),
            pending_state: None,
        },
    );
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax");
    let value = HeaderValue::from_str(&cookie).map_err(|e| Error::config(e.to_string()))?;
    Ok((id, Some(value)))
}

async fn index(AxumState(app): AxumState<Arc<WebApp>>, headers: HeaderMap) -> Response {
    let (id, cookie) = match session(&app, &headers) {
        Ok(session) => session,
        Err(err) => return error_page(&err),
    };
    let user = app
        .sessions()
        .get(&id)
        .map(|s| s.user_id.clone())
        .unwrap_or_default();
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
    with_cookie(
        Html(page("Connect your utility account", &body)).into_response(),
        cookie,
    )
}

async fn connect(AxumState(app): AxumState<Arc<WebApp>>, headers: HeaderMap) -> Response {
    let (id, cookie) = match session(&app, &headers) {
        Ok(session) => session,
        Err(err) => return error_page(&err),
    };
    let Some(user) = app.sessions().get(&id).map(|s| s.user_id.clone()) else {
        return (StatusCode::BAD_REQUEST, "no session").into_response();
    };
    let callback = app
        .public_url
        .join("/callback")
        .map(|u| u.to_string())
        .unwrap_or_default();
    match app.connector.start(&user, &callback).await {
        Ok(started) => {
            if let Some(session) = app.sessions().get_mut(&id) {
                session.pending_state = Some(started.state.clone());
            }
            with_cookie(
                Redirect::to(started.connect_url.expose().as_str()).into_response(),
                cookie,
            )
        }
        Err(err) => error_page(&err),
    }
}

async fn callback(
    AxumState(app): AxumState<Arc<WebApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let target = uri.to_string();
    // Bind the flow to this browser: the callback's state must be the one this session
    // started (the connector checks it against its store as well).
    let expected = session_id(&headers).and_then(|id| {
        app.sessions()
            .get_mut(&id)
            .and_then(|s| s.pending_state.take())
    });
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
                "this callback belongs to a flow started in another browser session",
            );
            return error_page(&err);
        }
    }
    match app.connector.finish(&target).await {
        Ok(connection) => result_page(&connection),
        Err(err) => error_page(&err),
    }
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn result_page(connection: &Connection) -> Response {
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
<p><a href="/">Back</a></p>"#,
        escape_html(connection.provider()),
        escape_html(connection.user_id()),
        connection.data_status(),
        connection.mode(),
    );
    Html(page("Connected", &body)).into_response()
}

fn error_page(err: &Error) -> Response {
    let status = if err.is_temporary() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = format!(
        r#"<h1 id="outcome">Not connected</h1>
<p>Reason: <strong id="kind">{}</strong></p>
<p id="message">{}</p>
<p><a href="/">Try again</a></p>"#,
        escape_html(err.kind().as_str()),
        escape_html(&err.to_string()),
    );
    (status, Html(page("Not connected", &body))).into_response()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}\n</body>\n</html>\n",
        escape_html(title)
    )
}
