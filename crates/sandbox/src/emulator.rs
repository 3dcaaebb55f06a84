//! The base every vendor emulator is built on: its options, its clock, the issuer of its
//! tokens and its records behind one lock, and how it is started for the registry.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use utilconnect::{ManualClock, Result};

use crate::Sandbox;
use crate::futures_boxed::BoxFuture;
use crate::issuer::Issuer;
use crate::record::RequestLog;

/// An emulator's state: `options` (what the test chose), the `clock` it reads for every
/// expiry, the [`Issuer`] of its tokens and codes, and its `records` (`R`: the vendor's own
/// tables) behind one lock. Clones share it, so axum handlers take it as their state.
///
/// ```
/// use utilconnect::ManualClock;
/// use utilconnect_sandbox::{EmulatorState, RequestLog};
///
/// #[derive(Default)]
/// struct Records { tokens: Vec<String> }
///
/// let state: EmulatorState<u32, Records> =
///     EmulatorState::new(7, ManualClock::new(), RequestLog::default());
/// let token = state.issuer.secret("tok_", "token");
/// state.lock().tokens.push(token);
/// assert_eq!(state.clone().lock().tokens.len(), 1);
/// assert_eq!(*state.options, 7);
/// ```
pub struct EmulatorState<O, R> {
    /// The emulator's options.
    pub options: Arc<O>,
    /// The clock every expiry is read from.
    pub clock: ManualClock,
    /// Issues tokens and codes, and names them in the request log.
    pub issuer: Issuer,
    records: Arc<Mutex<R>>,
}

impl<O, R: Default> EmulatorState<O, R> {
    /// A fresh emulator with empty records; issued values are named in `log`.
    pub fn new(options: O, clock: ManualClock, log: RequestLog) -> Self {
        Self {
            options: Arc::new(options),
            clock,
            issuer: Issuer::new(log),
            records: Arc::default(),
        }
    }
}

impl<O, R> EmulatorState<O, R> {
    /// The records, locked (a panic in another handler does not wedge the emulator).
    pub fn lock(&self) -> MutexGuard<'_, R> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<O, R> Clone for EmulatorState<O, R> {
    fn clone(&self) -> Self {
        Self {
            options: self.options.clone(),
            clock: self.clock.clone(),
            issuer: self.issuer.clone(),
            records: self.records.clone(),
        }
    }
}

impl<O: fmt::Debug, R> fmt::Debug for EmulatorState<O, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorState")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A sandbox the registry can start with its default options: implement it and register
/// [`start_boxed::<YourSandbox>`](start_boxed) with
/// [`register_sandbox!`](crate::register_sandbox).
#[async_trait]
pub trait StartSandbox: Sandbox + Sized + 'static {
    /// Starts with default options, on `addr` if given (else a free loopback port).
    async fn start_default(addr: Option<SocketAddr>) -> Result<Self>;
}

/// The registry's start function for any [`StartSandbox`].
pub fn start_boxed<S: StartSandbox>(
    addr: Option<SocketAddr>,
) -> BoxFuture<Result<Box<dyn Sandbox>>> {
    Box::pin(async move { Ok(Box::new(S::start_default(addr).await?) as Box<dyn Sandbox>) })
}
