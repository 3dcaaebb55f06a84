//! The vendor's runtime and thread pinning.

/// The runtime the sandboxes (the "vendor") run on: one worker thread of its own, so the
/// vendor's work never runs on, or steals from, the app's thread.
pub(crate) fn vendor_runtime() -> &'static tokio::runtime::Handle {
    static VENDOR: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    VENDOR
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("vendor")
                .on_thread_start(|| {
                    if pinning() {
                        pin_current_thread(VENDOR_CORE);
                    }
                })
                .enable_all()
                .build()
                .expect("vendor runtime")
        })
        .handle()
}

/// The cores the app's thread and the vendor's thread are pinned to with `BENCH_PIN=1`.
pub(crate) const APP_CORE: usize = 0;
pub(crate) const VENDOR_CORE: usize = 1;

/// Whether to pin the two threads (`BENCH_PIN=1`). Off by default, as an app would run:
/// pinned on the 2-core machine here, a loopback flow is about a third faster (so the
/// SDK's fixed microseconds weigh more in the ratio) while concurrent throughput roughly
/// halves. BENCHMARKS.md has both.
pub(crate) fn pinning() -> bool {
    std::env::var_os("BENCH_PIN").is_some_and(|v| v == "1")
}

/// Pins the calling thread to core `index`, so the app and the vendor never share a core or
/// migrate mid-run (on one core, or where pinning is refused, it does nothing). Says whether
/// the thread is pinned.
pub(crate) fn pin_current_thread(index: usize) -> bool {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    cores.len() >= 2
        && cores
            .get(index)
            .is_some_and(|&core| core_affinity::set_for_current(core))
}
