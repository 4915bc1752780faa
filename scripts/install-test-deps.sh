#!/usr/bin/env bash
# Installs what the test suite needs beyond a Rust toolchain. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in dbus-run-session:dbus gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools tmux:tmux script:bsdutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
