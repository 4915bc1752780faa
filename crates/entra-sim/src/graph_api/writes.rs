//! The app-registration writes an administrator's delegated token may make
//! [GDC api/application-post-applications.md, serviceprincipal-post-serviceprincipals.md,
//! serviceprincipal-post-approleassignments.md, application-addpassword.md,
//! application-removepassword.md, application-delete.md]: create an application and its
//! service principal, grant it Microsoft Graph app roles, add and remove client secrets,
//! delete it. Only applications created this way may be deleted (the demo apps stay).
//!
//! Who may do what: `Application.ReadWrite.All` in `scp` plus a role that manages apps for
//! everything but consent; consent to Microsoft Graph application permissions also needs
//! `AppRoleAssignment.ReadWrite.All` and Global Administrator (or Privileged Role
//! Administrator) [Entra: grant tenant-wide admin consent].

use std::time::Instant;

use serde_json::{Value, json};
use uuid::Uuid;

use super::access::has_any;
use super::routes::{Route, SpKey};
use super::{Ctx, GraphCall, GraphReply, JSON_CT};
use crate::apps::{GRAPH_ROLES, make_secret};
use crate::json::{push_date, push_str, push_uuid};
use crate::model::{
    AppRoleAssignment, Application, Directory, PasswordCredential, ServicePrincipal,
};
use crate::state::{MAX_CREATED_APPS, SimState, Snapshot};
use crate::tenant_routes::write_application;
use crate::token::{Caller, now_secs};

const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

/// Whether `route` takes `method` as a write.
pub(super) fn is_write(route: &Route, method: &str) -> bool {
    matches!(
        (method, route),
        (
            "POST",
            Route::Applications
                | Route::ServicePrincipals
                | Route::AppRoleAssignments(_)
                | Route::AddPassword(_)
                | Route::RemovePassword(_)
        ) | (
            "DELETE",
            Route::Application(_) | Route::ApplicationByAppId(_)
        )
    )
}

/// Answers a write (the caller holds a delegated token; [`is_write`] said yes).
pub(super) fn write(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    route: &Route,
    caller: &Caller,
) -> GraphReply {
    let Some(person) = caller.person else {
        return cx.denied();
    };
    let manage = has_any(caller, &["Application.ReadWrite.All"]) && person.may_manage_apps();
    let body: Value = if call.method == "POST" {
        match serde_json::from_slice(call.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return cx.bad("Invalid JSON in the request body: expected an object."),
        }
    } else {
        Value::Null
    };
    match route {
        Route::AppRoleAssignments(key) => {
            let consent = has_any(caller, &["AppRoleAssignment.ReadWrite.All"])
                && has_any(
                    caller,
                    &["Application.Read.All", "Application.ReadWrite.All"],
                )
                && person.may_grant_app_roles();
            if !consent {
                return cx.denied();
            }
            assign_app_role(cx, key, &body)
        }
        _ if !manage => cx.denied(),
        Route::Applications => create_application(cx, &body),
        Route::ServicePrincipals => create_service_principal(cx, &body),
        Route::AddPassword(key) => add_password(cx, key, &body),
        Route::RemovePassword(key) => remove_password(cx, key, &body),
        Route::Application(id) => delete_application(cx, &SpKey::Id(id.clone())),
        Route::ApplicationByAppId(id) => delete_application(cx, &SpKey::AppId(id.clone())),
        _ => cx.bad("This write is not supported by the simulated tenant."),
    }
}

/// Applies `change` to a copy of the directory and makes it current (users, groups and the
/// delta history are untouched, so the version stays). `change` answers the reply.
fn mutate(
    state: &SimState,
    change: impl FnOnce(&mut Directory) -> Result<GraphReply, GraphReply>,
) -> GraphReply {
    state.tenant.try_update(|snap| {
        let mut dir = snap.dir.clone();
        let reply = change(&mut dir)?;
        dir.rebuild_index();
        let mut next = Snapshot::new(dir);
        next.version = snap.version;
        next.history = snap.history.clone();
        Ok((next, reply))
    })
}

fn find_application(dir: &Directory, key: &SpKey) -> Option<usize> {
    dir.applications.iter().position(|a| match key {
        SpKey::Id(id) => a.id.to_string().eq_ignore_ascii_case(id),
        SpKey::AppId(id) => a.app_id.to_string().eq_ignore_ascii_case(id),
    })
}

fn key_text(key: &SpKey) -> &str {
    match key {
        SpKey::Id(id) | SpKey::AppId(id) => id,
    }
}

/// `requiredResourceAccess` as posted, checked: GUIDs, `Role` or `Scope`, and for Microsoft
/// Graph only app roles it has.
fn check_resource_access(v: Option<&Value>) -> Result<Value, String> {
    let Some(v) = v else {
        return Ok(json!([]));
    };
    let bad = || {
        "Invalid value specified for property 'requiredResourceAccess' of resource 'Application'."
            .to_string()
    };
    let list = v.as_array().ok_or_else(bad)?;
    for resource in list {
        let app = resource["resourceAppId"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(bad)?;
        for access in resource["resourceAccess"].as_array().ok_or_else(bad)? {
            let id = access["id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(bad)?;
            match access["type"].as_str() {
                Some("Role") if app == crate::apps::GRAPH_APP_ID => {
                    if !GRAPH_ROLES.iter().any(|r| r.id == id) {
                        return Err(format!(
                            "Permission (scope or role) {id} cannot be found on Microsoft Graph."
                        ));
                    }
                }
                Some("Role" | "Scope") => {}
                _ => return Err(bad()),
            }
        }
    }
    Ok(v.clone())
}

fn create_application(cx: &Ctx<'_>, body: &Value) -> GraphReply {
    let Some(name) = body["displayName"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
    else {
        return cx
            .bad("Invalid value specified for property 'displayName' of resource 'Application'.");
    };
    let audience = body["signInAudience"]
        .as_str()
        .unwrap_or("AzureADandPersonalMicrosoftAccount");
    if !SIGN_IN_AUDIENCES.contains(&audience) {
        return cx.bad(
            "Invalid value specified for property 'signInAudience' of resource 'Application'.",
        );
    }
    let access = match check_resource_access(body.get("requiredResourceAccess")) {
        Ok(a) => a,
        Err(m) => return cx.bad(&m),
    };
    let app_id = Uuid::new_v4();
    {
        let mut created = cx
            .state
            .created_apps
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if created.len() >= MAX_CREATED_APPS {
            return cx.error(
                400,
                "Directory_QuotaExceeded",
                &format!(
                    "The simulated tenant creates at most {MAX_CREATED_APPS} applications per run (a limit of the simulator, not of Entra); restart it."
                ),
            );
        }
        created.push(app_id);
    }
    let state = cx.state;
    mutate(state, |dir| {
        let app = Application {
            id: Uuid::new_v4(),
            app_id,
            display_name: name.to_string(),
            created: now_secs(),
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
            required_resource_access: Some(access),
            sign_in_audience: audience.to_string(),
        };
        let mut obj = String::new();
        write_application(dir, &app, None, &mut obj);
        let mut reply = cx.reply(
            201,
            super::entity_body(cx, "applications/$entity", &obj),
            JSON_CT,
            1,
        );
        reply.headers.push((
            "Location".into(),
            format!(
                "{}/v2/{}/directoryObjects/{}/Microsoft.DirectoryServices.Application",
                state.base_url, state.tenant_id_str, app.id
            ),
        ));
        dir.applications.push(app);
        Ok(reply)
    })
}

fn create_service_principal(cx: &Ctx<'_>, body: &Value) -> GraphReply {
    let Some(app_id) = body["appId"].as_str() else {
        return cx
            .bad("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.");
    };
    let tenant = cx.dir().tenant_id;
    mutate(cx.state, |dir| {
        let Some(i) = find_application(dir, &SpKey::AppId(app_id.to_string())) else {
            return Err(cx.bad(&format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            )));
        };
        let app = &dir.applications[i];
        if dir
            .service_principals
            .iter()
            .any(|s| s.app_id == app.app_id)
        {
            return Err(cx.error(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property servicePrincipalNames already exists.",
            ));
        }
        let sp = ServicePrincipal {
            id: Uuid::new_v4(),
            app_id: app.app_id,
            display_name: app.display_name.clone(),
            app_owner_organization_id: Some(tenant),
            account_enabled: true,
            app_roles: Vec::new(),
            app_role_assignments: Vec::new(),
            created: now_secs(),
        };
        let mut obj = String::from("{");
        let mut first = true;
        for p in [
            "id",
            "accountEnabled",
            "appDisplayName",
            "appId",
            "appOwnerOrganizationId",
            "displayName",
            "servicePrincipalType",
        ] {
            let before = obj.len();
            if !first {
                obj.push(',');
            }
            push_str(&mut obj, p);
            obj.push(':');
            if sp.write_prop(p, &mut obj) {
                first = false;
            } else {
                obj.truncate(before);
            }
        }
        obj.push('}');
        let reply = cx.reply(
            201,
            super::entity_body(cx, "servicePrincipals/$entity", &obj),
            JSON_CT,
            1,
        );
        dir.service_principals.push(sp);
        Ok(reply)
    })
}

fn assign_app_role(cx: &Ctx<'_>, key: &SpKey, body: &Value) -> GraphReply {
    let uuid = |name: &str| body[name].as_str().and_then(|s| Uuid::parse_str(s).ok());
    let (Some(principal), Some(resource), Some(role)) =
        (uuid("principalId"), uuid("resourceId"), uuid("appRoleId"))
    else {
        return cx.bad("principalId, resourceId and appRoleId must be GUIDs.");
    };
    mutate(cx.state, |dir| {
        let sp_idx = dir.service_principals.iter().position(|s| match key {
            SpKey::Id(id) => s.id.to_string().eq_ignore_ascii_case(id),
            SpKey::AppId(id) => s.app_id.to_string().eq_ignore_ascii_case(id),
        });
        let Some(sp_idx) = sp_idx else {
            return Err(cx.not_found(key_text(key)));
        };
        if dir.service_principals[sp_idx].id != principal {
            return Err(cx.bad(
                "The principalId must be the service principal the assignment is posted to.",
            ));
        }
        let Some(res) = dir.service_principals.iter().find(|s| s.id == resource) else {
            return Err(cx.not_found(&resource.to_string()));
        };
        if !res.app_roles.iter().any(|r| r.id == role) {
            return Err(cx.bad("Permission being assigned was not found on application"));
        }
        let resource_name = res.display_name.clone();
        let sp = &mut dir.service_principals[sp_idx];
        if sp
            .app_role_assignments
            .iter()
            .any(|a| a.app_role_id == role && a.resource_id == resource)
        {
            return Err(cx.error(
                409,
                "Request_BadRequest",
                "Permission being assigned already exists on the object",
            ));
        }
        let assignment = AppRoleAssignment {
            id: base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                Uuid::new_v4().as_bytes(),
            ),
            app_role_id: role,
            resource_id: resource,
            resource_display_name: resource_name.clone(),
            created: now_secs(),
        };
        let obj = json!({
            "id": assignment.id,
            "deletedDateTime": null,
            "appRoleId": role.to_string(),
            "createdDateTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "principalDisplayName": sp.display_name,
            "principalId": principal.to_string(),
            "principalType": "ServicePrincipal",
            "resourceDisplayName": resource_name,
            "resourceId": resource.to_string(),
        })
        .to_string();
        sp.app_role_assignments.push(assignment);
        Ok(cx.reply(
            201,
            super::entity_body(
                cx,
                &format!("servicePrincipals('{principal}')/appRoleAssignments/$entity"),
                &obj,
            ),
            JSON_CT,
            1,
        ))
    })
}

fn parse_time(v: &Value, name: &str) -> Result<Option<i64>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.timestamp()))
            .map_err(|_| format!("Invalid value specified for property '{name}' of resource 'PasswordCredential'.")),
        Some(_) => Err(format!("Invalid value specified for property '{name}' of resource 'PasswordCredential'.")),
    }
}

fn add_password(cx: &Ctx<'_>, key: &SpKey, body: &Value) -> GraphReply {
    let cred = &body["passwordCredential"];
    let now = now_secs();
    let times =
        parse_time(cred, "startDateTime").and_then(|s| Ok((s, parse_time(cred, "endDateTime")?)));
    let (start, end) = match times {
        Ok((s, e)) => {
            let s = s.unwrap_or(now);
            // The documented default: two years after the start.
            (s, e.unwrap_or(s + 2 * 365 * 86_400))
        }
        Err(m) => return cx.bad(&m),
    };
    if end <= start {
        return cx.bad("The end date of a password credential must be after its start date.");
    }
    let display_name = cred["displayName"].as_str().unwrap_or("").to_string();
    let state = cx.state;
    mutate(state, |dir| {
        let Some(i) = find_application(dir, key) else {
            return Err(cx.not_found(key_text(key)));
        };
        let secret = make_secret(&mut rand::rng());
        let key_id = Uuid::new_v4();
        let mut obj = String::from("{\"customKeyIdentifier\":null,\"displayName\":");
        push_str(&mut obj, &display_name);
        obj.push_str(",\"endDateTime\":");
        push_date(&mut obj, end);
        obj.push_str(",\"hint\":");
        push_str(&mut obj, &secret[..3]);
        obj.push_str(",\"keyId\":");
        push_uuid(&mut obj, &key_id);
        obj.push_str(",\"secretText\":");
        push_str(&mut obj, &secret);
        obj.push_str(",\"startDateTime\":");
        push_date(&mut obj, start);
        obj.push('}');
        let delay = state.config.replication_delay;
        if !delay.is_zero() {
            state
                .secret_ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key_id, Instant::now() + delay);
        }
        dir.applications[i]
            .password_credentials
            .push(PasswordCredential {
                key_id,
                display_name,
                secret,
                start,
                end,
            });
        Ok(cx.reply(
            200,
            super::entity_body(cx, "microsoft.graph.passwordCredential", &obj),
            JSON_CT,
            1,
        ))
    })
}

fn remove_password(cx: &Ctx<'_>, key: &SpKey, body: &Value) -> GraphReply {
    let Some(key_id) = body["keyId"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
        return cx.bad("Invalid value specified for property 'keyId': a GUID is required.");
    };
    mutate(cx.state, |dir| {
        let Some(i) = find_application(dir, key) else {
            return Err(cx.not_found(key_text(key)));
        };
        let creds = &mut dir.applications[i].password_credentials;
        let before = creds.len();
        creds.retain(|c| c.key_id != key_id);
        if creds.len() == before {
            return Err(cx.bad(&format!(
                "No password credential found with keyId {key_id}."
            )));
        }
        Ok(cx.reply(204, String::new(), JSON_CT, 0))
    })
}

fn delete_application(cx: &Ctx<'_>, key: &SpKey) -> GraphReply {
    mutate(cx.state, |dir| {
        let Some(i) = find_application(dir, key) else {
            return Err(cx.not_found(key_text(key)));
        };
        let app_id = dir.applications[i].app_id;
        if cx.state.created_slot(app_id).is_none() {
            return Err(cx.error(
                403,
                "Authorization_RequestDenied",
                "The simulated tenant's demo apps cannot be deleted.",
            ));
        }
        // Deleting an application deletes its service principal (and with it its grants).
        dir.applications.remove(i);
        dir.service_principals.retain(|s| s.app_id != app_id);
        Ok(cx.reply(204, String::new(), JSON_CT, 0))
    })
}

/// `GET /_sim/apps`: the applications created through Graph that still exist.
pub fn apps_json(state: &SimState) -> Value {
    let snap = state.snapshot();
    let dir = &snap.dir;
    let created = state
        .created_apps
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let apps: Vec<Value> = created
        .iter()
        .filter_map(|app_id| dir.applications.iter().find(|a| a.app_id == *app_id))
        .map(|a| {
            let sp = dir.service_principals.iter().find(|s| s.app_id == a.app_id);
            let roles: Vec<&str> = sp
                .map(|s| {
                    s.app_role_assignments
                        .iter()
                        .filter_map(|r| GRAPH_ROLES.iter().find(|g| g.id == r.app_role_id))
                        .map(|g| g.value)
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "appId": a.app_id.to_string(),
                "applicationId": a.id.to_string(),
                "displayName": a.display_name,
                "signInAudience": a.sign_in_audience,
                "requiredResourceAccess": a.required_resource_access,
                "servicePrincipalId": sp.map(|s| s.id.to_string()),
                "roles": roles,
                "keyIds": a.password_credentials.iter().map(|c| c.key_id.to_string()).collect::<Vec<_>>(),
                "secretEnds": a.password_credentials.iter().map(|c| c.end).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "apps": apps })
}
