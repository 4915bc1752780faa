//! Setup step 7: save the profile (secret to the OS keyring) and extract. When no keyring is
//! reachable the services say so and offer alternatives; continuing without saving is
//! always possible.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;

use crate::tui::action::Action;
use crate::tui::app::{App, Notice, Screen, Step};
use crate::tui::screens::setup::error_message;
use crate::tui::services::{
    ExtractionTarget, SaveOutcome, SaveProblem, SecretStorage, storage_label,
};
use crate::tui::validate;
use crate::tui::widgets::{FieldMessage, FieldValue, edit_input, field, hang, paste_into, spinner};

/// Where the save step is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SavePhase {
    #[default]
    Choosing,
    Saving(SecretStorage),
    /// Saving failed; the user picks an alternative.
    Problem(SaveProblem),
}

/// One choice on the save screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveChoice {
    Save(SecretStorage),
    ExtractWithoutSaving,
}

/// State of the save step.
#[derive(Debug, Clone, Default)]
pub struct SaveView {
    pub name: Input,
    pub name_message: Option<FieldMessage>,
    pub phase: SavePhase,
    pub selected: usize,
    /// Asking "store the secret in plain text?" before doing it.
    pub confirm_plaintext: bool,
}

/// The choices offered in the current phase.
pub fn choices(view: &SaveView) -> Vec<SaveChoice> {
    let mut list: Vec<SaveChoice> = match &view.phase {
        SavePhase::Problem(p) => p
            .alternatives
            .iter()
            .copied()
            .map(SaveChoice::Save)
            .collect(),
        _ => vec![SaveChoice::Save(SecretStorage::Keyring)],
    };
    list.push(SaveChoice::ExtractWithoutSaving);
    list
}

fn choice_label(c: SaveChoice) -> String {
    match c {
        SaveChoice::Save(SecretStorage::Keyring) => {
            "Save the profile (secret to the OS keyring) and extract".into()
        }
        SaveChoice::Save(s) => format!("Save with: {}", storage_label(s)),
        SaveChoice::ExtractWithoutSaving => "Continue without saving: extract once".into(),
    }
}

pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    if let SavePhase::Saving(_) = app.save.phase {
        if key.code == KeyCode::Esc {
            app.abandon();
            app.save.phase = SavePhase::Choosing;
        }
        return;
    }
    if app.save.confirm_plaintext {
        app.save.confirm_plaintext = false;
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            save(app, SecretStorage::PlaintextFile);
        }
        return;
    }
    let list = choices(&app.save);
    match key.code {
        KeyCode::Esc => app.go(Screen::Setup(Step::Output)),
        KeyCode::Up => app.save.selected = app.save.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Tab => {
            app.save.selected = (app.save.selected + 1).min(list.len() - 1)
        }
        KeyCode::Enter => match list.get(app.save.selected).copied() {
            Some(SaveChoice::Save(SecretStorage::PlaintextFile)) => {
                if name_ok(app) {
                    app.save.confirm_plaintext = true;
                }
            }
            Some(SaveChoice::Save(storage)) => save(app, storage),
            Some(SaveChoice::ExtractWithoutSaving) | None => {
                let draft = app.draft();
                let label = draft.credentials.tenant.clone();
                app.start_extraction(ExtractionTarget::Draft(Box::new(draft)), label);
            }
        },
        _ => {
            if edit_input(&mut app.save.name, key) {
                app.save.name_message = None;
            }
        }
    }
}

fn name_ok(app: &mut App) -> bool {
    app.save.name_message = validate::profile_name(app.save.name.value())
        .err()
        .map(error_message);
    app.save.name_message.is_none()
}

fn save(app: &mut App, storage: SecretStorage) {
    if !name_ok(app) {
        return;
    }
    let draft = app.draft();
    let generation = app.begin();
    app.save.phase = SavePhase::Saving(storage);
    app.spawn(
        move |s| async move { Action::Saved(generation, s.save_profile(draft, storage).await) },
    );
}

pub(crate) fn on_saved(app: &mut App, result: Result<SaveOutcome, SaveProblem>) {
    match result {
        Ok(outcome) => {
            let name = app.save.name.value().trim().to_owned();
            tracing::info!(profile = %name, "profile saved");
            app.notice = Some(Notice::info(format!(
                "Profile {name} saved; {}.",
                outcome.secret_stored_in
            )));
            app.save.phase = SavePhase::Choosing;
            // This run uses the secret just typed, wherever it was (or was not) stored.
            let draft = app.draft();
            app.start_extraction(ExtractionTarget::Draft(Box::new(draft)), name);
        }
        Err(problem) => {
            tracing::warn!("saving the profile failed");
            app.save.phase = SavePhase::Problem(problem);
            app.save.selected = 0;
        }
    }
}

pub(crate) fn on_paste(app: &mut App, text: &str) {
    if app.save.phase == SavePhase::Choosing {
        paste_into(&mut app.save.name, text.trim());
    }
}

/// Draw the save step.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let v = &app.save;
    let used = field(
        frame,
        area,
        t,
        "Profile name",
        FieldValue::Text(&v.name),
        !matches!(v.phase, SavePhase::Saving(_)),
        v.name_message.as_ref(),
    );
    let plain = Style::new();
    let mut lines: Vec<Line> = vec![Line::raw("")];
    match &v.phase {
        SavePhase::Saving(storage) => lines.push(Line::from(vec![
            Span::styled(spinner(app.tick), t.accent),
            Span::raw(format!(
                " Saving the profile ({})…",
                storage_label(*storage)
            )),
        ])),
        SavePhase::Problem(p) => {
            lines.push(Line::styled("The profile was not saved.", t.error));
            lines.extend(hang(&p.message, area.width, "", "", plain));
            lines.push(Line::raw("Choose another way to keep the secret:"));
        }
        SavePhase::Choosing => {}
    }
    if !matches!(v.phase, SavePhase::Saving(_)) {
        for (i, c) in choices(v).into_iter().enumerate() {
            let selected = i == v.selected;
            let mark = if selected { "(•) " } else { "( ) " };
            let style = if selected { t.selected } else { plain };
            lines.extend(hang(&choice_label(c), area.width, mark, "    ", style));
        }
    }
    if v.confirm_plaintext {
        lines.push(Line::raw(""));
        lines.extend(hang(
            "Store the secret in a plain-text file? Anyone who can read your files can use it. y = yes, any other key = no",
            area.width,
            "",
            "",
            t.warn,
        ));
    }
    let rest = Rect {
        y: area.y + used.min(area.height),
        height: area.height.saturating_sub(used),
        ..area
    };
    frame.render_widget(Paragraph::new(lines), rest);
}

/// Key hints for the help bar.
pub fn help(app: &App) -> &'static str {
    match app.save.phase {
        SavePhase::Saving(_) => "Esc stop waiting · Ctrl-C quit",
        _ if app.save.confirm_plaintext => "y store in plain text · any key no",
        _ => "type a name · ↑↓ choose · Enter go · Esc back",
    }
}
