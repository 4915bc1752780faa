//! A schedule as a macOS **launchd LaunchAgent**: `~/Library/LaunchAgents/<label>.plist`
//! loaded into the user's GUI domain (`launchctl bootstrap gui/<uid>`). A LaunchAgent runs
//! in the user's login session, where the login keychain holding the profile's secret is
//! reachable (a cron job is not).
//!
//! launchd has no random delay: the run's minute is shifted once, when the agent is
//! written, by a number of minutes derived from the profile name (the same spread as
//! systemd's `RandomizedDelaySec`, fixed per profile instead of drawn per run).
//!
//! Rendering is pure and platform-neutral (tested everywhere); only loading and unloading
//! run `launchctl`.

use std::io;
use std::path::{Path, PathBuf};

use chrono::Weekday;

use super::{Job, Schedule, TimeOfDay};
use crate::profile::ProfileName;

/// The labels' reverse-DNS prefix: a job of this machine's user, of no vendor's domain.
pub const LABEL_PREFIX: &str = "local.entra-extract";

/// `local.entra-extract.<profile>`.
pub fn label(profile: &ProfileName) -> String {
    format!("{LABEL_PREFIX}.{profile}")
}

/// `~/Library/LaunchAgents`.
pub fn agent_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join("Library").join("LaunchAgents"))
}

/// `~/Library/LaunchAgents/local.entra-extract.<profile>.plist`.
pub fn plist_path(profile: &ProfileName) -> Option<PathBuf> {
    agent_dir().map(|d| d.join(format!("{}.plist", label(profile))))
}

/// Minutes the profile's runs are shifted by: 0 to 4 for hourly schedules, 0 to 14 for the
/// others (FNV-1a of the name, so stable across versions and machines).
pub fn spread_minutes(profile: &ProfileName, schedule: &Schedule) -> u32 {
    let window = match schedule.randomized_delay() {
        "5min" => 5,
        _ => 15,
    };
    let hash = profile.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % window
}

/// When launchd starts the run: the schedule's time plus the profile's spread, as the
/// `StartCalendarInterval` keys (`Weekday` 0 is Sunday) — what [`render`] writes.
pub fn calendar(job: &Job) -> Vec<(&'static str, u32)> {
    let spread = spread_minutes(&job.profile, &job.schedule);
    let shifted = |at: TimeOfDay| u32::from(at.hour()) * 60 + u32::from(at.minute()) + spread;
    match job.schedule {
        Schedule::Hourly => vec![("Minute", spread)],
        Schedule::Daily { at } => {
            let m = shifted(at) % (24 * 60);
            vec![("Hour", m / 60), ("Minute", m % 60)]
        }
        Schedule::Weekly { on, at } => {
            let m = on.num_days_from_sunday() * 24 * 60 + shifted(at);
            let m = m % (7 * 24 * 60);
            vec![
                ("Weekday", m / (24 * 60)),
                ("Hour", m / 60 % 24),
                ("Minute", m % 60),
            ]
        }
    }
}

/// The schedule a plist's `StartCalendarInterval` (as [`calendar`] writes it) fires on,
/// spread included: what `schedule list` shows as installed.
pub fn parse_schedule(plist: &str) -> Option<Schedule> {
    let start = plist.find("<key>StartCalendarInterval</key>")?;
    let dict = &plist[start..];
    let dict = &dict[..dict.find("</dict>")?];
    let value = |key: &str| -> Option<u32> {
        let at = dict.find(&format!("<key>{key}</key>"))?;
        let rest = &dict[at..];
        let open = rest.find("<integer>")? + "<integer>".len();
        let close = rest.find("</integer>")?;
        rest.get(open..close)?.trim().parse().ok()
    };
    let minute = u8::try_from(value("Minute")?).ok()?;
    let Some(hour) = value("Hour") else {
        return Some(Schedule::Hourly);
    };
    let at = TimeOfDay::new(u8::try_from(hour).ok()?, minute)?;
    Some(match value("Weekday") {
        None => Schedule::Daily { at },
        Some(d) => Schedule::Weekly {
            on: Weekday::try_from(u8::try_from((d + 6) % 7).ok()?).ok()?,
            at,
        },
    })
}

/// The agent's property list. No secret goes in: a keyring profile's run reads the login
/// keychain; a credential file's directory is handed over as `CREDENTIALS_DIRECTORY` (the
/// run reads the file there by its name, as with cron). The run's output goes to `log`.
pub fn render(job: &Job, log: &Path) -> String {
    let mut args = vec![job.exe.to_string_lossy().into_owned()];
    args.extend(job.args());
    let mut env: Vec<(String, String)> = job.environment.clone();
    if let Some(dir) = job.credential_file.as_deref().and_then(Path::parent) {
        env.push((
            "CREDENTIALS_DIRECTORY".into(),
            dir.to_string_lossy().into_owned(),
        ));
    }
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n",
    );
    let string = |out: &mut String, indent: &str, key: &str, value: &str| {
        out.push_str(&format!(
            "{indent}<key>{}</key>\n{indent}<string>{}</string>\n",
            escape(key),
            escape(value)
        ));
    };
    // No profile name or option in the comment: an XML comment cannot hold `--`.
    out.push_str(&format!(
        "\t<!-- Written by `entra-extract schedule add` (rerun {when}); `entra-extract schedule remove` removes it. -->\n",
        when = job.schedule.describe(),
    ));
    string(&mut out, "\t", "Label", &label(&job.profile));
    out.push_str("\t<key>ProgramArguments</key>\n\t<array>\n");
    for a in &args {
        out.push_str(&format!("\t\t<string>{}</string>\n", escape(a)));
    }
    out.push_str("\t</array>\n");
    if !env.is_empty() {
        out.push_str("\t<key>EnvironmentVariables</key>\n\t<dict>\n");
        for (k, v) in &env {
            string(&mut out, "\t\t", k, v);
        }
        out.push_str("\t</dict>\n");
    }
    out.push_str("\t<key>StartCalendarInterval</key>\n\t<dict>\n");
    for (key, value) in calendar(job) {
        out.push_str(&format!(
            "\t\t<key>{key}</key>\n\t\t<integer>{value}</integer>\n"
        ));
    }
    out.push_str("\t</dict>\n");
    let log = log.to_string_lossy();
    string(&mut out, "\t", "StandardOutPath", &log);
    string(&mut out, "\t", "StandardErrorPath", &log);
    // 077: every file the run creates is owner-only (as the crontab line's `umask 077`).
    out.push_str("\t<key>Umask</key>\n\t<integer>63</integer>\n");
    out.push_str("\t<key>Nice</key>\n\t<integer>10</integer>\n");
    string(&mut out, "\t", "ProcessType", "Background");
    out.push_str("</dict>\n</plist>\n");
    out
}

fn escape(text: &str) -> String {
    // Control characters other than tab and newline cannot be in an XML 1.0 document.
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Why the agent could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchdError {
    /// No home directory for `~/Library/LaunchAgents`.
    #[error("cannot find the home directory for ~/Library/LaunchAgents")]
    NoAgentDir,
    /// A path holds a character a property list cannot.
    #[error(transparent)]
    Unrepresentable(#[from] super::Unrepresentable),
    /// Writing or deleting the plist failed.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The plist.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `launchctl …` failed.
    #[error("`launchctl {args}` failed: {output}")]
    Launchctl {
        /// The arguments.
        args: String,
        /// What it printed (or why it could not start).
        output: String,
    },
}

/// `gui/<uid>`: the launchd domain of the user's login session.
pub fn domain() -> String {
    format!("gui/{}", uid())
}

// Unix: the real user id; elsewhere (a plist printed on Windows) there is no launchd.
#[cfg(unix)]
fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

// Not unix: there is no launchd to load into; the id only names the domain in messages.
#[cfg(not(unix))]
fn uid() -> u32 {
    0
}

/// Writes the plist (owner-only, atomically), unloads a previous agent of that label and
/// loads this one (`launchctl bootout`, `launchctl bootstrap gui/<uid> <plist>`).
pub fn install(job: &Job, plist: &str) -> Result<PathBuf, LaunchdError> {
    for (what, value) in std::iter::once(("the program path", job.exe.to_string_lossy()))
        .chain(
            job.environment
                .iter()
                .map(|(_, v)| ("an environment value", v.into())),
        )
        .chain(
            job.credential_file
                .iter()
                .map(|p| ("the credential file", p.to_string_lossy())),
        )
    {
        super::check_line("a launchd property list", what, &value)?;
    }
    let path = plist_path(&job.profile).ok_or(LaunchdError::NoAgentDir)?;
    // launchd loads every plist in LaunchAgents at the next login: a failed install puts
    // back what was there (or nothing), so a schedule reported as failed never runs.
    let previous = std::fs::read(&path).ok();
    crate::private_fs::write_atomic(&path, plist.as_bytes()).map_err(|source| {
        LaunchdError::File {
            action: "write",
            path: path.clone(),
            source,
        }
    })?;
    // Loaded before (an earlier `schedule add`): bootstrap refuses a label already loaded.
    let _ = launchctl(&["bootout", &format!("{}/{}", domain(), label(&job.profile))]);
    if let Err(e) = launchctl(&["bootstrap", &domain(), &path.to_string_lossy()]) {
        match previous {
            Some(old) => {
                if crate::private_fs::write_atomic(&path, &old).is_ok() {
                    let _ = launchctl(&["bootstrap", &domain(), &path.to_string_lossy()]);
                }
            }
            None => {
                let _ = crate::profile::fsutil::remove_if_exists(&path);
            }
        }
        return Err(e);
    }
    Ok(path)
}

/// Unloads the agent and deletes its plist. Returns whether the plist existed.
pub fn remove(profile: &ProfileName) -> Result<bool, LaunchdError> {
    let path = plist_path(profile).ok_or(LaunchdError::NoAgentDir)?;
    if !path.exists() {
        return Ok(false);
    }
    let target = format!("{}/{}", domain(), label(profile));
    // An agent that is not loaded cannot be booted out; one that is must not be left
    // running without its file.
    if let Err(e) = launchctl(&["bootout", &target])
        && loaded(profile)
    {
        return Err(e);
    }
    crate::profile::fsutil::remove_if_exists(&path).map_err(|source| LaunchdError::File {
        action: "delete",
        path: path.clone(),
        source,
    })?;
    Ok(true)
}

/// The schedule in the profile's plist, if the plist exists (`Some(None)` when it exists
/// but says no schedule this module writes).
pub fn installed(profile: &ProfileName) -> Option<Option<Schedule>> {
    let text = std::fs::read_to_string(plist_path(profile)?).ok()?;
    Some(parse_schedule(&text))
}

/// Whether launchd has the agent loaded (`launchctl print gui/<uid>/<label>` succeeds).
pub fn loaded(profile: &ProfileName) -> bool {
    launchctl(&["print", &format!("{}/{}", domain(), label(profile))]).is_ok()
}

fn launchctl(args: &[&str]) -> Result<(), LaunchdError> {
    super::run_tool("launchctl", args, super::lossy_utf8).map_err(|failure| {
        LaunchdError::Launchctl {
            args: args.join(" "),
            output: failure.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(schedule: &str, profile: &str) -> Job {
        Job {
            profile: ProfileName::new(profile).unwrap(),
            schedule: schedule.parse().unwrap(),
            exe: PathBuf::from("/Users/me/.cargo/bin/entra-extract"),
            environment: vec![("ENTRA_EXTRACT_DATA_DIR".into(), "/Users/me/a&b <c>".into())],
            credential_file: None,
        }
    }

    #[test]
    fn the_spread_is_fixed_per_profile_and_within_the_delay() {
        let p = ProfileName::new("contoso").unwrap();
        let hourly = spread_minutes(&p, &Schedule::Hourly);
        assert!(hourly < 5);
        assert_eq!(hourly, spread_minutes(&p, &Schedule::Hourly));
        let spreads: std::collections::BTreeSet<u32> = (0..40)
            .map(|i| {
                spread_minutes(
                    &ProfileName::new(&format!("t{i}")).unwrap(),
                    &"daily".parse().unwrap(),
                )
            })
            .collect();
        assert!(
            spreads.iter().all(|m| *m < 15) && spreads.len() > 5,
            "{spreads:?}"
        );
    }

    #[test]
    fn calendar_wraps_past_midnight_and_the_week() {
        let j = job("weekly sat 23:59", "contoso");
        let spread = spread_minutes(&j.profile, &j.schedule);
        let cal = calendar(&j);
        if spread == 0 {
            assert_eq!(cal, vec![("Weekday", 6), ("Hour", 23), ("Minute", 59)]);
        } else {
            assert_eq!(
                cal,
                vec![("Weekday", 0), ("Hour", 0), ("Minute", spread - 1)]
            );
        }
        for s in [
            "hourly",
            "daily 02:00",
            "weekly mon 06:30",
            "weekly sat 23:59",
        ] {
            let j = job(s, "contoso");
            let parsed = parse_schedule(&render(&j, Path::new("/tmp/log"))).unwrap();
            let spread = spread_minutes(&j.profile, &j.schedule);
            let back = match (j.schedule, parsed) {
                (Schedule::Hourly, Schedule::Hourly) => true,
                (Schedule::Daily { at }, Schedule::Daily { at: got }) => {
                    (u32::from(at.hour()) * 60 + u32::from(at.minute()) + spread) % 1440
                        == u32::from(got.hour()) * 60 + u32::from(got.minute())
                }
                (Schedule::Weekly { .. }, Schedule::Weekly { .. }) => true,
                _ => false,
            };
            assert!(back, "{s}: {parsed:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_before_anything_is_written() {
        let mut j = job("daily 02:00", "contoso");
        j.exe = PathBuf::from("/bin/x\n");
        let e = install(&j, "").unwrap_err().to_string();
        assert_eq!(
            e,
            "the program path \"/bin/x\\n\" cannot go into a launchd property list: it contains a control character"
        );
    }

    #[test]
    fn plist_escapes_text_and_carries_no_secret_variable() {
        let mut j = job("daily 02:00", "contoso");
        j.credential_file = Some(PathBuf::from("/etc/e/entra-extract-client-secret-contoso"));
        let plist = render(&j, Path::new("/Users/me/logs/schedule-contoso.log"));
        assert!(
            plist.contains("<string>/Users/me/a&amp;b &lt;c&gt;</string>"),
            "{plist}"
        );
        assert!(plist.contains("<key>CREDENTIALS_DIRECTORY</key>\n\t\t<string>/etc/e</string>"));
        assert!(!plist.contains("CLIENT_SECRET"));
        assert!(plist.contains("<key>Label</key>\n\t<string>local.entra-extract.contoso</string>"));
    }
}
