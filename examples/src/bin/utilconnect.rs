//! `utilconnect`: a CLI for checking providers and real credentials.
//!
//! ```text
//! utilconnect providers                               registered providers and their config keys
//! utilconnect token [--user U] [--callback URL]       create a token, print the connect URL
//! utilconnect complete <callback-url>                 finish a flow started by `token`
//! utilconnect flow [--port P]                         loopback callback: open the URL, come back
//! utilconnect flow --sandbox --auto                   the whole flow against the embedded sandbox
//! utilconnect sandbox <provider> [--port P]           serve an emulator for a person to click
//! ```
//!
//! The provider and its credentials come from `utilconnect.toml` / `UTILCONNECT_*`
//! (`--provider` overrides the name). `token` keeps the pending session (no secrets: digests
//! only) for `complete` in the store `[session_store]` configures (e.g. Redis), or else, since
//! an in-memory store ends with the process, in the directory `.utilconnect-sessions/`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use utilconnect::{Config, Connection, Connector, Error, ErrorKind, Operation, Options, Result};
use utilconnect_examples::file_store::FileSessionStore;
use utilconnect_examples::{
    Target, chosen_or_first_sandbox, chosen_provider, explain, live_target, sandbox_target,
};
use utilconnect_sandbox::UserAction;

/// Check utility-data providers and credentials.
#[derive(Debug, Parser)]
#[command(name = "utilconnect", version)]
struct Cli {
    /// Provider to use (default: `provider` from config).
    #[arg(long, global = true)]
    provider: Option<String>,
    /// Show the SDK's steps on standard error (-vv: more detail). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List registered providers and their config keys.
    Providers,
    /// Create a connect token with the configured credentials and print the connect URL.
    Token {
        /// Your id for the user.
        #[arg(long, default_value = "cli-user")]
        user: String,
        /// Where the vendor sends the user back.
        #[arg(long, default_value = "http://127.0.0.1:8765/callback")]
        callback: String,
        /// Vendor options as key=value (e.g. utility_slug=pge).
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Where to keep the pending session, unless `[session_store]` names a shared store.
        #[arg(long, default_value = ".utilconnect-sessions")]
        sessions: PathBuf,
    },
    /// Finish a flow started by `token`, from the URL the browser came back to.
    Complete {
        /// The full callback URL.
        callback_url: String,
        /// Where `token` kept the pending session, unless `[session_store]` names a shared store.
        #[arg(long, default_value = ".utilconnect-sessions")]
        sessions: PathBuf,
    },
    /// Run a whole flow with a loopback callback listener.
    Flow {
        /// Your id for the user.
        #[arg(long, default_value = "cli-user")]
        user: String,
        /// Port of the callback listener (0: any free port).
        #[arg(long, default_value_t = 8765)]
        port: u16,
        /// Use the provider's embedded sandbox instead of the real vendor.
        #[arg(long)]
        sandbox: bool,
        /// With --sandbox: let the sandbox's end user approve instead of a browser.
        #[arg(long, requires = "sandbox")]
        auto: bool,
        /// Give up waiting for the browser after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Serve a provider's emulator on a fixed port.
    Sandbox {
        /// The provider whose emulator to serve.
        name: String,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 7400)]
        port: u16,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = tracing::subscriber::set_global_default(utilconnect_examples::log_subscriber(
        cli.verbose,
        std::io::stderr,
    ));
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", explain(&err));
            ExitCode::FAILURE
        }
    }
}

fn step(message: &str) {
    eprintln!("… {message}");
}

/// A connector whose pending sessions outlive this process: the configured store when
/// `[session_store]` names one other than memory, else files in `sessions`. Also says where.
fn connector_between_processes(
    config: &Config,
    name: &str,
    sessions: &std::path::Path,
) -> Result<(Connector, String)> {
    let builder = Connector::builder_from_config(&config.clone().with_provider(name))?;
    let table: serde_json::Value = config.session_store_config().extract()?;
    match table.get("kind").and_then(serde_json::Value::as_str) {
        Some(kind) if kind != utilconnect::DEFAULT_STORE_KIND => {
            Ok((builder.build(), format!("the `{kind}` session store")))
        }
        _ => Ok((
            builder
                .store(Arc::new(FileSessionStore::new(sessions)))
                .build(),
            format!("{}/", sessions.display()),
        )),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let config = Config::load()?;
    match cli.command {
        Command::Providers => providers(),
        Command::Token {
            user,
            callback,
            options,
            sessions,
        } => {
            let name = chosen_provider(cli.provider.as_deref(), &config)?;
            let (connector, kept_in) = connector_between_processes(&config, &name, &sessions)?;
            step(&format!("creating a {name} connect token"));
            let started = connector
                .start_with(&user, &callback, parse_options(&options)?)
                .await?;
            eprintln!("pending session kept in {kept_in} (no secrets)");
            println!("{}", started.connect_url.expose());
            Ok(())
        }
        Command::Complete {
            callback_url,
            sessions,
        } => {
            let name = chosen_provider(cli.provider.as_deref(), &config)?;
            let (connector, _) = connector_between_processes(&config, &name, &sessions)?;
            step(&format!("completing the {name} flow"));
            let connection = connector.finish(&callback_url).await?;
            print_connection(&connection);
            Ok(())
        }
        Command::Flow {
            user,
            port,
            sandbox,
            auto,
            timeout,
        } => {
            let target = if sandbox {
                let name = chosen_or_first_sandbox(cli.provider.as_deref(), &config)?;
                step(&format!("starting the {name} sandbox"));
                sandbox_target(&name).await?
            } else {
                live_target(&chosen_provider(cli.provider.as_deref(), &config)?, &config)?
            };
            flow(&target, &user, port, auto, Duration::from_secs(timeout)).await
        }
        Command::Sandbox { name, port } => serve_sandbox(&name, port).await,
    }
}

fn providers() -> Result<()> {
    let sandboxes: Vec<&str> = utilconnect_sandbox::sandboxes()?
        .iter()
        .map(|s| s.provider())
        .collect();
    for descriptor in utilconnect::providers()? {
        let sandbox = if sandboxes.contains(&descriptor.name()) {
            " (sandbox available)"
        } else {
            ""
        };
        println!(
            "{}: {}{sandbox}",
            descriptor.name(),
            descriptor.description()
        );
        for key in descriptor.config_keys() {
            let mut marks = Vec::new();
            if key.required {
                marks.push("required");
            }
            if key.secret {
                marks.push("secret: prefer the environment");
            }
            let marks = if marks.is_empty() {
                String::new()
            } else {
                format!(" [{}]", marks.join(", "))
            };
            println!("  {:<22} {}{marks}", key.name, key.description);
        }
    }
    Ok(())
}

fn parse_options(pairs: &[String]) -> Result<Options> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    Operation::CreateToken,
                    format!("option `{pair}` is not KEY=VALUE"),
                )
            })?;
            // JSON values (numbers, objects) where they parse, plain strings otherwise.
            let value = serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
            Ok((key.to_owned(), value))
        })
        .collect()
}

async fn flow(target: &Target, user: &str, port: u16, auto: bool, wait: Duration) -> Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| Error::config(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::config(e.to_string()))?;
    let callback = format!("http://{local}/callback");
    let name = target.connector.provider().descriptor().name();
    step(&format!("creating a {name} connect token"));
    let started = target.connector.start(user, &callback).await?;

    let returned = match (&target.sandbox, auto) {
        (Some(sandbox), true) => {
            step("the sandbox's end user is approving on the hosted pages");
            sandbox
                .act(started.connect_url.expose(), UserAction::Approve)
                .await?
                .to_string()
        }
        _ => {
            println!(
                "open this URL in a browser:\n{}",
                started.connect_url.expose()
            );
            step(&format!(
                "waiting for the browser to come back to {callback}"
            ));
            tokio::time::timeout(wait, accept_callback(&listener))
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        Operation::Complete,
                        format!(
                            "no browser came back within {}s (give more with --timeout)",
                            wait.as_secs()
                        ),
                    )
                })??
        }
    };
    step("completing the flow");
    let connection = target.connector.finish(&returned).await?;
    print_connection(&connection);
    Ok(())
}

/// Waits for one `GET /callback?…` on `listener`, answers it with a short page, and returns
/// the request target.
async fn accept_callback(listener: &TcpListener) -> Result<String> {
    loop {
        let (mut socket, _) = listener
            .accept()
            .await
            .map_err(|e| Error::config(format!("callback listener failed: {e}")))?;
        // Read the request line; a browser's idle pre-connection must not block the listener.
        let mut buffer = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        while !buffer.windows(2).any(|w| w == b"\r\n") && buffer.len() < 16 * 1024 {
            match tokio::time::timeout(Duration::from_secs(2), socket.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        let request = String::from_utf8_lossy(&buffer).into_owned();
        let target = request
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap_or_default()
            .to_owned();
        let body = if target.starts_with("/callback") {
            "You can close this tab and return to the terminal."
        } else {
            "Waiting for the provider's callback."
        };
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(reply.as_bytes()).await;
        if target.starts_with("/callback") {
            return Ok(target);
        }
    }
}

async fn serve_sandbox(name: &str, port: u16) -> Result<()> {
    utilconnect::provider(name)?;
    step(&format!("starting the {name} sandbox on 127.0.0.1:{port}"));
    utilconnect_sandbox::serve_for_a_person(name, port).await
}

fn print_connection(connection: &Connection) {
    println!(
        "connected: {} for {}",
        connection.provider(),
        connection.user_id()
    );
    for (name, id) in connection.vendor_ids() {
        println!("  {name}: {id}");
    }
    let data = match connection.data_status() {
        utilconnect::DataStatus::Pending => {
            "pending (linked; the vendor is still loading the data: ask again in a few minutes)"
        }
        _ => "ready (the vendor has the data now)",
    };
    let mode = match connection.mode() {
        utilconnect::Mode::Live => "live (real customer data)",
        utilconnect::Mode::Test => "test (the vendor's test mode)",
        _ => "not reported by this vendor",
    };
    println!("  data: {data}");
    println!("  mode: {mode}");
    if connection.credentials().is_some() {
        println!("  access credentials: received (not printed)");
    }
}
