//! Serves the Flatpeak sandbox on a fixed loopback port so a person can click through the
//! hosted Connect pages in a browser.
//!
//! ```text
//! cargo run -p utilconnect-flatpeak --features sandbox --example flatpeak-sandbox [-- PORT]
//! ```
//!
//! It prints a provider table pointing at the emulator and a fresh connect URL; open the URL,
//! enter any address, pick a provider, log in with `customer@example.com` / `password`, and
//! Save: the browser lands on the callback with `fp_cot`.

use std::net::{Ipv4Addr, SocketAddr};

use utilconnect::Connector;
use utilconnect::sandbox::Sandbox;
use utilconnect_flatpeak::FlatpeakProvider;
use utilconnect_flatpeak::sandbox::{FlatpeakSandbox, SandboxOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("`{arg}` is not a port number"))?,
        None => 7420,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sandbox = FlatpeakSandbox::start_with(SandboxOptions::default(), Some(addr)).await?;
    let options = sandbox.options();
    println!("Flatpeak sandbox on {}", sandbox.base_url());
    println!();
    println!("[providers.flatpeak]");
    println!("account_id = \"{}\"", options.account_id);
    println!(
        "api_key = \"{}\"   # sandbox-only test value",
        options.api_key
    );
    println!("api_base_url = \"{}\"", sandbox.base_url());
    println!("connect_web_url = \"{}\"", sandbox.connect_web_url());
    println!();

    let provider = FlatpeakProvider::from_config(&sandbox.provider_config())?;
    let connector = Connector::new(std::sync::Arc::new(provider));
    let started = connector
        .start("browser-user", "https://app.example/callback")
        .await?;
    println!("Open this in a browser (valid 24 hours):");
    println!("{}", started.connect_url.expose());
    println!();
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
