//! Bad input to `run` and `check`: refused with exit 2 and a message naming the input,
//! before any request reaches the tenant; an unusable output directory fails cleanly.

use crate::common;

use common::{Sim, TestEnv, assert_exit};
use entra_sim::DemoAppKind;

/// Requests the simulator has seen at the token endpoint and Graph (not counting the
/// stats requests of the test itself).
fn requests(sim: &Sim) -> u64 {
    let s = sim.stats();
    s["tokenRequests"].as_u64().unwrap() + s["graphRequests"].as_u64().unwrap()
}

/// Runs `run` (or `check`) for the full app with some connection flags replaced and `args`
/// added; asserts exit 2, no request sent and no output directory created; returns stderr.
fn refused_with(sim: &Sim, cmd: &str, replace: &[(&str, &str)], args: &[&str]) -> String {
    let env = TestEnv::new();
    let out = env.out("out");
    let before = requests(sim);
    let mut c = env.command();
    c.arg(cmd)
        .args(sim.connect_flags(DemoAppKind::Full, replace))
        .env(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            sim.app(DemoAppKind::Full).client_secret,
        );
    if cmd == "run" {
        c.arg("-o").arg(&out);
    }
    let o = c.args(args).output().unwrap();
    assert_exit(&o, 2);
    assert_eq!(requests(sim), before, "a request was sent for {args:?}");
    assert!(!out.exists(), "output directory created for {args:?}");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn refused(sim: &Sim, cmd: &str, args: &[&str]) -> String {
    refused_with(sim, cmd, &[], args)
}

fn replaced(sim: &Sim, cmd: &str, flag: &str, value: &str) -> String {
    refused_with(sim, cmd, &[(flag, value)], &[])
}

#[test]
fn malformed_tenant_and_client_id_are_refused() {
    let sim = Sim::small();
    for cmd in ["run", "check"] {
        let e = replaced(&sim, cmd, "--tenant", "not a tenant!");
        assert!(
            e.contains("--tenant") && e.contains("Directory (tenant) ID"),
            "{e}"
        );
        let e = replaced(&sim, cmd, "--client-id", "nope");
        assert!(e.contains("--client-id") && e.contains("GUID"), "{e}");
    }
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let sim = Sim::small();
    let e = replaced(&sim, "run", "--authority-url", "http://login.example.com");
    assert!(e.contains("https"), "{e}");
    let e = replaced(&sim, "check", "--graph-url", "http://10.0.0.1");
    assert!(e.contains("https"), "{e}");
}

#[test]
fn missing_secret_is_refused() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let before = requests(&sim);
    let o = sim
        .command(&env, "run", DemoAppKind::Full)
        .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
        .arg("-o")
        .arg(env.out("out"))
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ENTRA_EXTRACT_CLIENT_SECRET"));
    assert_eq!(requests(&sim), before);
}

#[test]
fn bad_domain_prefix_and_extra_attribute_are_refused() {
    let sim = Sim::small();
    for prefix in ["../x", "CON", "a|b", " lead", ""] {
        let e = refused(&sim, "run", &["--domain-prefix", prefix]);
        assert!(e.contains("--domain-prefix"), "{prefix:?}: {e}");
    }
    let e = refused(&sim, "run", &["--extra-user-attribute", "bad attr"]);
    assert!(e.contains("bad attr"), "{e}");
    let e = refused(&sim, "run", &["--extra-user-attribute", "displayName"]);
    assert!(e.contains("displayName"), "{e}");
}

#[test]
fn output_path_that_is_a_file_is_refused() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let file = env.out("a-file");
    std::fs::write(&file, b"keep").unwrap();
    for out in [file.clone(), file.join("sub")] {
        let before = requests(&sim);
        let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
        assert_exit(&o, 2);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("not a directory"), "{stderr}");
        assert_eq!(
            requests(&sim),
            before,
            "a request was sent for {}",
            out.display()
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"keep");
    }
}

/// An output directory that cannot be written is refused before signing in, with nothing
/// created. `/proc` refuses new entries even to root, so this runs the same for every user.
#[cfg(target_os = "linux")]
#[test]
fn unwritable_output_dir_is_refused_before_sign_in() {
    let sim = Sim::small();
    let env = TestEnv::new();
    for out in [
        std::path::PathBuf::from("/proc/entra-extract-test"),
        std::path::PathBuf::from("/proc/entra-extract-test/nested"),
    ] {
        let before = requests(&sim);
        let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
        assert_exit(&o, 2);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("output directory /proc/entra-extract-test"),
            "{stderr}"
        );
        assert_eq!(
            requests(&sim),
            before,
            "a request was sent for {}",
            out.display()
        );
        assert!(!out.exists());
    }
}

#[test]
fn a_negative_ru_budget_says_what_is_expected() {
    let sim = Sim::small();
    for cmd in ["run", "check"] {
        for value in ["-1", "lots"] {
            let e = refused(&sim, cmd, &["--ru-budget", value]);
            assert!(
                e.contains("--ru-budget") && e.contains("not a resource-unit budget"),
                "{cmd} {value}: {e}"
            );
            assert!(!e.contains("unexpected argument"), "{e}");
        }
    }
}

/// A hand-edited profile with a bad client id or tenant: the message names the profile's
/// file and key, not a flag the user never typed; a flag that overrides it is named as such.
#[test]
fn a_bad_identifier_in_a_profile_names_the_profile_file_and_key() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let profiles = env.config_dir().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let base = sim.base();
    let write = |tenant: &str, client_id: &str| {
        std::fs::write(
            profiles.join("acme.toml"),
            format!(
                "schema_version = 1\nname = \"acme\"\ncloud = \"custom\"\nauthority_url = \"{base}\"\ngraph_url = \"{base}\"\ntenant = \"{tenant}\"\nclient_id = \"{client_id}\"\noutput_dir = '{}'\n",
                env.out("out").display()
            ),
        )
        .unwrap();
    };
    let run = |extra: &[&str]| {
        let before = requests(&sim);
        let o = env
            .command()
            .args(["run", "--profile", "acme", "-q"])
            .args(extra)
            .env(
                "ENTRA_EXTRACT_CLIENT_SECRET",
                sim.app(DemoAppKind::Full).client_secret,
            )
            .output()
            .unwrap();
        assert_exit(&o, 2);
        assert_eq!(requests(&sim), before);
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // The file is checked when it is read: its path, line and key are named.
    write(&sim.tenant(), "nope");
    let e = run(&[]);
    assert!(
        e.contains("acme.toml") && e.contains("line 7") && e.contains("`client_id`"),
        "{e}"
    );
    assert!(!e.contains("--client-id"), "{e}");
    write("not a tenant!", &sim.app(DemoAppKind::Full).client_id);
    let e = run(&[]);
    assert!(e.contains("line 6") && e.contains("`tenant`"), "{e}");
    // A flag over a good profile is named as the flag.
    write(&sim.tenant(), &sim.app(DemoAppKind::Full).client_id);
    let e = run(&["--client-id", "also-bad"]);
    assert!(e.contains("--client-id \"also-bad\""), "{e}");
}
