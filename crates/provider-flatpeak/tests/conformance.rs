//! The shared conformance suite, run for this provider (as object_store's backends call its
//! integration tests): one test per case, snapshots in `tests/snapshots/<case>@flatpeak.snap`.
//!
//! `cargo test -p utilconnect-flatpeak --features sandbox --test conformance`

// Named so the linker keeps the registrations.
use utilconnect_flatpeak as _;

fn main() {
    utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
        .only(&["flatpeak"])
        .expect_providers(&["flatpeak"])
        .run();
}
