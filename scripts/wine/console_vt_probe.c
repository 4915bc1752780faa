/* Shows why the wizard cannot be driven under Wine in a Unix terminal (docs/windows.md).
 * Wine 8.0's console, when it runs in a Unix tty (tmux), accepts
 * ENABLE_VIRTUAL_TERMINAL_PROCESSING but does not parse VT sequences: it counts their bytes
 * as columns and breaks the line (CR LF) where the count reaches the console's width, cutting
 * sequences in two. This writes 64 numbered cells ("r.cc" at row r, column cc) with cursor
 * moves, as crossterm does; a console that parses VT shows every cell in its place.
 *   x86_64-w64-mingw32-gcc-posix -o console_vt_probe.exe console_vt_probe.c
 *   tmux new-session -d -x 100 -y 30 'scripts/wine/runner.sh console_vt_probe.exe; sleep 60'
 *   tmux capture-pane -p            # cells missing, moved to other rows ("2.41" on row 3)
 * With an argument it also turns ENABLE_WRAP_AT_EOL_OUTPUT off: worse, all on one row. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    DWORD mode = 0, w;
    GetConsoleMode(out, &mode);
    mode |= ENABLE_VIRTUAL_TERMINAL_PROCESSING;
    if (argc > 1) mode &= ~ENABLE_WRAP_AT_EOL_OUTPUT;
    SetConsoleMode(out, mode);
    char buf[4096] = "";
    for (int r = 2; r <= 9; r++) {
        char cell[64];
        /* eight cursor moves per row, each well inside the 100 columns */
        for (int c = 1; c <= 80; c += 10) {
            snprintf(cell, sizeof cell, "\x1b[%d;%dH\x1b[38;5;6;49m%d.%02d", r, c, r, c);
            strcat(buf, cell);
        }
    }
    WriteConsoleA(out, buf, (DWORD)strlen(buf), &w, NULL);
    const char *e = "\x1b[12;1H\x1b[0mEND\r\n";
    WriteConsoleA(out, e, (DWORD)strlen(e), &w, NULL);
    return 0;
}
