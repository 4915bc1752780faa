//! The demo app registrations: application object, service principal and Graph role grants.

use rand::Rng;
use uuid::Uuid;

use super::{Ctx, GRAPH_SP_IDX, GeneratedApp, uuid};
use crate::apps::{DemoAppKind, graph_role, make_secret};
use crate::model::{AppRoleAssignment, Application, PasswordCredential, ServicePrincipal};

/// One app per `DemoAppKind`; their service principals are appended to `sps`.
pub(super) fn demo_apps(
    cx: &mut Ctx,
    now: i64,
    sps: &mut Vec<ServicePrincipal>,
) -> (Vec<Application>, Vec<GeneratedApp>) {
    let graph_sp_id = sps[GRAPH_SP_IDX].id;
    let mut applications = Vec::new();
    let mut apps = Vec::new();
    for kind in DemoAppKind::ALL {
        let display_name = format!("entra-extract demo ({})", kind.slug());
        let app_id = uuid(&mut cx.rng);
        let secret = make_secret(&mut cx.rng);
        let app_obj_id = uuid(&mut cx.rng);
        let key_id = uuid(&mut cx.rng);
        let sp_id = uuid(&mut cx.rng);
        let created = cx.created();
        let password_credentials = match kind.secret_days_left() {
            Some(days) => {
                let end = now + days * 86_400;
                vec![PasswordCredential {
                    key_id,
                    display_name: "entra-extract".to_string(),
                    secret: secret.clone(),
                    start: end - 2 * 365 * 86_400,
                    end,
                }]
            }
            None => Vec::new(),
        };
        let has_secret = !password_credentials.is_empty();
        applications.push(Application {
            id: app_obj_id,
            app_id,
            display_name: display_name.clone(),
            created,
            password_credentials,
            key_credentials: Vec::new(),
            required_resource_access: None,
            sign_in_audience: "AzureADMyOrg".to_string(),
        });
        let assignments = grants(cx, kind, graph_sp_id, created);
        sps.push(ServicePrincipal {
            id: sp_id,
            app_id,
            display_name: display_name.clone(),
            app_owner_organization_id: Some(cx.tenant_id),
            account_enabled: true,
            app_roles: Vec::new(),
            app_role_assignments: assignments,
            created,
        });
        apps.push(GeneratedApp {
            kind,
            display_name,
            app_id,
            secret: has_secret.then_some(secret),
            application_idx: applications.len() - 1,
            sp_idx: sps.len() - 1,
        });
    }
    (applications, apps)
}

/// The Graph app roles `kind` is granted, as appRoleAssignments on Graph's service principal.
fn grants(
    cx: &mut Ctx,
    kind: DemoAppKind,
    graph_sp_id: Uuid,
    created: i64,
) -> Vec<AppRoleAssignment> {
    kind.granted_roles()
        .iter()
        .filter_map(|v| graph_role(v))
        .map(|r| {
            let mut raw = [0u8; 24];
            cx.rng.fill(&mut raw[..]);
            AppRoleAssignment {
                id: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw),
                app_role_id: r.id,
                resource_id: graph_sp_id,
                resource_display_name: "Microsoft Graph".to_string(),
                created,
            }
        })
        .collect()
}
