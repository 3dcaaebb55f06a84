//! Fuzz target `pelm_responses`: see `utilconnect_fuzz_checks::pelm_responses` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utilconnect_fuzz_checks::pelm_responses(data));
