//! The example web app.
//!
//! ```text
//! cargo run -p utilconnect-examples --bin webapp                      # provider's sandbox
//! cargo run -p utilconnect-examples --bin webapp -- --provider pelm --port 8080
//! cargo run -p utilconnect-examples --bin webapp -- --live            # real vendor from config
//! ```

use std::net::{Ipv4Addr, SocketAddr};

use clap::Parser;
use utilconnect::Config;
use utilconnect_examples::webapp::{WebApp, serve};
use utilconnect_examples::{
    chosen_or_first_sandbox, chosen_provider, explain, live_target, sandbox_target,
};

/// Serve the example app.
#[derive(Debug, Parser)]
struct Args {
    /// Provider to use (default: from config, else the first registered).
    #[arg(long)]
    provider: Option<String>,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Use the real vendor with credentials from utilconnect.toml / UTILCONNECT_* instead of
    /// the embedded sandbox.
    #[arg(long)]
    live: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = tracing::subscriber::set_global_default(utilconnect_examples::log_subscriber(
        0,
        std::io::stderr,
    ));
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", explain(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> utilconnect::Result<()> {
    let config = Config::load()?;
    let (provider, target) = if args.live {
        let provider = chosen_provider(args.provider.as_deref(), &config)?;
        let target = live_target(&provider, &config)?;
        (provider, target)
    } else {
        let provider = chosen_or_first_sandbox(args.provider.as_deref(), &config)?;
        let target = sandbox_target(&provider).await?;
        (provider, target)
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let connector = target.connector.clone();
    let on_sandbox = target.sandbox.is_some();
    let (url, task) = serve(addr, |base| match on_sandbox {
        true => WebApp::on_sandbox(connector, base),
        false => WebApp::new(connector, base),
    })
    .await
    .map_err(|e| utilconnect::Error::config(format!("cannot listen on {addr}: {e}")))?;
    match &target.sandbox {
        Some(sandbox) => {
            println!("{provider} sandbox on {}", sandbox.base_url());
            // The sandbox sends its webhooks to this app, as the vendor would.
            if let Ok(route) = url.join(&format!("/webhooks/{provider}")) {
                if sandbox.send_webhooks_to(&route) {
                    println!("{provider} sandbox sends webhooks to {route}");
                }
            }
        }
        None => println!("{provider}: live vendor (webhook route: /webhooks/{provider})"),
    }
    println!("open {url}  (Ctrl-C to stop)");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = task => {}
    }
    Ok(())
}
