//! The shared conformance suite for utilconnect providers.
//!
//! Not implemented yet: the cases arrive with the conformance issue.
