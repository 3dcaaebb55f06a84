use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::ErrorKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Table {
    client_id: String,
    client_secret: SecretString,
    api_base_url: Option<BaseUrl>,
    #[serde(default)]
    retries: u32,
}

#[test]
fn reads_provider_and_table_from_toml() {
    let config = Config::from_toml_str(
        r#"
        provider = "acme"
        [providers.acme]
        client_id = "id-1"
        client_secret = "secret-1"
        api_base_url = "http://127.0.0.1:9"
        "#,
    )
    .unwrap();
    assert_eq!(config.provider_name().unwrap(), "acme");
    let table: Table = config.provider_config("acme").extract().unwrap();
    assert_eq!(table.client_id, "id-1");
    assert_eq!(table.client_secret.expose_secret(), "secret-1");
    assert_eq!(table.api_base_url.unwrap().url().port(), Some(9));
}

#[test]
fn unknown_top_level_key_is_named() {
    let err = Config::from_toml_str("provder = \"acme\"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("unknown key `provder`"), "{err}");
}

#[test]
fn unknown_and_missing_provider_keys_are_named_with_their_path() {
    let config = Config::from_toml_str(
        "[providers.acme]\nclient_id = \"x\"\nclient_secret = \"y\"\nclient_secert = \"z\"",
    )
    .unwrap();
    let err = config
        .provider_config("acme")
        .extract::<Table>()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("providers.acme"), "{text}");
    assert!(text.contains("unknown key `client_secert`"), "{text}");
    assert!(!text.contains(".rs:"), "no code locations: {text}");
    assert_eq!(err.provider(), Some("acme"));

    let err = ProviderConfig::from_json("acme", serde_json::json!({"client_id": "x"}))
        .extract::<Table>()
        .unwrap_err();
    assert!(
        err.to_string().contains("missing key `client_secret`"),
        "{err}"
    );
}

#[test]
fn errors_never_echo_values() {
    // A secret typed as a number (wrong type) must not appear in the message.
    let err = ProviderConfig::from_json(
        "acme",
        serde_json::json!({"client_id": "x", "client_secret": 987654321}),
    )
    .extract::<Table>()
    .unwrap_err();
    assert!(!err.to_string().contains("987654321"), "{err}");
    assert!(!format!("{err:?}").contains("987654321"), "{err:?}");
    assert!(err.to_string().contains("client_secret"), "{err}");
}

#[test]
fn debug_of_configs_shows_no_value() {
    let config = Config::from_toml_str(
        "provider = \"acme\"\n[providers.acme]\nclient_secret = \"sekrit-123\"\n",
    )
    .unwrap();
    let table = config.provider_config("acme");
    let extracted: Table = ProviderConfig::from_json(
        "acme",
        serde_json::json!({"client_id": "id", "client_secret": "sekrit-123"}),
    )
    .extract()
    .unwrap();
    let debug = format!("{config:?} {table:?} {extracted:?}");
    assert!(!debug.contains("sekrit-123"), "{debug}");
    assert!(debug.contains("acme"), "{debug}");
}

#[test]
fn plain_http_is_refused_unless_loopback() {
    let err = ProviderConfig::from_json(
        "acme",
        serde_json::json!({"client_id": "x", "client_secret": "y", "api_base_url": "http://api.acme.example"}),
    )
    .extract::<Table>()
    .unwrap_err();
    assert!(err.to_string().contains("api_base_url"), "{err}");
    assert!(err.to_string().contains("plain http"), "{err}");

    for ok in [
        "https://api.acme.example",
        "http://127.0.0.1:1",
        "http://127.8.0.1",
        "http://[::1]:80",
        "http://localhost:3000",
    ] {
        assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://10.0.0.1",
        "http://localhost.evil.com",
        "http://evil.localhost",
        "http://a.b.localhost:8080",
        "ftp://x",
        "https://user:pw@host",
    ] {
        assert!(BaseUrl::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn base_url_join_keeps_prefix() {
    let base = BaseUrl::parse("https://host/v1/").unwrap();
    assert_eq!(
        base.join("/auth/token").as_str(),
        "https://host/v1/auth/token"
    );
    let base = BaseUrl::parse("https://host").unwrap();
    assert_eq!(base.join("login").as_str(), "https://host/login");
}

#[test]
fn missing_provider_choice_says_how_to_set_it() {
    let config = Config::from_toml_str("").unwrap();
    let err = config.provider_name().unwrap_err();
    assert!(err.to_string().contains("UTILCONNECT_PROVIDER"), "{err}");
}

/// A directory for a test's files; the process environment is never touched, so tests
/// cannot disturb each other running in parallel.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// [`Config::load`] as it runs with `vars` as the environment, in this directory.
    fn load(&self, vars: &[(&str, &str)]) -> Result<Config> {
        Config::load_in(&env_of(vars), self.dir.path())
    }
}

fn env_of(vars: &[(&str, &str)]) -> VerbatimEnv {
    VerbatimEnv::from_vars(
        vars.iter()
            .map(|(n, v)| (n.to_string(), Ok(v.to_string())))
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

#[test]
fn env_overrides_file_and_supplies_secrets() {
    let scene = Scene::new();
    scene.file(
        "utilconnect.toml",
        "provider = \"zenith\"\n[providers.acme]\nclient_id = \"from-file\"\n",
    );
    let config = scene
        .load(&[
            ("UTILCONNECT_PROVIDER", "acme"),
            ("UTILCONNECT_PROVIDERS__ACME__CLIENT_SECRET", "from-env"),
            ("UTILCONNECT_LIVE", "acme"),
            ("OTHER_VARIABLE", "ignored"),
        ])
        .unwrap();
    assert_eq!(config.provider_name().unwrap(), "acme");
    let table: Table = config.provider_config("acme").extract().unwrap();
    assert_eq!(table.client_id, "from-file");
    assert_eq!(table.client_secret.expose_secret(), "from-env");
}

#[test]
fn utilconnect_config_names_another_file_and_errors_name_it() {
    let scene = Scene::new();
    scene.file("utilconnect.toml", "provider = \"zenith\"\n");
    scene.file(
        "other.toml",
        "provider = \"acme\"\n[providers.acme]\nclient_id = 5\n",
    );
    let config = scene.load(&[("UTILCONNECT_CONFIG", "other.toml")]).unwrap();
    assert_eq!(config.provider_name().unwrap(), "acme");
    let err = config
        .provider_config("acme")
        .extract::<Table>()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("providers.acme.client_id: expected a string, found an integer (from "),
        "{text}"
    );
    assert!(text.contains("other.toml)"), "{text}");
    // No file at all is an empty configuration, not an error.
    let config = Scene::new().load(&[]).unwrap();
    assert!(config.provider_name().is_err());
}

#[test]
fn the_file_is_found_from_a_subdirectory_and_a_directory_is_not_a_file() {
    let scene = Scene::new();
    scene.file("utilconnect.toml", "provider = \"acme\"\n");
    let sub = scene.dir.path().join("src").join("bin");
    std::fs::create_dir_all(sub.join("utilconnect.toml")).unwrap();
    let config = Config::load_in(&env_of(&[]), &sub).unwrap();
    assert_eq!(config.provider_name().unwrap(), "acme");
}

#[test]
fn a_config_file_path_in_errors_is_bounded_and_escaped() {
    let scene = Scene::new();
    let long = "x".repeat(200);
    std::fs::create_dir_all(scene.dir.path().join(&long).join(&long)).unwrap();
    let name = format!("{long}/{long}/bad\u{1b}[31m.toml");
    scene.file(&name, "[providers.acme]\nclient_id = 5\n");
    let err = scene
        .load(&[("UTILCONNECT_CONFIG", name.as_str())])
        .unwrap()
        .provider_config("acme")
        .extract::<Table>()
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.len() < 800, "{}", err.len());
}

#[test]
fn errors_name_the_variable_a_bad_value_came_from() {
    let scene = Scene::new();
    scene.file("utilconnect.toml", "[providers.acme]\nclient_id = \"x\"\n");
    let err = scene
        .load(&[
            ("UTILCONNECT_PROVIDERS__ACME__CLIENT_SECRET", "s"),
            ("UTILCONNECT_PROVIDERS__ACME__RETRIES", "many"),
        ])
        .unwrap()
        .provider_config("acme")
        .extract::<Table>()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "providers.acme.retries: expected u32, found a string \
             (from environment variable UTILCONNECT_PROVIDERS__ACME__RETRIES)"
        ),
        "{text}"
    );
    assert!(!text.contains("many"), "{text}");
}

#[test]
fn numeric_looking_secret_from_env_stays_a_string() {
    let table: Table = Scene::new()
        .load(&[
            ("UTILCONNECT_PROVIDERS__ACME__CLIENT_ID", "id"),
            ("UTILCONNECT_PROVIDERS__ACME__CLIENT_SECRET", "0012345"),
        ])
        .unwrap()
        .provider_config("acme")
        .extract()
        .unwrap();
    assert_eq!(table.client_secret.expose_secret(), "0012345");
}

#[test]
fn numeric_keys_from_env_are_parsed_leniently() {
    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "lenient::number")]
        retries: u32,
        #[serde(deserialize_with = "lenient::boolean")]
        verbose: bool,
    }
    let scene = Scene::new();
    let numbers: Numbers = scene
        .load(&[
            ("UTILCONNECT_PROVIDERS__ACME__RETRIES", "7"),
            ("UTILCONNECT_PROVIDERS__ACME__VERBOSE", "true"),
        ])
        .unwrap()
        .provider_config("acme")
        .extract()
        .unwrap();
    assert_eq!(numbers.retries, 7);
    assert!(numbers.verbose);
    let err = scene
        .load(&[
            ("UTILCONNECT_PROVIDERS__ACME__RETRIES", "seven"),
            ("UTILCONNECT_PROVIDERS__ACME__VERBOSE", "true"),
        ])
        .unwrap()
        .provider_config("acme")
        .extract::<Numbers>()
        .expect_err("not a number");
    assert!(
        err.to_string().contains("retries: expected an integer"),
        "{err}"
    );
}

#[test]
fn out_of_range_durations_and_numbers_are_refused_at_load_naming_the_key() {
    use crate::http::HttpConfig;
    for (key, value, says) in [
        ("total_deadline", "\"500000000000y\"", "must be at most 1h"),
        ("request_timeout", "\"0s\"", "must be at least 1ms"),
        ("max_retries", "4294967295", "must be at most 10"),
        (
            "max_body_bytes",
            "\"18446744073709551615\"",
            "must be at most 67108864",
        ),
        ("max_backoff", "\"1year\"", "must be at most 10m"),
    ] {
        let toml = format!("[providers.acme.http]\n{key} = {value}\n");
        let err = Config::from_toml_str(&toml)
            .unwrap()
            .provider_config("acme")
            .extract_key::<HttpConfig>("http")
            .expect_err(key);
        let text = err.to_string();
        assert!(
            text.contains(&format!("providers.acme.http.{key}: {says}")),
            "{text}"
        );
    }
    // The same bound, from the environment.
    let err = Scene::new()
        .load(&[(
            "UTILCONNECT_PROVIDERS__ACME__HTTP__TOTAL_DEADLINE",
            "500000000000y",
        )])
        .unwrap()
        .provider_config("acme")
        .extract_key::<HttpConfig>("http")
        .expect_err("out of range");
    assert!(
        err.to_string()
            .contains("total_deadline: must be at most 1h"),
        "{err}"
    );
}

#[test]
fn toml_syntax_errors_do_not_show_the_line_they_are_on() {
    for toml in [
        "[providers.acme]\nclient_secret = \"typed-secret-echoed\nclient_id = \"x\"\n",
        "[providers.acme]\nclient_secret = \"typed-secret-echoed\"\nclient_secret = \"typed-secret-echoed\"\n",
        "[providers.acme]\nclient_secret = typed-secret-echoed\n",
    ] {
        let err = Config::from_toml_str(toml).expect_err(toml);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("typed-secret-echoed"), "{shown}");
        assert!(shown.contains("line"), "still says where: {shown}");
    }
    let scene = Scene::new();
    scene.file(
        "other.toml",
        "[providers.acme]\nclient_secret = \"typed-secret-echoed\n",
    );
    let err = scene
        .load(&[("UTILCONNECT_CONFIG", "other.toml")])
        .expect_err("syntax error");
    assert!(!err.to_string().contains("typed-secret-echoed"), "{err}");
    assert!(err.to_string().contains("other.toml"), "{err}");
}

#[test]
fn a_bad_enum_value_is_not_echoed() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Direction {
        Import,
        Export,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Table {
        direction: Direction,
    }
    let err = ProviderConfig::from_json("x", serde_json::json!({"direction": "typed-secret-typo"}))
        .extract::<Table>()
        .unwrap_err();
    assert!(!err.to_string().contains("typed-secret-typo"), "{err}");
    assert!(err.to_string().contains("Import, Export"), "{err}");
}

#[test]
fn env_overlay_does_not_depend_on_variable_order() {
    let clash = [
        ("UTILCONNECT_PROVIDERS__ACME", "flat"),
        (
            "UTILCONNECT_PROVIDERS__ACME__API_BASE_URL",
            "http://127.0.0.1:1",
        ),
    ];
    let mut reversed = clash;
    reversed.reverse();
    for order in [clash, reversed] {
        let err = env_of(&order)
            .place()
            .expect_err("a key cannot be both a value and a table");
        assert!(err.contains("UTILCONNECT_PROVIDERS__ACME`"), "{err}");
        assert!(
            err.contains("UTILCONNECT_PROVIDERS__ACME__API_BASE_URL"),
            "{err}"
        );
    }
    let both_cases = [
        ("UTILCONNECT_PROVIDER", "acme"),
        ("utilconnect_provider", "zenith"),
    ];
    let err = env_of(&both_cases).place().expect_err("the same key twice");
    assert!(err.contains("conflict"), "{err}");
}

#[test]
fn env_variables_that_cannot_be_placed_are_errors() {
    for name in [
        "UTILCONNECT_",
        "UTILCONNECT_PROVIDERS__",
        "UTILCONNECT___PROVIDER",
        "UTILCONNECT_PROVIDERS.ACME",
        "UTILCONNECT_PROVIDERS__ACME__CLIENT-ID",
        "UTILCONNECT_PROVIDERS___ACME__CLIENT_SECRET",
    ] {
        let err = VerbatimEnv::from_vars([(name.to_owned(), Ok("1".to_owned()))].into_iter())
            .place()
            .expect_err(name);
        assert!(err.contains(name), "{err}");
    }
    let err = VerbatimEnv::from_vars([("UTILCONNECT_PROVIDER".to_owned(), Err(()))].into_iter())
        .place()
        .expect_err("not UTF-8");
    assert!(err.contains("not valid UTF-8"), "{err}");
    // And through `Config::load`, as an error rather than silence.
    let err = Scene::new()
        .load(&[("UTILCONNECT_PROVIDERS__", "1")])
        .expect_err("cannot be placed");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("UTILCONNECT_PROVIDERS__"), "{err}");
}

#[test]
fn an_oversized_configuration_is_refused_before_parsing() {
    let huge = "k = 1\n".repeat(60_000);
    let err = Config::from_toml_str(&huge).unwrap_err();
    assert!(err.to_string().contains("at most 262144 bytes"), "{err}");
    let scene = Scene::new();
    scene.file("utilconnect.toml", &huge);
    let err = scene.load(&[]).expect_err("too big");
    assert!(err.to_string().contains("utilconnect.toml"), "{err}");
    assert!(err.to_string().contains("at most 262144 bytes"), "{err}");
}

#[test]
fn unknown_env_key_is_named() {
    let err = Scene::new()
        .load(&[("UTILCONNECT_PROVIDR", "acme")])
        .expect_err("unknown key");
    assert!(err.to_string().contains("`providr`"), "{err}");
    assert!(
        err.to_string()
            .contains("(from environment variable UTILCONNECT_PROVIDR)"),
        "says where: {err}"
    );
}
