//! App-only access tokens: parsing the token response, caching with early refresh, single-flight
//! refresh, and an unverified look at the token's claims (a fast permission pre-check only:
//! Microsoft says clients must not rely on reading tokens for APIs they do not own).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::GraphError;

/// Claims of an app-only Graph token, read without validating the signature.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct TokenClaims {
    /// Application permissions granted when the token was issued (absent ⇒ empty).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Tenant the token was issued for.
    pub tid: Option<String>,
    /// Client id (v1.0 tokens: `appid`; v2.0 tokens: `azp`).
    #[serde(alias = "azp")]
    pub appid: Option<String>,
    /// Audience, usually the Graph root.
    pub aud: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
}

/// Why a token's payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the access token is not a readable JWT ({0}); permissions will be checked against Graph instead"
)]
pub struct TokenDecodeError(String);

impl TokenClaims {
    /// Reads the payload of a JWT without any validation.
    pub fn decode_unverified(token: &str) -> Result<Self, TokenDecodeError> {
        decode_payload(token)
    }

    /// True when `role` (e.g. `Directory.Read.All`) was granted.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// The payload of a JWT as `T`, without any validation.
pub(crate) fn decode_payload<T: serde::de::DeserializeOwned>(
    token: &str,
) -> Result<T, TokenDecodeError> {
    {
        let mut parts = token.trim().split('.');
        let payload = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(p), Some(_)) => p,
            _ => return Err(TokenDecodeError("not three dot-separated parts".into())),
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .or_else(|_| URL_SAFE.decode(payload))
            .map_err(|_| TokenDecodeError("payload is not base64url".into()))?;
        serde_json::from_slice(&bytes).map_err(|e| TokenDecodeError(format!("payload: {e}")))
    }
}

static TOKEN_SERIAL: AtomicU64 = AtomicU64::new(1);

/// A bearer token with its expiry. Cheap to clone; the token text is redacted in Debug.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Instant,
    lifetime: Duration,
    claims: Option<TokenClaims>,
    serial: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_in", &self.expires_in())
            .field("claims", &self.claims)
            .finish()
    }
}

impl AccessToken {
    /// Parses a token endpoint success body.
    pub(crate) fn from_response(body: &[u8], now: Instant) -> Result<Self, GraphError> {
        #[derive(Deserialize)]
        struct Body {
            access_token: SecretString,
            expires_in: serde_json::Value,
        }
        let b: Body = serde_json::from_slice(body).map_err(|_| GraphError::Decode {
            what: "the token response".into(),
            message: "no access_token / expires_in in the JSON body".into(),
        })?;
        // v2.0 sends a number; older endpoints send a string.
        let secs = match &b.expires_in {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| GraphError::Decode {
            what: "the token response".into(),
            message: "expires_in is not a number of seconds".into(),
        })?;
        let lifetime = Duration::from_secs(secs);
        let claims = TokenClaims::decode_unverified(b.access_token.expose_secret()).ok();
        Ok(AccessToken {
            secret: b.access_token,
            expires_at: now + lifetime,
            lifetime,
            claims,
            serial: TOKEN_SERIAL.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Claims read from the token, if it is a readable JWT.
    pub fn claims(&self) -> Option<&TokenClaims> {
        self.claims.as_ref()
    }

    /// Time left before expiry.
    pub fn expires_in(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    pub(crate) fn bearer(&self) -> &SecretString {
        &self.secret
    }

    /// Refresh when less than min(5 min, lifetime/4) remains.
    fn needs_refresh(&self, now: Instant) -> bool {
        let margin = Duration::from_secs(300).min(self.lifetime / 4);
        now + margin >= self.expires_at
    }
}

/// One cached token; concurrent callers share a single refresh.
pub(crate) struct TokenCache {
    slot: Mutex<Option<AccessToken>>,
    fetches: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new() -> Self {
        TokenCache {
            slot: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// Token requests made so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached token, or a new one from `fetch`. The lock is held across the fetch, so
    /// callers arriving meanwhile wait for that one request instead of sending their own.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<AccessToken, GraphError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, GraphError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref()
            && !t.needs_refresh(Instant::now())
        {
            return Ok(t.clone());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let token = fetch().await?;
        *slot = Some(token.clone());
        Ok(token)
    }

    /// The cached token, if any (without fetching).
    pub(crate) async fn current(&self) -> Option<AccessToken> {
        self.slot.lock().await.clone()
    }

    /// Forgets `used` after Graph rejected it (unless a newer token already replaced it).
    pub(crate) async fn invalidate(&self, used: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| t.serial == used.serial) {
            *slot = None;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An unsigned JWT with the given payload, like the ones the tests' token endpoints hand out.
    pub(crate) fn fake_jwt(payload: &serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#);
        let p = URL_SAFE_NO_PAD.encode(payload.to_string());
        format!("{h}.{p}.c2lnbmF0dXJl")
    }

    #[test]
    fn claims_are_read_and_absent_roles_mean_none() {
        let t = fake_jwt(&serde_json::json!({
            "aud": "https://graph.microsoft.com", "tid": "t1", "appid": "a1", "exp": 1700000000,
            "roles": ["Directory.Read.All", "Member.Read.Hidden"], "idtyp": "app"
        }));
        let c = TokenClaims::decode_unverified(&t).unwrap();
        assert!(c.has_role("directory.read.all"));
        assert!(c.has_role("Member.Read.Hidden"));
        assert_eq!(c.tid.as_deref(), Some("t1"));
        assert_eq!(c.appid.as_deref(), Some("a1"));
        assert_eq!(c.exp, Some(1_700_000_000));
        let v2 = fake_jwt(&serde_json::json!({"azp": "a2", "tid": "t"}));
        let c = TokenClaims::decode_unverified(&v2).unwrap();
        assert!(c.roles.is_empty());
        assert_eq!(c.appid.as_deref(), Some("a2"));
        assert!(TokenClaims::decode_unverified("opaque-token").is_err());
        assert!(TokenClaims::decode_unverified("a.!!!.c").is_err());
    }

    #[test]
    fn token_response_uses_expires_in_and_refreshes_early() {
        let now = Instant::now();
        let t = AccessToken::from_response(
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"abc"}"#,
            now,
        )
        .unwrap();
        assert!(t.claims().is_none());
        assert!(!t.needs_refresh(now + Duration::from_secs(3599 - 301)));
        assert!(t.needs_refresh(now + Duration::from_secs(3599 - 299)));
        // Short lifetimes refresh with a quarter left.
        let short =
            AccessToken::from_response(br#"{"expires_in":"40","access_token":"x"}"#, now).unwrap();
        assert!(!short.needs_refresh(now + Duration::from_secs(29)));
        assert!(short.needs_refresh(now + Duration::from_secs(30)));
        assert!(AccessToken::from_response(br#"{"access_token":"x"}"#, now).is_err());
        assert!(!format!("{t:?}").contains("abc"));
    }
}
