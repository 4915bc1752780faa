//! Microsoft Graph v1.0 routes over the simulated directory: authentication, permission
//! checks, query options, paging, resource-unit charging and fault injection.
//!
//! Everything here is synchronous and transport-free so `$batch` items go through exactly the
//! same pipeline as top-level requests; `server` adds latency and the transport faults.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::config::HiddenMembers;
use super::fault::{FaultPlan, RequestShape};
use super::json::{push_key, push_str};
use super::model::{Directory, ObjKind, ObjRef, all_props, canonical_prop};
use super::odata::{
    Clause, DEFAULT_TOP, Literal, MAX_TOP, PageToken, QueryOptions, fingerprint, parse_filter,
};
use super::server::SimState;
use super::throttle::{Charge, cost};
use super::token::{Caller, validate_bearer};

/// A Graph request, transport-independent.
#[derive(Debug, Clone)]
pub struct GraphCall<'a> {
    pub method: &'a str,
    /// Path after `/v1.0`, without the query string.
    pub path: &'a str,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
    pub consistency_eventual: bool,
    pub client_request_id: Option<String>,
    pub body: &'a [u8],
    /// Inside a `$batch`.
    pub inner: bool,
}

/// A Graph answer.
#[derive(Debug, Clone)]
pub struct GraphReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub content_type: &'static str,
    /// Objects returned (drives the per-item latency).
    pub items: usize,
    pub plan: Box<FaultPlan>,
}

pub(super) const JSON_CT: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const TEXT_CT: &str = "text/plain";

/// Roles that allow reading each area (any one suffices), per the Graph permission docs.
const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_APPS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_DEVICES: &[&str] = &[
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_CONTACTS: &[&str] = &[
    "OrgContact.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

pub(super) fn has_any(caller: &Caller, roles: &[&str]) -> bool {
    caller.roles.iter().any(|r| roles.contains(&r.as_str()))
}

/// Can the caller see full properties of this kind of member? Otherwise Graph returns
/// limited information: `@odata.type` + `id` (graph-reference §3).
fn can_read_kind(caller: &Caller, kind: ObjKind) -> bool {
    match kind {
        ObjKind::User => has_any(caller, READ_USERS),
        ObjKind::Group => has_any(caller, READ_GROUPS),
        ObjKind::Device => has_any(caller, READ_DEVICES),
        ObjKind::ServicePrincipal => has_any(caller, READ_APPS),
        ObjKind::OrgContact => has_any(caller, READ_CONTACTS),
    }
}

/// A reply under construction.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a SimState,
    request_id: String,
    client_request_id: String,
    ru: u32,
}

impl Ctx<'_> {
    pub(super) fn reply(
        &self,
        status: u16,
        body: String,
        ct: &'static str,
        items: usize,
    ) -> GraphReply {
        GraphReply {
            status,
            headers: vec![
                ("request-id".into(), self.request_id.clone()),
                ("client-request-id".into(), self.client_request_id.clone()),
                ("x-ms-resource-unit".into(), self.ru.to_string()),
                ("OData-Version".into(), "4.0".into()),
                (
                    "x-ms-ags-diagnostic".into(),
                    r#"{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM"}}"#.into(),
                ),
            ],
            body,
            content_type: ct,
            items,
            plan: Box::default(),
        }
    }

    /// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
    /// with the date in Graph's zone-less form (graph-reference §8).
    pub(super) fn error(&self, status: u16, code: &str, message: &str) -> GraphReply {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        let body = serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": date,
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                }
            }
        })
        .to_string();
        self.reply(status, body, JSON_CT, 0)
    }

    fn denied(&self) -> GraphReply {
        self.error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    fn not_found(&self, id: &str) -> GraphReply {
        self.error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub(super) fn bad(&self, message: &str) -> GraphReply {
        self.error(400, "Request_BadRequest", message)
    }

    pub(super) fn context(&self, what: &str) -> String {
        format!("{}/v1.0/$metadata#{what}", self.state.base_url)
    }
}

/// Which route a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Users,
    UsersCount,
    User(String),
    Groups,
    GroupsCount,
    GroupsDelta,
    Group(String),
    Members(String),
    Owners(String),
    TransitiveMembers(String),
    /// `/groups/{id}/members/$count` (false) or `/owners/$count` (true).
    RelationCount(String, bool),
    Organization,
    Applications,
    Application(String),
    ApplicationByAppId(String),
    ServicePrincipals,
    ServicePrincipal(String),
    ServicePrincipalByAppId(String),
    AppRoleAssignments(SpKey),
    Batch,
    Me,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SpKey {
    Id(String),
    AppId(String),
}

fn key_in_parens<'a>(seg: &'a str, name: &str) -> Option<&'a str> {
    seg.get(..name.len())
        .filter(|p| p.eq_ignore_ascii_case(name))?;
    let inner = seg[name.len()..].strip_prefix('(')?.strip_suffix(')')?;
    let (k, v) = inner.split_once('=')?;
    if !k.trim().eq_ignore_ascii_case("appId") {
        return None;
    }
    Some(v.trim().trim_matches('\''))
}

fn parse_route(path: &str) -> Route {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match s.as_slice() {
        [u] if eq(u, "users") => Route::Users,
        [u, c] if eq(u, "users") && eq(c, "$count") => Route::UsersCount,
        [u, id] if eq(u, "users") => Route::User(id.to_string()),
        [g] if eq(g, "groups") => Route::Groups,
        [g, c] if eq(g, "groups") && eq(c, "$count") => Route::GroupsCount,
        [g, d] if eq(g, "groups") && eq(d, "delta") => Route::GroupsDelta,
        [g, id] if eq(g, "groups") => Route::Group(id.to_string()),
        [g, id, m] if eq(g, "groups") && eq(m, "members") => Route::Members(id.to_string()),
        [g, id, o] if eq(g, "groups") && eq(o, "owners") => Route::Owners(id.to_string()),
        [g, id, t] if eq(g, "groups") && eq(t, "transitiveMembers") => {
            Route::TransitiveMembers(id.to_string())
        }
        [g, id, m, c] if eq(g, "groups") && eq(m, "members") && eq(c, "$count") => {
            Route::RelationCount(id.to_string(), false)
        }
        [g, id, o, c] if eq(g, "groups") && eq(o, "owners") && eq(c, "$count") => {
            Route::RelationCount(id.to_string(), true)
        }
        [o] if eq(o, "organization") => Route::Organization,
        [a] if eq(a, "applications") => Route::Applications,
        [a, id] if eq(a, "applications") => Route::Application(id.to_string()),
        [sp] if eq(sp, "servicePrincipals") => Route::ServicePrincipals,
        [sp, id] if eq(sp, "servicePrincipals") => Route::ServicePrincipal(id.to_string()),
        [sp, id, a] if eq(sp, "servicePrincipals") && eq(a, "appRoleAssignments") => {
            Route::AppRoleAssignments(SpKey::Id(id.to_string()))
        }
        [b] if eq(b, "$batch") => Route::Batch,
        [m] if eq(m, "me") => Route::Me,
        [one] => {
            if let Some(k) = key_in_parens(one, "applications") {
                Route::ApplicationByAppId(k.to_string())
            } else if let Some(k) = key_in_parens(one, "servicePrincipals") {
                Route::ServicePrincipalByAppId(k.to_string())
            } else {
                Route::Unknown(one.to_string())
            }
        }
        [one, a] if eq(a, "appRoleAssignments") => match key_in_parens(one, "servicePrincipals") {
            Some(k) => Route::AppRoleAssignments(SpKey::AppId(k.to_string())),
            None => Route::Unknown(a.to_string()),
        },
        segs => Route::Unknown(segs.last().map(|s| s.to_string()).unwrap_or_default()),
    }
}

impl Route {
    /// Base resource-unit cost of a GET (graph-reference §6).
    fn base_cost(&self) -> u32 {
        match self {
            Route::Users => 2,
            Route::Members(_) => 3,
            Route::TransitiveMembers(_) => 5,
            Route::Applications | Route::Application(_) | Route::ApplicationByAppId(_) => 2,
            Route::AppRoleAssignments(_) => 2,
            _ => 1,
        }
    }
}

/// Handles one Graph request (top-level or a `$batch` item).
pub fn handle(state: &SimState, call: &GraphCall<'_>) -> GraphReply {
    state.stats.graph_requests.fetch_add(1, Ordering::Relaxed);
    let mut cx = Ctx {
        state,
        request_id: Uuid::new_v4().to_string(),
        client_request_id: call
            .client_request_id
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string()),
        ru: 1,
    };
    let route = parse_route(call.path);
    let q = QueryOptions::parse(call.query);
    let plan = state.faults.plan(RequestShape {
        path: call.path,
        is_member_or_owner_fetch: matches!(
            route,
            Route::Members(_)
                | Route::Owners(_)
                | Route::TransitiveMembers(_)
                | Route::RelationCount(..)
        ),
        has_skiptoken: q.skiptoken.is_some(),
        inner: call.inner,
    });
    if plan.expire_tokens {
        state.token_generation.fetch_add(1, Ordering::SeqCst);
    }
    let mut reply = handle_inner(&mut cx, call, &route, &q, &plan);
    reply.plan = Box::new(plan);
    reply
}

fn www_authenticate() -> (String, String) {
    (
        "WWW-Authenticate".into(),
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"".into(),
    )
}

fn handle_inner(
    cx: &mut Ctx<'_>,
    call: &GraphCall<'_>,
    route: &Route,
    q: &QueryOptions,
    plan: &FaultPlan,
) -> GraphReply {
    let state = cx.state;
    let caller = match validate_bearer(state, call.authorization) {
        Ok(c) => c,
        Err(p) => {
            let mut r = cx.error(401, "InvalidAuthenticationToken", p.message());
            r.headers.push(www_authenticate());
            return r;
        }
    };
    state.app_stats[caller.app_idx]
        .requests
        .fetch_add(1, Ordering::Relaxed);
    if let Some((status, retry_after)) = plan.status {
        let mut r = match status {
            503 => cx.error(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
            504 => cx.error(504, "gatewayTimeout", "The gateway did not receive a timely response from the upstream server."),
            _ => cx.error(429, "TooManyRequests", "Too many requests. Please retry after the time specified in the Retry-After header."),
        };
        if let Some(ra) = retry_after {
            r.headers.push(("Retry-After".into(), ra.header_value()));
        }
        return r;
    }
    if *route == Route::Batch {
        // The envelope costs nothing; each item is charged on its own (graph-reference §5).
        cx.ru = 0;
        if call.method != "POST" {
            return cx.bad("$batch requires POST.");
        }
        return super::batch::run(state, call, &cx.request_id, &cx.client_request_id);
    }
    if call.method != "GET" {
        return if has_any(&caller, &["Directory.ReadWrite.All", "Group.ReadWrite.All"]) {
            cx.error(501, "NotImplemented", "The simulated tenant is read-only.")
        } else {
            cx.denied()
        };
    }
    if q.skip {
        return cx.bad("'$skip' is not supported by the service.");
    }
    if q.search.is_some() || q.orderby.is_some() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "The simulated tenant does not support $search or $orderby.",
        );
    }
    // Resource units: charge before doing the work.
    let small_top = q
        .top
        .as_deref()
        .and_then(|t| t.parse::<usize>().ok())
        .is_some_and(|t| t < 20);
    cx.ru = cost(
        route.base_cost(),
        q.select.is_some(),
        q.expand.is_some(),
        small_top,
    );
    let app = &state.app_stats[caller.app_idx];
    match state.throttle.charge(caller.app_idx, cx.ru) {
        Charge::Admitted { used } => {
            app.ru_spent.fetch_add(u64::from(cx.ru), Ordering::Relaxed);
            let mut r = dispatch(cx, call, route, q, plan, &caller);
            if used > 0.8 {
                r.headers.push((
                    "x-ms-throttle-limit-percentage".into(),
                    format!("{used:.2}"),
                ));
            }
            r
        }
        Charge::Throttled { retry_after } => {
            app.throttled.fetch_add(1, Ordering::Relaxed);
            state.stats.throttled.fetch_add(1, Ordering::Relaxed);
            let size = match state.dir.users.len() {
                n if n < 50 => "small",
                n if n <= 500 => "medium",
                _ => "large",
            };
            let mut r = cx.error(
                429,
                "TooManyRequests",
                &format!("Too many requests. Please retry after the time specified in the Retry-After header. Request throttled under category:throttle.aad.ags.appId.{size}"),
            );
            r.headers
                .push(("Retry-After".into(), format_secs(retry_after)));
            r.headers.push((
                "x-ms-throttle-scope".into(),
                format!(
                    "Tenant_Application/ReadWrite/{}/{}",
                    state.apps[caller.app_idx].app_id, state.dir.tenant_id
                ),
            ));
            r.headers.push((
                "x-ms-throttle-information".into(),
                "ResourceUnitLimitExceeded".into(),
            ));
            r
        }
    }
}

/// Retry-After in seconds, fractional like Graph's ("2.128").
pub fn format_secs(s: f64) -> String {
    let t = format!("{s:.3}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

fn dispatch(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    route: &Route,
    q: &QueryOptions,
    plan: &FaultPlan,
    caller: &Caller,
) -> GraphReply {
    let dir = &cx.state.dir;
    match route {
        Route::Users | Route::UsersCount | Route::User(_) if !has_any(caller, READ_USERS) => {
            cx.denied()
        }
        Route::Groups
        | Route::GroupsCount
        | Route::GroupsDelta
        | Route::Group(_)
        | Route::Members(_)
        | Route::Owners(_)
            if !has_any(caller, READ_GROUPS) =>
        {
            cx.denied()
        }
        Route::Applications
        | Route::Application(_)
        | Route::ApplicationByAppId(_)
        | Route::ServicePrincipals
        | Route::ServicePrincipal(_)
        | Route::ServicePrincipalByAppId(_)
        | Route::AppRoleAssignments(_)
            if !has_any(caller, READ_APPS) =>
        {
            cx.denied()
        }
        Route::Organization if !has_any(caller, READ_ORG) => cx.denied(),
        Route::Users => list_objects(cx, call, q, plan, caller, ObjKind::User),
        Route::Groups => list_objects(cx, call, q, plan, caller, ObjKind::Group),
        Route::GroupsDelta => super::delta::groups_delta(cx, call, q, plan, caller),
        Route::UsersCount => count(cx, call, dir.users.len()),
        Route::GroupsCount => count(cx, call, dir.groups.len()),
        Route::User(key) => {
            let found = match Uuid::parse_str(key) {
                Ok(id) => dir
                    .index
                    .get(&id)
                    .copied()
                    .filter(|r| r.kind == ObjKind::User),
                Err(_) => dir
                    .users
                    .iter()
                    .position(|u| u.user_principal_name.eq_ignore_ascii_case(key))
                    .map(|i| ObjRef {
                        kind: ObjKind::User,
                        idx: i as u32,
                    }),
            };
            match found {
                Some(r) => single_object(cx, q, r, "users", caller),
                None => cx.not_found(key),
            }
        }
        Route::Group(key) => match find_group(cx, key) {
            Ok(r) => single_object(cx, q, r, "groups", caller),
            Err(e) => e,
        },
        Route::Members(key) | Route::Owners(key) | Route::TransitiveMembers(key) => {
            let rel = match route {
                Route::Owners(_) => Rel::Owners,
                Route::TransitiveMembers(_) => Rel::TransitiveMembers,
                _ => Rel::Members,
            };
            let r = match find_group(cx, key) {
                Ok(r) => r,
                Err(e) => return e,
            };
            if plan.deleted_group {
                return cx.not_found(key);
            }
            relationship(cx, call, q, plan, r, rel, caller)
        }
        Route::RelationCount(key, owners) => {
            let r = match find_group(cx, key) {
                Ok(r) => r,
                Err(e) => return e,
            };
            if plan.deleted_group {
                return cx.not_found(key);
            }
            let g = &dir.groups[r.idx as usize];
            let n = if *owners {
                g.owners.len()
            } else if g.is_hidden_membership() && !has_any(caller, &["Member.Read.Hidden"]) {
                match cx.state.config.hidden_members {
                    HiddenMembers::Forbidden => return cx.denied(),
                    HiddenMembers::Empty => 0,
                }
            } else {
                g.members.len()
            };
            count(cx, call, n)
        }
        Route::Organization => super::tenant_routes::organization(cx),
        Route::Applications => super::tenant_routes::applications(cx, call, q, plan),
        Route::Application(id) => match Uuid::parse_str(id) {
            Ok(uid) => match dir.applications.iter().position(|a| a.id == uid) {
                Some(i) => super::tenant_routes::single_application(cx, q, i),
                None => cx.not_found(id),
            },
            Err(_) => cx.bad(&format!("Invalid object identifier '{id}'.")),
        },
        Route::ApplicationByAppId(app_id) => {
            match dir
                .applications
                .iter()
                .position(|a| a.app_id.to_string().eq_ignore_ascii_case(app_id))
            {
                Some(i) => super::tenant_routes::single_application(cx, q, i),
                None => cx.not_found(app_id),
            }
        }
        Route::ServicePrincipals => {
            list_objects(cx, call, q, plan, caller, ObjKind::ServicePrincipal)
        }
        Route::ServicePrincipal(id) | Route::ServicePrincipalByAppId(id) => {
            match find_sp(cx, route, id) {
                Ok(r) => single_object(cx, q, r, "servicePrincipals", caller),
                Err(e) => e,
            }
        }
        Route::AppRoleAssignments(key) => {
            let (route2, id) = match key {
                SpKey::Id(id) => (Route::ServicePrincipal(id.clone()), id),
                SpKey::AppId(id) => (Route::ServicePrincipalByAppId(id.clone()), id),
            };
            match find_sp(cx, &route2, id) {
                Ok(r) => super::tenant_routes::app_role_assignments(cx, q, r),
                Err(e) => e,
            }
        }
        Route::Me => cx.bad("/me request is only valid with delegated authentication flow."),
        Route::Batch => cx.bad("Nested $batch is not supported."),
        Route::Unknown(seg) => cx.error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{seg}'."),
        ),
    }
}

fn find_group(cx: &Ctx<'_>, key: &str) -> Result<ObjRef, GraphReply> {
    let id =
        Uuid::parse_str(key).map_err(|_| cx.bad(&format!("Invalid object identifier '{key}'.")))?;
    cx.state
        .dir
        .index
        .get(&id)
        .copied()
        .filter(|r| r.kind == ObjKind::Group)
        .ok_or_else(|| cx.not_found(key))
}

fn find_sp(cx: &Ctx<'_>, route: &Route, key: &str) -> Result<ObjRef, GraphReply> {
    let dir = &cx.state.dir;
    let idx = match route {
        Route::ServicePrincipalByAppId(_) => dir
            .service_principals
            .iter()
            .position(|s| s.app_id.to_string().eq_ignore_ascii_case(key)),
        _ => {
            let id = Uuid::parse_str(key)
                .map_err(|_| cx.bad(&format!("Invalid object identifier '{key}'.")))?;
            dir.service_principals.iter().position(|s| s.id == id)
        }
    };
    idx.map(|i| ObjRef {
        kind: ObjKind::ServicePrincipal,
        idx: i as u32,
    })
    .ok_or_else(|| cx.not_found(key))
}

/// `$count` requires `ConsistencyLevel: eventual` (advanced query).
fn count(cx: &Ctx<'_>, call: &GraphCall<'_>, n: usize) -> GraphReply {
    if !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    cx.reply(200, n.to_string(), TEXT_CT, 0)
}

/// Resolved `$select`: canonical names of known properties, and the raw text for the context.
pub(super) fn resolve_select(q: &QueryOptions) -> Option<(Vec<&'static str>, String)> {
    q.select.as_ref().map(|s| {
        (
            s.iter().filter_map(|p| canonical_prop(p)).collect(),
            s.join(","),
        )
    })
}

/// Parses `$top` with Graph's limits (1..=999, else 400).
pub(super) fn page_size(cx: &Ctx<'_>, q: &QueryOptions, cap: usize) -> Result<usize, GraphReply> {
    match &q.top {
        None => Ok(DEFAULT_TOP.min(cap)),
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n.min(cap)),
            _ => Err(cx.bad(&format!(
                "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
            ))),
        },
    }
}

/// Decodes `$skiptoken` for a list, or answers 400.
pub(super) fn page_offset(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    list: u64,
) -> Result<usize, GraphReply> {
    let Some(tok) = &q.skiptoken else {
        return Ok(0);
    };
    if plan.expired_skiptoken {
        return Err(cx.error(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    match PageToken::decode(tok) {
        Some(t) if t.list == list => Ok(t.offset),
        _ => Err(cx.bad("Invalid paging token (skiptoken) specified.")),
    }
}

pub(super) fn next_link(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    list: u64,
    offset: usize,
) -> String {
    let tok = PageToken {
        offset,
        list,
        issued_ms: chrono::Utc::now().timestamp_millis(),
    }
    .encode();
    format!(
        "{}/v1.0{}?{}",
        cx.state.base_url,
        call.path,
        q.next_query(&tok)
    )
}

/// A compiled `$filter` over one object type.
pub(super) struct Filter {
    clauses: Vec<(&'static str, Clause)>,
}

impl Filter {
    pub(super) fn compile(
        cx: &Ctx<'_>,
        q: &QueryOptions,
        props: &[&'static str],
        type_name: &str,
    ) -> Result<Option<Filter>, GraphReply> {
        let Some(f) = &q.filter else { return Ok(None) };
        let clauses = parse_filter(f).map_err(|m| cx.bad(&m))?;
        let mut out = Vec::new();
        for c in clauses {
            let name = match &c {
                Clause::Eq(p, _) | Clause::StartsWith(p, _) | Clause::In(p, _) => p.clone(),
            };
            let canon = props
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&name))
                .copied()
                .ok_or_else(|| cx.bad(&format!("Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")))?;
            out.push((canon, c));
        }
        Ok(Some(Filter { clauses: out }))
    }

    /// True if the object matches, reading each property through `write`.
    pub(super) fn matches(&self, write: &dyn Fn(&str, &mut String) -> bool) -> bool {
        let mut scratch = String::new();
        self.clauses.iter().all(|(prop, clause)| {
            scratch.clear();
            if !write(prop, &mut scratch) {
                return false;
            }
            let as_str = || serde_json::from_str::<String>(&scratch).ok();
            match clause {
                Clause::Eq(_, Literal::Bool(b)) => scratch == if *b { "true" } else { "false" },
                Clause::Eq(_, Literal::Null) => scratch == "null",
                Clause::Eq(_, Literal::Str(s)) => {
                    as_str().is_some_and(|v| v.eq_ignore_ascii_case(s))
                }
                Clause::StartsWith(_, s) => {
                    as_str().is_some_and(|v| v.to_lowercase().starts_with(&s.to_lowercase()))
                }
                Clause::In(_, list) => {
                    as_str().is_some_and(|v| list.iter().any(|s| s.eq_ignore_ascii_case(&v)))
                }
            }
        })
    }
}

/// Which relationships `$expand` asks for.
#[derive(Default, Clone, Copy)]
struct Expand {
    members: bool,
    owners: bool,
}

fn parse_expand(cx: &Ctx<'_>, q: &QueryOptions, kind: ObjKind) -> Result<Expand, GraphReply> {
    let mut e = Expand::default();
    let Some(raw) = &q.expand else { return Ok(e) };
    for part in raw.split(',') {
        let p = part.trim();
        if p.contains('(') {
            return Err(cx.bad(
                "Nested query options in $expand are not supported for directory relationships.",
            ));
        }
        match (kind, p.to_ascii_lowercase().as_str()) {
            (ObjKind::Group, "members") => e.members = true,
            (ObjKind::Group, "owners") => e.owners = true,
            _ => {
                return Err(cx.bad(&format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{}'.",
                    kind.truth_name()
                )));
            }
        }
    }
    Ok(e)
}

/// `$expand` on directory relationships returns at most 20 items, no nextLink
/// (graph-reference §4).
const EXPAND_CAP: usize = 20;
/// With `$expand`, the outer page is capped at 100 even with `$top=999` (observed).
const EXPAND_OUTER_CAP: usize = 100;

fn write_expanded(
    cx: &Ctx<'_>,
    g: ObjRef,
    e: Expand,
    caller: &Caller,
    out: &mut String,
    first: &mut bool,
) {
    let dir = &cx.state.dir;
    let group = &dir.groups[g.idx as usize];
    for (on, name, list) in [
        (e.members, "members", &group.members),
        (e.owners, "owners", &group.owners),
    ] {
        if !on {
            continue;
        }
        push_key(out, first, name);
        out.push('[');
        let hidden = name == "members"
            && group.is_hidden_membership()
            && !has_any(caller, &["Member.Read.Hidden"]);
        if !hidden {
            for (i, r) in list.iter().take(EXPAND_CAP).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dir.write_object(*r, None, true, !can_read_kind(caller, r.kind), out);
            }
        }
        out.push(']');
    }
}

fn write_one(
    cx: &Ctx<'_>,
    r: ObjRef,
    select: Option<&[&'static str]>,
    expand: Expand,
    caller: &Caller,
    out: &mut String,
) {
    let dir = &cx.state.dir;
    if !expand.members && !expand.owners {
        dir.write_object(r, select, false, false, out);
        return;
    }
    dir.write_object(r, select, false, false, out);
    out.pop(); // reopen the object to append the expanded relationships
    let mut first = out.ends_with('{');
    write_expanded(cx, r, expand, caller, out, &mut first);
    out.push('}');
}

fn list_objects(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    caller: &Caller,
    kind: ObjKind,
) -> GraphReply {
    let dir = &cx.state.dir;
    let (set, total) = match kind {
        ObjKind::User => ("users", dir.users.len()),
        ObjKind::Group => ("groups", dir.groups.len()),
        ObjKind::Device => ("devices", dir.devices.len()),
        ObjKind::ServicePrincipal => ("servicePrincipals", dir.service_principals.len()),
        ObjKind::OrgContact => ("contacts", dir.contacts.len()),
    };
    let expand = match parse_expand(cx, q, kind) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let cap = if expand.members || expand.owners {
        EXPAND_OUTER_CAP
    } else {
        MAX_TOP
    };
    let top = match page_size(cx, q, cap) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if q.wants_count() && !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    let filter = match Filter::compile(cx, q, all_props(kind), kind.truth_name()) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let list = fingerprint(&[set, q.filter.as_deref().unwrap_or("")]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let refs: Vec<ObjRef> = match &filter {
        None => Vec::new(),
        Some(f) => (0..total)
            .map(|i| ObjRef {
                kind,
                idx: i as u32,
            })
            .filter(|r| f.matches(&|p, out| dir.write_prop(*r, p, out)))
            .collect(),
    };
    let n = if filter.is_some() { refs.len() } else { total };
    let at = |i: usize| {
        if filter.is_some() {
            refs[i]
        } else {
            ObjRef {
                kind,
                idx: i as u32,
            }
        }
    };
    let sel = resolve_select(q);
    let end = offset.saturating_add(top).min(n);
    let mut out = String::with_capacity(64 + (end.saturating_sub(offset)) * 600);
    let ctx = match &sel {
        Some((_, raw)) => format!("{set}({raw})"),
        None => set.to_string(),
    };
    let count = (q.wants_count() && offset == 0).then_some(n);
    let next = (end < n).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, &ctx, count, next);
    for i in offset.min(end)..end {
        if i > offset {
            out.push(',');
        }
        write_one(
            cx,
            at(i),
            sel.as_ref().map(|s| s.0.as_slice()),
            expand,
            caller,
            &mut out,
        );
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}

fn single_object(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    r: ObjRef,
    set: &str,
    caller: &Caller,
) -> GraphReply {
    let expand = match parse_expand(cx, q, r.kind) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let sel = resolve_select(q);
    let mut obj = String::new();
    write_one(
        cx,
        r,
        sel.as_ref().map(|s| s.0.as_slice()),
        expand,
        caller,
        &mut obj,
    );
    let ctx = match &sel {
        Some((_, raw)) => format!("{set}({raw})/$entity"),
        None => format!("{set}/$entity"),
    };
    cx.reply(200, entity_body(cx, &ctx, &obj), JSON_CT, 1)
}

/// A single entity's body: `@odata.context` followed by the object's own properties
/// (`obj` is a serialised JSON object).
pub(super) fn entity_body(cx: &Ctx<'_>, ctx: &str, obj: &str) -> String {
    let mut out = String::with_capacity(obj.len() + 100);
    out.push_str("{\"@odata.context\":");
    push_str(&mut out, &cx.context(ctx));
    if obj.len() > 2 {
        out.push(',');
        out.push_str(&obj[1..]);
    } else {
        out.push('}');
    }
    out
}

/// Opens a collection page: `@odata.context`, `@odata.count` (first page, when asked for),
/// `@odata.nextLink` (when more follow) and the start of the `value` array.
pub(super) fn open_page(
    out: &mut String,
    cx: &Ctx<'_>,
    ctx: &str,
    count: Option<usize>,
    next_link: Option<String>,
) {
    out.push_str("{\"@odata.context\":");
    push_str(out, &cx.context(ctx));
    if let Some(n) = count {
        let _ = write!(out, ",\"@odata.count\":{n}");
    }
    if let Some(link) = next_link {
        out.push_str(",\"@odata.nextLink\":");
        push_str(out, &link);
    }
    out.push_str(",\"value\":[");
}

/// Which relationship of a group is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Members,
    Owners,
    TransitiveMembers,
}

impl Rel {
    fn name(self) -> &'static str {
        match self {
            Rel::Members => "members",
            Rel::Owners => "owners",
            Rel::TransitiveMembers => "transitiveMembers",
        }
    }
}

/// Every member reachable through nested groups (the nested groups included), each once, in
/// breadth-first order. Members of nested hidden-membership groups need Member.Read.Hidden.
fn transitive_members(dir: &Directory, root: ObjRef, can_read_hidden: bool) -> Vec<ObjRef> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([root]);
    seen.insert(root);
    while let Some(g) = queue.pop_front() {
        let group = &dir.groups[g.idx as usize];
        if g != root && group.is_hidden_membership() && !can_read_hidden {
            continue;
        }
        for m in &group.members {
            if seen.insert(*m) {
                out.push(*m);
                if m.kind == ObjKind::Group {
                    queue.push_back(*m);
                }
            }
        }
    }
    out
}

/// `/groups/{id}/members`, `/owners` and `/transitiveMembers`: directoryObject collections with `@odata.type`,
/// limited information for types the caller can't read, and the HiddenMembership rule.
fn relationship(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    g: ObjRef,
    rel: Rel,
    caller: &Caller,
) -> GraphReply {
    let dir = &cx.state.dir;
    let group = &dir.groups[g.idx as usize];
    let top = match page_size(cx, q, MAX_TOP) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if q.filter.is_some() || q.expand.is_some() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "The simulated tenant does not support $filter or $expand on members/owners.",
        );
    }
    if q.wants_count() && !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    let owners = rel == Rel::Owners;
    let gid = group.id.to_string();
    let list = fingerprint(&[rel.name(), &gid]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let hidden =
        !owners && group.is_hidden_membership() && !has_any(caller, &["Member.Read.Hidden"]);
    let transitive;
    let items: &[ObjRef] = if hidden {
        match cx.state.config.hidden_members {
            HiddenMembers::Forbidden => return cx.denied(),
            HiddenMembers::Empty => &[],
        }
    } else if owners {
        &group.owners
    } else if rel == Rel::TransitiveMembers {
        transitive = transitive_members(dir, g, has_any(caller, &["Member.Read.Hidden"]));
        &transitive
    } else {
        &group.members
    };
    let n = items.len();
    let end = offset.saturating_add(top).min(n);
    let sel = resolve_select(q);
    let mut out = String::with_capacity(64 + end.saturating_sub(offset) * 600);
    let ctx = match &sel {
        Some((_, raw)) => format!("directoryObjects({raw})"),
        None => "directoryObjects".to_string(),
    };
    let count = (q.wants_count() && offset == 0).then_some(n);
    let next = (end < n).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, &ctx, count, next);
    for (k, r) in items[offset.min(end)..end].iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let limited = !can_read_kind(caller, r.kind);
        dir.write_object(
            *r,
            sel.as_ref().map(|s| s.0.as_slice()),
            true,
            limited,
            &mut out,
        );
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_case_insensitively() {
        assert_eq!(parse_route("/Users"), Route::Users);
        assert_eq!(parse_route("/users/$count"), Route::UsersCount);
        assert_eq!(
            parse_route("/groups/abc/members"),
            Route::Members("abc".into())
        );
        assert_eq!(
            parse_route("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"),
            Route::ServicePrincipalByAppId("00000003-0000-0000-c000-000000000000".into())
        );
        assert_eq!(
            parse_route("/servicePrincipals(appId='x')/appRoleAssignments"),
            Route::AppRoleAssignments(SpKey::AppId("x".into()))
        );
        assert_eq!(parse_route("/nope"), Route::Unknown("nope".into()));
    }

    #[test]
    fn retry_after_is_fractional_seconds() {
        assert_eq!(format_secs(2.128), "2.128");
        assert_eq!(format_secs(3.0), "3");
        assert_eq!(format_secs(0.0004), "0");
    }
}
