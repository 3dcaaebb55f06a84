//! Fuzz target `redaction`: see `utilconnect_fuzz_checks::redaction` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utilconnect_fuzz_checks::redaction(data));
