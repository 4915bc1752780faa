//! Creating entra-extract's own app registration on an administrator's behalf, and keeping
//! its secret alive: the Graph calls the portal's twenty-odd steps stand for, in an order that
//! never leaves anything behind unreported.
//!
//! [`create`] makes the application (single tenant, the two application permissions in
//! `requiredResourceAccess`), its service principal, grants admin consent by assigning both
//! app roles, and adds a secret. [`replication::wait_for_sign_in`] waits for Entra to accept the
//! new secret, [`rotate`] replaces a secret without downtime, [`script`] prints the same as an
//! Azure CLI or PowerShell script. Everything here talks to Graph through a [`GraphClient`]
//! signed in as the administrator ([`GraphClient::start_admin_sign_in`]).

pub mod lifetime;
pub mod replication;
pub mod rotate;
pub mod script;

use std::fmt;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Value, json};

use crate::graph::{GraphClient, GraphError};
use crate::permissions::analysis::REQUIRED;
use crate::permissions::report::MICROSOFT_GRAPH_APP_ID;

pub use lifetime::SecretLifetime;

/// The display name a new registration gets unless the user chooses another.
pub const DEFAULT_DISPLAY_NAME: &str = "entra-extract (identity analytics)";

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blueprint {
    /// The application's display name.
    pub display_name: String,
    /// How long the client secret stays valid.
    pub secret_lifetime: SecretLifetime,
}

/// One step of [`create`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Read Microsoft Graph's service principal (its id and app role ids).
    FindMicrosoftGraph,
    /// `POST /applications`.
    CreateApplication,
    /// `POST /servicePrincipals`.
    CreateServicePrincipal,
    /// `POST /servicePrincipals/{id}/appRoleAssignments` for one permission.
    GrantConsent(&'static str),
    /// `POST /applications/{id}/addPassword`.
    AddSecret,
}

impl Step {
    /// What the step does, for progress lines.
    pub fn describe(self) -> String {
        match self {
            Step::FindMicrosoftGraph => "Looking up Microsoft Graph's permissions".into(),
            Step::CreateApplication => "Creating the app registration".into(),
            Step::CreateServicePrincipal => "Creating its service principal".into(),
            Step::GrantConsent(p) => format!("Granting admin consent for {p}"),
            Step::AddSecret => "Adding a client secret".into(),
        }
    }

    /// What an administrator refused this step (403) needs.
    pub fn needed_role(self) -> &'static str {
        match self {
            Step::GrantConsent(_) => {
                "granting Microsoft Graph application permissions needs the Privileged Role \
                 Administrator (or Global Administrator) role; sign in as such an administrator, \
                 or keep the app and have one grant admin consent for it"
            }
            Step::FindMicrosoftGraph => {
                "reading service principals needs a member account of the tenant (not a guest)"
            }
            _ => {
                "creating app registrations needs the Application Administrator or Cloud \
                 Application Administrator role (or Application Developer, where users may not \
                 register applications)"
            }
        }
    }
}

/// What exists in the tenant so far; after a failure, what to report (and offer to delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Created {
    /// Object id of the application (`/applications/{id}`).
    pub application_id: Option<String>,
    /// Application (client) id.
    pub app_id: Option<String>,
    /// Object id of the service principal.
    pub service_principal_id: Option<String>,
    /// Permissions whose admin consent was granted.
    pub consented: Vec<&'static str>,
    /// keyId of the client secret that was added.
    pub secret_key_id: Option<String>,
}

impl Created {
    /// True when nothing was created.
    pub fn is_empty(&self) -> bool {
        self.application_id.is_none()
    }

    /// One line per object that exists, for the failure report.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(id), Some(app)) = (&self.application_id, &self.app_id) {
            out.push(format!("the app registration {app} (object id {id})"));
        }
        if let Some(sp) = &self.service_principal_id {
            out.push(format!("its service principal (object id {sp})"));
        }
        for p in &self.consented {
            out.push(format!("admin consent for {p}"));
        }
        if let Some(k) = &self.secret_key_id {
            out.push(format!("a client secret (keyId {k})"));
        }
        out
    }
}

/// A registration that was created completely.
pub struct NewRegistration {
    /// Everything that was created (all set).
    pub created: Created,
    /// Application (client) id.
    pub app_id: String,
    /// Object id of the application.
    pub application_id: String,
    /// keyId of the secret.
    pub secret_key_id: String,
    /// The secret's value: shown once by Graph, stored by the caller, never printed.
    pub secret: SecretString,
    /// When the secret ends, as Graph gives it.
    pub secret_end: String,
}

impl fmt::Debug for NewRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRegistration")
            .field("created", &self.created)
            .field("secret", &"[REDACTED]")
            .field("secret_end", &self.secret_end)
            .finish()
    }
}

/// A step that failed, and what exists because of the steps before it.
#[derive(Debug)]
pub struct CreateFailure {
    pub step: Step,
    pub error: GraphError,
    pub created: Created,
}

impl fmt::Display for CreateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.step.describe(), self.error)?;
        if self.error.is_access_denied() {
            write!(f, "\n  {}", self.step.needed_role())?;
        }
        Ok(())
    }
}

impl std::error::Error for CreateFailure {}

/// Microsoft Graph's service principal in this tenant: its object id and the ids of the app
/// roles this tool needs, read from the tenant rather than assumed.
#[derive(Debug, Clone)]
pub struct MicrosoftGraph {
    pub service_principal_id: String,
    /// (permission, app role id) in [`REQUIRED`] order.
    pub roles: Vec<(&'static str, String)>,
}

/// Reads Microsoft Graph's service principal and finds the required application permissions.
pub async fn microsoft_graph(client: &GraphClient) -> Result<MicrosoftGraph, GraphError> {
    let sp = client
        .get_json(&format!(
            "/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')?$select=id,appRoles"
        ))
        .await?;
    let id = required(&sp, "id")?;
    let app_roles = sp["appRoles"].as_array().cloned().unwrap_or_default();
    let mut roles = Vec::new();
    for (name, documented_id) in REQUIRED {
        let found = app_roles.iter().find(|r| {
            r["value"].as_str() == Some(name)
                && r["allowedMemberTypes"]
                    .as_array()
                    .is_none_or(|t| t.iter().any(|t| t == "Application"))
        });
        let role_id = found
            .and_then(|r| r["id"].as_str())
            .unwrap_or(documented_id)
            .to_string();
        roles.push((name, role_id));
    }
    Ok(MicrosoftGraph {
        service_principal_id: id,
        roles,
    })
}

/// Creates the registration step by step, calling `on_step` before each. Stops at the first
/// failure and reports what exists; never retries a create whose outcome is unknown.
pub async fn create(
    client: &GraphClient,
    blueprint: &Blueprint,
    mut on_step: impl FnMut(Step),
) -> Result<NewRegistration, CreateFailure> {
    let mut created = Created::default();
    macro_rules! step {
        ($step:expr, $call:expr) => {{
            on_step($step);
            match $call.await {
                Ok(v) => v,
                Err(error) => {
                    return Err(CreateFailure {
                        step: $step,
                        error,
                        created,
                    });
                }
            }
        }};
    }
    let graph = step!(Step::FindMicrosoftGraph, microsoft_graph(client));
    let (application_id, app_id) = step!(Step::CreateApplication, async {
        let app = client
            .create("/applications", application_body(blueprint, &graph))
            .await?;
        Ok::<_, GraphError>((required(&app, "id")?, required(&app, "appId")?))
    });
    created.application_id = Some(application_id.clone());
    created.app_id = Some(app_id.clone());
    let sp_id = step!(Step::CreateServicePrincipal, async {
        let sp = client
            .create("/servicePrincipals", json!({ "appId": app_id }))
            .await?;
        required(&sp, "id")
    });
    created.service_principal_id = Some(sp_id.clone());
    for (name, role_id) in &graph.roles {
        step!(
            Step::GrantConsent(name),
            client.create(
                &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
                json!({
                    "principalId": sp_id,
                    "resourceId": graph.service_principal_id,
                    "appRoleId": role_id,
                }),
            )
        );
        created.consented.push(name);
    }
    let password = step!(
        Step::AddSecret,
        add_secret(client, &application_id, blueprint.secret_lifetime)
    );
    created.secret_key_id = Some(password.key_id.clone());
    Ok(NewRegistration {
        created,
        app_id,
        application_id,
        secret_key_id: password.key_id,
        secret: password.secret,
        secret_end: password.end,
    })
}

/// `POST /applications` body: single tenant, both permissions as application permissions.
pub fn application_body(blueprint: &Blueprint, graph: &MicrosoftGraph) -> Value {
    json!({
        "displayName": blueprint.display_name,
        "signInAudience": "AzureADMyOrg",
        "requiredResourceAccess": [{
            "resourceAppId": MICROSOFT_GRAPH_APP_ID,
            "resourceAccess": graph.roles.iter()
                .map(|(_, id)| json!({ "id": id, "type": "Role" }))
                .collect::<Vec<_>>(),
        }],
    })
}

/// A secret Graph just added.
pub struct AddedSecret {
    pub key_id: String,
    pub secret: SecretString,
    pub end: String,
}

/// `addPassword` with the chosen lifetime; the value is only ever held as a `SecretString`.
pub async fn add_secret(
    client: &GraphClient,
    application_id: &str,
    lifetime: SecretLifetime,
) -> Result<AddedSecret, GraphError> {
    let now = chrono::Utc::now();
    let reply = client
        .create(
            &format!("/applications/{application_id}/addPassword"),
            json!({ "passwordCredential": {
                "displayName": format!("entra-extract {}", now.format("%Y-%m-%d")),
                "endDateTime": lifetime.end_from(now),
            }}),
        )
        .await?;
    Ok(AddedSecret {
        key_id: required(&reply, "keyId")?,
        secret: SecretString::from(required(&reply, "secretText")?),
        end: required(&reply, "endDateTime")?,
    })
}

/// `removePassword` of one secret by its keyId.
pub async fn remove_secret(
    client: &GraphClient,
    application_id: &str,
    key_id: &str,
) -> Result<(), GraphError> {
    client
        .create(
            &format!("/applications/{application_id}/removePassword"),
            json!({ "keyId": key_id }),
        )
        .await
        .map(|_| ())
}

/// Deletes what [`create`] made: deleting the application also deletes its service
/// principal, its consent grants and its secrets.
pub async fn remove(client: &GraphClient, created: &Created) -> Result<(), GraphError> {
    match &created.application_id {
        Some(id) => client.delete(&format!("/applications/{id}")).await,
        None => Ok(()),
    }
}

/// A string property Graph's answer must have (its name only in the error: it may be a secret).
fn required(v: &Value, name: &str) -> Result<String, GraphError> {
    match v[name].as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(GraphError::Decode {
            what: "Microsoft Graph's answer".into(),
            message: format!("it holds no {name}"),
        }),
    }
}
