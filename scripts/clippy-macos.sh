#!/usr/bin/env bash
# Clippy for both macOS targets over the whole workspace (the simulated tenant's crate too), so
# macOS-only code (the keychain store, signals) never rots.
# A type-check only: these machines cannot have Apple's SDK, so nothing is linked, and
# aws-lc-sys's build script, which compiles AWS-LC's C with Apple's compiler, cannot run.
# Cargo's `links` override replaces that build script for this command only, with what it
# emits on macOS (the `universal` bindings and an include path nothing reads when checking);
# a real macOS build is untouched. Extra arguments go to clippy (e.g. --all-targets).
# `scripts/install-test-deps.sh --cross` adds the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

# The key is aws-lc-sys's `links` name, which carries its version: read it, never spell it.
links=$(cargo metadata --locked --format-version 1 --filter-platform aarch64-apple-darwin |
  python3 -c 'import json, sys; print(next(p["links"] for p in json.load(sys.stdin)["packages"] if p["name"] == "aws-lc-sys"))')
for target in aarch64-apple-darwin x86_64-apple-darwin; do
  cargo clippy --workspace --locked --target "$target" \
    --config "target.$target.$links.rustc-cfg=[\"universal\"]" \
    --config "target.$target.$links.include=\"/nonexistent\"" \
    "$@" -- -D warnings
done
