//! [`RedisServer`]: a real `redis-server` for tests, started on a free loopback port in a
//! temporary directory and stopped when dropped (feature `testing`).
//!
//! Tests never assume a Redis is already running: they start their own. `scripts/test.sh`
//! installs Debian's `redis-server` where it is missing.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use utilconnect::{Error, Result};

/// How long a server may take to accept connections after it is started.
const STARTUP_POLLS: usize = 200;
const POLL_EVERY: Duration = Duration::from_millis(25);

/// A `redis-server` child process on `127.0.0.1`.
///
/// ```no_run
/// # async fn run() -> utilconnect::Result<()> {
/// let server = utilconnect_redis::testing::RedisServer::start().await?;
/// let url = server.url(); // redis://127.0.0.1:<port>/0
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    persistent: bool,
    password: Option<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// A server without persistence (a restart forgets everything).
    pub async fn start() -> Result<Self> {
        Self::start_with(false).await
    }

    /// A server that appends every write to disk before acknowledging it (`appendonly yes`,
    /// `appendfsync always`): what survives a restart is exactly what was acknowledged.
    pub async fn start_persistent() -> Result<Self> {
        Self::start_with(true).await
    }

    /// A server that requires `password` (`requirepass`).
    pub async fn start_with_password(password: &str) -> Result<Self> {
        Self::start_configured(false, Some(password.to_owned())).await
    }

    async fn start_with(persistent: bool) -> Result<Self> {
        Self::start_configured(persistent, None).await
    }

    async fn start_configured(persistent: bool, password: Option<String>) -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|e| failed(format!("no temp dir: {e}")))?;
        let mut server = Self {
            port: 0,
            dir,
            persistent,
            password,
            child: None,
        };
        // A free port can be taken between asking and binding: try a few.
        let mut last = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| failed("redis-server did not start".into())))
    }

    /// `redis://[:password@]127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (as a crash would: no final save beyond what persistence wrote).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port and directory (so it reloads what it persisted).
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await;
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut command = Command::new(binary());
        command
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .arg("--appendonly")
            .arg(if self.persistent { "yes" } else { "no" })
            .arg("--appendfsync")
            .arg("always")
            .args(
                self.password
                    .iter()
                    .flat_map(|p| ["--requirepass".to_owned(), p.clone()]),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            failed(format!(
                "cannot run redis-server ({e}); install it (Debian: apt-get install redis-server)"
            ))
        })?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        for _ in 0..STARTUP_POLLS {
            if TcpStream::connect_timeout(&addr, POLL_EVERY).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(failed(format!("redis-server exited at start: {status}")));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        let _ = child.kill().await;
        Err(failed(format!(
            "redis-server did not listen on {addr} within 5 s"
        )))
    }
}

/// `redis-server` from `REDIS_SERVER` or the `PATH`.
fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| failed(format!("no free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| failed(format!("no free port: {e}")))
}

fn failed(message: String) -> Error {
    Error::config(message)
}
