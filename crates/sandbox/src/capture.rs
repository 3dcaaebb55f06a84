//! Captures `tracing` output in memory, so tests can assert that no secret is ever logged.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything logged on this thread while the guard lives, at every level, with span fields.
///
/// ```
/// let (capture, _guard) = utilconnect_sandbox::LogCapture::install();
/// tracing::info!(user = "u1", "hello");
/// assert!(capture.text().contains("hello"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs a capturing subscriber as this thread's default (use a current-thread runtime,
    /// as `#[tokio::test]` does, so every task logs here).
    ///
    /// It also makes sure a global subscriber exists (a registry with no output, unless the
    /// process set its own): `tracing` caches per call site whether anyone listens, and a call
    /// site first reached on a thread with no subscriber at the moment another thread installs
    /// its capture could be cached as "never", losing that thread's events.
    pub fn install() -> (Self, DefaultGuard) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            // Fails only if the process already has a global subscriber, which serves as well.
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
