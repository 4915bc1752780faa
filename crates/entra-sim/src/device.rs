//! Delegated sign-in: the device authorization grant (RFC 8628 as Entra implements it
//! [ED v2-oauth2-device-code.md]), refresh tokens, and the simulated people who approve or
//! decline on the sign-in page.
//!
//! A test (or the demo's auto-approval) stands in for the person at the browser:
//! `GET /_sim/device/pending` lists codes waiting, `POST /_sim/device/approve?user_code=&as=`
//! and `POST /_sim/device/decline?user_code=` answer them.
//!
//! Stated assumptions (Entra documents neither): the public clients below have tenant-wide
//! admin consent for the delegated scopes they ask for, so even a user without a directory
//! role gets a token — Graph then refuses what their role does not allow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde_json::{Value, json};
use uuid::Uuid;

use super::config::{DeviceApproval, SimAdmin};
use super::state::SimState;
use super::token::{
    GRAPH_RESOURCE, TenantMatch, TokenReply, aad_error, match_tenant, missing_parameter, now_secs,
};

/// Microsoft Graph Command Line Tools (Microsoft Graph PowerShell's public client).
pub const GRAPH_CLI_TOOLS: Uuid = Uuid::from_u128(0x14d82eec_204b_4c2f_b7e8_296a70dab67e);
/// Microsoft Azure CLI.
pub const AZURE_CLI: Uuid = Uuid::from_u128(0x04b07795_8ddb_461a_bbee_02f9e1bf7b46);

/// First-party public clients that may use the device code flow, with their display names.
const PUBLIC_CLIENTS: &[(Uuid, &str)] = &[
    (GRAPH_CLI_TOOLS, "Microsoft Graph Command Line Tools"),
    (AZURE_CLI, "Microsoft Azure CLI"),
];

/// Delegated Microsoft Graph permissions the simulator knows (a token carries only these).
const DELEGATED_SCOPES: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.Read.All",
    "User.Read",
];

/// What `.default` stands for with these clients (their assumed tenant-wide consent).
const DEFAULT_SCOPES: &[&str] = &[
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "User.Read",
];

const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// Directory role template ids (`wids`) [Entra built-in roles reference].
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
/// Every member's implicit "User" role.
const MEMBER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

impl SimAdmin {
    /// The `wids` claim of this person's tokens.
    fn wids(self) -> Vec<&'static str> {
        match self {
            SimAdmin::GlobalAdmin => vec![GLOBAL_ADMINISTRATOR, MEMBER_ROLE],
            SimAdmin::AppAdmin => vec![APPLICATION_ADMINISTRATOR, MEMBER_ROLE],
            SimAdmin::User => vec![MEMBER_ROLE],
        }
    }

    /// May create applications, service principals and secrets.
    pub fn may_manage_apps(self) -> bool {
        matches!(self, SimAdmin::GlobalAdmin | SimAdmin::AppAdmin)
    }

    /// May grant application permissions on Microsoft Graph (Global Administrator or
    /// Privileged Role Administrator).
    pub fn may_grant_app_roles(self) -> bool {
        self == SimAdmin::GlobalAdmin
    }
}

/// Which directory user plays `who`: the first, second and third enabled member.
pub fn person(state: &SimState, who: SimAdmin) -> (Uuid, String, String) {
    let snap = state.snapshot();
    let n = SimAdmin::ALL.iter().position(|a| *a == who).unwrap_or(0);
    snap.dir
        .users
        .iter()
        .filter(|u| u.account_enabled && !u.guest)
        .nth(n)
        .map(|u| (u.id, u.user_principal_name.clone(), u.display_name.clone()))
        .unwrap_or_else(|| {
            (
                Uuid::from_u128(n as u128 + 1),
                format!("{}@{}", who.slug(), state.default_domain),
                who.slug().to_string(),
            )
        })
}

/// How a device code sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Approved(SimAdmin),
    Declined,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

#[derive(Debug)]
struct Flow {
    device_code: String,
    user_code: String,
    client_id: Uuid,
    scopes: Scopes,
    expires: Instant,
    interval: Duration,
    /// The first poll may come at once (MSAL polls before it first sleeps); later ones
    /// must keep the interval.
    last_poll: Option<Instant>,
    status: Status,
}

/// A refresh token's grant.
#[derive(Debug, Clone)]
struct Grant {
    who: SimAdmin,
    client_id: Uuid,
    scopes: Scopes,
}

/// Device code sign-ins in progress and refresh tokens issued.
#[derive(Debug, Default)]
pub struct DeviceFlows {
    flows: Mutex<Vec<Flow>>,
    refresh: Mutex<HashMap<String, Grant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn public_client(id: &str) -> Option<(Uuid, &'static str)> {
    let id = Uuid::parse_str(id).ok()?;
    PUBLIC_CLIENTS.iter().find(|(c, _)| *c == id).copied()
}

/// A delegated scope list resolved: the token audience, the permission names (`scp`), and
/// the scopes as the token response's `scope` names them (with the resource prefix when they
/// were asked with one, as Entra answers; MSAL files the token under them).
#[derive(Debug, Clone)]
struct Scopes {
    audience: String,
    names: Vec<String>,
    granted: Vec<String>,
}

/// Resolves a delegated scope list; `Err` names the first scope that is not valid.
fn resolve_delegated(state: &SimState, scope: &str) -> Result<Scopes, String> {
    let graph_guid = super::apps::GRAPH_APP_ID.to_string();
    let mut audience: Option<String> = None;
    let mut names: Vec<String> = Vec::new();
    let mut granted: Vec<String> = Vec::new();
    for s in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&s) {
            names.push(s.to_string());
            granted.push(s.to_string());
            continue;
        }
        let (resource, name, prefix) = match s.rsplit_once('/') {
            Some((r, n)) => (
                r.trim_end_matches('/'),
                n,
                format!("{}/", r.trim_end_matches('/')),
            ),
            None => (GRAPH_RESOURCE, s, String::new()),
        };
        let aud = if resource.eq_ignore_ascii_case(GRAPH_RESOURCE) || resource == graph_guid {
            GRAPH_RESOURCE.to_string()
        } else if resource.eq_ignore_ascii_case(&state.base_url) {
            state.base_url.clone()
        } else {
            return Err(s.to_string());
        };
        if audience.as_ref().is_some_and(|a| *a != aud) {
            return Err(s.to_string());
        }
        audience = Some(aud);
        let found: Vec<&str> = if name == ".default" {
            DEFAULT_SCOPES.to_vec()
        } else if let Some(known) = DELEGATED_SCOPES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name))
        {
            vec![*known]
        } else {
            return Err(s.to_string());
        };
        for n in found {
            if !names.iter().any(|x| x == n) {
                names.push(n.to_string());
                granted.push(format!("{prefix}{n}"));
            }
        }
    }
    let Some(audience) = audience else {
        return Err(scope.to_string());
    };
    Ok(Scopes {
        audience,
        names,
        granted,
    })
}

/// [`resolve_delegated`], or the token endpoint's `invalid_scope` refusal.
fn scopes_or_refusal(
    state: &SimState,
    scope: &str,
    correlation: &str,
) -> Result<Scopes, TokenReply> {
    resolve_delegated(state, scope).map_err(|bad| {
        aad_error(
            state,
            400,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope '{bad}' is not valid."
            ),
            correlation,
        )
    })
}

/// Entra's user codes: nine characters from an alphabet without look-alikes.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..9)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn opaque_token() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub fn device_authorization(
    state: &SimState,
    tenant_seg: &str,
    correlation: &str,
    body: &[u8],
) -> TokenReply {
    if !matches!(match_tenant(state, tenant_seg), TenantMatch::Ours) {
        return aad_error(
            state,
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant_seg}' not found."),
            correlation,
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let missing = |p: &str| missing_parameter(state, p, correlation);
    let Some(client) = form.get("client_id").filter(|c| !c.is_empty()) else {
        return missing("client_id");
    };
    let Some((client_id, _)) = public_client(client) else {
        return aad_error(
            state,
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                state.snapshot().dir.display_name
            ),
            correlation,
        );
    };
    let Some(scope) = form
        .get("scope")
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return missing("scope");
    };
    let scopes = match scopes_or_refusal(state, scope, correlation) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let cfg = &state.config;
    let code = user_code();
    let verification_uri = format!("{}/devicelogin", state.base_url);
    let now = Instant::now();
    let status = match cfg.device_approval {
        Some(DeviceApproval::Approve(who)) => Status::Approved(who),
        Some(DeviceApproval::Decline) => Status::Declined,
        None => Status::Pending,
    };
    let interval = cfg.device_poll_interval.max(Duration::from_secs(1));
    let device_code = opaque_token();
    let mut flows = lock(&state.devices.flows);
    // Expired codes are answered from nowhere: keep only those still valid (or just expired,
    // so a late poll still learns `expired_token`).
    flows.retain(|f| now < f.expires + Duration::from_secs(60));
    flows.push(Flow {
        device_code: device_code.clone(),
        user_code: code.clone(),
        client_id,
        scopes,
        expires: now + cfg.device_code_lifetime,
        interval,
        last_poll: None,
        status,
    });
    TokenReply {
        status: 200,
        body: json!({
            "user_code": code,
            "device_code": device_code,
            "verification_uri": verification_uri,
            "expires_in": cfg.device_code_lifetime.as_secs(),
            "interval": interval.as_secs(),
            "message": format!(
                "To sign in, use a web browser to open the page {verification_uri} and enter the code {code} to authenticate."
            ),
        }),
    }
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant.
pub fn poll(state: &SimState, form: &HashMap<String, String>, correlation: &str) -> TokenReply {
    let err = |error: &str, code: u32, message: &str| {
        aad_error(state, 400, error, code, message, correlation)
    };
    let Some(device_code) = form.get("device_code").filter(|c| !c.is_empty()) else {
        return missing_parameter(state, "device_code", correlation);
    };
    let mut flows = lock(&state.devices.flows);
    let Some(flow) = flows.iter_mut().find(|f| f.device_code == *device_code) else {
        return err(
            "bad_verification_code",
            70018,
            "The provided value for the 'device_code' parameter is not valid.",
        );
    };
    if form.get("client_id").and_then(|c| Uuid::parse_str(c).ok()) != Some(flow.client_id) {
        return err(
            "invalid_grant",
            70000,
            "The provided authorization grant is invalid: it was issued to another client.",
        );
    }
    let now = Instant::now();
    if now >= flow.expires {
        return err(
            "expired_token",
            70019,
            "Verification code expired. The user did not enter the code in time.",
        );
    }
    // RFC 8628 §3.5: polling faster than the interval earns slow_down and 5 s more.
    let too_soon = flow
        .last_poll
        .is_some_and(|last| now + Duration::from_millis(100) < last + flow.interval);
    flow.last_poll = Some(now);
    if too_soon && flow.status != Status::Redeemed {
        flow.interval += Duration::from_secs(5);
        return err(
            "slow_down",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending; poll less often.",
        );
    }
    match flow.status {
        Status::Pending => err(
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ),
        Status::Declined => err(
            "authorization_declined",
            65004,
            "User declined to consent to access the app.",
        ),
        Status::Redeemed => err(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        ),
        Status::Approved(who) => {
            flow.status = Status::Redeemed;
            let grant = Grant {
                who,
                client_id: flow.client_id,
                scopes: flow.scopes.clone(),
            };
            drop(flows);
            issue(state, &grant, form)
        }
    }
}

/// The token endpoint's `refresh_token` grant; Entra rotates the refresh token.
pub fn refresh(state: &SimState, form: &HashMap<String, String>, correlation: &str) -> TokenReply {
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    // Entra does not revoke a refresh token when it is used [ED refresh-tokens.md]: it
    // stays valid beside the new one.
    let grant = lock(&state.devices.refresh).get(&presented).cloned();
    let client = form.get("client_id").and_then(|c| Uuid::parse_str(c).ok());
    match grant {
        Some(mut g) if Some(g.client_id) == client => {
            // A refresh may ask for other scopes (or another resource) the consent covers.
            if let Some(scope) = form.get("scope").filter(|s| !s.trim().is_empty()) {
                match scopes_or_refusal(state, scope, correlation) {
                    Ok(s) => g.scopes = s,
                    Err(refused) => return refused,
                }
            }
            issue(state, &g, form)
        }
        _ => aad_error(
            state,
            400,
            "invalid_grant",
            70000,
            "The provided value for the 'refresh_token' is not valid: it is unknown or was issued to another client.",
            correlation,
        ),
    }
}

/// Mints the delegated access token (v1.0 shape, `idtyp` user, `scp`, `wids`), an id token
/// for `openid` and a refresh token for `offline_access`.
fn issue(state: &SimState, grant: &Grant, form: &HashMap<String, String>) -> TokenReply {
    let now = now_secs();
    let lifetime = state.config.token_lifetime.as_secs() as i64;
    let (oid, upn, name) = person(state, grant.who);
    let tid = state.tenant_id_str.clone();
    let client_name = PUBLIC_CLIENTS
        .iter()
        .find(|(c, _)| *c == grant.client_id)
        .map_or("public client", |(_, n)| *n);
    let permissions: Vec<&str> = grant
        .scopes
        .names
        .iter()
        .map(String::as_str)
        .filter(|s| !OIDC_SCOPES.contains(s))
        .collect();
    let issuer = format!("https://sts.windows.net/{tid}/");
    let claims = json!({
        "aud": grant.scopes.audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "acr": "1",
        "amr": ["pwd", "mfa"],
        "app_displayname": client_name,
        "appid": grant.client_id.to_string(),
        "appidacr": "0",
        "idtyp": "user",
        "name": name,
        "oid": oid.to_string(),
        "scp": permissions.join(" "),
        "sub": URL_SAFE_NO_PAD.encode(oid.as_bytes()),
        "tid": tid,
        "unique_name": upn,
        "upn": upn,
        "uti": URL_SAFE_NO_PAD.encode(&Uuid::new_v4().as_bytes()[..12]),
        "ver": "1.0",
        "wids": grant.who.wids(),
        "xms_sim_gen": state.token_generation.load(std::sync::atomic::Ordering::SeqCst),
    });
    let header =
        json!({"typ": "JWT", "alg": "RS256", "x5t": state.signing.kid, "kid": state.signing.kid});
    let has = |s: &str| grant.scopes.names.iter().any(|g| g == s);
    let scope_out = &grant.scopes.granted;
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope_out.join(" "),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.signing.sign_jwt(&header, &claims),
    });
    if has("openid") {
        let id_claims = json!({
            "aud": grant.client_id.to_string(),
            "iss": format!("{}/{tid}/v2.0", state.base_url),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "name": name,
            "oid": oid.to_string(),
            "preferred_username": upn,
            "sub": URL_SAFE_NO_PAD.encode(oid.as_bytes()),
            "tid": tid,
            "ver": "2.0",
        });
        body["id_token"] = Value::String(state.signing.sign_jwt(&header, &id_claims));
    }
    if form.get("client_info").map(String::as_str) == Some("1") {
        body["client_info"] = Value::String(
            URL_SAFE_NO_PAD.encode(json!({"uid": oid.to_string(), "utid": tid}).to_string()),
        );
    }
    if has("offline_access") {
        let token = opaque_token();
        lock(&state.devices.refresh).insert(token.clone(), grant.clone());
        body["refresh_token"] = Value::String(token);
    }
    TokenReply { status: 200, body }
}

/// `GET /_sim/device/pending`: the codes waiting for someone at the browser.
pub fn pending_json(state: &SimState) -> Value {
    let now = Instant::now();
    let flows = lock(&state.devices.flows);
    let pending: Vec<Value> = flows
        .iter()
        .filter(|f| f.status == Status::Pending && f.expires > now)
        .map(|f| {
            json!({
                "userCode": f.user_code,
                "clientId": f.client_id.to_string(),
                "scopes": f.scopes.names,
                "expiresInSeconds": (f.expires - now).as_secs(),
            })
        })
        .collect();
    json!({ "pending": pending })
}

/// Approves (`Some(who)`) or declines (`None`) a pending code, as the person at the browser.
pub fn answer(state: &SimState, user_code: &str, who: Option<SimAdmin>) -> Result<(), String> {
    let mut flows = lock(&state.devices.flows);
    let flow = flows
        .iter_mut()
        .find(|f| f.user_code.eq_ignore_ascii_case(user_code.trim()))
        .ok_or_else(|| format!("no sign-in with user code '{user_code}'"))?;
    if flow.status != Status::Pending {
        return Err(format!(
            "the sign-in with code '{user_code}' is not pending"
        ));
    }
    if Instant::now() >= flow.expires {
        return Err(format!("the sign-in code '{user_code}' has expired"));
    }
    flow.status = match who {
        Some(w) => Status::Approved(w),
        None => Status::Declined,
    };
    Ok(())
}

/// The person a delegated token was issued to, from its `wids` claim.
pub fn person_of_wids(wids: &[&str]) -> SimAdmin {
    if wids.contains(&GLOBAL_ADMINISTRATOR) {
        SimAdmin::GlobalAdmin
    } else if wids.contains(&APPLICATION_ADMINISTRATOR) {
        SimAdmin::AppAdmin
    } else {
        SimAdmin::User
    }
}

/// Whether `id` is one of the public clients that sign people in.
pub fn is_public_client(id: Uuid) -> bool {
    PUBLIC_CLIENTS.iter().any(|(c, _)| *c == id)
}
