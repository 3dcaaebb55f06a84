//! Fuzz target `config`: see `utilconnect_fuzz_checks::config` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utilconnect_fuzz_checks::config(data));
