//! Serves the Pelm sandbox on a fixed loopback port so a person can click through the hosted
//! pages in a browser.
//!
//! ```text
//! cargo run -p utilconnect-pelm --features sandbox --example pelm-sandbox [-- PORT]
//! ```
//!
//! It prints a provider table pointing at the emulator and a fresh connect URL; open the URL,
//! log in with `user@pelm.com` / `password`, and the browser lands on the callback with a code.

use std::net::{Ipv4Addr, SocketAddr};

use utilconnect::Connector;
use utilconnect::sandbox::Sandbox;
use utilconnect_pelm::PelmProvider;
use utilconnect_pelm::sandbox::{PelmSandbox, SandboxOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("`{arg}` is not a port number"))?,
        None => 7410,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sandbox = PelmSandbox::start_with(SandboxOptions::default(), Some(addr)).await?;
    let options = sandbox.options();
    println!("Pelm sandbox on {}", sandbox.base_url());
    println!();
    println!("[providers.pelm]");
    println!("client_id = \"{}\"", options.client_id);
    println!(
        "client_secret = \"{}\"   # sandbox-only test value",
        options.client_secret
    );
    println!("api_base_url = \"{}\"", sandbox.base_url());
    println!("connect_base_url = \"{}\"", sandbox.connect_base_url());
    println!();

    let provider = PelmProvider::from_config(&sandbox.provider_config())?;
    let connector = Connector::new(std::sync::Arc::new(provider));
    let started = connector
        .start("browser-user", "https://app.example/callback")
        .await?;
    println!("Open this in a browser (valid 30 minutes):");
    println!("{}", started.connect_url.expose());
    println!();
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
