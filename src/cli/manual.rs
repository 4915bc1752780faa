//! What the command line says about itself beyond its flags: the exit status, the
//! environment and the files, shown by `run --help` and `check --help` and as sections of
//! every man page (`entra-extract man`, `man --dir DIR` for one page per subcommand).

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::{Cli, Exit};
use crate::profile::dirs::{CONFIG_DIR_ENV, DATA_DIR_ENV};
use crate::secret::keyring::STORE_ENV;
use crate::secret::{SECRET_ENV, SYSTEMD_CREDENTIAL};

/// The variables the program reads, with what each does.
fn environment() -> Vec<(&'static str, String)> {
    vec![
        (
            SECRET_ENV,
            "the client secret (never a command-line flag: argv is visible to other users); wins over a profile's own storage".into(),
        ),
        (
            "CREDENTIALS_DIRECTORY",
            format!(
                "a directory holding the secret as {SYSTEMD_CREDENTIAL}-<profile> or {SYSTEMD_CREDENTIAL} (set by systemd for LoadCredential=, or by a crontab line from `schedule add --cron --credential-file`)"
            ),
        ),
        (
            CONFIG_DIR_ENV,
            "the configuration directory (profiles, plaintext secrets)".into(),
        ),
        (
            DATA_DIR_ENV,
            "the data directory (run history, incremental state, logs)".into(),
        ),
        (
            STORE_ENV,
            "the keyring: secret-service, keyutils, memory or none (unset: the platform's own: the Secret Service on Linux, the login keychain on macOS, the Credential Manager on Windows)".into(),
        ),
        (
            crate::logging::LOG_ENV,
            "the log level or filter of the log file, e.g. debug (default info)".into(),
        ),
        (
            "HTTPS_PROXY",
            "a proxy for Microsoft's endpoints (also HTTP_PROXY, NO_PROXY); with a TLS-inspecting proxy add --extra-ca".into(),
        ),
        ("NO_COLOR", "no colours in the wizard".into()),
    ]
}

/// The files the program reads and writes.
const FILES: [(&str, &str); 9] = [
    (
        "<config>/profiles/<name>.toml",
        "a saved profile (owner-only); <config> is ~/.config/entra-extract on Linux, ~/Library/Application Support/entra-extract on macOS, %APPDATA%\\entra-extract\\config on Windows",
    ),
    (
        "<config>/secrets/<name>",
        "a profile's secret when it keeps it in a plaintext file (owner-only): --plaintext-secret-file, set-secret --storage plaintext-file, or that choice in the wizard",
    ),
    (
        "<data>/history/<name>.jsonl",
        "a profile's last 20 runs; <data> is ~/.local/share/entra-extract on Linux, ~/Library/Application Support/entra-extract on macOS, %LOCALAPPDATA%\\entra-extract\\data on Windows",
    ),
    (
        "<data>/state/<name>/",
        "what makes a profile's next run incremental (delta links, the previous files)",
    ),
    ("<data>/logs/", "the log files (never the terminal)"),
    (
        "<data>/copied/",
        "the grant commands the wizard copied, one file each (owner-only)",
    ),
    (
        "<output dir>/<prefix>_{users,groups,groups_members,groups_owners}.csv",
        "the four CSV files, with <prefix>_manifest.json and, for a profile's rerun, <prefix>_changes.csv",
    ),
    (
        "<output dir>/.entra-extract.lock",
        "empty; locked by the run writing into the directory, kept between runs",
    ),
    (
        "~/.config/systemd/user/entra-extract-<profile>.{service,timer}",
        "a schedule (`entra-extract schedule`)",
    ),
];

/// The outcome word of an exit code, as `--json` writes it.
fn outcome_word(exit: Exit) -> String {
    serde_json::to_value(exit.outcome())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The exit status, environment and files as plain text, for `--help`.
pub fn help_text() -> String {
    let mut out = String::from("Exit status (the `outcome` of --json in brackets):\n");
    for exit in Exit::ALL {
        out += &format!(
            "  {:<3}  [{}] {}\n",
            exit.code(),
            outcome_word(exit),
            exit.meaning()
        );
    }
    out += "\nEnvironment:\n";
    for (name, what) in environment() {
        out += &format!("  {name}\n          {what}\n");
    }
    out += "\nFiles:\n";
    for (path, what) in FILES {
        out += &format!("  {path}\n          {what}\n");
    }
    out
}

/// The short pointer of `-h`.
pub fn short_help() -> String {
    let codes: Vec<String> = Exit::ALL
        .iter()
        .map(|e| format!("{} {}", e.code(), outcome_word(*e)))
        .collect();
    format!(
        "The secret comes from {SECRET_ENV}, a systemd credential or the profile's keyring entry.\nExit codes: {}. More with --help.",
        codes.join(", ")
    )
}

/// The whole command line, with the exit status, environment and files in the help of the
/// commands that run against a tenant.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for name in ["run", "check"] {
        cmd = cmd.mut_subcommand(name, |sub| {
            sub.after_help(short_help()).after_long_help(help_text())
        });
    }
    cmd
}

/// The man page of `entra-extract` itself (what `entra-extract man` prints).
pub fn main_page() -> io::Result<Vec<u8>> {
    render(&man_command())
}

/// Writes one page per command and subcommand into `dir` (created if needed): the pages
/// the SUBCOMMANDS sections refer to. Returns the files written.
pub fn write_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    fn write(cmd: &clap::Command, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, render(cmd)?)?;
        out.push(path);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub, dir, out)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write(&man_command(), dir, &mut written)?;
    Ok(written)
}

/// The command as the pages show it: without the `help` subcommand, which has no page.
fn man_command() -> clap::Command {
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page: clap_mangen's sections, then EXIT STATUS, ENVIRONMENT and FILES in place of
/// its EXTRA section (the same text as `--help`'s).
fn render(cmd: &clap::Command) -> io::Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut page)?;
    }
    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    for exit in Exit::ALL {
        roff.control("TP", []);
        roff.text([bold(exit.code().to_string())]);
        roff.text([roman(format!(
            "{} ({})",
            exit.meaning(),
            outcome_word(exit)
        ))]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, what) in environment() {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["FILES"]);
    for (path, what) in FILES {
        roff.control("TP", []);
        roff.text([bold(path)]);
        roff.text([roman(what)]);
    }
    roff.to_writer(&mut page)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    Ok(page)
}
