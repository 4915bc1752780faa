//! Pure analysis: from what Graph returned (token roles, app role assignments, the Graph
//! service principal's app roles, the application's secrets) to a [`PermissionReport`].
//! Kept free of I/O so every branch is unit-tested.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::report::{
    DIRECTORY_READ_ALL, GrantState, MEMBER_READ_HIDDEN, PermissionReport, PermissionStatus,
    SecretExpiry,
};

/// Secrets expiring within this many days get a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The permissions this tool needs, in report order: (name, app role id).
pub const REQUIRED: [(&str, &str); 2] = [
    ("Directory.Read.All", DIRECTORY_READ_ALL),
    ("Member.Read.Hidden", MEMBER_READ_HIDDEN),
];

/// What was learned from Graph, each part optional because each may fail independently.
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    /// `roles` claim of the access token (role *values*); empty when the claim is absent.
    pub token_roles: Vec<String>,
    /// `appRoleId`s assigned to the app's service principal on Microsoft Graph, when the
    /// assignment list was readable.
    pub assigned_role_ids: Option<Vec<String>>,
    /// Microsoft Graph's app roles as (id, value), to name assignments; may be empty.
    pub graph_app_roles: Vec<(String, String)>,
    /// The application's `passwordCredentials`, when readable.
    pub password_credentials: Option<Vec<Value>>,
    /// Live probe: could the app list users right now? `Some(false)` = Graph answered 403,
    /// which no stale token or replication delay can excuse.
    pub users_readable: Option<bool>,
}

/// Builds the report. `app_label` names the app in the remediation steps.
pub fn analyze(evidence: &Evidence, app_label: &str, now: DateTime<Utc>) -> PermissionReport {
    let required = REQUIRED
        .iter()
        .map(|(name, id)| status_of(evidence, name, id))
        .collect::<Vec<_>>();
    let missing: Vec<&str> = required
        .iter()
        .filter(|p| p.state != GrantState::Granted)
        .map(|p| p.name.as_str())
        .collect();
    PermissionReport {
        over_privileged: over_privileged(evidence),
        secret_expiry: secret_expiry(evidence, now),
        remediation: remediation(&missing, app_label),
        grant_commands: Vec::new(),
        secret_in_use: None,
        required,
    }
}

fn status_of(evidence: &Evidence, name: &str, id: &str) -> PermissionStatus {
    let in_token = evidence.token_roles.iter().any(|r| r == name);
    let assigned = evidence
        .assigned_role_ids
        .as_ref()
        .map(|ids| ids.iter().any(|a| a.eq_ignore_ascii_case(id)));
    let (state, evidence_text) = match (in_token, assigned) {
        (true, Some(true)) => (
            GrantState::Granted,
            "in the token's roles and assigned to the service principal".to_string(),
        ),
        (true, None) => (
            GrantState::Granted,
            "in the token's roles (assignments not readable)".to_string(),
        ),
        (true, Some(false)) => (
            GrantState::Granted,
            "in the token's roles, but no longer assigned: consent was revoked moments ago; \
             the next token will lack it"
                .to_string(),
        ),
        (false, Some(true)) => (
            GrantState::Missing,
            "assigned, but not yet in the token: consent was granted in the last minutes; \
             re-check shortly"
                .to_string(),
        ),
        (false, Some(false)) => (
            GrantState::Missing,
            "not in the token's roles and not assigned to the service principal".to_string(),
        ),
        (false, None) => (GrantState::Missing, "not in the token's roles".to_string()),
    };
    let (state, evidence_text) = match (id, evidence.users_readable) {
        (DIRECTORY_READ_ALL, Some(false)) => (
            GrantState::Missing,
            format!("Graph refused to list users (403); {evidence_text}"),
        ),
        (DIRECTORY_READ_ALL, Some(true)) if state == GrantState::Granted => (
            state,
            format!("{evidence_text}; users listed in a live probe"),
        ),
        _ => (state, evidence_text),
    };
    PermissionStatus {
        name: name.to_string(),
        app_role_id: id.to_string(),
        state,
        evidence: evidence_text,
    }
}

/// Roles that allow writing, though this tool only reads: least privilege says remove them.
fn over_privileged(evidence: &Evidence) -> Vec<String> {
    let mut names: Vec<String> = evidence.token_roles.clone();
    if let Some(ids) = &evidence.assigned_role_ids {
        for id in ids {
            if let Some((_, value)) = evidence
                .graph_app_roles
                .iter()
                .find(|(rid, _)| rid.eq_ignore_ascii_case(id))
            {
                names.push(value.clone());
            }
        }
    }
    names.retain(|n| is_write_role(n));
    names.sort();
    names.dedup();
    names
}

fn is_write_role(value: &str) -> bool {
    value.contains("ReadWrite") || value.contains(".Write") || value.ends_with(".Manage.All")
}

fn secret_expiry(evidence: &Evidence, now: DateTime<Utc>) -> Vec<SecretExpiry> {
    match &evidence.password_credentials {
        Some(creds) => secret_expiries(creds, now),
        None => Vec::new(),
    }
}

/// Each of `passwordCredentials`' end, soonest first.
pub fn secret_expiries(creds: &[Value], now: DateTime<Utc>) -> Vec<SecretExpiry> {
    let mut out: Vec<SecretExpiry> = creds
        .iter()
        .filter_map(|c| {
            let end = c.get("endDateTime")?.as_str()?;
            let end_parsed = DateTime::parse_from_rfc3339(end).ok()?.with_timezone(&Utc);
            Some(SecretExpiry {
                hint: c.get("hint").and_then(Value::as_str).map(str::to_string),
                end_date_time: end.to_string(),
                days_left: (end_parsed - now).num_days(),
            })
        })
        .collect();
    out.sort_by_key(|s| s.days_left);
    out
}

impl SecretExpiry {
    /// Expired, or ends within [`EXPIRY_WARNING_DAYS`].
    pub fn is_soon(&self) -> bool {
        self.days_left < EXPIRY_WARNING_DAYS
    }
}

impl PermissionReport {
    /// The secret in use expired or ends within [`EXPIRY_WARNING_DAYS`] (when the secret in
    /// use is unknown: any of them) — what rotating it would fix.
    pub fn secret_in_use_expires_soon(&self) -> bool {
        self.expiring_secrets().any(|s| {
            self.secret_in_use
                .as_ref()
                .is_none_or(|h| s.hint.as_ref() == Some(h))
        })
    }

    /// Secrets that expired or expire within [`EXPIRY_WARNING_DAYS`].
    pub fn expiring_secrets(&self) -> impl Iterator<Item = &SecretExpiry> {
        self.secret_expiry.iter().filter(|s| s.is_soon())
    }
}

/// Commands that add the missing application permissions to the app and grant admin
/// consent: Azure CLI (one line), then Microsoft Graph PowerShell (one line). `tenant` and
/// `client_id` are validated identifiers (GUIDs or DNS names), so they need no quoting.
pub fn grant_commands(
    tenant: &str,
    client_id: &str,
    missing: &[&PermissionStatus],
) -> Vec<super::report::GrantCommand> {
    if missing.is_empty() {
        return Vec::new();
    }
    let graph = super::report::MICROSOFT_GRAPH_APP_ID;
    let roles: Vec<String> = missing
        .iter()
        .map(|p| format!("{}=Role", p.app_role_id))
        .collect();
    let az = format!(
        "az login --tenant {tenant} --allow-no-subscriptions && az ad app permission add --id {client_id} --api {graph} --api-permissions {} && az ad app permission admin-consent --id {client_id}",
        roles.join(" ")
    );
    let assignments: Vec<String> = missing
        .iter()
        .map(|p| {
            format!(
                "New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id -PrincipalId $sp.Id -ResourceId $graph.Id -AppRoleId {}",
                p.app_role_id
            )
        })
        .collect();
    let ps = format!(
        "Connect-MgGraph -TenantId {tenant} -Scopes Application.Read.All,AppRoleAssignment.ReadWrite.All; $sp = Get-MgServicePrincipal -Filter \"appId eq '{client_id}'\"; $graph = Get-MgServicePrincipal -Filter \"appId eq '{graph}'\"; {}",
        assignments.join("; ")
    );
    let command = |tool: &str, command: String| super::report::GrantCommand {
        tool: tool.to_string(),
        command,
    };
    vec![
        command("Azure CLI", az),
        command("Microsoft Graph PowerShell", ps),
    ]
}

/// The exact portal steps that grant the missing permissions.
fn remediation(missing: &[&str], app_label: &str) -> Vec<String> {
    if missing.is_empty() {
        return Vec::new();
    }
    let list = missing.join(" and ");
    vec![
        "Sign in to the Microsoft Entra admin center (https://entra.microsoft.com) as a \
         Privileged Role Administrator or Global Administrator."
            .to_string(),
        format!("Go to Entra ID > App registrations > All applications and open {app_label}."),
        format!(
            "Open API permissions > Add a permission > Microsoft Graph > Application \
             permissions, select {list}, then Add permissions."
        ),
        "Select \"Grant admin consent for <your organization>\" and confirm; the Status \
         column must show a green \"Granted\" for each."
            .to_string(),
        "Run the check again (new tokens carry the new roles within a few minutes).".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn both_granted_gives_no_remediation() {
        let ev = Evidence {
            token_roles: vec!["Directory.Read.All".into(), "Member.Read.Hidden".into()],
            assigned_role_ids: Some(vec![DIRECTORY_READ_ALL.into(), MEMBER_READ_HIDDEN.into()]),
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        assert!(r.all_granted());
        assert!(r.remediation.is_empty());
        assert!(r.over_privileged.is_empty());
    }

    #[test]
    fn missing_hidden_names_only_that_permission() {
        let ev = Evidence {
            token_roles: vec!["Directory.Read.All".into()],
            assigned_role_ids: Some(vec![DIRECTORY_READ_ALL.into()]),
            ..Default::default()
        };
        let r = analyze(&ev, "My App (client id 1)", now());
        assert!(!r.all_granted());
        assert_eq!(r.required[0].state, GrantState::Granted);
        assert_eq!(r.required[1].state, GrantState::Missing);
        let steps = r.remediation.join("\n");
        assert!(steps.contains("select Member.Read.Hidden, then Add permissions"));
        assert!(steps.contains("My App (client id 1)"));
        assert!(steps.contains("Grant admin consent"));
    }

    #[test]
    fn absent_roles_claim_and_no_assignments_means_both_missing() {
        let ev = Evidence {
            assigned_role_ids: Some(vec![]),
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        assert!(r.required.iter().all(|p| p.state == GrantState::Missing));
        assert!(r.remediation[2].contains("Directory.Read.All and Member.Read.Hidden"));
    }

    #[test]
    fn fresh_consent_not_yet_in_token_says_recheck() {
        let ev = Evidence {
            token_roles: vec!["Directory.Read.All".into()],
            assigned_role_ids: Some(vec![DIRECTORY_READ_ALL.into(), MEMBER_READ_HIDDEN.into()]),
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        assert_eq!(r.required[1].state, GrantState::Missing);
        assert!(r.required[1].evidence.contains("re-check shortly"));
    }

    #[test]
    fn a_refused_live_probe_overrides_a_role_in_the_token() {
        let mut ev = Evidence {
            token_roles: vec!["Directory.Read.All".into(), "Member.Read.Hidden".into()],
            users_readable: Some(false),
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        assert_eq!(r.required[0].state, GrantState::Missing);
        assert!(r.required[0].evidence.contains("refused to list users"));
        assert!(r.remediation[2].contains("select Directory.Read.All,"));
        ev.users_readable = Some(true);
        let r = analyze(&ev, "app", now());
        assert_eq!(r.required[0].state, GrantState::Granted);
        assert!(r.required[0].evidence.contains("live probe"));
    }

    #[test]
    fn write_roles_from_token_and_assignments_are_reported_once() {
        let ev = Evidence {
            token_roles: vec!["Directory.Read.All".into(), "Group.ReadWrite.All".into()],
            assigned_role_ids: Some(vec!["19dbc75e-c2e2-444c-a770-ec69d8559fc7".into()]),
            graph_app_roles: vec![(
                "19dbc75e-c2e2-444c-a770-ec69d8559fc7".into(),
                "Directory.ReadWrite.All".into(),
            )],
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        assert_eq!(
            r.over_privileged,
            vec!["Directory.ReadWrite.All", "Group.ReadWrite.All"]
        );
    }

    #[test]
    fn secret_expiry_is_sorted_and_flags_soon_and_past() {
        let ev = Evidence {
            password_credentials: Some(vec![
                json!({"hint": "abc", "endDateTime": "2027-11-27T00:00:00Z"}),
                json!({"hint": "old", "endDateTime": "2026-11-20T00:00:00Z"}),
                json!({"hint": "soo", "endDateTime": "2026-12-07T00:00:00Z"}),
                json!({"hint": "bad", "endDateTime": "not a date"}),
            ]),
            ..Default::default()
        };
        let r = analyze(&ev, "app", now());
        let hints: Vec<_> = r
            .secret_expiry
            .iter()
            .map(|s| s.hint.clone().unwrap())
            .collect();
        assert_eq!(hints, ["old", "soo", "abc"]);
        assert_eq!(r.secret_expiry[0].days_left, -7);
        assert_eq!(r.expiring_secrets().count(), 2);
    }
}
