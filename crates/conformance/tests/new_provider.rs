//! Proof that a provider crate from outside this workspace joins the suite with the
//! documented snippet: "toy", a vendor written here against the public API only (as a
//! third-party crate would be), with its own sandbox built on `utilconnect_sandbox`.
//! Toy declares no capabilities, so the cases that need one show as skipped.
//!
//! `cargo test -p utilconnect-conformance --test new_provider`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Form, Query, State as AxumState};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utilconnect::http::{HttpClient, HttpConfig, Idempotency};
use utilconnect::{
    BaseUrl, BuildContext, Callback, Clock, ConfigKey, ConnectProvider, ConnectToken, Connection,
    Error, ErrorKind, ManualClock, Operation, PendingSession, ProviderConfig, ProviderDescriptor,
    Result, TokenRequest, Url,
};
use utilconnect_sandbox::{
    Browser, Faults, RequestLog, Route, Sandbox, SandboxDescriptor, SandboxServer, UserAction,
    futures_boxed::BoxFuture,
};

// ---------------------------------------------------------------- the provider

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToyConfig {
    api_key: SecretString,
    base_url: BaseUrl,
    #[serde(default)]
    http: HttpConfig,
}

#[derive(Debug)]
struct Toy {
    config: ToyConfig,
    http: HttpClient,
}

#[derive(Deserialize)]
struct TokenBody {
    token: SecretString,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ExchangeBody {
    account_id: String,
}

impl Toy {
    async fn post(
        &self,
        op: Operation,
        idem: Idempotency,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<utilconnect::http::Response> {
        let url = self.config.base_url.join(path);
        let response = self
            .http
            .send(op, idem, |c| {
                c.post(url.clone())
                    .header("x-api-key", self.config.api_key.expose_secret())
                    .form(form)
            })
            .await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let kind = match response.status().as_u16() {
            401 => ErrorKind::Unauthorized,
            400 if op == Operation::Complete => ErrorKind::InvalidCode,
            400 => ErrorKind::InvalidInput,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Upstream,
            _ => ErrorKind::Unexpected,
        };
        let mut err = Error::new(kind, op, "toy refused")
            .with_provider("toy")
            .with_status(response.status().as_u16());
        if let Some(wait) = response.retry_after() {
            err = err.with_retry_after(wait);
        }
        Err(err)
    }
}

#[async_trait]
impl ConnectProvider for Toy {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &TOY
    }

    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
        let response = self
            .post(
                Operation::CreateToken,
                Idempotency::Idempotent,
                "/token",
                &[("user", request.user_id())],
            )
            .await?;
        let body: TokenBody = response.json("toy", Operation::CreateToken)?;
        Ok(ConnectToken::new(
            body.token,
            Duration::from_secs(body.expires_in),
        ))
    }

    fn connect_url(&self, request: &TokenRequest, token: &ConnectToken) -> Result<Url> {
        let mut url = self.config.base_url.join("/authorize");
        url.query_pairs_mut()
            .append_pair("token", token.secret().expose_secret())
            .append_pair("redirect", request.callback_url().as_str())
            .append_pair("state", request.state().as_str());
        Ok(url)
    }

    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection> {
        let code = callback.param("code").ok_or_else(|| {
            Error::new(ErrorKind::Cancelled, Operation::Complete, "no code").with_provider("toy")
        })?;
        let response = self
            .post(
                Operation::Complete,
                Idempotency::NotIdempotent,
                "/exchange",
                &[("code", code.expose_secret())],
            )
            .await?;
        let body: ExchangeBody = response.json("toy", Operation::Complete)?;
        Ok(Connection::new("toy", session.user_id.clone())
            .with_vendor_id("account_id", body.account_id))
    }
}

fn build(table: &ProviderConfig, _: &BuildContext) -> Result<Arc<dyn ConnectProvider>> {
    let config: ToyConfig = table.extract()?;
    let http = HttpClient::new("toy", config.http.clone())?;
    Ok(Arc::new(Toy { config, http }))
}

const TOY: ProviderDescriptor = ProviderDescriptor::new(
    "toy",
    "a vendor from outside the workspace",
    &[
        ConfigKey::secret("api_key", "toy API key"),
        ConfigKey::required("base_url", "toy API"),
    ],
    build,
    module_path!(),
);

utilconnect::register_provider!(TOY);

// ---------------------------------------------------------------- its sandbox

const API_KEY: &str = "toy_key_do_not_show";

#[derive(Clone, Default)]
struct ToyState {
    clock: ManualClock,
    log: RequestLog,
    inner: Arc<Mutex<ToyRecords>>,
}

#[derive(Debug, Default)]
struct ToyRecords {
    tokens: HashMap<String, SystemTime>,
    codes: HashMap<String, bool>,
    issued: Vec<String>,
}

impl ToyState {
    fn issue(&self, prefix: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        let value = format!(
            "{prefix}{}",
            utilconnect::State::generate().unwrap().as_str()
        );
        inner.issued.push(value.clone());
        self.log
            .name_value(value.clone(), &format!("{prefix}{}", inner.issued.len()));
        value
    }
}

type Fields = HashMap<String, String>;

async fn token(
    AxumState(s): AxumState<ToyState>,
    headers: axum::http::HeaderMap,
    Form(_): Form<Fields>,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return (axum::http::StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    let token = s.issue("tk_");
    s.inner
        .lock()
        .unwrap()
        .tokens
        .insert(token.clone(), s.clock.now() + Duration::from_secs(600));
    axum::Json(serde_json::json!({"token": token, "expires_in": 600})).into_response()
}

async fn authorize(AxumState(s): AxumState<ToyState>, Query(q): Query<Fields>) -> Response {
    let valid = q
        .get("token")
        .and_then(|t| s.inner.lock().unwrap().tokens.get(t).copied())
        .is_some_and(|exp| s.clock.now() < exp);
    if !valid {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Html("<p class=\"error\">bad token</p>"),
        )
            .into_response();
    }
    let hidden = |k: &str| {
        format!(
            r#"<input type="hidden" name="{k}" value="{}">"#,
            utilconnect_sandbox::escape_html(q.get(k).map(String::as_str).unwrap_or(""))
        )
    };
    Html(format!(
        r#"<form id="approve" method="post" action="/authorize">{}{}<button type="submit">Approve</button></form>"#,
        hidden("redirect"),
        hidden("state")
    ))
    .into_response()
}

async fn approve(AxumState(s): AxumState<ToyState>, Form(f): Form<Fields>) -> Response {
    let code = s.issue("code_");
    s.inner.lock().unwrap().codes.insert(code.clone(), false);
    let mut url = Url::parse(&f["redirect"]).unwrap();
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &f["state"]);
    Redirect::to(url.as_str()).into_response()
}

async fn exchange(AxumState(s): AxumState<ToyState>, Form(f): Form<Fields>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    match f.get("code").and_then(|c| inner.codes.get_mut(c)) {
        Some(used @ false) => {
            *used = true;
            axum::Json(serde_json::json!({"account_id": "acct_1"})).into_response()
        }
        _ => (axum::http::StatusCode::BAD_REQUEST, "{}").into_response(),
    }
}

#[derive(Debug)]
struct ToySandbox {
    server: SandboxServer,
    clock: ManualClock,
    state: Arc<Mutex<ToyRecords>>,
}

#[async_trait]
impl Sandbox for ToySandbox {
    fn provider_name(&self) -> &'static str {
        "toy"
    }
    fn server(&self) -> &SandboxServer {
        &self.server
    }

    fn provider_config(&self) -> ProviderConfig {
        ProviderConfig::from_json(
            "toy",
            serde_json::json!({
                "api_key": API_KEY,
                "base_url": self.server.base_url().as_str(),
                "http": utilconnect_sandbox::quick_http(),
            }),
        )
    }
    fn known_secrets(&self) -> Vec<String> {
        let mut all = vec![API_KEY.to_owned()];
        all.extend(self.state.lock().unwrap().issued.clone());
        all
    }
    fn clock(&self) -> &ManualClock {
        &self.clock
    }
    fn route(&self, operation: Operation) -> Option<Route> {
        match operation {
            Operation::CreateToken => Some(Route::new("POST", "/token")),
            Operation::Complete => Some(Route::new("POST", "/exchange")),
            _ => None,
        }
    }
    async fn act(&self, connect_url: &Url, action: UserAction) -> Result<Url> {
        if action != UserAction::Approve {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Operation::Complete,
                "toy pages only approve",
            ));
        }
        let browser = Browser::new(self.server.base_url())?;
        let page = browser.open(connect_url).await?;
        let form = page.form("approve").ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Complete,
                page.describe(),
            )
        })?;
        let done = browser.submit(&form).await?;
        done.left_to().cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Complete,
                done.describe(),
            )
        })
    }
}

fn start_toy(addr: Option<std::net::SocketAddr>) -> BoxFuture<Result<Box<dyn Sandbox>>> {
    Box::pin(async move {
        let state = ToyState::default();
        let log = state.log.clone();
        log.name_value(API_KEY, "api_key");
        let router = Router::new()
            .route("/token", post(token))
            .route("/authorize", get(authorize).post(approve))
            .route("/exchange", post(exchange))
            .fallback(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    axum::Json(serde_json::json!({"error": "not_found"})),
                )
            })
            .with_state(state.clone());
        let server = match addr {
            Some(addr) => SandboxServer::start_on(addr, router, Faults::default(), log).await?,
            None => SandboxServer::start(router, Faults::default(), log).await?,
        };
        Ok(Box::new(ToySandbox {
            server,
            clock: state.clock.clone(),
            state: state.inner.clone(),
        }) as Box<dyn Sandbox>)
    })
}

utilconnect_sandbox::register_sandbox!(SandboxDescriptor::new("toy", start_toy));

// ---------------------------------------------------------------- the documented snippet

fn main() {
    utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
        .snapshot_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/snapshots/new_provider"
        ))
        .expect_providers(&["toy"])
        .only(&["toy"])
        .run();
}
