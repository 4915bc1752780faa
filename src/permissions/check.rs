//! Gathers the evidence for a [`PermissionReport`] from Graph: the token's roles, the service
//! principal's app role assignments, the application's secrets and a live probe (list one
//! user). Each source may fail on its own (an app without Directory.Read.All cannot read its
//! own assignments); the analysis works with whatever was learned.

use serde_json::Value;

use super::analysis::{Evidence, analyze};
use super::report::{MICROSOFT_GRAPH_APP_ID, PermissionReport};
use crate::graph::{GraphClient, GraphError};

/// Checks the app's Microsoft Graph application permissions. Fails only when no token can be
/// had (wrong tenant, client id or credential) or on cancellation.
pub async fn check(client: &GraphClient) -> Result<PermissionReport, GraphError> {
    let token = client.token().await?;
    let client_id = client.config().client_id.clone();
    let token_roles = token.claims().map(|c| c.roles.clone()).unwrap_or_default();

    let (assigned, graph_roles, application, probe) = tokio::join!(
        assigned_graph_roles(client, &client_id),
        graph_app_roles(client),
        application(client, &client_id),
        client.get_json("/users?$top=1&$select=id"),
    );
    let users_readable = match probe {
        Ok(_) => Some(true),
        Err(GraphError::Cancelled) => return Err(GraphError::Cancelled),
        Err(e) if e.is_access_denied() => Some(false),
        Err(e) => {
            tracing::info!(error = %e, "users probe inconclusive");
            None
        }
    };
    let assigned_role_ids = tolerate(assigned)?;
    let graph_app_roles = tolerate(graph_roles)?.unwrap_or_default();
    let application = tolerate(application)?.flatten();
    let app_label = application
        .as_ref()
        .and_then(|a| a.get("displayName").and_then(Value::as_str))
        .map_or_else(
            || format!("the app with client id {client_id}"),
            |name| format!("\"{name}\" (client id {client_id})"),
        );
    let password_credentials = application.as_ref().and_then(|a| {
        a.get("passwordCredentials")
            .and_then(Value::as_array)
            .cloned()
    });
    let evidence = Evidence {
        token_roles,
        assigned_role_ids,
        graph_app_roles,
        password_credentials,
        users_readable,
    };
    let mut report = analyze(&evidence, &app_label, chrono::Utc::now());
    let missing: Vec<_> = report
        .required
        .iter()
        .filter(|p| p.state != super::report::GrantState::Granted)
        .collect();
    report.secret_in_use = client.secret_hint();
    report.grant_commands =
        super::analysis::grant_commands(&client.config().tenant.to_string(), &client_id, &missing);
    Ok(report)
}

/// Keeps going when one source is unreadable (403, 404, ...); stops on cancellation.
fn tolerate<T>(r: Result<T, GraphError>) -> Result<Option<T>, GraphError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(GraphError::Cancelled) => Err(GraphError::Cancelled),
        Err(e) => {
            tracing::info!(error = %e, "permission evidence unavailable");
            Ok(None)
        }
    }
}

/// The `appRoleId`s assigned to this app's service principal on Microsoft Graph.
async fn assigned_graph_roles(
    client: &GraphClient,
    client_id: &str,
) -> Result<Vec<String>, GraphError> {
    let sp = client
        .get_json(&format!(
            "/servicePrincipals(appId='{client_id}')?$select=id"
        ))
        .await?;
    let graph_sp = client
        .get_json(&format!(
            "/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')?$select=id"
        ))
        .await?;
    let (Some(sp_id), Some(graph_id)) = (str_field(&sp, "id"), str_field(&graph_sp, "id")) else {
        return Err(GraphError::Decode {
            what: "a service principal".into(),
            message: "no id".into(),
        });
    };
    let mut ids = Vec::new();
    let mut pager = client.pager(&format!("/servicePrincipals/{sp_id}/appRoleAssignments"));
    while let Some(page) = pager.next_page().await {
        for a in page?.items {
            let on_graph =
                str_field(&a, "resourceId").is_some_and(|r| r.eq_ignore_ascii_case(graph_id));
            if let (true, Some(role)) = (on_graph, str_field(&a, "appRoleId")) {
                ids.push(role.to_string());
            }
        }
    }
    Ok(ids)
}

/// Microsoft Graph's app roles as (id, value), to name over-privileged assignments.
async fn graph_app_roles(client: &GraphClient) -> Result<Vec<(String, String)>, GraphError> {
    let sp = client
        .get_json(&format!(
            "/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')?$select=id,appRoles"
        ))
        .await?;
    Ok(sp
        .get("appRoles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(|r| Some((str_field(r, "id")?.into(), str_field(r, "value")?.into())))
                .collect()
        })
        .unwrap_or_default())
}

/// The app registration (display name and secrets), if this app may read it.
async fn application(client: &GraphClient, client_id: &str) -> Result<Option<Value>, GraphError> {
    let body = client
        .get_json(&format!(
            "/applications?$filter=appId eq '{client_id}'&$select=displayName,passwordCredentials"
        ))
        .await?;
    Ok(body
        .get("value")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
        .cloned())
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// When the client secret `client` signs in with ends, found among the application's secrets
/// by the hint Graph keeps (its first three characters): the soonest end if several share it.
/// `None` for certificate clients, or when Graph does not say (the app cannot read
/// applications, or no secret matches); only cancellation is an error.
pub async fn own_secret_expiry(
    client: &GraphClient,
) -> Result<Option<super::report::SecretExpiry>, GraphError> {
    let Some(hint) = client.secret_hint() else {
        return Ok(None);
    };
    let client_id = client.config().client_id.clone();
    let app = tolerate(application(client, &client_id).await)?.flatten();
    let creds = app
        .as_ref()
        .and_then(|a| a.get("passwordCredentials"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(super::analysis::secret_expiries(&creds, chrono::Utc::now())
        .into_iter()
        .find(|s| s.hint.as_deref() == Some(hint.as_str())))
}
