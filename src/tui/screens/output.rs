//! Setup step 6: file name prefix (defaulted from the tenant's default domain), output
//! directory and byte order mark.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use crate::tui::app::Context;
use crate::tui::screens::setup::{OutputFocus, Setup, SetupStep, Step, error_message};
use crate::tui::validate;
use crate::tui::widgets::{FieldValue, edit_input, field, paste_into};

/// The four files an extraction writes, for a prefix.
pub fn file_names(prefix: &str) -> [String; 4] {
    ["users", "groups", "groups_members", "groups_owners"].map(|k| format!("{prefix}_{k}.csv"))
}

/// Setup step 6.
pub struct OutputStep;

impl SetupStep for OutputStep {
    fn title(&self) -> &'static str {
        "Output"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        let f = &mut setup.form;
        match (key.code, f.output_focus) {
            (KeyCode::Esc, _) => setup.go(cx, Step::Permissions),
            (KeyCode::Enter, _) => {
                f.prefix_message = validate::domain_prefix(f.domain_prefix.value())
                    .err()
                    .map(error_message);
                f.dir_message = validate::output_directory(f.output_dir.value())
                    .err()
                    .map(error_message);
                if f.prefix_message.is_some() {
                    f.output_focus = OutputFocus::Prefix;
                } else if f.dir_message.is_some() {
                    f.output_focus = OutputFocus::Directory;
                } else {
                    if setup.save.name.value().trim().is_empty() {
                        let name = f.editing.clone().unwrap_or_else(|| {
                            validate::default_profile_name(f.domain_prefix.value())
                        });
                        setup.save.name = Input::new(name);
                    }
                    setup.go(cx, Step::Save);
                }
            }
            (KeyCode::Tab | KeyCode::Down, focus) => {
                f.output_focus = match focus {
                    OutputFocus::Prefix => OutputFocus::Directory,
                    OutputFocus::Directory => OutputFocus::Bom,
                    OutputFocus::Bom => OutputFocus::Prefix,
                }
            }
            (KeyCode::BackTab | KeyCode::Up, focus) => {
                f.output_focus = match focus {
                    OutputFocus::Prefix => OutputFocus::Bom,
                    OutputFocus::Directory => OutputFocus::Prefix,
                    OutputFocus::Bom => OutputFocus::Directory,
                }
            }
            (KeyCode::Char(' '), OutputFocus::Bom) => f.bom = !f.bom,
            (_, OutputFocus::Prefix) if edit_input(&mut f.domain_prefix, key) => {
                f.prefix_message = None;
            }
            (_, OutputFocus::Directory) if edit_input(&mut f.output_dir, key) => {
                f.dir_message = None;
            }
            _ => {}
        }
    }

    fn on_paste(&self, setup: &mut Setup, text: &str) {
        let f = &mut setup.form;
        match f.output_focus {
            OutputFocus::Prefix => paste_into(&mut f.domain_prefix, text.trim()),
            OutputFocus::Directory => paste_into(&mut f.output_dir, text.trim()),
            OutputFocus::Bom => {}
        }
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        render(setup, frame, area, cx)
    }

    fn help(&self, setup: &Setup, _cx: &Context) -> &'static str {
        if setup.form.output_focus == OutputFocus::Bom {
            "Tab/↑↓ field · Space toggle · Enter next · Esc back"
        } else {
            "Tab/↑↓ field · Enter next · Esc back"
        }
    }
}

/// Draw the output settings.
fn render(setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let f = &setup.form;
    let mut intro = vec![Line::raw("Where should the CSV files go?")];
    if let Some(v) = &f.validated {
        intro.push(Line::styled(
            format!(
                "Tenant: {} ({}, default domain {})",
                v.display_name, v.tenant_id, v.default_domain
            ),
            t.dim,
        ));
    }
    let para = Paragraph::new(intro).wrap(Wrap { trim: false });
    let h = (para.line_count(area.width) as u16).min(area.height);
    frame.render_widget(para, Rect { height: h, ..area });
    let mut y = area.y + h + 1;
    let rest = |y: u16| Rect {
        y,
        height: area.bottom().saturating_sub(y),
        ..area
    };
    y += field(
        frame,
        rest(y),
        t,
        "File prefix",
        FieldValue::Text(&f.domain_prefix),
        f.output_focus == OutputFocus::Prefix,
        f.prefix_message.as_ref(),
    );
    y += field(
        frame,
        rest(y),
        t,
        "Directory  ",
        FieldValue::Text(&f.output_dir),
        f.output_focus == OutputFocus::Directory,
        f.dir_message.as_ref(),
    );
    let bom_marker = if f.output_focus == OutputFocus::Bom {
        "> "
    } else {
        "  "
    };
    let check = if f.bom { "[x]" } else { "[ ]" };
    let style = if f.output_focus == OutputFocus::Bom {
        t.accent
    } else {
        t.dim
    };
    if y < area.bottom() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!("{bom_marker}{check} UTF-8 byte order mark (helps Excel open the files)"),
                style,
            )),
            Rect {
                height: 1,
                ..rest(y)
            },
        );
    }
    y += 2;
    if y < area.bottom() {
        let prefix = f.domain_prefix.value().trim();
        let names = file_names(if prefix.is_empty() {
            "<prefix>"
        } else {
            prefix
        });
        let mut lines = vec![Line::styled("Files:", t.dim)];
        lines.extend(names.iter().map(|n| Line::styled(format!("  {n}"), t.dim)));
        frame.render_widget(Paragraph::new(lines), rest(y));
    }
}
