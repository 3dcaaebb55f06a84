//! CPU clocks and statistics.

use std::time::Duration;

use crate::threads::vendor_runtime;

/// CPU time the calling thread has used so far; zero where Linux's schedstat is missing.
pub(crate) fn thread_cpu() -> Duration {
    schedstat(std::path::Path::new("/proc/thread-self/schedstat"))
}

/// CPU time the vendor's thread has used so far, read from the app's thread (reading it on
/// the vendor's thread would add a task to the vendor's work).
/// Zero where `/proc/thread-self` does not exist.
pub(crate) async fn vendor_thread_cpu() -> Duration {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    if PATH.get().is_none() {
        // `<pid>/task/<tid>` of the vendor's thread.
        let task = vendor_runtime()
            .spawn(async { std::fs::read_link("/proc/thread-self") })
            .await;
        if let Ok(Ok(task)) = task {
            let _ = PATH.set(std::path::Path::new("/proc").join(task).join("schedstat"));
        }
    }
    PATH.get().map_or(Duration::ZERO, |path| schedstat(path))
}

/// The first field of a `schedstat` file: the thread's time on a CPU, in ns (the
/// scheduler's own count, exact to the moment of reading).
fn schedstat(path: &std::path::Path) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    Duration::from_nanos(
        stat.split_whitespace()
            .next()
            .and_then(|ns| ns.parse().ok())
            .unwrap_or(0),
    )
}

/// User + system CPU time of this process so far, in seconds (from /proc, 10 ms ticks).
pub(crate) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

pub(crate) fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median of `ratios` (the mean of the two middle ones for an even count), sorting them.
pub(crate) fn median_ratio(ratios: &mut [f64]) -> f64 {
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    if ratios.len() % 2 == 0 {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    } else {
        ratios[mid]
    }
}
