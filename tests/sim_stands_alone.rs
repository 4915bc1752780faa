//! The simulator is an independent oracle only while it imports nothing from the client
//! (`graph`, `extract`, `tui`, `cli`, `session`, `profile`, `secret`, `permissions`, ...):
//! every `crate::` path in `src/sim` must stay under `crate::sim`, and no `super::` chain may
//! climb out of it.

use std::path::{Path, PathBuf};

/// Fewer files than this means the walk missed the sources, not that they are clean.
const MIN_FILES: usize = 20;

#[test]
fn simulator_imports_nothing_from_the_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim");
    let mut files = Vec::new();
    collect_rs(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= MIN_FILES && files.contains(&root.join("mod.rs")),
        "found only {} .rs files under {}",
        files.len(),
        root.display()
    );
    let mut violations = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(&root).unwrap();
        for (n, line) in text.lines().enumerate() {
            for what in outside_paths(line, depth(rel)) {
                violations.push(format!("src/sim/{}:{}: {what}", rel.display(), n + 1));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the simulator reaches outside src/sim (use `super::` or `crate::sim::` paths, \
         and nothing from the client modules):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_forbids() {
    for client in [
        "graph",
        "extract",
        "tui",
        "cli",
        "session",
        "profile",
        "secret",
        "permissions",
    ] {
        let line = format!("use crate::{client}::Thing;");
        assert_eq!(outside_paths(&line, 1), [format!("crate::{client}")]);
    }
    assert!(outside_paths("use crate::sim::model::User;", 1).is_empty());
    assert!(outside_paths("crate::sim::graph_api::format_secs(s)", 1).is_empty());
    assert_eq!(outside_paths("use crate::{sim, graph};", 1), ["crate::{"]);
    // From src/sim/x.rs one `super` is sim itself; from src/sim/g/y.rs, two are.
    assert!(outside_paths("use super::model::User;", 1).is_empty());
    assert_eq!(
        outside_paths("use super::super::graph;", 1),
        ["super::super"]
    );
    assert!(outside_paths("use super :: super::model;", 2).is_empty());
    assert_eq!(outside_paths("use super::super::super::cli;", 2).len(), 1);
    assert_eq!(outside_paths("pub(super) fn f() {}", 0).len(), 1);
    assert!(outside_paths("let superb = supers::x; // crate_sim::y", 0).is_empty());
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// How many `super`s lead from this file's module back to `sim`: `mod.rs` is its folder's
/// module, so `mod.rs` is 0, `x.rs` and `g/mod.rs` are 1, `g/y.rs` is 2.
fn depth(rel: &Path) -> usize {
    let n = rel.components().count();
    if rel.file_name().is_some_and(|f| f == "mod.rs") {
        n - 1
    } else {
        n
    }
}

/// The paths on this line that leave `crate::sim`: `crate::` followed by anything but `sim`,
/// and `super` chains longer than `depth`.
fn outside_paths(line: &str, depth: usize) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        if !starts_word(line, at) {
            continue;
        }
        let rest = &line[at + "crate::".len()..];
        let next: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if next != "sim" {
            let shown = if next.is_empty() {
                rest.chars().take(1).collect()
            } else {
                next
            };
            found.push(format!("crate::{shown}"));
        }
    }
    let mut at = 0;
    while let Some(i) = line[at..].find("super") {
        let start = at + i;
        at = start + "super".len();
        if !starts_word(line, start) || !ends_word(line, at) {
            continue;
        }
        let mut chain = 1;
        loop {
            let rest = line[at..].trim_start();
            let Some(rest) = rest.strip_prefix("::") else {
                break;
            };
            let rest = rest.trim_start();
            let skipped = line.len() - rest.len();
            if rest.starts_with("super") && ends_word(line, skipped + "super".len()) {
                chain += 1;
                at = skipped + "super".len();
            } else {
                break;
            }
        }
        if chain > depth {
            found.push(vec!["super"; chain].join("::"));
        }
    }
    found
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn starts_word(line: &str, at: usize) -> bool {
    !line[..at].chars().next_back().is_some_and(is_word_char)
}

fn ends_word(line: &str, at: usize) -> bool {
    !line[at..].chars().next().is_some_and(is_word_char)
}
