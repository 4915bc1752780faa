//! One way to read the client secret for every command: `run` and `check`, with and without
//! a profile, and `run --all`, each take it from `ENTRA_EXTRACT_CLIENT_SECRET` or a systemd
//! credential by the same rule (a trailing line ending dropped), and a secret Entra refuses
//! that begins or ends with whitespace is named as such.

use crate::common;

use std::process::Output;

use common::{Sim, TestEnv, assert_exit, create_profile};
use entra_sim::DemoAppKind;

/// `cmd` (run or check) of the sim's full app: with `--profile p` or with the flags.
fn command(sim: &Sim, env: &TestEnv, cmd: &str, profile: bool) -> std::process::Command {
    let mut c = env.std_command();
    c.arg(cmd);
    if profile {
        c.args(["--profile", "p"]);
    } else {
        c.args(sim.connect_flags(DemoAppKind::Full, &[]));
    }
    if cmd == "run" {
        c.arg("-o").arg(env.out("out")).arg("-q");
    }
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every way of running that signs in with a secret from outside the profile.
fn every_command(sim: &Sim, env: &TestEnv) -> Vec<(String, std::process::Command)> {
    let mut all = Vec::new();
    for cmd in ["run", "check"] {
        for profile in [false, true] {
            let what = format!("{cmd}{}", if profile { " --profile" } else { "" });
            all.push((what, command(sim, env, cmd, profile)));
        }
    }
    let mut every = env.std_command();
    every.args(["run", "--all", "-q"]);
    all.push(("run --all".into(), every));
    all
}

/// Every command of [`every_command`], with `var` set, signs in and succeeds.
fn every_command_signs_in_with(sim: &Sim, env: &TestEnv, var: (&str, &std::ffi::OsStr)) {
    for (what, mut c) in every_command(sim, env) {
        let o = c.env(var.0, var.1).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
    }
}

#[test]
fn a_trailing_newline_in_the_environment_is_dropped_with_and_without_a_profile() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "p", &env.out("out"), &[]);
    let secret = format!("{}\n", sim.app(DemoAppKind::Full).client_secret);
    every_command_signs_in_with(&sim, &env, ("ENTRA_EXTRACT_CLIENT_SECRET", secret.as_ref()));
}

#[test]
fn a_systemd_credential_is_honoured_with_and_without_a_profile() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "p", &env.out("out"), &[]);
    let credentials = env.root.path().join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    std::fs::write(
        credentials.join("entra-extract-client-secret"),
        format!("{}\n", sim.app(DemoAppKind::Full).client_secret),
    )
    .unwrap();
    every_command_signs_in_with(
        &sim,
        &env,
        ("CREDENTIALS_DIRECTORY", credentials.as_os_str()),
    );
}

#[test]
fn a_refused_secret_with_whitespace_around_it_is_named() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "p", &env.out("out"), &[]);
    let secret = sim.app(DemoAppKind::Full).client_secret;
    for (what, mut c) in every_command(&sim, &env) {
        let o = c
            .env("ENTRA_EXTRACT_CLIENT_SECRET", format!("{secret} "))
            .output()
            .unwrap();
        assert_exit(&o, 3);
        // `run --all` reports each profile on its own line of stdout.
        let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(
            said.contains("ends with whitespace") && said.contains("ENTRA_EXTRACT_CLIENT_SECRET"),
            "{what}: {said}"
        );
        assert!(!said.contains(&secret), "{what}: the secret was printed");
    }
    // A wrong secret without whitespace is only wrong.
    let mut c = command(&sim, &env, "run", false);
    let o = c
        .env("ENTRA_EXTRACT_CLIENT_SECRET", "Wr0ng~secret.value")
        .output()
        .unwrap();
    assert_exit(&o, 3);
    assert!(!stderr(&o).contains("whitespace"), "{}", stderr(&o));
}
