//! What every Graph request goes through before its route runs: fault plan, bearer
//! validation, injected statuses, `$batch`, method and query checks, resource-unit charging
//! and throttling.

use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::access::has_any;
use super::dispatch::dispatch;
use super::routes::{Route, parse_route};
use super::writes;
use super::{Ctx, GraphCall, GraphReply};
use crate::batch;
use crate::fault::{FaultPlan, RequestShape, RetryAfter};
use crate::odata::QueryOptions;
use crate::state::SimState;
use crate::throttle::{Charge, cost};
use crate::token::{Caller, validate_bearer};

/// Handles one Graph request (top-level or a `$batch` item).
pub fn handle(state: &SimState, call: &GraphCall<'_>) -> GraphReply {
    state.stats.graph_requests.fetch_add(1, Ordering::Relaxed);
    let mut cx = Ctx {
        state,
        snap: state.snapshot(),
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
        method: call.method,
        query: &q.decoded(),
        is_member_or_owner_fetch: matches!(
            route,
            Route::Members(_)
                | Route::MembersCast(..)
                | Route::MembersCastCount(..)
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

/// A request past its fault plan: the bearer, an injected status, `$batch`, the method and
/// query checks, then its route under the resource-unit budget.
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
        return injected_status(cx, status, retry_after);
    }
    if *route == Route::Batch {
        // The envelope costs nothing; each item is charged on its own (graph-reference §5).
        cx.ru = 0;
        if call.method != "POST" {
            return cx.bad("$batch requires POST.");
        }
        return batch::run(state, call, &cx.request_id, &cx.client_request_id);
    }
    // getByIds is a read that POSTs its list of ids.
    let read_by_post = *route == Route::GetByIds && call.method == "POST";
    let delegated_write = caller.person.is_some() && writes::is_write(route, call.method);
    if call.method != "GET" && !read_by_post && !delegated_write {
        return if has_any(&caller, &["Directory.ReadWrite.All", "Group.ReadWrite.All"]) {
            cx.error(501, "NotImplemented", "The simulated tenant is read-only.")
        } else {
            cx.denied()
        };
    }
    if let Some(refused) = unsupported_query(cx, q) {
        return refused;
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
            let mut r = if delegated_write {
                writes::write(cx, call, route, &caller)
            } else {
                dispatch(cx, call, route, q, plan, &caller)
            };
            if used > 0.8 {
                r.headers.push((
                    "x-ms-throttle-limit-percentage".into(),
                    format!("{used:.2}"),
                ));
            }
            r
        }
        Charge::Throttled { retry_after } => throttled(cx, &caller, retry_after),
    }
}

/// The status a fault injects instead of the answer, with Graph's error and its Retry-After.
fn injected_status(cx: &Ctx<'_>, status: u16, retry_after: Option<RetryAfter>) -> GraphReply {
    let mut r = match status {
        404 => cx.error(
            404,
            "Request_ResourceNotFound",
            "Resource not found for the segment.",
        ),
        500 => cx.error(
            500,
            "generalException",
            "General exception while processing",
        ),
        503 => cx.error(
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        504 => cx.error(
            504,
            "gatewayTimeout",
            "The gateway did not receive a timely response from the upstream server.",
        ),
        _ => cx.error(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the time specified in the Retry-After header.",
        ),
    };
    if let Some(ra) = retry_after {
        r.headers.push(("Retry-After".into(), ra.header_value()));
    }
    r
}

/// The answer to query options the simulated tenant refuses (`$skip`, `$search`, `$orderby`).
fn unsupported_query(cx: &Ctx<'_>, q: &QueryOptions) -> Option<GraphReply> {
    if q.skip {
        return Some(cx.bad("'$skip' is not supported by the service."));
    }
    if q.search.is_some() || q.orderby.is_some() {
        return Some(cx.error(
            400,
            "Request_UnsupportedQuery",
            "The simulated tenant does not support $search or $orderby.",
        ));
    }
    None
}

/// The 429 of an app over its resource-unit budget, with Graph's throttling headers.
fn throttled(cx: &Ctx<'_>, caller: &Caller, retry_after: f64) -> GraphReply {
    let state = cx.state;
    let app = &state.app_stats[caller.app_idx];
    app.throttled.fetch_add(1, Ordering::Relaxed);
    state.stats.throttled.fetch_add(1, Ordering::Relaxed);
    let size = match cx.dir().users.len() {
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
            caller.app_id, state.tenant_id_str
        ),
    ));
    r.headers.push((
        "x-ms-throttle-information".into(),
        "ResourceUnitLimitExceeded".into(),
    ));
    r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_fractional_seconds() {
        assert_eq!(format_secs(2.128), "2.128");
        assert_eq!(format_secs(3.0), "3");
        assert_eq!(format_secs(0.0004), "0");
    }
}
