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

#[test]
fn env_overrides_file_and_supplies_secrets() {
    // figment::Jail gives each closure its own env and directory, so this test cannot
    // disturb others running in parallel.
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "utilconnect.toml",
            "provider = \"zenith\"\n[providers.acme]\nclient_id = \"from-file\"\n",
        )?;
        jail.set_env("UTILCONNECT_PROVIDER", "acme");
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__CLIENT_SECRET", "from-env");
        jail.set_env("UTILCONNECT_LIVE", "acme");
        let config = Config::load().map_err(|e| e.to_string())?;
        assert_eq!(config.provider_name().map_err(|e| e.to_string())?, "acme");
        let table: Table = config
            .provider_config("acme")
            .extract()
            .map_err(|e| e.to_string())?;
        assert_eq!(table.client_id, "from-file");
        assert_eq!(table.client_secret.expose_secret(), "from-env");
        Ok(())
    });
}

#[test]
fn numeric_looking_secret_from_env_stays_a_string() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__CLIENT_ID", "id");
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__CLIENT_SECRET", "0012345");
        let table: Table = Config::load()
            .map_err(|e| e.to_string())?
            .provider_config("acme")
            .extract()
            .map_err(|e| e.to_string())?;
        assert_eq!(table.client_secret.expose_secret(), "0012345");
        Ok(())
    });
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
    figment::Jail::expect_with(|jail| {
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__RETRIES", "7");
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__VERBOSE", "true");
        let numbers: Numbers = Config::load()
            .map_err(|e| e.to_string())?
            .provider_config("acme")
            .extract()
            .map_err(|e| e.to_string())?;
        assert_eq!(numbers.retries, 7);
        assert!(numbers.verbose);
        jail.set_env("UTILCONNECT_PROVIDERS__ACME__RETRIES", "seven");
        let err = Config::load()
            .map_err(|e| e.to_string())?
            .provider_config("acme")
            .extract::<Numbers>()
            .expect_err("not a number");
        assert!(
            err.to_string().contains("retries: expected an integer"),
            "{err}"
        );
        Ok(())
    });
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
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "UTILCONNECT_PROVIDERS__ACME__HTTP__TOTAL_DEADLINE",
            "500000000000y",
        );
        let err = Config::load()
            .map_err(|e| e.to_string())?
            .provider_config("acme")
            .extract_key::<HttpConfig>("http")
            .expect_err("out of range");
        assert!(
            err.to_string()
                .contains("total_deadline: must be at most 1h"),
            "{err}"
        );
        Ok(())
    });
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
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "other.toml",
            "[providers.acme]\nclient_secret = \"typed-secret-echoed\n",
        )?;
        jail.set_env("UTILCONNECT_CONFIG", "other.toml");
        let err = Config::load().expect_err("syntax error");
        assert!(!err.to_string().contains("typed-secret-echoed"), "{err}");
        assert!(err.to_string().contains("other.toml"), "{err}");
        Ok(())
    });
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
    let vars = |names: &[(&str, &str)]| {
        names
            .iter()
            .map(|(n, v)| (n.to_string(), Ok(v.to_string())))
            .collect::<Vec<_>>()
    };
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
        let err = VerbatimEnv::from_vars(vars(&order).into_iter())
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
    let err = VerbatimEnv::from_vars(vars(&both_cases).into_iter())
        .place()
        .expect_err("the same key twice");
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
    figment::Jail::expect_with(|jail| {
        jail.set_env("UTILCONNECT_PROVIDERS__", "1");
        let err = Config::load().expect_err("cannot be placed");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("UTILCONNECT_PROVIDERS__"), "{err}");
        Ok(())
    });
}

#[test]
fn an_oversized_configuration_is_refused_before_parsing() {
    let huge = "k = 1\n".repeat(60_000);
    let err = Config::from_toml_str(&huge).unwrap_err();
    assert!(err.to_string().contains("at most 262144 bytes"), "{err}");
    figment::Jail::expect_with(|jail| {
        jail.create_file("utilconnect.toml", &huge)?;
        let err = Config::load().expect_err("too big");
        assert!(err.to_string().contains("utilconnect.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_env_key_is_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("UTILCONNECT_PROVIDR", "acme");
        let err = Config::load().expect_err("unknown key");
        assert!(err.to_string().contains("`providr`"), "{err}");
        assert!(err.to_string().contains("environment"), "says where: {err}");
        Ok(())
    });
}
