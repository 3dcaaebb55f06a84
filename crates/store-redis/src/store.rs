//! [`RedisSessionStore`]: `SET … PX`, `GET`, `GETDEL` over one multiplexed, self-healing
//! connection (`redis::aio::ConnectionManager`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;
use utilconnect::redact::KnownSecrets;
use utilconnect::{
    BuildContext, Clock, Digest, Error, ErrorKind, EventStore, Operation, PendingSession,
    ProviderConfig, Result, SessionStore, SystemClock,
};

use crate::config::RedisStoreConfig;

/// GET and DEL in one step, for servers before 6.2 (no `GETDEL`).
const GET_AND_DELETE: &str = "local v = redis.call('GET', KEYS[1])\n\
                              if v then redis.call('DEL', KEYS[1]) end\n\
                              return v";

/// Largest stored session read back (a real one is well under 1 KiB).
const MAX_SESSION_BYTES: usize = 64 * 1024;

/// Pending sessions in Redis, shared by every instance pointed at the same server.
///
/// The connection is made on first use (so building a connector stays synchronous) and
/// re-made after a failure; [`connect`](Self::connect) makes it eagerly, to fail at start-up.
///
/// ```no_run
/// # async fn run() -> utilconnect::Result<()> {
/// use utilconnect_redis::{RedisSessionStore, RedisStoreConfig};
/// let config = RedisStoreConfig::new("redis://127.0.0.1:6379/0".to_owned().into());
/// let store = RedisSessionStore::new(config)?;
/// store.connect().await?; // optional: fail now if Redis is unreachable
/// # Ok(()) }
/// ```
pub struct RedisSessionStore {
    client: redis::Client,
    config: RedisStoreConfig,
    shown_url: String,
    secrets: KnownSecrets,
    clock: Arc<dyn Clock>,
    connection: OnceCell<ConnectionManager>,
    /// Set once the server said it has no `GETDEL`.
    no_getdel: AtomicBool,
}

impl RedisSessionStore {
    /// A store for `config` on the system clock (no connection is made yet).
    pub fn new(config: RedisStoreConfig) -> Result<Self> {
        config.validate()?;
        let client = redis::Client::open(config.url.expose_secret()).map_err(|_| {
            Error::invalid_config_key(
                "session_store.url",
                "not a Redis URL the client understands",
            )
        })?;
        // The client's decoded password: scrubbing covers its encoded spellings too.
        let password = client.get_connection_info().redis.password.clone();
        let secrets = password
            .into_iter()
            .fold(KnownSecrets::new(), |s, p| s.with(p.into()));
        Ok(Self {
            client,
            shown_url: config.shown_url(),
            config,
            secrets,
            clock: Arc::new(SystemClock),
            connection: OnceCell::new(),
            no_getdel: AtomicBool::new(false),
        })
    }

    /// Dates session lifetimes on `clock` (a connector's, e.g. a sandbox's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Takes with the script servers before 6.2 need, as if `GETDEL` were missing: for
    /// testing that path on a newer server.
    #[doc(hidden)]
    pub fn without_getdel(self) -> Self {
        self.no_getdel.store(true, Ordering::Relaxed);
        self
    }

    /// Connects now (and checks the server answers), instead of on first use.
    pub async fn connect(&self) -> Result<()> {
        let mut connection = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(|e| self.error("PING", &e))
    }

    /// The key a session is stored under.
    fn key(&self, digest: &Digest) -> String {
        format!("{}{}", self.config.key_prefix, digest.as_str())
    }

    async fn connection(&self) -> Result<ConnectionManager> {
        let manager = self
            .connection
            .get_or_try_init(|| async {
                let settings = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.config.connect_timeout)
                    .set_response_timeout(self.config.response_timeout)
                    // Reconnect quickly and give up soon: the caller gets a typed error and
                    // the next call tries again.
                    .set_number_of_retries(1)
                    .set_max_delay(200);
                ConnectionManager::new_with_config(self.client.clone(), settings)
                    .await
                    .map_err(|e| self.error("connect", &e))
            })
            .await?;
        Ok(manager.clone())
    }

    /// A typed error for a failed Redis call that says what to check, never the password.
    fn error(&self, call: &str, err: &redis::RedisError) -> Error {
        let url = &self.shown_url;
        let (kind, message) = if err.is_timeout() {
            (
                ErrorKind::Timeout,
                format!(
                    "Redis at {url} did not answer {call} in time; check that it is up and not overloaded"
                ),
            )
        } else if err.is_connection_refusal() || err.is_io_error() || err.is_connection_dropped() {
            (
                ErrorKind::Network,
                format!(
                    "cannot reach Redis at {url} ({call}); check `session_store.url` and that the server runs"
                ),
            )
        } else if err.kind() == redis::ErrorKind::AuthenticationFailed
            || err.code() == Some("NOAUTH")
            || err.code() == Some("WRONGPASS")
        {
            (
                ErrorKind::Unauthorized,
                format!("Redis at {url} refused the credentials in `session_store.url`"),
            )
        } else {
            (
                ErrorKind::Unexpected,
                format!("Redis at {url} refused {call}: {}", debug_name(&err.kind())),
            )
        };
        Error::new(kind, Operation::Store, message).scrub(&self.secrets)
    }

    fn decode(&self, bytes: Option<Vec<u8>>) -> Result<Option<PendingSession>> {
        let Some(bytes) = bytes else { return Ok(None) };
        if bytes.len() > MAX_SESSION_BYTES {
            return Err(Error::new(
                ErrorKind::Decode,
                Operation::Store,
                format!(
                    "a stored session is {} bytes, more than any session this store writes; is the key prefix shared with something else?",
                    bytes.len()
                ),
            ));
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                Operation::Store,
                format!("a stored session could not be read ({}); is the key prefix shared with something else?", debug_name(&e.classify())),
            )
        })
    }

    async fn take_with_script(
        &self,
        connection: &mut ConnectionManager,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        redis::Script::new(GET_AND_DELETE)
            .key(key)
            .invoke_async(connection)
            .await
            .map_err(|e| self.error("EVAL", &e))
    }
}

/// An enum value's name (a library's error class), bounded for messages.
fn debug_name(value: &impl fmt::Debug) -> String {
    utilconnect::redact::sanitize(&format!("{value:?}"), 64)
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn put(&self, session: PendingSession) -> Result<()> {
        let ttl = session
            .expires_at
            .duration_since(self.clock.now())
            .unwrap_or_default()
            .max(Duration::from_millis(1));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let value = serde_json::to_vec(&session).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                Operation::Store,
                format!("cannot encode a session: {e}"),
            )
        })?;
        let mut connection = self.connection().await?;
        redis::cmd("SET")
            .arg(self.key(&session.state_digest))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms)
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| self.error("SET", &e))
    }

    async fn get(&self, key: &Digest) -> Result<Option<PendingSession>> {
        let mut connection = self.connection().await?;
        let bytes: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut connection)
            .await
            .map_err(|e| self.error("GET", &e))?;
        self.decode(bytes)
    }

    async fn take(&self, key: &Digest) -> Result<Option<PendingSession>> {
        let key = self.key(key);
        let mut connection = self.connection().await?;
        if self.no_getdel.load(Ordering::Relaxed) {
            let bytes = self.take_with_script(&mut connection, &key).await?;
            return self.decode(bytes);
        }
        let answer: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GETDEL")
            .arg(&key)
            .query_async(&mut connection)
            .await;
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(e)
                if e.kind() == redis::ErrorKind::ResponseError
                    && e.to_string().contains("unknown command") =>
            {
                tracing::info!("this Redis has no GETDEL (before 6.2): using a script");
                self.no_getdel.store(true, Ordering::Relaxed);
                self.take_with_script(&mut connection, &key).await?
            }
            Err(e) => return Err(self.error("GETDEL", &e)),
        };
        self.decode(bytes)
    }
}

/// The same server also remembers webhook event ids, so every instance reports a
/// redelivered event as a duplicate: `SET <prefix>event:<provider>:<id> 1 NX PX <keep>`.
///
/// ```no_run
/// # async fn run(connector: utilconnect::ConnectorBuilder) -> utilconnect::Result<()> {
/// use std::sync::Arc;
/// use utilconnect_redis::{RedisSessionStore, RedisStoreConfig};
/// let store = Arc::new(RedisSessionStore::new(RedisStoreConfig::new("redis://127.0.0.1/0".to_owned().into()))?);
/// let connector = connector.store(store.clone()).event_store(store).build();
/// # Ok(()) }
/// ```
#[async_trait]
impl EventStore for RedisSessionStore {
    async fn seen(&self, provider: &str, id: &str, keep: Duration) -> Result<bool> {
        let key = format!("{}event:{provider}:{id}", self.config.key_prefix);
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(keep_ms)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.error("SET NX", &e))?;
        // OK when this call recorded it; nil when it was there already.
        Ok(set.is_none())
    }
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("url", &self.shown_url)
            .field("key_prefix", &self.config.key_prefix)
            .field("connected", &self.connection.initialized())
            .finish_non_exhaustive()
    }
}

/// The registry's build function: the table, on the connector's clock.
pub(crate) fn build(
    table: &ProviderConfig,
    context: &BuildContext,
) -> Result<Arc<dyn SessionStore>> {
    let store = RedisSessionStore::new(RedisStoreConfig::from_table(table)?)?
        .with_clock(context.clock().clone());
    Ok(Arc::new(store))
}
