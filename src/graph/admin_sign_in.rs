//! An administrator's delegated sign-in with the device authorization grant (RFC 8628; Entra:
//! `v2-oauth2-device-code.md`), for the few writes entra-extract makes on their behalf:
//! creating its own app registration and rotating its secret. Extraction never uses it.
//!
//! The program shows a code and a URL, the administrator approves on any device, and the
//! program polls the token endpoint at the interval Entra asks for. Waiting between polls is
//! the protocol, not a retry, so it lives here rather than in the retry loop.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::auth::{AccessToken, decode_payload};
use super::client::{Call, GraphClient, form_body};
use super::credential::{DelegatedGrant, LoadedCredential};
use super::error::GraphError;

/// Microsoft Graph Command Line Tools: Microsoft's public client that supports the device code
/// flow and asks for Graph permissions at sign-in (what `Connect-MgGraph -UseDeviceCode`
/// uses). The default of `--admin-client-id`.
pub const DEFAULT_ADMIN_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Delegated Graph permissions the administrator consents to: creating applications and
/// service principals, adding secrets (Application.ReadWrite.All) and granting app roles
/// (AppRoleAssignment.ReadWrite.All), the least privileged ones each API page lists.
pub const ADMIN_SCOPES: [&str; 2] = [
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
];

/// RFC 8628 §3.5: after `slow_down` the client adds 5 seconds to its polling interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What the administrator must do to approve the sign-in, and what the program needs to poll.
pub struct DeviceCodePrompt {
    /// The code to enter (e.g. `FMBS7EAK2`).
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// Entra's own instruction ("To sign in, use a web browser to open the page …").
    pub message: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
    interval: Duration,
    device_code: SecretString,
    issued: Instant,
}

impl std::fmt::Debug for DeviceCodePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodePrompt")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The administrator who approved the sign-in, from the delegated token's claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SignedInAdmin {
    /// User principal name. (Not serde aliases: a token carries several of these claims at
    /// once, and aliases of one field would make decoding fail as duplicates.)
    pub upn: Option<String>,
    /// The v2.0 token's name for it.
    pub preferred_username: Option<String>,
    pub unique_name: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The tenant they signed in to.
    pub tid: Option<String>,
    /// Directory role template ids they hold (`wids`).
    #[serde(default)]
    pub wids: Vec<String>,
    /// Delegated permissions the token carries, space-separated.
    #[serde(default)]
    pub scp: String,
}

impl SignedInAdmin {
    /// Who signed in, for messages.
    pub fn label(&self) -> String {
        self.upn
            .clone()
            .or_else(|| self.preferred_username.clone())
            .or_else(|| self.unique_name.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "the administrator".to_string())
    }

    /// Whether the token carries delegated permission `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scp
            .split_whitespace()
            .any(|s| s.eq_ignore_ascii_case(scope))
    }
}

/// Why the administrator's sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum AdminSignInError {
    /// The administrator declined on the sign-in page.
    #[error("the administrator declined the sign-in; nothing was created")]
    Declined,
    /// Nobody entered the code before it expired.
    #[error(
        "the sign-in code expired before it was entered ({}); run the command again and enter the new code within that time",
        super::retry::human(*.0)
    )]
    Expired(Duration),
    /// Entra does not know the device code (already used, or from another sign-in).
    #[error("Entra did not recognise the sign-in code ({0}); start the sign-in again")]
    BadCode(String),
    /// Any other refusal or failure (unknown client id, network …).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

impl GraphClient {
    /// Starts a device code sign-in for [`ADMIN_SCOPES`] with this client's tenant and
    /// (public) client id. The client must have been built with
    /// [`Credential::Delegated`](super::Credential::Delegated).
    pub async fn start_admin_sign_in(&self) -> Result<DeviceCodePrompt, GraphError> {
        self.delegated_grant()?;
        #[derive(Deserialize)]
        struct Body {
            device_code: SecretString,
            user_code: String,
            verification_uri: String,
            #[serde(default)]
            message: String,
            expires_in: u64,
            #[serde(default)]
            interval: Option<u64>,
        }
        let form = form_body(&[
            ("client_id", &self.config().client_id),
            ("scope", &self.admin_scope()),
        ]);
        let reply = self
            .execute(&Call::token_endpoint(self.device_code_url()?, form))
            .await?;
        let b: Body = serde_json::from_slice(&reply.raw).map_err(|e| GraphError::Decode {
            what: "the device code response".into(),
            message: e.to_string(),
        })?;
        Ok(DeviceCodePrompt {
            message: if b.message.is_empty() {
                format!(
                    "To sign in, open {} and enter the code {}.",
                    b.verification_uri, b.user_code
                )
            } else {
                b.message
            },
            user_code: b.user_code,
            verification_uri: b.verification_uri,
            expires_in: Duration::from_secs(b.expires_in),
            // RFC 8628 §3.2: 5 seconds when the server gives no interval.
            interval: Duration::from_secs(b.interval.unwrap_or(5)),
            device_code: b.device_code,
            issued: Instant::now(),
        })
    }

    /// Polls until the administrator approves, declines, or the code expires; on approval the
    /// client holds their delegated tokens and every later request uses them.
    pub async fn finish_admin_sign_in(
        &self,
        prompt: &DeviceCodePrompt,
    ) -> Result<SignedInAdmin, AdminSignInError> {
        let grant = self.delegated_grant()?;
        let cancel = self.cancellation().clone();
        let deadline = prompt.issued + prompt.expires_in;
        let mut interval = prompt.interval;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = cancel.cancelled() => return Err(GraphError::Cancelled.into()),
            }
            let form = form_body(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &self.config().client_id),
                ("device_code", prompt.device_code.expose_secret()),
            ]);
            let polled = self
                .execute(&Call::token_endpoint(self.token_url().clone(), form))
                .await;
            match polled {
                Ok(reply) => {
                    let token = self.keep_delegated_tokens(grant, &reply.raw)?;
                    let admin: SignedInAdmin =
                        decode_payload(token.bearer().expose_secret()).unwrap_or_default();
                    // The token cache's first fetch takes it instead of refreshing at once.
                    *lock(&grant.first) = Some(token);
                    return Ok(admin);
                }
                Err(e) => match e.auth().map(|a| a.error.as_str()) {
                    Some("authorization_pending") if Instant::now() < deadline => {}
                    Some("authorization_pending") | Some("expired_token") => {
                        return Err(AdminSignInError::Expired(prompt.expires_in));
                    }
                    Some("slow_down") => interval += SLOW_DOWN_STEP,
                    Some("authorization_declined") => return Err(AdminSignInError::Declined),
                    Some("bad_verification_code") => {
                        return Err(AdminSignInError::BadCode(
                            e.auth().map(|a| a.description.clone()).unwrap_or_default(),
                        ));
                    }
                    _ => return Err(e.into()),
                },
            }
        }
    }

    /// [`GraphClient::start_admin_sign_in`], `show` Entra's instruction, then
    /// [`GraphClient::finish_admin_sign_in`]: the whole sign-in, for callers that only present it.
    pub async fn sign_in_admin(
        &self,
        show: impl FnOnce(&DeviceCodePrompt),
    ) -> Result<SignedInAdmin, AdminSignInError> {
        let prompt = self.start_admin_sign_in().await?;
        show(&prompt);
        self.finish_admin_sign_in(&prompt).await
    }

    /// A fresh delegated access token from the refresh token (Entra rotates it: the new one
    /// replaces the old).
    pub(crate) async fn refresh_delegated(
        &self,
        grant: &DelegatedGrant,
    ) -> Result<AccessToken, GraphError> {
        if let Some(first) = lock(&grant.first).take() {
            return Ok(first);
        }
        let Some(refresh) = lock(&grant.refresh).clone() else {
            return Err(GraphError::Config(
                "the administrator's sign-in has ended; sign in again".into(),
            ));
        };
        let form = form_body(&[
            ("grant_type", "refresh_token"),
            ("client_id", &self.config().client_id),
            ("refresh_token", refresh.expose_secret()),
            ("scope", &self.admin_scope()),
        ]);
        let reply = self
            .execute(&Call::token_endpoint(self.token_url().clone(), form))
            .await?;
        self.keep_delegated_tokens(grant, &reply.raw)
    }

    /// Parses a delegated token response and keeps its (rotated) refresh token.
    fn keep_delegated_tokens(
        &self,
        grant: &DelegatedGrant,
        raw: &[u8],
    ) -> Result<AccessToken, GraphError> {
        #[derive(Deserialize)]
        struct Refresh {
            refresh_token: Option<SecretString>,
        }
        let token = AccessToken::from_response(raw, Instant::now())?;
        if let Ok(Refresh {
            refresh_token: Some(r),
        }) = serde_json::from_slice::<Refresh>(raw)
        {
            *lock(&grant.refresh) = Some(r);
        }
        Ok(token)
    }

    fn delegated_grant(&self) -> Result<&DelegatedGrant, GraphError> {
        match self.credential() {
            LoadedCredential::Delegated(g) => Ok(g),
            _ => Err(GraphError::Config(
                "an administrator sign-in needs a client built with Credential::Delegated".into(),
            )),
        }
    }

    /// `ADMIN_SCOPES` on this cloud's Graph resource (the client-credentials scope without its
    /// `/.default`), plus a refresh token.
    fn admin_scope(&self) -> String {
        let endpoints = &self.config().endpoints;
        let resource = endpoints
            .scope
            .strip_suffix("/.default")
            .unwrap_or(endpoints.graph.as_str())
            .trim_end_matches('/');
        let mut scope: Vec<String> = ADMIN_SCOPES
            .iter()
            .map(|s| format!("{resource}/{s}"))
            .collect();
        scope.push("offline_access".into());
        scope.join(" ")
    }

    /// `…/oauth2/v2.0/devicecode` beside the token endpoint.
    fn device_code_url(&self) -> Result<Url, GraphError> {
        let token = self.token_url().as_str();
        let base = token
            .strip_suffix("/token")
            .ok_or_else(|| GraphError::Config(format!("unexpected token endpoint URL {token}")))?;
        Url::parse(&format!("{base}/devicecode"))
            .map_err(|e| GraphError::Config(format!("bad device code URL: {e}")))
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
