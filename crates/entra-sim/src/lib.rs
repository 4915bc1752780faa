//! Simulated Entra tenant: token endpoint and Microsoft Graph v1.0 on loopback.
//!
//! An independent oracle for entra-extract's tests, demo and benchmarks: a crate of its own
//! that depends on nothing of the client, only std and third-party crates. Behaviours rest
//! on /work/shared/graph-reference.md (sections cited in doc comments) and are described in
//! docs/simulator.md.

// Outside tests: no `unwrap` (an `expect` says why it cannot fail) and no function longer
// than clippy.toml's threshold (a function is one phase). Tests may do both.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::too_many_lines))]

mod apps;
mod batch;
mod config;
mod crypto;
mod delta;
mod device;
mod evolve;
mod fault;
mod generate;
pub(crate) mod graph_api;
mod index;
mod json;
mod model;
mod odata;
mod server;
mod state;
mod stats;
mod tenant_routes;
mod throttle;
mod token;
mod truth;

pub use apps::{DemoApp, DemoAppKind, DemoCertificate};
pub use config::{
    DeviceApproval, HiddenMembers, LatencyModel, LatencyProfile, Preset, SimAdmin, SimConfig,
    SizeSpec, ThrottleConfig, TlsOptions,
};
pub use fault::{FaultKind, FaultSpec, RetryAfter, Trigger};
pub use server::{SimHandle, start};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1:{0}: {1} (choose another --port, or 0 for any free port)")]
    Bind(u16, #[source] std::io::Error),
    #[error("cannot write {0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("key or certificate generation failed: {0}")]
    Crypto(String),
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("internal simulator error: {0}")]
    Internal(String),
}
