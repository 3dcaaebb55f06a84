//! Flatpeak provider for [utilconnect](https://docs.rs/utilconnect).
//!
//! Not implemented yet: this crate only reserves its place in the workspace. The wire
//! client, its registration and its sandbox emulator arrive with the Flatpeak provider issue.
