//! Command-line interface: argument definitions and one module per subcommand.

pub mod app;
pub mod check;
pub mod connect;
pub mod demo;
pub mod exit;
pub mod manual;
pub mod profile;
pub mod progress;
pub mod rotate;
pub mod run;
pub mod schedule;
pub mod sim;
pub mod stdout;

use clap::{Parser, Subcommand};

pub use exit::Exit;

/// Extract users, groups, members and owners from a Microsoft Entra ID tenant into CSV files.
///
/// Without a subcommand, opens the interactive setup-and-extract wizard.
#[derive(Debug, Parser)]
#[command(name = "entra-extract", bin_name = "entra-extract", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try everything on the built-in simulated tenant (opens the wizard; --headless to extract).
    Demo(demo::DemoArgs),
    /// Serve a simulated Entra tenant (token endpoint + Microsoft Graph v1.0) on loopback.
    Sim(sim::SimArgs),
    /// Sign in and check that Directory.Read.All and Member.Read.Hidden are granted.
    Check(check::CheckArgs),
    /// Extract users, groups, members and owners into four CSV files (headless).
    Run(run::RunArgs),
    /// Create the app registration itself (administrator sign-in with a device code), or
    /// print the equivalent Azure CLI / PowerShell script.
    App(app::AppArgs),
    /// Manage saved profiles and their client secrets.
    Profile(profile::ProfileArgs),
    /// Rerun saved profiles by themselves (systemd user timer, or a crontab line).
    Schedule(schedule::ScheduleArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions {
        /// The shell, e.g. `bash`: `entra-extract completions bash > ~/.local/share/bash-completion/completions/entra-extract`;
        /// PowerShell: `entra-extract completions powershell >> $PROFILE`.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `entra-extract man > entra-extract.1`; with
    /// --dir, write one page per command and subcommand there.
    Man {
        /// Write `entra-extract.1` and a page for each subcommand (`entra-extract-run.1`, …)
        /// into this directory, e.g. `~/.local/share/man/man1`.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// Parses the command line (with the help texts [`manual::command`] adds).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&manual::command().get_matches()).unwrap_or_else(|e| e.exit())
}

/// Writes `shell`'s completion script for the whole command line to stdout.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut command = manual::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "entra-extract", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script));
    Exit::Success
}

/// Writes the man page, generated from the same definitions as `--help`, to stdout; with
/// `dir`, one page per command and subcommand into `dir`.
pub fn man(dir: Option<&std::path::Path>) -> color_eyre::Result<Exit> {
    use color_eyre::eyre::WrapErr;
    match dir {
        None => {
            let page = manual::main_page()?;
            crate::out!("{}", String::from_utf8_lossy(&page));
        }
        Some(dir) => {
            let written = manual::write_pages(dir)
                .wrap_err_with(|| format!("cannot write the man pages into {}", dir.display()))?;
            crate::outln!("Wrote {} man pages into {}.", written.len(), dir.display());
        }
    }
    Ok(Exit::Success)
}

/// `entra-extract` without a subcommand: the wizard over the user's saved profiles.
pub async fn wizard() -> color_eyre::Result<Exit> {
    use color_eyre::eyre::WrapErr;
    if let Some(refused) = refuse_without_terminal() {
        return Ok(refused);
    }
    let dirs = crate::profile::Dirs::from_env().wrap_err("cannot find the home directory")?;
    let keyring = crate::secret::StoreChoice::from_env()?;
    let services = std::sync::Arc::new(crate::session::wizard::LiveServices::new(dirs, keyring));
    let ran = crate::tui::run(services.clone(), crate::tui::WizardOptions::default()).await;
    for line in services.leftover_report() {
        crate::errln!("warning: {line}");
    }
    ran?;
    Ok(Exit::Success)
}

/// The wizard draws on a terminal and reads keys from it: without one (cron, a pipe,
/// `setsid … </dev/null`) say so and name the headless commands, before touching anything.
pub(crate) fn refuse_without_terminal() -> Option<Exit> {
    if crate::tui::has_terminal() {
        return None;
    }
    crate::errln!(
        "error: the wizard needs a terminal: standard output or the keyboard is not one here \
         (cron, a pipe, no controlling terminal).\n\
         Without a terminal, use the headless commands:\n  \
         entra-extract run --profile NAME     extract a saved profile (or --tenant … --client-id …)\n  \
         entra-extract check --profile NAME   check its permissions\n  \
         entra-extract demo --headless        the demo's extraction"
    );
    Some(Exit::BadConfig)
}
