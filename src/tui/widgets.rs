//! Small building blocks shared by the screens: a masked secret field, labelled text fields
//! with their error line, and the spinner.

use std::fmt;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use secrecy::SecretString;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use zeroize::Zeroizing;

use super::theme::Theme;

/// A masked, paste-friendly secret input. Holds the value in zeroizing memory, never shows
/// it, and its `Debug` is redacted. Editing is append/delete-last only: secrets are pasted.
/// A value the field was filled in with is replaced whole by the first edit (a key typed,
/// a paste, Backspace): the user cannot see it, so a partial edit of it would be blind, and
/// what is saved must be what the sign-in used.
#[derive(Default)]
pub struct SecretField {
    value: Zeroizing<String>,
    /// The value is what the field was filled in with, not typed by the user.
    filled_in: bool,
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretField({} chars)", self.len())
    }
}

impl SecretField {
    /// A field filled in with `value` (not typed by the user).
    pub fn with_value(value: &str) -> Self {
        SecretField {
            value: Zeroizing::new(value.to_owned()),
            filled_in: !value.is_empty(),
        }
    }

    /// True when the user typed or pasted the value (it is not what the field was filled
    /// in with): only then does it show that the user holds the secret.
    pub fn typed_by_user(&self) -> bool {
        !self.filled_in && !self.is_empty()
    }

    /// Number of characters, for the mask.
    pub fn len(&self) -> usize {
        self.value.chars().count()
    }

    /// True when nothing was entered.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// The value, for format checks only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// A copy for the services, trimmed of surrounding whitespace from pasting.
    pub fn to_secret(&self) -> SecretString {
        SecretString::from(self.value.trim())
    }

    /// Apply an editing key; returns true when the value changed.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        let edits = match key.code {
            KeyCode::Char(c) => !control || c == 'u',
            KeyCode::Backspace => true,
            _ => false,
        };
        if !edits {
            return false;
        }
        if self.take_filled_in() {
            // The filled-in value goes whole; a character typed starts the new one.
            if let KeyCode::Char(c) = key.code
                && !control
            {
                self.value.push(c);
            }
            return true;
        }
        match key.code {
            KeyCode::Char('u') if control => {
                self.value.clear();
                true
            }
            KeyCode::Char(c) => {
                self.value.push(c);
                true
            }
            _ => self.value.pop().is_some(),
        }
    }

    /// Append pasted text without line breaks or surrounding whitespace (in place of a
    /// filled-in value).
    pub fn paste(&mut self, text: &str) {
        self.take_filled_in();
        self.value
            .extend(text.trim().chars().filter(|c| !c.is_control()));
    }

    /// Clears a filled-in value before the user's first edit; answers whether there was one.
    fn take_filled_in(&mut self) -> bool {
        if !std::mem::take(&mut self.filled_in) {
            return false;
        }
        zeroize::Zeroize::zeroize(&mut *self.value);
        true
    }
}

/// Apply an editing key to a text input; returns true when the value changed.
pub fn edit_input(input: &mut Input, key: KeyEvent) -> bool {
    input
        .handle_event(&Event::Key(key))
        .is_some_and(|changed| changed.value)
}

/// Insert pasted text at the cursor, dropping line breaks.
pub fn paste_into(input: &mut Input, text: &str) {
    for c in text.trim_end_matches(['\r', '\n']).chars() {
        if !c.is_control() {
            input.handle(tui_input::InputRequest::InsertChar(c));
        }
    }
}

/// An error or warning shown under a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMessage {
    pub severity: Severity,
    pub message: String,
    pub remedy: String,
}

/// How bad a field message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// What a text field shows: the typed text, or a mask.
pub enum FieldValue<'a> {
    Text(&'a Input),
    Masked(usize),
}

/// Draws `label: [value]` on one line and its message below; returns the rows used.
/// Places the cursor when focused.
pub fn field(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    label: &str,
    value: FieldValue<'_>,
    focused: bool,
    message: Option<&FieldMessage>,
) -> u16 {
    if area.height == 0 {
        return 0;
    }
    let label_width = (label.chars().count() + 2) as u16;
    let marker = if focused { "> " } else { "  " };
    let inner_width = area.width.saturating_sub(label_width + 4).max(1) as usize;
    let (shown, cursor) = match value {
        FieldValue::Text(input) => {
            let scroll = input.visual_scroll(inner_width);
            let shown: String = input
                .value()
                .chars()
                .skip(scroll)
                .take(inner_width)
                .collect();
            (shown, input.visual_cursor().saturating_sub(scroll))
        }
        FieldValue::Masked(n) => {
            let shown: String = "•".repeat(n.min(inner_width));
            (shown, n.min(inner_width))
        }
    };
    let label_style = if focused { theme.accent } else { theme.dim };
    let line = Line::from(vec![
        Span::styled(marker, theme.accent),
        Span::styled(aligned_label(label), label_style),
        Span::raw("["),
        Span::raw(format!("{shown:<inner_width$}")),
        Span::raw("]"),
    ]);
    frame.render_widget(Paragraph::new(line), Rect { height: 1, ..area });
    if focused {
        let x = area.x + 2 + label_width + 1 + cursor as u16;
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
    let mut used = 1;
    if let Some(m) = message {
        let style = match m.severity {
            Severity::Error => theme.error,
            Severity::Warning => theme.warn,
        };
        let mut text = hang(&m.message, area.width, "    ", "    ", style);
        text.extend(hang(&m.remedy, area.width, "    ", "    ", Style::new()));
        let rest = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1).min(5),
            ..area
        };
        let rows = (text.len() as u16).min(rest.height);
        frame.render_widget(Paragraph::new(text), rest);
        used += rows;
    }
    used
}

/// `"Graph URL    "` → `"Graph URL:     "`: the colon follows the text, padding follows it.
fn aligned_label(label: &str) -> String {
    let width = label.chars().count() + 2;
    let text = format!("{}:", label.trim_end());
    format!("{text:<width$}")
}

/// Spinner frame for the given tick.
pub fn spinner(tick: u64) -> &'static str {
    const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
    FRAMES[(tick % FRAMES.len() as u64) as usize]
}

/// `hh:mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// 1234567 → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_clock_format() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(clock(Duration::from_secs(3723)), "01:02:03");
    }

    #[test]
    fn secret_field_masks_debug_and_trims_paste() {
        let mut s = SecretField::default();
        s.paste("  abc~DEF\n");
        assert_eq!(s.expose(), "abc~DEF");
        assert!(s.handle_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)));
        assert_eq!(s.len(), 6);
        assert!(!format!("{s:?}").contains("abc"));
        assert!(s.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert!(s.is_empty());
    }

    /// The value a field was filled in with (a saved profile's secret) is replaced whole by
    /// the first edit, never edited blind; what the user typed is theirs to edit.
    #[test]
    fn a_filled_in_secret_is_replaced_by_the_first_edit() {
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        let mut s = SecretField::with_value("stored~secret");
        assert!(!s.typed_by_user());
        assert!(!s.handle_key(key(KeyCode::Left)));
        assert_eq!(s.expose(), "stored~secret");
        assert!(s.handle_key(key(KeyCode::Char('x'))));
        assert_eq!(s.expose(), "x");
        assert!(s.typed_by_user());
        s.handle_key(key(KeyCode::Char('y')));
        s.handle_key(key(KeyCode::Backspace));
        assert_eq!(s.expose(), "x");

        let mut s = SecretField::with_value("stored~secret");
        assert!(s.handle_key(key(KeyCode::Backspace)));
        assert!(s.is_empty() && !s.typed_by_user());
        s.paste("new~secret");
        assert_eq!(s.expose(), "new~secret");
        assert!(s.typed_by_user());

        let mut s = SecretField::with_value("stored~secret");
        s.paste("new~secret");
        assert_eq!(s.expose(), "new~secret");
        assert!(s.typed_by_user());
    }

    #[test]
    fn paste_into_input_drops_newlines() {
        let mut i = Input::default();
        paste_into(&mut i, "contoso.com\r\n");
        assert_eq!(i.value(), "contoso.com");
    }
}

/// Word-wrap `text` to `width` columns with a hanging indent: the first line starts with
/// `first`, later lines with `rest`. Words longer than a line are split, after a separator
/// (`/`, `-`, `_`, `.`, …) where there is one.
pub fn hang(text: &str, width: u16, first: &str, rest: &str, style: Style) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut lines = Vec::new();
    let mut current = first.to_owned();
    let mut indent_len = first.chars().count();
    let mut len = indent_len;
    for word in text.split_whitespace() {
        let mut word: String = word.to_owned();
        loop {
            let wlen = word.chars().count();
            let sep = usize::from(len > indent_len);
            if len + sep + wlen <= width {
                if sep == 1 {
                    current.push(' ');
                }
                current.push_str(&word);
                len += sep + wlen;
                break;
            }
            if len > indent_len {
                lines.push(Line::styled(
                    std::mem::replace(&mut current, rest.to_owned()),
                    style,
                ));
                indent_len = rest.chars().count();
                len = indent_len;
                continue;
            }
            // A word longer than a whole line (a path, a URL): split it after the last
            // path separator that fits, else after another separator, so it breaks where a
            // reader expects; else where it must.
            let room = width.saturating_sub(len).max(1);
            let chars: Vec<char> = word.chars().collect();
            let fits = &chars[..room.min(chars.len())];
            let at = fits
                .iter()
                .rposition(|c| matches!(c, '/' | '\\'))
                .or_else(|| {
                    fits.iter()
                        .rposition(|c| matches!(c, '-' | '_' | '.' | '&' | '=' | ',' | ';'))
                })
                .map_or(room, |i| i + 1);
            let head: String = chars[..at].iter().collect();
            word = chars[at..].iter().collect();
            current.push_str(&head);
            lines.push(Line::styled(
                std::mem::replace(&mut current, rest.to_owned()),
                style,
            ));
            indent_len = rest.chars().count();
            len = indent_len;
            if word.is_empty() {
                break;
            }
        }
    }
    if len > indent_len || lines.is_empty() {
        lines.push(Line::styled(current, style));
    }
    lines
}

#[cfg(test)]
mod hang_tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_with_a_hanging_indent() {
        let l = hang("one two three four", 12, "  - ", "    ", Style::new());
        assert_eq!(text(&l), ["  - one two", "    three", "    four"]);
    }

    #[test]
    fn splits_words_longer_than_a_line() {
        let l = hang("abcdefghij", 6, "", "", Style::new());
        assert_eq!(text(&l), ["abcdef", "ghij"]);
        let l = hang(
            "/data/exports/contoso_users.csv",
            16,
            "  ",
            "  ",
            Style::new(),
        );
        assert_eq!(
            text(&l),
            ["  /data/exports/", "  contoso_users.", "  csv"],
            "paths break after a separator"
        );
        let l = hang("/srv/a-long-name/x", 14, "", "", Style::new());
        assert_eq!(text(&l), ["/srv/", "a-long-name/x"], "a / first");
        assert_eq!(text(&hang("", 6, "> ", "", Style::new())), ["> "]);
    }
}
