//! The registry seen from another crate: a provider registered here with
//! `register_provider!` is found, built from its table, and listed when a name is unknown.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use utilconnect::{
    BuildContext, Callback, ConfigKey, ConnectProvider, ConnectToken, Connection, ErrorKind,
    PendingSession, ProviderConfig, ProviderDescriptor, Result, TokenRequest, Url,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoConfig {
    api_key: SecretString,
}

#[derive(Debug)]
struct Echo {
    api_key: SecretString,
}

#[async_trait]
impl ConnectProvider for Echo {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &ECHO
    }
    async fn create_token(&self, _: &TokenRequest) -> Result<ConnectToken> {
        let lifetime = std::time::Duration::from_secs(60);
        Ok(ConnectToken::new(self.api_key.clone(), lifetime))
    }
    fn connect_url(&self, request: &TokenRequest, _: &ConnectToken) -> Result<Url> {
        Ok(request.callback_url().clone())
    }
    async fn complete(&self, session: &PendingSession, _: &Callback) -> Result<Connection> {
        Ok(Connection::new("echo-test", session.user_id.clone()))
    }
}

fn build(config: &ProviderConfig, _: &BuildContext) -> Result<Arc<dyn ConnectProvider>> {
    let config: EchoConfig = config.extract()?;
    Ok(Arc::new(Echo {
        api_key: config.api_key,
    }))
}

const KEYS: &[ConfigKey] = &[ConfigKey::secret("api_key", "the echo API key")];

const ECHO: ProviderDescriptor = ProviderDescriptor::new(
    "echo-test",
    "registered from an integration test",
    KEYS,
    build,
    module_path!(),
);

utilconnect::register_provider!(ECHO);

#[test]
fn a_provider_registered_in_another_crate_is_listed() {
    let names: Vec<_> = utilconnect::providers()
        .unwrap()
        .iter()
        .map(|d| d.name())
        .collect();
    assert_eq!(names, ["echo-test"]);
    let descriptor = utilconnect::provider("echo-test").unwrap();
    assert_eq!(descriptor.config_keys()[0].name, "api_key");
    assert!(descriptor.config_keys()[0].secret);
}

#[test]
fn it_builds_from_its_table_and_reports_bad_keys() {
    let table = ProviderConfig::from_json("echo-test", serde_json::json!({"api_key": "12345"}));
    let provider = utilconnect::build_provider("echo-test", &table).unwrap();
    assert_eq!(provider.descriptor().name(), "echo-test");
    assert!(!format!("{provider:?}").contains("12345"), "{provider:?}");

    let table = ProviderConfig::from_json("echo-test", serde_json::json!({"api_kye": "1"}));
    let err = utilconnect::build_provider("echo-test", &table).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.provider(), Some("echo-test"));
    assert!(err.to_string().contains("unknown key `api_kye`"), "{err}");
}

#[test]
fn an_unknown_name_lists_the_available_providers() {
    let table = ProviderConfig::from_json("acme", serde_json::json!({}));
    let err = utilconnect::build_provider("acme", &table).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("unknown provider `acme`; available: echo-test"),
        "{err}"
    );
}

#[test]
fn from_config_picks_the_provider_by_name() {
    let config = utilconnect::Config::from_toml_str(
        "provider = \"echo-test\"\n[providers.echo-test]\napi_key = \"k\"\n",
    )
    .unwrap();
    let connector = utilconnect::Connector::from_config(&config).unwrap();
    assert_eq!(connector.provider().descriptor().name(), "echo-test");
}

#[test]
fn a_config_chosen_connector_can_have_its_own_store() {
    let config = utilconnect::Config::from_toml_str(
        "provider = \"nobody\"\n[providers.echo-test]\napi_key = \"k\"\n",
    )
    .unwrap()
    .with_provider("echo-test");
    let store = std::sync::Arc::new(utilconnect::InMemorySessionStore::new());
    let connector = utilconnect::Connector::builder_from_config(&config)
        .unwrap()
        .store(store.clone())
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(connector.start("u", "https://app.example/cb"))
        .unwrap();
    assert_eq!(
        store.len(),
        1,
        "the flow went to the store given to the builder"
    );
}
