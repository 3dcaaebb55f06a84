//! Finding and reading `utilconnect.toml`: bounded in size and in nesting before it is parsed.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::errors::syntax_error;
use super::layers::{Layered, Source};
use super::{MAX_CONFIG_BYTES, MAX_NESTING};
use crate::error::{Error, Result};

/// Where the file `path` names is: an absolute path as it is; a relative one in `cwd` or
/// the nearest parent directory that has it (so an app started from a subdirectory of its
/// project still finds the project's file). Directories are skipped; `None` when no file is
/// found.
pub(super) fn find(path: &Path, cwd: &Path) -> Option<PathBuf> {
    if path.is_absolute() {
        return path.is_file().then(|| path.to_owned());
    }
    cwd.ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_file())
}

/// The file at `path` as a layer.
pub(super) fn read(path: &Path) -> Result<Layered> {
    let shown = shown(path);
    let cannot = |e: std::io::Error| {
        let message = format!("cannot read {shown}: {}", e.kind());
        Error::config(message).with_source(e)
    };
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    check_size(size, &shown)?;
    // Read through a bound too: the file may grow between the two calls.
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    check_size(text.len() as u64, &shown)?;
    parse(&text, Source::File(path.to_owned()), &shown)
}

/// A path as errors show it: bounded, control characters escaped.
pub(super) fn shown(path: &Path) -> String {
    crate::redact::sanitize(&path.display().to_string(), 256)
}

/// TOML text as a layer from `source`; `shown` names it in errors.
pub(super) fn parse(text: &str, source: Source, shown: &str) -> Result<Layered> {
    if nesting(text) > MAX_NESTING {
        // The parser recurses once per level: refuse before it could exhaust the stack.
        return Err(Error::config(format!(
            "invalid configuration: {shown}: arrays and tables nested more than \
             {MAX_NESTING} deep"
        )));
    }
    let tree: serde_json::Value =
        basic_toml::from_str(text).map_err(|e| syntax_error(&e, shown))?;
    Layered::new(tree, source).map_err(Error::config)
}

/// Refuses more than [`MAX_CONFIG_BYTES`].
pub(super) fn check_size(bytes: u64, what: &str) -> Result<()> {
    if bytes > MAX_CONFIG_BYTES {
        return Err(Error::config(format!(
            "{what} is {bytes} bytes; a configuration of at most {MAX_CONFIG_BYTES} bytes is read"
        )));
    }
    Ok(())
}

/// How deep `[` and `{` nest in TOML text, outside strings and comments (a table header
/// counts too, which only ever adds two).
fn nesting(text: &str) -> usize {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Code,
        Comment,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let bytes = text.as_bytes();
    let starts = |at: usize, with: &[u8]| bytes.get(at..at + with.len()) == Some(with);
    let (mut state, mut depth, mut deepest, mut at) = (In::Code, 0usize, 0usize, 0usize);
    while at < bytes.len() {
        let byte = bytes[at];
        match (state, byte) {
            (In::Code, b'#') => state = In::Comment,
            (In::Code, b'"') if starts(at, b"\"\"\"") => {
                state = In::MultiBasic;
                at += 2;
            }
            (In::Code, b'"') => state = In::Basic,
            (In::Code, b'\'') if starts(at, b"'''") => {
                state = In::MultiLiteral;
                at += 2;
            }
            (In::Code, b'\'') => state = In::Literal,
            (In::Code, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (In::Code, b']' | b'}') => depth = depth.saturating_sub(1),
            (In::Comment | In::Basic | In::Literal, b'\n') => state = In::Code,
            (In::Basic | In::MultiBasic, b'\\') => at += 1,
            (In::Basic, b'"') | (In::Literal, b'\'') => state = In::Code,
            (In::MultiBasic, b'"') if starts(at, b"\"\"\"") => {
                state = In::Code;
                at += 2;
            }
            (In::MultiLiteral, b'\'') if starts(at, b"'''") => {
                state = In::Code;
                at += 2;
            }
            _ => {}
        }
        at += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        assert_eq!(nesting("a = 1"), 0);
        assert_eq!(nesting("[providers.acme]\nx = [[1], {y = [2]}]"), 3);
        assert_eq!(nesting("[[list]]"), 2);
        assert_eq!(nesting(r#"a = "[[[[" # [[[["#), 0);
        assert_eq!(nesting("a = '[[[['\nb = '''[[[\n['''"), 0);
        assert_eq!(nesting("a = \"\"\"\n\\\"\"\"[[[[\"\"\"\nb = [1]"), 1);
        assert_eq!(nesting(r#"a = "\"[[""#), 0);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // Deep enough to exhaust a thread's stack in a recursive parser.
        let hostile = format!("a = {}", "[".repeat(200_000));
        let err = parse(&hostile, Source::Code, "the text").unwrap_err();
        assert!(
            err.to_string().contains("nested more than 64 deep"),
            "{err}"
        );
        let fine = format!("a = {}1{}", "[".repeat(64), "]".repeat(64));
        parse(&fine, Source::Code, "the text").unwrap();
    }

    #[test]
    fn a_relative_file_is_found_in_the_nearest_parent_and_directories_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.path().join("app.toml"), "x = 1").unwrap();
        assert_eq!(
            find(Path::new("app.toml"), &deep),
            Some(root.path().join("app.toml"))
        );
        // A directory of that name nearer is not the file.
        std::fs::create_dir(root.path().join("a").join("app.toml")).unwrap();
        assert_eq!(
            find(Path::new("app.toml"), &deep),
            Some(root.path().join("app.toml"))
        );
        assert_eq!(find(Path::new("missing.toml"), &deep), None);
        assert_eq!(find(&root.path().join("a").join("app.toml"), &deep), None);
    }
}
