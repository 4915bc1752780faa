//! Styles. Only a few named ANSI colours and modifiers, never a background colour, so the
//! terminal's own palette keeps text readable on light and dark themes; NO_COLOR drops the
//! colours and keeps the modifiers.

use ratatui::style::{Color, Modifier, Style};

/// The styles every screen draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub title: Style,
    pub accent: Style,
    pub selected: Style,
    pub key: Style,
    pub dim: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
}

impl Theme {
    /// Colours unless `no_color`.
    pub fn new(no_color: bool) -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        if no_color {
            return Theme {
                title: bold,
                accent: bold,
                selected: Style::new().add_modifier(Modifier::REVERSED),
                key: bold,
                dim: Style::new().add_modifier(Modifier::DIM),
                ok: Style::new(),
                warn: bold,
                error: bold.add_modifier(Modifier::UNDERLINED),
            };
        }
        Theme {
            title: bold.fg(Color::Cyan),
            accent: Style::new().fg(Color::Cyan),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            key: bold,
            dim: Style::new().add_modifier(Modifier::DIM),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    /// True when NO_COLOR is set to a non-empty value (<https://no-color.org>).
    pub fn no_color_requested() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_theme_has_no_colours_and_no_theme_sets_a_background() {
        let plain = Theme::new(true);
        let coloured = Theme::new(false);
        for t in [plain, coloured] {
            for s in [
                t.title, t.accent, t.selected, t.key, t.dim, t.ok, t.warn, t.error,
            ] {
                assert_eq!(s.bg, None);
            }
        }
        for s in [plain.title, plain.accent, plain.ok, plain.warn, plain.error] {
            assert_eq!(s.fg, None);
        }
        assert_eq!(coloured.error.fg, Some(Color::Red));
    }
}
