//! `entra-extract schedule add|list|remove`: rerun saved profiles by themselves — a systemd
//! user timer where a user manager answers, else a crontab line to add (Linux); a Task
//! Scheduler task (Windows); a launchd LaunchAgent (macOS).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Exit;
use crate::profile::{Dirs, ProfileName, ProfileStore};
use crate::schedule::{
    self, Backend, Installed, Schedule, ScheduleError, Status, cron, launchd, systemd,
    taskscheduler,
};

/// Arguments of `entra-extract schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// Schedule subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Rerun a profile `hourly`, `daily [HH:MM]` or `weekly DAY [HH:MM]` (local time).
    Add {
        /// Profile name.
        #[arg(long)]
        profile: ProfileName,
        /// When, e.g. `daily 02:00` or `weekly mon 06:30`.
        #[arg(required = true, num_args = 1.., value_name = "SCHEDULE")]
        schedule: Vec<String>,
        /// Owner-only file holding the client secret, handed to each run as a credential
        /// (needed when the profile stores no secret). With cron, name it
        /// `entra-extract-client-secret-<profile>`: the line hands the run its directory.
        #[arg(long, value_name = "PATH")]
        credential_file: Option<PathBuf>,
        /// Print a crontab line instead of installing a systemd user timer.
        #[arg(long, conflicts_with = "scheduler")]
        cron: bool,
        /// The scheduler to use instead of this platform's (systemd or cron on Linux, the
        /// Task Scheduler on Windows, launchd on macOS); with --print, e.g. to see the task
        /// or plist another machine would get.
        #[arg(long, value_enum, value_name = "SCHEDULER")]
        scheduler: Option<Backend>,
        /// Print the units (task definition, plist, crontab line) without installing anything.
        #[arg(long)]
        print: bool,
    },
    /// List the profiles' schedules and whether each is installed.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop rerunning a profile: disable and delete its timer (task, agent).
    Remove {
        /// Profile name.
        #[arg(long)]
        profile: ProfileName,
    },
}

/// Why a schedule command failed.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Invalid(#[from] schedule::InvalidSchedule),
}

impl CommandError {
    fn exit(&self) -> Exit {
        let config = match self {
            CommandError::Profile(e) => e.is_config_error(),
            CommandError::Schedule(e) => e.is_config_error(),
            CommandError::Invalid(_) => true,
        };
        if config {
            Exit::BadConfig
        } else {
            Exit::Failure
        }
    }
}

/// Runs a `schedule` subcommand.
pub fn run(args: ScheduleArgs) -> Exit {
    let dirs = match Dirs::from_env() {
        Ok(d) => d,
        Err(e) => {
            crate::errln!("error: {e}");
            return Exit::BadConfig;
        }
    };
    let profiles = ProfileStore::new(dirs);
    let result = match args.command {
        ScheduleCommand::Add {
            profile,
            schedule,
            credential_file,
            cron,
            scheduler,
            print,
        } => add(
            &profiles,
            &profile,
            &schedule.join(" "),
            credential_file,
            if cron { Some(Backend::Cron) } else { scheduler },
            print,
        ),
        ScheduleCommand::List { json } => list(&profiles, json),
        ScheduleCommand::Remove { profile } => remove(&profiles, &profile),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(e) => {
            crate::errln!("error: {e}");
            e.exit()
        }
    }
}

fn add(
    profiles: &ProfileStore,
    name: &ProfileName,
    when: &str,
    credential_file: Option<PathBuf>,
    chosen: Option<Backend>,
    print: bool,
) -> Result<(), CommandError> {
    let mut profile = profiles.load(name)?;
    let when: Schedule = when.parse()?;
    let backend = match chosen {
        Some(b) => b,
        None if print => Backend::native(),
        None => Backend::detect(),
    };
    let force_cron = chosen == Some(Backend::Cron);
    let job = schedule::job_for(&profile, when, credential_file, backend)?;
    if print {
        return print_job(profiles, name, &job, backend);
    }
    let applied = crate::session::schedule::install(profiles, &mut profile, when, &job, backend)?;
    applied.recorded?;
    say_installed(profiles, &profile, &job, when, applied.done, force_cron);
    Ok(())
}

/// `schedule add --print`: what `schedule add` would install, written out, nothing installed.
fn print_job(
    profiles: &ProfileStore,
    name: &ProfileName,
    job: &schedule::Job,
    backend: Backend,
) -> Result<(), CommandError> {
    match backend {
        Backend::TaskScheduler => {
            let wrapper = taskscheduler::wrapper_path(profiles.dirs(), name);
            let action = taskscheduler::action(job, &wrapper, &taskscheduler::system_root())
                .map_err(ScheduleError::from)?;
            crate::outln!(
                "{}",
                taskscheduler::utf8_document(&taskscheduler::render(
                    job,
                    &action,
                    chrono::Local::now().date_naive()
                ))
            );
            if let Some((path, script)) = &action.wrapper {
                crate::errln!(
                    "note: the task runs {}, which `schedule add` writes as:\n{}",
                    path.display(),
                    script.replace("\r\n", "\n")
                );
            }
        }
        Backend::Launchd => crate::outln!(
            "{}",
            launchd::render(job, &schedule::log_path(profiles.dirs(), name))
        ),
        Backend::Systemd => {
            let units = systemd::render(job).map_err(ScheduleError::from)?;
            crate::outln!(
                "# {}\n{}\n# {}\n{}",
                systemd::service_name(name),
                units.service,
                systemd::timer_name(name),
                units.timer
            );
        }
        Backend::Cron => crate::outln!(
            "{}",
            cron::line(job, &schedule::log_path(profiles.dirs(), name))
        ),
    }
    Ok(())
}

/// What `schedule add` installed, in the user's words: where the timer, task or agent is,
/// how to check and stop it, and what the secret needs when it fires.
fn say_installed(
    profiles: &ProfileStore,
    profile: &crate::profile::Profile,
    job: &schedule::Job,
    when: Schedule,
    done: Installed,
    force_cron: bool,
) {
    let name = &profile.name;
    match done {
        Installed::Timer(files) => {
            crate::outln!(
                "Profile {name} now reruns {} (systemd user timer {}; runs missed while the machine was off start at the next boot).\n\
                 Wrote {} and {}.\n\
                 See its runs with `journalctl --user -u {}` or `entra-extract profile list`; stop it with `entra-extract schedule remove --profile {name}`.",
                when.describe(),
                systemd::timer_name(name),
                files[0].display(),
                files[1].display(),
                systemd::service_name(name),
            );
            if reads_keyring(profile, job) {
                crate::errln!(
                    "note: each run reads the secret from your OS keyring; if the keyring is locked when the timer fires (e.g. no one is logged in), the run fails with exit code 2 (within 30 s) instead of waiting. Pass --credential-file to hand it the secret as a systemd credential instead."
                );
            }
        }
        Installed::Task {
            name: task,
            wrapper,
        } => {
            crate::outln!(
                "Profile {name} now reruns {} (scheduled task {task} of your user; a run missed while the machine was off starts as soon as it can, never two at once, each ends after at most 4 hours).\n\
                 It runs only while you are logged on: its logon type is InteractiveToken, the one in which a run can read your Windows Credential Manager (S4U cannot; Password would store your Windows password with the task).\n\
                 Check it with `schtasks /Query /TN \"{task}\" /V /FO LIST` (its last run result) or `entra-extract profile list`; stop it with `entra-extract schedule remove --profile {name}`.",
                when.describe(),
            );
            if let Some(wrapper) = wrapper {
                crate::outln!(
                    "The task runs {}, which sets this shell's ENTRA_EXTRACT_* directories (a task has no environment of its own).",
                    wrapper.display()
                );
            }
        }
        Installed::Agent(plist) => {
            let spread = launchd::spread_minutes(name, &when);
            crate::outln!(
                "Profile {name} now reruns {} (launchd agent {}: wrote {} and loaded it with `launchctl bootstrap {}`).\n\
                 launchd has no random delay: each run starts {spread} min after the scheduled time, a shift fixed for this profile. A run missed while the Mac slept starts when it wakes; one missed while it was off is skipped.\n\
                 The agent runs in your login session, where your login keychain is; its output goes to {}. Check it with `launchctl print {}/{}` or `entra-extract profile list`; stop it with `entra-extract schedule remove --profile {name}`.",
                when.describe(),
                launchd::label(name),
                plist.display(),
                launchd::domain(),
                schedule::log_path(profiles.dirs(), name).display(),
                launchd::domain(),
                launchd::label(name),
            );
        }
        Installed::CrontabLine(line) => {
            let lead = if force_cron {
                "Add"
            } else {
                "No systemd user manager answers here, so add"
            };
            crate::outln!(
                "{lead} this line to your crontab (`crontab -e`) to rerun profile {name} {}:\n\n{line}\n",
                when.describe()
            );
            if reads_keyring(profile, job) {
                crate::errln!(
                    "note: each run reads the secret from your OS keyring over your session bus at its default address, so only while you are logged in (or lingering: `loginctl enable-linger`) with the keyring unlocked; otherwise the run fails with exit code 2. For an unattended machine pass --credential-file DIR/{} (an owner-only file holding the secret) instead.",
                    cron::credential_name(name)
                );
            }
        }
    }
}

/// Whether the scheduled runs read the secret from the OS keyring of a user session.
fn reads_keyring(profile: &crate::profile::Profile, job: &schedule::Job) -> bool {
    profile.secret_storage == crate::profile::SecretStorage::Keyring
        && job.credential_file.is_none()
}

fn list(profiles: &ProfileStore, json: bool) -> Result<(), CommandError> {
    let mut rows = Vec::new();
    for (name, profile) in profiles.list()? {
        let profile = match profile {
            Ok(p) => p,
            Err(e) => {
                crate::errln!("warning: profile {name} is not listed: {e}");
                continue;
            }
        };
        let status = schedule::status(profiles.dirs(), &name);
        if profile.schedule.is_none() && !status.installed() {
            continue;
        }
        let crontab = match status {
            Status::None if Backend::native() == Backend::Systemd => cron::installed(&name),
            _ => None,
        };
        let installed = installed_text(&name, status, crontab);
        rows.push((name, profile.schedule, installed));
    }
    if json {
        let items: Vec<_> = rows
            .iter()
            .map(|(name, when, installed)| {
                json!({
                    "profile": name,
                    "schedule": when.map(|w| w.to_string()),
                    "installed": installed,
                })
            })
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
        return Ok(());
    }
    if rows.is_empty() {
        crate::outln!(
            "No profile has a schedule; add one with `entra-extract schedule add --profile NAME daily 02:00`."
        );
        return Ok(());
    }
    for (name, when, installed) in rows {
        let when = when.map_or("(timer without a schedule in the profile)".into(), |w| {
            w.describe()
        });
        crate::outln!("{name}\t{when}\t{installed}");
    }
    Ok(())
}

fn installed_text(name: &ProfileName, status: Status, crontab: Option<bool>) -> String {
    use taskscheduler::Registered;
    let task = taskscheduler::task_name(name);
    match (status, crontab) {
        (Status::Timer(state), _) => format!(
            "systemd timer ({})",
            state.unwrap_or_else(|| "state unknown".into())
        ),
        (Status::Task(Registered::Yes(Some(s))), _) => {
            format!("scheduled task {task} ({})", s.describe())
        }
        (Status::Task(Registered::Yes(None)), _) => {
            format!("scheduled task {task} (a schedule entra-extract did not write)")
        }
        (Status::Task(Registered::No), _) => "not installed (no scheduled task)".into(),
        (Status::Task(Registered::Unknown(why)), _) => {
            format!("scheduled task {task}: state unknown ({why})")
        }
        (Status::Agent { fires, loaded }, _) => format!(
            "launchd agent {} ({}, {})",
            launchd::label(name),
            fires.map_or("a schedule entra-extract did not write".into(), |s| {
                format!("fires {}", s.describe())
            }),
            if loaded { "loaded" } else { "not loaded" }
        ),
        (Status::None, Some(true)) => "crontab".into(),
        (Status::None, _) if Backend::native() == Backend::Launchd => {
            "not installed (no launchd agent)".into()
        }
        (Status::None, _) => "not installed (no timer, no crontab line)".into(),
    }
}

fn remove(profiles: &ProfileStore, name: &ProfileName) -> Result<(), CommandError> {
    let mut profile = profiles.load(name)?;
    let applied = crate::session::schedule::remove(profiles, &mut profile)?;
    applied.recorded?;
    let crate::session::schedule::Removed {
        had_timer,
        had_schedule,
    } = applied.done;
    match (had_timer, had_schedule) {
        (true, _) => crate::outln!(
            "Profile {name} no longer reruns by itself: {}.",
            match Backend::native() {
                Backend::TaskScheduler => format!(
                    "its scheduled task {} is deleted",
                    taskscheduler::task_name(name)
                ),
                Backend::Launchd => format!(
                    "its launchd agent {} is unloaded and deleted",
                    launchd::label(name)
                ),
                Backend::Systemd | Backend::Cron =>
                    "its systemd timer is disabled and deleted".into(),
            }
        ),
        (false, true) if Backend::native() == Backend::Systemd => crate::outln!(
            "Removed profile {name}'s schedule. If you added its crontab line, delete it with `crontab -e` (the line runs `--profile {name}`)."
        ),
        (false, true) => crate::outln!(
            "Removed profile {name}'s schedule; there was no {} to delete.",
            Backend::native().installed_name(name)
        ),
        (false, false) => crate::outln!("Profile {name} has no schedule."),
    }
    Ok(())
}
