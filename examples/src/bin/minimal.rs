//! The smallest app: the program the README and the `utilconnect` crate docs show, built in
//! every test run so it stays copy-paste correct.
//!
//! ```text
//! UTILCONNECT_PROVIDER=pelm UTILCONNECT_PROVIDERS__PELM__CLIENT_ID=… \
//!   UTILCONNECT_PROVIDERS__PELM__CLIENT_SECRET=… cargo run -p utilconnect-examples --bin minimal
//! ```

use utilconnect::{Config, Connector};
// Link the providers you want: a crate never named in code is not linked.
use utilconnect_flatpeak as _;
use utilconnect_greenbutton as _;
use utilconnect_pelm as _;

#[tokio::main]
async fn main() -> utilconnect::Result<()> {
    let connector = Connector::from_config(&Config::load()?)?;

    // "Connect your utility account" clicked: send the browser to the vendor.
    let started = connector
        .start("user-42", "https://app.example/utility/callback")
        .await?;
    println!("redirect the browser to {}", started.connect_url.expose());

    // The vendor sends the browser back to /utility/callback?…; paste that URL here.
    let mut callback = String::new();
    std::io::stdin()
        .read_line(&mut callback)
        .map_err(|e| utilconnect::Error::config(format!("cannot read the callback URL: {e}")))?;
    let connection = connector.finish(callback.trim()).await?;
    println!(
        "linked {} at {}",
        connection.user_id(),
        connection.provider()
    );
    Ok(())
}
