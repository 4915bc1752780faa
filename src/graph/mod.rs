//! Microsoft Graph client: endpoints, authentication, the one retry and pacing policy,
//! paging, batching and typed errors.

mod auth;
mod batch;
mod client;
pub mod cloud;
mod config;
mod credential;
mod error;
mod pacing;
mod paging;
mod retry;
mod stats;

pub use auth::{AccessToken, TokenClaims, TokenDecodeError};
pub use batch::{BatchItem, BatchRequest, BatchResponse, MAX_BATCH};
pub use client::GraphClient;
pub use cloud::{Cloud, EndpointError, Endpoints};
pub use config::GraphConfig;
pub use credential::{CLIENT_ASSERTION_TYPE, Credential};
pub use error::{AuthError, CredentialField, GraphError};
pub use pacing::{PacingPolicy, estimate_ru};
pub use paging::{Page, Pager};
pub use retry::{RetryPolicy, parse_retry_after};
pub use stats::RequestStats;
