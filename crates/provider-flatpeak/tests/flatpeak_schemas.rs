//! The Flatpeak wire held to the vendor's own schemas, for each API version: every request the
//! provider sends and every answer the emulator gives is validated by a JSON Schema validator
//! (`jsonschema`) against the published documents in `tests/vendor/`:
//!
//! - `flatpeak-openapi-2024-08-24.json`: the vendor's OpenAPI spec of 2024-08-24, verbatim;
//! - `flatpeak-anode-create-connect-token.yaml`: the OpenAPI block of the vendor's anode page
//!   "Create a Connect token", verbatim. anode's retrieve ("Exchange a connect token") lists
//!   the same fields and required markers as the 2024 `ConnectToken`, so that schema checks it;
//! - `flatpeak-busbar-connect.json`: busbar's two reference pages written as schemas (the one
//!   document not published in machine-readable form; see its `$comment`).
//!
//! Our requests and the emulator's success answers are held to exactly the documented fields
//! (every object schema closed with `additionalProperties: false`); error answers only to
//! what the schema requires, since the vendor's own error examples carry more than their
//! schemas list.

use serde_json::{Value, json};
use utilconnect::Options;
use utilconnect_conformance::Harness;
use utilconnect_flatpeak::ApiVersion;
use utilconnect_flatpeak::sandbox::{FlatpeakSandbox, SandboxOptions};
use utilconnect_sandbox::{Sandbox, UserAction};

const VENDOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vendor");

/// The document that describes `version`'s Connect calls.
fn spec(version: ApiVersion) -> Value {
    let read = |name: &str| {
        std::fs::read_to_string(format!("{VENDOR}/{name}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    match version {
        ApiVersion::V2024_08_24 => {
            serde_json::from_str(&read("flatpeak-openapi-2024-08-24.json")).unwrap()
        }
        ApiVersion::Anode => {
            serde_norway::from_str(&read("flatpeak-anode-create-connect-token.yaml")).unwrap()
        }
        ApiVersion::Busbar => serde_json::from_str(&read("flatpeak-busbar-connect.json")).unwrap(),
    }
}

/// Where in a document the schema of each message is.
struct Pointers {
    create_request: &'static str,
    create_answer: &'static str,
    retrieve_answer: (ApiVersion, &'static str),
}

fn pointers(version: ApiVersion) -> Pointers {
    const CONNECT_TOKEN: &str =
        "/components/responses/ConnectToken/content/application~1json/schema";
    match version {
        ApiVersion::V2024_08_24 => Pointers {
            create_request: "/components/schemas/ConnectInitTariff",
            create_answer: "/components/responses/ConnectInitTariff/content/application~1json/schema",
            retrieve_answer: (ApiVersion::V2024_08_24, CONNECT_TOKEN),
        },
        ApiVersion::Anode => Pointers {
            create_request: "/components/schemas/ConnectTokenCreate",
            create_answer: "/components/responses/ConnectTokenCreate/content/application~1json/schema",
            retrieve_answer: (ApiVersion::V2024_08_24, CONNECT_TOKEN),
        },
        ApiVersion::Busbar => Pointers {
            create_request: "/components/schemas/ConnectSessionCreate",
            create_answer: "/components/schemas/ConnectSession",
            retrieve_answer: (ApiVersion::Busbar, "/components/schemas/ConnectSession"),
        },
    }
}

/// Closes every object schema that lists its properties: nothing undocumented passes.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("object"))
                && map.get("properties").is_some_and(Value::is_object)
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The validator's complaints about `instance` against the schema at `pointer` in `doc`
/// (OpenAPI 3.0 schema objects are JSON Schema draft 4 with annotations; formats checked).
fn problems(doc: &Value, pointer: &str, instance: &Value, closed: bool) -> Vec<String> {
    let mut doc = doc.clone();
    if closed {
        close_objects(&mut doc);
    }
    assert!(doc.pointer(pointer).is_some(), "no schema at {pointer}");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_resource(
            "urn:flatpeak:spec",
            jsonschema::Draft::Draft4.create_resource(doc),
        )
        .build(&json!({"$ref": format!("urn:flatpeak:spec#{pointer}")}))
        .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn assert_valid(version: ApiVersion, pointer: &str, instance: &Value, closed: bool, what: &str) {
    let found = problems(&spec(version), pointer, instance, closed);
    assert!(
        found.is_empty(),
        "{what} ({version}) against {pointer}: {found:?}\n{instance:#}"
    );
}

/// Every option the version's create call takes, so each documented field is sent once.
fn every_option(version: ApiVersion) -> Options {
    let address = json!({"address_line1": "1-3", "address_line2": "Strand", "city": "London",
        "state": "Greater London", "post_code": "WC2N 5EH", "country_code": "GB"});
    let options = match version {
        ApiVersion::V2024_08_24 => json!({
            "customer_reference_id": "CUS1", "location_reference_id": "LOC1",
            "tariff_direction": "EXPORT", "tariff_type": "COMMODITY", "tariff_id": "trf_1",
            "postal_address": address,
        }),
        ApiVersion::Anode => json!({
            "customer_id": "cus_1", "location_reference_id": "LOC1",
            "tariff_direction": "LOCAL", "tariff_type": "NON_COMMODITY", "tariff_id": "trf_1",
            "actions": {"disconnect_tariff": false, "edit_tariff": true},
            "route_options": {"advanced_tariff_capture": true, "tariff_name_capture": false,
                              "contract_term_capture": true},
            "postal_address_type": "RESIDENTIAL", "postal_address": address,
        }),
        ApiVersion::Busbar => json!({
            "location_id": "loc_1", "device_id": "dev_1", "provider_id": "prv_1",
        }),
    };
    options.as_object().cloned().unwrap_or_default()
}

async fn sandbox(version: ApiVersion) -> Harness<FlatpeakSandbox> {
    let options = SandboxOptions {
        api_version: version,
        ..SandboxOptions::default()
    };
    Harness::with_sandbox(FlatpeakSandbox::start_with(options, None).await.unwrap()).unwrap()
}

#[tokio::test]
async fn every_request_the_provider_sends_is_valid_in_each_version() {
    for version in ApiVersion::ALL {
        let h = sandbox(version).await;
        let connector = h.connector(None).unwrap();
        let started = connector
            .start_with("schema-user", h.callback(), every_option(version))
            .await
            .unwrap();
        let callback = h
            .sandbox()
            .act(started.connect_url.expose(), UserAction::Approve)
            .await
            .unwrap();
        connector.finish(callback.as_str()).await.unwrap();

        let sent = |method: &str, path: &str| {
            let found: Vec<_> = h
                .sandbox()
                .requests()
                .to_path(path)
                .into_iter()
                .filter(|r| r.method == method)
                .collect();
            assert_eq!(found.len(), 1, "{version}: one {method} {path}");
            found.into_iter().next().unwrap()
        };
        let create = sent("POST", version.create_path());
        assert_valid(
            version,
            pointers(version).create_request,
            &create.body,
            true,
            "create request",
        );
        let retrieve = sent("GET", version.default_retrieve_path());
        assert!(retrieve.body.is_null(), "a retrieve has no body");
        if version == ApiVersion::V2024_08_24 || version == ApiVersion::Anode {
            // The query parameters are the operation's documented ones (the 2024 spec).
            let documented: Vec<String> = spec(ApiVersion::V2024_08_24)
                .pointer("/paths/~1connect~1tariff~1token/get/parameters")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            let sent: Vec<String> = retrieve.query.keys().cloned().collect();
            assert_eq!(sent, documented, "{version}");
        }
    }
}

#[tokio::test]
async fn the_schemas_catch_what_they_should() {
    // The checks have teeth: each of these mistakes is a problem the validator reports.
    let zero = spec(ApiVersion::V2024_08_24);
    let create = pointers(ApiVersion::V2024_08_24).create_request;
    let anode_body = json!({"connect_url": "https://c/", "callback_url": "https://app/cb"});
    assert!(!problems(&zero, create, &anode_body, true).is_empty());
    let retrieve = pointers(ApiVersion::V2024_08_24).retrieve_answer.1;
    let renamed = json!({"id": "cot_1", "object": "connect_token", "live_mode": false,
        "location_id": "loc_1", "location_reference_id": "", "tariff_available": true,
        "time_created": "2026-01-01T00:00:00Z", "time_expiry": "2026-01-02T00:00:00Z"});
    assert!(!problems(&zero, retrieve, &renamed, false).is_empty());
    let busbar = spec(ApiVersion::Busbar);
    let answer = pointers(ApiVersion::Busbar).create_answer;
    let bad_time = json!({"id": "cot_1", "object": "connect_session", "location_id": "loc_1",
        "live_mode": false, "data_available": false, "time_created": "yesterday",
        "time_expiry": "2026-01-02T00:00:00Z"});
    assert!(!problems(&busbar, answer, &bad_time, true).is_empty());
}

/// The emulator's answers, asked directly as a client in `version` would.
struct Client {
    http: reqwest::Client,
    base: url::Url,
    header: String,
    bearer: String,
}

impl Client {
    async fn login(sandbox: &FlatpeakSandbox, version: ApiVersion) -> (Self, Value) {
        let options = sandbox.options();
        let header = version
            .published_header()
            .map_or_else(|| options.busbar_version.clone(), str::to_owned);
        let http = reqwest::Client::new();
        let answer: Value = http
            .get(sandbox.url("/login"))
            .basic_auth(&options.account_id, Some(&options.api_key))
            .header("flatpeak-version", &header)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        let bearer = answer["bearer_token"].as_str().unwrap().to_owned();
        let client = Self {
            http,
            base: sandbox.base_url().clone(),
            header,
            bearer,
        };
        (client, answer)
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = self.base.join(path).unwrap();
        let mut request = match method {
            "POST" => self.http.post(url),
            _ => self.http.get(url),
        }
        .bearer_auth(&self.bearer)
        .header("flatpeak-version", &self.header);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        let body = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }
}

/// A create body the version accepts.
fn create_body(version: ApiVersion, base: &url::Url) -> Value {
    let connect = base.join("/connect-web/").unwrap().to_string();
    match version {
        ApiVersion::V2024_08_24 => {
            json!({"callback_uri": "https://app.example/cb", "connect_web_uri": connect})
        }
        ApiVersion::Anode => {
            json!({"callback_url": "https://app.example/cb", "connect_url": connect})
        }
        ApiVersion::Busbar => {
            json!({"location_id": "loc_1", "callback_url": "https://app.example/cb", "connect_url": connect})
        }
    }
}

fn retrieve_path(version: ApiVersion, token: &str) -> String {
    match version {
        ApiVersion::Busbar => format!("/connect/{token}"),
        _ => format!("/connect/tariff/token?connect_token={token}"),
    }
}

#[tokio::test]
async fn every_answer_the_emulator_gives_is_valid_in_each_version() {
    let zero = ApiVersion::V2024_08_24;
    for version in ApiVersion::ALL {
        let sandbox = FlatpeakSandbox::start_with(
            SandboxOptions {
                processing_delay: std::time::Duration::from_secs(5),
                ..SandboxOptions::default()
            },
            None,
        )
        .await
        .unwrap();
        let (client, login) = Client::login(&sandbox, version).await;
        assert_valid(
            zero,
            "/components/schemas/AuthToken",
            &login,
            true,
            "login answer",
        );

        let path = version.create_path();
        let (status, created) = client
            .call(
                "POST",
                path,
                Some(&create_body(version, sandbox.base_url())),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        let p = pointers(version);
        assert_valid(version, p.create_answer, &created, true, "create answer");
        let token = created["connect_token"]
            .as_str()
            .or(created["id"].as_str())
            .unwrap()
            .to_owned();

        // An open session, then a saved one still processing (422), then the saved one.
        let (status, open) = client
            .call("GET", &retrieve_path(version, &token), None)
            .await;
        assert_eq!(status, 200, "{open}");
        let (spec_of, pointer) = p.retrieve_answer;
        assert_valid(spec_of, pointer, &open, true, "retrieve answer, open");
        let mut connect = sandbox.url("/connect-web/");
        connect.query_pairs_mut().append_pair("fp_cot", &token);
        sandbox.act(&connect, UserAction::Approve).await.unwrap();
        let (status, pending) = client
            .call("GET", &retrieve_path(version, &token), None)
            .await;
        assert_eq!(status, 422, "{pending}");
        assert_valid(
            zero,
            "/components/responses/422/content/application~1json/schema",
            &pending,
            false,
            "422",
        );
        sandbox.clock().advance(std::time::Duration::from_secs(5));
        let (status, saved) = client
            .call("GET", &retrieve_path(version, &token), None)
            .await;
        assert_eq!(status, 200, "{saved}");
        assert_valid(spec_of, pointer, &saved, true, "retrieve answer, saved");

        // Claimed: 404 with the 2024 body. A forged bearer: 403.
        let (status, gone) = client
            .call("GET", &retrieve_path(version, &token), None)
            .await;
        assert_eq!(status, 404);
        assert_valid(
            zero,
            "/components/responses/404/content/application~1json/schema",
            &gone,
            false,
            "404",
        );
        let forged = Client {
            bearer: "eyJforged".into(),
            ..client
        };
        let (status, denied) = forged.call("POST", path, Some(&json!({}))).await;
        assert_eq!(status, 403);
        let forbidden = if version == ApiVersion::Anode {
            ApiVersion::Anode
        } else {
            zero
        };
        assert_valid(
            forbidden,
            "/components/responses/403/content/application~1json/schema",
            &denied,
            false,
            "403",
        );
    }
}

#[tokio::test]
async fn a_route_of_another_version_is_a_json_404() {
    let sandbox = FlatpeakSandbox::start().await.unwrap();
    for (version, other) in [
        (ApiVersion::Anode, "/connect"),
        (ApiVersion::V2024_08_24, "/connect/token"),
        (ApiVersion::Busbar, "/connect/tariff/token"),
    ] {
        let (client, _) = Client::login(&sandbox, version).await;
        let (status, body) = client.call("POST", other, Some(&json!({}))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{version} {other}"
        );
    }
}
