//! The headless commands (`run`, `check`) through the binary against the simulated tenant,
//! and the output set through the library. One test binary (one link, one Wine start); each
//! module is one subject.

mod check_apps;
#[path = "../common/mod.rs"]
mod common;
mod exit_codes;
mod extract_output;
mod first_use;
mod run_all;
mod run_atomic;
mod run_bad_input;
mod run_demo_apps;
mod run_faults;
mod run_incremental;
mod run_library;
mod run_plans;
mod run_profiles;
mod run_proxy;
mod run_truth;
mod secret_sources;
mod soak;
