//! The shared conformance suite: every utilconnect provider held to the same contract.
//!
//! The cases ([`cases`]) are `pub async fn`s over a [`Harness`] (a provider and its running
//! sandbox). [`Suite`] runs every case against every provider registered in the test binary,
//! one test per `(case, provider)` named `<case>@<provider>`, and compares each case's
//! normalised wire requests and results with committed insta snapshots of the same name
//! (ids, times, tokens and state replaced by labels). With `CI=true` a new or changed
//! snapshot fails the run.
//!
//! Cases a provider cannot support are skipped by declared
//! [`Capability`](utilconnect::Capability) and show as `ignored`, with the reason, in the
//! output. Live mode (`UTILCONNECT_LIVE=<provider>` plus that provider's real credentials in
//! `UTILCONNECT_PROVIDERS__<NAME>__…`) runs the cases that need no end user against the
//! real vendor.
//!
//! # Running it on your provider crate
//!
//! 1. Register your provider and, behind your `sandbox` feature, its sandbox
//!    (`utilconnect::register_provider!`, `utilconnect_sandbox::register_sandbox!`).
//! 2. Accept an `http` table ([`utilconnect::http::HttpConfig`]) in your config: the suite
//!    shortens timeouts through it.
//! 3. Add to your `Cargo.toml`:
//!
//!    ```toml
//!    [dev-dependencies]
//!    utilconnect-conformance = "0.1"
//!    my-provider = { path = ".", features = ["sandbox"] }  # or enable the feature otherwise
//!
//!    [[test]]
//!    name = "conformance"
//!    harness = false
//!    ```
//!
//! 4. `tests/conformance.rs`:
//!
//!    ```no_run
//!    use utilconnect_pelm as _; // your crate here: link it so its registration is kept
//!
//!    fn main() {
//!        utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
//!            .only(&["pelm"])
//!            .run();
//!    }
//!    ```
//!
//! 5. `cargo test --test conformance`; review the new snapshots under `tests/snapshots/`
//!    (`cargo insta review`, or rename the `.snap.new` files you accept) and commit them.

#![allow(
    clippy::needless_doctest_main,
    reason = "the snippet is the `main` of a `harness = false` test, as users copy it"
)]

pub mod cases;
mod harness;
mod outcome;
pub mod stores;
mod suite;

pub use harness::{CALLBACK, Harness};
pub use outcome::{CaseResult, Failure, check, expect_kind};
pub use suite::{CASES, Case, LIVE_ENV, LIVE_OPTIONS_ENV, Suite};
