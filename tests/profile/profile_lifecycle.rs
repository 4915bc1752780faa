//! What `profile remove`, `rename` and `set-secret --storage` do to everything a profile
//! has besides its file, through the binary and real runs against the simulated tenant: the
//! incremental state (`<data>/state/<name>/`, a copy of the last run's four files) goes with
//! the profile or moves with it; the secret moves between storages with no copy left
//! behind, and the advice of every "no keyring" error works when followed.

use crate::common;

use common::{
    Sim, TestEnv, assert_exit, create_profile, json_stdout, profile_list, run_profile_ok,
};
use entra_sim::DemoAppKind;
use serde_json::Value;

/// `profile ARGS…`, which must succeed.
fn profile(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let o = profile_exits(env, args);
    assert_exit(&o, 0);
    o
}

/// `profile ARGS…`, whatever its exit.
fn profile_exits(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.command().arg("profile").args(args).output().unwrap()
}

#[test]
fn remove_deletes_the_incremental_state_and_says_so() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(&sim, &env, "gone", &env.out("out"), &[]);
    run_profile_ok(&sim, &env, "gone");
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
    run_profile_ok(&sim, &env, "a");
    // What an earlier version left of a removed profile "b": not b's state any more.
    let stale = env.data_dir().join("state").join("b");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("state.json"), "{}").unwrap();

    let o = profile(&env, &["rename", "a", "b"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("incremental state"), "{said}");
    assert!(!env.data_dir().join("state").join("a").exists());
    let next = run_profile_ok(&sim, &env, "b");
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// What is left of a profile that no longer exists: an earlier version's `remove` deleted
/// the file and the secret, not the incremental state (a copy of the last run's files); a
/// profile file deleted by hand leaves its history and a plaintext secret too. `profile
/// list` points at them with the command that deletes them, and `profile remove` of the
/// gone profile deletes them and says exactly what it deleted. With nothing left, removing
/// it is an error as for any unknown profile.
#[test]
fn remove_deletes_what_is_left_of_a_profile_that_no_longer_exists() {
    let sim = Sim::small();
    let env = TestEnv::new();
    create_profile(
        &sim,
        &env,
        "gone",
        &env.out("gone"),
        &["--plaintext-secret-file"],
    );
    let secret = sim.app(DemoAppKind::Full).client_secret;
    assert_exit(&set_secret(&env, &["gone", "--stdin"], &secret), 0);
    create_profile(&sim, &env, "kept", &env.out("kept"), &[]);
    for name in ["gone", "kept"] {
        run_profile_ok(&sim, &env, name);
    }
    let state = env.data_dir().join("state").join("gone");
    let history = env.data_dir().join("history").join("gone.jsonl");
    let secret_file = env.config_dir().join("secrets").join("gone");
    let left = [&state, &history, &secret_file];
    assert!(left.iter().all(|p| p.exists()) && state.join("state.json").exists());
    std::fs::remove_file(env.config_dir().join("profiles").join("gone.toml")).unwrap();

    let listed = profile(&env, &["list"]);
    let said = String::from_utf8_lossy(&listed.stdout);
    for p in left {
        assert!(said.contains(&p.display().to_string()), "{said}");
    }
    assert!(
        said.contains("`entra-extract profile remove gone`"),
        "{said}"
    );
    // `--json` lists the profiles only; the leftovers are named on stderr.
    let o = profile(&env, &["list", "--json"]);
    let rows = json_stdout(&o);
    let names: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(names, ["kept"]);
    assert!(
        stderr(&o).contains("`entra-extract profile remove gone`"),
        "{}",
        stderr(&o)
    );

    // A new profile under that name would inherit the removed profile's history and
    // state: refused, pointing at the command that deletes them.
    let app = sim.app(DemoAppKind::Full);
    let (base, tenant) = (sim.base(), sim.tenant());
    let out = env.out("new-gone");
    let create = [
        "create",
        "gone",
        "--cloud",
        "custom",
        "--authority-url",
        &base,
        "--graph-url",
        &base,
        "--tenant",
        &tenant,
        "--client-id",
        &app.client_id,
        "--output-dir",
        out.to_str().unwrap(),
    ];
    let o = profile_exits(&env, &create);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("`entra-extract profile remove gone`"),
        "{}",
        stderr(&o)
    );
    assert!(!env.config_dir().join("profiles").join("gone.toml").exists());
    assert!(left.iter().all(|p| p.exists()));

    let o = profile(&env, &["remove", "gone"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("no profile gone"), "{said}");
    for p in left {
        assert!(!p.exists(), "left behind: {}", p.display());
        assert!(said.contains(&p.display().to_string()), "{said}");
    }
    // The other profile keeps everything, and nothing is left to list.
    assert!(
        env.data_dir()
            .join("state")
            .join("kept")
            .join("state.json")
            .exists()
    );
    assert_eq!(profile_list(env.command()).as_array().unwrap().len(), 1);
    let listed = profile(&env, &["list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("gone"));

    // Nothing left: an error, as before.
    let again = profile_exits(&env, &["remove", "gone"]);
    assert_exit(&again, 2);
    assert!(
        stderr(&again).contains("no profile named \"gone\""),
        "{}",
        stderr(&again)
    );
}

/// `profile set-secret NAME …` with `input` on stdin.
fn set_secret(env: &TestEnv, args: &[&str], input: &str) -> std::process::Output {
    set_secret_with(env.command(), args, input)
}

/// [`set_secret`] with `ENTRA_EXTRACT_CLIENT_SECRET` (or another variable) set.
fn set_secret_env(env: &TestEnv, args: &[&str], var: (&str, &str)) -> std::process::Output {
    let mut command = env.command();
    command.env(var.0, var.1);
    set_secret_with(command, args, "")
}

/// [`set_secret`] with `command`'s environment.
fn set_secret_with(
    mut command: assert_cmd::Command,
    args: &[&str],
    input: &str,
) -> std::process::Output {
    command
        .args(["profile", "set-secret"])
        .args(args)
        .write_stdin(input)
        .output()
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A directory holding `entra-extract-client-secret`, as systemd hands a unit's credential.
fn credentials_directory(env: &TestEnv, secret: &str) -> std::path::PathBuf {
    let dir = env.root.path().join("credentials");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("entra-extract-client-secret"), secret).unwrap();
    dir
}

/// No keyring here: storing the secret of a saved profile is refused with advice for that
/// profile, and each piece of advice, followed, gives a profile whose runs sign in. (The
/// advice once the kernel keyring is chosen is the unit test
/// `the_kernel_keyring_is_offered_only_to_someone_who_has_not_chosen_it`: whether the kernel
/// keyring refuses depends on the machine, so a test here could not be sure to see it.)
#[test]
fn without_a_keyring_each_piece_of_advice_for_a_saved_profile_works_when_followed() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let secret = sim.app(DemoAppKind::Full).client_secret;
    let credentials = credentials_directory(&env, &secret);
    for (storage, name) in [
        ("plaintext-file", "plain"),
        ("environment", "env"),
        ("systemd-credential", "unit"),
    ] {
        create_profile(&sim, &env, name, &env.out(name), &[]);
        let refused = set_secret(&env, &[name, "--stdin"], &secret);
        assert_exit(&refused, 2);
        let advice = stderr(&refused);
        assert!(
            advice.contains(&format!(
                "`entra-extract profile set-secret {name} --storage "
            )) && advice.contains(&format!("--storage {storage}")),
            "{advice}"
        );
        assert!(!advice.contains(&secret));

        // Followed (a secret that is stored is read from stdin, as a script gives it).
        let mut args = vec![name, "--storage", storage];
        if storage == "plaintext-file" {
            args.push("--stdin");
        }
        let followed = set_secret(&env, &args, &format!("{secret}\n"));
        assert_exit(&followed, 0);
        let mut run = env.command();
        run.args(["run", "--profile", name, "-q"]);
        match storage {
            "environment" => run.env("ENTRA_EXTRACT_CLIENT_SECRET", &secret),
            "systemd-credential" => run.env("CREDENTIALS_DIRECTORY", &credentials),
            _ => &mut run,
        };
        assert_exit(&run.output().unwrap(), 0);
    }
}

/// A profile's secret moves from a file to the environment and back: the old copy goes
/// only once the new place holds the secret, and nothing is left behind.
#[test]
fn a_secret_moves_between_storages_without_a_copy_left_behind() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let secret = sim.app(DemoAppKind::Full).client_secret;
    create_profile(
        &sim,
        &env,
        "p",
        &env.out("out"),
        &["--plaintext-secret-file"],
    );
    assert_exit(&set_secret(&env, &["p", "--stdin"], &secret), 0);
    let file = env.config_dir().join("secrets").join("p");
    assert!(file.exists());

    // To the environment: the file is the only copy, so the environment must hold it first.
    let refused = set_secret(&env, &["p", "--storage", "environment"], "");
    assert_exit(&refused, 2);
    let advice = stderr(&refused);
    assert!(advice.contains("ENTRA_EXTRACT_CLIENT_SECRET"), "{advice}");
    assert!(file.exists(), "the only copy was deleted");
    let with_secret = ("ENTRA_EXTRACT_CLIENT_SECRET", secret.as_str());
    let moved = set_secret_env(&env, &["p", "--storage", "environment"], with_secret);
    assert_exit(&moved, 0);
    assert!(!file.exists(), "the old copy stayed");
    let show = env
        .command()
        .args(["profile", "show", "p", "--json"])
        .output()
        .unwrap();
    assert!(
        json_stdout(&show)["secret_storage"] == "environment",
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );

    // Back to a file, from the environment this command runs in.
    let back = set_secret_env(&env, &["p", "--storage", "plaintext-file"], with_secret);
    assert_exit(&back, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), secret);
    let run = env
        .command()
        .args(["run", "--profile", "p", "-q"])
        .output()
        .unwrap();
    assert_exit(&run, 0);
}

/// A plaintext secret file that cannot be read — readable by others after a backup was
/// restored, or not a file at all — was never compared with the secret given, so moving the
/// secret to the environment keeps it and says where it is, in the words of a file (not of
/// a keyring it never was in).
#[test]
fn an_unreadable_secret_file_is_kept_when_the_secret_moves_and_named_as_a_file() {
    use std::path::Path;
    #[cfg(unix)] // modes
    fn open_to_others(file: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap()
    }
    #[cfg(windows)] // DACLs
    fn open_to_others(file: &Path) {
        entra_extract::private_fs::windows::open_to_everyone(file)
    }
    fn not_a_file(file: &Path) {
        std::fs::remove_file(file).unwrap();
        std::fs::create_dir(file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
    let sim = Sim::small();
    let env = TestEnv::new();
    let secret = sim.app(DemoAppKind::Full).client_secret;
    type MakeUnreadable = fn(&Path);
    let cases: &[(&str, MakeUnreadable)] = &[("dir", not_a_file), ("open", open_to_others)];
    for &(name, make_unreadable) in cases {
        create_profile(
            &sim,
            &env,
            name,
            &env.out(name),
            &["--plaintext-secret-file"],
        );
        assert_exit(&set_secret(&env, &[name, "--stdin"], &secret), 0);
        let file = env.config_dir().join("secrets").join(name);
        make_unreadable(&file);

        let with_secret = ("ENTRA_EXTRACT_CLIENT_SECRET", secret.as_str());
        let moved = set_secret_env(&env, &[name, "--storage", "environment"], with_secret);
        assert_exit(&moved, 0);
        assert!(
            file.exists(),
            "{name}: the copy nobody could compare was deleted"
        );
        let warning = stderr(&moved);
        assert!(
            warning.contains(&file.display().to_string()) && !warning.contains("keyring"),
            "{name}: {warning}"
        );
    }
}

/// With the keyring disabled (`ENTRA_EXTRACT_KEYRING_STORE=none`, as every command here
/// runs), a profile that keeps its secret in the keyring is not taken to hold none there:
/// moving it to a file asks for the value, saying the keyring is disabled; moving it to the
/// environment names the keyring entry that may remain, as nothing could read or delete it.
#[test]
fn a_disabled_keyring_is_not_taken_to_hold_no_secret() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let secret = sim.app(DemoAppKind::Full).client_secret;
    create_profile(&sim, &env, "p", &env.out("p"), &[]);

    let refused = set_secret(&env, &["p", "--storage", "plaintext-file"], "");
    assert_exit(&refused, 2);
    let said = stderr(&refused);
    assert!(
        said.contains("disabled") && !said.contains("holds none"),
        "{said}"
    );

    let with_secret = ("ENTRA_EXTRACT_CLIENT_SECRET", secret.as_str());
    let moved = set_secret_env(&env, &["p", "--storage", "environment"], with_secret);
    assert_exit(&moved, 0);
    let warning = stderr(&moved);
    assert!(
        warning.contains("user \"profile:p\"") && warning.contains("disabled"),
        "{warning}"
    );
}
