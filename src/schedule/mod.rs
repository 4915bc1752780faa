//! Schedules: when a saved profile reruns by itself (the connector's "collection frequency"),
//! and the ways to install one: a systemd user timer, or a crontab line where systemd is
//! absent (Linux and other Unix systems); a Task Scheduler task (Windows); a launchd
//! LaunchAgent (macOS). One [`Schedule`] and one [`Job`]; each backend renders them.

pub mod cron;
pub mod launchd;
pub mod systemd;
pub mod taskscheduler;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::Weekday;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::profile::ProfileName;

/// What a scheduled run executes: `<exe> run --profile <name> --quiet`, with the
/// directory overrides of the process that installed it, so the timer's run sees the same
/// profiles and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The profile to rerun.
    pub profile: ProfileName,
    /// When.
    pub schedule: Schedule,
    /// Absolute path of the entra-extract binary.
    pub exe: PathBuf,
    /// `ENTRA_EXTRACT_*` variables to pass on (directory and keyring overrides; never a
    /// secret).
    pub environment: Vec<(String, String)>,
    /// The owner-only file holding the client secret: systemd hands it to the run as a
    /// credential, a crontab line points `CREDENTIALS_DIRECTORY` at its directory.
    pub credential_file: Option<PathBuf>,
}

/// The variables a scheduled run inherits from the process that scheduled it: where the
/// profiles, state and keyring are. The secret variable is deliberately not among them.
pub const INHERITED_ENV: [&str; 3] = [
    crate::profile::dirs::CONFIG_DIR_ENV,
    crate::profile::dirs::DATA_DIR_ENV,
    crate::secret::keyring::STORE_ENV,
];

impl Job {
    /// The job for `profile`, run by this very binary, with [`INHERITED_ENV`] as now set.
    pub fn for_current_exe(
        profile: ProfileName,
        schedule: Schedule,
        credential_file: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let environment = INHERITED_ENV
            .iter()
            .filter_map(|k| {
                let v = std::env::var(k).ok().filter(|v| !v.is_empty())?;
                // A relative directory would be relative to wherever the timer starts.
                let v = if *k == crate::secret::keyring::STORE_ENV {
                    v
                } else {
                    std::path::absolute(&v)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or(v)
                };
                Some((k.to_string(), v))
            })
            .collect();
        Ok(Job {
            profile,
            schedule,
            exe,
            environment,
            credential_file,
        })
    }

    /// The arguments after the binary.
    pub fn args(&self) -> [String; 4] {
        [
            "run".into(),
            "--profile".into(),
            self.profile.to_string(),
            "--quiet".into(),
        ]
    }
}

/// Where a schedule goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A systemd user timer (installed and enabled).
    Systemd,
    /// A crontab line (printed for the user to add).
    Cron,
    /// A Windows Task Scheduler task of the current user (registered with schtasks).
    TaskScheduler,
    /// A macOS launchd LaunchAgent (written and loaded with launchctl).
    Launchd,
}

impl Backend {
    /// The scheduler this platform installs into: the Task Scheduler on Windows, launchd on
    /// macOS, systemd elsewhere (whose absence [`Backend::detect`] turns into cron).
    pub fn native() -> Self {
        if cfg!(windows) {
            Backend::TaskScheduler
        } else if cfg!(target_os = "macos") {
            Backend::Launchd
        } else {
            Backend::Systemd
        }
    }

    /// [`Backend::native`], with cron where systemd is native but no user manager answers.
    pub fn detect() -> Self {
        match Backend::native() {
            Backend::Systemd if !systemd::user_manager_available() => Backend::Cron,
            native => native,
        }
    }

    /// What the profile's installed schedule is called, for people: "systemd timer
    /// entra-extract-x.timer", "scheduled task entra-extract\x", "launchd agent …".
    pub fn installed_name(self, profile: &ProfileName) -> String {
        match self {
            Backend::Systemd | Backend::Cron => {
                format!("systemd timer {}", systemd::timer_name(profile))
            }
            Backend::TaskScheduler => {
                format!("scheduled task {}", taskscheduler::task_name(profile))
            }
            Backend::Launchd => format!("launchd agent {}", launchd::label(profile)),
        }
    }
}

/// Why a profile cannot be scheduled as asked.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The profile's secret comes from each run's environment, which a timer does not have.
    #[error(
        "profile {profile} has no stored secret ({storage}), and a timer's run has no environment to take it from; \
         pass --credential-file PATH (an owner-only file holding the secret, handed to the run as a systemd credential), \
         or store the secret in the OS keyring (`entra-extract profile set-secret {profile}` after switching the profile's secret_storage to \"keyring\")"
    )]
    NeedsCredentialFile {
        /// The profile.
        profile: ProfileName,
        /// Its storage, for people.
        storage: &'static str,
    },
    /// A profile without a stored secret, scheduled with cron and no credential file.
    #[error(
        "profile {profile} has no stored secret, and {job} has no environment to take it from; \
         pass --credential-file {dir}/{name} (an owner-only file holding the secret; the run reads it as a credential), \
         or store the secret in the OS keyring (`entra-extract profile set-secret {profile}`)",
        dir = "DIR",
        name = cron::credential_name(profile)
    )]
    CronNeedsStoredSecret {
        /// The profile.
        profile: ProfileName,
        /// "a cron job", "a launchd agent".
        job: &'static str,
    },
    /// The Task Scheduler reruns only profiles whose secret is stored.
    #[error(
        "profile {profile} has no stored secret, and a scheduled task has no environment to take it from (nor a credential file: --credential-file is for systemd, cron and launchd); \
         store the secret in the Windows Credential Manager (`entra-extract profile set-secret {profile}` after switching the profile's secret_storage to \"keyring\")"
    )]
    TaskNeedsStoredSecret {
        /// The profile.
        profile: ProfileName,
    },
    /// `--credential-file` with the Task Scheduler.
    #[error(
        "a scheduled task cannot be handed a credential file; store profile {profile}'s secret in the Windows Credential Manager (`entra-extract profile set-secret {profile}`) and add the schedule without --credential-file"
    )]
    TaskCredentialFile {
        /// The profile.
        profile: ProfileName,
    },
    /// cron has no `LoadCredential=`: the run finds the file in `CREDENTIALS_DIRECTORY` by
    /// its name, which this one does not have.
    #[error(
        "a crontab line hands the run the directory of the credential file, where the run looks for {want}; \
         rename {} to {want} (or put it in a directory of its own under that name) and add the schedule again",
        .path.display(),
        want = cron::credential_name(profile)
    )]
    CronCredentialName {
        /// The profile.
        profile: ProfileName,
        /// The file as given.
        path: PathBuf,
    },
    /// The keyring this process uses is not one a later run can read.
    #[error(
        "profile {profile}'s secret would be read from the keyring store {store:?} (ENTRA_EXTRACT_KEYRING_STORE), which a scheduled run cannot read; pass --credential-file PATH, or unset ENTRA_EXTRACT_KEYRING_STORE to use the OS keyring"
    )]
    KeyringNotShared {
        /// The profile.
        profile: ProfileName,
        /// The store choice.
        store: String,
    },
    /// A certificate profile is not supported by headless runs yet.
    #[error("profile {0} authenticates with a certificate, which headless runs do not support yet")]
    Certificate(ProfileName),
    /// The credential file is missing or readable by others.
    #[error(transparent)]
    CredentialFile(#[from] crate::secret::SecretError),
    /// The program's own path is unknown.
    #[error("cannot find the path of this program: {0}")]
    Exe(std::io::Error),
    /// A path or value cannot be written into a unit, a task or its wrapper script.
    #[error(transparent)]
    Unrepresentable(#[from] Unrepresentable),
    /// Installing or removing the units failed.
    #[error(transparent)]
    Systemd(#[from] systemd::SystemdError),
    /// Registering or deleting the task failed.
    #[error(transparent)]
    Task(#[from] taskscheduler::TaskError),
    /// Writing, loading or removing the LaunchAgent failed.
    #[error(transparent)]
    Launchd(#[from] launchd::LaunchdError),
}

impl ScheduleError {
    /// Whether this is the user's input to fix (exit code 2), not a failure of the system.
    pub fn is_config_error(&self) -> bool {
        !matches!(
            self,
            ScheduleError::Exe(_)
                | ScheduleError::Systemd(_)
                | ScheduleError::Task(_)
                | ScheduleError::Launchd(
                    launchd::LaunchdError::NoAgentDir
                        | launchd::LaunchdError::File { .. }
                        | launchd::LaunchdError::Launchctl { .. }
                )
        )
    }
}

/// The job that reruns `profile` with this binary, after checking that such a run can
/// find the secret: a stored one (keyring, plaintext opt-in) or `credential_file` (made
/// absolute and checked owner-only; for cron, named as the run looks for it).
pub fn job_for(
    profile: &crate::profile::Profile,
    schedule: Schedule,
    credential_file: Option<PathBuf>,
    backend: Backend,
) -> Result<Job, ScheduleError> {
    use crate::profile::{CredentialKind, SecretStorage};
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(ScheduleError::Certificate(profile.name.clone()));
    }
    let stored = profile.secret_storage.is_stored();
    let credential_file = match (backend, credential_file) {
        (Backend::TaskScheduler, Some(_)) => {
            return Err(ScheduleError::TaskCredentialFile {
                profile: profile.name.clone(),
            });
        }
        (Backend::TaskScheduler, None) if !stored => {
            return Err(ScheduleError::TaskNeedsStoredSecret {
                profile: profile.name.clone(),
            });
        }
        (Backend::Cron | Backend::Launchd, Some(path)) => {
            let path = checked_credential_file(&path)?;
            if !cron::finds_credential(&path, &profile.name) {
                return Err(ScheduleError::CronCredentialName {
                    profile: profile.name.clone(),
                    path,
                });
            }
            Some(path)
        }
        (Backend::Cron | Backend::Launchd, None) if !stored => {
            return Err(ScheduleError::CronNeedsStoredSecret {
                profile: profile.name.clone(),
                job: if backend == Backend::Cron {
                    "a cron job"
                } else {
                    "a launchd agent"
                },
            });
        }
        (Backend::Systemd, None) if !stored => {
            return Err(ScheduleError::NeedsCredentialFile {
                profile: profile.name.clone(),
                storage: match profile.secret_storage {
                    SecretStorage::Environment => "it takes ENTRA_EXTRACT_CLIENT_SECRET",
                    _ => "it takes a systemd credential",
                },
            });
        }
        (_, None) => {
            if let Some(store) =
                per_process_keyring().filter(|_| profile.secret_storage == SecretStorage::Keyring)
            {
                return Err(ScheduleError::KeyringNotShared {
                    profile: profile.name.clone(),
                    store,
                });
            }
            None
        }
        (Backend::Systemd, Some(path)) => Some(checked_credential_file(&path)?),
    };
    Job::for_current_exe(profile.name.clone(), schedule, credential_file)
        .map_err(ScheduleError::Exe)
}

/// A path or value that cannot go into what a scheduler reads (a unit file, a task or its
/// wrapper script, a property list), and why.
#[derive(Debug, thiserror::Error)]
#[error("{what} {value:?} cannot go into {into}: {why}")]
pub struct Unrepresentable {
    /// "a systemd unit", "a Task Scheduler task", "a launchd property list".
    into: &'static str,
    /// "the program path", "an environment value", …
    what: &'static str,
    /// The value refused.
    value: String,
    /// "it contains a control character", …
    why: &'static str,
}

impl Unrepresentable {
    /// `what` (`value`) cannot go into `into` because of `why`.
    fn new(into: &'static str, what: &'static str, value: &str, why: &'static str) -> Self {
        Unrepresentable {
            into,
            what,
            value: value.to_string(),
            why,
        }
    }
}

/// Why a path cannot be text on this platform: its bytes are not UTF-8 (Unix), or its
/// UTF-16 units are not valid UTF-16 (Windows).
#[cfg(windows)] // Windows paths are UTF-16 units.
const NOT_UNICODE: &str = "it is not valid UTF-16 text";
/// Why a path cannot be text on this platform: its bytes are not UTF-8 (Unix), or its
/// UTF-16 units are not valid UTF-16 (Windows).
#[cfg(not(windows))] // Unix paths are bytes.
const NOT_UNICODE: &str = "it is not valid UTF-8";

/// `path` as text that can go into `into` ([`Unrepresentable`]): Unicode, with no control
/// character ([`check_line`]).
fn path_text<'a>(
    into: &'static str,
    what: &'static str,
    path: &'a std::path::Path,
) -> Result<&'a str, Unrepresentable> {
    let s = path.to_str().ok_or_else(|| {
        Unrepresentable::new(into, what, &path.display().to_string(), NOT_UNICODE)
    })?;
    check_line(into, what, s)?;
    Ok(s)
}

/// Refuses a value with a control character (a line break would start a new line, i.e. a
/// new directive, in a unit file or a batch script).
fn check_line(into: &'static str, what: &'static str, s: &str) -> Result<(), Unrepresentable> {
    if s.chars().any(char::is_control) {
        return Err(Unrepresentable::new(
            into,
            what,
            s,
            "it contains a control character",
        ));
    }
    Ok(())
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The service and timer unit files written, the timer enabled and started.
    Timer([PathBuf; 2]),
    /// The crontab line for the user to add (cron is never edited behind their back).
    CrontabLine(String),
    /// The Task Scheduler task registered, with the wrapper script it runs, if any.
    Task {
        /// `entra-extract\<profile>`.
        name: String,
        /// The script setting the directory overrides, when there are any.
        wrapper: Option<PathBuf>,
    },
    /// The LaunchAgent's plist written and loaded.
    Agent(PathBuf),
}

/// Installs `job` the `backend`'s way. The caller records the schedule in the profile.
pub fn install(
    job: &Job,
    backend: Backend,
    dirs: &crate::profile::Dirs,
) -> Result<Installed, ScheduleError> {
    Ok(match backend {
        Backend::Systemd => Installed::Timer(systemd::install(job, &systemd::render(job)?)?),
        Backend::Cron => Installed::CrontabLine(cron::line(job, &log_path(dirs, &job.profile))),
        Backend::TaskScheduler => Installed::Task {
            name: taskscheduler::task_name(&job.profile),
            wrapper: taskscheduler::install(job, dirs, chrono::Local::now().date_naive())?,
        },
        Backend::Launchd => Installed::Agent(launchd::install(
            job,
            &launchd::render(job, &log_path(dirs, &job.profile)),
        )?),
    })
}

/// Where a crontab line or a LaunchAgent sends the run's output:
/// `<data>/logs/schedule-<profile>.log`.
pub fn log_path(dirs: &crate::profile::Dirs, profile: &ProfileName) -> PathBuf {
    dirs.data
        .join("logs")
        .join(format!("schedule-{profile}.log"))
}

/// What this platform's scheduler holds for a profile (cron is not asked: its lines are
/// the user's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A systemd timer unit file exists, with what `systemctl --user is-active` says.
    Timer(Option<String>),
    /// The Task Scheduler's answer.
    Task(taskscheduler::Registered),
    /// A LaunchAgent plist exists, with the schedule it fires on and whether it is loaded.
    Agent {
        /// Its `StartCalendarInterval`, spread included.
        fires: Option<Schedule>,
        /// `launchctl print` knows it.
        loaded: bool,
    },
    /// Nothing installed.
    None,
}

impl Status {
    /// Whether something is known to be installed (a task schtasks could not tell of does
    /// not count: Wine's schtasks cannot query any).
    pub fn installed(&self) -> bool {
        matches!(
            self,
            Status::Timer(_)
                | Status::Task(taskscheduler::Registered::Yes(_))
                | Status::Agent { .. }
        )
    }
}

/// The profile's schedule as this platform's scheduler has it.
pub fn status(dirs: &crate::profile::Dirs, profile: &ProfileName) -> Status {
    match Backend::native() {
        Backend::Systemd | Backend::Cron => match systemd::status(profile) {
            (true, state) => Status::Timer(state),
            (false, _) => Status::None,
        },
        // Only a task this program registered (its definition is kept): schtasks is slow,
        // and Wine's can hang while its Task Scheduler service starts.
        Backend::TaskScheduler if !taskscheduler::definition_path(dirs, profile).exists() => {
            Status::None
        }
        Backend::TaskScheduler => Status::Task(taskscheduler::status(profile)),
        Backend::Launchd => match launchd::installed(profile) {
            Some(fires) => Status::Agent {
                fires,
                loaded: launchd::loaded(profile),
            },
            None => Status::None,
        },
    }
}

/// Removes the profile's timer, task or agent from this platform's scheduler. Returns
/// whether there was one.
pub fn remove(dirs: &crate::profile::Dirs, profile: &ProfileName) -> Result<bool, ScheduleError> {
    Ok(match Backend::native() {
        Backend::Systemd | Backend::Cron => systemd::remove(profile)?,
        Backend::TaskScheduler => taskscheduler::remove(dirs, profile)?,
        Backend::Launchd => launchd::remove(profile)?,
    })
}

/// Why `old` cannot be renamed to `new` while scheduled: its timer runs it by name.
pub fn rename_blocker(
    store: &crate::profile::ProfileStore,
    old: &ProfileName,
    new: &ProfileName,
) -> Option<String> {
    let scheduled = store.load(old).is_ok_and(|p| p.schedule.is_some())
        || status(store.dirs(), old).installed();
    scheduled.then(|| {
        format!(
            "profile {old} has a schedule, whose timer runs it by name; remove it first (`entra-extract schedule remove --profile {old}`), rename, then add it again for {new}"
        )
    })
}

/// Why a scheduler's tool failed: it did not start, or it ran and said no.
#[derive(Debug)]
pub enum ToolFailure {
    /// It could not be started (missing, not executable): it said nothing, so nothing it
    /// printed may be read as an answer.
    DidNotStart(std::io::Error),
    /// It ran and failed: what it printed (stderr, else stdout), else its exit status.
    Said(String),
}

impl std::fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolFailure::DidNotStart(e) => write!(f, "it did not start: {e}"),
            ToolFailure::Said(output) => f.write_str(output),
        }
    }
}

/// Runs `program` with `args` and no input.
fn run_tool(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    decode: fn(&[u8]) -> String,
) -> Result<(), ToolFailure> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(ToolFailure::DidNotStart)?;
    if out.status.success() {
        return Ok(());
    }
    Err(ToolFailure::Said(tool_output(&out, decode)))
}

/// What a tool that failed printed, for people: stderr, else stdout (through `decode`),
/// else its exit status.
fn tool_output(out: &std::process::Output, decode: fn(&[u8]) -> String) -> String {
    let mut text = decode(&out.stderr).trim().to_string();
    if text.is_empty() {
        text = decode(&out.stdout).trim().to_string();
    }
    if text.is_empty() {
        text = format!("exit status {}", out.status);
    }
    text
}

fn lossy_utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The keyring choice of this process (`ENTRA_EXTRACT_KEYRING_STORE`) when a scheduled
/// run could never read the secret from it: `memory` and `none` hold nothing across
/// processes, `keyutils` is per login session (and emptied at reboot).
fn per_process_keyring() -> Option<String> {
    let v = std::env::var(crate::secret::keyring::STORE_ENV).ok()?;
    let v = v.trim().to_ascii_lowercase();
    matches!(v.as_str(), "memory" | "none" | "keyutils").then_some(v)
}

fn checked_credential_file(path: &std::path::Path) -> Result<PathBuf, crate::secret::SecretError> {
    // Canonical: systemd ignores a LoadCredential= source path with `..` in it.
    let absolute =
        std::fs::canonicalize(path).map_err(|source| crate::secret::SecretError::File {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
    if !absolute.is_file() {
        return Err(crate::secret::SecretError::File {
            action: "read",
            path: absolute,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    crate::secret::plaintext::check_owner_only(&absolute)?;
    Ok(absolute)
}

/// How often a profile reruns. Written as `hourly`, `daily 02:00` or `weekly mon 02:00`
/// (the profile file, the CLI and the wizard share this one syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// At the start of every hour.
    Hourly,
    /// Every day at a local time.
    Daily {
        /// Local time of day.
        at: TimeOfDay,
    },
    /// Once a week, on a day at a local time.
    Weekly {
        /// Day of the week.
        on: Weekday,
        /// Local time of day.
        at: TimeOfDay,
    },
}

/// A local time of day, minute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    hour: u8,
    minute: u8,
}

/// The time a daily or weekly schedule uses when none is given: quiet hours.
pub const DEFAULT_TIME: TimeOfDay = TimeOfDay { hour: 2, minute: 0 };

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a schedule: {reason}; write `hourly`, `daily 02:00` or `weekly mon 02:00` (24-hour local time)"
)]
pub struct InvalidSchedule {
    input: String,
    reason: String,
}

impl InvalidSchedule {
    /// What is wrong, without the input and the syntax (the wizard shows those itself).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl TimeOfDay {
    /// Hour (0–23) and minute (0–59).
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(TimeOfDay { hour, minute })
    }

    /// Hour of the day, 0–23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// Minute of the hour, 0–59.
    pub fn minute(self) -> u8 {
        self.minute
    }

    fn parse(text: &str) -> Option<Self> {
        let (h, m) = text.split_once(':')?;
        let digits = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || m.len() != 2 || !digits(m) {
            return None;
        }
        TimeOfDay::new(h.parse().ok()?, m.parse().ok()?)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Schedule {
    /// For people: "hourly", "daily at 02:00", "weekly on Monday at 02:00".
    pub fn describe(&self) -> String {
        match self {
            Schedule::Hourly => "hourly".into(),
            Schedule::Daily { at } => format!("daily at {at}"),
            Schedule::Weekly { on, at } => format!("weekly on {} at {at}", day_name(*on)),
        }
    }

    /// How far systemd may shift each run at random, so a fleet of timers does not hit
    /// Graph (and the tenant's shared resource-unit budget) in the same second.
    pub fn randomized_delay(&self) -> &'static str {
        match self {
            Schedule::Hourly => "5min",
            _ => "15min",
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Hourly => f.write_str("hourly"),
            Schedule::Daily { at } => write!(f, "daily {at}"),
            Schedule::Weekly { on, at } => {
                write!(f, "weekly {} {at}", day_name(*on)[..3].to_lowercase())
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = InvalidSchedule;

    /// Accepts the canonical form and the spoken one: `daily at 2:30`, `weekly on Friday at 18:00`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let refuse = |reason: &str| InvalidSchedule {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let lower = input.to_lowercase();
        let words: Vec<&str> = lower
            .split_whitespace()
            .filter(|w| !matches!(*w, "at" | "on" | "every"))
            .collect();
        let time = |w: Option<&&str>| match w {
            None => Ok(DEFAULT_TIME),
            Some(w) => TimeOfDay::parse(w)
                .ok_or_else(|| refuse(&format!("{w:?} is not a time between 00:00 and 23:59"))),
        };
        match words.as_slice() {
            [] => Err(refuse("it is empty")),
            ["hourly"] => Ok(Schedule::Hourly),
            ["daily", rest @ ..] if rest.len() <= 1 => Ok(Schedule::Daily {
                at: time(rest.first())?,
            }),
            ["weekly", day, rest @ ..] if rest.len() <= 1 => Ok(Schedule::Weekly {
                on: day
                    .parse::<Weekday>()
                    .map_err(|_| refuse(&format!("{day:?} is not a day of the week")))?,
                at: time(rest.first())?,
            }),
            ["weekly"] => Err(refuse("a weekly schedule needs a day, e.g. `weekly mon`")),
            [first, ..] if matches!(*first, "hourly" | "daily" | "weekly") => {
                Err(refuse("there are words too many"))
            }
            [first, ..] => Err(refuse(&format!(
                "it starts with {first:?}, not hourly, daily or weekly"
            ))),
        }
    }
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u8, m: u8) -> TimeOfDay {
        TimeOfDay::new(h, m).unwrap()
    }

    #[test]
    fn canonical_and_spoken_forms_parse_to_the_same_schedule() {
        for (text, want) in [
            ("hourly", Schedule::Hourly),
            ("daily", Schedule::Daily { at: DEFAULT_TIME }),
            ("daily 02:00", Schedule::Daily { at: at(2, 0) }),
            ("Daily at 7:05", Schedule::Daily { at: at(7, 5) }),
            (
                "weekly mon 06:30",
                Schedule::Weekly {
                    on: Weekday::Mon,
                    at: at(6, 30),
                },
            ),
            (
                "weekly on Friday at 18:00",
                Schedule::Weekly {
                    on: Weekday::Fri,
                    at: at(18, 0),
                },
            ),
        ] {
            assert_eq!(text.parse::<Schedule>(), Ok(want), "{text}");
            // Display is canonical and parses back.
            assert_eq!(want.to_string().parse::<Schedule>(), Ok(want));
        }
        assert_eq!(
            Schedule::Weekly {
                on: Weekday::Sun,
                at: at(23, 59)
            }
            .to_string(),
            "weekly sun 23:59"
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (text, reason) in [
            ("", "it is empty"),
            ("daily 24:00", "\"24:00\" is not a time"),
            ("daily 2:5", "\"2:5\" is not a time"),
            ("weekly", "needs a day"),
            ("weekly someday", "\"someday\" is not a day"),
            ("daily 02:00 03:00", "words too many"),
            ("monthly", "not hourly, daily or weekly"),
        ] {
            let e = text.parse::<Schedule>().unwrap_err().to_string();
            assert!(
                e.contains(reason) && e.contains("daily 02:00"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn descriptions_read_as_sentences() {
        assert_eq!(
            "weekly tue 09:15".parse::<Schedule>().unwrap().describe(),
            "weekly on Tuesday at 09:15"
        );
        assert_eq!(
            "daily".parse::<Schedule>().unwrap().describe(),
            "daily at 02:00"
        );
    }
}
