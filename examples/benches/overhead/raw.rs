//! The baseline: hand-written reqwest code.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::CALLBACK;

/// Hand-written reqwest code making the same calls a careful app would.
pub(crate) struct Raw {
    provider: &'static str,
    pub(crate) client: reqwest::Client,
    table: Value,
    /// A bearer kept between calls, as a careful hand-written app would.
    cached_bearer: tokio::sync::OnceCell<String>,
}

impl Raw {
    pub(crate) fn new(provider: &'static str, table: &Value) -> Self {
        Self {
            provider,
            // What any production client sets: a timeout and no redirects (the SDK's policy
            // adds retries, a deadline and a body cap on top). The same User-Agent as the
            // SDK's, so both sides send the same requests, header for header.
            client: reqwest::Client::builder()
                .user_agent(concat!("utilconnect/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
            table: table.clone(),
            cached_bearer: tokio::sync::OnceCell::new(),
        }
    }

    pub(crate) fn s(&self, key: &str) -> &str {
        self.table[key].as_str().unwrap_or_default()
    }

    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}{}", self.s("api_base_url").trim_end_matches('/'), path)
    }

    pub(crate) async fn json(response: reqwest::Response) -> Value {
        assert!(response.status().is_success(), "{}", response.status());
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("json")
    }

    /// A POST to Pelm's API with the app's credentials.
    fn pelm_post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.api(path))
            .header("Pelm-Client-Id", self.s("client_id"))
            .header("Pelm-Secret", self.s("client_secret"))
    }

    /// The string `key` of a JSON answer (empty if missing).
    async fn text_field(response: reqwest::Response, key: &str) -> String {
        Self::json(response).await[key]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn bearer(&self) -> String {
        let login = self
            .client
            .get(self.api("/login"))
            .basic_auth(self.s("account_id"), Some(self.s("api_key")))
            .header("Flatpeak-Version", "2025-09-14.anode")
            .send()
            .await
            .expect("login");
        Self::text_field(login, "bearer_token").await
    }

    /// Creates a token (Flatpeak: logging in first when `login`, else with a kept bearer);
    /// the connect URL and what `complete` needs (Flatpeak: the bearer).
    pub(crate) async fn create(&self, user: &str, login: bool) -> (Url, String) {
        if self.provider == "pelm" {
            let response = self
                .pelm_post("/auth/connect-token")
                .form(&[("user_id", user)])
                .send()
                .await
                .expect("token");
            let token = Self::text_field(response, "connect_token").await;
            // A careful app sends a fresh CSRF state too (same size as the SDK's).
            let state = utilconnect::State::generate().expect("rng");
            let mut url = Url::parse(self.s("connect_base_url")).expect("url");
            url.query_pairs_mut()
                .append_pair("redirect_uri", CALLBACK)
                .append_pair("connect_token", &token)
                .append_pair("state", state.as_str());
            (url, String::new())
        } else {
            let bearer = if login {
                self.bearer().await
            } else {
                self.cached_bearer
                    .get_or_init(|| self.bearer())
                    .await
                    .clone()
            };
            let state = utilconnect::State::generate().expect("rng");
            let body = serde_json::json!({
                "connect_url": self.s("connect_web_url"),
                "callback_url": format!("{CALLBACK}?state={}", state.as_str()),
            });
            let response = self
                .client
                .post(self.api("/connect/token"))
                .bearer_auth(&bearer)
                .header("Flatpeak-Version", "2025-09-14.anode")
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("token");
            let token = Self::text_field(response, "connect_token").await;
            let mut url = Url::parse(self.s("connect_web_url")).expect("url");
            url.query_pairs_mut().append_pair("fp_cot", &token);
            (url, bearer)
        }
    }

    pub(crate) async fn create_only(&self, user: &str) {
        self.create(user, false).await;
    }

    pub(crate) async fn complete(&self, callback: &Url, bearer: &str) {
        let params: std::collections::HashMap<String, String> =
            callback.query_pairs().into_owned().collect();
        if self.provider == "pelm" {
            let response = self
                .pelm_post("/auth/token")
                .form(&[("code", params["code"].as_str()), ("grant_type", "code")])
                .send()
                .await
                .expect("exchange");
            let body = Self::json(response).await;
            assert!(body["access_token"].is_string());
        } else {
            let response = self
                .client
                .get(self.api("/connect/token"))
                .query(&[("connect_token", params["fp_cot"].as_str())])
                .bearer_auth(bearer)
                .header("Flatpeak-Version", "2025-09-14.anode")
                .send()
                .await
                .expect("retrieve");
            let body = Self::json(response).await;
            assert_eq!(body["complete_action"], "SAVE");
        }
    }
}
