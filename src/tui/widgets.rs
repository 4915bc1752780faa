//! Small building blocks shared by the screens: a masked secret field, labelled text fields
//! with their error line, and the spinner.

use std::fmt;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use secrecy::SecretString;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use zeroize::Zeroizing;

use super::theme::Theme;

/// A masked, paste-friendly secret input. Holds the value in zeroizing memory, never shows
/// it, and its `Debug` is redacted. Editing is append/delete-last only: secrets are pasted.
#[derive(Default)]
pub struct SecretField {
    value: Zeroizing<String>,
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretField({} chars)", self.len())
    }
}

impl SecretField {
    /// A field holding `value`.
    pub fn with_value(value: &str) -> Self {
        SecretField {
            value: Zeroizing::new(value.to_owned()),
        }
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
        match key.code {
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.clear();
                true
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.push(c);
                true
            }
            KeyCode::Backspace => self.value.pop().is_some(),
            _ => false,
        }
    }

    /// Append pasted text without line breaks or surrounding whitespace.
    pub fn paste(&mut self, text: &str) {
        self.value
            .extend(text.trim().chars().filter(|c| !c.is_control()));
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
        Span::styled(format!("{label}: "), label_style),
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
        let text = vec![
            Line::from(Span::styled(format!("    {}", m.message), style)),
            Line::from(Span::raw(format!("    {}", m.remedy))),
        ];
        let rest = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1).min(4),
            ..area
        };
        let para = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false });
        let rows = (para.line_count(rest.width) as u16).min(rest.height);
        frame.render_widget(para, rest);
        used += rows;
    }
    used
}

/// Spinner frame for the given tick.
pub fn spinner(tick: u64) -> &'static str {
    const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
    FRAMES[(tick % FRAMES.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn paste_into_input_drops_newlines() {
        let mut i = Input::default();
        paste_into(&mut i, "contoso.com\r\n");
        assert_eq!(i.value(), "contoso.com");
    }
}
