//! The Entra token endpoint (client credentials) and OpenID discovery.
//!
//! Error bodies follow the documented shape [ED reference-error-codes.md]: `error`,
//! `error_description` ending in "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
//! `error_codes`, `timestamp` with a space, `trace_id`, `correlation_id`, `error_uri`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use uuid::Uuid;

use super::apps::GRAPH_APP_ID;
use super::config::SimAdmin;
use super::crypto::ParsedJwt;
use super::device;
use super::model::Application;
use super::state::{SimState, Snapshot};

/// An HTTP answer from the token endpoint.
#[derive(Debug)]
pub struct TokenReply {
    pub status: u16,
    pub body: Value,
}

/// Graph's resource URI, the documented audience of app-only Graph tokens.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(super) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Builds an AADSTS error body.
pub(super) fn aad_error(
    state: &SimState,
    status: u16,
    error: &str,
    code: u32,
    message: &str,
    correlation: &str,
) -> TokenReply {
    let ts = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = Uuid::new_v4().to_string();
    TokenReply {
        status,
        body: json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {ts}"
            ),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("{}/error?code={code}", state.base_url),
        }),
    }
}

/// AADSTS900144: a required form parameter is absent.
pub(super) fn missing_parameter(state: &SimState, name: &str, correlation: &str) -> TokenReply {
    aad_error(
        state,
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
        correlation,
    )
}

/// How the `{tenant}` path segment resolved.
pub(super) enum TenantMatch {
    Ours,
    Unknown,
    Malformed,
}

pub(super) fn match_tenant(state: &SimState, seg: &str) -> TenantMatch {
    if let Ok(id) = Uuid::parse_str(seg) {
        return if id.to_string() == state.tenant_id_str {
            TenantMatch::Ours
        } else {
            TenantMatch::Unknown
        };
    }
    let dns_ok = seg.contains('.')
        && seg.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !dns_ok {
        return TenantMatch::Malformed;
    }
    if state
        .snapshot()
        .dir
        .domains
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(seg))
    {
        TenantMatch::Ours
    } else {
        TenantMatch::Unknown
    }
}

/// Handles `POST /{tenant}/oauth2/v2.0/token`.
pub fn token_request(
    state: &SimState,
    tenant_seg: &str,
    authorization: Option<&str>,
    client_request_id: Option<&str>,
    body: &[u8],
) -> TokenReply {
    state.stats.token_requests.fetch_add(1, Ordering::Relaxed);
    let correlation = client_request_id
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let corr = correlation.as_str();
    if let Some(refused) = tenant_refusal(state, tenant_seg, corr) {
        return refused;
    }
    let form = token_form(body, authorization);
    let missing = |p: &str| missing_parameter(state, p, corr);
    let Some(grant) = form.get("grant_type") else {
        return missing("grant_type");
    };
    match grant.as_str() {
        "client_credentials" => {}
        "urn:ietf:params:oauth:grant-type:device_code" => return device::poll(state, &form, corr),
        "refresh_token" => return device::refresh(state, &form, corr),
        _ => {
            return aad_error(
                state,
                400,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{grant}'."),
                corr,
            );
        }
    }
    let Some(client_id) = form.get("client_id").filter(|c| !c.is_empty()) else {
        return missing("client_id");
    };
    let Some(scope) = form.get("scope") else {
        return missing("scope");
    };
    let snap = state.snapshot();
    let client = Uuid::parse_str(client_id)
        .ok()
        .and_then(|id| find_client(state, &snap, id));
    let Some(client) = client else {
        return aad_error(
            state,
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                snap.dir.display_name
            ),
            corr,
        );
    };
    let audience = match resolve_scope(state, scope) {
        Some(a) => a,
        None => {
            return aad_error(
                state,
                400,
                "invalid_scope",
                70011,
                &format!(
                    "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
                ),
                corr,
            );
        }
    };
    let application = &snap.dir.applications[client.application_idx];
    let now = now_secs();
    let appidacr = match authenticate_client(state, application, tenant_seg, &form, now, corr) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let Some(sp_idx) = client.sp_idx else {
        return aad_error(
            state,
            400,
            "invalid_client",
            7000229,
            &format!(
                "The client application {client_id} is missing service principal in the tenant {}.",
                state.tenant_id_str
            ),
            corr,
        );
    };
    let token = issue(state, &snap, &client, sp_idx, &audience, appidacr, now);
    let lifetime = state.config.token_lifetime.as_secs();
    TokenReply {
        status: 200,
        body: json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }),
    }
}

/// The answer to a token request for a tenant that is not this one or not a tenant name.
fn tenant_refusal(state: &SimState, tenant_seg: &str, corr: &str) -> Option<TokenReply> {
    match match_tenant(state, tenant_seg) {
        TenantMatch::Ours => None,
        TenantMatch::Unknown => Some(aad_error(
            state,
            400,
            "invalid_tenant",
            90002,
            &format!(
                "Tenant '{tenant_seg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
            corr,
        )),
        TenantMatch::Malformed => Some(aad_error(
            state,
            400,
            "invalid_request",
            900023,
            &format!(
                "Specified tenant identifier '{tenant_seg}' is neither a valid DNS name, nor a valid external domain."
            ),
            corr,
        )),
    }
}

/// A token request's form, with the client id and secret of HTTP Basic authentication
/// added where the form lacks them.
fn token_form(body: &[u8], authorization: Option<&str>) -> HashMap<String, String> {
    let mut form: HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    // HTTP Basic: client_id:client_secret, each form-urlencoded (RFC 6749 §2.3.1).
    if let Some(basic) = authorization.and_then(|a| a.strip_prefix("Basic "))
        && let Some((id, secret)) = STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
    {
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        form.entry("client_id".into()).or_insert_with(|| dec(&id));
        form.entry("client_secret".into())
            .or_insert_with(|| dec(&secret));
    }
    form
}

/// Checks the client's credential (a signed assertion or a secret); returns the token's
/// `appidacr` (`2` for a certificate, `1` for a secret) or the refusal.
fn authenticate_client(
    state: &SimState,
    application: &Application,
    tenant_seg: &str,
    form: &HashMap<String, String>,
    now: i64,
    corr: &str,
) -> Result<&'static str, TokenReply> {
    let client_id = form.get("client_id").map_or("", String::as_str);
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
            return Err(aad_error(
                state,
                400,
                "invalid_request",
                50027,
                "Invalid client_assertion_type; expected urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                corr,
            ));
        }
        if let Err((code, msg)) = check_assertion(state, application, tenant_seg, assertion, now) {
            return Err(aad_error(state, 401, "invalid_client", code, &msg, corr));
        }
        Ok("2")
    } else {
        let Some(secret) = form.get("client_secret").filter(|s| !s.is_empty()) else {
            return Err(aad_error(
                state,
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                corr,
            ));
        };
        let matching = application
            .password_credentials
            .iter()
            .find(|c| constant_time_eq(c.secret.as_bytes(), secret.as_bytes()));
        match matching {
            Some(c) if c.end <= now => {
                return Err(aad_error(
                    state,
                    401,
                    "invalid_client",
                    7000222,
                    &format!(
                        "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                    ),
                    corr,
                ));
            }
            Some(c) if state.replicated(c.key_id) => {}
            // No such secret, or a new one that has not replicated yet: both read as wrong.
            _ => {
                return Err(aad_error(
                    state,
                    401,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                    corr,
                ));
            }
        }
        Ok("1")
    }
}

/// Maps the requested scope to the token audience; `None` if not a valid `.default` scope
/// for a resource this server fronts.
fn resolve_scope(state: &SimState, scope: &str) -> Option<String> {
    let mut resources = scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"));
    let s = resources.next()?;
    if resources.next().is_some() {
        return None;
    }
    let resource = s.strip_suffix("/.default")?.trim_end_matches('/');
    let graph_guid = GRAPH_APP_ID.to_string();
    if resource.eq_ignore_ascii_case(GRAPH_RESOURCE) || resource == graph_guid {
        Some(GRAPH_RESOURCE.to_string())
    } else if resource.eq_ignore_ascii_case(&state.base_url) {
        Some(state.base_url.clone())
    } else {
        None
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a certificate client assertion: RS256/PS256 JWT whose `x5t` (SHA-1) or `x5t#S256`
/// names a registered certificate, signed by its key, aud = this token endpoint, iss = sub =
/// client id, not expired.
fn check_assertion(
    state: &SimState,
    application: &Application,
    tenant_seg: &str,
    assertion: &str,
    now: i64,
) -> Result<(), (u32, String)> {
    let bad = |code: u32, m: &str| Err((code, m.to_string()));
    let Some(jwt) = ParsedJwt::parse(assertion) else {
        return bad(
            50012,
            "Client assertion is not a valid JWT (expected header.payload.signature).",
        );
    };
    let hdr = |k: &str| {
        jwt.header
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
    };
    let x5t = hdr("x5t");
    let x5t256 = hdr("x5t#S256");
    let cred = application.key_credentials.iter().find(|k| {
        x5t.as_deref() == Some(&k.thumbprint_sha1[..])
            || x5t256.as_deref() == Some(&k.thumbprint_sha256[..])
    });
    let Some(cred) = cred else {
        return bad(
            700027,
            &format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                x5t.map(hex::encode_upper).unwrap_or_default(),
                application.app_id
            ),
        );
    };
    if !jwt.verify_rs256(&cred.public_key_pkcs1) {
        return bad(700027, "Client assertion failed signature validation.");
    }
    let app_id = application.app_id.to_string();
    if jwt.claim_str("iss") != Some(&app_id) || jwt.claim_str("sub") != Some(&app_id) {
        return bad(
            700023,
            "Client assertion audience claim does not match Realm issuer.",
        );
    }
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(a)) => aud_matches(state, tenant_seg, a),
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(|a| a.as_str())
            .any(|a| aud_matches(state, tenant_seg, a)),
        _ => false,
    };
    if !aud_ok {
        return bad(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://aka.ms/certCreds .",
        );
    }
    match jwt.claim_i64("exp") {
        Some(exp) if exp + 300 >= now => {}
        _ => {
            return bad(
                700024,
                "Client assertion is not within its valid time range.",
            );
        }
    }
    if cred.end <= now {
        return bad(
            700027,
            "Client assertion contains an invalid signature. [Reason - The key used is expired.]",
        );
    }
    Ok(())
}

fn aud_matches(state: &SimState, tenant_seg: &str, aud: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    let tid = state.tenant_id_str.as_str();
    [tenant_seg, tid, state.default_domain.as_str()]
        .iter()
        .any(|t| {
            aud.eq_ignore_ascii_case(&format!("{}/{t}/oauth2/v2.0/token", state.base_url))
                || aud.eq_ignore_ascii_case(&format!("{}/{t}/v2.0", state.base_url))
        })
        || aud.eq_ignore_ascii_case(&state.base_url)
}

/// An app that may use the client credentials grant: a demo app or one created through Graph.
struct ClientApp {
    application_idx: usize,
    /// Its service principal, if it has one yet.
    sp_idx: Option<usize>,
}

fn find_client(state: &SimState, snap: &Snapshot, app_id: Uuid) -> Option<ClientApp> {
    if let Some(demo) = state.apps.iter().find(|a| a.app_id == app_id) {
        return Some(ClientApp {
            application_idx: demo.application_idx,
            sp_idx: Some(demo.sp_idx),
        });
    }
    state.created_slot(app_id)?;
    let dir = &snap.dir;
    Some(ClientApp {
        application_idx: dir.applications.iter().position(|a| a.app_id == app_id)?,
        sp_idx: dir
            .service_principals
            .iter()
            .position(|s| s.app_id == app_id),
    })
}

/// Mints a v1.0-style app-only access token (graph-reference §2).
fn issue(
    state: &SimState,
    snap: &Snapshot,
    client: &ClientApp,
    sp_idx: usize,
    audience: &str,
    appidacr: &str,
    now: i64,
) -> String {
    let sp = &snap.dir.service_principals[sp_idx];
    let application = &snap.dir.applications[client.application_idx];
    let tid = state.tenant_id_str.clone();
    let issuer = format!("https://sts.windows.net/{tid}/");
    let lifetime = state.config.token_lifetime.as_secs() as i64;
    let mut claims = json!({
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "aio": URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes()),
        "app_displayname": application.display_name,
        "appid": application.app_id.to_string(),
        "appidacr": appidacr,
        "idp": issuer,
        "idtyp": "app",
        "oid": sp.id.to_string(),
        "sub": sp.id.to_string(),
        "tid": tid,
        "uti": URL_SAFE_NO_PAD.encode(&Uuid::new_v4().as_bytes()[..12]),
        "ver": "1.0",
        "xms_tcdt": snap.dir.created,
        "xms_sim_gen": state.token_generation.load(Ordering::SeqCst),
    });
    let roles = state.roles_of(snap, sp_idx);
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    let header = json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5t": state.signing.kid,
        "kid": state.signing.kid,
    });
    state.signing.sign_jwt(&header, &claims)
}

/// OpenID configuration for `/{tenant}/v2.0/.well-known/openid-configuration`.
pub fn openid_configuration(state: &SimState, tenant_seg: &str) -> Option<Value> {
    if !matches!(match_tenant(state, tenant_seg), TenantMatch::Ours) {
        return None;
    }
    let b = &state.base_url;
    let tid = &state.tenant_id_str;
    Some(json!({
        "token_endpoint": format!("{b}/{tid}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{b}/{tid}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{b}/{tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{b}/oidc/userinfo"),
        "authorization_endpoint": format!("{b}/{tid}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{b}/{tid}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{b}/{tid}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver", "roles"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "simulated",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": b.trim_start_matches("https://").trim_start_matches("http://"),
        "rbac_url": "https://pas.windows.net",
    }))
}

/// The JSON Web Key Set with the token-signing key.
pub fn jwks(state: &SimState) -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": state.signing.kid,
            "x5t": state.signing.kid,
            "n": state.signing.n_b64,
            "e": state.signing.e_b64,
            "issuer": format!("{}/{}/v2.0", state.base_url, state.tenant_id_str),
        }]
    })
}

/// Why Graph rejects a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Empty,
    Malformed,
    BadSignature,
    Expired,
    WrongAudience,
    WrongTenant,
}

impl TokenProblem {
    /// Graph's message for the 401 InvalidAuthenticationToken.
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Empty => "Access token is empty.",
            TokenProblem::Malformed => "IDX14100: JWT is not well formed, there are no dots (.).",
            TokenProblem::BadSignature => "Access token validation failure. Invalid signature.",
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
            TokenProblem::WrongTenant => "Access token validation failure. Invalid issuer.",
        }
    }
}

/// A validated caller: which app (its counter slot and appId), holding which roles or, for
/// a delegated token, which scopes (as the token says), and who signed in.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app_idx: usize,
    pub app_id: Uuid,
    pub roles: Arc<[String]>,
    /// The person behind a delegated token; `None` for app-only tokens.
    pub person: Option<SimAdmin>,
}

/// A token that passed full validation, kept so repeated use skips the RSA check and
/// JSON parsing; expiry and the token-expiry fault are still checked on every use.
#[derive(Debug, Clone)]
struct CachedToken {
    caller: Caller,
    exp: i64,
    generation: u64,
}

const CACHE_SHARDS: usize = 16;
const CACHE_SHARD_CAP: usize = 256;

/// Validated bearer tokens, sharded read-mostly maps (clients reuse one token for thousands
/// of requests, so lookups almost never write).
#[derive(Debug, Default)]
pub struct TokenCache {
    shards: [RwLock<HashMap<Box<str>, CachedToken>>; CACHE_SHARDS],
}

impl TokenCache {
    fn shard(&self, token: &str) -> &RwLock<HashMap<Box<str>, CachedToken>> {
        let h = token.bytes().rev().take(16).fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &self.shards[h % CACHE_SHARDS]
    }

    fn get(&self, token: &str) -> Option<CachedToken> {
        let shard = match self.shard(token).read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        shard.get(token).cloned()
    }

    fn insert(&self, token: &str, entry: CachedToken) {
        let mut shard = match self.shard(token).write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if shard.len() >= CACHE_SHARD_CAP {
            shard.clear();
        }
        shard.insert(token.into(), entry);
    }
}

/// Validates `Authorization: Bearer …` for Graph.
pub fn validate_bearer(
    state: &SimState,
    authorization: Option<&str>,
) -> Result<Caller, TokenProblem> {
    let token = authorization
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(TokenProblem::Empty)?;
    let now = now_secs();
    let current_generation = state.token_generation.load(Ordering::SeqCst);
    if let Some(hit) = state.token_cache.get(token) {
        if hit.exp <= now || hit.generation < current_generation {
            return Err(TokenProblem::Expired);
        }
        return Ok(hit.caller);
    }
    let jwt = ParsedJwt::parse(token).ok_or(TokenProblem::Malformed)?;
    if !jwt.verify_rs256(&state.signing.public_der) {
        return Err(TokenProblem::BadSignature);
    }
    let aud = jwt.claim_str("aud").unwrap_or_default();
    let graph_guid = GRAPH_APP_ID.to_string();
    if aud != GRAPH_RESOURCE && aud != graph_guid && aud != state.base_url {
        return Err(TokenProblem::WrongAudience);
    }
    if jwt.claim_str("tid") != Some(state.tenant_id_str.as_str()) {
        return Err(TokenProblem::WrongTenant);
    }
    let exp = jwt.claim_i64("exp").ok_or(TokenProblem::Malformed)?;
    if exp <= now {
        return Err(TokenProblem::Expired);
    }
    let generation = jwt
        .claim_i64("xms_sim_gen")
        .and_then(|g| u64::try_from(g).ok())
        .unwrap_or(0);
    if generation < current_generation {
        return Err(TokenProblem::Expired);
    }
    let app_id = jwt
        .claim_str("appid")
        .and_then(|a| Uuid::parse_str(a).ok())
        .ok_or(TokenProblem::BadSignature)?;
    let strings = |claim: &str| -> Vec<String> {
        jwt.claims
            .get(claim)
            .and_then(|r| r.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let caller = if jwt.claim_str("idtyp") == Some("user") && device::is_public_client(app_id) {
        let wids = strings("wids");
        let wids: Vec<&str> = wids.iter().map(String::as_str).collect();
        let scp = jwt.claim_str("scp").unwrap_or_default();
        Caller {
            app_idx: state.public_client_slot(),
            app_id,
            roles: scp.split_whitespace().map(str::to_string).collect(),
            person: Some(device::person_of_wids(&wids)),
        }
    } else {
        let app_idx = state
            .apps
            .iter()
            .position(|a| a.app_id == app_id)
            .or_else(|| state.created_slot(app_id))
            .ok_or(TokenProblem::BadSignature)?;
        Caller {
            app_idx,
            app_id,
            roles: strings("roles").into(),
            person: None,
        }
    };
    state.token_cache.insert(
        token,
        CachedToken {
            caller: caller.clone(),
            exp,
            generation,
        },
    );
    Ok(caller)
}
