//! A schedule as a systemd **user** timer and its oneshot service: no root, runs missed while
//! the machine was off are caught up (`Persistent=true`), and a fleet of timers is spread
//! by a randomized delay.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Job, Schedule, Unrepresentable};
use crate::profile::ProfileName;

/// Where user units live: `$XDG_CONFIG_HOME/systemd/user` (`~/.config/systemd/user`).
pub fn unit_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.config_dir().join("systemd").join("user"))
}

/// `entra-extract-<profile>`: profile names only hold characters unit names allow.
pub fn unit_base(profile: &ProfileName) -> String {
    format!("entra-extract-{profile}")
}

/// `entra-extract-<profile>.service`.
pub fn service_name(profile: &ProfileName) -> String {
    format!("{}.service", unit_base(profile))
}

/// `entra-extract-<profile>.timer`.
pub fn timer_name(profile: &ProfileName) -> String {
    format!("{}.timer", unit_base(profile))
}

/// What [`Unrepresentable`] says a refused value cannot go into.
const INTO: &str = "a systemd unit";

/// The service and timer files of `job`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    /// `entra-extract-<profile>.service`.
    pub service: String,
    /// `entra-extract-<profile>.timer`.
    pub timer: String,
}

/// The systemd calendar expression of a schedule.
pub fn on_calendar(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Hourly => "*-*-* *:00:00".into(),
        Schedule::Daily { at } => format!("*-*-* {at}:00"),
        Schedule::Weekly { on, at } => format!("{on} *-*-* {at}:00"),
    }
}

/// Renders both units. The service carries no secret: a keyring profile reads the keyring
/// of the user's session, a systemd-credential profile gets the file through
/// `LoadCredential=`, which systemd hands over in a private directory. Every command is an
/// absolute path (systemd before 239 refuses any other): the binary's, and `systemctl` as
/// [`systemctl_path`] finds it now.
pub fn render(job: &Job) -> Result<Units, Unrepresentable> {
    let exe = super::path_text(INTO, "the program path", &job.exe)?;
    let mut exec = vec![quote(exe, true)];
    exec.extend(job.args().iter().map(|a| quote(a, true)));
    let systemctl = systemctl_path();
    let systemctl = quote(
        super::path_text(INTO, "the systemctl path", &systemctl)?,
        true,
    );
    let mut service = format!(
        "# Written by `entra-extract schedule add`; `entra-extract schedule remove --profile {p}` removes it.\n\
         [Unit]\n\
         Description=entra-extract: rerun profile {p}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         # A user unit cannot be ordered after the system's network-online.target (systemd\n\
         # issue 3312): a run caught up at boot (Persistent=true) waits for the system to\n\
         # finish booting, network-online.target included when anything wants it.\n\
         ExecStartPre=-{systemctl} \"is-system-running\" \"--wait\"\n\
         ExecStart={exec}\n",
        p = job.profile,
        exec = exec.join(" "),
    );
    for (key, value) in &job.environment {
        super::check_line(INTO, "an environment value", value)?;
        service.push_str(&format!(
            "Environment={}\n",
            quote(&format!("{key}={value}"), false)
        ));
    }
    if let Some(file) = &job.credential_file {
        let path = super::path_text(INTO, "the credential file", file)?;
        service.push_str(&format!(
            "LoadCredential={}:{}\n",
            crate::secret::SYSTEMD_CREDENTIAL,
            path.replace('%', "%%")
        ));
    }
    // A run that hangs must not block the next ones forever; a full run of a very large
    // tenant takes minutes, not hours.
    service.push_str("TimeoutStartSec=4h\nNice=10\n");

    let timer = format!(
        "# Written by `entra-extract schedule add`; `entra-extract schedule remove --profile {p}` removes it.\n\
         [Unit]\n\
         Description=entra-extract: rerun profile {p} {when}\n\
         \n\
         [Timer]\n\
         OnCalendar={calendar}\n\
         Persistent=true\n\
         RandomizedDelaySec={delay}\n\
         Unit={service}\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        p = job.profile,
        when = job.schedule.describe(),
        calendar = on_calendar(&job.schedule),
        delay = job.schedule.randomized_delay(),
        service = service_name(&job.profile),
    );
    Ok(Units { service, timer })
}

/// The absolute path of the `systemctl` that `PATH` names first, as running `systemctl`
/// would find it; `/usr/bin/systemctl` (where systemd distributions have it, directly or
/// through a merged `/usr`) when `PATH` has none, e.g. for `schedule add --print` on a
/// machine without systemd.
pub fn systemctl_path() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("systemctl"))
        .find(|path| is_executable(path))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/systemctl"))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    let runnable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
    #[cfg(not(unix))]
    let runnable = true;
    meta.is_file() && runnable
}

/// A double-quoted unit-file word: `\` and `"` escaped, `%` doubled (specifiers), and in
/// command lines `$` doubled (variable expansion).
fn quote(word: &str, command_line: bool) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '$' if command_line => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why the units could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    /// No home directory to put user units in.
    #[error("cannot find the home directory for ~/.config/systemd/user")]
    NoUnitDir,
    /// Writing or deleting a unit file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The unit file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `systemctl --user …` failed.
    #[error("`systemctl --user {args}` failed: {output}")]
    Systemctl {
        /// The arguments.
        args: String,
        /// What it printed (or why it could not start).
        output: String,
    },
}

/// Whether a systemd user manager answers (`systemctl --user show-environment`); where it
/// does not (containers, macOS, WSL without systemd), schedules are crontab lines.
pub fn user_manager_available() -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Writes the units (owner-only, atomically), reloads the user manager and enables the
/// timer now. Returns the paths written.
pub fn install(job: &Job, units: &Units) -> Result<[PathBuf; 2], SystemdError> {
    let dir = unit_dir().ok_or(SystemdError::NoUnitDir)?;
    let service = dir.join(service_name(&job.profile));
    let timer = dir.join(timer_name(&job.profile));
    for (path, content) in [(&service, &units.service), (&timer, &units.timer)] {
        crate::private_fs::write_atomic(path, content.as_bytes()).map_err(|source| {
            SystemdError::File {
                action: "write",
                path: path.clone(),
                source,
            }
        })?;
    }
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", &timer_name(&job.profile)])?;
    Ok([service, timer])
}

/// Stops and disables the timer and deletes both units. Returns whether any unit file existed.
pub fn remove(profile: &ProfileName) -> Result<bool, SystemdError> {
    let dir = unit_dir().ok_or(SystemdError::NoUnitDir)?;
    let files = [
        dir.join(timer_name(profile)),
        dir.join(service_name(profile)),
    ];
    if !files.iter().any(|f| f.exists()) {
        return Ok(false);
    }
    // A timer the manager never loaded cannot be disabled, and deleting its file is enough;
    // one it runs must not be left firing without its file: then nothing is deleted.
    if let Err(e) = systemctl(&["disable", "--now", &timer_name(profile)])
        && matches!(
            status(profile).1.as_deref(),
            Some("active" | "activating" | "reloading") | None
        )
    {
        return Err(e);
    }
    for path in &files {
        crate::profile::fsutil::remove_if_exists(path).map_err(|source| SystemdError::File {
            action: "delete",
            path: path.clone(),
            source,
        })?;
    }
    systemctl(&["daemon-reload"])?;
    Ok(true)
}

/// Whether the profile's timer unit file exists, and what `systemctl --user is-active`
/// says about it (`active`, `inactive`, …; `None` when systemctl does not answer).
pub fn status(profile: &ProfileName) -> (bool, Option<String>) {
    let installed = unit_dir().is_some_and(|d| d.join(timer_name(profile)).exists());
    let state = Command::new("systemctl")
        .args(["--user", "is-active", &timer_name(profile)])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    (installed, state)
}

fn systemctl(args: &[&str]) -> Result<(), SystemdError> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    super::run_tool("systemctl", &all, super::lossy_utf8).map_err(|failure| {
        SystemdError::Systemctl {
            args: args.join(" "),
            output: failure.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(schedule: &str, credential_file: Option<&str>) -> Job {
        Job {
            profile: ProfileName::new("contoso").unwrap(),
            schedule: schedule.parse().unwrap(),
            exe: PathBuf::from("/opt/entra extract/bin/entra-extract"),
            environment: vec![(
                "ENTRA_EXTRACT_CONFIG_DIR".into(),
                "/home/a \"b\"/100%".into(),
            )],
            credential_file: credential_file.map(PathBuf::from),
        }
    }

    #[test]
    fn calendar_expressions() {
        for (schedule, want) in [
            ("hourly", "*-*-* *:00:00"),
            ("daily 02:30", "*-*-* 02:30:00"),
            ("weekly fri 18:05", "Fri *-*-* 18:05:00"),
        ] {
            assert_eq!(on_calendar(&schedule.parse().unwrap()), want);
        }
    }

    #[test]
    fn service_quotes_what_systemd_would_otherwise_interpret() {
        let units = render(&job("daily 02:00", Some("/etc/entra/secret%1"))).unwrap();
        assert!(
            units.service.contains(
                "ExecStart=\"/opt/entra extract/bin/entra-extract\" \"run\" \"--profile\" \"contoso\" \"--quiet\"\n"
            ),
            "{}",
            units.service
        );
        assert!(
            units
                .service
                .contains("Environment=\"ENTRA_EXTRACT_CONFIG_DIR=/home/a \\\"b\\\"/100%%\"\n"),
            "{}",
            units.service
        );
        assert!(
            units
                .service
                .contains("LoadCredential=entra-extract-client-secret:/etc/entra/secret%%1\n")
        );
        assert!(units.timer.contains("Persistent=true\n"));
        assert!(units.timer.contains("Unit=entra-extract-contoso.service\n"));
        assert!(
            units
                .timer
                .contains("Description=entra-extract: rerun profile contoso daily at 02:00\n")
        );
        assert_eq!(quote("a$b", true), "\"a$$b\"");
    }

    #[test]
    fn every_command_is_an_absolute_path() {
        let units = render(&job("hourly", None)).unwrap();
        for line in units.service.lines() {
            if let Some(command) = ["ExecStartPre=", "ExecStart="]
                .iter()
                .find_map(|key| line.strip_prefix(key))
            {
                // systemd before 239 refuses a command that is not an absolute path.
                let program = command.trim_start_matches('-').trim_start_matches('"');
                assert!(program.starts_with('/'), "{line}");
            }
        }
    }

    #[test]
    fn control_characters_are_refused_not_written() {
        let mut j = job("hourly", None);
        j.exe = PathBuf::from("/bin/x\nExecStartPre=/bin/evil");
        let e = render(&j).unwrap_err().to_string();
        assert_eq!(
            e,
            "the program path \"/bin/x\\nExecStartPre=/bin/evil\" cannot go into a systemd unit: it contains a control character"
        );
    }
}
