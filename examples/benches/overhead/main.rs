//! What the abstraction costs, measured against hand-written reqwest code making the same HTTP
//! calls to the same loopback sandbox, in one run.
//!
//! ```text
//! cargo bench -p utilconnect-examples --bench overhead              # full run (under a minute)
//! cargo bench -p utilconnect-examples --bench overhead -- --quick   # smaller counts, seconds
//! BENCH_PROBE=1 cargo bench -p utilconnect-examples --bench overhead -- --quick  # + CPU probes
//! BENCH_PIN=1 cargo bench -p utilconnect-examples --bench overhead   # app and vendor pinned
//! ```
//!
//! A custom harness rather than criterion or divan: the figures asked for are *ratios* between
//! two implementations measured side by side (interleaved, so machine drift hits both), plus
//! throughput, call counts and peak memory of child processes, which those frameworks do not
//! report. Timings here never gate a test; `BENCHMARKS.md` records a run.
//!
//! The app's side (both implementations) runs on a current-thread runtime on the main thread,
//! the sandboxes on a runtime of their own with one worker thread: the vendor is another
//! machine in production, and sharing one runtime let the two sides steal each other's work.
//!
//! [`bench`] holds the measurements (and, in `bench::probes`, the diagnostics), [`raw`] the
//! hand-written baseline, [`memory`] the child processes for peak memory, [`threads`] the
//! vendor's runtime and pinning, [`measure`] CPU clocks and medians.

mod bench;
mod measure;
mod memory;
mod raw;
mod threads;

use std::time::Instant;

use bench::Bench;
use memory::{memory, memory_child};
use threads::{APP_CORE, pin_current_thread, pinning};

/// The app's callback URL in every flow.
const CALLBACK: &str = "https://app.example/bench/callback";

/// How much each measurement runs: the full counts, or `--quick`'s.
struct Sizes {
    latency_iterations: usize,
    concurrent_flows: usize,
    /// Paired rounds the concurrent flows are split into (even; the ratio is their median).
    concurrent_rounds: usize,
    memory_small: usize,
    memory_large: usize,
    logins_calls: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                latency_iterations: 60,
                // 8 rounds of 128: every one of the 64 workers runs two flows per round.
                concurrent_flows: 1_024,
                concurrent_rounds: 8,
                memory_small: 100,
                memory_large: 1_000,
                logins_calls: 1_000,
            }
        } else {
            Self {
                // Enough that a burst of load from elsewhere on the (shared) machine moves
                // the medians little: with 1,000 runs and 8 rounds, 3 of 19 full runs missed
                // a goal that the other runs met by a wide margin (see BENCHMARKS.md).
                latency_iterations: 2_000,
                concurrent_flows: 4_096,
                concurrent_rounds: 16,
                memory_small: 100,
                memory_large: 10_000,
                logins_calls: 1_000,
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--memory-child") {
        let mode = args.get(pos + 1).cloned().unwrap_or_default();
        let provider = args.get(pos + 2).cloned().unwrap_or_default();
        let flows = args.get(pos + 3).and_then(|n| n.parse().ok()).unwrap_or(0);
        memory_child(&mode, &provider, flows);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes = Sizes::new(quick);
    // The app's side; the sandboxes run apart, on `vendor_runtime()` (see the top of the file).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pinned = pinning() && pin_current_thread(APP_CORE);
    println!(
        "utilconnect overhead benchmark ({} mode), {} cores, {}",
        if quick { "quick" } else { "full" },
        cores,
        if pinned {
            "app and vendor threads pinned to cores 0 and 1"
        } else {
            "threads not pinned (BENCH_PIN=1 pins them)"
        }
    );
    let started = Instant::now();
    runtime.block_on(async {
        for provider in ["pelm", "flatpeak"] {
            println!("\n== {provider}");
            let bench = Bench::start(provider).await;
            bench.sandbox_alone().await;
            if std::env::var_os("BENCH_PROBE").is_some() {
                bench::connector_alone().await;
                bench.probe_parts().await;
                if provider == "pelm" {
                    bench.probe_layers().await;
                }
            }
            bench.latency(sizes.latency_iterations).await;
            bench
                .throughput(sizes.concurrent_flows, sizes.concurrent_rounds)
                .await;
            bench.cold_start().await;
            if provider == "flatpeak" {
                bench.logins(sizes.logins_calls).await;
            } else {
                bench
                    .store_comparison(
                        sizes.concurrent_flows,
                        sizes.concurrent_rounds,
                        sizes.latency_iterations,
                    )
                    .await;
            }
        }
    });
    println!("\n== memory (peak RSS of a child process running N sequential flows)");
    for provider in ["pelm", "flatpeak"] {
        memory(provider, sizes.memory_small, sizes.memory_large);
    }
    println!("\ntotal time {:.1}s", started.elapsed().as_secs_f64());
}
