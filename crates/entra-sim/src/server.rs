//! The HTTP(S) server: start/shutdown, TLS material, admin routes (`/_sim/truth`,
//! `/_sim/stats`, `/_sim/evolve`, `/_sim/changes`, `/_sim/expire-delta-tokens`), latency and
//! transport-level faults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha1::Digest as _;
use uuid::Uuid;

use super::SimError;
use super::apps::{DemoApp, DemoAppKind, DemoCertificate, GRAPH_ROLES, graph_role};
use super::config::SimConfig;
use super::crypto::SigningKey;
use super::device::{self, DeviceFlows};
use super::evolve::{Applied, Evolved, evolve};
use super::fault::FaultEngine;
use super::generate::{GeneratedApp, generate};
use super::graph_api::{GraphCall, handle};
use super::model::{AppRoleAssignment, Directory, KeyCredential};
use super::state::{AppRecord, AppStats, SimState, Tenant, app_slots};
use super::stats::{RequestKind, Stats, batch_429s, stats_json};
use super::throttle::{InFlightLimit, Throttle, budget_for_users};
use super::token::{TokenCache, jwks, openid_configuration, token_request, validate_bearer};
use super::truth::{write_truth, write_truth_digest};

/// A running simulated tenant. Drop or `shutdown` to stop it.
pub struct SimHandle {
    state: Arc<SimState>,
    demo_apps: Vec<DemoApp>,
    ca_cert_pem: Option<String>,
    server: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.state.base_url)
            .finish()
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (https with TLS): the authority AND the Graph root.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }
    /// The tenant's GUID.
    pub fn tenant_id(&self) -> &str {
        &self.state.tenant_id_str
    }
    /// The verified domain marked default (also accepted as tenant in token URLs).
    pub fn default_domain(&self) -> &str {
        &self.state.default_domain
    }
    /// All demo app registrations.
    pub fn apps(&self) -> &[DemoApp] {
        &self.demo_apps
    }
    /// One demo app.
    pub fn app(&self, kind: DemoAppKind) -> &DemoApp {
        // Every kind is generated at start, so the lookup can't miss; fall back to the first.
        self.demo_apps
            .iter()
            .find(|a| a.kind == kind)
            .unwrap_or(&self.demo_apps[0])
    }
    /// The CA certificate (PEM) clients must trust, in TLS mode.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_cert_pem.as_deref()
    }
    /// Ground truth JSON (what a correct extraction contains).
    pub fn truth_json(&self) -> String {
        let mut s = String::new();
        write_truth(&self.state.snapshot().dir, &mut s);
        s
    }
    /// Digests of the files a correct extraction writes (see
    /// `write_truth_digest`): the ground truth at any size.
    pub fn truth_digest_json(&self) -> String {
        let mut s = String::new();
        write_truth_digest(&self.state.snapshot().dir, &mut s);
        s
    }
    /// Applies `changes` changes drawn from `seed` (as `POST /_sim/evolve`); returns the
    /// same JSON.
    pub fn evolve(&self, changes: usize, seed: u64) -> serde_json::Value {
        serde_json::from_str(&evolve_json(&self.state, changes, seed)).unwrap_or_default()
    }
    /// Expires every delta token issued so far (as `POST /_sim/expire-delta-tokens`).
    pub fn expire_delta_tokens(&self) {
        expire_delta_tokens(&self.state);
    }
    /// The same counters as `GET /_sim/stats`, for benchmarks running in-process.
    pub fn stats_json(&self) -> serde_json::Value {
        stats_json(&self.state)
    }
    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        self.server
            .graceful_shutdown(Some(Duration::from_millis(200)));
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Generates the certificate demo app's self-signed certificate (RSA, as assertions need).
fn demo_app_certificate(name: &str) -> Result<(DemoCertificate, KeyCredential), SimError> {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(|e| SimError::Crypto(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| SimError::Crypto(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let now = now_secs();
    let cert = params
        .self_signed(&key)
        .map_err(|e| SimError::Crypto(e.to_string()))?;
    let der = cert.der().to_vec();
    let cred = KeyCredential {
        key_id: Uuid::new_v4(),
        display_name: format!("CN={name}"),
        thumbprint_sha1: sha1::Sha1::digest(&der).to_vec(),
        thumbprint_sha256: sha2::Sha256::digest(&der).to_vec(),
        public_key_pkcs1: key.public_key_raw().to_vec(),
        start: now - 86_400,
        end: now + 365 * 86_400,
    };
    Ok((
        DemoCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
        cred,
    ))
}

/// One self-signed certificate for 127.0.0.1/localhost with `CA:TRUE`, as
/// `openssl req -x509 -newkey rsa:2048 -subj /CN=127.0.0.1 -addext subjectAltName=…` makes:
/// (the certificate, again as the one to trust, and its key).
fn self_signed_material() -> Result<(String, String, String), SimError> {
    let err = |e: rcgen::Error| SimError::Crypto(e.to_string());
    let key = rcgen::KeyPair::generate().map_err(err)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).map_err(err)?;
    Ok((cert.pem(), cert.pem(), key.serialize_pem()))
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it.
fn tls_material() -> Result<(String, String, String), SimError> {
    let err = |e: rcgen::Error| SimError::Crypto(e.to_string());
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "entra-extract simulator CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().map_err(err)?;
    let mut leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(err)?;
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    leaf.is_ca = rcgen::IsCa::ExplicitNoCa;
    leaf.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;
    Ok((ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem()))
}

/// Builds the tenant and starts serving it.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let size = config.size_spec();
    let seed = config.seed;
    let now = now_secs();
    let generated = tokio::task::spawn_blocking(move || generate(seed, size, now))
        .await
        .map_err(|e| SimError::Internal(e.to_string()))?;
    let mut dir = generated.dir;
    grant_roles(
        &mut dir,
        &generated.apps,
        generated.graph_sp_idx,
        &config,
        now,
    )?;
    let signing = SigningKey::generate().map_err(SimError::Crypto)?;
    let (demo_apps, apps) = register_apps(&mut dir, &generated.apps)?;
    if let Some(path) = &config.cert_app_out
        && let Some(c) = demo_apps.iter().find_map(|a| a.certificate.as_ref())
    {
        std::fs::write(path, format!("{}{}", c.cert_pem, c.key_pem))
            .map_err(|e| SimError::Io(path.display().to_string(), e))?;
    }

    let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))
        .map_err(|e| SimError::Bind(config.port, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| SimError::Bind(config.port, e))?;
    let port = listener
        .local_addr()
        .map_err(|e| SimError::Bind(config.port, e))?
        .port();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base_url = format!("{scheme}://127.0.0.1:{port}");
    let state = Arc::new(sim_state(
        config,
        dir,
        apps,
        generated.graph_sp_idx,
        signing,
        base_url,
    ));
    serve(state, demo_apps, listener, port).await
}

/// Grants each demo app the Graph app roles the configuration names for it.
fn grant_roles(
    dir: &mut Directory,
    generated: &[GeneratedApp],
    graph_sp_idx: usize,
    config: &SimConfig,
    now: i64,
) -> Result<(), SimError> {
    for (kind, roles) in &config.grants {
        let Some(app) = generated.iter().find(|a| a.kind == *kind) else {
            continue;
        };
        let graph_sp = dir.service_principals[graph_sp_idx].id;
        let mut assignments = Vec::new();
        for value in roles {
            let role = graph_role(value).ok_or_else(|| {
                SimError::Config(format!(
                    "unknown Graph app role '{value}' for the {} app; known: {}",
                    kind.slug(),
                    GRAPH_ROLES
                        .iter()
                        .map(|r| r.value)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            assignments.push(AppRoleAssignment {
                id: base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    Uuid::new_v4().as_bytes(),
                ),
                app_role_id: role.id,
                resource_id: graph_sp,
                resource_display_name: "Microsoft Graph".to_string(),
                created: now,
            });
        }
        dir.service_principals[app.sp_idx].app_role_assignments = assignments;
    }
    Ok(())
}

/// The demo apps as the caller sees them (with the certificate of the one that signs in
/// with one, also added to its application) and as the tenant keeps them.
fn register_apps(
    dir: &mut Directory,
    generated: &[GeneratedApp],
) -> Result<(Vec<DemoApp>, Vec<AppRecord>), SimError> {
    let mut demo_apps = Vec::new();
    let mut apps = Vec::new();
    for g in generated {
        let mut certificate = None;
        if g.kind == DemoAppKind::Certificate {
            let (c, cred) = demo_app_certificate(&g.display_name)?;
            dir.applications[g.application_idx]
                .key_credentials
                .push(cred);
            certificate = Some(c);
        }
        demo_apps.push(DemoApp {
            kind: g.kind,
            display_name: g.display_name.clone(),
            client_id: g.app_id.to_string(),
            client_secret: g.secret.clone().unwrap_or_default(),
            certificate,
        });
        apps.push(AppRecord {
            kind: g.kind,
            display_name: g.display_name.clone(),
            app_id: g.app_id,
            application_idx: g.application_idx,
            sp_idx: g.sp_idx,
        });
    }
    Ok((demo_apps, apps))
}

/// The simulator's shared state for a tenant served at `base_url`.
fn sim_state(
    config: SimConfig,
    dir: Directory,
    apps: Vec<AppRecord>,
    graph_sp_idx: usize,
    signing: SigningKey,
    base_url: String,
) -> SimState {
    let time_scale = config.time_scale();
    let budget = config
        .throttle
        .budget
        .unwrap_or_else(|| budget_for_users(dir.users.len()));
    let throttle = Throttle::new(
        config.throttle.enabled,
        budget,
        config.throttle.window.div_f64(time_scale),
        app_slots(apps.len()),
    );
    let faults = FaultEngine::new(config.seed, &config.faults);
    let in_flight = InFlightLimit::new(config.max_in_flight, app_slots(apps.len()));
    SimState {
        tenant_id_str: dir.tenant_id.to_string(),
        app_stats: (0..app_slots(apps.len()))
            .map(|_| AppStats::default())
            .collect(),
        apps,
        graph_sp_idx,
        default_domain: dir.default_domain().to_string(),
        tenant: Tenant::new(dir),
        signing,
        base_url,
        token_generation: AtomicU64::new(0),
        stats: Stats::default(),
        throttle,
        in_flight,
        faults,
        token_cache: TokenCache::default(),
        delta_expired_before_ms: AtomicI64::new(0),
        devices: DeviceFlows::default(),
        created_apps: Mutex::new(Vec::new()),
        secret_ready: Mutex::new(HashMap::new()),
        config,
    }
}

/// Serves `state` on `listener` (over TLS when configured).
async fn serve(
    state: Arc<SimState>,
    demo_apps: Vec<DemoApp>,
    listener: std::net::TcpListener,
    port: u16,
) -> Result<SimHandle, SimError> {
    let app = Router::new().fallback(route).with_state(state.clone());
    let handle: axum_server::Handle<SocketAddr> = axum_server::Handle::new();
    let mut ca_cert_pem = None;
    let task = if let Some(tls) = &state.config.tls {
        let (ca, cert, key) = if tls.self_signed {
            self_signed_material()?
        } else {
            tls_material()?
        };
        if let Some(path) = &tls.cert_out {
            std::fs::write(path, &ca).map_err(|e| SimError::Io(path.display().to_string(), e))?;
        }
        ca_cert_pem = Some(ca);
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let rustls_config =
            axum_server::tls_rustls::RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes())
                .await
                .map_err(|e| SimError::Crypto(e.to_string()))?;
        let server = axum_server::from_tcp_rustls(listener, rustls_config)
            .map_err(|e| SimError::Bind(port, e))?
            .handle(handle.clone());
        tokio::spawn(async move {
            let _ = server.serve(app.into_make_service()).await;
        })
    } else {
        let server = axum_server::from_tcp(listener)
            .map_err(|e| SimError::Bind(port, e))?
            .handle(handle.clone());
        tokio::spawn(async move {
            let _ = server.serve(app.into_make_service()).await;
        })
    };
    Ok(SimHandle {
        state,
        demo_apps,
        ca_cert_pem,
        server: handle,
        task: Some(task),
    })
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn json_response(status: u16, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// Applies `changes` changes drawn from `seed`; answers the new version and the changes.
/// `{"version", "asked", "operations", "changes"}`: the operations asked for and applied,
/// and the differences they made in the terms of the CSV files.
/// The current directory written by `write` (the truth or its digests), off the async
/// threads: on a big tenant it takes seconds.
async fn truth_response(state: &Arc<SimState>, write: fn(&Directory, &mut String)) -> Response {
    let st = state.clone();
    let body = tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        write(&st.snapshot().dir, &mut s);
        s
    })
    .await
    .unwrap_or_default();
    json_response(200, body)
}

fn evolve_json(state: &SimState, changes: usize, seed: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    let (version, round) = state.tenant.update(|snap| {
        let Evolved {
            next,
            changes: rows,
            operations,
        } = evolve(snap, changes, seed, now);
        let v = next.version;
        (next, (v, (rows, operations)))
    });
    let (rows, operations) = round;
    let counts = format!("\"asked\":{changes},\"operations\":{operations},");
    changes_json(version, &counts, &rows.iter().collect::<Vec<_>>())
}

/// `{"version", <extra>"changes": [...]}`; `extra` is empty or ends with a comma.
fn changes_json(version: u64, extra: &str, rows: &[&Applied]) -> String {
    let mut s = format!("{{\"version\":{version},{extra}\"changes\":[");
    for (i, c) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        c.write_json(&mut s);
    }
    s.push_str("]}");
    s
}

/// Every delta token issued so far stops working (as if seven days had passed).
fn expire_delta_tokens(state: &SimState) {
    state
        .delta_expired_before_ms
        .store(chrono::Utc::now().timestamp_millis() + 1, Ordering::Relaxed);
}

/// The one entry point: admin routes, token endpoint, discovery, Graph.
async fn route(State(state): State<Arc<SimState>>, req: Request) -> Response {
    state.stats.http_requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.as_str().to_ascii_uppercase();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();

    if let Some(graph_path) = path.strip_prefix("/v1.0")
        && (graph_path.is_empty() || graph_path.starts_with('/'))
    {
        return graph(&state, &method, graph_path, &query, &parts.headers, &body).await;
    }
    let admin = match segs.as_slice() {
        ["_sim", rest @ ..] => sim_route(&state, &method, rest, &query).await,
        _ => None,
    };
    if let Some(r) = admin {
        return r;
    }
    identity_route(&state, &method, &segs, &parts.headers, &body).unwrap_or_else(|| {
        json_response(
            404,
            serde_json::json!({"error":"not_found","error_description":format!("The simulated tenant has no route {method} {path}.")}).to_string(),
        )
    })
}

/// The simulator's own routes under `/_sim` (`rest` is the path after it): the truth, the
/// statistics, evolving the tenant, expiring delta tokens, answering device sign-ins.
async fn sim_route(
    state: &Arc<SimState>,
    method: &str,
    rest: &[&str],
    query: &str,
) -> Option<Response> {
    Some(match (method, rest) {
        ("GET", ["truth"]) => truth_response(state, write_truth).await,
        ("GET", ["truth", "digest"]) => truth_response(state, write_truth_digest).await,
        ("GET", ["stats"]) => json_response(200, stats_json(state).to_string()),
        ("POST", ["evolve"]) => evolve_route(state, query).await,
        ("GET", ["changes"]) => {
            let since = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "since")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .unwrap_or(0);
            let snap = state.snapshot();
            let rows: Vec<_> = snap.history.iter().filter(|c| c.version > since).collect();
            json_response(200, changes_json(snap.version, "", &rows))
        }
        ("POST", ["expire-delta-tokens"]) => {
            expire_delta_tokens(state);
            json_response(200, "{}".to_string())
        }
        ("GET", ["device", "pending"]) => {
            json_response(200, device::pending_json(state).to_string())
        }
        ("POST", ["device", action @ ("approve" | "decline")]) => {
            device_answer_route(state, action, query)
        }
        ("GET", ["apps"]) => json_response(200, super::graph_api::apps_json(state).to_string()),
        _ => return None,
    })
}

/// `POST /_sim/evolve?changes=N&seed=S`: applies the changes off the async threads.
async fn evolve_route(state: &Arc<SimState>, query: &str) -> Response {
    let arg = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.parse::<u64>())
    };
    let (changes, seed) = match (arg("changes"), arg("seed")) {
        (Some(Ok(c)), Some(Ok(s))) if c <= 1_000_000 => (c as usize, s),
        _ => {
            return json_response(
                400,
                serde_json::json!({"error": "POST /_sim/evolve?changes=N&seed=S: N (at most 1,000,000) and S are whole numbers"}).to_string(),
            );
        }
    };
    let st = state.clone();
    let body = tokio::task::spawn_blocking(move || evolve_json(&st, changes, seed))
        .await
        .unwrap_or_default();
    json_response(200, body)
}

/// `POST /_sim/device/approve|decline?user_code=CODE[&as=WHO]`: answers a device sign-in.
fn device_answer_route(state: &SimState, action: &str, query: &str) -> Response {
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let who = match (action, param("as")) {
        ("decline", _) => Ok(None),
        (_, None) => Ok(Some(super::config::SimAdmin::GlobalAdmin)),
        (_, Some(w)) => w.parse().map(Some),
    };
    let answered =
        who.and_then(|who| device::answer(state, &param("user_code").unwrap_or_default(), who));
    match answered {
        Ok(()) => json_response(200, "{}".to_string()),
        Err(e) => json_response(400, serde_json::json!({ "error": e }).to_string()),
    }
}

/// The identity platform's routes: the token and device-code endpoints, the sign-in page,
/// OpenID discovery and the signing keys.
fn identity_route(
    state: &SimState,
    method: &str,
    segs: &[&str],
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    Some(match (method, segs) {
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
            let reply = token_request(
                state,
                tenant,
                header_str(headers, "authorization"),
                header_str(headers, "client-request-id"),
                body,
            );
            let mut r = json_response(reply.status, reply.body.to_string());
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
            r
        }
        ("POST", [tenant, "oauth2", "v2.0", "devicecode"]) => {
            state.stats.token_requests.fetch_add(1, Ordering::Relaxed);
            let correlation = header_str(headers, "client-request-id")
                .map(str::to_string)
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            let reply = device::device_authorization(state, tenant, &correlation, body);
            json_response(reply.status, reply.body.to_string())
        }
        ("GET", ["devicelogin"]) => {
            let mut r = Response::new(Body::from(
                "<!doctype html><title>Simulated sign-in</title><p>This is the simulated tenant: nobody signs in here. Tests approve a code with POST /_sim/device/approve?user_code=CODE&amp;as=global-admin, or start the simulator with --device-approve.</p>",
            ));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        (_, [_, "oauth2", "v2.0", "token"]) => json_response(
            405,
            serde_json::json!({
                "error": "invalid_request",
                "error_description": "AADSTS900561: The endpoint only accepts POST requests. Received a GET request.",
                "error_codes": [900561],
            })
            .to_string(),
        ),
        ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            match openid_configuration(state, tenant) {
                Some(v) => json_response(200, v.to_string()),
                None => json_response(
                    400,
                    serde_json::json!({"error":"invalid_tenant","error_description":format!("AADSTS90002: Tenant '{tenant}' not found."),"error_codes":[90002]}).to_string(),
                ),
            }
        }
        ("GET", [_, "discovery", "v2.0", "keys"]) | ("GET", ["discovery", "v2.0", "keys"]) => {
            json_response(200, jwks(state).to_string())
        }
        ("GET", ["common", "discovery", "instance"]) => {
            // MSAL instance discovery: describe this host as its own cloud.
            let host = state
                .base_url
                .split("://")
                .nth(1)
                .unwrap_or_default()
                .to_string();
            json_response(
                200,
                serde_json::json!({
                    "tenant_discovery_endpoint": format!("{}/{}/v2.0/.well-known/openid-configuration", state.base_url, state.tenant_id_str),
                    "api-version": "1.1",
                    "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]
                })
                .to_string(),
            )
        }
        _ => return None,
    })
}

async fn graph(
    state: &Arc<SimState>,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let call = GraphCall {
        method,
        path,
        query,
        authorization: header_str(headers, "authorization"),
        consistency_eventual: header_str(headers, "consistencylevel")
            .is_some_and(|c| c.eq_ignore_ascii_case("eventual")),
        client_request_id: header_str(headers, "client-request-id").map(str::to_string),
        body,
        inner: false,
    };
    count_kinds(state, path, body);
    // The in-flight limit is per app, so the caller is known before its request queues
    // (validation is cached; `handle` checks the token again as always).
    let app = validate_bearer(state, call.authorization)
        .ok()
        .map(|c| c.app_idx);
    let _slot = state
        .in_flight
        .acquire(app, || state.stats.queued.enter())
        .await;
    let _serving = state.stats.in_flight.enter();
    let reply = handle(state, &call);
    let cfg = &state.config;
    let latency = cfg.latency.base + cfg.latency.per_item * reply.items as u32;
    let mut delay = if latency.is_zero() {
        Duration::ZERO
    } else {
        latency.div_f64(cfg.time_scale())
    };
    if let Some(s) = reply.plan.slow {
        delay += s;
    }
    state.stats.held(delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let inner_429s = if call_is_batch(path) {
        batch_429s(&reply.body)
    } else {
        0
    };
    state.stats.answered(reply.items, reply.status, inner_429s);
    let mut body = reply.body;
    if reply.plan.malformed {
        // Cut the JSON mid-way: still 200 with a consistent Content-Length.
        let mut cut = body.len() / 2;
        while cut > 0 && !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    let mut resp = if reply.plan.reset {
        let bytes = body.into_bytes();
        let half = bytes.len() / 2;
        let first = Bytes::from(bytes).slice(..half);
        let stream = futures::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(first),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset",
            )),
        ]);
        Response::new(Body::from_stream(stream))
    } else {
        Response::new(Body::from(body))
    };
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(reply.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

fn call_is_batch(path: &str) -> bool {
    RequestKind::of_path(path) == RequestKind::Batch
}

/// Counts a top-level Graph request by kind, and each item of a `$batch` by its own kind.
fn count_kinds(state: &SimState, path: &str, body: &[u8]) {
    let kind = RequestKind::of_path(path);
    state.stats.count(kind);
    if kind == RequestKind::Batch {
        for item in RequestKind::batch_item_paths(body) {
            state.stats.count(RequestKind::BatchItem);
            state.stats.count(RequestKind::of_path(&item));
        }
    }
}
