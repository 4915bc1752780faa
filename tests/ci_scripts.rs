//! The scripts `.ci/run` starts, run as a developer would: `scripts/install-test-deps.sh`
//! installs missing Debian packages as root, through sudo (and says so) when not root, and
//! says what to do when neither works; with `--cross` it adds the Rust targets and the
//! packages for Windows and macOS. `apt-get`, `sudo`, `id`, `rustup` and `python3` are
//! stand-ins first in a bare `PATH` that log their arguments.

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
