//! CPU per hostile vendor body: what keeping an error about a 1 MiB answer costs.
//!
//! `cargo bench -p utilconnect --bench hostile_input` (add `-- --quick` for fewer rounds).
//! For each body shape it times, in one run, the SDK's three paths that read a whole vendor
//! body (a redacted, scrubbed excerpt; a failed JSON decode with its excerpt; an error's
//! vendor message), reports the median in ms per MiB against the 20 ms/MiB goal, and times
//! the regex-based redaction the SDK used before as the baseline.

use std::time::{Duration, Instant};

use regex::Regex;
use utilconnect::redact::{KnownSecrets, excerpt_scrubbing};
use utilconnect::{Error, ErrorKind, Operation};

const MIB: usize = 1024 * 1024;
const GOAL_MS_PER_MIB: f64 = 20.0;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 5 } else { 21 };
    // A key-like secret drawn at run time (never a committed literal), as long as an API key.
    let secret = format!(
        "key_{}",
        utilconnect::State::generate().expect("os rng").as_str()
    );
    let secrets = KnownSecrets::new()
        .with(secret.clone().into())
        .with("cot_flow_token_42".into())
        .with("bearer.jwt.value".into());
    let legacy = Legacy::new();
    println!("hostile input: CPU per 1 MiB vendor body, median of {rounds} (release build)");
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>14}",
        "body", "excerpt", "decode", "message", "old regexes"
    );
    let mut worst: f64 = 0.0;
    for (name, body) in bodies(&secret) {
        let excerpt = per_mib(rounds, &body, || {
            std::hint::black_box(excerpt_scrubbing(&body, &secrets));
        });
        let decode = per_mib(rounds, &body, || {
            let err =
                utilconnect::http::decode_json::<Expected>(&body, "bench", Operation::Complete)
                    .map(drop)
                    .map_err(|e| e.scrub(&secrets));
            std::hint::black_box(err.ok());
        });
        let text = String::from_utf8_lossy(&body);
        let message = per_mib(rounds, &body, || {
            let err = Error::new(ErrorKind::Upstream, Operation::Complete, "vendor said")
                .with_vendor_message(secrets.scrub(&text));
            std::hint::black_box(err);
        });
        // The old code is slow on some shapes: one timed call is enough to show it.
        let old = per_mib(1, &body, || {
            std::hint::black_box(legacy.excerpt(&body));
        });
        worst = worst.max(excerpt).max(decode).max(message);
        println!("{name:<26} {excerpt:>7.2} ms {decode:>7.2} ms {message:>7.2} ms {old:>11.1} ms");
    }
    let verdict = if worst <= GOAL_MS_PER_MIB {
        "met"
    } else {
        "NOT met"
    };
    println!("worst: {worst:.2} ms per MiB (goal <= {GOAL_MS_PER_MIB} ms per MiB): {verdict}");
    config_at_the_cap(rounds);
}

/// The largest configuration read (`MAX_CONFIG_BYTES` of one-line keys): what a runaway file
/// can cost at load, now that a larger one is refused before parsing.
fn config_at_the_cap(rounds: usize) {
    let mut toml = String::from("provider = \"x\"\n[providers.x]\n");
    let mut key = 0;
    while toml.len() + 16 < utilconnect::MAX_CONFIG_BYTES as usize {
        toml.push_str(&format!("k{key:07} = 1\n"));
        key += 1;
    }
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            let config = utilconnect::Config::from_toml_str(&toml).expect("valid TOML");
            let _ = config
                .provider_config("x")
                .extract_key::<utilconnect::http::HttpConfig>("http");
            started.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "config at the {} KiB cap ({key} keys): loaded in {:.1} ms (median of {rounds}); a larger file is refused unread",
        utilconnect::MAX_CONFIG_BYTES / 1024,
        median.as_secs_f64() * 1000.0
    );
}

/// What a provider would decode: a shape the hostile bodies do not have.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Expected {
    connect_token: String,
    expires_in: u64,
}

/// The median time of `rounds` calls of `f`, in ms per MiB of `body`.
fn per_mib(rounds: usize, body: &[u8], mut f: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    median.as_secs_f64() * 1000.0 / (body.len() as f64 / MIB as f64)
}

/// Body shapes that are costly for one scanner or another, 1 MiB each.
fn bodies(secret: &str) -> Vec<(&'static str, Vec<u8>)> {
    let fill = |unit: &str| unit.repeat(MIB / unit.len()).into_bytes();
    let mut random = Vec::with_capacity(MIB);
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..MIB {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    vec![
        ("json, many pairs", {
            let mut body = fill(r#""id":"x","access_token":"at","note":"n","#);
            body.insert(0, b'{');
            body
        }),
        ("json, nested objects", fill(r#"{"data":{"token":"#)),
        ("unterminated string", {
            let mut body = br#"{"note":""#.to_vec();
            body.extend(fill("a"));
            body
        }),
        ("quotes only", fill("\"")),
        ("form pairs", fill("password=")),
        ("bearer words", fill("Bearer ")),
        ("echoed secrets", fill(&format!("rejected {secret}; "))),
        ("control characters", fill("\n\u{1b}\u{202e}")),
        ("invalid UTF-8", random),
    ]
}

/// The regex redaction the SDK used before this bench existed, kept only as the baseline.
struct Legacy {
    json_pair: Regex,
    form_pair: Regex,
    auth_scheme: Regex,
}

impl Legacy {
    fn new() -> Self {
        Self {
            json_pair: Regex::new(
                r#""(?P<key>[^"\\]{1,64})"\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"?|[^,}\]\s]+)"#,
            )
            .unwrap(),
            form_pair: Regex::new(
                r"(?P<key>[A-Za-z0-9_.\-]{1,64})(?P<sep>=|:\s*)(?P<value>[^&\s,;]+)",
            )
            .unwrap(),
            auth_scheme: Regex::new(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
                .unwrap(),
        }
    }

    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let text = self
            .json_pair
            .replace_all(&text, |caps: &regex::Captures<'_>| {
                if utilconnect::redact::is_secret_key(&caps["key"]) {
                    "[REDACTED]".to_owned()
                } else {
                    caps[0].to_owned()
                }
            });
        let text = self
            .form_pair
            .replace_all(&text, |caps: &regex::Captures<'_>| {
                if utilconnect::redact::is_secret_key(&caps["key"]) {
                    "[REDACTED]".to_owned()
                } else {
                    caps[0].to_owned()
                }
            });
        let text = self.auth_scheme.replace_all(&text, "[REDACTED]");
        text.chars().take(256).collect()
    }
}
