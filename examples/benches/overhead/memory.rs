//! Peak memory of child processes running many flows.

use std::process::Command;

use crate::bench::Bench;

pub(crate) fn memory(provider: &str, small: usize, large: usize) {
    let exe = std::env::current_exe().expect("own path");
    let run = |mode: &str, flows: usize| -> f64 {
        let out = Command::new(&exe)
            .args(["--memory-child", mode, provider, &flows.to_string()])
            .output()
            .expect("child");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("peak_kb="))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| {
                panic!(
                    "child printed no peak: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    let (sdk_small, sdk_large) = (run("sdk", small), run("sdk", large));
    let (raw_small, raw_large) = (run("raw", small), run("raw", large));
    let sdk_growth = sdk_large - sdk_small;
    let raw_growth = raw_large - raw_small;
    let extra = flows_diff(sdk_growth - raw_growth, large - small);
    println!(
        "{provider}: utilconnect {:.1} MiB after {small} flows, {:.1} MiB after {large} (ratio {:.2}); hand-written {:.1} / {:.1} MiB (ratio {:.2}); growth the SDK adds beyond the same traffic without it: {extra:.2} KiB/flow (goal: flat, ~0)",
        sdk_small / 1024.0,
        sdk_large / 1024.0,
        sdk_large / sdk_small,
        raw_small / 1024.0,
        raw_large / 1024.0,
        raw_large / raw_small,
    );
}

fn flows_diff(kb: f64, flows: usize) -> f64 {
    kb / flows as f64
}

/// A child process: `flows` sequential flows, then its peak resident set size.
pub(crate) fn memory_child(mode: &str, provider: &str, flows: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let bench = Bench::start(if provider == "pelm" {
            "pelm"
        } else {
            "flatpeak"
        })
        .await;
        for i in 0..flows {
            let user = format!("mem-{i}");
            if mode == "sdk" {
                bench.sdk_flow(&user, false).await;
            } else {
                bench.raw_flow(&user, false).await;
            }
        }
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().trim_end_matches("kB").trim().to_owned())
        .unwrap_or_default();
    println!("peak_kb={peak}");
}
