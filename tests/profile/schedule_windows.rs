//! `entra-extract schedule add|list|remove` with the Windows Task Scheduler.
//!
//! - Everywhere with xmllint (a Linux tool, so `cfg(unix)`): the task definitions the
//!   binary prints (`schedule add --scheduler task-scheduler --print`) and the UTF-16 file
//!   it hands `schtasks /Create /XML` validate against the Task Scheduler schema
//!   (tests/schemas/task-scheduler-subset.xsd, written from Microsoft's definitions), and a
//!   definition the schema forbids is refused, so the validation is real.
//! - On Windows (CI: under Wine 8.0): `schedule add` registers the task with the system's
//!   schtasks.exe, the wrapper script it writes reruns the profile (full, then incremental) through
//!   `cmd.exe` exactly as the task's action would, `schedule list` reads the task back and
//!   `schedule remove` deletes it. Wine's schtasks implements `/Create /XML` and `/Delete`
//!   but not `/Query` ("fixme:schtasks:wmain Unsupported command L"/Query"", exit code 0,
//!   nothing printed), and its Task Scheduler service stores a task without its triggers
//!   and actions ("fixme:taskschd:read_triggers stub", "read_actions stub"): under Wine
//!   the test asserts exactly that, on Windows the real answer.

use crate::common;

use common::{Sim, TestEnv, assert_exit, create_profile};
#[cfg(windows)]
use entra_sim::DemoAppKind;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[cfg(unix)] // xmllint (libxml2-utils) is a Linux tool; the rendering it checks is the same code on Windows.
mod schema {
    use super::*;
    use std::path::{Path, PathBuf};

    fn xsd() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/task-scheduler-subset.xsd")
    }

    /// `xmllint --schema` on `file`: its output, and whether it validates.
    fn validate(file: &Path) -> (bool, String) {
        let o = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(xsd())
            .arg(file)
            .output()
            .unwrap_or_else(|e| {
                panic!("xmllint does not run ({e}): run scripts/install-test-deps.sh (installs libxml2-utils)")
            });
        (o.status.success(), stderr(&o))
    }

    #[test]
    fn printed_task_definitions_validate_against_the_task_scheduler_schema() {
        let sim = Sim::small();
        let env = TestEnv::new();
        create_profile(
            &sim,
            &env,
            "contoso",
            &env.out("out"),
            &["--plaintext-secret-file"],
        );
        for when in [
            &["hourly"][..],
            &["daily", "02:30"],
            &["weekly", "sun", "23:59"],
        ] {
            let o = env
                .command()
                .args([
                    "schedule",
                    "add",
                    "--profile",
                    "contoso",
                    "--scheduler",
                    "task-scheduler",
                    "--print",
                ])
                .args(when)
                .output()
                .unwrap();
            assert_exit(&o, 0);
            let xml = stdout(&o);
            assert!(
                xml.contains("<LogonType>InteractiveToken</LogonType>"),
                "{xml}"
            );
            assert!(
                xml.contains("<Command>C:\\Windows\\System32\\cmd.exe</Command>"),
                "{xml}"
            );
            // The directories reach the run through the wrapper script, which says so.
            assert!(
                stderr(&o).contains("set \"ENTRA_EXTRACT_CONFIG_DIR="),
                "{}",
                stderr(&o)
            );
            let file = env.root.path().join(format!("task-{}.xml", when[0]));
            std::fs::write(&file, &xml).unwrap();
            let (ok, why) = validate(&file);
            assert!(ok, "{when:?}: {why}\n{xml}");
            // The control: what the schema forbids is refused.
            let bad = xml.replace("InteractiveToken", "Interactive");
            std::fs::write(&file, bad).unwrap();
            let (ok, why) = validate(&file);
            assert!(!ok && why.contains("LogonType"), "{why}");
            let bad = xml
                .replace("<RandomDelay>", "<Delay>")
                .replace("</RandomDelay>", "</Delay>");
            std::fs::write(&file, bad).unwrap();
            assert!(!validate(&file).0);
        }
    }

    #[test]
    fn the_utf16_file_schtasks_reads_validates() {
        use entra_extract::schedule::{Job, taskscheduler};
        for (schedule, environment) in [
            ("hourly", vec![]),
            ("daily 07:05", vec![]),
            (
                "weekly mon 06:30",
                vec![(
                    "ENTRA_EXTRACT_DATA_DIR".to_string(),
                    r"D:\100% & <data> ünïcode".to_string(),
                )],
            ),
        ] {
            let job = Job {
                profile: entra_extract::profile::ProfileName::new("contoso").unwrap(),
                schedule: schedule.parse().unwrap(),
                exe: PathBuf::from(r"C:\Users\José\bin\entra-extract.exe"),
                environment,
                credential_file: None,
            };
            let action = taskscheduler::action(
                &job,
                Path::new(r"C:\Users\José\AppData\Roaming\w.cmd"),
                r"C:\Windows",
            )
            .unwrap();
            let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
            let bytes = taskscheduler::utf16_file(&taskscheduler::render(&job, &action, day));
            assert_eq!(
                &bytes[..2],
                &[0xFF, 0xFE],
                "UTF-16LE with a byte-order mark"
            );
            let env = TestEnv::new();
            let file = env.root.path().join("task.xml");
            std::fs::write(&file, &bytes).unwrap();
            let (ok, why) = validate(&file);
            assert!(ok, "{schedule}: {why}");
        }
    }
}

#[cfg(windows)] // The Task Scheduler and schtasks.exe exist only there (and in Wine).
mod task_scheduler {
    use super::*;
    use common::{Extraction, check_manifest};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// Wine's prefix has winecfg.exe in system32; Windows does not.
    fn under_wine() -> bool {
        system32().join("winecfg.exe").is_file()
    }

    fn system32() -> PathBuf {
        PathBuf::from(std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into()))
            .join("System32")
    }

    #[test]
    fn a_task_is_registered_runs_the_profile_is_listed_and_removed() {
        let mut sim = Sim::small();
        let env = TestEnv::new();
        // A name of its own: every `profile remove` in the prefix deletes the task of its name.
        let name = format!("sched-{}", std::process::id());
        let task = format!("entra-extract\\{name}");
        let out = env.out("out");
        create_profile(&sim, &env, &name, &out, &["--plaintext-secret-file"]);
        let o = env
            .command()
            .args(["profile", "set-secret", &name, "--stdin"])
            .write_stdin(format!("{}\n", sim.app(DemoAppKind::Full).client_secret))
            .output()
            .unwrap();
        assert_exit(&o, 0);

        let o = env
            .command()
            .args(["schedule", "add", "--profile", &name, "daily", "02:00"])
            .output()
            .unwrap();
        assert_exit(&o, 0);
        let text = stdout(&o);
        assert!(
            text.contains(&format!("scheduled task {task} of your user")),
            "{text}"
        );
        assert!(
            text.contains("InteractiveToken") && text.contains("Credential Manager"),
            "{text}"
        );
        let wrapper = env.data_dir().join("schedule").join(format!("{name}.cmd"));
        assert!(text.contains(&wrapper.display().to_string()), "{text}");
        let profile = std::fs::read_to_string(
            env.config_dir()
                .join("profiles")
                .join(format!("{name}.toml")),
        )
        .unwrap_or_default();
        assert!(profile.contains("schedule = \"daily 02:00\""), "{profile}");
        // The definition registered is kept (UTF-16, as schtasks read it): it marks the task
        // as this program's.
        let definition = env
            .data_dir()
            .join("schedule")
            .join(format!("{name}.task.xml"));
        assert_eq!(&std::fs::read(&definition).unwrap()[..2], &[0xFF, 0xFE]);

        let stored = system32().join("Tasks").join("entra-extract").join(&name);
        if under_wine() {
            // Wine's Task Scheduler keeps the task, rewritten without what it does not read.
            let raw =
                std::fs::read(&stored).unwrap_or_else(|e| panic!("{}: {e}", stored.display()));
            let kept = String::from_utf8_lossy(&raw);
            assert!(
                kept.contains("<!-- Task definition created by Wine -->"),
                "{kept}"
            );
            assert!(
                kept.contains("<Triggers/>") && kept.contains("<Exec/>"),
                "{kept}"
            );
            assert!(
                kept.contains("<StartWhenAvailable>true</StartWhenAvailable>"),
                "{kept}"
            );
            assert!(
                kept.contains("<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"),
                "{kept}"
            );
        }

        // What the task runs, run now: cmd.exe with the wrapper, without this test's
        // directory variables (the wrapper sets them). Its first run reads everything;
        // after the tenant changed, the next only the changes; both leave files equal to it.
        let script = std::fs::read_to_string(&wrapper).unwrap();
        assert!(
            script.contains(&format!("\" run --profile {name} --quiet\r\n")),
            "{script}"
        );
        for (round, mode) in [(0, "full"), (1, "incremental")] {
            use std::os::windows::process::CommandExt;
            if round > 0 {
                sim.evolve(20, 7);
            }
            let o = std::process::Command::new(system32().join("cmd.exe"))
                .raw_arg(format!("/d /v:off /c \"\"{}\"\"", wrapper.display()))
                .env_remove("ENTRA_EXTRACT_CONFIG_DIR")
                .env_remove("ENTRA_EXTRACT_DATA_DIR")
                .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
                .output()
                .unwrap();
            assert_exit(&o, 0);
            Extraction::read(&out, &sim.domain())
                .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
            let manifest = check_manifest(&out, &sim.domain());
            assert_eq!(manifest["run"]["mode"], mode, "{manifest}");
        }

        let o = env.command().args(["schedule", "list"]).output().unwrap();
        assert_exit(&o, 0);
        let listed = stdout(&o);
        let line = listed
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{listed}"));
        if under_wine() {
            assert!(
                line.contains(&format!(
                    "scheduled task {task}: state unknown (`schtasks /Query` printed no task definition (Wine's schtasks does not implement /Query))"
                )),
                "{line}"
            );
        } else {
            assert!(
                line.contains(&format!("scheduled task {task} (daily at 02:00)")),
                "{line}"
            );
        }

        let o = env
            .command()
            .args(["schedule", "remove", "--profile", &name])
            .output()
            .unwrap();
        assert_exit(&o, 0);
        assert!(
            stdout(&o).contains(&format!("its scheduled task {task} is deleted")),
            "{}",
            stdout(&o)
        );
        assert!(!wrapper.exists() && !definition.exists());
        if under_wine() {
            assert!(
                !stored.exists(),
                "schtasks /Delete removed {}",
                stored.display()
            );
        }
        let o = env.command().args(["schedule", "list"]).output().unwrap();
        assert!(!stdout(&o).contains(&format!("{name}\t")), "{}", stdout(&o));
    }

    /// A stand-in for schtasks (`ENTRA_EXTRACT_TEST_SCHTASKS`, read by debug builds): logs
    /// its arguments and answers as schtasks does when a file of the directory says so —
    /// `query-denied` / `delete-denied`: "ERROR: Access is denied.", exit code 1; `gone`:
    /// "ERROR: " and this system's own (localized) message for ERROR_FILE_NOT_FOUND, exit
    /// code 1, as for a task that does not exist. Otherwise exit code 0, printing nothing
    /// (as Wine's /Query).
    struct FakeSchtasks {
        dir: PathBuf,
    }

    impl FakeSchtasks {
        fn new(env: &TestEnv) -> FakeSchtasks {
            let dir = env.root.path().join("fake-schtasks");
            std::fs::create_dir_all(&dir).unwrap();
            let not_found = entra_extract::schedule::taskscheduler::not_found_messages();
            let not_found = not_found
                .first()
                .expect("FormatMessageW(ERROR_FILE_NOT_FOUND)");
            std::fs::write(
                dir.join("not-found.txt"),
                format!("ERROR: {}\r\n", not_found.trim()),
            )
            .unwrap();
            let d = dir.display();
            let script = format!(
                "@echo off\r\n\
                 echo %*>>\"{d}\\calls.log\"\r\n\
                 if exist \"{d}\\gone\" (type \"{d}\\not-found.txt\" 1>&2 & exit /b 1)\r\n\
                 if /i \"%~1\"==\"/Query\" if exist \"{d}\\query-denied\" (echo ERROR: Access is denied. 1>&2 & exit /b 1)\r\n\
                 if /i \"%~1\"==\"/Delete\" if exist \"{d}\\delete-denied\" (echo ERROR: Access is denied. 1>&2 & exit /b 1)\r\n\
                 exit /b 0\r\n"
            );
            std::fs::write(dir.join("schtasks.cmd"), script).unwrap();
            FakeSchtasks { dir }
        }

        fn command(&self, env: &TestEnv) -> assert_cmd::Command {
            let mut c = env.command();
            c.env(
                entra_extract::schedule::taskscheduler::TEST_SCHTASKS_ENV,
                self.dir.join("schtasks.cmd"),
            );
            c
        }

        fn set(&self, mode: &str, on: bool) {
            let f = self.dir.join(mode);
            if on {
                std::fs::write(f, "").unwrap();
            } else {
                let _ = std::fs::remove_file(f);
            }
        }

        fn calls(&self) -> String {
            std::fs::read_to_string(self.dir.join("calls.log")).unwrap_or_default()
        }
    }

    /// `schedule remove` deletes the files marking a task as this program's only once the
    /// task is gone: when schtasks cannot query or delete it (access denied), the task may
    /// still run every day, so they stay, `schedule list` still shows it, and the error says
    /// how to delete it by hand; when schtasks says there is no such task (in this system's
    /// language), they go.
    #[test]
    fn a_task_schtasks_cannot_delete_stays_listed_and_the_error_says_how_to_delete_it() {
        let sim = Sim::small();
        let env = TestEnv::new();
        let name = format!("denied-{}", std::process::id());
        let task = format!("entra-extract\\{name}");
        create_profile(
            &sim,
            &env,
            &name,
            &env.out("out"),
            &["--plaintext-secret-file"],
        );
        let fake = FakeSchtasks::new(&env);
        let o = fake
            .command(&env)
            .args(["schedule", "add", "--profile", &name, "daily", "02:00"])
            .output()
            .unwrap();
        assert_exit(&o, 0);
        assert!(fake.calls().contains("/Create /TN"), "{}", fake.calls());
        let schedule_dir = env.data_dir().join("schedule");
        let definition = schedule_dir.join(format!("{name}.task.xml"));
        let wrapper = schedule_dir.join(format!("{name}.cmd"));
        assert!(definition.is_file() && wrapper.is_file());

        // Query and delete refused; then only the delete (the query answering nothing, as
        // Wine's does).
        for query_denied in [true, false] {
            fake.set("query-denied", query_denied);
            fake.set("delete-denied", true);
            let o = fake
                .command(&env)
                .args(["schedule", "remove", "--profile", &name])
                .output()
                .unwrap();
            assert_exit(&o, 1);
            let err = stderr(&o);
            for want in [
                format!("the scheduled task {task} was not deleted"),
                "ERROR: Access is denied.".to_string(),
                format!("schtasks /Delete /TN \"{task}\" /F"),
                format!("Task Scheduler Library > entra-extract > {name}"),
                format!("entra-extract schedule remove --profile {name}` again"),
            ] {
                assert!(err.contains(&want), "{query_denied}: wants {want:?}: {err}");
            }
            assert!(
                definition.is_file() && wrapper.is_file(),
                "the marks stay while the task may run"
            );
            let o = fake
                .command(&env)
                .args(["schedule", "list"])
                .output()
                .unwrap();
            assert_exit(&o, 0);
            let listed = stdout(&o);
            let line = listed
                .lines()
                .find(|l| l.starts_with(&format!("{name}\t")))
                .unwrap_or_else(|| panic!("{query_denied}: {listed}"));
            let want = if query_denied {
                format!(
                    "scheduled task {task}: state unknown (`schtasks /Query /TN {task}` failed: ERROR: Access is denied.)"
                )
            } else {
                format!(
                    "scheduled task {task}: state unknown (`schtasks /Query` printed no task definition"
                )
            };
            assert!(line.contains(&want), "{line}");
        }
        assert!(fake.calls().contains("/Delete /TN"), "{}", fake.calls());

        // `profile remove` stops at the task too, before it deletes anything: the profile,
        // its secret and the marks stay, so the advice to remove the schedule again holds.
        let profile_file = env
            .config_dir()
            .join("profiles")
            .join(format!("{name}.toml"));
        let o = fake
            .command(&env)
            .args(["profile", "remove", &name, "--force"])
            .output()
            .unwrap();
        assert_exit(&o, 1);
        assert!(
            stderr(&o).contains(&format!("the scheduled task {task} was not deleted")),
            "{}",
            stderr(&o)
        );
        assert!(profile_file.is_file(), "the profile stays whole");
        assert!(definition.is_file() && wrapper.is_file());
        let o = fake
            .command(&env)
            .args(["profile", "show", &name])
            .output()
            .unwrap();
        assert_exit(&o, 0);

        // Deleted by hand since: schtasks says, in this system's words, there is no such task.
        fake.set("query-denied", false);
        fake.set("delete-denied", false);
        fake.set("gone", true);
        let o = fake
            .command(&env)
            .args(["schedule", "remove", "--profile", &name])
            .output()
            .unwrap();
        assert_exit(&o, 0);
        assert!(!definition.exists() && !wrapper.exists());
        let o = fake
            .command(&env)
            .args(["schedule", "list"])
            .output()
            .unwrap();
        assert!(!stdout(&o).contains(&format!("{name}\t")), "{}", stdout(&o));
    }

    #[test]
    fn a_task_needs_a_stored_secret_and_takes_no_credential_file() {
        let sim = Sim::small();
        let env = TestEnv::new();
        let name = format!("nosecret-{}", std::process::id());
        create_profile(&sim, &env, &name, &env.out("out"), &[]);
        let toml = env
            .config_dir()
            .join("profiles")
            .join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&toml).unwrap();
        let text = text.replace(
            "secret_storage = \"keyring\"",
            "secret_storage = \"environment\"",
        );
        assert!(text.contains("\"environment\""), "{text}");
        std::fs::write(&toml, text).unwrap();
        let o = env
            .command()
            .args(["schedule", "add", "--profile", &name, "hourly"])
            .output()
            .unwrap();
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains("a scheduled task has no environment to take it from"),
            "{}",
            stderr(&o)
        );
        let secret = env.root.path().join("secret");
        std::fs::write(&secret, "s").unwrap();
        let o = env
            .command()
            .args([
                "schedule",
                "add",
                "--profile",
                &name,
                "hourly",
                "--credential-file",
            ])
            .arg(&secret)
            .output()
            .unwrap();
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains("a scheduled task cannot be handed a credential file"),
            "{}",
            stderr(&o)
        );
    }
}
