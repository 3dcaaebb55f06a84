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
    assert!(stderr.starts_with("error: no provider chosen"), "{stderr}");
    assert_eq!(stderr.matches("error").count(), 1, "one prefix: {stderr}");
    assert!(stderr.contains("UTILCONNECT_PROVIDER"), "{stderr}");
}

#[test]
fn complete_without_a_session_is_a_state_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_utilconnect"))
        .args([
            "complete",
            "http://127.0.0.1:8765/callback?code=cli-code-1&state=abc",
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
    assert!(
        stderr.contains("`state` is unknown, already used"),
        "{stderr}"
    );
    assert!(stderr.contains("start a new flow"), "{stderr}");
    assert!(!stderr.contains("cli-test-secret"));
}

/// `token` and `complete` in separate processes, many at once, share the session directory
/// without losing a session (the old single-file store kept 20 of 28 under this load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cli_processes_keep_every_pending_session() {
    use utilconnect_sandbox::{Sandbox, UserAction};
    let sandbox = utilconnect_pelm::sandbox::PelmSandbox::start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().expect("dir");
    let toml = format!(
        "provider = \"pelm\"\n{}",
        utilconnect_sandbox::provider_toml(&sandbox).unwrap()
    );
    std::fs::write(dir.path().join("utilconnect.toml"), toml).unwrap();
    let cli = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_utilconnect"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("UTILCONNECT_PROVIDER")
            .output()
    };

    let mut urls = Vec::new();
    for round in 0..2 {
        let users: Vec<String> = (0..8).map(|i| format!("user-{round}-{i}")).collect();
        let runs = users.iter().map(|u| cli(&["token", "--user", u]));
        for out in futures_util::future::join_all(runs).await {
            let out = out.expect("the CLI runs");
            assert!(out.status.success(), "{}", text(&out.stderr));
            urls.push(text(&out.stdout).trim().to_owned());
        }
    }
    let kept = std::fs::read_dir(dir.path().join(".utilconnect-sessions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(kept, 16, "every token's pending session is kept");

    // Each flow finishes from another process, once.
    let url = utilconnect::Url::parse(&urls[0]).unwrap();
    let callback = sandbox.act(&url, UserAction::Approve).await.unwrap();
    let out = cli(&["complete", callback.as_str()]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("user-0-0"),
        "{}",
        text(&out.stdout)
    );
    let again = cli(&["complete", callback.as_str()]).await.unwrap();
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already used"),
        "{}",
        text(&again.stderr)
    );
}

/// Typos anywhere in the config are reported at once, with the closest right name: a
/// misspelt provider table, an unknown key under a provider that is not chosen, and every
/// key the chosen provider lacks.
#[test]
fn config_typos_are_reported_together_with_the_closest_names() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |toml: &str| {
        std::fs::write(dir.path().join("utilconnect.toml"), toml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_utilconnect"))
            .arg("token")
            .current_dir(dir.path())
            .env_remove("UTILCONNECT_PROVIDER")
            .output()
            .expect("the CLI runs");
        assert!(!out.status.success());
        text(&out.stderr)
    };
    let stderr = run("provider = \"pelm\"\n[providers.pelm]\nclient_secert = \"s3cret-value\"\n");
    assert!(
        stderr.contains("unknown key `client_secert` (did you mean `client_secret`?)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing keys `client_id`, `client_secret`"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-value"), "{stderr}");

    let stderr = run(
        "provider = \"pelm\"\n[providers.pelm]\nclient_id = \"i\"\nclient_secret = \"s\"\n[providers.flatpeek]\naccount_id = \"a\"\n",
    );
    assert!(
        stderr.contains(
            "`[providers.flatpeek]` is not a registered provider; did you mean `flatpeak`?"
        ),
        "{stderr}"
    );

    let stderr = run(
        "provider = \"pelm\"\n[providers.pelm]\nclient_id = \"i\"\nclient_secret = \"s\"\n[providers.flatpeak]\napi_kye = \"k\"\n",
    );
    assert!(
        stderr.contains("providers.flatpeak: unknown key `api_kye` (did you mean `api_key`?)"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
