//! The quickstart: the full Connect flow for every registered provider, against the
//! providers' embedded sandboxes, through the same app code. No config, no credentials.
//!
//! ```text
//! cargo run -p utilconnect-examples --bin quickstart
//! UTILCONNECT_PROVIDER=pelm cargo run -p utilconnect-examples --bin quickstart
//! ```
//!
//! Exits non-zero if any flow fails.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use utilconnect::{Config, Connection, Connector, Result};
use utilconnect_sandbox::{Sandbox, SandboxDescriptor, UserAction};
// A provider crate never named in code is not linked, and its registration vanishes.
use utilconnect_flatpeak as _;
use utilconnect_greenbutton as _;
use utilconnect_pelm as _;

/// The app's own callback route; the sandboxes redirect here and the quickstart catches it.
const CALLBACK: &str = "https://app.example/utility/callback?tenant=demo";

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG=utilconnect=info shows the SDK's steps on standard error.
    let _ = tracing::subscriber::set_global_default(utilconnect_examples::log_subscriber(
        0,
        std::io::stderr,
    ));
    let chosen = match chosen_provider() {
        Ok(chosen) => chosen,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let registered = match utilconnect_sandbox::sandboxes() {
        Ok(registered) => registered,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let sandboxes: Vec<&SandboxDescriptor> = registered
        .into_iter()
        .filter(|s| chosen.as_deref().is_none_or(|c| c == s.provider()))
        .collect();
    if sandboxes.is_empty() {
        eprintln!(
            "error: no provider sandbox is registered{}; registered providers: {:?}",
            chosen.map(|c| format!(" for `{c}`")).unwrap_or_default(),
            utilconnect::providers()
                .map(|all| all.iter().map(|d| d.name()).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        return ExitCode::FAILURE;
    }

    let mut rows = Vec::new();
    let mut failed = false;
    for descriptor in sandboxes {
        let provider = descriptor.provider();
        println!("== {provider}");
        let started = Instant::now();
        match run_flow(descriptor).await {
            Ok(connection) => rows.push(Row::ok(&connection, started.elapsed())),
            Err(err) => {
                println!("   failed: {err}");
                rows.push(Row::failed(provider, &err, started.elapsed()));
                failed = true;
            }
        }
    }
    print_table(&rows);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `UTILCONNECT_PROVIDER` or `provider = …` in `utilconnect.toml`, if either is set.
fn chosen_provider() -> Result<Option<String>> {
    let config = Config::load()?;
    Ok(config.provider_name().ok().map(str::to_owned))
}

/// The app code: identical for every vendor.
async fn run_flow(descriptor: &SandboxDescriptor) -> Result<Connection> {
    let sandbox: Box<dyn Sandbox> = descriptor.start().await?;
    println!("   sandbox listening on {}", sandbox.base_url());

    let provider = utilconnect::build_provider(descriptor.provider(), &sandbox.provider_config())?;
    let connector = Connector::new(provider);

    let started = connector.start("quickstart-user", CALLBACK).await?;
    println!(
        "   1. token created; send the user to {}",
        started.connect_url
    );

    let callback = sandbox
        .act(started.connect_url.expose(), UserAction::Approve)
        .await?;
    println!(
        "   2. the user approved; the vendor sent them back to {}",
        callback.path()
    );

    let connection = connector.finish(callback.as_str()).await?;
    println!("   3. connection completed for {}", connection.user_id());
    Ok(connection)
}

struct Row {
    provider: String,
    user: String,
    ids: String,
    data: String,
    took: Duration,
}

impl Row {
    fn ok(connection: &Connection, took: Duration) -> Self {
        let ids = connection
            .vendor_ids()
            .iter()
            .map(|(k, v)| format!("{k}={}", shortened(v)))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            provider: connection.provider().to_owned(),
            user: connection.user_id().to_owned(),
            ids: match (ids.is_empty(), connection.credentials().is_some()) {
                (false, _) => ids,
                (true, true) => "credentials".into(),
                (true, false) => "-".into(),
            },
            data: format!("{:?}", connection.data_status()).to_lowercase(),
            took,
        }
    }

    fn failed(provider: &str, err: &utilconnect::Error, took: Duration) -> Self {
        Self {
            provider: provider.to_owned(),
            user: "-".into(),
            ids: format!("FAILED ({})", err.kind()),
            data: "-".into(),
            took,
        }
    }
}

/// An id as the table shows it: whole if short, else its start and an ellipsis (URLs and
/// scopes would stretch the table past any terminal).
fn shortened(value: &str) -> String {
    const MAX: usize = 32;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

fn print_table(rows: &[Row]) {
    let header = ["provider", "user", "connection ids", "data", "time"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.provider.clone(),
                r.user.clone(),
                r.ids.clone(),
                r.data.clone(),
                format!("{}ms", r.took.as_millis()),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].len())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |c: [&str; 5]| {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        )
    };
    println!();
    line(header);
    for c in &cells {
        line([&c[0], &c[1], &c[2], &c[3], &c[4]]);
    }
    println!(
        "\ndata: ready = the vendor has the user's data now; pending = the account is linked and \
         the vendor is still loading it (Pelm: a few minutes; ask again later).\n\
         connection ids: what the vendor identifies the link by; \"credentials\" = the vendor \
         issued access tokens instead (kept by the app, never printed)."
    );
}
