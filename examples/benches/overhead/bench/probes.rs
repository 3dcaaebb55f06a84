//! Diagnostics (`BENCH_PROBE=1`): where the SDK's microseconds go.

use std::sync::Arc;
use std::time::{Duration, Instant};
use utilconnect::FromConfig as _;

use serde_json::Value;
use url::Url;
use utilconnect::Connector;
use utilconnect_pelm::PelmProvider;
use utilconnect_sandbox::UserAction;

use super::Bench;
use crate::CALLBACK;
use crate::measure::{median, ms, thread_cpu, vendor_thread_cpu};
use crate::raw::Raw;

impl Bench {
    /// Diagnostic (BENCH_PROBE=1): sequential whole flows, SDK and hand-written in turns;
    /// the medians of each part's wall time, of the CPU time the app's thread spent in it,
    /// and of the vendor thread's CPU in the same window (does either side make the vendor
    /// work longer, or wait longer for it?). The app CPU includes reading the CPU clock
    /// itself, a few microseconds on both sides alike, so it can exceed the wall time.
    pub(crate) async fn probe_parts(&self) {
        // Per side, per part (start, finish): wall, app CPU, vendor CPU.
        let mut parts: [[[Vec<Duration>; 3]; 2]; 2] = Default::default();
        for i in 0..1000 {
            let order = if i % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for sdk in order {
                let side = &mut parts[usize::from(!sdk)];
                let (vendor, cpu, wall) = (vendor_thread_cpu().await, thread_cpu(), Instant::now());
                let (connect_url, auth) = if sdk {
                    let started = self
                        .connector
                        .start(&format!("pp-sdk-{i}"), CALLBACK)
                        .await
                        .expect("start");
                    (started.connect_url.expose().clone(), String::new())
                } else {
                    self.raw.create(&format!("pp-raw-{i}"), false).await
                };
                side[0][0].push(wall.elapsed());
                side[0][1].push(thread_cpu() - cpu);
                side[0][2].push(vendor_thread_cpu().await - vendor);
                let callback = self
                    .sandbox
                    .act(&connect_url, UserAction::Approve)
                    .await
                    .expect("act");
                let (vendor, cpu, wall) = (vendor_thread_cpu().await, thread_cpu(), Instant::now());
                if sdk {
                    self.connector
                        .finish(callback.as_str())
                        .await
                        .expect("finish");
                } else {
                    self.raw.complete(&callback, &auth).await;
                }
                side[1][0].push(wall.elapsed());
                side[1][1].push(thread_cpu() - cpu);
                side[1][2].push(vendor_thread_cpu().await - vendor);
            }
        }
        let mut us = |side: usize, part: usize| {
            parts[side][part]
                .each_mut()
                .map(|samples| ms(median(samples)) * 1e3)
        };
        let (start, create, finish, complete) = (us(0, 0), us(1, 0), us(0, 1), us(1, 1));
        println!(
            "probe (medians of 1000; wall / app CPU / vendor CPU, us): start {:.1} / {:.1} / {:.1} vs create {:.1} / {:.1} / {:.1}; finish {:.1} / {:.1} / {:.1} vs complete {:.1} / {:.1} / {:.1}",
            start[0],
            start[1],
            start[2],
            create[0],
            create[1],
            create[2],
            finish[0],
            finish[1],
            finish[2],
            complete[0],
            complete[1],
            complete[2],
        );
    }

    /// Diagnostic (BENCH_PROBE=1, Pelm): the app thread's CPU for one token call through
    /// each layer (bare reqwest, `HttpClient`, the provider, the `Connector`, and the
    /// hand-written sequence), each call followed by the end user's pages, so every call
    /// starts with caches as cold as in a real flow.
    pub(crate) async fn probe_layers(&self) {
        use utilconnect::ConnectProvider as _;
        use utilconnect::http::{HttpClient, Idempotency};
        let http = HttpClient::new("pelm", Default::default()).expect("client");
        let provider =
            PelmProvider::from_config(&self.sandbox.provider_config()).expect("provider");
        let token_url = Url::parse(&self.raw.api("/auth/connect-token")).expect("url");
        let request = |client: &reqwest::Client, user: &str| {
            client
                .post(token_url.clone())
                .header("Pelm-Client-Id", self.raw.s("client_id"))
                .header("Pelm-Secret", self.raw.s("client_secret"))
                .form(&[("user_id", user)])
        };
        let connect_url = |body: &Value| {
            let mut url = Url::parse(self.raw.s("connect_base_url")).expect("url");
            url.query_pairs_mut()
                .append_pair("redirect_uri", CALLBACK)
                .append_pair(
                    "connect_token",
                    body["connect_token"].as_str().unwrap_or(""),
                );
            url
        };
        let mut cpu: [Vec<Duration>; 5] = Default::default();
        for i in 0..1000 {
            for turn in 0..5 {
                let layer = (turn + i) % 5;
                let user = format!("pl-{layer}-{i}");
                let before = thread_cpu();
                let target = match layer {
                    0 => {
                        let response = request(&self.raw.client, &user).send().await.expect("send");
                        connect_url(&Raw::json(response).await)
                    }
                    1 => {
                        let response = http
                            .send(
                                utilconnect::Operation::CreateToken,
                                Idempotency::Idempotent,
                                |client| request(client, &user),
                            )
                            .await
                            .expect("send");
                        connect_url(
                            &response
                                .json("pelm", utilconnect::Operation::CreateToken)
                                .expect("json"),
                        )
                    }
                    2 => {
                        let state = utilconnect::State::generate().expect("rng");
                        let token_request = utilconnect::TokenRequest::new(
                            user.as_str(),
                            Url::parse(CALLBACK).expect("url"),
                            state,
                        )
                        .expect("request");
                        let token = provider.create_token(&token_request).await.expect("token");
                        provider.connect_url(&token_request, &token).expect("url")
                    }
                    3 => self
                        .connector
                        .start(&user, CALLBACK)
                        .await
                        .expect("start")
                        .connect_url
                        .expose()
                        .clone(),
                    _ => self.raw.create(&user, false).await.0,
                };
                cpu[layer].push(thread_cpu() - before);
                let _ = self.sandbox.act(&target, UserAction::Approve).await;
            }
        }
        let us: Vec<f64> = cpu
            .iter_mut()
            .map(|samples| ms(median(samples)) * 1e3)
            .collect();
        println!(
            "probe: one token call, cold, app CPU (medians of 1000): reqwest {:.1} us, HttpClient {:.1}, provider {:.1}, Connector::start {:.1}; hand-written create {:.1}",
            us[0], us[1], us[2], us[3], us[4]
        );
    }
}

/// Diagnostic: the Connector's own cost per flow, over a provider that does no I/O.
pub(crate) async fn connector_alone() {
    #[derive(Debug)]
    struct Echo;
    #[async_trait::async_trait]
    impl utilconnect::ConnectProvider for Echo {
        fn descriptor(&self) -> &'static utilconnect::ProviderDescriptor {
            fn never_built(
                _: &utilconnect::ProviderConfig,
                _: &utilconnect::BuildContext,
            ) -> utilconnect::Result<std::sync::Arc<dyn utilconnect::ConnectProvider>> {
                unreachable!("built in code")
            }
            const ECHO: utilconnect::ProviderDescriptor =
                utilconnect::ProviderDescriptor::new("echo", "", &[], never_built, "bench");
            &ECHO
        }
        async fn create_token(
            &self,
            _: &utilconnect::TokenRequest,
        ) -> utilconnect::Result<utilconnect::ConnectToken> {
            Ok(utilconnect::ConnectToken::new(
                "tok".into(),
                Duration::from_secs(60),
            ))
        }
        fn connect_url(
            &self,
            request: &utilconnect::TokenRequest,
            _: &utilconnect::ConnectToken,
        ) -> utilconnect::Result<Url> {
            let mut url = request.callback_url().clone();
            url.query_pairs_mut()
                .append_pair("code", "c")
                .append_pair("state", request.state().as_str());
            Ok(url)
        }
        async fn complete(
            &self,
            session: &utilconnect::PendingSession,
            _: &utilconnect::Callback,
        ) -> utilconnect::Result<utilconnect::Connection> {
            Ok(utilconnect::Connection::new(
                "echo",
                session.user_id.clone(),
            ))
        }
    }
    let connector = Connector::new(Arc::new(Echo));
    let n = 20_000;
    let t = Instant::now();
    for i in 0..n {
        let started = connector
            .start(&format!("u{i}"), CALLBACK)
            .await
            .expect("start");
        connector
            .finish(started.connect_url.expose().as_str())
            .await
            .expect("finish");
    }
    println!(
        "probe: Connector alone (no I/O) {:.2} us per flow",
        t.elapsed().as_secs_f64() / n as f64 * 1e6
    );
}
