#!/usr/bin/env bash
# Every test: installs what the browser test needs when it is missing (Debian's chromium and
# chromium-driver), then runs the whole workspace's tests. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "--- installing chromium and chromium-driver for the browser test"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

exec cargo test --workspace --all-features "$@"
