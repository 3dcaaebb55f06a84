//! The binaries' logs: what `-v` (or `RUST_LOG`) shows of a whole flow says its steps and
//! never a secret, and nothing is logged by default.

use std::io::Write;
use std::sync::{Arc, Mutex};

use utilconnect_examples::{log_subscriber, sandbox_target};
use utilconnect_sandbox::UserAction;

/// Everything written to it, for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// One whole flow for `provider` under the binaries' subscriber at `verbosity`; the log.
async fn flow_log(provider: &str, verbosity: u8) -> (String, Vec<String>) {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(log_subscriber(verbosity, captured.clone()));
    let target = sandbox_target(provider).await.unwrap();
    let sandbox = target.sandbox.as_ref().unwrap();
    let started = target
        .connector
        .start("log-user", "https://app.example/cb")
        .await
        .unwrap();
    let callback = sandbox
        .act(started.connect_url.expose(), UserAction::Approve)
        .await
        .unwrap();
    target.connector.finish(callback.as_str()).await.unwrap();
    (captured.text(), sandbox.known_secrets())
}

#[tokio::test]
async fn verbose_logs_show_every_step_of_a_flow_and_no_secret() {
    // RUST_LOG would override the verbosity under test.
    assert!(
        std::env::var_os("RUST_LOG").is_none(),
        "unset RUST_LOG to run this test"
    );
    for provider in ["pelm", "flatpeak", "greenbutton"] {
        let (log, secrets) = flow_log(provider, 2).await;
        for step in [
            "utilconnect.start",
            "flow started",
            "utilconnect.finish",
            "flow finished",
        ] {
            assert!(log.contains(step), "{provider}: no `{step}` in:\n{log}");
        }
        assert!(secrets.len() >= 3, "{provider}: too few secrets to check");
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "{provider}: a secret is in the log:\n{log}"
            );
        }
        let (quiet, _) = flow_log(provider, 0).await;
        assert!(quiet.is_empty(), "{provider}: logged by default:\n{quiet}");
    }
}
