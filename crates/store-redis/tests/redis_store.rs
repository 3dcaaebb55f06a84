//! The Redis store against a real `redis-server` each test starts on a free loopback port:
//! the shared store suite (also on the pre-6.2 script path), lifetimes, a password kept
//! secret, a server that goes away and comes back, and a connector chosen by config.

use std::sync::Arc;
use std::time::Duration;

use utilconnect::{Config, Connector, Digest, ErrorKind, SessionStore};
use utilconnect_conformance::stores::{StoreUnderTest, run_store_suite, session};
use utilconnect_redis::testing::RedisServer;
use utilconnect_redis::{RedisSessionStore, RedisStoreConfig};

fn store(url: &str) -> RedisSessionStore {
    RedisSessionStore::new(RedisStoreConfig::new(url.to_owned().into())).unwrap()
}

/// Each `open` is a new store with its own connection: another instance of the app.
struct OnRedis {
    url: String,
    script_only: bool,
}

#[async_trait::async_trait]
impl StoreUnderTest for OnRedis {
    async fn open(&self) -> Arc<dyn SessionStore> {
        let store = store(&self.url);
        Arc::new(if self.script_only {
            store.without_getdel()
        } else {
            store
        })
    }

    fn shared(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_passes_the_store_suite() {
    let server = RedisServer::start().await.unwrap();
    let failures = run_store_suite(&OnRedis {
        url: server.url(),
        script_only: false,
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
    // Servers before 6.2 have no GETDEL: the script that replaces it is held to the same
    // contract, racing takes included.
    let failures = run_store_suite(&OnRedis {
        url: server.url(),
        script_only: true,
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn a_session_lives_in_redis_exactly_as_long_as_its_flow() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server.url());
    let put = session("ttl", "user-1", Duration::from_secs(600));
    store.put(put.clone()).await.unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("utilconnect:session:{}", put.state_digest.as_str());
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((590_000..=600_000).contains(&ttl_ms), "PTTL {ttl_ms}");
    // What is stored holds digests, not secrets, and reads back as put.
    let raw: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(raw.contains(put.state_digest.as_str()), "{raw}");
    assert_eq!(store.take(&put.state_digest).await.unwrap(), Some(put));
}

#[tokio::test]
async fn the_password_works_and_never_shows() {
    let password = "hunter2-redis-password";
    let server = RedisServer::start_with_password(password).await.unwrap();
    let good = store(&server.url());
    good.put(session("pw", "user-1", Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(!format!("{good:?}").contains(password), "{good:?}");

    let wrong = store(&server.url().replace(password, "not-the-password"));
    let err = wrong.get(&Digest::of(b"pw")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let none = store(&server.url().replace(&format!(":{password}@"), ""));
    let err2 = none.get(&Digest::of(b"pw")).await.unwrap_err();
    assert_eq!(err2.kind(), ErrorKind::Unauthorized, "{err2}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{wrong:?}")] {
        assert!(!shown.contains("not-the-password"), "{shown}");
        assert!(!shown.contains(password), "{shown}");
    }
    assert!(err.to_string().contains("session_store.url"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_gives_typed_errors_and_keeps_what_it_acknowledged() {
    let mut server = RedisServer::start_persistent().await.unwrap();
    let store = store(&server.url());
    let kept = session("kept", "user-1", Duration::from_secs(600));
    store.put(kept.clone()).await.unwrap();

    server.stop().await;
    let lost = session("lost", "user-2", Duration::from_secs(600));
    let err = store.put(lost.clone()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Network | ErrorKind::Timeout),
        "{err}"
    );
    assert!(err.is_temporary(), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port())),
        "{err}"
    );
    let err = store.take(&kept.state_digest).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Network | ErrorKind::Timeout),
        "{err}"
    );

    server.restart().await.unwrap();
    // The same store reconnects by itself; what was acknowledged is there, what failed is not.
    let mut taken = None;
    for _ in 0..50 {
        match store.take(&kept.state_digest).await {
            Ok(found) => {
                taken = found;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(taken, Some(kept));
    assert_eq!(store.get(&lost.state_digest).await.unwrap(), None);
}

#[tokio::test]
async fn a_connector_chosen_by_config_uses_redis_and_an_unreachable_one_fails_start() {
    let server = RedisServer::start().await.unwrap();
    let sandbox = utilconnect_pelm::sandbox::PelmSandbox::start()
        .await
        .unwrap();
    let config = |url: &str| {
        let pelm = utilconnect_sandbox::provider_toml(&sandbox).unwrap();
        Config::from_toml_str(&format!(
            "provider = \"pelm\"\n[session_store]\nkind = \"redis\"\nurl = \"{url}\"\n{pelm}"
        ))
        .unwrap()
    };
    let connector = Connector::from_config(&config(&server.url())).unwrap();
    let started = connector
        .start("user-1", "https://app.example/cb")
        .await
        .unwrap();
    let shared = store(&server.url());
    let seen = shared.get(&started.state.digest()).await.unwrap();
    assert_eq!(
        seen.map(|s| s.user_id),
        Some("user-1".to_owned()),
        "the flow is in Redis"
    );

    let closed = format!("redis://127.0.0.1:{}/0", free_port());
    let connector = Connector::from_config(&config(&closed)).unwrap();
    let err = connector
        .start("user-1", "https://app.example/cb")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert!(
        err.to_string().contains("check `session_store.url`"),
        "{err}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Without persistence a restart forgets pending flows: the store answers "none", which the
/// connector reports as an unknown state (start a new flow), never as something else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_persistence_a_restart_forgets_flows_and_says_so() {
    let mut server = RedisServer::start().await.unwrap();
    let store = store(&server.url());
    let forgotten = session("forgotten", "user-1", Duration::from_secs(600));
    store.put(forgotten.clone()).await.unwrap();
    server.restart().await.unwrap();
    let mut answer = None;
    for _ in 0..50 {
        match store.take(&forgotten.state_digest).await {
            Ok(found) => {
                answer = Some(found);
                break;
            }
            Err(err) => {
                assert!(err.is_temporary(), "{err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert_eq!(answer, Some(None), "the restarted server has no such flow");
}

/// Webhook event ids in Redis: every instance sees a redelivery as a duplicate, and of
/// racing deliveries of one event exactly one is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ids_are_shared_and_exactly_one_racing_delivery_is_new() {
    use utilconnect::EventStore;
    let server = RedisServer::start().await.unwrap();
    let (a, b) = (
        Arc::new(store(&server.url())),
        Arc::new(store(&server.url())),
    );
    let keep = Duration::from_secs(60);
    assert!(!a.seen("flatpeak", "evt_1", keep).await.unwrap());
    assert!(
        b.seen("flatpeak", "evt_1", keep).await.unwrap(),
        "the other instance saw it"
    );
    assert!(
        !b.seen("pelm", "evt_1", keep).await.unwrap(),
        "per provider"
    );
    let racing = (0..50).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { store.seen("flatpeak", "evt_race", keep).await.unwrap() }
    });
    let new = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .filter(|seen| !seen)
        .count();
    assert_eq!(new, 1);
}

/// A password with characters the URL must encode is hidden in every spelling.
#[tokio::test]
async fn an_encoded_password_is_hidden_in_every_spelling() {
    let store = store(&format!(
        "redis://:p%40ss%25word@127.0.0.1:{}/0",
        free_port()
    ));
    let err = store.get(&Digest::of(b"x")).await.unwrap_err();
    for shown in [err.to_string(), format!("{err:?}"), format!("{store:?}")] {
        assert!(
            !shown.contains("p@ss%word") && !shown.contains("p%40ss%25word"),
            "{shown}"
        );
    }
}
