//! [`Suite`]: every case against every registered provider, one test per (case, provider),
//! on libtest-mimic so tests are made at run time from the registry and skips show as
//! `ignored` with their reason.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use utilconnect::{Capability, ErrorKind};

use crate::cases;
use crate::harness::{CALLBACK, Harness};
use crate::outcome::{CaseResult, Failure, check, expect_kind};

type CaseFuture<'a> = Pin<Box<dyn Future<Output = CaseResult> + 'a>>;

/// One case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's name (the `<case>` of `<case>@<provider>`).
    pub name: &'static str,
    /// Capabilities a provider must declare for the case to run.
    pub needs: &'static [Capability],
    /// Capabilities that make the case meaningless (e.g. no token call to fault).
    pub not_with: &'static [Capability],
    run: for<'a> fn(&'a Harness) -> CaseFuture<'a>,
}

impl Case {
    /// Runs the case against `harness`.
    pub async fn run(&self, harness: &Harness) -> CaseResult {
        (self.run)(harness).await
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("needs", &self.needs)
            .finish()
    }
}

macro_rules! case {
    ($name:ident, [$($need:ident),*]) => {
        case!($name, [$($need),*], not with [])
    };
    ($name:ident, [$($need:ident),*], not with [$($not:ident),*]) => {
        Case {
            name: stringify!($name),
            needs: &[$(Capability::$need),*],
            not_with: &[$(Capability::$not),*],
            run: |h| Box::pin(cases::$name(h)),
        }
    };
}

/// Every case, in the order they run.
pub const CASES: &[Case] = &[
    case!(registry, []),
    case!(happy_path, []),
    case!(connect_url, []),
    case!(state, []),
    case!(cancel, [UserCancel]),
    case!(wrong_credentials, [CredentialRetry]),
    case!(expiry, []),
    case!(faults_create_token, [], not with [LocalToken]),
    case!(faults_complete, []),
    case!(secrets, []),
    case!(concurrency, []),
    case!(connection_reuse, []),
    case!(unknown_route, []),
    case!(refresh, [Refresh]),
    case!(webhook_verified, [Webhooks]),
    case!(webhook_tampered, [Webhooks]),
    case!(webhook_replay, [Webhooks]),
    case!(webhook_duplicate, [Webhooks]),
];

/// The environment variable that turns on live mode for one provider.
pub const LIVE_ENV: &str = "UTILCONNECT_LIVE";

/// The environment variable with the options (a JSON object) live flows start with, for a
/// configuration whose flows need some (e.g. Flatpeak's busbar needs a `location_id`).
pub const LIVE_OPTIONS_ENV: &str = "UTILCONNECT_LIVE_OPTIONS";

/// The whole suite, ready to run from a `harness = false` test.
///
/// ```no_run
/// // tests/conformance.rs of a provider crate, with `harness = false` in Cargo.toml:
/// use my_provider as _; // link the provider (and its sandbox) into the test binary
///
/// fn main() {
///     utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
///         .only(&["my-provider"])
///         .run();
/// }
/// # mod my_provider {}
/// ```
#[derive(Debug, Clone)]
pub struct Suite {
    snapshot_dir: PathBuf,
    only: Option<Vec<String>>,
    expected: Option<Vec<String>>,
}

impl Suite {
    /// A suite whose snapshots live in `<manifest_dir>/tests/snapshots`.
    pub fn new(manifest_dir: impl Into<PathBuf>) -> Self {
        Self {
            snapshot_dir: manifest_dir.into().join("tests").join("snapshots"),
            only: None,
            expected: None,
        }
    }

    /// Keeps snapshots in `dir` instead.
    pub fn snapshot_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.snapshot_dir = dir.into();
        self
    }

    /// Runs only these providers (default: every registered one with a sandbox).
    pub fn only(mut self, providers: &[&str]) -> Self {
        self.only = Some(providers.iter().map(|p| (*p).to_owned()).collect());
        self
    }

    /// Adds a test that the registered providers are exactly `names` (catches a provider
    /// whose registration the linker dropped).
    pub fn expect_providers(mut self, names: &[&str]) -> Self {
        self.expected = Some(names.iter().map(|p| (*p).to_owned()).collect());
        self
    }

    /// The providers the suite will run.
    pub fn providers(&self) -> Vec<&'static str> {
        utilconnect_sandbox::sandboxes()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|s| s.provider())
            .filter(|p| {
                self.only
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|o| o == p))
            })
            .collect()
    }

    /// The tests, one per (case, provider), plus live and registration checks.
    pub fn trials(&self) -> Vec<Trial> {
        let mut trials = Vec::new();
        if let Some(expected) = self.expected.clone() {
            trials.push(Trial::test("registered_providers", move || {
                let registered: Vec<String> = utilconnect::providers()
                    .map_err(|e| Failed::from(e.to_string()))?
                    .iter()
                    .map(|d| d.name().to_owned())
                    .collect();
                if registered == expected {
                    Ok(())
                } else {
                    Err(format!("registered {registered:?}, expected {expected:?}").into())
                }
            }));
        }
        for provider in self.providers() {
            let capabilities = match capabilities_of(provider) {
                Ok(capabilities) => capabilities,
                Err(failure) => {
                    // The provider cannot even start: every case fails, none is skipped.
                    for case in CASES {
                        let message = failure.clone();
                        trials.push(Trial::test(
                            format!("{}@{provider}", case.name),
                            move || Err(message.into()),
                        ));
                    }
                    continue;
                }
            };
            let variants = utilconnect_sandbox::sandbox(provider)
                .map(|d| d.variants())
                .unwrap_or_default();
            trials.extend(case_trials(
                provider,
                None,
                &capabilities,
                &self.snapshot_dir,
            ));
            for variant in variants {
                let kept: Vec<Capability> = capabilities
                    .iter()
                    .filter(|c| !variant.lacks().contains(c))
                    .copied()
                    .collect();
                trials.extend(case_trials(
                    provider,
                    Some(variant.name()),
                    &kept,
                    &self.snapshot_dir,
                ));
            }
            trials.extend(live_trials(provider));
        }
        trials
    }

    /// Runs the suite with libtest's command-line arguments and exits with its status.
    pub fn run(self) -> ! {
        let arguments = Arguments::from_args();
        libtest_mimic::run(&arguments, self.trials()).exit()
    }
}

/// One trial per case for `provider` (in its sandbox `variant`, if any), named
/// `case@provider` or `case@provider+variant`; cases needing a capability it lacks are
/// skipped, with the reason.
fn case_trials(
    provider: &'static str,
    variant: Option<&'static str>,
    capabilities: &[Capability],
    snapshot_dir: &std::path::Path,
) -> Vec<Trial> {
    let target = match variant {
        Some(variant) => format!("{provider}+{variant}"),
        None => provider.to_owned(),
    };
    let mut trials = Vec::new();
    for case in CASES {
        let name = format!("{}@{target}", case.name);
        let missing: Vec<_> = case
            .needs
            .iter()
            .filter(|need| !capabilities.contains(need))
            .collect();
        let excluded: Vec<_> = case
            .not_with
            .iter()
            .filter(|not| capabilities.contains(not))
            .collect();
        let skip = match (missing.is_empty(), excluded.is_empty()) {
            (false, _) => Some(format!("lacks {missing:?}")),
            (true, false) => Some(format!("has {excluded:?}")),
            (true, true) => None,
        };
        if let Some(why) = skip {
            let reason = format!("skipped: {target} {why}");
            trials.push(
                Trial::test(name, move || Err(reason.into()))
                    .with_kind(format!("skipped: {why}"))
                    .with_ignored_flag(true),
            );
            continue;
        }
        let case = *case;
        let snapshot_dir = snapshot_dir.to_owned();
        trials.push(Trial::test(name.clone(), move || {
            run_case(&case, provider, variant, &name, &snapshot_dir)
        }));
    }
    trials
}

/// A runtime with workers, so the sandbox's server tasks run beside the case (which is
/// polled on this thread, where [`LogCapture`](utilconnect_sandbox::LogCapture) listens).
fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("no tokio runtime: {e}")))
}

/// The capabilities `provider` declares, read from its registered descriptor.
fn capabilities_of(provider: &str) -> Result<Vec<Capability>, String> {
    utilconnect::provider(provider)
        .map(|descriptor| descriptor.capabilities().to_vec())
        .map_err(|e| e.to_string())
}

fn run_case(
    case: &Case,
    provider: &str,
    variant: Option<&str>,
    name: &str,
    snapshot_dir: &std::path::Path,
) -> Result<(), Failed> {
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let harness = Harness::start_variant(provider, variant).await?;
        case.run(&harness).await
    });
    let snapshot = result.map_err(|failure| Failed::from(failure.to_string()))?;
    if let Some(value) = snapshot {
        assert_snapshot(name, &value, snapshot_dir)?;
    }
    Ok(())
}

/// Compares `value` with the committed snapshot `name` (new or changed snapshots fail under
/// `CI=true`; locally insta writes `.snap.new` files to review).
fn assert_snapshot(name: &str, value: &Value, dir: &std::path::Path) -> Result<(), Failed> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_json_snapshot!(name, value));
    }));
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "snapshot assertion failed".to_owned());
        Failed::from(format!("snapshot `{name}`: {message}"))
    })
}

/// A case against the real vendor.
type LiveCase = fn(&'static str) -> Result<(), Failure>;

fn live_trials(provider: &'static str) -> Vec<Trial> {
    let enabled = std::env::var(LIVE_ENV).is_ok_and(|v| v == provider);
    let how = format!(
        "skipped: live mode is off; set {LIVE_ENV}={provider} and the provider's real credentials \
         (UTILCONNECT_PROVIDERS__{}__…) to run against the vendor",
        provider.to_ascii_uppercase()
    );
    let live: [(&str, LiveCase); 2] = [
        ("live_token_and_url", live_token_and_url),
        ("live_bad_credentials", live_bad_credentials),
    ];
    live.into_iter()
        .map(|(case, run)| {
            let name = format!("{case}@{provider}");
            if enabled {
                Trial::test(name, move || {
                    run(provider).map_err(|f| Failed::from(f.to_string()))
                })
            } else {
                let how = how.clone();
                Trial::test(name, move || Err(how.into()))
                    .with_kind("skipped: live mode off")
                    .with_ignored_flag(true)
            }
        })
        .collect()
}

fn live_config(provider: &str) -> Result<utilconnect::ProviderConfig, Failure> {
    let config = utilconnect::Config::load().map_err(Failure::from)?;
    Ok(config.provider_config(provider))
}

/// The options of [`LIVE_OPTIONS_ENV`] (none when unset).
fn live_options() -> Result<utilconnect::Options, Failure> {
    options_from(std::env::var(LIVE_OPTIONS_ENV).ok().as_deref())
}

fn options_from(text: Option<&str>) -> Result<utilconnect::Options, Failure> {
    match text {
        None => Ok(utilconnect::Options::new()),
        Some(text) => serde_json::from_str(text)
            .map_err(|_| Failure::new(format!("{LIVE_OPTIONS_ENV} must be a JSON object"))),
    }
}

/// Live: the real vendor issues a token and the connect URL has the documented shape.
fn live_token_and_url(provider: &'static str) -> Result<(), Failure> {
    let runtime = runtime().map_err(|_| Failure::new("no tokio runtime"))?;
    runtime.block_on(async {
        let built = utilconnect::build_provider(provider, &live_config(provider)?)?;
        let connector = utilconnect::Connector::new(built);
        let started = connector
            .start_with("utilconnect-conformance-live", CALLBACK, live_options()?)
            .await
            .map_err(Failure::from)?;
        check(
            started.connect_url.expose().scheme() == "https",
            "the live connect URL is not https",
        )?;
        check(
            started.expires_at > std::time::SystemTime::now(),
            "the live token is already expired",
        )
    })
}

/// Live: wrong secrets give the unauthorized kind, not a panic or a decode error.
fn live_bad_credentials(provider: &'static str) -> Result<(), Failure> {
    let runtime = runtime().map_err(|_| Failure::new("no tokio runtime"))?;
    runtime.block_on(async {
        let descriptor = utilconnect::provider(provider).map_err(Failure::from)?;
        let wrong: serde_json::Map<String, Value> = descriptor
            .config_keys()
            .iter()
            .filter(|k| k.secret)
            .map(|k| {
                (
                    k.name.to_owned(),
                    Value::String("invalid-conformance-secret".into()),
                )
            })
            .collect();
        let table = live_config(provider)?.merged(Value::Object(wrong));
        let built = descriptor.build(&table).map_err(Failure::from)?;
        let connector = utilconnect::Connector::new(built);
        let result = connector
            .start_with("utilconnect-conformance-live", CALLBACK, live_options()?)
            .await;
        expect_kind(result, ErrorKind::Unauthorized, "wrong credentials").map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_options_are_a_json_object_or_nothing() {
        assert!(options_from(None).unwrap().is_empty());
        let options = options_from(Some(r#"{"location_id": "loc_1"}"#)).unwrap();
        assert_eq!(options["location_id"], "loc_1");
        for bad in ["[1]", "loc_1", ""] {
            let err = options_from(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("UTILCONNECT_LIVE_OPTIONS"), "{bad}: {err}");
        }
    }
}
