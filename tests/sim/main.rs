//! The simulated tenant (crates/entra-sim) seen from outside: raw HTTP the way a Graph client
//! speaks it (`sim_support`), and `entra-extract sim` through the binary. One test binary
//! (one link, one Wine start); each module is one subject.

#[path = "../common/mod.rs"]
mod common;
mod sim_access;
mod sim_app_registration;
mod sim_batch;
mod sim_bench_profile;
mod sim_cli;
mod sim_delta;
mod sim_evolve;
mod sim_faults;
mod sim_load;
mod sim_paging;
mod sim_request_plans;
mod sim_size;
mod sim_support;
mod sim_throttle;
mod sim_tls;
mod sim_token;
