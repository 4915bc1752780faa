//! What `profile remove` and `profile rename` do to everything a profile has besides its
//! file, through the binary after real runs against the simulated tenant: the incremental
//! state (`<data>/state/<name>/`, a copy of the last run's four files) goes with the
//! profile or moves with it.

mod common;

use common::{Sim, TestEnv, assert_exit, create_profile, json_stdout};
use entra_extract::sim::DemoAppKind;
use serde_json::Value;

fn run_profile(sim: &Sim, env: &TestEnv, name: &str) -> Value {
    let o = env
        .command()
        .args(["run", "--profile", name, "--json", "-q"])
        .env(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            sim.app(DemoAppKind::Full).client_secret,
        )
        .output()
        .unwrap();
    assert_exit(&o, 0);
    json_stdout(&o)
}

fn profile(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let o = env.command().arg("profile").args(args).output().unwrap();
    assert_exit(&o, 0);
    o
}

#[test]
fn remove_deletes_the_incremental_state_and_says_so() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "gone", &env.out("out"), &[]);
    run_profile(&sim, &env, "gone");
    let state = env.data_dir().join("state").join("gone");
    assert!(state.join("state.json").exists());

    let o = profile(&env, &["remove", "gone"]);
    assert!(!state.exists(), "left behind: {}", state.display());
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("incremental state"), "{said}");
}

#[test]
fn rename_moves_the_incremental_state_so_the_next_run_reads_only_the_changes() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "a", &env.out("out"), &[]);
    run_profile(&sim, &env, "a");
    // What an earlier version left of a removed profile "b": not b's state any more.
    let stale = env.data_dir().join("state").join("b");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("state.json"), "{}").unwrap();

    let o = profile(&env, &["rename", "a", "b"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("incremental state"), "{said}");
    assert!(!env.data_dir().join("state").join("a").exists());
    let next = run_profile(&sim, &env, "b");
    assert_eq!(next["mode"], "incremental", "{next}");
}
