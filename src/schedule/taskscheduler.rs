//! A schedule as a Windows **Task Scheduler** task of the current user, registered with
//! `schtasks /Create /XML` from a task definition (Task Scheduler schema 1.3): a calendar
//! trigger with a random delay, missed runs started when the machine is next available
//! (`StartWhenAvailable`), never two runs at once (`MultipleInstancesPolicy IgnoreNew`) and
//! an execution time limit.
//!
//! The task runs as the user who added it with `LogonType` `InteractiveToken`: only while
//! that user is logged on, in their session, where the Windows Credential Manager entry of
//! the profile is readable. `Password` would need the user's password stored with the
//! task; `S4U` runs without the user's credentials ("no access to the network or encrypted
//! files", Microsoft's logonType documentation), so it reads no Credential Manager entry.
//!
//! Rendering is pure and platform-neutral (tested everywhere); only registering runs
//! `schtasks.exe`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, Weekday};

use super::{Job, Schedule, TimeOfDay, Unrepresentable};
use crate::profile::ProfileName;

/// The task's namespace URI (Task Scheduler schema).
pub const TASK_NAMESPACE: &str = "http://schemas.microsoft.com/windows/2004/02/mit/task";

/// The Task Scheduler folder every task goes in.
pub const FOLDER: &str = "entra-extract";

/// How long one scheduled run may take before the Task Scheduler ends it (as systemd's
/// `TimeoutStartSec=4h`).
pub const EXECUTION_TIME_LIMIT: &str = "PT4H";

/// `entra-extract\<profile>`: the name `schtasks /TN` takes.
pub fn task_name(profile: &ProfileName) -> String {
    format!("{FOLDER}\\{profile}")
}

/// What the task starts: the program itself, or, when the run needs directory overrides
/// (a task has no environment of its own), `cmd.exe` with a wrapper script setting them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `<Command>`.
    pub command: String,
    /// `<Arguments>`.
    pub arguments: String,
    /// The wrapper script to write next to the task, with its content, if any.
    pub wrapper: Option<(PathBuf, String)>,
}

/// What [`Unrepresentable`] says a refused value cannot go into.
const INTO: &str = "a Task Scheduler task";

/// Where the registered definition of `profile`'s task is kept (UTF-16, as registered):
/// `<data>\schedule\<profile>.task.xml`. Its presence says this program registered a task.
pub fn definition_path(dirs: &crate::profile::Dirs, profile: &ProfileName) -> PathBuf {
    dirs.data
        .join("schedule")
        .join(format!("{profile}.task.xml"))
}

/// Where the wrapper script of `profile` goes: `<data>\schedule\<profile>.cmd`.
pub fn wrapper_path(dirs: &crate::profile::Dirs, profile: &ProfileName) -> PathBuf {
    dirs.data.join("schedule").join(format!("{profile}.cmd"))
}

/// The task's action. Without overrides the task starts the program directly; with them,
/// `%SystemRoot%\System32\cmd.exe /d /v:off /c ""<wrapper>""`, the wrapper setting each
/// variable and starting the program (`system_root` is `%SystemRoot%`).
pub fn action(job: &Job, wrapper: &Path, system_root: &str) -> Result<Action, Unrepresentable> {
    let exe = super::path_text(INTO, "the program path", &job.exe)?;
    let args = job.args().join(" ");
    // The Task Scheduler expands `%NAME%` in a task's command and arguments, with no
    // escape for a literal `%`: a path holding one cannot be named there.
    let no_percent = |what: &'static str, s: &str| match s.contains('%') {
        true => Err(Unrepresentable::new(
            INTO,
            what,
            s,
            "it contains a %, which the Task Scheduler would expand as a variable",
        )),
        false => Ok(()),
    };
    if job.environment.is_empty() {
        no_percent("the program path", exe)?;
        return Ok(Action {
            command: exe.to_string(),
            arguments: args,
            wrapper: None,
        });
    }
    let wrapper_text = super::path_text(INTO, "the wrapper script path", wrapper)?;
    no_percent("the wrapper script path", wrapper_text)?;
    // Batch files read `%` as a variable: doubled, it is a literal one. Inside `set "…"`
    // and a quoted word the other special characters (& | < > ^) are literal; `"` cannot
    // be in a Windows path, and delayed expansion (`!`) is off (`/v:off`, `setlocal`).
    let batch = |what: &'static str, s: &str| -> Result<String, Unrepresentable> {
        if s.contains('"') {
            return Err(Unrepresentable::new(
                INTO,
                what,
                s,
                "it contains a double quote",
            ));
        }
        Ok(s.replace('%', "%%"))
    };
    let mut script = format!(
        "@echo off\r\n\
         rem Written by `entra-extract schedule add`; `entra-extract schedule remove --profile {p}` removes it.\r\n\
         rem The task runs this script because a task cannot set environment variables.\r\n\
         setlocal DisableDelayedExpansion\r\n\
         rem The lines below are UTF-8.\r\n\
         chcp 65001 >nul\r\n",
        p = job.profile
    );
    for (key, value) in &job.environment {
        super::check_line(INTO, "an environment value", value)?;
        script.push_str(&format!(
            "set \"{key}={}\"\r\n",
            batch("an environment value", value)?
        ));
    }
    script.push_str(&format!(
        "\"{}\" {args}\r\nexit /b %ERRORLEVEL%\r\n",
        batch("the program path", exe)?
    ));
    let system_root = system_root.trim_end_matches('\\');
    Ok(Action {
        command: format!("{system_root}\\System32\\cmd.exe"),
        arguments: format!("/d /v:off /c \"\"{wrapper_text}\"\""),
        wrapper: Some((wrapper.to_path_buf(), script)),
    })
}

/// The task definition (without the `<?xml …?>` declaration: [`utf16_file`] and
/// [`utf8_document`] add the one that matches their encoding). `start` is the first day
/// the trigger fires (the day the task is added).
pub fn render(job: &Job, action: &Action, start: NaiveDate) -> String {
    let p = &job.profile;
    let (at, repetition, schedule_by) = match job.schedule {
        Schedule::Hourly => (
            TimeOfDay::new(0, 0).expect("00:00 is a time of day"),
            "      <Repetition>\n        <Interval>PT1H</Interval>\n        <Duration>P1D</Duration>\n        <StopAtDurationEnd>false</StopAtDurationEnd>\n      </Repetition>\n",
            "      <ScheduleByDay>\n        <DaysInterval>1</DaysInterval>\n      </ScheduleByDay>\n".to_string(),
        ),
        Schedule::Daily { at } => (
            at,
            "",
            "      <ScheduleByDay>\n        <DaysInterval>1</DaysInterval>\n      </ScheduleByDay>\n".to_string(),
        ),
        Schedule::Weekly { on, at } => (
            at,
            "",
            format!(
                "      <ScheduleByWeek>\n        <DaysOfWeek>\n          <{}/>\n        </DaysOfWeek>\n        <WeeksInterval>1</WeeksInterval>\n      </ScheduleByWeek>\n",
                super::day_name(on)
            ),
        ),
    };
    let delay = match job.schedule.randomized_delay() {
        "5min" => "PT5M",
        _ => "PT15M",
    };
    format!(
        "<Task version=\"1.3\" xmlns=\"{TASK_NAMESPACE}\">\n\
         \x20 <RegistrationInfo>\n\
         \x20   <Author>entra-extract</Author>\n\
         \x20   <Description>{description}</Description>\n\
         \x20   <URI>\\{uri}</URI>\n\
         \x20 </RegistrationInfo>\n\
         \x20 <Triggers>\n\
         \x20   <CalendarTrigger>\n\
         \x20     <Enabled>true</Enabled>\n\
         \x20     <StartBoundary>{start}T{hour:02}:{minute:02}:00</StartBoundary>\n\
         {repetition}\
         \x20     <RandomDelay>{delay}</RandomDelay>\n\
         {schedule_by}\
         \x20   </CalendarTrigger>\n\
         \x20 </Triggers>\n\
         \x20 <Principals>\n\
         \x20   <Principal id=\"Author\">\n\
         \x20     <LogonType>InteractiveToken</LogonType>\n\
         \x20     <RunLevel>LeastPrivilege</RunLevel>\n\
         \x20   </Principal>\n\
         \x20 </Principals>\n\
         \x20 <Settings>\n\
         \x20   <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n\
         \x20   <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n\
         \x20   <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n\
         \x20   <StartWhenAvailable>true</StartWhenAvailable>\n\
         \x20   <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n\
         \x20   <AllowStartOnDemand>true</AllowStartOnDemand>\n\
         \x20   <Enabled>true</Enabled>\n\
         \x20   <Hidden>false</Hidden>\n\
         \x20   <ExecutionTimeLimit>{EXECUTION_TIME_LIMIT}</ExecutionTimeLimit>\n\
         \x20   <Priority>7</Priority>\n\
         \x20 </Settings>\n\
         \x20 <Actions Context=\"Author\">\n\
         \x20   <Exec>\n\
         \x20     <Command>{command}</Command>\n\
         \x20     <Arguments>{arguments}</Arguments>\n\
         \x20   </Exec>\n\
         \x20 </Actions>\n\
         </Task>\n",
        description = escape(&format!(
            "entra-extract: rerun profile {p} {}. Written by `entra-extract schedule add`; `entra-extract schedule remove --profile {p}` removes it.",
            job.schedule.describe()
        )),
        uri = escape(&task_name(p)),
        hour = at.hour(),
        minute = at.minute(),
        command = escape(&action.command),
        arguments = escape(&action.arguments),
    )
}

/// The file `schtasks /Create /XML` reads: UTF-16 little-endian with a byte-order mark and
/// a declaration saying so.
pub fn utf16_file(task: &str) -> Vec<u8> {
    let text = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n{task}");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// The task as UTF-8 text with its declaration (`schedule add --print`).
pub fn utf8_document(task: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{task}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The schedule a registered task definition (as `schtasks /Query /XML` prints it) runs
/// on, when it is one this module writes: a calendar trigger by day (hourly when it
/// repeats every hour) or by week on one day.
pub fn parse_schedule(task_xml: &str) -> Option<Schedule> {
    let trigger = element(task_xml, "CalendarTrigger")?;
    let start = element(trigger, "StartBoundary")?;
    let (_, time) = start.split_once('T')?;
    let mut hm = time.split(':');
    let at = TimeOfDay::new(hm.next()?.parse().ok()?, hm.next()?.parse().ok()?)?;
    if let Some(week) = element(trigger, "ScheduleByWeek") {
        let days = element(week, "DaysOfWeek")?;
        let on = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .find(|d| days.contains(&format!("<{}", super::day_name(*d))))?;
        return Some(Schedule::Weekly { on, at });
    }
    element(trigger, "ScheduleByDay")?;
    let hourly = element(trigger, "Repetition")
        .and_then(|r| element(r, "Interval"))
        .is_some_and(|i| i.trim() == "PT1H");
    Some(if hourly {
        Schedule::Hourly
    } else {
        Schedule::Daily { at }
    })
}

/// The text inside the first `<name>…</name>` (or `<name …>…</name>`) of `xml`.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let mut from = 0;
    loop {
        let at = from + xml[from..].find(&open)?;
        let rest = &xml[at + open.len()..];
        // `<Name>` or `<Name attr…>`, not `<NameLonger>`.
        if rest.starts_with('>') || rest.starts_with(char::is_whitespace) {
            let body_start = at + open.len() + rest.find('>')? + 1;
            let end = body_start + xml[body_start..].find(&format!("</{name}>"))?;
            return Some(&xml[body_start..end]);
        }
        from = at + open.len();
    }
}

/// Why the task could not be registered, read or deleted.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Writing the definition file or the wrapper failed.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `schtasks …` could not be started: it said nothing about the task.
    #[error("`schtasks {args}` did not start: {source}")]
    DidNotStart {
        /// The arguments.
        args: String,
        /// The cause.
        source: io::Error,
    },
    /// `schtasks …` ran and failed.
    #[error("`schtasks {args}` failed: {output}")]
    Schtasks {
        /// The arguments.
        args: String,
        /// What it printed, else its exit status.
        output: String,
    },
    /// `schtasks /Delete` failed for another reason than the task being gone: the task may
    /// still run, so it stays marked as this program's.
    #[error(
        "the scheduled task {task} was not deleted: `schtasks /Delete /TN \"{task}\" /F` failed: {output}; \
         it may still run, so profile {profile} keeps its schedule (`entra-extract schedule list` shows it). \
         Delete the task by hand, in Task Scheduler (taskschd.msc: Task Scheduler Library > {FOLDER} > {profile}) \
         or with `schtasks /Delete /TN \"{task}\" /F` (from an administrator's prompt if access is denied; \
         the Task Scheduler service must be running), then run `entra-extract schedule remove --profile {profile}` again",
        task = task_name(profile)
    )]
    NotDeleted {
        /// The profile.
        profile: ProfileName,
        /// What schtasks printed, else its exit status.
        output: String,
    },
}

/// `%SystemRoot%` (`C:\Windows` when unset).
pub fn system_root() -> String {
    std::env::var("SystemRoot")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "C:\\Windows".into())
}

/// `%SystemRoot%\System32\schtasks.exe` when it exists (never one a `PATH` entry or the
/// current directory could put first), else `schtasks`.
fn schtasks_program() -> PathBuf {
    if let Some(fake) = test_schtasks() {
        return fake;
    }
    let path = PathBuf::from(format!("{}\\System32\\schtasks.exe", system_root()));
    if path.is_file() {
        path
    } else {
        PathBuf::from("schtasks")
    }
}

/// The variable naming a stand-in for schtasks in the tests (a `.cmd` script answering as
/// schtasks does when access is denied or a task is missing). Read by debug builds only.
pub const TEST_SCHTASKS_ENV: &str = "ENTRA_EXTRACT_TEST_SCHTASKS";

// Debug builds only (the test suite's): a release binary always runs the system's schtasks.
#[cfg(debug_assertions)]
fn test_schtasks() -> Option<PathBuf> {
    std::env::var_os(TEST_SCHTASKS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

// Release builds: no stand-in, whatever the environment says.
#[cfg(not(debug_assertions))]
fn test_schtasks() -> Option<PathBuf> {
    None
}

/// Registers `job` as the task [`task_name`] (replacing one of that name): writes the
/// wrapper script if the job needs one, the definition as an owner-only UTF-16 file
/// ([`definition_path`], kept: it marks the task as this program's) and runs
/// `schtasks /Create /TN … /XML … /F`. Returns the wrapper written, if any.
pub fn install(
    job: &Job,
    dirs: &crate::profile::Dirs,
    start: NaiveDate,
) -> Result<Option<PathBuf>, super::ScheduleError> {
    let wrapper = wrapper_path(dirs, &job.profile);
    let action = action(job, &wrapper, &system_root())?;
    let file_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| TaskError::File {
            action,
            path,
            source,
        }
    };
    if let Some((path, script)) = &action.wrapper {
        crate::private_fs::write_atomic(path, script.as_bytes())
            .map_err(file_error("write", path))?;
    }
    // The new definition goes beside the kept one until schtasks has taken it: a failed
    // /Create leaves a task registered before still marked as this program's (so `list`
    // and `remove` still find it), with the wrapper it runs.
    let definition = definition_path(dirs, &job.profile);
    let pending = definition.with_extension("xml.new");
    let bytes = utf16_file(&render(job, &action, start));
    crate::private_fs::write_atomic(&pending, &bytes).map_err(file_error("write", &pending))?;
    let pending_arg = pending.to_string_lossy().into_owned();
    let name = task_name(&job.profile);
    if let Err(e) = schtasks(&["/Create", "/TN", &name, "/XML", &pending_arg, "/F"]) {
        let _ = crate::profile::fsutil::remove_if_exists(&pending);
        return Err(e.into());
    }
    crate::private_fs::replace(&pending, &definition).map_err(file_error("keep", &definition))?;
    if action.wrapper.is_none() {
        crate::profile::fsutil::remove_if_exists(&wrapper)
            .map_err(file_error("delete", &wrapper))?;
    }
    Ok(action.wrapper.map(|(path, _)| path))
}

/// What `schtasks /Query /XML /TN <task>` says of a profile's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The task exists; its schedule when its definition is one this module writes.
    Yes(Option<Schedule>),
    /// schtasks says there is no such task ([`is_missing_task`]).
    No,
    /// schtasks answered nothing usable: it failed for another reason (access denied, the
    /// Task Scheduler service not running), did not start, or printed no definition (Wine's
    /// schtasks does not implement `/Query`). Why, for people.
    Unknown(String),
}

/// Reads the profile's task back with `schtasks /Query /XML /TN entra-extract\<profile>`.
pub fn status(profile: &ProfileName) -> Registered {
    let name = task_name(profile);
    let out = match Command::new(schtasks_program())
        .args(["/Query", "/XML", "/TN", &name])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) => return Registered::Unknown(format!("schtasks did not start: {e}")),
    };
    if !out.status.success() {
        let said = super::tool_output(&out, decode);
        if is_missing_task(&said) {
            return Registered::No;
        }
        return Registered::Unknown(format!("`schtasks /Query /TN {name}` failed: {said}"));
    }
    let text = decode(&out.stdout);
    if !text.contains("<Task") {
        return Registered::Unknown(
            "`schtasks /Query` printed no task definition (Wine's schtasks does not implement /Query)"
                .into(),
        );
    }
    Registered::Yes(parse_schedule(&text))
}

/// Whether what a failed schtasks printed says the task (or its folder) does not exist.
///
/// schtasks exits with 1 for every failure and prints `ERROR: ` (localized) and the system's
/// message for the HRESULT the Task Scheduler returned: for a missing task
/// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)` (0x80070002, "The system cannot find the file
/// specified."), for a missing folder `ERROR_PATH_NOT_FOUND` (0x80070003, "…the path
/// specified."). The message is in the user's language, so it is compared with the text
/// this system gives for those two codes ([`not_found_messages`]), besides the English
/// text and the codes themselves. Anything else (access denied, the service not running,
/// no output at all) is not taken as "missing".
pub fn is_missing_task(output: &str) -> bool {
    let output = output.to_lowercase();
    let mut known = vec![
        "0x80070002".to_string(),
        "0x80070003".to_string(),
        "the system cannot find the file specified".to_string(),
        "the system cannot find the path specified".to_string(),
    ];
    known.extend(not_found_messages());
    known.iter().any(|m| {
        let m = m.trim().trim_end_matches('.').trim().to_lowercase();
        !m.is_empty() && output.contains(&m)
    })
}

/// The system's own messages for `ERROR_FILE_NOT_FOUND` and `ERROR_PATH_NOT_FOUND`, in the
/// user's language (`FormatMessageW`): what schtasks prints after `ERROR: ` when a task or
/// its folder does not exist.
#[cfg(windows)] // FormatMessageW is a Windows API.
pub fn not_found_messages() -> Vec<String> {
    use windows_sys::Win32::System::Diagnostics::Debug::{
        FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, FormatMessageW,
    };
    [2u32, 3]
        .into_iter()
        .filter_map(|code| {
            let mut buf = [0u16; 512];
            // SAFETY: the buffer and its length in UTF-16 units are valid; no inserts are read.
            let len = unsafe {
                FormatMessageW(
                    FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                    std::ptr::null(),
                    code,
                    0,
                    buf.as_mut_ptr(),
                    buf.len() as u32,
                    std::ptr::null(),
                )
            } as usize;
            (len > 0).then(|| String::from_utf16_lossy(&buf[..len.min(buf.len())]))
        })
        .collect()
}

/// Not Windows: no schtasks, and no system messages to compare with.
#[cfg(not(windows))] // FormatMessageW is a Windows API.
pub fn not_found_messages() -> Vec<String> {
    Vec::new()
}

/// schtasks' output: UTF-16 when it starts with a byte-order mark or is mostly zero bytes
/// in odd places; else UTF-8 when it is valid UTF-8 (ASCII included); else text in the
/// console's code page, which is what schtasks writes to a pipe in a language with
/// non-ASCII letters ("spécifié" in code page 850 is no UTF-8).
fn decode(bytes: &[u8]) -> String {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || (bytes.len() >= 4 && bytes.len().is_multiple_of(2) && bytes[1] == 0 && bytes[3] == 0);
    if utf16 {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units)
            .trim_start_matches('\u{feff}')
            .to_string();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => console_code_page_text(bytes),
    }
}

/// `bytes` in the console's output code page, else the system's OEM code page (a process
/// without a console), as `MultiByteToWideChar` reads them.
#[cfg(windows)] // Code pages are a Windows notion here.
fn console_code_page_text(bytes: &[u8]) -> String {
    use windows_sys::Win32::Globalization::{GetOEMCP, MultiByteToWideChar};
    use windows_sys::Win32::System::Console::GetConsoleOutputCP;
    let Ok(len) = i32::try_from(bytes.len()) else {
        return String::from_utf8_lossy(bytes).into_owned();
    };
    // SAFETY: both take no arguments and only read process state.
    let code_page = match unsafe { GetConsoleOutputCP() } {
        0 => unsafe { GetOEMCP() },
        cp => cp,
    };
    // Each byte is at most one UTF-16 unit in a single-byte code page, and a multi-byte
    // code page makes fewer units than bytes.
    let mut wide = vec![0u16; bytes.len()];
    // SAFETY: the input pointer and length describe `bytes`; the output buffer holds
    // `wide.len()` units, the length passed.
    let written =
        unsafe { MultiByteToWideChar(code_page, 0, bytes.as_ptr(), len, wide.as_mut_ptr(), len) };
    match usize::try_from(written) {
        Ok(n) if n > 0 => String::from_utf16_lossy(&wide[..n.min(wide.len())]),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Not Windows: no schtasks; the bytes as UTF-8, lossily.
#[cfg(not(windows))] // Code pages are a Windows notion here.
fn console_code_page_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Deletes the profile's task (`schtasks /Delete /TN … /F`), then its wrapper script and
/// kept definition. Returns whether a task or wrapper existed.
///
/// The files mark the task as this program's (`schedule list`, `profile remove`), so they
/// go only once the task is known to be gone: deleted now, or schtasks says there is no
/// such task ([`is_missing_task`]). Any other failure (access denied, the Task Scheduler
/// service not running) keeps them and says how to delete the task by hand.
pub fn remove(
    dirs: &crate::profile::Dirs,
    profile: &ProfileName,
) -> Result<bool, super::ScheduleError> {
    let definition = definition_path(dirs, profile);
    let wrapper = wrapper_path(dirs, profile);
    if !definition.exists() && !wrapper.exists() {
        // Not registered by this program: schtasks is not asked (it is slow, and Wine's can
        // hang while its Task Scheduler service starts).
        return Ok(false);
    }
    let name = task_name(profile);
    let had_task = match status(profile) {
        Registered::No => false,
        // Unknown too: only a successful /Delete, or schtasks saying there is no such task,
        // shows it is gone (Wine's schtasks answers no /Query).
        Registered::Yes(_) | Registered::Unknown(_) => {
            match schtasks(&["/Delete", "/TN", &name, "/F"]) {
                Ok(()) => true,
                Err(TaskError::Schtasks { output, .. }) if is_missing_task(&output) => false,
                Err(TaskError::Schtasks { output, .. }) => {
                    return Err(TaskError::NotDeleted {
                        profile: profile.clone(),
                        output,
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut had_file = false;
    for path in [wrapper, definition] {
        had_file |=
            crate::profile::fsutil::remove_if_exists(&path).map_err(|source| TaskError::File {
                action: "delete",
                path,
                source,
            })?;
    }
    Ok(had_task || had_file)
}

fn schtasks(args: &[&str]) -> Result<(), TaskError> {
    super::run_tool(schtasks_program(), args, decode).map_err(|failure| match failure {
        super::ToolFailure::DidNotStart(source) => TaskError::DidNotStart {
            args: args.join(" "),
            source,
        },
        super::ToolFailure::Said(output) => TaskError::Schtasks {
            args: args.join(" "),
            output,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn job(schedule: &str, environment: &[(&str, &str)]) -> Job {
        Job {
            profile: ProfileName::new("contoso").unwrap(),
            schedule: schedule.parse().unwrap(),
            exe: PathBuf::from(r"C:\Program Files\entra-extract\entra-extract.exe"),
            environment: environment
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            credential_file: None,
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn without_overrides_the_task_starts_the_program() {
        let j = job("daily 02:30", &[]);
        let a = action(&j, Path::new(r"C:\d\schedule\contoso.cmd"), r"C:\Windows").unwrap();
        assert_eq!(
            a.command,
            r"C:\Program Files\entra-extract\entra-extract.exe"
        );
        assert_eq!(a.arguments, "run --profile contoso --quiet");
        assert_eq!(a.wrapper, None);
        insta::assert_snapshot!("task_daily", render(&j, &a, day()));
    }

    #[test]
    fn overrides_go_through_a_wrapper_script_with_percent_doubled() {
        let j = job(
            "weekly fri 18:05",
            &[("ENTRA_EXTRACT_DATA_DIR", r"D:\100% & <data>")],
        );
        let a = action(
            &j,
            Path::new(r"C:\d 1\schedule\contoso.cmd"),
            r"C:\Windows\",
        )
        .unwrap();
        assert_eq!(a.command, r"C:\Windows\System32\cmd.exe");
        assert_eq!(
            a.arguments,
            r#"/d /v:off /c ""C:\d 1\schedule\contoso.cmd"""#
        );
        let (path, script) = a.wrapper.clone().unwrap();
        assert_eq!(path, PathBuf::from(r"C:\d 1\schedule\contoso.cmd"));
        assert!(
            script.contains("set \"ENTRA_EXTRACT_DATA_DIR=D:\\100%% & <data>\"\r\n"),
            "{script}"
        );
        assert!(script.contains(
            "\"C:\\Program Files\\entra-extract\\entra-extract.exe\" run --profile contoso --quiet\r\n"
        ));
        let xml = render(&j, &a, day());
        assert!(xml.contains("<Arguments>/d /v:off /c &quot;&quot;C:\\d 1\\schedule\\contoso.cmd&quot;&quot;</Arguments>"), "{xml}");
        insta::assert_snapshot!("task_weekly_wrapper", xml);
    }

    /// The Task Scheduler expands `%NAME%` in a task's command and arguments: a path with a
    /// `%` there is refused, not silently changed (inside the wrapper it is doubled).
    #[test]
    fn a_percent_in_the_tasks_command_or_arguments_is_refused() {
        let mut j = job("daily 02:00", &[]);
        j.exe = PathBuf::from(r"C:\100%\entra-extract.exe");
        let e = action(&j, Path::new(r"C:\w.cmd"), r"C:\Windows").unwrap_err();
        assert!(e.to_string().contains("the program path"), "{e}");
        let j = job("daily 02:00", &[("ENTRA_EXTRACT_DATA_DIR", r"D:\100%")]);
        let e = action(
            &j,
            Path::new(r"D:\100%\schedule\contoso.cmd"),
            r"C:\Windows",
        )
        .unwrap_err();
        assert!(e.to_string().contains("the wrapper script path"), "{e}");
    }

    #[test]
    fn hourly_repeats_every_hour_with_a_shorter_delay() {
        let j = job("hourly", &[]);
        let a = action(&j, Path::new(r"C:\w.cmd"), r"C:\Windows").unwrap();
        let xml = render(&j, &a, day());
        assert!(xml.contains("<StartBoundary>2026-12-07T00:00:00</StartBoundary>"));
        assert!(xml.contains("<Interval>PT1H</Interval>"));
        assert!(xml.contains("<RandomDelay>PT5M</RandomDelay>"));
    }

    #[test]
    fn what_is_rendered_parses_back_to_its_schedule() {
        for s in [
            "hourly",
            "daily 02:30",
            "weekly sun 23:59",
            "weekly mon 00:00",
        ] {
            let j = job(s, &[]);
            let a = action(&j, Path::new(r"C:\w.cmd"), r"C:\Windows").unwrap();
            let xml = utf8_document(&render(&j, &a, day()));
            assert_eq!(parse_schedule(&xml), Some(j.schedule), "{s}");
        }
        assert_eq!(parse_schedule("<Task><Triggers/></Task>"), None);
    }

    #[test]
    fn utf16_file_has_a_bom_and_says_utf16() {
        let bytes = utf16_file("<Task/>\n");
        assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'<', 0]);
        assert!(decode(&bytes).starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"));
        assert_eq!(decode(b"plain"), "plain");
    }

    /// Only "no such task" (or folder) lets `schedule remove` forget a task; every other
    /// failure keeps it marked as this program's.
    #[test]
    fn a_missing_task_is_told_from_other_failures() {
        for missing in [
            "ERROR: The system cannot find the file specified.\r\n",
            "ERROR: The system cannot find the path specified.",
            "FEHLER: 0x80070002",
        ] {
            assert!(is_missing_task(missing), "{missing}");
        }
        for other in [
            "ERROR: Access is denied.",
            "ERROR: The Task Scheduler service is not available.",
            "exit status: 1",
            "",
        ] {
            assert!(!is_missing_task(other), "{other}");
        }
    }

    #[test]
    fn output_is_read_as_utf16_utf8_or_the_console_code_page() {
        let utf16: Vec<u8> = "\u{feff}ERROR: spécifié"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&utf16), "ERROR: spécifié");
        assert_eq!(decode("ERREUR : spécifié".as_bytes()), "ERREUR : spécifié");
        // "spécifié" as French Windows' schtasks writes it to a pipe: code page 850 (or 437,
        // Wine's default), where 0x82 is "é"; no UTF-8.
        let oem = b"ERREUR : Le fichier sp\x82cifi\x82 est introuvable.";
        if cfg!(windows) {
            assert_eq!(decode(oem), "ERREUR : Le fichier spécifié est introuvable.");
        } else {
            assert_eq!(
                decode(oem),
                "ERREUR : Le fichier sp\u{fffd}cifi\u{fffd} est introuvable."
            );
        }
    }

    #[test]
    fn control_characters_and_quotes_are_refused() {
        let mut j = job("hourly", &[("ENTRA_EXTRACT_CONFIG_DIR", "C:\\a\"b")]);
        let e = action(&j, Path::new(r"C:\w.cmd"), r"C:\Windows").unwrap_err();
        assert!(e.to_string().contains("double quote"), "{e}");
        j.environment.clear();
        j.exe = PathBuf::from("C:\\x\r\n.exe");
        let e = action(&j, Path::new(r"C:\w.cmd"), r"C:\Windows").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the program path \"C:\\\\x\\r\\n.exe\" cannot go into a Task Scheduler task: it contains a control character"
        );
    }
}
