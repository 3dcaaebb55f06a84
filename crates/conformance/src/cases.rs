//! The cases. Each is a `pub async fn` over a [`Harness`], so a crate outside this workspace
//! can call them one by one too; [`Suite`](crate::Suite) runs them all.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use utilconnect::{Capability, ErrorKind, Operation, ProviderConfig, State};
use utilconnect_sandbox::{FaultAction, LogCapture, SignedRequest, UserAction, WebhookFault};

use crate::harness::{CALLBACK, Harness};
use crate::outcome::{CaseResult, Failure, check, expect_kind};

/// The provider builds from its sandbox table, names unknown and missing keys, and its
/// descriptor's name is the one it reports.
pub async fn registry(h: &Harness) -> CaseResult {
    let provider = h.build(None)?;
    check(
        provider.descriptor().name() == h.name(),
        format!(
            "descriptor `{}` built `{}`",
            h.name(),
            provider.descriptor().name()
        ),
    )?;
    let unknown = h.descriptor().build(
        &h.sandbox()
            .provider_config()
            .merged(json!({"definitely_not_a_key": 1})),
    );
    let unknown = expect_kind(unknown, ErrorKind::Config, "an unknown key")?;
    check(
        unknown.to_string().contains("`definitely_not_a_key`"),
        format!("the error does not name the key: {unknown}"),
    )?;
    let empty = h
        .descriptor()
        .build(&ProviderConfig::from_json(h.name(), json!({})));
    let missing = expect_kind(empty, ErrorKind::Config, "an empty table")?;
    check(
        missing.to_string().contains("missing key"),
        format!("the error does not name the missing key: {missing}"),
    )?;
    let required: Vec<&str> = h
        .descriptor()
        .config_keys()
        .iter()
        .filter(|k| k.required)
        .map(|k| k.name)
        .collect();
    Ok(Some(json!({
        "required_keys": required,
        "unknown_key_error": unknown.to_string(),
    })))
}

/// start → the end user approves → finish gives a connection for the right user.
pub async fn happy_path(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let connection = h.connect(&connector, "conformance-user").await?;
    check(
        connection.provider() == h.name(),
        "connection names another provider",
    )?;
    Ok(Some(json!({
        "connection": h.connection_snapshot(&connection),
        "requests": h.requests_snapshot(),
    })))
}

/// The connect URL is well formed, points at the vendor, carries the token (or, for a
/// [`Capability::LocalToken`] provider, the state), hides secrets in
/// `Display`, and a callback URL with its own query survives the round trip.
pub async fn connect_url(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let started = h.start_flow(&connector, "url-user").await?;
    let url = started.connect_url.expose();
    check(
        matches!(url.scheme(), "http" | "https") && url.host() == h.sandbox().base_url().host(),
        format!(
            "connect URL {} does not point at the vendor's pages",
            started.connect_url
        ),
    )?;
    let secrets = h.sandbox().known_secrets();
    if h.descriptor().supports(Capability::LocalToken) {
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v);
        check(
            state.as_deref() == Some(started.state.as_str()),
            "the connect URL does not carry the flow's state",
        )?;
    } else {
        check(
            secrets.iter().any(|s| url.as_str().contains(s.as_str())),
            "the connect URL carries no token the vendor issued",
        )?;
    }
    let shown = started.connect_url.to_string();
    check(
        !secrets.iter().any(|s| shown.contains(s.as_str())),
        format!("Display shows a secret: {shown}"),
    )?;
    let callback = h.act(&started, UserAction::Approve).await?;
    let query: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    check(
        query.get("tenant").map(String::as_str) == Some("a&b")
            && query.get("lang").map(String::as_str) == Some("en"),
        format!("the app's own callback query was lost: {query:?}"),
    )?;
    let shown = h.sandbox().requests().normalise_text(&shown);
    Ok(Some(
        json!({ "connect_url": shown, "callback_params": query.keys().collect::<Vec<_>>() }),
    ))
}

/// A wrong or missing state fails before any vendor request; a replayed callback fails.
pub async fn state(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let started = h.start_flow(&connector, "state-user").await?;
    let callback = h.act(&started, UserAction::Approve).await?;
    let before = h.request_count();

    let replace_state = |value: Option<&str>| {
        let mut url = callback.clone();
        let pairs: Vec<(String, String)> = callback
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "state")
            .collect();
        let mut query = url.query_pairs_mut();
        query.clear().extend_pairs(&pairs);
        if let Some(value) = value {
            query.append_pair("state", value);
        }
        drop(query);
        url
    };
    let forged = State::generate().map_err(Failure::from)?;
    let wrong = connector
        .finish(replace_state(Some(forged.as_str())).as_str())
        .await;
    expect_kind(
        wrong,
        ErrorKind::StateMismatch,
        "a callback with another flow's state",
    )?;
    let missing = connector.finish(replace_state(None).as_str()).await;
    expect_kind(
        missing,
        ErrorKind::StateMismatch,
        "a callback without state",
    )?;
    check(
        h.request_count() == before,
        "a forged callback reached the vendor",
    )?;

    connector
        .finish(callback.as_str())
        .await
        .map_err(Failure::from)?;
    let replay = connector.finish(callback.as_str()).await;
    expect_kind(replay, ErrorKind::StateMismatch, "a replayed callback")?;
    Ok(None)
}

/// The user leaves the hosted pages without connecting: the cancelled kind.
pub async fn cancel(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let started = h.start_flow(&connector, "cancel-user").await?;
    let callback = h.act(&started, UserAction::Cancel).await?;
    let err = expect_kind(
        connector.finish(callback.as_str()).await,
        ErrorKind::Cancelled,
        "finishing a cancelled flow",
    )?;
    Ok(Some(json!({
        "error": err.to_string(),
        "requests": h.requests_snapshot(),
    })))
}

/// Wrong utility credentials once, then the right ones: connected.
pub async fn wrong_credentials(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let started = h.start_flow(&connector, "retry-user").await?;
    let callback = h
        .act(&started, UserAction::WrongCredentialsThenApprove)
        .await?;
    let connection = connector
        .finish(callback.as_str())
        .await
        .map_err(Failure::from)?;
    Ok(Some(h.connection_snapshot(&connection)))
}

/// A flow whose token expired is refused.
pub async fn expiry(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let started = h.start_flow(&connector, "expiry-user").await?;
    let callback = h.act(&started, UserAction::Approve).await?;
    let lifetime = started
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    h.sandbox()
        .clock()
        .advance(lifetime + Duration::from_secs(1));
    let err = expect_kind(
        connector.finish(callback.as_str()).await,
        ErrorKind::ExpiredToken,
        "finishing after the token expired",
    )?;
    Ok(Some(json!({ "error": err.to_string() })))
}

/// A fault injected into an operation and the endings it allows: `None` is success, else
/// the error kind.
struct FaultCase {
    name: &'static str,
    fault: FaultAction,
    times: usize,
    allowed: &'static [Option<ErrorKind>],
}

/// The faults injected into each operation, and how each must end.
fn faults() -> Vec<FaultCase> {
    let case = |name, fault, times, allowed| FaultCase {
        name,
        fault,
        times,
        allowed,
    };
    vec![
        case(
            "429 with Retry-After, once",
            FaultAction::status_with_retry_after(429, "{}", "0"),
            1,
            &[None],
        ),
        case(
            "503, always",
            FaultAction::status(503, "{}"),
            50,
            &[Some(ErrorKind::Upstream)],
        ),
        case(
            "slow response, always",
            FaultAction::Delay(Duration::from_millis(700)),
            50,
            &[Some(ErrorKind::Timeout)],
        ),
        // Retried when the call is idempotent, reported when it may have been processed.
        case(
            "dropped connection, once",
            FaultAction::DropConnection,
            1,
            &[None, Some(ErrorKind::Network)],
        ),
        case(
            "malformed JSON, once",
            FaultAction::MalformedBody,
            1,
            &[Some(ErrorKind::Decode)],
        ),
        case(
            "oversized body, once",
            FaultAction::OversizedBody(2 * 1024 * 1024),
            1,
            &[Some(ErrorKind::ResponseTooLarge)],
        ),
    ]
}

/// Every fault on the token call ends in success or its documented error kind.
pub async fn faults_create_token(h: &Harness) -> CaseResult {
    run_faults(h, Operation::CreateToken).await
}

/// Every fault on the completing call ends in success or its documented error kind, and the
/// error's status says truly whether finishing the same callback again can succeed.
pub async fn faults_complete(h: &Harness) -> CaseResult {
    run_faults(h, Operation::Complete).await
}

async fn run_faults(h: &Harness, operation: Operation) -> CaseResult {
    let route = h
        .sandbox()
        .route(operation)
        .ok_or_else(|| Failure::new(format!("the sandbox names no route for {operation}")))?;
    let connector = h.connector(Some(Harness::fast_http()))?;
    // Warm up (e.g. a cached login) so only the faulted call is counted.
    h.connect(&connector, "warm-up").await?;
    let mut table = serde_json::Map::new();
    for (index, case) in faults().into_iter().enumerate() {
        let FaultCase {
            name,
            fault,
            times,
            allowed,
        } = case;
        let user = format!("fault-user-{index}");
        let callback = match operation {
            Operation::Complete => Some(h.approved_callback(&connector, &user).await?),
            _ => None,
        };
        let before = h.sandbox().requests().to_path(route.path).len();
        h.sandbox()
            .faults()
            .inject(route.method, route.path, fault, times);
        let outcome = match &callback {
            Some(callback) => connector.finish(callback.as_str()).await.map(drop),
            None => connector
                .start_with(&user, CALLBACK, h.sandbox().flow_options())
                .await
                .map(drop),
        };
        h.sandbox().faults().clear();
        let attempts = h
            .sandbox()
            .requests()
            .to_path(route.path)
            .iter()
            .skip(before)
            .filter(|r| r.method == route.method)
            .count();
        check(
            allowed.contains(&outcome.as_ref().err().map(utilconnect::Error::kind)),
            format!("{operation} with {name} ended in {outcome:?}"),
        )?;
        if let Err(err) = &outcome {
            check(
                !err.message().is_empty() && err.provider() == Some(h.name()),
                format!("{name}: error lacks provider or message: {err:?}"),
            )?;
        }
        let ended = match &outcome {
            Ok(()) => "success".to_owned(),
            Err(err) => format!("{:?} (temporary: {})", err.kind(), err.is_temporary()),
        };
        // The error's status must tell the truth: finishing the same callback again (the
        // fault gone) succeeds after a temporary failure, and finds no flow after a
        // permanent one.
        let again = match (&callback, &outcome) {
            (Some(callback), Err(err)) => {
                let again = connector.finish(callback.as_str()).await.map(drop);
                let expected = if err.is_temporary() {
                    None
                } else {
                    Some(ErrorKind::StateMismatch)
                };
                check(
                    again.as_ref().err().map(utilconnect::Error::kind) == expected,
                    format!("{name}: finishing again after {err:?} ended in {again:?}"),
                )?;
                Some(match again {
                    Ok(()) => "success".to_owned(),
                    Err(err) => format!("{:?}", err.kind()),
                })
            }
            _ => None,
        };
        // Retries of a slow token call depend on timing; record that they were bounded. A
        // completing call is single-use: never resent once sent, so exactly one attempt.
        let attempts = if name.starts_with("slow") && operation != Operation::Complete {
            json!(if attempts <= 4 {
                "bounded"
            } else {
                "unbounded"
            })
        } else {
            json!(attempts)
        };
        let mut row = json!({ "ended": ended, "attempts": attempts });
        if let Some(again) = again {
            row["finishing again"] = json!(again);
        }
        table.insert(name.to_owned(), row);
    }
    Ok(Some(Value::Object(table)))
}

/// With known secrets in config and in vendor responses, nothing people can see shows one.
pub async fn secrets(h: &Harness) -> CaseResult {
    let (logs, _guard) = LogCapture::install();
    let connector = h.connector(None)?;
    let connection = h.connect(&connector, "secret-user").await?;
    let started = h.start_flow(&connector, "secret-user-2").await?;
    let callback = h.act(&started, UserAction::Approve).await?;
    let route = h.sandbox().route(Operation::Complete);
    if let Some(route) = route {
        h.sandbox()
            .faults()
            .inject(route.method, route.path, FaultAction::MalformedBody, 1);
    }
    let decode = connector.finish(callback.as_str()).await.map(drop);
    h.sandbox().faults().clear();
    let replay = connector.finish(callback.as_str()).await.map(drop);

    let shown = [
        format!("{:?}", connector.provider()),
        format!("{:?}", h.sandbox().provider_config()),
        format!("{started:?} {}", started.connect_url),
        format!("{connection:?}"),
        format!("{decode:?}"),
        decode.err().map(|e| e.to_string()).unwrap_or_default(),
        format!("{replay:?}"),
        serde_json::to_string(&h.sandbox().requests().all()).unwrap_or_default(),
        serde_json::to_string(&h.connection_snapshot(&connection)).unwrap_or_default(),
        logs.text(),
    ]
    .join("\n");
    let secrets = h.sandbox().known_secrets();
    check(
        secrets.len() >= 3,
        "the sandbox reports too few secrets to check",
    )?;
    for secret in &secrets {
        check(
            !shown.contains(secret.as_str()),
            format!("a secret leaked: {secret}"),
        )?;
    }
    check(
        !logs.text().is_empty(),
        "nothing was logged: the check proves nothing",
    )?;
    Ok(None)
}

/// 200 concurrent flows through one connector, each ending with its own user.
pub async fn concurrency(h: &Harness) -> CaseResult {
    // This case is about cross-talk, not latency: allow for a loaded machine.
    let patient = json!({"http": {"request_timeout": "20s", "total_deadline": "60s"}});
    let connector = h.connector(Some(patient))?;
    let users: Vec<String> = (0..200).map(|i| format!("concurrent-{i}")).collect();
    // Every flow (start, the end user's pages, finish) runs at once.
    let flows = users.iter().map(|user| h.connect(&connector, user));
    let results = futures_util::future::join_all(flows).await;
    let mut linked = Vec::with_capacity(results.len());
    for (user, result) in users.iter().zip(results) {
        let connection = result?;
        check(
            connection.user_id() == user,
            format!(
                "{user}'s flow returned {}'s connection",
                connection.user_id()
            ),
        )?;
        linked.push(connection.user_id().to_owned());
    }
    linked.sort();
    linked.dedup();
    check(
        linked.len() == 200,
        format!("{} distinct users linked of 200", linked.len()),
    )?;
    Ok(None)
}

/// The provider builds its HTTP client once and reuses its connections: sequential calls do
/// not open a connection each. A client built per call would pay a TCP (and, against a real
/// vendor, TLS) handshake on every call.
///
/// Reuse is not always exactly one connection: the HTTP client may open a second one when a
/// call starts before the previous response's connection is back in its pool. So the check is
/// "at most one connection per two requests", which a client per call (one each) fails.
pub async fn connection_reuse(h: &Harness) -> CaseResult {
    const FLOWS: usize = 10;
    let connector = h.connector(None)?;
    // Requests the sandbox saw and connections it accepted since `since`.
    let counts = || {
        (
            h.request_count(),
            h.sandbox().server().connections_accepted(),
        )
    };
    let since = |(requests, connections): (usize, usize)| {
        let (now_requests, now_connections) = counts();
        (now_requests - requests, now_connections - connections)
    };

    let before = counts();
    let mut started = Vec::with_capacity(FLOWS);
    for i in 0..FLOWS {
        started.push(h.start_flow(&connector, &format!("reuse-{i}")).await?);
    }
    let (requests, opened) = since(before);
    // The first request of a fresh provider must connect: none counted means the count
    // proves nothing (the API is not on this sandbox's server).
    check(
        requests == 0 || opened >= 1,
        format!("{requests} requests reached the sandbox but it counted no connection"),
    )?;
    check(
        opened <= requests.div_ceil(2),
        format!(
            "{FLOWS} sequential `start` calls made {requests} requests over {opened} new \
             connections: build the HTTP client once per provider and reuse it"
        ),
    )?;

    // The end user's pages use a client of their own; count only what `finish` opens.
    let mut callbacks = Vec::with_capacity(FLOWS);
    for flow in &started {
        callbacks.push(h.act(flow, UserAction::Approve).await?);
    }
    let before = counts();
    for callback in &callbacks {
        connector
            .finish(callback.as_str())
            .await
            .map_err(Failure::from)?;
    }
    let (requests, opened) = since(before);
    check(
        opened <= requests.div_ceil(2),
        format!(
            "{FLOWS} sequential `finish` calls made {requests} requests over {opened} new \
             connections: `complete` should reuse the client `create_token` used"
        ),
    )?;
    Ok(None)
}

/// For providers that offer [`Capability::Refresh`]: a refresh renews the access token of
/// the same link (same user, provider and vendor ids), concurrent refreshes of one connection
/// reach the vendor once, and the renewed connection can be refreshed again.
pub async fn refresh(h: &Harness) -> CaseResult {
    const CONCURRENT: usize = 8;
    let route = h
        .sandbox()
        .route(Operation::Refresh)
        .ok_or_else(|| Failure::new("the sandbox names no route for refresh"))?;
    let connector = h.connector(None)?;
    let connection = h.connect(&connector, "refresh-user").await?;
    let access = |c: &utilconnect::Connection| {
        c.credentials()
            .map(|c| secrecy::ExposeSecret::expose_secret(&c.access_token).to_owned())
    };
    let before = h.sandbox().requests().to_path(route.path).len();
    let refreshes = (0..CONCURRENT).map(|_| connector.refresh(&connection));
    let results = futures_util::future::join_all(refreshes).await;
    let sent = h.sandbox().requests().to_path(route.path).len() - before;
    check(
        sent == 1,
        format!("{CONCURRENT} concurrent refreshes of one connection sent {sent} requests"),
    )?;
    let mut renewed = Vec::with_capacity(CONCURRENT);
    for result in results {
        renewed.push(result.map_err(Failure::from)?);
    }
    let first = &renewed[0];
    check(
        renewed.iter().all(|r| access(r) == access(first)),
        "concurrent refreshes returned different credentials",
    )?;
    check(
        access(first).is_some() && access(first) != access(&connection),
        "the refresh did not issue a new access token",
    )?;
    check(
        first.user_id() == connection.user_id()
            && first.provider() == connection.provider()
            && first.vendor_ids() == connection.vendor_ids(),
        "the refreshed connection is not the same link",
    )?;
    let again = connector.refresh(first).await.map_err(Failure::from)?;
    check(
        access(&again) != access(first),
        "refreshing the renewed connection did not renew it again",
    )?;
    let requests: Vec<Value> = h
        .sandbox()
        .requests()
        .to_path(route.path)
        .into_iter()
        .skip(before)
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Ok(Some(json!({
        "connection": h.connection_snapshot(&again),
        "refresh_requests": requests,
    })))
}

/// The webhook the sandbox sent for a finished flow, as the app's route receives it.
async fn flow_webhook(
    h: &Harness,
    connector: &utilconnect::Connector,
    fault: Option<WebhookFault>,
) -> Result<(utilconnect::Connection, SignedRequest), Failure> {
    let connection = h.connect(connector, "webhook-user").await?;
    let request = h
        .sandbox()
        .last_webhook(fault)
        .ok_or_else(|| Failure::new("the sandbox sent no webhook for a finished flow"))?;
    Ok((connection, request))
}

/// For providers that offer [`Capability::Webhooks`]: the webhook a finished flow sends is
/// verified and read into an event about that connection.
pub async fn webhook_verified(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let (connection, request) = flow_webhook(h, &connector, None).await?;
    let event = connector
        .webhook(&request.headers, &request.body)
        .await
        .map_err(Failure::from)?;
    check(
        event.kind() == utilconnect::EventKind::ConnectionCompleted,
        format!("a finished flow's webhook reads as {:?}", event.kind()),
    )?;
    check(
        !event.is_duplicate(),
        "a first delivery is reported as a duplicate",
    )?;
    for (name, value) in event.vendor_ids() {
        if let Some(linked) = connection.vendor_id(name) {
            check(
                linked == value,
                format!("the event's `{name}` is not the connection's"),
            )?;
        }
    }
    let log = h.sandbox().requests();
    let ids: serde_json::Map<String, Value> = event
        .vendor_ids()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(log.normalise_text(v))))
        .collect();
    Ok(Some(json!({
        "kind": event.kind(),
        "raw_type": event.raw_type(),
        "id": log.normalise_text(event.id()),
        "vendor_ids": ids,
    })))
}

/// A webhook whose body or signature was changed, or signed with a key the vendor does not
/// publish or with scheme `none`, is rejected, naming the check.
pub async fn webhook_tampered(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let (_, mut request) = flow_webhook(h, &connector, None).await?;
    if let Some(last) = request.body.last_mut() {
        *last ^= 0x01;
    }
    let mut table = serde_json::Map::new();
    let tampered = connector.webhook(&request.headers, &request.body).await;
    table.insert(
        "body changed".into(),
        rejection(tampered, utilconnect::WebhookCheck::Signature)?,
    );
    for (name, fault, expected) in [
        (
            "bad signature",
            WebhookFault::BadSignature,
            utilconnect::WebhookCheck::Signature,
        ),
        (
            "unknown key",
            WebhookFault::UnknownKey,
            utilconnect::WebhookCheck::UnknownKey,
        ),
        (
            "scheme none",
            WebhookFault::SchemeNone,
            utilconnect::WebhookCheck::Scheme,
        ),
    ] {
        let request = h
            .sandbox()
            .last_webhook(Some(fault))
            .ok_or_else(|| Failure::new("no webhook"))?;
        let result = connector.webhook(&request.headers, &request.body).await;
        table.insert(name.into(), rejection(result, expected)?);
    }
    Ok(Some(Value::Object(table)))
}

/// A webhook signed long ago (a replay) is rejected on its timestamp.
pub async fn webhook_replay(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let (_, request) = flow_webhook(h, &connector, Some(WebhookFault::StaleTimestamp)).await?;
    let result = connector.webhook(&request.headers, &request.body).await;
    Ok(Some(json!({
        "stale timestamp": rejection(result, utilconnect::WebhookCheck::Timestamp)?
    })))
}

/// The same event delivered twice: both verify, the second is reported as a duplicate.
pub async fn webhook_duplicate(h: &Harness) -> CaseResult {
    let connector = h.connector(None)?;
    let (_, request) = flow_webhook(h, &connector, None).await?;
    let first = connector
        .webhook(&request.headers, &request.body)
        .await
        .map_err(Failure::from)?;
    let again = h
        .sandbox()
        .last_webhook(None)
        .ok_or_else(|| Failure::new("no webhook"))?;
    let second = connector
        .webhook(&again.headers, &again.body)
        .await
        .map_err(Failure::from)?;
    check(
        !first.is_duplicate(),
        "the first delivery is reported as a duplicate",
    )?;
    check(
        second.is_duplicate(),
        "the second delivery of one event is not reported as a duplicate",
    )?;
    check(
        second.id() == first.id(),
        "a redelivery changed the event id",
    )?;
    Ok(None)
}

/// The error of a rejected webhook: the expected check, never the body.
fn rejection(
    result: utilconnect::Result<utilconnect::Event>,
    expected: utilconnect::WebhookCheck,
) -> Result<Value, Failure> {
    let err = match result {
        Ok(event) => {
            return Err(Failure::new(format!(
                "a webhook that should fail `{expected}` was accepted as {:?}",
                event.kind()
            )));
        }
        Err(err) => err,
    };
    check(
        err.kind() == ErrorKind::WebhookRejected && err.webhook_check() == Some(expected),
        format!("expected a `{expected}` rejection, got: {err}"),
    )?;
    Ok(json!(err.to_string()))
}

/// The emulator answers a route it does not serve with an error body in JSON (the vendor's
/// error shape), never an empty body: vendor-written clients parse every answer.
pub async fn unknown_route(h: &Harness) -> CaseResult {
    let http = reqwest::Client::new();
    let url = h
        .sandbox()
        .base_url()
        .join("/utilconnect-conformance/no-such-route")
        .map_err(|e| Failure::new(e.to_string()))?;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let response = http
            .request(method.clone(), url.clone())
            .send()
            .await
            .map_err(|e| Failure::new(format!("{method} to the sandbox failed: {e}")))?;
        let status = response.status();
        let json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = response.bytes().await.unwrap_or_default();
        check(
            status.is_client_error(),
            format!("{method} to an unknown route answered {status}"),
        )?;
        check(
            json,
            format!("{method} to an unknown route is not answered in JSON"),
        )?;
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        check(
            parsed.is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty())),
            format!("{method} to an unknown route has no JSON error body"),
        )?;
    }
    Ok(None)
}
