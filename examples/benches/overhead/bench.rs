//! [`Bench`]: one provider's sandbox, the SDK and the hand-written client, and the
//! measurements that compare them.

mod probes;
mod stores;

pub(crate) use probes::connector_alone;

use std::sync::Arc;
use std::time::{Duration, Instant};
use utilconnect::FromConfig as _;

use serde_json::Value;
use utilconnect::{Connector, Started};
use utilconnect_flatpeak::FlatpeakProvider;
use utilconnect_flatpeak::sandbox::FlatpeakSandbox;
use utilconnect_pelm::PelmProvider;
use utilconnect_pelm::sandbox::PelmSandbox;
use utilconnect_sandbox::{Sandbox, UserAction};

use crate::CALLBACK;
use crate::measure::{cpu_seconds, median, median_ratio, ms, thread_cpu, vendor_thread_cpu};
use crate::raw::Raw;
use crate::threads::vendor_runtime;

/// Distinguishes users across concurrent runs (every flow is a new user, in create mode).
static BATCH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One provider's sandbox, the SDK connector and the hand-written client, side by side.
pub(crate) struct Bench {
    provider: &'static str,
    sandbox: Box<dyn Sandbox>,
    connector: Connector,
    flatpeak: Option<Arc<FlatpeakProvider>>,
    raw: Raw,
}

impl Bench {
    pub(crate) async fn start(provider: &'static str) -> Self {
        let sandbox: Box<dyn Sandbox> = vendor_runtime()
            .spawn(async move {
                let sandbox: Box<dyn Sandbox> = match provider {
                    "pelm" => Box::new(PelmSandbox::start().await.expect("sandbox")),
                    _ => Box::new(FlatpeakSandbox::start().await.expect("sandbox")),
                };
                sandbox
            })
            .await
            .expect("sandbox task");
        let table: Value = sandbox.provider_config().extract().expect("table");
        let (connector, flatpeak) = if provider == "flatpeak" {
            let p = Arc::new(
                FlatpeakProvider::from_config(&sandbox.provider_config()).expect("provider"),
            );
            (Connector::new(p.clone()), Some(p))
        } else {
            let p =
                Arc::new(PelmProvider::from_config(&sandbox.provider_config()).expect("provider"));
            (Connector::new(p), None)
        };
        // Recording every request would grow the sandbox alike on both sides; only the login
        // count needs it (see `logins`).
        sandbox.requests().set_recording(false);
        Self {
            provider,
            sandbox,
            connector,
            flatpeak,
            raw: Raw::new(provider, &table),
        }
    }

    /// One SDK flow; the time spent in API calls (the end user's pages are not timed).
    pub(crate) async fn sdk_flow(&self, user: &str, with_login: bool) -> Duration {
        if with_login {
            if let Some(p) = &self.flatpeak {
                p.clear_bearer().await;
            }
        }
        self.flow_on(&self.connector, user).await
    }

    /// One flow through `connector`; the time spent in its calls (start and finish).
    pub(crate) async fn flow_on(&self, connector: &Connector, user: &str) -> Duration {
        let t0 = Instant::now();
        let started: Started = connector.start(user, CALLBACK).await.expect("start");
        let api = t0.elapsed();
        let callback = self
            .sandbox
            .act(started.connect_url.expose(), UserAction::Approve)
            .await
            .expect("act");
        let t1 = Instant::now();
        connector.finish(callback.as_str()).await.expect("finish");
        api + t1.elapsed()
    }

    pub(crate) async fn raw_flow(&self, user: &str, with_login: bool) -> Duration {
        let t0 = Instant::now();
        let (connect_url, auth) = self.raw.create(user, with_login).await;
        let api = t0.elapsed();
        let callback = self
            .sandbox
            .act(&connect_url, UserAction::Approve)
            .await
            .expect("act");
        let t1 = Instant::now();
        self.raw.complete(&callback, &auth).await;
        api + t1.elapsed()
    }

    pub(crate) async fn sandbox_alone(&self) {
        // The emulator's own capacity: 64 concurrent minimal token requests.
        let n = 2_000;
        let started = Instant::now();
        let raw = &self.raw;
        let users: Vec<String> = (0..n).map(|i| format!("alone-{i}")).collect();
        for chunk in users.chunks(64) {
            join_all(chunk.iter().map(|user| raw.create_only(user)).collect()).await;
        }
        let rps = n as f64 / started.elapsed().as_secs_f64();
        println!(
            "sandbox alone: {rps:.0} token requests/s at 64 concurrent (its thread's load during the concurrent flows is shown below)"
        );
    }

    pub(crate) async fn latency(&self, iterations: usize) {
        // Warm both sides (connections, caches).
        for i in 0..10 {
            self.sdk_flow(&format!("warm-sdk-{i}"), true).await;
            self.raw_flow(&format!("warm-raw-{i}"), true).await;
        }
        let mut sdk = Vec::with_capacity(iterations);
        let mut raw = Vec::with_capacity(iterations);
        for i in 0..iterations {
            // Interleaved, so drift in the machine hits both sides alike, and in turns which
            // side goes first, so neither always runs just after the other.
            if i % 2 == 0 {
                sdk.push(self.sdk_flow(&format!("lat-sdk-{i}"), true).await);
                raw.push(self.raw_flow(&format!("lat-raw-{i}"), true).await);
            } else {
                raw.push(self.raw_flow(&format!("lat-raw-{i}"), true).await);
                sdk.push(self.sdk_flow(&format!("lat-sdk-{i}"), true).await);
            }
        }
        // Each SDK run over the hand-written run next to it: drift in the machine cancels
        // within a pair, so this shows whether the ratio of medians was a fluke.
        let mut paired: Vec<f64> = sdk
            .iter()
            .zip(&raw)
            .map(|(s, r)| s.as_secs_f64() / r.as_secs_f64())
            .collect();
        let paired = median_ratio(&mut paired);
        let (s, r) = (median(&mut sdk), median(&mut raw));
        let login = if self.provider == "flatpeak" {
            " incl. /login"
        } else {
            ""
        };
        println!(
            "one flow (create token + complete{login}), median of {iterations}: utilconnect {:.3} ms, hand-written {:.3} ms, ratio {:.3} (goal <= 1.05); median of the {iterations} paired ratios {paired:.3}",
            ms(s),
            ms(r),
            s.as_secs_f64() / r.as_secs_f64()
        );
    }

    pub(crate) async fn throughput(&self, flows: usize, rounds: usize) {
        // Warm both sides (64 pooled connections each), then run paired rounds, swapping which
        // side goes first, so warm-up and drift hit both alike. The ratio is the median of the
        // rounds' ratios: a burst of load from elsewhere on the machine spoils one round, not
        // the figure.
        assert!(
            rounds >= 2 && rounds % 2 == 0 && flows % rounds == 0,
            "{flows} flows do not split into an even number ({rounds}) of equal rounds"
        );
        self.run_concurrent(128, true).await;
        self.run_concurrent(128, false).await;
        let per_round = flows / rounds;
        let (mut sdk_time, mut raw_time, mut sdk_cpu, mut raw_cpu) = (0.0, 0.0, 0.0, 0.0);
        // CPU of the app's thread and of the vendor's thread, per side: which one is the
        // bottleneck (a saturated vendor would cap both sides alike and hide the SDK's cost).
        let (mut sdk_busy, mut raw_busy) = ([Duration::ZERO; 2], [Duration::ZERO; 2]);
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (mut sdk_took, mut raw_took) = (0.0, 0.0);
            for sdk in [round % 2 == 0, round % 2 == 1] {
                let cpu = cpu_seconds();
                let (app, vendor) = (thread_cpu(), vendor_thread_cpu().await);
                let took = self.run_concurrent(per_round, sdk).await;
                let busy = [thread_cpu() - app, vendor_thread_cpu().await - vendor];
                let used = cpu_seconds() - cpu;
                let side = if sdk { &mut sdk_busy } else { &mut raw_busy };
                side[0] += busy[0];
                side[1] += busy[1];
                if sdk {
                    sdk_took = took;
                    (sdk_time, sdk_cpu) = (sdk_time + took, sdk_cpu + used);
                } else {
                    raw_took = took;
                    (raw_time, raw_cpu) = (raw_time + took, raw_cpu + used);
                }
            }
            // flows/s of the SDK over flows/s by hand, for the same number of flows.
            ratios.push(raw_took / sdk_took);
        }
        // Sorted by `median_ratio`, so the first and last are the range printed below.
        let ratio = median_ratio(&mut ratios);
        let measured = (per_round * rounds) as f64;
        let (sdk, raw) = (measured / sdk_time, measured / raw_time);
        let percent = |busy: Duration, wall: f64| busy.as_secs_f64() / wall * 100.0;
        let vendor_busy = percent(sdk_busy[1], sdk_time).max(percent(raw_busy[1], raw_time));
        let verdict = if vendor_busy < 90.0 {
            "the sandbox is not the bottleneck"
        } else {
            "WARNING: the sandbox's thread is saturated, so this ratio understates the SDK's cost"
        };
        println!(
            "64 concurrent flows, {} in all per side: utilconnect {sdk:.0} flows/s, hand-written {raw:.0} flows/s, ratio {ratio:.3} (median of {rounds} paired rounds, each {:.2} to {:.2}; goal >= 0.95); process CPU per flow (client + sandbox + pages): {:.0} us vs {:.0} us; busy: app thread {:.0}% vs {:.0}%, vendor thread {:.0}% vs {:.0}% ({verdict})",
            per_round * rounds,
            ratios[0],
            ratios[rounds - 1],
            sdk_cpu / measured * 1e6,
            raw_cpu / measured * 1e6,
            percent(sdk_busy[0], sdk_time),
            percent(raw_busy[0], raw_time),
            percent(sdk_busy[1], sdk_time),
            percent(raw_busy[1], raw_time),
        );
    }

    async fn run_concurrent(&self, flows: usize, sdk: bool) -> f64 {
        let started = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let batch = BATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let worker = || async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= flows {
                    break;
                }
                let user = format!("{}-{batch}-{i}", if sdk { "tp-sdk" } else { "tp-raw" });
                if sdk {
                    self.sdk_flow(&user, false).await;
                } else {
                    self.raw_flow(&user, false).await;
                }
            }
        };
        let workers: Vec<_> = (0..64).map(|_| worker()).collect();
        join_all(workers).await;
        started.elapsed().as_secs_f64()
    }

    pub(crate) async fn cold_start(&self) {
        let table = self.sandbox.provider_config();
        let t0 = Instant::now();
        let first = utilconnect::build_provider(self.provider, &table).expect("build");
        let first_build = t0.elapsed();
        let mut builds = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let _ = utilconnect::build_provider(self.provider, &table).expect("build");
            builds.push(t.elapsed());
        }
        let later_build = median(&mut builds);

        let connector = Connector::new(first);
        let before = self.sandbox.server().connections_accepted();
        let t = Instant::now();
        connector
            .start("cold-0", CALLBACK)
            .await
            .expect("first call");
        let first_call = t.elapsed();
        let mut calls = Vec::new();
        for i in 1..=100 {
            let t = Instant::now();
            connector
                .start(&format!("cold-{i}"), CALLBACK)
                .await
                .expect("call");
            calls.push(t.elapsed());
        }
        let later_call = median(&mut calls);
        let opened = self.sandbox.server().connections_accepted() - before;
        println!(
            "cold start: first provider build {:.2} ms, later builds {:.3} ms (goal < 5 ms); first call {:.2} ms, later calls {:.3} ms; connections opened for 101 sequential calls: {opened} (one reused client)",
            ms(first_build),
            ms(later_build),
            ms(first_call),
            ms(later_call)
        );
    }

    pub(crate) async fn logins(&self, calls: usize) {
        let provider = Arc::new(
            FlatpeakProvider::from_config(&self.sandbox.provider_config()).expect("provider"),
        );
        let connector = Connector::new(provider);
        self.sandbox.requests().set_recording(true);
        let before = self.sandbox.requests().to_path("/login").len();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let worker = || async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                connector
                    .start(&format!("login-{i}"), CALLBACK)
                    .await
                    .expect("start");
            }
        };
        join_all((0..16).map(|_| worker()).collect()).await;
        let logins = self.sandbox.requests().to_path("/login").len() - before;
        self.sandbox.requests().set_recording(false);
        println!(
            "flatpeak: /login calls for {calls} create_token calls (16 concurrent, cold provider): {logins} (goal: exactly 1)"
        );
    }
}

async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    futures_util::future::join_all(futures).await;
}
