#!/usr/bin/env bash
# What depending on utilconnect costs an app's first build: a minimal app (the Connector and
# the Pelm provider, no sandbox) against a hand-written reqwest + serde + tokio app making the
# same two calls, each built cold (empty target directory, debug profile) in one run.
#
#   bash scripts/build-cost.sh          # prints both builds' times, crate counts and the ratio
#   ROUNDS=5 bash scripts/build-cost.sh # more rounds (default 3; medians, builds interleaved)
#
# The figures go in BENCHMARKS.md ("Build cost for an app").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/sdk/src" "$work/raw/src"
cat > "$work/sdk/Cargo.toml" <<TOML
[package]
name = "sdk-app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
utilconnect = { path = "$root/crates/core" }
utilconnect-pelm = { path = "$root/crates/provider-pelm" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
cat > "$work/sdk/src/main.rs" <<'RS'
use utilconnect::{Config, Connector};
use utilconnect_pelm as _;

#[tokio::main]
async fn main() -> utilconnect::Result<()> {
    let connector = Connector::from_config(&Config::load()?)?;
    let started = connector.start("user-42", "https://app.example/callback").await?;
    println!("{}", started.connect_url.expose());
    let mut callback = String::new();
    let _ = std::io::stdin().read_line(&mut callback);
    let connection = connector.finish(callback.trim()).await?;
    println!("{}", connection.user_id());
    Ok(())
}
RS
cat > "$work/raw/Cargo.toml" <<'TOML'
[package]
name = "raw-app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
reqwest = { version = "0.12", default-features = false, features = ["rustls-tls", "json"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
cat > "$work/raw/src/main.rs" <<'RS'
use serde::Deserialize;

#[derive(Deserialize)]
struct Token { connect_token: String }
#[derive(Deserialize)]
struct Access { access_token: String }

#[tokio::main]
async fn main() -> Result<(), reqwest::Error> {
    let http = reqwest::Client::new();
    let token: Token = http
        .post("https://api.pelm.com/auth/connect-token")
        .header("Pelm-Client-Id", std::env::var("PELM_CLIENT_ID").unwrap_or_default())
        .header("Pelm-Secret", std::env::var("PELM_SECRET").unwrap_or_default())
        .form(&[("user_id", "user-42")])
        .send().await?.json().await?;
    println!("https://connect.pelm.com/?connect_token={}", token.connect_token);
    let mut code = String::new();
    let _ = std::io::stdin().read_line(&mut code);
    let access: Access = http
        .post("https://api.pelm.com/auth/token")
        .form(&[("code", code.trim()), ("grant_type", "code")])
        .send().await?.json().await?;
    println!("{}", access.access_token.len());
    Ok(())
}
RS

build() {
  local dir="$1"
  (cd "$dir" && cargo generate-lockfile -q && cargo fetch -q)
  local start end
  start=$(date +%s.%N)
  local log
  if ! log=$(cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build 2>&1); then
    echo "$log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  local crates
  crates=$(grep -c "Compiling " <<<"$log" || true)
  echo "$(echo "$end - $start" | bc) $crates"
}

rounds="${ROUNDS:-3}"
echo "cold debug builds on $(nproc) cores, $(rustc --version), $rounds interleaved rounds"
raw_times=(); sdk_times=(); ratios=()
for _ in $(seq "$rounds"); do
  rm -rf "$work/raw/target" "$work/sdk/target"
  read -r raw_s raw_n < <(build "$work/raw")
  read -r sdk_s sdk_n < <(build "$work/sdk")
  raw_times+=("$raw_s"); sdk_times+=("$sdk_s")
  ratios+=("$(echo "$sdk_s / $raw_s" | bc -l)")
  printf '  round: hand-written %.1f s, utilconnect %.1f s, ratio %.2f\n' "$raw_s" "$sdk_s" "${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'hand-written reqwest + serde + tokio: median %.1f s, %d crates compiled\n' "$(median "${raw_times[@]}")" "$raw_n"
printf 'utilconnect + utilconnect-pelm:       median %.1f s, %d crates compiled\n' "$(median "${sdk_times[@]}")" "$sdk_n"
printf 'ratio: median %.2fx the time (goal <= 1.25x), %+d crates\n' "$(median "${ratios[@]}")" "$((sdk_n - raw_n))"
