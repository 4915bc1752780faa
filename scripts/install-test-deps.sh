#!/usr/bin/env bash
# Installs what the test suite needs beyond a Rust toolchain. Idempotent and quiet when
# everything is already there.
#
# With --cross, also what building for Windows and macOS needs: the Rust targets, MinGW (links
# Windows binaries) and Wine (runs the Windows test suite, through scripts/wine/runner.sh).
# macOS is type-checked only (scripts/clippy-macos.sh): linking needs Apple's SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

cross=false
case "${1:-}" in
  "") ;;
  --cross) cross=true ;;
  *)
    echo "usage: $0 [--cross]" >&2
    exit 2
    ;;
esac

# apt-get as root; through sudo (said on stderr) when not root; else what to do.
apt_get() {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null 2>&1; then
    echo "not root: running apt-get through sudo (it may ask for your password)" >&2
    sudo env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    echo "error: installing Debian packages needs root, and sudo is not installed: run this script as root" >&2
    exit 1
  fi
}

need_apt=()
for pair in dbus-run-session:dbus dbus-send:dbus gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools tmux:tmux script:bsdutils python3:python3 systemd-analyze:systemd xmllint:libxml2-utils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
if $cross; then
  rustup --quiet target add x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin
  # The posix thread model, as Rust's windows-gnu std expects; installing it points
  # x86_64-w64-mingw32-gcc, Cargo's default linker for the target, to it.
  command -v x86_64-w64-mingw32-gcc-posix >/dev/null 2>&1 || need_apt+=(gcc-mingw-w64-x86-64-posix)
  # wine64 puts its loader in /usr/lib/wine, off PATH: ask dpkg.
  [ "$(dpkg-query -W -f '${Status}' wine64 2>/dev/null)" = "install ok installed" ] || need_apt+=(wine64)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}" >&2
  apt_get update -qq >/dev/null
  apt_get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Python venv with MSAL, azure-identity and msgraph-sdk for the fidelity tests (tests/fidelity/). Lives
# under target/ so git ignores it; recreated when missing or incomplete.
venv=target/fidelity-venv
if ! "$venv/bin/python" -c 'import msal, azure.identity, msgraph, msgraph_core.requests.batch_request_content' >/dev/null 2>&1; then
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "installing Debian package: python3-venv" >&2
    apt_get update -qq >/dev/null
    apt_get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/fidelity/requirements.txt
fi
