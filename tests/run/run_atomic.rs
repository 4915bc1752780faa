//! Atomic output: a previous extraction in the output directory stays byte-identical when a
//! run fails (retries exhausted) or is interrupted (SIGINT, SIGTERM, SIGHUP; on Windows
//! Ctrl-Break, a closed console, logoff and shutdown), and no temporary file is left.
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

#[cfg(unix)]
use common::fifo::Fifo;
use common::{
    Sim, TestEnv, assert_exit, assert_private_and_clean, json_stdout, seed_previous, snapshot,
};
#[cfg(unix)]
use entra_extract::extract::hold::Interruption;
use entra_sim::{DemoAppKind, SimConfig};

#[test]
fn failed_run_leaves_previous_files_untouched() {
    // Every user listing answers 503 with Retry-After 0: retries are exhausted at once.
    let sim = Sim::start(common::no_throttle(SimConfig {
        faults: vec!["503=0@always;path=/users".parse().unwrap()],
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let previous = seed_previous(&out, &sim.domain());
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    assert_exit(&o, 5);
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "failed");
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("503"), "{error}");
    assert!(error.contains("no output file was changed"), "{error}");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
}

/// Starts a slow `run` into `out` and returns once it is writing its temporary files.
/// The run starts with the signals' default actions whatever this test inherited: under
/// `nohup` (a CI job started so) SIGHUP would stay ignored, as the program promises.
fn start_writing(sim: &Sim, env: &TestEnv, out: &Path) -> std::process::Child {
    #[allow(unused_mut, reason = "changed on Unix only")]
    let mut command = sim.std_command(env, "run", DemoAppKind::Full);
    #[cfg(unix)] // signal dispositions are Unix's
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only signal(2), which is async-signal-safe, runs.
        unsafe {
            command.pre_exec(|| {
                for signal in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
    }
    start_writing_with(command, out)
}

/// [`start_writing`] with `command` (`run` and how to connect).
fn start_writing_with(mut command: std::process::Command, out: &Path) -> std::process::Child {
    let mut child = command
        .arg("-o")
        .arg(out)
        .args(["--workers", "1", "-q", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writing(out) {
        assert!(Instant::now() < deadline, "the run never started writing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn writing(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn sigint_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-INT");
}

#[cfg(unix)]
#[test]
fn sigterm_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-TERM");
}

/// A closed terminal (or SSH session) hangs up on the run: it stops as on Ctrl-C instead of
/// dying with its temporary files left behind.
#[cfg(unix)]
#[test]
fn sighup_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-HUP");
}

/// `nohup entra-extract run …` survives the hang-up it asked to survive: a signal ignored
/// when the program started stays ignored.
#[cfg(unix)]
#[test]
fn a_run_started_with_sighup_ignored_completes_despite_a_hang_up() {
    use std::os::unix::process::CommandExt;
    let sim = common::slow_sim(150);
    let env = TestEnv::new();
    let out = env.out("out");
    let mut command = sim.std_command(&env, "run", DemoAppKind::Full);
    // SAFETY: between fork and exec only signal(2), which is async-signal-safe, runs.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = start_writing_with(command, &out);
    kill("-HUP", &child);
    let o = child.wait_with_output().expect("wait");
    assert_exit(&o, 0);
    assert_eq!(json_stdout(&o)["outcome"], "success");
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));
    assert_private_and_clean(&out);
}

/// Interrupts a slow run once it is writing, with `kill SIGNAL`.
#[cfg(unix)]
fn interrupted_by(signal: &str) {
    interrupted(|child| kill(signal, child));
}

/// Interrupts a slow run once it is writing, with `stop`, and checks that it ended as an
/// interrupted run does: exit 130, "interrupted" on stderr and in the report, the previous
/// extraction byte-identical, no temporary file. Returns how long the run took to end after
/// `stop`.
fn interrupted(stop: impl FnOnce(&std::process::Child)) -> Duration {
    // 150 ms per response: with one worker the run takes seconds.
    let sim = common::slow_sim(150);
    let env = TestEnv::new();
    let out = env.out("out");
    let previous = seed_previous(&out, &sim.domain());
    let child = start_writing(&sim, &env, &out);
    let stopped = Instant::now();
    stop(&child);
    let o = child.wait_with_output().expect("wait");
    let ending = stopped.elapsed();
    assert_exit(&o, 130);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
    ending
}

/// Ctrl-Break in the console ends a run as SIGTERM does on Unix.
#[cfg(windows)] // console control events are Windows'
#[test]
fn ctrl_break_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted(|child| console_event(child, ConsoleEvent::Break));
}

/// Closing the console window ends a run as SIGTERM does on Unix, and soon enough: Windows
/// ends the process [`ConsoleEvent::Close::deadline`] after the event, cleaned up or not.
#[cfg(windows)] // console control events are Windows'
#[test]
fn console_close_mid_run_exits_130_in_time_and_leaves_previous_files_untouched() {
    interrupted_in_time(ConsoleEvent::Close);
}

/// Logging off ends a run as SIGTERM does on Unix, within Windows' deadline.
#[cfg(windows)] // console control events are Windows'
#[test]
fn logoff_mid_run_exits_130_in_time_and_leaves_previous_files_untouched() {
    interrupted_in_time(ConsoleEvent::Logoff);
}

/// Shutting Windows down ends a run as SIGTERM does on Unix, within Windows' deadline.
#[cfg(windows)] // console control events are Windows'
#[test]
fn shutdown_mid_run_exits_130_in_time_and_leaves_previous_files_untouched() {
    interrupted_in_time(ConsoleEvent::Shutdown);
}

/// Logoff and shutdown as Windows announces them to entra-extract: it loads user32.dll, so
/// Windows sends its console handler no `CTRL_LOGOFF_EVENT` or `CTRL_SHUTDOWN_EVENT` but asks
/// its top-level windows, `WM_QUERYENDSESSION` then `WM_ENDSESSION`, and ends it about five
/// seconds later. The run stops as on SIGTERM, in time, and does not object to the logoff.
#[cfg(windows)] // sessions ending are Windows'
#[test]
fn session_end_mid_run_exits_130_in_time_and_leaves_previous_files_untouched() {
    let ending = interrupted(end_session);
    eprintln!("the run ended {ending:?} after WM_ENDSESSION");
    let deadline = ConsoleEvent::Logoff.deadline().unwrap();
    assert!(
        ending < deadline / 2,
        "the run took {ending:?} to end after WM_ENDSESSION; Windows ends it after {deadline:?}"
    );
}

/// Sends `child`'s hidden session window what Windows sends at logoff: `WM_QUERYENDSESSION`
/// (which must not object) and then, without waiting for it, `WM_ENDSESSION`.
#[cfg(windows)] // sessions ending are Windows'
fn end_session(child: &std::process::Child) {
    use entra_extract::signals::session_end::WINDOW_CLASS;
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        ENDSESSION_LOGOFF, FindWindowExW, GetWindowThreadProcessId, SMTO_ABORTIFHUNG,
        SendMessageTimeoutW, SendNotifyMessageW, WM_ENDSESSION, WM_QUERYENDSESSION,
    };
    let class: Vec<u16> = WINDOW_CLASS.encode_utf16().chain([0]).collect();
    // SAFETY: `class` is NUL-terminated UTF-16; the window handles come from FindWindowExW
    // and a message to a window that has gone meanwhile fails without harm.
    unsafe {
        let mut window = std::ptr::null_mut();
        loop {
            window = FindWindowExW(
                std::ptr::null_mut(),
                window,
                class.as_ptr(),
                std::ptr::null(),
            );
            assert!(!window.is_null(), "the run has no {WINDOW_CLASS} window");
            let mut pid = 0;
            GetWindowThreadProcessId(window, &mut pid);
            if pid == child.id() {
                break;
            }
        }
        let mut answer = 0;
        let sent = SendMessageTimeoutW(
            window,
            WM_QUERYENDSESSION,
            0,
            ENDSESSION_LOGOFF as isize,
            SMTO_ABORTIFHUNG,
            5000,
            &mut answer,
        );
        assert!(
            sent != 0 && answer == 1,
            "WM_QUERYENDSESSION: sent {sent}, answer {answer}"
        );
        assert!(
            SendNotifyMessageW(window, WM_ENDSESSION, 1, ENDSESSION_LOGOFF as isize) != 0,
            "WM_ENDSESSION: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// [`interrupted`] by `event`, ending well before Windows would end the process.
#[cfg(windows)] // console control events are Windows'
fn interrupted_in_time(event: ConsoleEvent) {
    let ending = interrupted(|child| console_event(child, event));
    eprintln!("the run ended {ending:?} after {event:?}");
    let deadline = event
        .deadline()
        .expect("an event Windows ends the process after");
    // Half the deadline: a loaded machine must not turn a clean stop into a killed one.
    assert!(
        ending < deadline / 2,
        "the run took {ending:?} to end after {event:?}; Windows ends it after {deadline:?}"
    );
}

#[test]
fn output_dir_is_created_private_when_missing() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("a/b/out");
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    assert_exit(&o, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "output dir mode {mode:o}");
    }
    assert_private_and_clean(&out);
}

#[test]
fn second_run_into_the_same_directory_is_refused_while_the_first_writes() {
    // 300 ms per response: the first run writes for about two seconds, the second reaches
    // the lock well within that.
    let sim = common::slow_sim(300);
    let env = TestEnv::new();
    let out = env.out("out");
    let first = start_writing(&sim, &env, &out);
    let second = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_exit(&first, 0);
    assert_ne!(
        second.status.code(),
        Some(0),
        "both runs wrote the same directory"
    );
    let report = json_stdout(&second);
    eprintln!("{report}");
    assert!(
        report["error"].as_str().unwrap().contains("another"),
        "{report}"
    );
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));
    assert_private_and_clean(&out);
}

/// Waits until `child` reads the file `fifo` replaced (then it waits there); kills it if it
/// never does.
#[cfg(unix)]
fn reached(fifo: &Fifo, child: &mut std::process::Child, what: &str) -> std::fs::File {
    fifo.wait_read().unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the run never reached {what}");
    })
}

/// The lines of `child`'s stderr as they come, and all of it once it ends.
#[cfg(unix)]
struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    all: std::thread::JoinHandle<String>,
}

#[cfg(unix)]
impl StderrLines {
    fn of(child: &mut std::process::Child) -> StderrLines {
        let (line_tx, lines) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let all = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufRead::lines(std::io::BufReader::new(err)) {
                let line = line.unwrap_or_default();
                let _ = line_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        StderrLines { lines, all }
    }

    /// Waits (up to a minute) for the next line containing `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("stderr never said {text:?}"),
            }
        }
    }

    fn all(self) -> String {
        self.all.join().unwrap()
    }
}

/// Sends `signal` (`-INT`, `-TERM`, `-HUP`) to `child`.
#[cfg(unix)]
fn kill(signal: &str, child: &std::process::Child) {
    let signal = match signal {
        "-INT" => libc::SIGINT,
        "-TERM" => libc::SIGTERM,
        "-HUP" => libc::SIGHUP,
        other => panic!("no such signal here: {other}"),
    };
    // Sent from this process: no kill(1) to start.
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a child's pid and a valid signal number has no memory effects.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Tenant `small` and profile `contoso` writing into `out`, after one complete run.
#[cfg(unix)]
fn a_profile_after_one_run() -> (Sim, TestEnv, std::path::PathBuf) {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    common::create_profile(&sim, &env, "contoso", &out, &[]);
    common::run_profile_ok(&sim, &env, "contoso");
    (sim, env, out)
}

/// Starts `run --profile contoso --json -q --full`, its stdout and stderr piped.
#[cfg(unix)]
fn spawn_full_rerun(sim: &Sim, env: &TestEnv) -> std::process::Child {
    common::run_profile_command(sim, env, "contoso")
        .arg("--full")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A Ctrl-C sent after every Graph read is done, before the files replace the previous
/// ones, is honoured: exit 130, the previous files untouched, and stderr says only that.
///
/// The moment is made deterministic with a FIFO: a profile's `--full` rerun compares its
/// new files with the previous run's snapshot (in the data directory) after the last Graph
/// request and before the commit, so a snapshot file that is a FIFO holds it there until
/// the test writes the snapshot's bytes into it.
#[cfg(unix)]
#[test]
fn an_interrupt_after_the_reads_and_before_the_commit_changes_no_file() {
    let (sim, env, out) = a_profile_after_one_run();
    let previous = snapshot(&out);
    let fifo = Fifo::replace(&env.data_dir().join("state/contoso/snapshot_users.csv"));

    let mut child = spawn_full_rerun(&sim, &env);
    let writer = reached(
        &fifo,
        &mut child,
        "the comparison with the previous snapshot",
    );
    let requests = sim.stats()["graphRequests"].as_u64().unwrap();
    let stderr = StderrLines::of(&mut child);
    kill("-INT", &child);
    // The run goes on to its commit only once the signal was handled.
    stderr.wait_for("interrupted");
    fifo.release(writer);

    let o = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert_eq!(
        sim.stats()["graphRequests"].as_u64().unwrap(),
        requests,
        "every Graph read was done before the interrupt"
    );
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(Interruption::Stopping.describe())
            && !stderr.contains(Interruption::Committing.describe()),
        "{stderr}"
    );
    assert_eq!(json_stdout(&o)["outcome"], "interrupted");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
}

/// A Ctrl-C after the commit point is told the run completes, and so is every further one
/// (none is swallowed); the run then ends at once, without the advisory request for its
/// secret's expiry, and keeps its files.
///
/// The moment is made deterministic with a FIFO: the run records itself in the profile's
/// history after its files are committed, so a history file that is a FIFO holds it there.
#[cfg(unix)]
#[test]
fn interrupts_after_the_commit_point_are_each_told_the_run_completes() {
    let (sim, env, out) = a_profile_after_one_run();
    let fifo = Fifo::replace(&env.data_dir().join("history/contoso.jsonl"));

    let mut child = spawn_full_rerun(&sim, &env);
    let writer = reached(&fifo, &mut child, "its history");
    let committed = snapshot(&out);
    let requests = sim.stats()["graphRequests"].as_u64().unwrap();
    let stderr = StderrLines::of(&mut child);
    for _ in 0..2 {
        kill("-INT", &child);
        stderr.wait_for(Interruption::Committing.describe());
    }
    fifo.release(writer);

    let o = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert_exit(&o, 0);
    assert!(
        !stderr.contains(Interruption::Stopping.describe()),
        "{stderr}"
    );
    assert_eq!(
        sim.stats()["graphRequests"].as_u64().unwrap(),
        requests,
        "no request after an interrupt"
    );
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "success", "{report}");
    assert_eq!(report["secret_expiry"], serde_json::Value::Null, "{report}");
    assert_eq!(snapshot(&out), committed, "the committed files stay");
    common::check_manifest(&out, &sim.domain());
    assert_private_and_clean(&out);
}

/// A console control event: `CTRL_<name>_EVENT`, as `HandlerRoutine` receives it (`wincon.h`).
#[cfg(windows)] // console control events are Windows'
#[derive(Debug, Clone, Copy)]
enum ConsoleEvent {
    Break = 1,
    Close = 2,
    Logoff = 5,
    Shutdown = 6,
}

#[cfg(windows)] // console control events are Windows'
impl ConsoleEvent {
    /// How long Windows lets a process clean up after this event before it ends it: about
    /// five seconds after a console closes (and at most as long at logoff and shutdown);
    /// none for Ctrl-Break, which only asks.
    fn deadline(self) -> Option<Duration> {
        match self {
            ConsoleEvent::Break => None,
            _ => Some(Duration::from_secs(5)),
        }
    }
}

/// Delivers `event` to `child` the way Windows does: the console host (Ctrl-Break, a closed
/// window) and the session manager (logoff, shutdown) start a thread in the process at
/// kernel32's `CtrlRoutine` with the event, which calls the handlers the process registered
/// (tokio's, for entra-extract). The test does the same with `CreateRemoteThread`, so the
/// event goes through the program's real registration; it needs no console, and works
/// under Wine (whose own Ctrl-C reaches programs through the same routine). System DLLs
/// sit at the same address in every process of a session, so the test's own address of
/// `CtrlRoutine` is the child's.
#[cfg(windows)] // console control events are Windows'
fn console_event(child: &std::process::Child, event: ConsoleEvent) {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    use windows_sys::Win32::System::Threading::{CreateRemoteThread, LPTHREAD_START_ROUTINE};
    // SAFETY: both names are NUL-terminated; kernel32 is loaded in every process. The
    // transmute gives CtrlRoutine its real signature (DWORD WINAPI CtrlRoutine(LPVOID)).
    // The child's handle comes from CreateProcess with every access right; the thread's
    // handle is closed once it started.
    unsafe {
        let kernel32 = GetModuleHandleA(c"kernel32.dll".as_ptr().cast());
        assert!(!kernel32.is_null(), "kernel32 is loaded");
        let routine = GetProcAddress(kernel32, c"CtrlRoutine".as_ptr().cast())
            .expect("kernel32 exports CtrlRoutine");
        let routine: LPTHREAD_START_ROUTINE = Some(std::mem::transmute::<
            unsafe extern "system" fn() -> isize,
            unsafe extern "system" fn(*mut std::ffi::c_void) -> u32,
        >(routine));
        let thread = CreateRemoteThread(
            child.as_raw_handle(),
            std::ptr::null(),
            0,
            routine,
            event as usize as *const std::ffi::c_void,
            0,
            std::ptr::null_mut(),
        );
        assert!(
            !thread.is_null(),
            "{event:?} not delivered: {}",
            std::io::Error::last_os_error()
        );
        CloseHandle(thread);
    }
}
