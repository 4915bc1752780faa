//! Dependencies point one way: `cli`/`session` (wiring) → `tui` → `extract` → `graph`.
//! Checked on the source text, so a stray `use` fails here instead of in review. The
//! simulated tenant is a crate of its own (crates/entra-sim), which the compiler keeps from
//! importing the client; here, the client is kept from relying on the simulator outside the
//! two commands that serve it.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/<dir>`.
fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir),
        &mut out,
    );
    out
}

/// Files under `src/<dir>` that mention any of `forbidden` (`crate::x` paths).
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let files = sources(dir);
    assert!(files.len() >= 3, "src/{dir} has only {} files", files.len());
    files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let hits: Vec<&str> = forbidden
                .iter()
                .copied()
                .filter(|m| text.contains(&format!("crate::{m}")))
                .collect();
            (!hits.is_empty()).then(|| format!("{} uses {hits:?}", f.display()))
        })
        .collect()
}

#[test]
fn the_wizard_depends_on_its_service_trait_not_on_the_wiring() {
    let bad = offenders("tui", &["session", "secret", "cli"]);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_engine_and_the_client_never_reach_up() {
    let up = ["tui", "cli", "session"];
    for dir in ["extract", "graph", "permissions", "profile", "secret"] {
        let bad = offenders(dir, &up);
        assert!(bad.is_empty(), "{bad:#?}");
    }
    let bad = offenders("graph", &["extract", "permissions", "profile", "secret"]);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn only_the_sim_and_demo_commands_use_the_simulated_tenant() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut users: Vec<String> = sources("")
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("entra_sim"))
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().components();
            rel.map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    users.sort();
    assert_eq!(users, ["cli/demo.rs", "cli/sim.rs"]);
}
