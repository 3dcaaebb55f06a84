use super::*;

#[test]
fn retry_after_reads_seconds_and_dates() {
    let mut headers = HeaderMap::new();
    assert_eq!(retry_after(&headers), None);
    headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    let future = SystemTime::now() + Duration::from_secs(120);
    headers.insert(
        http::header::RETRY_AFTER,
        httpdate::fmt_http_date(future).parse().unwrap(),
    );
    let wait = retry_after(&headers).unwrap();
    assert!(
        wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );
    headers.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
    assert_eq!(retry_after(&headers), None);
}

#[test]
fn body_keeps_one_chunk_and_joins_several() {
    let mut one = Body::default();
    one.push(Bytes::from_static(b"whole"));
    assert_eq!(one.len(), 5);
    assert_eq!(one.into_bytes(), Bytes::from_static(b"whole"));

    let mut several = Body::default();
    for part in [&b"ab"[..], b"", b"cd", b"e"] {
        several.push(Bytes::copy_from_slice(part));
    }
    assert_eq!(several.len(), 5);
    assert_eq!(several.into_bytes(), Bytes::from_static(b"abcde"));
    assert!(Body::default().into_bytes().is_empty());
}

#[test]
fn backoff_grows_is_capped_and_jittered() {
    let http = HttpClient::new(
        "test",
        HttpConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..HttpConfig::default()
        },
    )
    .unwrap();
    for _ in 0..100 {
        let first = http.backoff(1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let second = http.backoff(2);
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        let capped = http.backoff(10);
        assert!(capped >= Duration::from_millis(175) && capped <= Duration::from_millis(350));
    }
    let draws: std::collections::HashSet<_> = (0..50).map(|_| http.backoff(3)).collect();
    assert!(draws.len() > 1, "no jitter");
}

#[test]
fn only_safe_statuses_are_retried_for_non_idempotent_calls() {
    for code in [429, 502, 503, 504] {
        let status = StatusCode::from_u16(code).unwrap();
        assert!(
            should_retry_status(status, Idempotency::Idempotent),
            "{code}"
        );
    }
    for code in [400, 401, 404, 500, 501] {
        let status = StatusCode::from_u16(code).unwrap();
        assert!(
            !should_retry_status(status, Idempotency::Idempotent),
            "{code}"
        );
    }
    assert!(should_retry_status(
        StatusCode::TOO_MANY_REQUESTS,
        Idempotency::NotIdempotent
    ));
    assert!(!should_retry_status(
        StatusCode::BAD_GATEWAY,
        Idempotency::NotIdempotent
    ));
}

#[test]
fn strip_quoted_drops_quoted_and_backticked_values_even_with_escapes() {
    let out = strip_quoted(r#"invalid type: string "se\"cret" and integer `12345`, expected u64"#);
    assert!(!out.contains("cret") && !out.contains("12345"), "{out}");
    assert!(out.contains("expected u64"), "{out}");
}

#[test]
fn decode_error_has_path_and_never_quotes_values() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Token {
        access_token: u64,
    }
    let body = br#"{"access_token": "at-secret-value"}"#;
    let err = decode_json::<Token>(body, "acme", Operation::Complete).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.json_path(), Some("access_token"));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("at-secret-value"), "{shown}");

    let err = decode_json::<Token>(b"<html>oops", "acme", Operation::Complete).unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert_eq!(err.body_excerpt(), Some("<html>oops"));
}

mod against_a_server {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const SECRET: &str = "cot_super_secret_token_value";

    fn client(config: HttpConfig) -> HttpClient {
        HttpClient::new("test", config).unwrap()
    }

    fn fast() -> HttpConfig {
        HttpConfig {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..HttpConfig::default()
        }
    }

    async fn get(
        http: &HttpClient,
        server: &MockServer,
        idempotency: Idempotency,
    ) -> Result<Response> {
        let url = format!("{}/thing", server.uri());
        http.send(Operation::CreateToken, idempotency, |c| c.get(&url))
            .await
    }

    /// A vendor that echoes the whole request in its error: the credentials the request
    /// carried (bearer, secret header, Basic password, secret query and form values) and the
    /// client's own secret are scrubbed from every text the error keeps.
    #[tokio::test]
    async fn secrets_a_request_carried_are_scrubbed_from_an_echoing_answer() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(|request: &wiremock::Request| {
                // Values only, in prose: nothing a key-based redaction could recognise.
                use base64::Engine as _;
                let mut values: Vec<String> = request
                    .url
                    .query_pairs()
                    .map(|(_, v)| v.into_owned())
                    .collect();
                values.extend(
                    url::form_urlencoded::parse(&request.body).map(|(_, v)| v.into_owned()),
                );
                for value in request.headers.values() {
                    let value = value.to_str().unwrap_or("");
                    let credential = value.split_once(' ').map_or(value, |(_, c)| c);
                    values.push(credential.to_owned());
                    if let Ok(decoded) =
                        base64::engine::general_purpose::STANDARD.decode(credential)
                    {
                        values.push(String::from_utf8_lossy(&decoded).into_owned());
                    }
                }
                let echo = format!(
                    "{{\"message\":\"refused {}\",\"error_code\":\"{}\"}}",
                    values.join(" "),
                    values.join("/"),
                );
                ResponseTemplate::new(401).set_body_string(echo)
            })
            .mount(&server)
            .await;
        let http = client(fast())
            .with_known_secrets(KnownSecrets::new().with("client-secret-never-sent".into()));
        let url = format!("{}/thing?connect_token=cot-in-query&user=u1", server.uri());
        let response = http
            .send(Operation::Complete, Idempotency::NotIdempotent, |c| {
                c.post(&url)
                    .bearer_auth("bearer-in-header")
                    .header("x-api-secret", {
                        // Providers mark their credential headers sensitive, as reqwest
                        // does for Basic and Bearer.
                        let mut value = http::HeaderValue::from_static("secret-in-header");
                        value.set_sensitive(true);
                        value
                    })
                    .form(&[("code", "code-in-form"), ("grant_type", "code")])
            })
            .await
            .unwrap();
        let basic = http
            .send(Operation::Authenticate, Idempotency::Idempotent, |c| {
                c.post(&url).basic_auth("acc_1", Some("basic-password"))
            })
            .await
            .unwrap();
        for (response, message) in [(&response, "refused"), (&basic, "refused")] {
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            let err = vendor_error(
                response,
                "test",
                Operation::Complete,
                ErrorKind::Unauthorized,
                message,
                Some((body["error_code"].as_str(), body["message"].as_str())),
            );
            let shown = format!("{err} {err:?} {}", response.excerpt());
            for secret in [
                "bearer-in-header",
                "secret-in-header",
                "code-in-form",
                "cot-in-query",
                "basic-password",
                "YWNjXzE6YmFzaWMtcGFzc3dvcmQ", // base64 of acc_1:basic-password
            ] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(
                shown.contains(" u1 "),
                "non-secret values are kept: {shown}"
            );
        }
    }

    #[tokio::test]
    async fn retries_5xx_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        let response = get(&client(fast()), &server, Idempotency::Idempotent)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.attempts(), 3);
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_and_returns_the_last_response() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(502))
            .mount(&server)
            .await;
        let config = HttpConfig {
            max_retries: 2,
            ..fast()
        };
        let response = get(&client(config), &server, Idempotency::Idempotent)
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn waits_for_retry_after_rather_than_its_own_backoff() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let started = Instant::now();
        let response = get(&client(fast()), &server, Idempotency::NotIdempotent)
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "429 is retried even for non-idempotent calls"
        );
        // Own backoff is at most 20 ms here; only honouring the header waits a full second.
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn retry_after_beyond_the_deadline_returns_at_once() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
            .mount(&server)
            .await;
        let config = HttpConfig {
            total_deadline: Duration::from_secs(2),
            ..fast()
        };
        let response = get(&client(config), &server, Idempotency::Idempotent)
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn slow_server_ends_in_timeout_within_the_deadline() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let config = HttpConfig {
            request_timeout: Duration::from_millis(200),
            total_deadline: Duration::from_millis(700),
            max_retries: 10,
            ..fast()
        };
        let err = get(&client(config), &server, Idempotency::Idempotent)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.is_temporary());
        let attempts = server.received_requests().await.unwrap().len();
        assert!(
            (2..=5).contains(&attempts),
            "deadline bounds retries, got {attempts}"
        );
    }

    #[tokio::test]
    async fn a_deadline_already_passed_sends_nothing() {
        // No mock: the server records whatever reaches it, and nothing may.
        let server = MockServer::start().await;
        let url = format!("{}/thing", server.uri());
        let err = client(fast())
            .send_within(
                Instant::now(),
                Operation::CreateToken,
                Idempotency::Idempotent,
                |c| c.get(&url),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.to_string().contains("after 0 attempt(s)"), "{err}");
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn non_idempotent_call_is_not_retried_after_it_may_have_been_processed() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let config = HttpConfig {
            request_timeout: Duration::from_millis(200),
            ..fast()
        };
        let err = get(&client(config), &server, Idempotency::NotIdempotent)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(server.received_requests().await.unwrap().len(), 1);

        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let response = get(&client(fast()), &server, Idempotency::NotIdempotent)
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn refused_connection_is_a_network_error_without_the_url() {
        // Bind then drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/connect/token?connect_token={SECRET}");
        let http = client(HttpConfig {
            max_retries: 1,
            ..fast()
        });
        let err = http
            .send(Operation::Complete, Idempotency::NotIdempotent, |c| {
                c.get(&url)
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network);
        let mut shown = format!("{err} {err:?}");
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            shown.push_str(&s.to_string());
            source = s.source();
        }
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[tokio::test]
    async fn body_cap_is_enforced_with_and_without_content_length() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2048)))
            .mount(&server)
            .await;
        let config = HttpConfig {
            max_body_bytes: 1024,
            ..fast()
        };
        let err = get(&client(config.clone()), &server, Idempotency::Idempotent)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResponseTooLarge);
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "not retried"
        );

        // A chunked body has no Content-Length: the cap must hold while streaming.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let mut reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..8 {
                reply.extend_from_slice(format!("200\r\n{}\r\n", "y".repeat(512)).as_bytes());
            }
            reply.extend_from_slice(b"0\r\n\r\n");
            let _ = socket.write_all(&reply).await;
        });
        let url = format!("http://{addr}/stream");
        let err = client(config)
            .send(Operation::Complete, Idempotency::Idempotent, |c| {
                c.get(&url)
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResponseTooLarge);
    }

    #[tokio::test]
    async fn a_body_in_several_chunks_is_read_whole_and_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = socket.write_all(head).await;
            for part in ["{\"a\":", "[1,2,", "3]}"] {
                let chunk = format!("{:x}\r\n{part}\r\n", part.len());
                let _ = socket.write_all(chunk.as_bytes()).await;
                let _ = socket.flush().await;
                // Separate writes, so the client sees separate chunks.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        let url = format!("http://{addr}/parts");
        let response = client(fast())
            .send(Operation::Complete, Idempotency::Idempotent, |c| {
                c.get(&url)
            })
            .await
            .unwrap();
        assert_eq!(response.body().as_ref(), br#"{"a":[1,2,3]}"#);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let server = MockServer::start().await;
        Mock::given(path("/thing"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("Location", format!("{}/elsewhere", server.uri())),
            )
            .mount(&server)
            .await;
        let response = get(&client(fast()), &server, Idempotency::Idempotent)
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        let paths: Vec<_> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect();
        assert_eq!(paths, ["/thing"]);
    }
}

#[test]
fn a_config_built_in_code_is_checked_too() {
    let config = HttpConfig {
        total_deadline: Duration::MAX,
        ..HttpConfig::default()
    };
    let err = HttpClient::new("test", config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("http.total_deadline: must be at most 1h"),
        "{err}"
    );
}

#[test]
fn a_decode_excerpt_shows_no_part_of_a_secret_cut_at_its_end() {
    // The token sits across the excerpt's 256-character cut.
    let secret = "cot_0123456789abcdef";
    let body = format!(
        r#"{{"live_mode":"nope","pad":"{}","id":"{secret}"}}"#,
        "p".repeat(210)
    );
    assert!(body.find(secret).unwrap() < 256 && body.find(secret).unwrap() + secret.len() > 256);
    let response = Response::from_parts(
        StatusCode::OK,
        HeaderMap::new(),
        Bytes::from(body),
        KnownSecrets::new().with(secret.into()),
    );
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Session {
        live_mode: bool,
    }
    let err = response
        .json::<Session>("test", Operation::Complete)
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("cot_0"), "{shown}");
}

#[test]
fn debug_of_a_response_shows_no_body_or_header_value() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "set-cookie",
        http::HeaderValue::from_static("session=s3cr3t"),
    );
    let response = Response::from_parts(
        StatusCode::OK,
        headers,
        Bytes::from_static(br#"{"access_token":"at-secret"}"#),
        KnownSecrets::new(),
    );
    let debug = format!("{response:?}");
    assert!(
        !debug.contains("at-secret") && !debug.contains("s3cr3t"),
        "{debug}"
    );
    assert!(
        debug.contains("set-cookie") && debug.contains("body_bytes"),
        "{debug}"
    );
}
