//! Where a saved profile keeps its client secret (`s` on the home screen): choose another
//! place and the secret moves there; the copy in the old place is deleted once the new one
//! holds it. When the secret cannot be read where it is (no keyring on this machine), or
//! the only copy is to be deleted, its value is asked for.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::home::Home;
use super::{Component, Screen, ScreenKind};
use crate::tui::action::Action;
use crate::tui::app::{Context, Notice};
use crate::tui::services::{SecretStorage, StorageProblem, storage_label};
use crate::tui::widgets::{FieldValue, SecretField, field, hang, spinner};

/// The places offered, in the save step's order of preference.
const STORAGES: [SecretStorage; 4] = [
    SecretStorage::Keyring,
    SecretStorage::SystemdCredential,
    SecretStorage::Environment,
    SecretStorage::PlaintextFile,
];

/// Where the screen is.
#[derive(Debug, Default)]
enum Phase {
    #[default]
    Choosing,
    /// Asking "store the secret in plain text?" before doing it.
    ConfirmPlaintext,
    Moving(SecretStorage),
    /// The secret's value is needed to go ahead; `why` says why.
    NeedSecret {
        storage: SecretStorage,
        secret: SecretField,
        why: String,
    },
    /// The last attempt failed; another place may be chosen.
    Failed(String),
}

/// The secret-storage screen of the profile `name`.
#[derive(Debug)]
pub struct SecretStorageScreen {
    pub name: String,
    selected: usize,
    phase: Phase,
    /// Ctrl-C (or an interrupt) came while moving: the wizard quits once the move is done.
    quit_when_moved: bool,
}

impl SecretStorageScreen {
    /// Show where `name` keeps its secret.
    pub(crate) fn open(cx: &mut Context, name: String) {
        cx.go(Screen::SecretStorage(SecretStorageScreen {
            name,
            selected: 0,
            phase: Phase::Choosing,
            quit_when_moved: false,
        }));
    }

    fn start(&mut self, cx: &mut Context, storage: SecretStorage, secret: Option<SecretField>) {
        let generation = cx.begin();
        let name = self.name.clone();
        let secret = secret.map(|s| s.to_secret());
        self.phase = Phase::Moving(storage);
        cx.spawn(move |s| async move {
            Action::SecretStorageChanged(
                generation,
                s.change_secret_storage(name, storage, secret).await,
            )
        });
    }
}

impl Component for SecretStorageScreen {
    fn kind(&self) -> ScreenKind {
        ScreenKind::SecretStorage
    }

    fn title(&self, _cx: &Context) -> String {
        format!("Secret of {}", self.name)
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        match &mut self.phase {
            // A move runs to its end once started (it deletes the old copy last): the screen
            // waits for it and says what came of it, and no second move of the profile
            // starts beside it.
            Phase::Moving(_) => {}
            Phase::ConfirmPlaintext => {
                self.phase = Phase::Choosing;
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    self.start(cx, SecretStorage::PlaintextFile, None);
                }
            }
            Phase::NeedSecret {
                storage, secret, ..
            } => match key.code {
                KeyCode::Esc => self.phase = Phase::Choosing,
                KeyCode::Enter if !secret.is_empty() => {
                    let (storage, secret) = (*storage, std::mem::take(secret));
                    self.start(cx, storage, Some(secret));
                }
                _ => {
                    secret.handle_key(key);
                }
            },
            Phase::Choosing | Phase::Failed(_) => match key.code {
                KeyCode::Esc => cx.go(Screen::Home(Home::default())),
                KeyCode::Up => self.selected = self.selected.saturating_sub(1),
                KeyCode::Down => self.selected = (self.selected + 1).min(STORAGES.len() - 1),
                KeyCode::Enter => match STORAGES[self.selected] {
                    SecretStorage::PlaintextFile => self.phase = Phase::ConfirmPlaintext,
                    storage => self.start(cx, storage, None),
                },
                _ => {}
            },
        }
    }

    fn on_paste(&mut self, _cx: &mut Context, text: &str) {
        if let Phase::NeedSecret { secret, .. } = &mut self.phase {
            secret.paste(text);
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        let Action::SecretStorageChanged(_, result) = result else {
            return;
        };
        if self.quit_when_moved {
            // Asked to quit while moving: the wizard quits now, and says what came of the
            // move once the terminal is restored.
            cx.quit_saying(match result {
                Ok(done) => Notice::info(done),
                Err(problem) => Notice::error(format!(
                    "the secret of profile {} was not moved: {}",
                    self.name, problem.message
                )),
            });
            return;
        }
        let storage = match self.phase {
            Phase::Moving(storage) => storage,
            _ => return,
        };
        match result {
            Ok(done) => {
                cx.notice = Some(Notice::info(done));
                cx.go_with_notice(Screen::Home(Home::default()));
            }
            Err(StorageProblem {
                message,
                needs_secret: true,
            }) => {
                self.phase = Phase::NeedSecret {
                    storage,
                    secret: SecretField::default(),
                    why: message,
                }
            }
            Err(problem) => self.phase = Phase::Failed(problem.message),
        }
    }

    fn on_interrupt(&mut self, cx: &mut Context) {
        match self.phase {
            // Not half done: the wizard quits once the move is.
            Phase::Moving(_) => self.quit_when_moved = true,
            _ => cx.should_quit = true,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(self, frame, area, cx)
    }

    fn help(&self, _cx: &Context) -> &'static str {
        match self.phase {
            Phase::Moving(_) => "Moving… · Ctrl-C quit once it is moved",
            Phase::ConfirmPlaintext => "y store in plain text · any key no",
            Phase::NeedSecret { .. } => "type or paste the secret · Enter go · Esc back",
            Phase::Choosing | Phase::Failed(_) => "↑↓ choose · Enter move the secret · Esc home",
        }
    }
}

/// Draw the screen.
fn render(screen: &SecretStorageScreen, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let w = area.width;
    let plain = Style::new();
    let mut lines: Vec<Line> = hang(
        &format!(
            "Where should profile {} keep its client secret? It moves to the place you choose; \
             the copy in the old place is deleted once the new place holds it.",
            screen.name
        ),
        w,
        "",
        "",
        plain,
    );
    lines.push(Line::raw(""));
    for (i, storage) in STORAGES.iter().enumerate() {
        let selected = i == screen.selected;
        let mark = if selected { "(•) " } else { "( ) " };
        let style = if selected { t.selected } else { plain };
        lines.extend(hang(storage_label(*storage), w, mark, "    ", style));
    }
    lines.push(Line::raw(""));
    let mut secret_field = None;
    match &screen.phase {
        Phase::Choosing => {}
        Phase::ConfirmPlaintext => lines.extend(hang(
            "Store the secret in a plain-text file? Anyone who can read your files can use it. y = yes, any other key = no",
            w,
            "",
            "",
            t.warn,
        )),
        Phase::Moving(storage) => {
            lines.push(Line::from(vec![
                Span::styled(spinner(cx.tick), t.accent),
                Span::raw(format!(" Moving the secret ({})…", storage_label(*storage))),
            ]));
            if screen.quit_when_moved {
                lines.extend(hang(
                    "The wizard quits once the secret is moved.",
                    w,
                    "",
                    "",
                    t.warn,
                ));
            }
        }
        Phase::NeedSecret { secret, why, .. } => {
            lines.extend(hang(why, w, "", "", t.warn));
            lines.extend(hang(
                "Type or paste the secret's value to go ahead (the Value column of Certificates & secrets).",
                w,
                "",
                "",
                plain,
            ));
            secret_field = Some(secret.len());
        }
        Phase::Failed(message) => {
            lines.push(Line::styled("The secret was not moved.", t.error));
            lines.extend(hang(message, w, "", "", plain));
        }
    }
    let used = (lines.len() as u16).min(area.height);
    frame.render_widget(Paragraph::new(lines), area);
    if let Some(len) = secret_field {
        let rest = Rect {
            y: area.y + used,
            height: area.height.saturating_sub(used),
            ..area
        };
        field(
            frame,
            rest,
            t,
            "Secret value",
            FieldValue::Masked(len),
            true,
            None,
        );
    }
}
