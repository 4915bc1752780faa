//! A schedule as a crontab line, for machines without a systemd user manager. It is printed
//! for the user to add (`crontab -e`), never edited into their crontab behind their back.

use std::process::Command;

use super::{Job, Schedule};
use crate::profile::ProfileName;

/// The minute-hour-day-month-weekday fields of a schedule.
pub fn fields(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Hourly => "0 * * * *".into(),
        Schedule::Daily { at } => format!("{} {} * * *", at.minute(), at.hour()),
        Schedule::Weekly { on, at } => format!(
            "{} {} * * {}",
            at.minute(),
            at.hour(),
            on.num_days_from_sunday()
        ),
    }
}

/// The whole line: owner-only files (`umask 077`), the directory overrides, the program
/// with its arguments, output appended to `log`. cron runs it with `/bin/sh`; every word is
/// single-quoted and `%` (a newline to cron) escaped.
pub fn line(job: &Job, log: &std::path::Path) -> String {
    let mut words = vec!["umask 077;".to_string()];
    for (key, value) in &job.environment {
        words.push(format!("{key}={}", sh_quote(value)));
    }
    // A keyring profile needs the session bus that the Secret Service listens on.
    if let Ok(bus) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        words.push(format!("DBUS_SESSION_BUS_ADDRESS={}", sh_quote(&bus)));
    }
    words.push(sh_quote(&job.exe.to_string_lossy()));
    words.extend(job.args().iter().map(|a| sh_quote(a)));
    words.push(format!(">> {} 2>&1", sh_quote(&log.to_string_lossy())));
    format!("{} {}", fields(&job.schedule), words.join(" ")).replace('%', "\\%")
}

/// Where a crontab line appends the run's output: `<data>/logs/schedule-<profile>.log`.
pub fn log_path(dirs: &crate::profile::Dirs, profile: &ProfileName) -> std::path::PathBuf {
    dirs.data
        .join("logs")
        .join(format!("schedule-{profile}.log"))
}

fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Whether the user's crontab (`crontab -l`) holds a line running this profile.
pub fn installed(profile: &ProfileName) -> Option<bool> {
    let out = Command::new("crontab")
        .arg("-l")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let needle = format!("'--profile' '{profile}'");
    Some(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| !l.trim_start().starts_with('#') && l.contains(&needle)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn fields_match_the_schedule() {
        for (schedule, want) in [
            ("hourly", "0 * * * *"),
            ("daily 02:30", "30 2 * * *"),
            ("weekly sun 23:05", "5 23 * * 0"),
            ("weekly mon 06:00", "0 6 * * 1"),
        ] {
            assert_eq!(fields(&schedule.parse().unwrap()), want);
        }
    }

    #[test]
    fn line_quotes_words_and_escapes_percent() {
        let job = Job {
            profile: ProfileName::new("contoso").unwrap(),
            schedule: "daily 02:00".parse().unwrap(),
            exe: PathBuf::from("/home/o'neil/bin/entra-extract"),
            environment: vec![("ENTRA_EXTRACT_DATA_DIR".into(), "/srv/100%".into())],
            credential_file: None,
        };
        let line = line(&job, std::path::Path::new("/srv/log"));
        assert!(line.starts_with("0 2 * * * umask 077; ENTRA_EXTRACT_DATA_DIR='/srv/100\\%' "));
        assert!(line.contains(
            "'/home/o'\\''neil/bin/entra-extract' 'run' '--profile' 'contoso' '--quiet' >> '/srv/log' 2>&1"
        ));
    }
}
