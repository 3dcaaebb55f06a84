use super::*;

#[test]
fn redacts_json_string_and_number_values_of_secret_keys() {
    let body = r#"{"access_token": "at-1", "refresh_token":"rt-1", "expires_in": 3600, "code": 42, "message":"ok"}"#;
    let out = redact_text(body);
    for secret in ["at-1", "rt-1", "42"] {
        assert!(!out.contains(secret), "{secret} leaked in {out}");
    }
    assert!(out.contains(r#""expires_in": 3600"#));
    assert!(out.contains(r#""message":"ok""#));
}

#[test]
fn redacts_escaped_quotes_inside_values() {
    let out = redact_text(r#"{"client_secret":"a\"b-secret"}"#);
    assert!(!out.contains("b-secret"), "{out}");
}

#[test]
fn redacts_the_first_field_of_a_nested_object() {
    let out = redact_text(r#"{"data":{"access_token":"at-nested","id":"x"}}"#);
    assert_eq!(out, r#"{"data":{"access_token":"[REDACTED]","id":"x"}}"#);
}

#[test]
fn redacts_objects_and_arrays_under_a_secret_key_whole() {
    for body in [
        r#"{"access_token":{"value":"at-deep","kind":"jwt"}}"#,
        r#"{"access_token":["at-deep", {"v":"at-deep"}]}"#,
        r#"{"tokens":[{"x":"at-deep"}], "user": "u1"}"#,
    ] {
        let out = redact_text(body);
        assert!(!out.contains("at-deep"), "{out}");
        assert!(out.contains(REDACTED), "{out}");
    }
    let out = redact_text(r#"{"tokens":[{"x":"at-deep"}], "user": "u1"}"#);
    assert!(
        out.ends_with(r#""user": "u1"}"#),
        "what follows is kept: {out}"
    );
}

#[test]
fn redacts_values_of_keys_of_any_length() {
    let key = format!("{}_access_token", "x".repeat(100));
    let out = redact_text(&format!(r#"{{"{key}":"long-key-secret"}}"#));
    assert!(!out.contains("long-key-secret"), "{out}");
    let out = redact_text(&format!("{key}=long-key-secret&a=b"));
    assert!(!out.contains("long-key-secret"), "{out}");
}

#[test]
fn redacts_form_query_and_header_pairs() {
    let out = redact_text("code=abc&state=xyz&connect_token=cot_1 Acme-Secret: s3cr3t");
    assert!(!out.contains("abc"));
    assert!(!out.contains("cot_1"));
    assert!(!out.contains("s3cr3t"));
    assert!(out.contains("state=xyz"));
    let out = redact_text(r#"password: "hunter 2" user: u1"#);
    assert!(!out.contains("hunter"), "{out}");
    assert!(out.contains("user: u1"), "{out}");
}

#[test]
fn redacts_bearer_and_basic_credentials() {
    let out = redact_text("sent Bearer eyJhbGciOi.x.y and basic YWNjOnNr");
    assert!(!out.contains("eyJhbGciOi"));
    assert!(!out.contains("YWNjOnNr"));
    let out = redact_text("Authorization: Bearer eyJhbGciOi.x.y");
    assert!(!out.contains("eyJhbGciOi"), "{out}");
}

#[test]
fn truncated_json_value_is_still_redacted() {
    let out = redact_text(r#"{"connect_token":"cot_abcdef"#);
    assert!(!out.contains("cot_abcdef"), "{out}");
    let out = redact_text(r#"{"access_token":{"a":["cot_abcdef""#);
    assert!(!out.contains("cot_abcdef"), "{out}");
}

#[test]
fn known_secrets_are_scrubbed_under_innocent_keys_and_in_prose() {
    let secrets = KnownSecrets::new()
        .with("s3cr3t-value/42".into())
        .with("cot_123".into());
    for body in [
        "client secret s3cr3t-value/42 rejected",
        r#"{"id":"cot_123","note":"s3cr3t-value/42"}"#,
        "echo=s3cr3t-value%2F42",
        r#"{"note":"s3cr3t-value\/42"}"#,
    ] {
        let out = excerpt_scrubbing(body.as_bytes(), &secrets);
        for secret in ["s3cr3t-value", "cot_123"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }
}

#[test]
fn excerpt_is_bounded_and_survives_invalid_utf8() {
    let mut body = vec![0xff, 0xfe];
    body.extend(std::iter::repeat_n(b'a', 10_000));
    let out = excerpt(&body);
    assert_eq!(out.chars().count(), EXCERPT_CHARS + 1);
    assert!(out.ends_with('…'));
    assert!(out.starts_with('\u{fffd}'));
}

#[test]
fn excerpt_escapes_control_characters() {
    let out = excerpt(b"line one\nFAKE LOG LINE\r\x1b[31m\xe2\x80\xae");
    assert!(!out.chars().any(char::is_control), "{out:?}");
    assert!(out.contains("\\n") && out.contains("\\u{001b}") && out.contains("\\u{202e}"));
}

#[test]
fn sanitize_bounds_what_it_writes_escapes_included() {
    let out = sanitize(&"\n".repeat(10_000), 100);
    assert!(out.chars().count() <= 101, "{}", out.len());
    let out = sanitize(&"é".repeat(300), 10);
    assert_eq!(out, format!("{}…", "é".repeat(10)));
}

#[test]
fn huge_hostile_bodies_cost_linear_work() {
    // Not a timing (that is the redaction bench): the shapes that made the old regexes
    // super-linear must still give bounded, redacted excerpts.
    let n = 200_000;
    let bodies = [
        "\"".repeat(n),
        format!("{{\"access_token\":\"{}", "a".repeat(n)),
        "a=".repeat(n),
        "{\"k\":".repeat(n / 5),
        "[".repeat(n),
        "Bearer ".repeat(n / 7),
    ];
    for body in bodies {
        let out = excerpt(body.as_bytes());
        assert!(out.chars().count() <= EXCERPT_CHARS + 1);
    }
}

#[test]
fn a_secret_cut_by_the_window_is_not_shown_in_part() {
    let secret = "cot_flow_secret_value";
    let mut text = String::from(r#"{"access_token":""#);
    let filler = WINDOW_BYTES - 5 - text.len() - r#"","x":""#.len();
    text.push_str(&"a".repeat(filler));
    text.push_str(r#"","x":""#);
    text.push_str(secret);
    text.push_str(r#""}"#);
    assert!(text.find(secret).unwrap() < WINDOW_BYTES);
    assert!(text.find(secret).unwrap() + secret.len() > WINDOW_BYTES);
    let secrets = KnownSecrets::new().with(secret.into());
    let kept = keepable(&text, &secrets, 1000);
    assert!(
        kept.starts_with(r#"{"access_token":"[REDACTED]","x":""#),
        "{kept}"
    );
    assert!(!kept.contains("cot_"), "{kept}");
}

#[test]
fn keepable_reads_only_the_window() {
    // A secret-named key past the window cannot matter: nothing past it is kept.
    let text = format!("{}{}", "n".repeat(WINDOW_BYTES), "token=abc");
    let kept = keepable(&text, &KnownSecrets::new(), usize::MAX);
    assert_eq!(kept.len(), WINDOW_BYTES);
}

#[test]
fn secret_key_names_match_without_regard_to_case() {
    assert!(is_secret_key("ACCESS_TOKEN"));
    assert!(is_secret_key("X-Api-Key"));
    assert!(is_secret_key("CODE"));
    assert!(!is_secret_key("zip_code"));
    assert!(!is_secret_key("tokn"));
}

#[test]
fn an_excerpt_shows_no_part_of_a_secret_that_straddles_the_window() {
    // A secret-named value that redaction shrinks pulls the window's end into view.
    let secret = "cot_flow_secret_value";
    let mut body = format!("access_token={}&x=", "a".repeat(WINDOW_BYTES - 30));
    body.push_str(secret);
    let start = body.find(secret).unwrap();
    assert!(start < WINDOW_BYTES && start + secret.len() > WINDOW_BYTES);
    let out = excerpt_scrubbing(body.as_bytes(), &KnownSecrets::new().with(secret.into()));
    assert!(!out.contains("cot_f"), "{out}");
}

#[test]
fn the_cut_moves_until_no_secret_straddles_it() {
    // Moving the cut before `abc_def` makes it split `tok_abc`: it must move again.
    let mut text = "n".repeat(WINDOW_BYTES - 5);
    text.push_str("tok_abc_def tail");
    let secrets = KnownSecrets::new()
        .with("abc_def".into())
        .with("tok_abc".into());
    let kept = keepable(&text, &secrets, usize::MAX);
    assert!(
        !kept.contains("tok") && !kept.contains("abc"),
        "{}",
        &kept[kept.len() - 20..]
    );
}
