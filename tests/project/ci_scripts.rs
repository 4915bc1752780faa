//! The scripts `.ci/run` starts, run as a developer would: `scripts/install-test-deps.sh`
//! installs missing Debian packages as root, through sudo (and says so) when not root, and
//! says what to do when neither works; with `--cross` it adds the Rust targets and the
//! packages for Windows and macOS. `apt-get`, `sudo`, `id`, `rustup` and `python3` are
//! stand-ins first in a bare `PATH` that log their arguments. `.ci/run` itself runs with
//! stand-in scripts and `cargo`: every stage, for Linux, Windows (under Wine) and macOS, in
//! order, stopping at the first failure.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// A copy of the script in a fresh checkout-like folder, with stand-in commands.
struct Machine {
    root: tempfile::TempDir,
}

impl Machine {
    /// `uid` is what `id -u` says; `sudo` whether a sudo stand-in is installed.
    fn new(uid: u32, sudo: bool) -> Machine {
        let root = tempfile::tempdir().unwrap();
        let scripts = root.path().join("scripts");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-deps.sh"),
            scripts.join("install-test-deps.sh"),
        )
        .unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = root.path().join("calls.log");
        let log = log.display();
        // Only what the script needs besides the commands it checks for, so that every
        // package it checks looks missing.
        for tool in ["bash", "dirname", "env", "cat", "mkdir", "chmod"] {
            let real = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{tool} not found"));
            std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
        }
        write_exe(&bin.join("id"), &format!("#!/bin/sh\necho {uid}\n"));
        write_exe(
            &bin.join("apt-get"),
            &format!(
                "#!/bin/sh\necho \"apt-get $* (DEBIAN_FRONTEND=$DEBIAN_FRONTEND)\" >> '{log}'\n"
            ),
        );
        write_exe(
            &bin.join("rustup"),
            &format!("#!/bin/sh\necho \"rustup $*\" >> '{log}'\n"),
        );
        if sudo {
            write_exe(
                &bin.join("sudo"),
                &format!("#!/bin/sh\necho \"sudo $*\" >> '{log}'\nexec \"$@\"\n"),
            );
        }
        // `python3 -m venv DIR` makes a venv whose pip does nothing.
        write_exe(
            &bin.join("python3"),
            "#!/bin/sh\nif [ \"$1\" = -m ] && [ \"$2\" = venv ]; then mkdir -p \"$3/bin\"; printf '#!/bin/sh\\nexit 0\\n' > \"$3/bin/pip\"; chmod +x \"$3/bin/pip\"; fi\nexit 0\n",
        );
        Machine { root }
    }

    fn run(&self) -> Output {
        self.run_with(&[])
    }

    fn run_with(&self, args: &[&str]) -> Output {
        std::process::Command::new(self.root.path().join("scripts/install-test-deps.sh"))
            .args(args)
            .env_clear()
            .env("PATH", self.root.path().join("bin"))
            .output()
            .unwrap()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.root.path().join("calls.log")).unwrap_or_default()
    }
}

fn write_exe(path: &PathBuf, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn as_root_apt_get_runs_directly() {
    let m = Machine::new(0, true);
    let o = m.run();
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = m.calls();
    assert!(
        calls.contains("apt-get install -y -qq --no-install-recommends dbus")
            && calls.contains("(DEBIAN_FRONTEND=noninteractive)"),
        "{calls}"
    );
    assert!(!calls.contains("sudo"), "{calls}");
    assert!(!calls.contains("rustup"), "{calls}");
}

#[test]
fn cross_adds_the_rust_targets_and_installs_mingw_and_wine() {
    let m = Machine::new(0, true);
    let o = m.run_with(&["--cross"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = m.calls();
    assert!(
        calls.contains(
            "rustup --quiet target add x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin"
        ),
        "{calls}"
    );
    assert!(
        calls.contains("--no-install-recommends dbus")
            && calls.contains("gcc-mingw-w64-x86-64-posix wine64"),
        "{calls}"
    );
}

#[test]
fn not_root_apt_get_runs_through_sudo_and_says_so() {
    let m = Machine::new(1000, true);
    let o = m.run();
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = m.calls();
    assert!(
        calls.contains("sudo env DEBIAN_FRONTEND=noninteractive apt-get update")
            && calls.contains("sudo env DEBIAN_FRONTEND=noninteractive apt-get install"),
        "{calls}"
    );
    assert!(stderr(&o).contains("not root"), "{}", stderr(&o));
}

#[test]
fn not_root_without_sudo_says_what_to_do() {
    let m = Machine::new(1000, false);
    let o = m.run();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("needs root") && stderr(&o).contains("run this script as root"),
        "{}",
        stderr(&o)
    );
    assert!(!m.calls().contains("apt-get"), "{}", m.calls());
}

/// A copy of `.ci/run` in a fresh checkout-like folder whose scripts, `cargo` and fidelity
/// Python are stand-ins logging their arguments (and the environment Cargo sees).
struct Checkout {
    root: tempfile::TempDir,
}

impl Checkout {
    /// `failing`: a `cargo` argument list (space-joined) whose stand-in exits 1.
    fn new(failing: Option<&str>) -> Checkout {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in [".ci", "scripts/wine", "bin", "target/fidelity-venv/bin"] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"),
            r.join(".ci/run"),
        )
        .unwrap();
        let log = r.join("calls.log");
        let log = log.display();
        let logger = |name: &str| format!("#!/bin/sh\necho \"{name} $*\" >> '{log}'\n");
        write_exe(
            &r.join("scripts/install-test-deps.sh"),
            &logger("install-test-deps"),
        );
        write_exe(&r.join("scripts/clippy-macos.sh"), &logger("clippy-macos"));
        write_exe(&r.join("scripts/wine/runner.sh"), "#!/bin/sh\nexit 1\n");
        write_exe(
            &r.join("target/fidelity-venv/bin/python"),
            &logger("fidelity-python"),
        );
        let fail = failing
            .map(|args| format!("[ \"$*\" = '{args}' ] && exit 1\n"))
            .unwrap_or_default();
        write_exe(
            &r.join("bin/cargo"),
            &format!(
                "#!/bin/sh\necho \"cargo $* (incremental=$CARGO_INCREMENTAL runner=$CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER${{RUSTDOCFLAGS:+ rustdocflags=$RUSTDOCFLAGS}})\" >> '{log}'\n{fail}exit 0\n"
            ),
        );
        Checkout { root }
    }

    fn run(&self) -> Output {
        std::process::Command::new(self.root.path().join(".ci/run"))
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.root.path().join("bin").display()),
            )
            .output()
            .unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn ci_run_checks_linux_windows_and_macos_in_one_command() {
    let c = Checkout::new(None);
    let o = c.run();
    assert!(o.status.success(), "{}", stderr(&o));
    let root = std::fs::canonicalize(c.root.path()).unwrap();
    let runner = root.join("scripts/wine/runner.sh");
    let runner = runner.display();
    let linux = "(incremental=0 runner=)";
    assert_eq!(
        c.calls(),
        [
            "install-test-deps --cross".to_string(),
            format!("cargo fmt --all -- --check {linux}"),
            format!("cargo clippy --workspace --all-targets --locked -- -D warnings {linux}"),
            // A broken or private doc link fails CI.
            "cargo doc --workspace --no-deps --locked (incremental=0 runner= rustdocflags=-D warnings)"
                .to_string(),
            format!(
                "cargo clippy --workspace --all-targets --locked --target x86_64-pc-windows-gnu -- -D warnings {linux}"
            ),
            "clippy-macos --all-targets".to_string(),
            format!("cargo test --workspace --all-targets --locked --no-fail-fast {linux}"),
            "fidelity-python -m unittest discover -s tests/fidelity -v".to_string(),
            format!(
                "cargo test --workspace --all-targets --locked --no-run --target x86_64-pc-windows-gnu {linux}"
            ),
            format!(
                "cargo test --workspace --all-targets --locked --no-fail-fast --target x86_64-pc-windows-gnu (incremental=0 runner={runner})"
            ),
            format!("cargo test --locked --test wizard wine_console:: -- --ignored {linux}"),
        ]
    );
    // Each stage says what it took.
    for stage in [
        "clippy windows",
        "clippy macos",
        "test windows (wine)",
        "wine console",
    ] {
        assert!(
            stderr(&o).contains(&format!("=== {stage}: ")),
            "{stage}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn ci_run_stops_at_the_first_failing_stage() {
    let c = Checkout::new(Some(
        "clippy --workspace --all-targets --locked --target x86_64-pc-windows-gnu -- -D warnings",
    ));
    let o = c.run();
    assert!(!o.status.success());
    let calls = c.calls();
    assert!(
        calls.last().unwrap().contains("x86_64-pc-windows-gnu"),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("clippy-macos")),
        "{calls:?}"
    );
}

#[test]
fn readme_gives_ci_run_as_the_test_command() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("\n.ci/run\n"), "README.md's test command");
}

/// `scripts/release --dry-run` says what the one release command does, without doing it:
/// a static Linux binary (musl) in a .tar.gz, the Windows .exe in a .zip, each with the
/// README, completions for every shell and the man pages, and SHA256SUMS. One real run is
/// measured in BENCHMARKS.md ("Release archives"); it takes too long for every CI run.
#[test]
fn release_builds_a_static_linux_tarball_a_windows_zip_and_their_checksums() {
    let o =
        std::process::Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release"))
            .arg("--dry-run")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = stderr(&o);
    let version = env!("CARGO_PKG_VERSION");
    for step in [
        "cargo build --release --locked --target x86_64-unknown-linux-musl".to_string(),
        "CC_x86_64_unknown_linux_musl=musl-gcc".to_string(),
        "cargo build --release --locked --target x86_64-pc-windows-gnu".to_string(),
        "+ static target/x86_64-unknown-linux-musl/release/entra-extract".to_string(),
        "completion bash ".to_string(),
        "completion zsh ".to_string(),
        "completion fish ".to_string(),
        "completion powershell ".to_string(),
        "completion elvish ".to_string(),
        "release/entra-extract man --dir ".to_string(),
        format!(
            "package entra-extract-{version}-x86_64-unknown-linux-musl target/x86_64-unknown-linux-musl/release/entra-extract"
        ),
        format!(
            "package entra-extract-{version}-x86_64-pc-windows-gnu target/x86_64-pc-windows-gnu/release/entra-extract.exe"
        ),
        format!("-czf dist/entra-extract-{version}-x86_64-unknown-linux-musl.tar.gz"),
        "+ zip_windows".to_string(),
        "+ sums".to_string(),
    ] {
        assert!(plan.contains(&step), "{step}:\n{plan}");
    }
    // Nothing was built or written.
    assert!(!plan.contains("Compiling"), "{plan}");
}
