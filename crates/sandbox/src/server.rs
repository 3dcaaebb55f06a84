//! Serves an emulator's router on loopback with fault injection and request recording.
//!
//! axum's own `serve` cannot drop a connection without answering, which is exactly one of the
//! faults we need, so connections are served with hyper directly: a service that returns an
//! error makes hyper close the connection mid-request.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;
use url::Url;

use super::faults::{FaultAction, Faults};
use super::record::RequestLog;
use utilconnect::{Error, ErrorKind, Operation, Result};

/// Largest request body an emulator reads.
const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

/// A running emulator. Dropping it stops the server and closes its connections.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use axum::{Router, routing::get};
/// use utilconnect_sandbox::{Faults, RequestLog, SandboxServer};
///
/// let router = Router::new().route("/ping", get(|| async { "pong" }));
/// let server = SandboxServer::start(router, Faults::default(), RequestLog::default()).await?;
/// let body = reqwest::get(server.base_url().join("/ping").unwrap()).await.unwrap().text().await.unwrap();
/// assert_eq!(body, "pong");
/// assert_eq!(server.requests().all()[0].path, "/ping");
/// # Ok::<(), utilconnect::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SandboxServer {
    addr: SocketAddr,
    base_url: Url,
    faults: Faults,
    log: RequestLog,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SandboxServer {
    /// Serves `router` on `127.0.0.1` on a free port.
    pub async fn start(router: Router, faults: Faults, log: RequestLog) -> Result<Self> {
        Self::start_on(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            router,
            faults,
            log,
        )
        .await
    }

    /// Serves `router` on `addr` (for a person clicking through on a fixed port).
    ///
    /// Only loopback addresses are accepted: an emulator hands out test credentials.
    pub async fn start_on(
        addr: SocketAddr,
        router: Router,
        faults: Faults,
        log: RequestLog,
    ) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(Error::config(format!(
                "a sandbox only listens on loopback, not {}",
                addr.ip()
            )));
        }
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Error::new(
                ErrorKind::Network,
                Operation::Configure,
                format!("could not listen on {addr}: {e}"),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(ErrorKind::Network, Operation::Configure, e.to_string()))?;
        let base_url = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| Error::config(format!("bad sandbox address: {e}")))?;
        // The port changes from run to run; snapshots show `[sandbox]` instead.
        log.name_value(base_url.as_str().trim_end_matches('/'), "sandbox");
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            router,
            faults.clone(),
            log.clone(),
            connections.clone(),
        ));
        Ok(Self {
            addr,
            base_url,
            faults,
            log,
            connections,
            task,
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The server's faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The server's request log.
    pub fn requests(&self) -> &RequestLog {
        &self.log
    }

    /// How many TCP connections the server has accepted (shows whether clients reuse
    /// connections).
    pub fn connections_accepted(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    faults: Faults,
    log: RequestLog,
    connections_accepted: Arc<AtomicUsize>,
) {
    // Connections live in this set, so aborting the accept task closes them all.
    let mut connections = JoinSet::new();
    let shared = Arc::new((router, faults, log));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "sandbox accept failed");
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        connections_accepted.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { handle(request, &shared.0, &shared.1, &shared.2).await }
            });
            // Errors here are dropped connections, injected or by the client: expected.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    router: &Router,
    faults: &Faults,
    log: &RequestLog,
) -> std::result::Result<Response<Body>, io::Error> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
        .map_err(|e| io::Error::other(e.to_string()))?
        .to_bytes();
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let fault = faults.take(method, path);
    log.record(
        method,
        path,
        parts.uri.query(),
        &parts.headers,
        &body,
        fault.as_ref().map(FaultAction::label),
    );
    match fault {
        Some(FaultAction::DropConnection) => {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "injected fault: connection dropped",
            ));
        }
        Some(FaultAction::Status {
            status,
            body,
            retry_after,
        }) => return Ok(status_response(status, body, retry_after)),
        Some(FaultAction::MalformedBody) => {
            return Ok(json_response(
                StatusCode::OK,
                Bytes::from_static(b"{\"truncated\": [1, 2"),
            ));
        }
        Some(FaultAction::OversizedBody(size)) => {
            let padding = "x".repeat(size.saturating_sub(16));
            return Ok(json_response(
                StatusCode::OK,
                Bytes::from(format!("{{\"padding\":\"{padding}\"}}")),
            ));
        }
        Some(FaultAction::Delay(delay)) => {
            // Like a slow vendor: the request is processed at once, even if the client gives
            // up waiting, and only the answer is late.
            let request = Request::from_parts(parts, Body::from(body));
            let processing = tokio::spawn(router.clone().oneshot(request));
            tokio::time::sleep(delay).await;
            return match processing.await {
                Ok(response) => Ok(response.unwrap_or_else(|never: Infallible| match never {})),
                Err(join) => Err(io::Error::other(join.to_string())),
            };
        }
        None => {}
    }
    let request = Request::from_parts(parts, Body::from(body));
    let response: std::result::Result<Response<Body>, Infallible> =
        router.clone().oneshot(request).await;
    Ok(response.unwrap_or_else(|never| match never {}))
}

fn status_response(status: u16, body: String, retry_after: Option<String>) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, Bytes::from(body));
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::post;
    use serde::Deserialize;

    use super::*;
    use utilconnect::http::{HttpClient, HttpConfig, Idempotency};

    #[derive(Debug, Deserialize)]
    struct Pong {
        pong: bool,
    }

    async fn server() -> SandboxServer {
        let router = Router::new().route(
            "/ping",
            post(|| async { axum::Json(serde_json::json!({"pong": true})) }),
        );
        SandboxServer::start(router, Faults::default(), RequestLog::default())
            .await
            .unwrap()
    }

    fn http() -> HttpClient {
        HttpClient::new(
            "sandbox-test",
            HttpConfig {
                initial_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(10),
                request_timeout: Duration::from_millis(300),
                ..HttpConfig::default()
            },
        )
        .unwrap()
    }

    async fn ping(
        server: &SandboxServer,
        idempotency: Idempotency,
    ) -> Result<utilconnect::http::Response> {
        let url = server.base_url().join("/ping").unwrap();
        http()
            .send(Operation::CreateToken, idempotency, |c| c.post(url.clone()))
            .await
    }

    #[tokio::test]
    async fn dropped_connection_is_retried_for_idempotent_calls_only() {
        let server = server().await;
        server
            .faults()
            .inject("POST", "/ping", FaultAction::DropConnection, 1);
        let response = ping(&server, Idempotency::Idempotent).await.unwrap();
        let pong: Pong = response
            .json("sandbox-test", Operation::CreateToken)
            .unwrap();
        assert!(pong.pong);
        let faults: Vec<_> = server
            .requests()
            .all()
            .into_iter()
            .map(|r| r.fault)
            .collect();
        assert_eq!(faults, [Some("drop connection".to_owned()), None]);
        assert_eq!(
            server.connections_accepted(),
            2,
            "the dropped connection was replaced"
        );

        server.requests().clear();
        server
            .faults()
            .inject("POST", "/ping", FaultAction::DropConnection, 1);
        let err = ping(&server, Idempotency::NotIdempotent).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network);
        assert_eq!(
            server.requests().len(),
            1,
            "may have been processed: not resent"
        );
    }

    #[tokio::test]
    async fn status_fault_with_retry_after_is_retried() {
        let server = server().await;
        server.faults().inject(
            "*",
            "/ping",
            FaultAction::status_with_retry_after(429, r#"{"message":"slow down"}"#, "0"),
            2,
        );
        let response = ping(&server, Idempotency::Idempotent).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.attempts(), 3);
    }

    #[tokio::test]
    async fn malformed_oversized_and_slow_answers_give_typed_errors() {
        // On a loaded machine an attempt may time out and be retried: the malformed and
        // oversized faults therefore answer every attempt, under a timeout that only load
        // could reach, so the retry meets the same fault instead of a healthy answer.
        let server = server().await;
        let patient = HttpClient::new("sandbox-test", HttpConfig::default()).unwrap();
        let url = server.base_url().join("/ping").unwrap();
        let every_attempt = usize::MAX;
        server
            .faults()
            .inject("POST", "/ping", FaultAction::MalformedBody, every_attempt);
        let err = patient
            .send(Operation::CreateToken, Idempotency::Idempotent, |c| {
                c.post(url.clone())
            })
            .await
            .unwrap()
            .json::<Pong>("sandbox-test", Operation::CreateToken)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);

        server.faults().clear();
        server.faults().inject(
            "POST",
            "/ping",
            FaultAction::OversizedBody(2 * 1024 * 1024),
            every_attempt,
        );
        let err = patient
            .send(Operation::CreateToken, Idempotency::Idempotent, |c| {
                c.post(url.clone())
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResponseTooLarge);

        // A 2 s delay against a 300 ms attempt timeout; not idempotent, so not retried.
        server.faults().clear();
        server.faults().inject(
            "POST",
            "/ping",
            FaultAction::Delay(Duration::from_secs(2)),
            every_attempt,
        );
        let err = ping(&server, Idempotency::NotIdempotent).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_served() {
        let addr: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let err = SandboxServer::start_on(
            addr,
            Router::new(),
            Faults::default(),
            RequestLog::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it() {
        let server = server().await;
        let url = server.base_url().join("/ping").unwrap();
        drop(server);
        tokio::task::yield_now().await;
        let err = http()
            .send(Operation::CreateToken, Idempotency::NotIdempotent, |c| {
                c.post(url.clone())
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network);
    }
}
