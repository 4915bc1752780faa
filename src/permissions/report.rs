//! The result of a permission check, shared by the CLI (`check --json`) and the wizard.

use serde::Serialize;

/// Directory.Read.All application role on the Microsoft Graph service principal.
pub const DIRECTORY_READ_ALL: &str = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";
/// Member.Read.Hidden application role on the Microsoft Graph service principal.
pub const MEMBER_READ_HIDDEN: &str = "658aa5d8-239f-45c4-aa12-864f4fc7e490";
/// The Microsoft Graph application id (same in every tenant).
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Everything the check found out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermissionReport {
    /// One entry per required permission, in a fixed order.
    pub required: Vec<PermissionStatus>,
    /// Write permissions granted though this tool only reads (least privilege warning).
    pub over_privileged: Vec<String>,
    /// The client secrets' expiry, when the app's passwordCredentials were readable.
    pub secret_expiry: Vec<SecretExpiry>,
    /// Numbered portal steps that fix every missing permission; empty when nothing is missing.
    pub remediation: Vec<String>,
    /// The same as commands (Azure CLI, then Microsoft Graph PowerShell), for administrators
    /// who prefer them; empty when nothing is missing.
    pub grant_commands: Vec<GrantCommand>,
    /// The first three characters of the secret the check signed in with (matches a
    /// [`SecretExpiry::hint`]); `None` for a certificate.
    pub secret_in_use: Option<String>,
}

/// A command line that grants the missing permissions, and the tool it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantCommand {
    /// "Azure CLI" or "Microsoft Graph PowerShell".
    pub tool: String,
    pub command: String,
}

impl PermissionReport {
    /// True when every required permission is granted.
    pub fn all_granted(&self) -> bool {
        self.required.iter().all(|p| p.state == GrantState::Granted)
    }
}

/// One required application permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionStatus {
    /// e.g. `Directory.Read.All`.
    pub name: String,
    /// The app role id on the Graph service principal.
    pub app_role_id: String,
    pub state: GrantState,
    /// How we know: token roles, appRoleAssignments, or a live probe.
    pub evidence: String,
}

/// Whether a permission is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Granted,
    Missing,
    /// Could not be determined (e.g. the assignment list was not readable).
    Unknown,
}

/// Expiry of one client secret of the app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretExpiry {
    /// The first three characters of the secret, as the portal shows them.
    pub hint: Option<String>,
    /// `endDateTime` as Graph gives it.
    pub end_date_time: String,
    /// Whole days left; negative when expired.
    pub days_left: i64,
}
