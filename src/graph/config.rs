//! Everything a [`GraphClient`](super::GraphClient) needs to know, in one value.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::cloud::Endpoints;
use super::credential::Credential;
use super::ids::{ClientId, TenantRef};
use super::pacing::PacingPolicy;
use super::retry::RetryPolicy;

/// Connection settings for one tenant.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Authority and Graph roots (already validated: https, or http to loopback only).
    pub endpoints: Endpoints,
    /// Directory (tenant) ID or a verified domain.
    pub tenant: TenantRef,
    /// Application (client) ID.
    pub client_id: ClientId,
    /// Client secret or certificate.
    pub credential: Credential,
    /// Extra trusted root(s), PEM, for corporate TLS inspection; added to the built-in roots.
    pub extra_ca_pem: Option<PathBuf>,
    /// Most requests on the wire at once. Graph documents no concurrency limit for the
    /// directory; 32 keeps a large extraction latency-bound without looking like a flood.
    pub max_in_flight: usize,
    /// User-Agent header.
    pub user_agent: String,
    /// When and how often to retry.
    pub retry: RetryPolicy,
    /// Resource-unit budget.
    pub pacing: PacingPolicy,
    /// Timeout of one HTTP exchange (connect + full body).
    pub request_timeout: Duration,
    /// Cancelling it stops waits and retries promptly with `GraphError::Cancelled`.
    pub cancel: CancellationToken,
}

impl GraphConfig {
    /// Settings with the defaults for everything but the identity of the tenant and app.
    pub fn new(
        endpoints: Endpoints,
        tenant: TenantRef,
        client_id: ClientId,
        credential: Credential,
    ) -> Self {
        GraphConfig {
            endpoints,
            tenant,
            client_id,
            credential,
            extra_ca_pem: None,
            max_in_flight: 32,
            user_agent: format!("entra-extract/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            pacing: PacingPolicy::default(),
            request_timeout: Duration::from_secs(100),
            cancel: CancellationToken::new(),
        }
    }

    /// The client-credentials token endpoint for this tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoints.authority.as_str().trim_end_matches('/'),
            super::client::encode_url_text(&self.tenant, false)
        )
    }
}
