#!/usr/bin/env bash
# Installs what the test suite needs beyond a Rust toolchain. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in dbus-run-session:dbus dbus-send:dbus gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools tmux:tmux script:bsdutils python3:python3 systemd-analyze:systemd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Python venv with MSAL, azure-identity and msgraph-sdk for the fidelity tests (tests/fidelity/). Lives
# under target/ so git ignores it; recreated when missing or incomplete.
venv=target/fidelity-venv
if ! "$venv/bin/python" -c 'import msal, azure.identity, msgraph, msgraph_core.requests.batch_request_content' >/dev/null 2>&1; then
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "installing Debian package: python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/fidelity/requirements.txt
fi
