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

use super::extract;
use super::setup::{Setup, SetupStep, Step, error_message};
use crate::tui::action::Action;
use crate::tui::app::{Context, Notice};
use crate::tui::services::{
    ExtractionTarget, IfNameTaken, SaveOutcome, SaveProblem, SaveProblemKind, SecretStorage,
    storage_label,
};
use crate::tui::validate;
use crate::tui::widgets::Severity;
use crate::tui::widgets::{FieldMessage, FieldValue, edit_input, field, hang, paste_into, spinner};

/// Where the save step is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SavePhase {
    #[default]
    Choosing,
    Saving(SecretStorage),
    /// Saving failed; the user picks an alternative.
    Problem(SaveProblem),
    /// Another saved profile has the name: replace it (y, saving with this storage again)
    /// or choose another name. Nothing was changed.
    NameTaken(SecretStorage, SaveProblem),
}

/// One choice on the save screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveChoice {
    Save(SecretStorage),
    ExtractWithoutSaving,
}

/// Which text field keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFocus {
    #[default]
    Name,
    Schedule,
    /// The timer's secret file.
    CredentialFile,
}

/// State of the save step.
#[derive(Debug, Clone, Default)]
pub struct SaveView {
    pub name: Input,
    pub name_message: Option<FieldMessage>,
    /// When the profile reruns by itself: empty for never.
    pub schedule: Input,
    pub schedule_message: Option<FieldMessage>,
    /// For the schedule: a file holding the secret, when the timer cannot read a keyring.
    pub credential_file: Input,
    pub focus: SaveFocus,
    pub phase: SavePhase,
    pub selected: usize,
    /// Asking "store the secret in plain text?" before doing it.
    pub confirm_plaintext: bool,
    /// Ctrl-C (or an interrupt) came while saving: the wizard quits once the save is done.
    pub quit_when_saved: bool,
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

/// Setup step 7.
pub struct SaveStep;

impl SetupStep for SaveStep {
    fn title(&self) -> &'static str {
        "Save"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        let v = &mut setup.save;
        // A save runs to its end once started (it may be replacing another profile): the
        // wizard waits for it and says what came of it.
        if let SavePhase::Saving(_) = v.phase {
            return;
        }
        if v.confirm_plaintext {
            v.confirm_plaintext = false;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                save(setup, cx, SecretStorage::PlaintextFile, IfNameTaken::Refuse);
            }
            return;
        }
        if let SavePhase::NameTaken(storage, problem) = &v.phase {
            let storage = *storage;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                save(setup, cx, storage, IfNameTaken::Replace);
            } else {
                // Another name, typed into the name field (the key only answered).
                v.name_message = Some(FieldMessage {
                    severity: Severity::Warning,
                    message: problem.message.clone(),
                    remedy: "Type another name, or save again and answer y to replace it.".into(),
                });
                v.focus = SaveFocus::Name;
                v.phase = SavePhase::Choosing;
            }
            return;
        }
        let list = choices(v);
        match key.code {
            KeyCode::Esc => setup.go(cx, Step::Output),
            KeyCode::Up => v.selected = v.selected.saturating_sub(1),
            KeyCode::Down => v.selected = (v.selected + 1).min(list.len() - 1),
            KeyCode::Tab => {
                v.focus = match v.focus {
                    SaveFocus::Name => SaveFocus::Schedule,
                    SaveFocus::Schedule => SaveFocus::CredentialFile,
                    SaveFocus::CredentialFile => SaveFocus::Name,
                }
            }
            KeyCode::BackTab => {
                v.focus = match v.focus {
                    SaveFocus::Name => SaveFocus::CredentialFile,
                    SaveFocus::Schedule => SaveFocus::Name,
                    SaveFocus::CredentialFile => SaveFocus::Schedule,
                }
            }
            KeyCode::Enter => match list.get(v.selected).copied() {
                Some(SaveChoice::Save(SecretStorage::PlaintextFile)) => {
                    if name_ok(v) {
                        v.confirm_plaintext = true;
                    }
                }
                Some(SaveChoice::Save(storage)) => save(setup, cx, storage, IfNameTaken::Refuse),
                Some(SaveChoice::ExtractWithoutSaving) | None => {
                    let draft = setup.draft();
                    let label = draft.credentials.tenant.clone();
                    extract::start(cx, ExtractionTarget::Draft(Box::new(draft)), label);
                }
            },
            _ => {
                let (input, message) = match v.focus {
                    SaveFocus::Name => (&mut v.name, Some(&mut v.name_message)),
                    SaveFocus::Schedule => (&mut v.schedule, Some(&mut v.schedule_message)),
                    SaveFocus::CredentialFile => (&mut v.credential_file, None),
                };
                if edit_input(input, key)
                    && let Some(m) = message
                {
                    *m = None;
                }
            }
        }
    }

    fn on_paste(&self, setup: &mut Setup, text: &str) {
        if setup.save.phase == SavePhase::Choosing {
            let v = &mut setup.save;
            let input = match v.focus {
                SaveFocus::Name => &mut v.name,
                SaveFocus::Schedule => &mut v.schedule,
                SaveFocus::CredentialFile => &mut v.credential_file,
            };
            paste_into(input, text.trim());
        }
    }

    fn on_result(&self, setup: &mut Setup, cx: &mut Context, result: Action) {
        if let Action::Saved(_, result) = result {
            on_saved(setup, cx, result);
        }
    }

    fn on_interrupt(&self, setup: &mut Setup, cx: &mut Context) {
        match setup.save.phase {
            // Not half done: the wizard quits once the save is.
            SavePhase::Saving(_) => setup.save.quit_when_saved = true,
            _ => cx.should_quit = true,
        }
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        render(&setup.save, frame, area, cx)
    }

    fn help(&self, setup: &Setup, _cx: &Context) -> &'static str {
        match setup.save.phase {
            SavePhase::Saving(_) => "Saving… · Ctrl-C quit once it is saved",
            SavePhase::NameTaken(..) => "y replace it · any other key choose another name",
            _ if setup.save.confirm_plaintext => "y store in plain text · any key no",
            _ => "type · Tab next field · ↑↓ choose · Enter go · Esc back",
        }
    }
}

/// The schedule field: `None` for no schedule.
pub(crate) fn parse_schedule(
    raw: &str,
) -> Result<Option<crate::tui::services::Schedule>, validate::FormatError> {
    validate::schedule(raw)
}

fn name_ok(v: &mut SaveView) -> bool {
    v.name_message = validate::profile_name(v.name.value())
        .err()
        .map(error_message);
    v.schedule_message = parse_schedule(v.schedule.value()).err().map(error_message);
    if v.name_message.is_some() {
        v.focus = SaveFocus::Name;
    } else if v.schedule_message.is_some() {
        v.focus = SaveFocus::Schedule;
    }
    v.name_message.is_none() && v.schedule_message.is_none()
}

fn save(setup: &mut Setup, cx: &mut Context, storage: SecretStorage, if_taken: IfNameTaken) {
    if !name_ok(&mut setup.save) {
        return;
    }
    let mut draft = setup.draft();
    draft.if_name_taken = if_taken;
    let generation = cx.begin();
    setup.save.phase = SavePhase::Saving(storage);
    cx.spawn(
        move |s| async move { Action::Saved(generation, s.save_profile(draft, storage).await) },
    );
}

fn on_saved(setup: &mut Setup, cx: &mut Context, result: Result<SaveOutcome, SaveProblem>) {
    let name = setup.save.name.value().trim().to_owned();
    match &result {
        Ok(_) => tracing::info!(profile = %name, "profile saved"),
        Err(problem) => tracing::warn!(kind = ?problem.kind, "saving the profile failed"),
    }
    if setup.save.quit_when_saved {
        // Asked to quit while saving: the wizard quits now, and says what came of the save
        // once the terminal is restored.
        cx.quit_saying(match result {
            Ok(outcome) => Notice::info(saved(&name, &outcome)),
            Err(problem) => Notice::error(format!(
                "the profile {name} was not saved: {}",
                problem.message
            )),
        });
        return;
    }
    match result {
        Ok(outcome) => {
            cx.notice = Some(Notice::info(saved(&name, &outcome)));
            setup.save.phase = SavePhase::Choosing;
            // The saved profile's run, with the secret just typed, wherever it was (or was
            // not) stored.
            let draft = setup.draft();
            extract::start(cx, ExtractionTarget::JustSaved(Box::new(draft)), name);
        }
        Err(problem) if problem.kind == SaveProblemKind::NameTaken => {
            let storage = match setup.save.phase {
                SavePhase::Saving(storage) => storage,
                _ => SecretStorage::Keyring,
            };
            setup.save.phase = SavePhase::NameTaken(storage, problem);
        }
        Err(problem) => {
            setup.save.phase = SavePhase::Problem(problem);
            setup.save.selected = 0;
        }
    }
}

/// What a successful save of profile `name` says.
fn saved(name: &str, outcome: &SaveOutcome) -> String {
    let schedule = outcome
        .schedule
        .as_ref()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    format!(
        "Profile {name} saved; {}.{schedule}",
        outcome.secret_stored_in
    )
}

/// Draw the save step.
fn render(v: &SaveView, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let editable = !matches!(v.phase, SavePhase::Saving(_));
    let mut used = field(
        frame,
        area,
        t,
        "Profile name",
        FieldValue::Text(&v.name),
        editable && v.focus == SaveFocus::Name,
        v.name_message.as_ref(),
    );
    used += field(
        frame,
        below(area, used),
        t,
        "Rerun (optional)",
        FieldValue::Text(&v.schedule),
        editable && v.focus == SaveFocus::Schedule,
        v.schedule_message.as_ref(),
    );
    used += field(
        frame,
        below(area, used),
        t,
        "Timer's secret file",
        FieldValue::Text(&v.credential_file),
        editable && v.focus == SaveFocus::CredentialFile,
        None,
    );
    let plain = Style::new();
    let mut lines: Vec<Line> = Vec::new();
    if v.schedule_message.is_none() {
        let hint = if v.focus == SaveFocus::CredentialFile {
            "Secret file: for a timer that cannot read the keyring, an owner-only file holding the secret (a systemd credential)."
        } else {
            "Rerun: empty, hourly, daily 02:00 or weekly mon 02:00."
        };
        lines.extend(hang(hint, area.width, "  ", "  ", t.dim));
    }
    lines.push(Line::raw(""));
    match &v.phase {
        SavePhase::Saving(storage) => {
            lines.push(Line::from(vec![
                Span::styled(spinner(cx.tick), t.accent),
                Span::raw(format!(
                    " Saving the profile ({})…",
                    storage_label(*storage)
                )),
            ]));
            if v.quit_when_saved {
                lines.extend(hang(
                    "The wizard quits once the profile is saved.",
                    area.width,
                    "",
                    "",
                    t.warn,
                ));
            }
        }
        SavePhase::Problem(p) => {
            lines.push(Line::styled("The profile was not saved.", t.error));
            lines.extend(hang(&p.message, area.width, "", "", plain));
            if !p.alternatives.is_empty() {
                lines.push(Line::raw("Choose another way to keep the secret:"));
            }
        }
        SavePhase::NameTaken(_, p) => {
            lines.extend(hang(&p.message, area.width, "", "", t.warn));
            lines.extend(hang(
                "Replace it? Once this profile is saved, that one's settings, stored secret, run history, incremental state and timer are deleted. y = replace it, any other key = choose another name",
                area.width,
                "",
                "",
                t.warn,
            ));
        }
        SavePhase::Choosing => {}
    }
    if matches!(v.phase, SavePhase::Choosing | SavePhase::Problem(_)) {
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
    frame.render_widget(Paragraph::new(lines), below(area, used));
}

/// What is left of `area` under its first `used` rows.
fn below(area: Rect, used: u16) -> Rect {
    Rect {
        y: area.y + used.min(area.height),
        height: area.height.saturating_sub(used),
        ..area
    }
}
