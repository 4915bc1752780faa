#!/usr/bin/env bash
# Makes the README pictures in assets/ from the real program: runs `entra-extract demo` in a
# tmux pane, drives it with keys, captures the screens with their colours
# (`capture-pane -e`), turns them into HTML (scripts/ansi_to_html.py) and screenshots that
# with headless Chromium. For developers; CI does not run it.
#
# Needs: tmux, python3, chromium (Debian: apt-get install tmux chromium fonts-dejavu-core).
# Usage: scripts/screenshots.sh            (builds the debug binary)
#        BIN=target/release/entra-extract scripts/screenshots.sh
# The demo writes its CSV files to /tmp/entra-extract-demo (shown on the summary picture);
# the script empties that directory before and removes it after.
set -euo pipefail
cd "$(dirname "$0")/.."

COLS=100
ROWS=30
for tool in tmux python3 chromium; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --quiet
  BIN=target/debug/entra-extract
fi
BIN=$(realpath "$BIN")

work=$(mktemp -d)
runs=0
sock="$work/tmux-0.sock"
cleanup() {
  for s in "$work"/tmux-*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Paths on the summary screen show this directory; keep it short and readable.
exports=/tmp/entra-extract-demo
rm -rf "$exports"
mkdir -p "$work/home" "$work/tmp" assets

t() { tmux -S "$sock" "$@"; }

# Start the demo (extra arguments follow `demo`) in a fresh session named "demo".
# Each run gets its own tmux server, so a previous one shutting down can't interfere.
start() {
  t kill-server 2>/dev/null || true
  runs=$((runs + 1))
  sock="$work/tmux-$runs.sock"
  t new-session -d -s demo -x "$COLS" -y "$ROWS" \
    "env HOME='$work/home' XDG_CONFIG_HOME='$work/home/.config' XDG_DATA_HOME='$work/home/.local/share' TMPDIR='$work/tmp' '$BIN' demo -o '$exports' $*; sleep 600"
}

keys() { t send-keys -t demo "$@"; }

# Wait (up to 60 s) until the screen shows every argument, and is the same on two captures
# in a row (not caught halfway through a redraw).
wait_for() {
  local previous="" screen text ok
  for _ in $(seq 1 600); do
    screen=$(t capture-pane -p -t demo)
    ok=1
    for text in "$@"; do
      [[ "$screen" == *"$text"* ]] || ok=0
    done
    if [ "$ok" = 1 ] && [ "$screen" = "$previous" ]; then
      return 0
    fi
    previous=$screen
    sleep 0.1
  done
  echo "timed out waiting for: $*" >&2
  echo "$screen" >&2
  exit 1
}

# shot NAME TITLE: the current screen as assets/NAME.png.
shot() {
  local name=$1 title=$2 html="$work/$1.html" size
  t capture-pane -e -p -t demo >"$work/$name.ansi"
  python3 scripts/ansi_to_html.py "$COLS" "$ROWS" "$title" <"$work/$name.ansi" >"$html"
  size=$(sed -n 's/^<!-- size \([0-9]*\)x\([0-9]*\) -->$/\1,\2/p' "$html")
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/chromium" --window-size="$size" \
    --screenshot="$PWD/assets/$name.png" "file://$html" >/dev/null 2>&1
  echo "assets/$name.png ($(stat -c %s "assets/$name.png") bytes)"
}

# Walk steps 1–7 with the prefilled demo values, starting on the picker entry at index $1.
walk() {
  wait_for "Choose an app registration"
  for _ in $(seq 1 "$1"); do keys Down; done
  keys Enter
  wait_for "Step 1 of 7"; keys Enter
  wait_for "Step 2 of 7"; keys Enter
  wait_for "Step 3 of 7"; keys Enter
  wait_for "Step 4 of 7"; keys Enter
  wait_for "Step 5 of 7"
}

title="entra-extract demo"

# 1. The permission check with Member.Read.Hidden missing.
start
walk 1
wait_for "MISSING" "To grant them"
shot permissions-missing "$title"

# 2. Extraction progress on the 10,000-user tenant, caught while reading memberships.
start --scenario m
walk 0
keys Enter; wait_for "Step 6 of 7"
keys Enter; wait_for "Step 7 of 7"
keys Enter
wait_for "reading members and owners" "Elapsed 00:00:03"
shot extraction "$title"
keys C-c; wait_for "Cancel the extraction and quit?"; keys y

# 3. The summary, then home with the saved profile and its last run.
start
walk 0
keys Enter; wait_for "Step 6 of 7"
keys Enter; wait_for "Step 7 of 7"
keys Enter
wait_for "complete in" "Enter home"
shot summary "$title"
keys Enter
wait_for "Saved profiles" "Last run completed"
shot home "$title"
keys q

rm -rf "$exports"
