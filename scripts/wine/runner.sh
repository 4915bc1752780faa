#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu: runs a Windows binary (a test, the program) under
# Wine, in a test prefix under the target directory that it makes on first use.
#   CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/scripts/wine/runner.sh \
#     cargo test --target x86_64-pc-windows-gnu
# Needs MinGW and Wine: scripts/install-test-deps.sh --cross installs them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target_dir=${CARGO_TARGET_DIR:-$here/../../target}
export WINEPREFIX="${WINEPREFIX:-$(mkdir -p "$target_dir" && cd "$target_dir" && pwd)/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
# Debian's wine64 package has no `wine` on PATH without the `wine` package.
wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)

# Debian's Wine 8.0 has no ProcessPrng, which Rust's std imports (Windows 10 and later have
# it): the prefix gets bcryptprimitives.dll built from bcryptprimitives.c.
# Windows are made by Wine's null display driver: there is no X display here, and without a
# driver Wine makes no window at all (the program's hidden logoff/shutdown window,
# src/signals/session_end.rs, is tested through it).
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
stale() {
  [ ! -f "$dll" ] || [ "$here/bcryptprimitives.c" -nt "$dll" ] ||
    ! grep -qs '^"Graphics"="null"' "$WINEPREFIX/user.reg"
}
if stale; then
  mkdir -p "$WINEPREFIX"
  (
    flock 9
    if stale; then
      echo "making the test Wine prefix $WINEPREFIX" >&2
      # No Mono or Gecko installers: nothing here is .NET or HTML.
      WINEDLLOVERRIDES="mscoree,mshtml=" "$wine" wineboot --init >/dev/null 2>&1
      "$wine" reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f >/dev/null 2>&1
      # The registry reaches the disk before anything else uses the prefix.
      "$(command -v wineserver || echo /usr/lib/wine/wineserver)" --wait || true
      x86_64-w64-mingw32-gcc-posix -shared -O2 -Wall -Wextra -Werror \
        -o "$dll" "$here/bcryptprimitives.c" -lbcrypt
    fi
  ) 9>"$WINEPREFIX.lock"
fi

# assert_cmd starts the program through this variable's runner when it is set; inside Wine
# that would be a Linux script started from Windows.
unset CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER
exec "$wine" "$@"
