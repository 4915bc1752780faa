//! A schedule as a crontab line, for machines without a systemd user manager. It is printed
//! for the user to add (`crontab -e`), never edited into their crontab behind their back.

use std::path::Path;
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

/// The whole line: owner-only files (`umask 077`), the directory overrides, the credential
/// file's directory as `CREDENTIALS_DIRECTORY` (the run reads the secret from there, as
/// under systemd), the program with its arguments, output appended to `log`. cron runs it
/// with `/bin/sh`; every word is single-quoted and `%` (a newline to cron) escaped.
///
/// Nothing of the scheduling login goes in: its `DBUS_SESSION_BUS_ADDRESS` dies with it. A
/// keyring profile's run finds the session bus at its default address
/// (`$XDG_RUNTIME_DIR/bus`, else `/run/user/<uid>/bus`) while a session of the user lives.
pub fn line(job: &Job, log: &Path) -> String {
    let mut words = vec!["umask 077;".to_string()];
    for (key, value) in &job.environment {
        words.push(format!("{key}={}", sh_quote(value)));
    }
    if let Some(dir) = job.credential_file.as_deref().and_then(Path::parent) {
        words.push(format!(
            "CREDENTIALS_DIRECTORY={}",
            sh_quote(&dir.to_string_lossy())
        ));
    }
    words.push(sh_quote(&job.exe.to_string_lossy()));
    words.extend(job.args().iter().map(|a| sh_quote(a)));
    words.push(format!(">> {} 2>&1", sh_quote(&log.to_string_lossy())));
    format!("{} {}", fields(&job.schedule), words.join(" ")).replace('%', "\\%")
}

/// The name a run looks for in `CREDENTIALS_DIRECTORY` for `profile` (the profile-specific
/// one of the two it accepts): what a crontab line's credential file must be called.
pub fn credential_name(profile: &ProfileName) -> String {
    format!("{}-{profile}", crate::secret::SYSTEMD_CREDENTIAL)
}

/// Whether a run of `profile` given `file`'s directory as `CREDENTIALS_DIRECTORY` reads
/// `file`: it is named as [`crate::secret::SecretInputs::systemd_credential`] looks for.
pub fn finds_credential(file: &Path, profile: &ProfileName) -> bool {
    let Some(dir) = file.parent() else {
        return false;
    };
    let inputs = crate::secret::SecretInputs {
        env_secret: None,
        credentials_directory: Some(dir.to_path_buf()),
    };
    inputs.systemd_credential(Some(profile)).as_deref() == Some(file)
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
