//! The main job: the same app code runs the whole flow for every provider, and choosing one
//! is configuration only.

use std::process::Command;

fn quickstart(provider: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
    command
        .current_dir(dir.path())
        .env_remove("UTILCONNECT_PROVIDER");
    if let Some(provider) = provider {
        command.env("UTILCONNECT_PROVIDER", provider);
    }
    let out = command.output().expect("quickstart runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn table_rows(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("provider "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_provider_connects_with_no_config() {
    let (ok, stdout) = quickstart(None);
    assert!(ok, "{stdout}");
    assert_eq!(
        table_rows(&stdout),
        ["flatpeak", "greenbutton", "pelm"],
        "{stdout}"
    );
    assert!(stdout.contains("3. connection completed for quickstart-user"));
    assert!(
        stdout.contains("pending = the account is linked"),
        "the table is explained: {stdout}"
    );
}

#[test]
fn the_provider_is_chosen_by_config_alone() {
    for provider in ["pelm", "greenbutton"] {
        let (ok, stdout) = quickstart(Some(provider));
        assert!(ok, "{stdout}");
        assert_eq!(table_rows(&stdout), [provider], "{stdout}");
    }

    let (ok, stdout) = quickstart(Some("nobody"));
    assert!(!ok, "an unknown provider fails: {stdout}");
}
