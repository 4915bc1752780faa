//! `entra-extract schedule add|list|remove`: rerun saved profiles by themselves — a systemd
//! user timer where a user manager answers, else a crontab line to add.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Exit;
use crate::profile::{Dirs, ProfileName, ProfileStore};
use crate::schedule::{self, Backend, Installed, Schedule, ScheduleError, cron, systemd};

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
        #[arg(long)]
        cron: bool,
        /// Print the units (or the crontab line) without installing anything.
        #[arg(long)]
        print: bool,
    },
    /// List the profiles' schedules and whether each is installed.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop rerunning a profile: disable and delete its timer.
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
            print,
        } => add(
            &profiles,
            &profile,
            &schedule.join(" "),
            credential_file,
            cron,
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
    force_cron: bool,
    print: bool,
) -> Result<(), CommandError> {
    let mut profile = profiles.load(name)?;
    let when: Schedule = when.parse()?;
    let backend = if force_cron {
        Backend::Cron
    } else if print {
        Backend::Systemd
    } else {
        Backend::detect()
    };
    let job = schedule::job_for(&profile, when, credential_file, backend)?;
    if print {
        match backend {
            Backend::Systemd => {
                let units = systemd::render(&job).map_err(ScheduleError::from)?;
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
                cron::line(&job, &cron::log_path(profiles.dirs(), name))
            ),
        }
        return Ok(());
    }
    let installed = schedule::install(&job, backend, profiles.dirs())?;
    profile.schedule = Some(when);
    profiles.save(&profile)?;
    match installed {
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
            if reads_keyring(&profile, &job) {
                crate::errln!(
                    "note: each run reads the secret from your OS keyring; if the keyring is locked when the timer fires (e.g. no one is logged in), the run fails with exit code 2 (within 30 s) instead of waiting. Pass --credential-file to hand it the secret as a systemd credential instead."
                );
            }
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
            if reads_keyring(&profile, &job) {
                crate::errln!(
                    "note: each run reads the secret from your OS keyring over your session bus at its default address, so only while you are logged in (or lingering: `loginctl enable-linger`) with the keyring unlocked; otherwise the run fails with exit code 2. For an unattended machine pass --credential-file DIR/{} (an owner-only file holding the secret) instead.",
                    cron::credential_name(name)
                );
            }
        }
    }
    Ok(())
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
        let (timer, state) = systemd::status(&name);
        if profile.schedule.is_none() && !timer {
            continue;
        }
        let crontab = if timer { None } else { cron::installed(&name) };
        rows.push((
            name,
            profile.schedule,
            installed_text(timer, state, crontab),
        ));
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

fn installed_text(timer: bool, state: Option<String>, crontab: Option<bool>) -> String {
    match (timer, crontab) {
        (true, _) => format!(
            "systemd timer ({})",
            state.unwrap_or_else(|| "state unknown".into())
        ),
        (false, Some(true)) => "crontab".into(),
        (false, _) => "not installed (no timer, no crontab line)".into(),
    }
}

fn remove(profiles: &ProfileStore, name: &ProfileName) -> Result<(), CommandError> {
    let mut profile = profiles.load(name)?;
    let had_timer = systemd::remove(name).map_err(ScheduleError::from)?;
    let had_schedule = profile.schedule.take().is_some();
    if had_schedule {
        profiles.save(&profile)?;
    }
    match (had_timer, had_schedule) {
        (true, _) => crate::outln!(
            "Profile {name} no longer reruns by itself: its systemd timer is disabled and deleted."
        ),
        (false, true) => crate::outln!(
            "Removed profile {name}'s schedule. If you added its crontab line, delete it with `crontab -e` (the line runs `--profile {name}`)."
        ),
        (false, false) => crate::outln!("Profile {name} has no schedule."),
    }
    Ok(())
}
