//! The CLI as a person runs it: its output, its exit codes and its one-line errors.

use std::process::{Command, Output};

fn utilconnect(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_utilconnect"))
        .args(args)
        .current_dir(dir.path()) // no utilconnect.toml here
        .env_remove("UTILCONNECT_PROVIDER")
        .output()
        .expect("the CLI runs")
}

fn text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).into_owned()
}

#[test]
fn providers_lists_every_provider_with_its_keys() {
    let out = utilconnect(&["providers"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("flatpeak: ")
            && stdout.contains("pelm: ")
            && stdout.contains("greenbutton: "),
        "{stdout}"
    );
    assert!(stdout.contains("client_secret") && stdout.contains("secret: prefer the environment"));
    assert!(stdout.contains("(sandbox available)"));
}

#[test]
fn a_whole_flow_runs_against_each_sandbox() {
    for provider in ["pelm", "flatpeak", "greenbutton"] {
        let out = utilconnect(&[
            "--provider",
            provider,
            "flow",
            "--sandbox",
            "--auto",
            "--port",
            "0",
            "--user",
            "cli-test",
        ]);
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{provider}: {stderr}");
        assert!(
            stdout.contains(&format!("connected: {provider} for cli-test")),
            "{stdout}"
        );
        assert!(stderr.contains("… creating a"), "progress shown: {stderr}");
        for secret in [
            "sandbox-client-secret",
            "sk_test_sandbox",
            "sandbox-secret-utility",
        ] {
            assert!(!stdout.contains(secret), "{provider}: {stdout}");
        }
    }
}

#[test]
fn without_a_provider_the_error_is_one_line_saying_what_to_do() {
    let out = utilconnect(&["token"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("config error"), "{stderr}");
    assert!(stderr.contains("UTILCONNECT_PROVIDER"), "{stderr}");
}

#[test]
fn complete_without_a_session_is_a_state_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_utilconnect"))
        .args([
            "complete",
            "http://127.0.0.1:8765/callback?code=x&state=abc",
        ])
        .current_dir(tempfile::tempdir().expect("dir").path())
        .env("UTILCONNECT_PROVIDER", "pelm")
        .env("UTILCONNECT_PROVIDERS__PELM__CLIENT_ID", "id")
        .env(
            "UTILCONNECT_PROVIDERS__PELM__CLIENT_SECRET",
            "cli-test-secret",
        )
        .output()
        .expect("the CLI runs");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("state mismatch error"), "{stderr}");
    assert!(stderr.contains("start a new flow"), "{stderr}");
    assert!(!stderr.contains("cli-test-secret"));
}
