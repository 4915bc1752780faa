//! What a new user meets in the first minutes, tried the way they try it: from an empty
//! directory with a fresh home, output directories given as plain relative paths, stdout
//! piped into a reader that goes away or redirected to a full disk, and the files the
//! program leaves in its data directory.

use crate::common;

use std::path::Path;
use std::process::Stdio;

use common::{
    Sim, TestEnv, assert_bash_parses, assert_exit, assert_private_and_clean, check_manifest,
};
use entra_sim::DemoAppKind;

/// `run -o DIR` started in `cwd` (DIR as the user typed it).
fn run_in(sim: &Sim, env: &TestEnv, cwd: &Path, dir: &str) -> std::process::Output {
    sim.command(env, "run", DemoAppKind::Full)
        .current_dir(cwd)
        .args(["-o", dir, "-q", "--json"])
        .output()
        .unwrap()
}

#[test]
fn a_bare_relative_output_directory_is_created_in_the_current_directory() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let cwd = env.out("empty");
    std::fs::create_dir(&cwd).unwrap();
    for dir in ["newdir", "a/b/c", "./dotted"] {
        let o = run_in(&sim, &env, &cwd, dir);
        assert_exit(&o, 0);
        let out = cwd.join(dir);
        check_manifest(&out, &sim.domain());
        assert_private_and_clean(&out);
        // Every directory the run made, `a` and `b` too.
        for made in Path::new(dir)
            .ancestors()
            .filter(|a| !matches!(a.to_str(), Some("" | ".")))
        {
            assert_owner_only(&cwd.join(made));
        }
    }
}

#[test]
fn demo_headless_runs_from_an_empty_directory() {
    let env = TestEnv::new();
    let cwd = env.out("empty");
    std::fs::create_dir(&cwd).unwrap();
    let o = env
        .command()
        .current_dir(&cwd)
        .env("HOME", env.root.path())
        .args(["demo", "--headless"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let out = cwd.join("entra-extract-demo");
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("_users.csv")), "{names:?}");
}

/// Spawns `cmd` with stdout a pipe whose reader is already gone (`cmd | true`).
fn with_closed_stdout(mut cmd: std::process::Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

fn no_panic(o: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_keeps_the_runs_exit_code_and_its_files() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let mut cmd = sim.std_command(&env, "run", DemoAppKind::Full);
    cmd.arg("-o").arg(&out).args(["--json", "-q"]);
    let o = with_closed_stdout(cmd);
    no_panic(&o);
    assert_exit(&o, 0);
    check_manifest(&out, &sim.domain());
    assert_private_and_clean(&out);

    let mut list = env.std_command();
    list.args(["profile", "list"]);
    let o = with_closed_stdout(list);
    no_panic(&o);
    assert_exit(&o, 0);
}

/// `cmd >&-`: started with standard output closed, as a shell's `>&-` leaves it.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
))]
fn started_with_stdout_closed(cmd: &std::process::Command) -> std::process::Output {
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", "exec \"$0\" \"$@\" >&-"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => sh.env(key, v),
            None => sh.env_remove(key),
        };
    }
    sh.output().unwrap()
}

/// A closed standard output (`>&-`) loses the summary: the run keeps its exit code and its
/// files, and a line on stderr says the summary was not written (the Rust runtime reopens a
/// closed stdout on /dev/null, so writing it fails silently). `/dev/null` given as stdout
/// is the user's choice and says nothing. (Where the binary notes a closed standard output
/// before the runtime starts: see `src/main.rs`.)
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
))]
#[test]
fn a_stdout_closed_at_start_is_reported_on_stderr() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let run = || {
        let mut cmd = sim.std_command(&env, "run", DemoAppKind::Full);
        cmd.arg("-o").arg(&out).args(["--json", "-q"]);
        cmd
    };
    let o = started_with_stdout_closed(&run());
    no_panic(&o);
    assert_exit(&o, 0);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("standard output is closed") && stderr.contains("exit code 0"),
        "{stderr}"
    );
    check_manifest(&out, &sim.domain());

    // /dev/null opened write-only (a shell's `>/dev/null`) or read-write (Python's
    // `subprocess.DEVNULL`) is a place the user chose.
    let read_write = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    for null in [Stdio::null(), Stdio::from(read_write)] {
        let o = run().stdout(null).output().unwrap();
        assert_exit(&o, 0);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("standard output"), "{stderr}");
    }

    // A pipe whose reader went away says so too.
    let o = with_closed_stdout(run());
    assert_exit(&o, 0);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("standard output could not be written"),
        "{stderr}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_an_io_error_after_the_files_are_committed() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = sim
        .std_command(&env, "run", DemoAppKind::Full)
        .arg("-o")
        .arg(&out)
        .args(["--json", "-q"])
        .stdout(full)
        .output()
        .unwrap();
    no_panic(&o);
    assert_exit(&o, 1);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("standard output could not be written"),
        "{stderr}"
    );
    check_manifest(&out, &sim.domain());
}

/// `path` as an earlier version could leave it: readable by others.
#[cfg(unix)] // modes
fn open_to_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(windows)] // DACLs
fn open_to_others(path: &Path) {
    entra_extract::private_fs::windows::open_to_everyone(path);
}

/// `path` (a file or a directory) is readable by its owner alone.
fn assert_owner_only(path: &Path) {
    #[cfg(unix)] // modes
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{}: {mode:o}", path.display());
    }
    #[cfg(windows)] // DACLs
    {
        let flags = if path.is_dir() {
            entra_extract::private_fs::windows::DIRECTORY_ACE_FLAGS
        } else {
            0
        };
        common::assert_owner_only(path, flags);
    }
}

#[test]
fn logs_are_owner_only_and_so_are_their_folders() {
    let env = TestEnv::new();
    // A log folder an earlier version left readable by others is tightened too.
    let logs = env.data_dir().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let old = logs.join("entra-extract.2026-01-01.log");
    std::fs::write(&old, "old\n").unwrap();
    open_to_others(&logs);
    open_to_others(&old);
    let fresh = TestEnv::new();
    for env in [&env, &fresh] {
        let o = env
            .command()
            .args(["profile", "list"])
            .env("ENTRA_EXTRACT_LOG", "debug")
            .output()
            .unwrap();
        assert_exit(&o, 0);
        let logs = env.data_dir().join("logs");
        if std::ptr::eq(env, &fresh) {
            assert_owner_only(&env.data_dir());
        }
        assert_owner_only(&logs);
        let files: Vec<_> = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty());
        for f in files {
            assert_owner_only(&f);
        }
    }
}

#[test]
fn a_graph_url_copied_from_graph_explorer_with_v1_0_works() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let graph = format!("{}/v1.0", sim.base());
    let o = sim
        .command_replacing(&env, "run", DemoAppKind::Full, &[("--graph-url", &graph)])
        .arg("-o")
        .arg(&out)
        .args(["--json", "-q"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));

    let beta = format!("{}/beta", sim.base());
    let o = sim
        .command_replacing(&env, "check", DemoAppKind::Full, &[("--graph-url", &beta)])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("v1.0") && stderr.contains(&sim.base()),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_extra_attribute_is_a_warning_in_the_summary_the_manifest_and_the_exit_code() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim
        .run(&env, DemoAppKind::Full, &out)
        .args(["--extra-user-attribute", "fooBarBaz"])
        .args(["--extra-user-attribute", "mobilePhone"])
        // Graph leaves out unset directory extensions, so their absence is no typo.
        .args([
            "--extra-user-attribute",
            "extension_0123456789abcdef0123456789abcdef_costCenter",
        ])
        .args(["--extra-group-attribute", "classificaton"])
        .output()
        .unwrap();
    assert_exit(&o, 6);
    let report = common::json_stdout(&o);
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("`fooBarBaz`") || warnings[1].contains("`fooBarBaz`"));
    assert!(warnings.iter().any(|w| w.contains("`classificaton`")));
    assert!(
        !warnings.iter().any(|w| w.contains("mobilePhone")),
        "{warnings:?}"
    );
    let manifest = check_manifest(&out, &sim.domain());
    let kinds: Vec<&str> = manifest["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["attribute_not_returned"; 2]);

    // The human summary says it too.
    let o = sim
        .command(&env, "run", DemoAppKind::Full)
        .arg("-o")
        .arg(&out)
        .args(["-q", "--extra-user-attribute", "fooBarBaz"])
        .output()
        .unwrap();
    assert_exit(&o, 6);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("`fooBarBaz` came back from none"),
        "{stdout}"
    );
}

#[test]
fn shell_completions_and_the_man_page_come_from_the_command_definitions() {
    let env = TestEnv::new();
    let dir = env.out("completions");
    std::fs::create_dir(&dir).unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = env.command().args(["completions", shell]).output().unwrap();
        assert_exit(&o, 0);
        let script = String::from_utf8(o.stdout).unwrap();
        assert!(
            script.contains("throttle-deadline") && script.contains("profile"),
            "{shell}: {script}"
        );
        if shell == "bash" {
            assert_bash_parses(&dir.join("entra-extract.bash"), &script);
        }
    }
    let o = env.command().arg("man").output().unwrap();
    assert_exit(&o, 0);
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH entra-extract 1"), "{page}");
    for sub in ["demo", "check", "run", "profile", "completions"] {
        assert!(page.contains(sub), "{sub} missing from the man page");
    }
    let o = env
        .command()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
}
