#!/usr/bin/env python3
"""Render a `tmux capture-pane -e -p` dump (text with SGR colour codes) as an HTML page that
looks like a terminal window, for headless Chromium to screenshot (scripts/screenshots.sh).

Usage: ansi_to_html.py COLS ROWS TITLE < capture.ansi > page.html
Only SGR sequences (ESC [ ... m) occur in capture-pane output; anything else is dropped.
"""

import html
import re
import sys

# A dark palette (Tango-like) for the 16 ANSI colours.
PALETTE = [
    "#2e3436", "#ef5350", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#d3d7cf",
    "#555753", "#ff6e67", "#a6f05a", "#fff176", "#8fb8e8", "#c79fc1", "#6ff0f0", "#eeeeec",
]
FG, BG = "#d3d7cf", "#1e1f22"

# Geometry: DejaVu Sans Mono advances 0.602 em; 15 px type and 19 px lines.
FONT_PX, LINE_PX, PAD_PX, BAR_PX = 15, 19, 14, 30
CHAR_PX = 0.60205 * FONT_PX


def colour_256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (level, level, level)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value = colour_256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    value = None
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
            i += 1

    def css(self):
        fg, bg = self.fg or FG, self.bg
        if self.reverse:
            fg, bg = bg or BG, fg
        rules = ["color:" + fg]
        if bg:
            rules.append("background:" + bg)
        if self.bold:
            rules.append("font-weight:bold")
        if self.dim:
            rules.append("opacity:0.6")
        if self.italic:
            rules.append("font-style:italic")
        if self.underline:
            rules.append("text-decoration:underline")
        return ";".join(rules)


SGR = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]")


def render_line(line, style):
    out, pos = [], 0
    for m in SGR.finditer(line):
        if m.start() > pos:
            out.append((style.css(), line[pos:m.start()]))
        if m.group(0).endswith("m") and m.group(1) is not None:
            style.apply(m.group(1))
        pos = m.end()
    if pos < len(line):
        out.append((style.css(), line[pos:]))
    return "".join(
        '<span style="%s">%s</span>' % (css, html.escape(text)) for css, text in out if text
    )


def main():
    cols, rows, title = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    lines = sys.stdin.read().split("\n")[:rows]
    style = Style()  # SGR state carries over line ends, as in the terminal
    body = "\n".join(render_line(l, style) for l in lines)
    width = round(cols * CHAR_PX) + 2 * PAD_PX
    height = rows * LINE_PX + 2 * PAD_PX + BAR_PX
    sys.stdout.write(f"""<!doctype html>
<html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; background: {BG}; }}
.bar {{ height: {BAR_PX}px; background: #2b2d31; display: flex; align-items: center;
        padding: 0 12px; font: 13px 'DejaVu Sans', sans-serif; color: #9a9ca3; }}
.dot {{ width: 12px; height: 12px; border-radius: 6px; margin-right: 8px; }}
.title {{ flex: 1; text-align: center; margin-right: 60px; }}
pre {{ margin: 0; padding: {PAD_PX}px; font: {FONT_PX}px/{LINE_PX}px 'DejaVu Sans Mono', monospace;
       color: {FG}; background: {BG}; width: {round(cols * CHAR_PX)}px; height: {rows * LINE_PX}px;
       overflow: hidden; white-space: pre; font-variant-ligatures: none; }}
</style></head><body>
<div class="bar"><span class="dot" style="background:#ff5f57"></span><span class="dot"
style="background:#febc2e"></span><span class="dot" style="background:#28c840"></span><span
class="title">{html.escape(title)}</span></div>
<pre>{body}</pre>
</body></html>
<!-- size {width}x{height} -->
""")


if __name__ == "__main__":
    main()
