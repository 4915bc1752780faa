//! The repository's own promises: CI scripts do what README says, the command line's reference
//! matches README and the man pages, and dependencies between modules point one way. One test
//! binary; each module is one subject.

mod ci_scripts;
mod cli_reference;
#[path = "../common/mod.rs"]
mod common;
mod layering;
