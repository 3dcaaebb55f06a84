//! The shared conformance suite, run for this provider (as object_store's backends call its
//! integration tests): one test per case, snapshots in `tests/snapshots/<case>@greenbutton.snap`.
//!
//! `cargo test -p utilconnect-greenbutton --features sandbox --test conformance`

// Named so the linker keeps the registrations.
use utilconnect_greenbutton as _;

fn main() {
    utilconnect_conformance::Suite::new(env!("CARGO_MANIFEST_DIR"))
        .only(&["greenbutton"])
        .expect_providers(&["greenbutton"])
        .run();
}
