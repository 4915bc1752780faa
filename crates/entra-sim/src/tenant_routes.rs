//! Tenant and app-registration routes: `/organization`, `/applications`, and a service
//! principal's `/appRoleAssignments` — what a permission check reads.

use serde_json::Value;
use uuid::Uuid;

use super::fault::FaultPlan;
use super::graph_api::{
    Ctx, Filter, GraphCall, GraphReply, JSON_CT, entity_body, next_link, open_page, page_offset,
    page_size,
};
use super::json::{push_bool, push_date, push_key, push_str, push_uuid};
use super::model::{Application, Directory, ObjRef};
use super::odata::{MAX_TOP, QueryOptions, fingerprint};

pub(super) fn organization(cx: &Ctx<'_>) -> GraphReply {
    let dir = cx.dir();
    let mut out = String::new();
    out.push_str("{\"@odata.context\":");
    push_str(&mut out, &cx.context("organization"));
    out.push_str(",\"value\":[{\"id\":");
    push_uuid(&mut out, &dir.tenant_id);
    out.push_str(",\"deletedDateTime\":null,\"businessPhones\":[],\"city\":null,\"country\":null,\"countryLetterCode\":\"US\",\"createdDateTime\":");
    push_date(&mut out, dir.created);
    out.push_str(",\"displayName\":");
    push_str(&mut out, &dir.display_name);
    out.push_str(",\"onPremisesSyncEnabled\":true,\"preferredLanguage\":\"en\",\"tenantType\":\"AAD\",\"assignedPlans\":[],\"provisionedPlans\":[],\"technicalNotificationMails\":[],\"verifiedDomains\":[");
    for (i, d) in dir.domains.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"capabilities\":\"Email, OfficeCommunicationsOnline\",\"isDefault\":");
        push_bool(&mut out, d.is_default);
        out.push_str(",\"isInitial\":");
        push_bool(&mut out, d.is_initial);
        out.push_str(",\"name\":");
        push_str(&mut out, &d.name);
        out.push_str(",\"type\":\"Managed\"}");
    }
    out.push_str("]}]}");
    cx.reply(200, out, JSON_CT, 1)
}

/// Application properties the simulator returns.
const APP_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "appId",
    "createdDateTime",
    "displayName",
    "publisherDomain",
    "signInAudience",
    "tags",
    "keyCredentials",
    "passwordCredentials",
    "requiredResourceAccess",
];

fn write_app_prop(dir: &Directory, app: &Application, p: &str, out: &mut String) -> bool {
    match p {
        "id" => push_uuid(out, &app.id),
        "deletedDateTime" => out.push_str("null"),
        "appId" => push_uuid(out, &app.app_id),
        "createdDateTime" => push_date(out, app.created),
        "displayName" => push_str(out, &app.display_name),
        "publisherDomain" => push_str(out, dir.default_domain()),
        "signInAudience" => push_str(out, &app.sign_in_audience),
        "tags" => out.push_str("[]"),
        "passwordCredentials" => {
            out.push('[');
            for (i, c) in app.password_credentials.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"customKeyIdentifier\":null,\"displayName\":");
                push_str(out, &c.display_name);
                out.push_str(",\"endDateTime\":");
                push_date(out, c.end);
                out.push_str(",\"hint\":");
                push_str(out, &c.secret.chars().take(3).collect::<String>());
                out.push_str(",\"keyId\":");
                push_uuid(out, &c.key_id);
                out.push_str(",\"secretText\":null,\"startDateTime\":");
                push_date(out, c.start);
                out.push('}');
            }
            out.push(']');
        }
        "keyCredentials" => {
            out.push('[');
            for (i, c) in app.key_credentials.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"customKeyIdentifier\":");
                push_str(out, &hex::encode_upper(&c.thumbprint_sha1));
                out.push_str(",\"displayName\":");
                push_str(out, &c.display_name);
                out.push_str(",\"endDateTime\":");
                push_date(out, c.end);
                out.push_str(",\"key\":null,\"keyId\":");
                push_uuid(out, &c.key_id);
                out.push_str(",\"startDateTime\":");
                push_date(out, c.start);
                out.push_str(",\"type\":\"AsymmetricX509Cert\",\"usage\":\"Verify\"}");
            }
            out.push(']');
        }
        "requiredResourceAccess" if app.required_resource_access.is_some() => {
            out.push_str(
                &app.required_resource_access
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_default(),
            );
        }
        "requiredResourceAccess" => {
            let roles: Vec<Uuid> = dir
                .service_principals
                .iter()
                .find(|s| s.app_id == app.app_id)
                .map(|s| {
                    s.app_role_assignments
                        .iter()
                        .map(|a| a.app_role_id)
                        .collect()
                })
                .unwrap_or_default();
            out.push_str(
                "[{\"resourceAppId\":\"00000003-0000-0000-c000-000000000000\",\"resourceAccess\":[",
            );
            for (i, r) in roles.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"id\":");
                push_uuid(out, r);
                out.push_str(",\"type\":\"Role\"}");
            }
            out.push_str("]}]");
        }
        _ => return false,
    }
    true
}

pub(crate) fn write_application(
    dir: &Directory,
    app: &Application,
    select: Option<&[String]>,
    out: &mut String,
) {
    out.push('{');
    let mut first = true;
    let props: Vec<&str> = match select {
        Some(s) => s
            .iter()
            .filter_map(|p| {
                APP_PROPS
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(p))
                    .copied()
            })
            .collect(),
        None => APP_PROPS.to_vec(),
    };
    for p in props {
        push_key(out, &mut first, p);
        write_app_prop(dir, app, p, out);
    }
    out.push('}');
}

pub(super) fn applications(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
) -> GraphReply {
    let dir = cx.dir();
    let top = match page_size(cx, q, MAX_TOP) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let filter = match Filter::compile(cx, q, APP_PROPS, "application") {
        Ok(f) => f,
        Err(e) => return e,
    };
    let list = fingerprint(&["applications", q.filter.as_deref().unwrap_or("")]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let matched: Vec<&Application> = dir
        .applications
        .iter()
        .filter(|a| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&|p, out| write_app_prop(dir, a, p, out)))
        })
        .collect();
    let end = offset.saturating_add(top).min(matched.len());
    let mut out = String::new();
    let next = (end < matched.len()).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, "applications", None, next);
    for (k, a) in matched[offset.min(end)..end].iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        write_application(dir, a, q.select.as_deref(), &mut out);
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}

pub(super) fn single_application(cx: &Ctx<'_>, q: &QueryOptions, i: usize) -> GraphReply {
    let dir = cx.dir();
    let mut obj = String::new();
    write_application(dir, &dir.applications[i], q.select.as_deref(), &mut obj);
    cx.reply(
        200,
        entity_body(cx, "applications/$entity", &obj),
        JSON_CT,
        1,
    )
}

pub(super) fn app_role_assignments(cx: &Ctx<'_>, q: &QueryOptions, r: ObjRef) -> GraphReply {
    let dir = cx.dir();
    let sp = &dir.service_principals[r.idx as usize];
    let mut out = String::new();
    out.push_str("{\"@odata.context\":");
    push_str(
        &mut out,
        &cx.context(&format!(
            "servicePrincipals('{}')/appRoleAssignments",
            sp.id
        )),
    );
    out.push_str(",\"value\":[");
    let wanted = |p: &str| {
        q.select
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x.eq_ignore_ascii_case(p)))
    };
    for (i, a) in sp.app_role_assignments.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let mut first = true;
        let created = chrono::DateTime::from_timestamp(a.created, 0)
            .map(|d| {
                format!(
                    "{}.{:07}Z",
                    d.format("%Y-%m-%dT%H:%M:%S"),
                    d.timestamp_subsec_nanos() / 100
                )
            })
            .unwrap_or_default();
        let fields: [(&str, Value); 9] = [
            ("id", Value::String(a.id.clone())),
            ("deletedDateTime", Value::Null),
            ("appRoleId", Value::String(a.app_role_id.to_string())),
            // appRoleAssignment dates carry 7 fractional digits (graph-reference §10).
            ("createdDateTime", Value::String(created)),
            (
                "principalDisplayName",
                Value::String(sp.display_name.clone()),
            ),
            ("principalId", Value::String(sp.id.to_string())),
            ("principalType", Value::String("ServicePrincipal".into())),
            (
                "resourceDisplayName",
                Value::String(a.resource_display_name.clone()),
            ),
            ("resourceId", Value::String(a.resource_id.to_string())),
        ];
        for (k, v) in fields {
            if wanted(k) {
                push_key(&mut out, &mut first, k);
                out.push_str(&v.to_string());
            }
        }
        out.push('}');
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, sp.app_role_assignments.len())
}
