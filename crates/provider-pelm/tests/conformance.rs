//! The shared conformance suite, run for this provider (as object_store's backends call its
//! integration tests): one test per case, snapshots in `tests/snapshots/<case>@pelm.snap`.
//!
//! `cargo test -p utilconnect-pelm --features sandbox --test conformance`

// Named so the linker keeps the registrations.
use utilconnect_pelm as _;

fn main() {
    utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
        .only(&["pelm"])
        .expect_providers(&["pelm"])
        .run();
}
