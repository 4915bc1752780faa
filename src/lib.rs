//! entra-extract: read a Microsoft Entra ID tenant through Microsoft Graph and write CSV files.
//!
//! Data flows one way: `tui` → `extract` → `graph`. The simulated tenant the `sim` and `demo`
//! commands serve is its own crate (`entra-sim`, crates/entra-sim), which cannot import this
//! one, so tests against it prove something.

// Outside tests: no `unwrap` (an `expect` says why it cannot fail) and no function longer
// than clippy.toml's threshold (a function is one phase). Tests may do both.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::too_many_lines))]

pub mod cli;
pub mod extract;
pub mod graph;
pub mod logging;
pub mod permissions;
pub mod private_fs;
pub mod profile;
pub mod registration;
pub mod schedule;
pub mod secret;
pub mod session;
pub mod signals;
pub mod tui;
