//! Connector behaviour against a scripted provider: state, single use, expiry, cancellation,
//! resumable temporary failures, and secrets kept out of the store and of `Debug`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use super::*;
use crate::clock::ManualClock;
use crate::flow::ConnectToken;
use crate::registry::ProviderDescriptor;

const TOKEN_SECRET: &str = "tok_secret_value_0123456789";
const TOKEN_TTL: Duration = Duration::from_secs(1800);

/// A provider that hands out the callback directly: the connect URL *is* the callback with
/// `code` = the token, like a vendor whose page approves at once.
#[derive(Debug)]
struct Scripted {
    completions: Mutex<VecDeque<Result<()>>>,
    complete_calls: AtomicUsize,
    create_calls: AtomicUsize,
}

impl Scripted {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            completions: Mutex::new(VecDeque::new()),
            complete_calls: AtomicUsize::new(0),
            create_calls: AtomicUsize::new(0),
        })
    }

    fn script(&self, outcome: Result<()>) {
        self.completions.lock().unwrap().push_back(outcome);
    }
}

#[async_trait]
impl ConnectProvider for Scripted {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        const DESCRIPTOR: ProviderDescriptor =
            ProviderDescriptor::new("scripted", "test double", &[], never_built, "test")
                .with_capabilities(&[]);
        &DESCRIPTOR
    }

    async fn create_token(&self, request: &TokenRequest) -> Result<ConnectToken> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        Ok(ConnectToken::new(
            format!("{TOKEN_SECRET}-{}", request.user_id()).into(),
            TOKEN_TTL,
        ))
    }

    fn connect_url(&self, request: &TokenRequest, token: &ConnectToken) -> Result<Url> {
        let mut url = request.callback_url().clone();
        url.query_pairs_mut()
            .append_pair("code", token.secret().expose_secret())
            .append_pair("state", request.state().as_str());
        Ok(url)
    }

    fn check_callback(&self, _: &PendingSession, callback: &Callback) -> Result<()> {
        match callback.param("code").map(|c| c.expose_secret().is_empty()) {
            None => Err(Error::new(
                ErrorKind::Cancelled,
                Operation::Complete,
                "no code",
            )),
            Some(true) => Err(Error::new(
                ErrorKind::InvalidCode,
                Operation::Complete,
                "empty code",
            )),
            Some(false) => Ok(()),
        }
    }

    async fn complete(&self, session: &PendingSession, callback: &Callback) -> Result<Connection> {
        self.complete_calls.fetch_add(1, Ordering::SeqCst);
        let code = callback
            .param("code")
            .ok_or_else(|| Error::new(ErrorKind::Cancelled, Operation::Complete, "no code"))?;
        if !session.token_digest.matches_secret(code) {
            return Err(Error::new(
                ErrorKind::InvalidCode,
                Operation::Complete,
                "wrong code",
            ));
        }
        if let Some(outcome) = self.completions.lock().unwrap().pop_front() {
            outcome?;
        }
        Ok(Connection::new("scripted", session.user_id.clone())
            .with_vendor_id("customer_id", "cus_1"))
    }
}

fn never_built(
    _: &crate::ProviderConfig,
    _: &crate::BuildContext,
) -> Result<Arc<dyn ConnectProvider>> {
    unreachable!("built in code, not from config")
}

fn connector(
    provider: &Arc<Scripted>,
    clock: &ManualClock,
) -> (Connector, Arc<InMemorySessionStore>) {
    let store = Arc::new(InMemorySessionStore::with_clock(Arc::new(clock.clone())));
    let connector = Connector::builder(provider.clone())
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .build();
    (connector, store)
}

fn setup() -> (
    Arc<Scripted>,
    Connector,
    Arc<InMemorySessionStore>,
    ManualClock,
) {
    let clock = ManualClock::new();
    let provider = Scripted::new();
    let (connector, store) = connector(&provider, &clock);
    (provider, connector, store, clock)
}

#[tokio::test]
async fn start_then_finish_links_the_right_user() {
    let (provider, connector, store, clock) = setup();
    let started = connector
        .start("user-7", "https://app.example/cb?tenant=a%26b")
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(started.expires_at, clock.now() + TOKEN_TTL);
    let query: Vec<(String, String)> = started
        .connect_url
        .expose()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(
        query.contains(&("tenant".into(), "a&b".into())),
        "app query kept: {query:?}"
    );
    assert!(query.contains(&("state".into(), started.state.as_str().into())));

    let connection = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap();
    assert_eq!(connection.user_id(), "user-7");
    assert_eq!(connection.vendor_id("customer_id"), Some("cus_1"));
    assert!(store.is_empty(), "session consumed");
    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn replayed_callback_fails_the_second_time() {
    let (provider, connector, _, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap();
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StateMismatch);
    assert_eq!(err.provider(), Some("scripted"));
    assert_eq!(
        provider.complete_calls.load(Ordering::SeqCst),
        1,
        "no second vendor call"
    );
}

#[tokio::test]
async fn missing_or_wrong_state_fails_before_the_provider_is_called() {
    let (provider, connector, store, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let mut without_state = started.connect_url.expose().clone();
    let pairs: Vec<(String, String)> = without_state
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "state")
        .collect();
    without_state.query_pairs_mut().clear().extend_pairs(&pairs);
    let err = connector.finish(without_state.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StateMismatch);
    assert!(err.to_string().contains("no `state`"), "{err}");

    let forged = format!(
        "{}&state={}",
        without_state,
        State::generate().unwrap().as_str()
    );
    let err = connector.finish(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StateMismatch);

    let err = connector
        .finish(&format!("{without_state}&state=bad%20state"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StateMismatch);

    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 0);
    assert_eq!(
        store.len(),
        1,
        "the real flow is untouched by forged callbacks"
    );
    connector
        .finish(started.connect_url.expose().as_str())
        .await
        .expect("real callback still works");
}

#[tokio::test]
async fn expired_flow_is_refused() {
    let (provider, connector, _, clock) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    clock.advance(TOKEN_TTL + Duration::from_secs(1));
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredToken);
    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn vendor_error_on_callback_is_cancelled_with_vendor_text_and_keeps_the_session() {
    let (provider, connector, store, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let callback = format!(
        "https://app.example/cb?error=access_denied&error_description=User%20exited&state={}",
        started.state.as_str()
    );
    let err = connector.finish(&callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(err.vendor_code(), Some("access_denied"));
    assert_eq!(err.vendor_message(), Some("User exited"));
    // Anyone who saw the state could forge this callback: it must not end the real flow.
    assert_eq!(store.len(), 1);
    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 0);

    // Without our state, an error callback still says what happened.
    let err = connector
        .finish("/cb?error=access_denied")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
}

/// Every authorization error code of RFC 6749 §4.1.2.1 gets a kind that says what went
/// wrong; each leaves the flow for its real callback.
#[tokio::test]
async fn each_oauth_error_code_on_the_callback_has_its_own_kind_and_keeps_the_flow() {
    let (provider, connector, store, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    for (code, kind) in [
        ("access_denied", ErrorKind::Cancelled),
        ("invalid_request", ErrorKind::InvalidInput),
        ("unauthorized_client", ErrorKind::Forbidden),
        ("unsupported_response_type", ErrorKind::Unsupported),
        ("invalid_scope", ErrorKind::Config),
        ("server_error", ErrorKind::Upstream),
        ("temporarily_unavailable", ErrorKind::Upstream),
        ("vendor_specific_exit", ErrorKind::Cancelled),
    ] {
        let callback = format!("/cb?error={code}&state={}", started.state.as_str());
        let err = connector.finish(&callback).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{code}: {err}");
        assert_eq!(err.vendor_code(), Some(code));
        assert_eq!(err.status_of_call(), ErrorStatus::CallbackRefused, "{code}");
    }
    assert_eq!(store.len(), 1);
    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn temporary_failure_keeps_the_session_so_finish_can_be_retried() {
    let (provider, connector, store, _) = setup();
    provider.script(Err(Error::new(
        ErrorKind::Pending,
        Operation::Complete,
        "data loading",
    )));
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pending);
    assert_eq!(store.len(), 1, "kept for retry");
    let connection = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap();
    assert_eq!(connection.user_id(), "u");
    assert!(store.is_empty());
}

#[tokio::test]
async fn permanent_failure_consumes_the_session() {
    let (provider, connector, store, _) = setup();
    provider.script(Err(Error::new(
        ErrorKind::Forbidden,
        Operation::Complete,
        "no",
    )));
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(store.is_empty());
}

#[tokio::test]
async fn session_from_another_provider_is_refused() {
    let clock = ManualClock::new();
    let provider = Scripted::new();
    let (connector, store) = connector(&provider, &clock);
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    // Tamper: pretend the flow was started under a different provider name.
    let key = started.state.digest();
    let mut session = store.take(&key).await.unwrap().unwrap();
    session.provider = "other".into();
    store.put(session).await.unwrap();
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`other`"), "{err}");
}

#[tokio::test]
async fn bad_inputs_are_typed_and_name_the_field() {
    let (provider, connector, _, _) = setup();
    let err = connector
        .start("", "https://app.example/cb")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`user_id`"), "{err}");
    let err = connector.start("u", "not a url").await.unwrap_err();
    assert!(err.to_string().contains("`callback_url`"), "{err}");
    assert_eq!(
        provider.create_calls.load(Ordering::SeqCst),
        0,
        "no vendor call on bad input"
    );
    let err = connector.finish("/cb?state=a&state=b").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn store_and_debug_never_hold_the_token() {
    let (_, connector, store, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let session = store.take(&started.state.digest()).await.unwrap().unwrap();
    let stored = serde_json::to_string(&session).unwrap();
    assert!(!stored.contains(TOKEN_SECRET), "{stored}");
    assert!(!stored.contains(started.state.as_str()), "{stored}");
    let debug = format!(
        "{connector:?} {session:?} {started:?} {}",
        started.connect_url
    );
    assert!(!debug.contains(started.state.as_str()), "{debug}");
    assert!(!debug.contains(TOKEN_SECRET), "{debug}");
}

#[tokio::test]
async fn many_concurrent_flows_do_not_cross() {
    let (_, connector, store, _) = setup();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let connector = connector.clone();
        tasks.spawn(async move {
            let user = format!("user-{i}");
            let started = connector.start(&user, "https://app.example/cb").await?;
            let connection = connector
                .finish(started.connect_url.expose().as_str())
                .await?;
            Ok::<_, Error>((user, connection.user_id().to_owned()))
        });
    }
    let mut finished = 0;
    while let Some(joined) = tasks.join_next().await {
        let (user, linked) = joined.unwrap().unwrap();
        assert_eq!(user, linked);
        finished += 1;
    }
    assert_eq!(finished, 200);
    assert!(store.is_empty());
}

#[tokio::test]
async fn each_flow_keeps_its_own_callback_url() {
    // The connector remembers the callback URL it parsed last; a different one must never
    // be answered from that memory.
    let (_, connector, store, _) = setup();
    for callback in [
        "https://app.example/a",
        "https://app.example/b",
        "https://app.example/a",
        "https://other.example/a",
    ] {
        let started = connector.start("u", callback).await.unwrap();
        let session = store.take(&started.state.digest()).await.unwrap().unwrap();
        assert_eq!(session.callback_url.as_str(), callback);
        assert!(
            started.connect_url.expose().as_str().starts_with(callback),
            "{}",
            started.connect_url
        );
    }
    let err = connector
        .start("u", "https://app.example:99999/a")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Callbacks that carry the real state but not the real code: each must leave the session,
/// and the real callback must still finish afterwards.
#[tokio::test]
async fn a_forged_callback_with_a_real_state_does_not_burn_the_real_flow() {
    let (provider, connector, store, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    let state = started.state.as_str();
    let forged = [
        (
            format!("/cb?state={state}&code=wrong"),
            ErrorKind::InvalidCode,
        ),
        (format!("/cb?state={state}&code="), ErrorKind::InvalidCode),
        (format!("/cb?state={state}"), ErrorKind::Cancelled),
        (
            format!("/cb?state={state}#code=in-the-fragment"),
            ErrorKind::Cancelled,
        ),
        (
            format!("/cb?state={state}&error=access_denied"),
            ErrorKind::Cancelled,
        ),
    ];
    for (callback, kind) in forged {
        let err = connector.finish(&callback).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{callback}: {err}");
        assert_eq!(
            err.status_of_call(),
            ErrorStatus::CallbackRefused,
            "{callback}"
        );
        assert_eq!(store.len(), 1, "{callback} burnt the session");
    }
    // Only the wrong code reached the vendor; the rest were refused before any call.
    assert_eq!(provider.complete_calls.load(Ordering::SeqCst), 1);

    let connection = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .expect("the real callback still finishes");
    assert_eq!(connection.user_id(), "u");
    assert!(store.is_empty());
}

#[tokio::test]
async fn no_callback_secret_appears_in_an_error() {
    let (provider, connector, _, _) = setup();
    let started = connector
        .start("u", "https://app.example/cb")
        .await
        .unwrap();
    // The vendor's error echoes the code it was sent.
    let code = format!("{TOKEN_SECRET}-u");
    provider.script(Err(Error::new(
        ErrorKind::Upstream,
        Operation::Complete,
        format!("code {code} failed"),
    )
    .with_vendor_message(format!("bad code {code}\nINJECTED"))));
    let err = connector
        .finish(started.connect_url.expose().as_str())
        .await
        .unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&code), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}

/// A toy provider that implements refresh (rotating the refresh token) and not revoke; which
/// of them it offers is its descriptor's say.
#[derive(Debug)]
struct Renewing(&'static ProviderDescriptor, AtomicUsize);

/// Declares refresh, which it implements.
const RENEWING: ProviderDescriptor =
    ProviderDescriptor::new("renewing", "offers refresh", &[], never_built, "test")
        .with_capabilities(&[crate::Capability::Refresh]);

/// Declares revoke, which it does not implement.
const DECLARES_TOO_MUCH: ProviderDescriptor =
    ProviderDescriptor::new("declares", "says revoke", &[], never_built, "test")
        .with_capabilities(&[crate::Capability::Revoke]);

#[async_trait]
impl ConnectProvider for Renewing {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        self.0
    }
    async fn create_token(&self, _: &TokenRequest) -> Result<ConnectToken> {
        Ok(ConnectToken::new("t".into(), TOKEN_TTL))
    }
    fn connect_url(&self, request: &TokenRequest, _: &ConnectToken) -> Result<Url> {
        Ok(request.callback_url().clone())
    }
    async fn complete(&self, session: &PendingSession, _: &Callback) -> Result<Connection> {
        Ok(Connection::new(self.0.name(), session.user_id.clone()))
    }
    async fn refresh(&self, old: &Connection) -> Result<Connection> {
        self.1.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        let old_token = old.credentials().unwrap().refresh_token.as_ref().unwrap();
        let rotated = format!("{}-next", old_token.expose_secret());
        let mut renewed = crate::AccessCredentials::new("at-2".into());
        renewed.refresh_token = Some(rotated.into());
        Ok(old.clone().with_credentials(renewed))
    }
}

fn linked(refresh_token: &str) -> Connection {
    let mut credentials = crate::AccessCredentials::new("at-1".into());
    credentials.refresh_token = Some(refresh_token.into());
    Connection::new("renewing", "user-1")
        .with_vendor_id("custodian", "utility-a")
        .with_credentials(credentials)
}

#[tokio::test]
async fn optional_operations_are_offered_by_capability_and_typed_unsupported_otherwise() {
    let connection = linked("rt-1");

    let renewing = Connector::new(Arc::new(Renewing(&RENEWING, AtomicUsize::new(0))));
    assert!(renewing.supports(crate::Capability::Refresh));
    let renewed = renewing.refresh(&connection).await.unwrap();
    let credentials = renewed.credentials().unwrap();
    assert_eq!(credentials.access_token.expose_secret(), "at-2");
    assert_eq!(
        credentials.refresh_token.as_ref().unwrap().expose_secret(),
        "rt-1-next"
    );
    assert_eq!(
        renewed.vendor_id("custodian"),
        Some("utility-a"),
        "same link"
    );
    let err = renewing.revoke(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.operation(), Operation::Revoke);
    assert_eq!(err.provider(), Some("renewing"));

    // Without the capability the provider is never asked, whatever it implements.
    let (_, scripted, _, _) = setup();
    let err = scripted.refresh(&connection).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.operation(), Operation::Refresh);

    // Declared but not implemented: the trait's default still answers with the typed error.
    let err = Connector::new(Arc::new(Renewing(&DECLARES_TOO_MUCH, AtomicUsize::new(0))))
        .revoke(&connection)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.to_string().contains("declares does not offer revoke"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_connection_make_one_vendor_call() {
    let provider = Arc::new(Renewing(&RENEWING, AtomicUsize::new(0)));
    let connector = Connector::new(provider.clone());
    let connection = linked("rt-1");
    let other = linked("rt-other");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (connector, connection) = (connector.clone(), connection.clone());
        tasks.spawn(async move { connector.refresh(&connection).await });
    }
    let results = tasks.join_all().await;
    assert_eq!(
        provider.1.load(Ordering::SeqCst),
        1,
        "one call for 16 refreshes"
    );
    for renewed in results {
        let renewed = renewed.unwrap();
        let token = renewed
            .credentials()
            .unwrap()
            .refresh_token
            .as_ref()
            .unwrap();
        assert_eq!(token.expose_secret(), "rt-1-next");
    }
    // Just after, the same old credentials get the same renewal (the vendor may have retired
    // the old refresh token); another connection is a call of its own.
    let late = connector.refresh(&connection).await.unwrap();
    let late_token = late.credentials().unwrap().refresh_token.as_ref().unwrap();
    assert_eq!(late_token.expose_secret(), "rt-1-next");
    connector.refresh(&other).await.unwrap();
    assert_eq!(provider.1.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_callback_url_that_carries_a_reserved_parameter_is_refused_before_any_call() {
    let (provider, connector, store, _) = setup();
    for (url, name) in [
        ("https://app.example/cb?state=mine", "state"),
        ("https://app.example/cb?x=1&code=c", "code"),
        ("https://app.example/cb?error=x", "error"),
    ] {
        let err = connector.start("u", url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}");
        assert!(err.to_string().contains(&format!("own `{name}`")), "{err}");
    }
    assert_eq!(provider.create_calls.load(Ordering::SeqCst), 0);
    assert!(store.is_empty());
    // The app's own parameters are fine.
    connector
        .start("u", "https://app.example/cb?tenant=a")
        .await
        .unwrap();
}
