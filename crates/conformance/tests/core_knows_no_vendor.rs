//! Core knows no vendor: no registered provider's name, secret parameter or recorded header
//! appears in the code of `crates/core` or of the emulator kit `crates/sandbox` (doc comments
//! and tests may use one as an example). A third vendor is then added as a crate, without
//! touching either.

use std::path::{Path, PathBuf};

use utilconnect_flatpeak as _;
use utilconnect_greenbutton as _;
use utilconnect_pelm as _;

/// Words that name a vendor's wire, from every registered descriptor.
fn vendor_words() -> Vec<String> {
    let mut words = Vec::new();
    for descriptor in utilconnect::providers().expect("registry") {
        words.push(descriptor.name().to_ascii_lowercase());
        words.extend(
            descriptor
                .secret_params()
                .iter()
                .map(|p| p.to_ascii_lowercase()),
        );
        words.extend(
            descriptor
                .recorded_headers()
                .iter()
                .map(|h| h.to_ascii_lowercase()),
        );
    }
    assert!(
        words.len() >= 4,
        "the check needs the providers linked: {words:?}"
    );
    words
}

/// Core's code lines: every `.rs` file but test modules and test files, without comments.
fn code_lines(dir: &Path, out: &mut Vec<(PathBuf, usize, String)>) {
    for entry in std::fs::read_dir(dir).expect("core sources") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            code_lines(&path, out);
            continue;
        }
        let is_test_file = path.file_name().is_some_and(|n| n == "tests.rs");
        if path.extension().is_none_or(|e| e != "rs") || is_test_file {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if !trimmed.starts_with("//") {
                out.push((path.clone(), number + 1, trimmed.to_ascii_lowercase()));
            }
        }
    }
}

#[test]
fn no_vendor_name_parameter_or_header_appears_in_core_code() {
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut lines = Vec::new();
    code_lines(&crates.join("core/src"), &mut lines);
    code_lines(&crates.join("sandbox/src"), &mut lines);
    assert!(
        lines.len() > 1000,
        "read core's code: {} lines",
        lines.len()
    );
    let words = vendor_words();
    let found: Vec<String> = lines
        .iter()
        .filter_map(|(path, number, line)| {
            let word = words.iter().find(|w| line.contains(w.as_str()))?;
            Some(format!("{}:{number}: `{word}` in {line}", path.display()))
        })
        .collect();
    assert!(
        found.is_empty(),
        "core names a vendor:\n{}",
        found.join("\n")
    );
}
