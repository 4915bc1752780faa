//! What the command line says about itself: `--help` of `run` and `check` names the secret's
//! variable and every exit code; `man --dir` writes a page for every subcommand the pages
//! refer to, each with EXIT STATUS, ENVIRONMENT and FILES; README's exit-code table is the
//! one the program prints; one flag has one name (`--extra-ca`; the old `--extra-ca-pem`
//! still works, unlisted); and `check --json` carries `exit_code` and `outcome` on every
//! exit, as `run --json` does.

use crate::common;

use std::collections::BTreeSet;

use common::{Sim, TestEnv, assert_exit, json_stdout};
use entra_sim::DemoAppKind;

const EXIT_CODES: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 130];

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_and_check_help_name_the_secret_variable_and_every_exit_code() {
    let env = TestEnv::new();
    for cmd in ["run", "check"] {
        let o = env.command().args([cmd, "--help"]).output().unwrap();
        assert_exit(&o, 0);
        let help = stdout(&o);
        for needle in [
            "ENTRA_EXTRACT_CLIENT_SECRET",
            "CREDENTIALS_DIRECTORY",
            "Exit status",
        ] {
            assert!(
                help.contains(needle),
                "{cmd} --help lacks {needle}:\n{help}"
            );
        }
        for code in EXIT_CODES {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{cmd} --help lacks exit code {code}:\n{help}"
            );
        }
        // The short help points there.
        let o = env.command().args([cmd, "-h"]).output().unwrap();
        assert!(
            stdout(&o).contains("ENTRA_EXTRACT_CLIENT_SECRET"),
            "{}",
            stdout(&o)
        );
    }
}

/// `--help` names the command as it is typed on every platform (`entra-extract`, not the
/// Windows file name `entra-extract.exe`), and its files where each platform keeps them.
#[test]
fn help_names_the_command_and_each_platforms_directories() {
    let env = TestEnv::new();
    for args in [&["--help"][..], &["run", "--help"]] {
        let o = env.command().args(args).output().unwrap();
        assert_exit(&o, 0);
        let help = stdout(&o);
        let usage = help.lines().find(|l| l.starts_with("Usage: ")).unwrap();
        assert!(
            usage.starts_with("Usage: entra-extract ") && !usage.contains(".exe"),
            "{usage}"
        );
    }
    let o = env.command().args(["run", "--help"]).output().unwrap();
    let help = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    for dir in [
        "~/.config/entra-extract on Linux",
        r"%APPDATA%\entra-extract\config on Windows",
        r"%LOCALAPPDATA%\entra-extract\data on Windows",
        "~/Library/Application Support/entra-extract on macOS",
    ] {
        assert!(help.contains(dir), "run --help lacks {dir:?}:\n{help}");
    }
    assert!(!help.contains("(0600)"), "Unix modes only: {help}");
}

/// The `name(1)` pages a page refers to.
fn references(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter_map(|l| l.strip_suffix("(1)"))
        .filter(|l| l.starts_with("entra\\-extract"))
        .map(|l| l.replace("\\-", "-"))
        .collect()
}

#[test]
fn man_dir_writes_every_page_the_pages_refer_to_with_exit_status_environment_and_files() {
    let env = TestEnv::new();
    let dir = env.out("man");
    let o = env
        .command()
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let written: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in [
        "entra-extract.1",
        "entra-extract-run.1",
        "entra-extract-check.1",
        "entra-extract-profile-create.1",
    ] {
        assert!(written.contains(name), "{name} not written: {written:?}");
    }
    for file in &written {
        let page = std::fs::read_to_string(dir.join(file)).unwrap();
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(page.contains(section), "{file} lacks {section}");
        }
        assert!(page.contains("ENTRA_EXTRACT_CLIENT_SECRET"), "{file}");
        for reference in references(&page) {
            assert!(
                written.contains(&format!("{reference}.1")),
                "{file} refers to {reference}(1), which is not written"
            );
        }
    }
    // The page on stdout is the main one, and refers only to pages `man --dir` writes.
    let o = env.command().arg("man").output().unwrap();
    assert_exit(&o, 0);
    let main = stdout(&o);
    assert_eq!(
        main,
        std::fs::read_to_string(dir.join("entra-extract.1")).unwrap()
    );
    assert!(!references(&main).is_empty());
}

/// README's exit-code table is the one `run --help` prints (both come from src/cli/exit.rs).
#[test]
fn the_readme_exit_code_table_is_the_programs() {
    let readme = include_str!("../../README.md");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "### Exit codes")
        .skip_while(|l| !l.starts_with("| 0 "))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), EXIT_CODES.len(), "{rows:#?}");
    let env = TestEnv::new();
    let help = stdout(&env.command().args(["run", "--help"]).output().unwrap());
    for (row, code) in rows.iter().zip(EXIT_CODES) {
        let cells: Vec<&str> = row
            .split(" | ")
            .map(|c| c.trim_matches(['|', ' ', '`']))
            .collect();
        assert_eq!(cells[0], code.to_string(), "{row}");
        let line = help
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(&format!("{code} ")))
            .unwrap_or_else(|| panic!("exit code {code} not in run --help"));
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(line).contains(cells[1]) && words(&help).contains(&words(cells[2])),
            "README: {row}\nrun --help: {line}"
        );
    }
}

#[test]
fn extra_ca_is_one_flag_everywhere_and_the_old_name_still_works() {
    let env = TestEnv::new();
    for cmd in [
        &["run"][..],
        &["check"],
        &["profile", "create"],
        &["app", "create"],
    ] {
        let o = env.command().args(cmd).arg("--help").output().unwrap();
        let help = stdout(&o);
        assert!(help.contains("--extra-ca <PEM>"), "{cmd:?}:\n{help}");
        assert!(!help.contains("--extra-ca-pem"), "{cmd:?}:\n{help}");
    }
    let sim = Sim::start(common::no_throttle(entra_sim::SimConfig {
        tls: Some(entra_sim::TlsOptions::default()),
        ..Default::default()
    }));
    let ca = env.root.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    for (name, flag) in [("new", "--extra-ca"), ("old", "--extra-ca-pem")] {
        common::create_profile(
            &sim,
            &env,
            name,
            &env.out(name),
            &[flag, ca.to_str().unwrap()],
        );
        let o = env
            .command()
            .args(["profile", "show", name, "--json"])
            .output()
            .unwrap();
        assert_exit(&o, 0);
        let shown = stdout(&o);
        assert!(shown.contains("ca.pem"), "{flag}: {shown}");
    }
}

#[test]
fn check_json_carries_exit_code_and_outcome_on_every_exit() {
    let sim = Sim::small();
    let env = TestEnv::new();
    for (kind, code, outcome) in [
        (DemoAppKind::Full, 0, "success"),
        (DemoAppKind::NoHidden, 4, "permission_missing"),
    ] {
        let o = sim
            .command(&env, "check", kind)
            .arg("--json")
            .output()
            .unwrap();
        assert_exit(&o, code);
        let report = json_stdout(&o);
        assert_eq!(report["exit_code"], code, "{report}");
        assert_eq!(report["outcome"], outcome, "{report}");
        assert!(report["required"].is_array(), "the report itself: {report}");
    }
    let o = sim
        .command_replacing(
            &env,
            "check",
            DemoAppKind::Full,
            &[("--client-id", "not-a-guid")],
        )
        .arg("--json")
        .output()
        .unwrap();
    assert_exit(&o, 2);
    let report = json_stdout(&o);
    assert_eq!(report["exit_code"], 2, "{report}");
    assert_eq!(report["outcome"], "bad_config", "{report}");
    assert!(report["error"].as_str().is_some_and(|e| !e.is_empty()));
}
