//! `cli::run::run_connected`, the run behind `run` and `demo --headless`, called as a library
//! function: it must work on any tokio runtime, not only the binary's.

use crate::common;

use clap::Parser;
use common::{Sim, TestEnv, create_profile};
use entra_extract::cli::Exit;
use entra_extract::cli::connect::Connection;
use entra_extract::cli::run::{RunArgs, run_connected};
use entra_extract::graph::Credential;
use entra_extract::profile::{Dirs, ProfileName, ProfileStore};
use entra_extract::session::AppTarget;
use entra_sim::DemoAppKind;

/// The arguments of `run`, parsed as the binary parses them.
#[derive(clap::Parser)]
struct RunCommand {
    #[command(flatten)]
    args: RunArgs,
}

/// A saved profile's run, which records itself in the profile's history after its files
/// are written, on a current-thread runtime (`#[tokio::test]`'s): it completes and is
/// recorded, instead of panicking where it records.
#[test]
fn a_profile_run_completes_and_is_recorded_on_a_current_thread_runtime() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "contoso", &out, &[]);
    let dirs = Dirs::new(env.config_dir(), env.data_dir());
    let profile = ProfileStore::new(dirs.clone())
        .load(&ProfileName::new("contoso").unwrap())
        .unwrap();
    let secret = entra_extract::secret::into_secret(sim.app(DemoAppKind::Full).client_secret);
    let conn = Connection {
        client: AppTarget::of_profile(&profile, Credential::Secret(secret))
            .client()
            .unwrap(),
        cloud: profile.cloud,
        profile: Some(profile),
        dirs: Some(dirs.clone()),
        secret_notes: Default::default(),
    };
    // `run --json -q`, with clap's defaults for the rest.
    let args = RunCommand::parse_from(["run", "--json", "-q"]).args;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exit = runtime.block_on(run_connected(conn, &args)).unwrap();

    assert_eq!(exit, Exit::Success);
    let history = std::fs::read_to_string(dirs.history().join("contoso.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 1, "{history}");
    assert!(history.contains("\"success\""), "{history}");
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));
}
