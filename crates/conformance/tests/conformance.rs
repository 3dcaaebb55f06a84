//! Every case against every provider this workspace ships, one test per (case, provider).
//!
//! `cargo test -p utilconnect-conformance --test conformance`

// Named so the linker keeps their registrations.
use utilconnect_flatpeak as _;
use utilconnect_pelm as _;

fn main() {
    utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
        .expect_providers(&["flatpeak", "pelm"])
        .run();
}
