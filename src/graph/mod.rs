//! Microsoft Graph client: endpoints, authentication, the one retry and pacing policy,
//! paging, batching and typed errors.
//!
//! ```no_run
//! # async fn demo() -> Result<(), entra_extract::graph::GraphError> {
//! use entra_extract::graph::{Cloud, Credential, Endpoints, GraphClient, GraphConfig};
//! use futures::StreamExt;
//!
//! let endpoints = Endpoints::resolve(Cloud::Global, None, None).expect("known cloud");
//! let secret = secrecy::SecretString::from("…");
//! let client = GraphClient::new(GraphConfig::new(endpoints, "contoso.com", "app-id", Credential::Secret(secret)))?;
//! let roles = client.token().await?.claims().map(|c| c.roles.clone()).unwrap_or_default();
//! let total = client.count("users").await?;
//! let mut pages = std::pin::pin!(client.pages("/users?$select=id,displayName&$top=999"));
//! while let Some(page) = pages.next().await {
//!     for user in page?.items { /* write a CSV row */ let _ = user; }
//! }
//! println!("{total} users, roles {roles:?}, {:?}", client.stats());
//! # Ok(()) }
//! ```

mod admin_sign_in;
mod auth;
mod batch;
mod client;
pub mod cloud;
mod config;
mod credential;
mod error;
mod ids;
mod object_key;
mod pacing;
mod paging;
mod retry;
mod stats;
mod tls;

pub use admin_sign_in::{
    ADMIN_SCOPES, AdminSignInError, DEFAULT_ADMIN_CLIENT_ID, DeviceCodePrompt, SignedInAdmin,
};
pub use auth::{AccessToken, TokenClaims, TokenDecodeError};
pub use batch::{BatchItem, BatchRequest, BatchResponse, MAX_BATCH};
pub use client::GraphClient;
pub use cloud::{Cloud, EndpointError, Endpoints};
pub use config::GraphConfig;
pub use credential::{CLIENT_ASSERTION_TYPE, Credential, DelegatedGrant};
pub use error::{AuthError, CredentialField, GraphError};
pub use ids::{ClientId, FormatError, TenantRef, client_id, is_dns_domain, is_guid, tenant};
pub use object_key::ObjectKey;
pub use pacing::{PacingPolicy, estimate_ru};
pub use paging::{EXPIRED_PAGE_TOKEN, Page, PageItem, Pager};
pub use retry::{RetryPolicy, human as human_duration, parse_retry_after};
pub use stats::RequestStats;
