//! Serves the Flatpeak sandbox on a fixed loopback port so a person can click through the
//! hosted pages in a browser.
//!
//! ```text
//! cargo run -p utilconnect-flatpeak --features sandbox --example flatpeak-sandbox [-- PORT]
//! ```
//!
//! It prints a provider table pointing at the emulator and a fresh connect URL; open the URL,
//! enter any address, pick a provider, log in with `customer@example.com` / `password`, and Save.

use utilconnect_flatpeak as _; // registers the provider and its sandbox

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("`{arg}` is not a port number"))?,
        None => 7420,
    };
    utilconnect_sandbox::serve_for_a_person("flatpeak", port).await?;
    Ok(())
}
