//! Fuzz target `callback`: see `utilconnect_fuzz_checks::callback` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utilconnect_fuzz_checks::callback(data));
