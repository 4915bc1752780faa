//! The same registration as an Azure CLI (bash) or Microsoft Graph PowerShell script, for
//! administrators who prefer to run it themselves. Same permissions by GUID, same consent
//! (app role assignments), the same secret lifetime; the secret goes from the command's output
//! straight into `entra-extract profile set-secret --stdin`, never onto the screen.

use crate::graph::Cloud;
use crate::permissions::analysis::REQUIRED;
use crate::permissions::report::MICROSOFT_GRAPH_APP_ID;

use super::SecretLifetime;

/// Which script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScriptKind {
    /// bash + Azure CLI (`az ad app create`, `az ad sp create`, `az rest`).
    AzureCli,
    /// Microsoft Graph PowerShell (`New-MgApplication`, `New-MgServicePrincipal`, …).
    Powershell,
}

/// What the script creates.
#[derive(Debug, Clone)]
pub struct ScriptPlan<'a> {
    pub tenant: &'a str,
    pub display_name: &'a str,
    pub lifetime: SecretLifetime,
    /// The profile to create and store the secret in.
    pub profile: &'a str,
    pub cloud: Cloud,
    /// Graph root (`https://graph.microsoft.com`, or the cloud's / custom one).
    pub graph_root: &'a str,
}

/// The script text.
pub fn render(kind: ScriptKind, plan: &ScriptPlan<'_>) -> String {
    match kind {
        ScriptKind::AzureCli => azure_cli(plan),
        ScriptKind::Powershell => powershell(plan),
    }
}

/// `'…'` for bash: nothing inside is expanded.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `'…'` for PowerShell: a quote is doubled.
fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn az_cloud(cloud: Cloud) -> Option<&'static str> {
    match cloud {
        Cloud::UsGov | Cloud::UsGovDod => Some("AzureUSGovernment"),
        Cloud::China => Some("AzureChinaCloud"),
        Cloud::Global | Cloud::Custom => None,
    }
}

fn mg_environment(cloud: Cloud) -> Option<&'static str> {
    match cloud {
        Cloud::UsGov => Some("USGov"),
        Cloud::UsGovDod => Some("USGovDoD"),
        Cloud::China => Some("China"),
        Cloud::Global | Cloud::Custom => None,
    }
}

fn azure_cli(p: &ScriptPlan<'_>) -> String {
    let mut s = String::new();
    let days = p.lifetime.days();
    s.push_str(&format!(
        "#!/usr/bin/env bash
# Creates the app registration entra-extract needs, as `entra-extract app create` would:
# a single-tenant app with two Microsoft Graph APPLICATION permissions, admin consent for
# both, and a client secret valid {days} days that goes straight into the profile's keyring
# entry (it is never printed).
# Run it as an administrator who may create apps (Application Administrator) and grant
# Microsoft Graph app roles (Privileged Role Administrator, or Global Administrator).
set -euo pipefail

tenant={tenant}
name={name}
profile={profile}
graph={graph}
graph_app_id={MICROSOFT_GRAPH_APP_ID}   # Microsoft Graph, the same in every tenant
",
        tenant = sh_quote(p.tenant),
        name = sh_quote(p.display_name),
        profile = sh_quote(p.profile),
        graph = sh_quote(p.graph_root.trim_end_matches('/')),
    ));
    for (name, id) in REQUIRED {
        s.push_str(&format!(
            "{}={id}   # {name} (application permission)\n",
            shell_var(name)
        ));
    }
    if let Some(c) = az_cloud(p.cloud) {
        s.push_str(&format!("\naz cloud set --name {c}\n"));
    }
    let role_vars: Vec<String> = REQUIRED
        .iter()
        .map(|(n, _)| format!("${}", shell_var(n)))
        .collect();
    s.push_str(&format!(
        "
# Sign in (a browser, or --use-device-code on a machine without one).
az login --tenant \"$tenant\" --allow-no-subscriptions

# 1. The application: single tenant, both permissions as application permissions (Role).
app_id=$(az ad app create --display-name \"$name\" --sign-in-audience AzureADMyOrg --query appId -o tsv)
az ad app permission add --id \"$app_id\" --api \"$graph_app_id\" \\
  --api-permissions {perms}

# 2. Its service principal (the app's identity in the tenant).
sp_id=$(az ad sp create --id \"$app_id\" --query id -o tsv)

# 3. Admin consent: assign both app roles of Microsoft Graph to the service principal.
graph_sp_id=$(az ad sp show --id \"$graph_app_id\" --query id -o tsv)
for role in {roles}; do
  az rest --method POST --uri \"$graph/v1.0/servicePrincipals/$sp_id/appRoleAssignments\" \\
    --headers Content-Type=application/json \\
    --body \"{{\\\"principalId\\\":\\\"$sp_id\\\",\\\"resourceId\\\":\\\"$graph_sp_id\\\",\\\"appRoleId\\\":\\\"$role\\\"}}\" > /dev/null
done

# 4. The profile, then a client secret valid {days} days piped straight into its keyring entry.
entra-extract profile create \"$profile\" --tenant \"$tenant\" --client-id \"$app_id\"
end=$(date -u -d '+{days} days' +%Y-%m-%dT%H:%M:%SZ)
az ad app credential reset --id \"$app_id\" --append --display-name entra-extract \\
  --end-date \"$end\" --query password -o tsv |
  entra-extract profile set-secret \"$profile\" --stdin

# 5. Check that both permissions are granted (new secrets take a minute to replicate).
entra-extract check --profile \"$profile\"
",
        perms = REQUIRED
            .iter()
            .map(|(n, _)| format!("\"${}=Role\"", shell_var(n)))
            .collect::<Vec<_>>()
            .join(" "),
        roles = role_vars.join(" "),
    ));
    s
}

fn shell_var(permission: &str) -> String {
    permission.replace('.', "_").to_ascii_lowercase()
}

fn powershell(p: &ScriptPlan<'_>) -> String {
    let days = p.lifetime.days();
    let environment = mg_environment(p.cloud)
        .map(|e| format!(" -Environment {e}"))
        .unwrap_or_default();
    let roles: Vec<String> = REQUIRED
        .iter()
        .map(|(n, id)| format!("    '{id}'   # {n} (application permission)"))
        .collect();
    format!(
        "# Creates the app registration entra-extract needs, as `entra-extract app create` would:
# a single-tenant app with two Microsoft Graph APPLICATION permissions, admin consent for
# both, and a client secret valid {days} days that goes straight into the profile's keyring
# entry (it is never printed).
# Needs the Microsoft Graph PowerShell SDK: Install-Module Microsoft.Graph.Applications -Scope CurrentUser
# Run it as an administrator who may create apps (Application Administrator) and grant
# Microsoft Graph app roles (Privileged Role Administrator, or Global Administrator).
$ErrorActionPreference = 'Stop'

$tenant  = {tenant}
$name    = {name}
$profile = {profile}
$graphAppId = '{MICROSOFT_GRAPH_APP_ID}'   # Microsoft Graph, the same in every tenant
$roleIds = @(
{roles}
)

Connect-MgGraph -TenantId $tenant{environment} -Scopes 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All' -NoWelcome

# 1. The application: single tenant, both permissions as application permissions (Role).
$access = @($roleIds | ForEach-Object {{ @{{ Id = $_; Type = 'Role' }} }})
$app = New-MgApplication -DisplayName $name -SignInAudience 'AzureADMyOrg' `
  -RequiredResourceAccess @(@{{ ResourceAppId = $graphAppId; ResourceAccess = $access }})

# 2. Its service principal (the app's identity in the tenant).
$sp = New-MgServicePrincipal -AppId $app.AppId

# 3. Admin consent: assign both app roles of Microsoft Graph to the service principal.
$graphSp = Get-MgServicePrincipal -Filter \"appId eq '$graphAppId'\"
foreach ($roleId in $roleIds) {{
  New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id `
    -PrincipalId $sp.Id -ResourceId $graphSp.Id -AppRoleId $roleId | Out-Null
}}

# 4. The profile, then a client secret valid {days} days piped straight into its keyring entry.
entra-extract profile create $profile --tenant $tenant --client-id $app.AppId
$secret = Add-MgApplicationPassword -ApplicationId $app.Id -PasswordCredential @{{
  DisplayName = 'entra-extract'; EndDateTime = (Get-Date).ToUniversalTime().AddDays({days})
}}
$secret.SecretText | entra-extract profile set-secret $profile --stdin
Remove-Variable secret

# 5. Check that both permissions are granted (new secrets take a minute to replicate).
entra-extract check --profile $profile
",
        tenant = ps_quote(p.tenant),
        name = ps_quote(p.display_name),
        profile = ps_quote(p.profile),
        roles = roles.join(",\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str) -> ScriptPlan<'_> {
        ScriptPlan {
            tenant: "contoso.onmicrosoft.com",
            display_name: name,
            lifetime: SecretLifetime::DEFAULT,
            profile: "contoso",
            cloud: Cloud::Global,
            graph_root: "https://graph.microsoft.com/",
        }
    }

    #[test]
    fn both_scripts_name_both_permissions_by_guid_and_the_lifetime() {
        for kind in [ScriptKind::AzureCli, ScriptKind::Powershell] {
            let s = render(kind, &plan("entra-extract (identity analytics)"));
            for (_, id) in REQUIRED {
                assert!(s.contains(id), "{kind:?} lacks {id}");
            }
            assert!(s.contains(MICROSOFT_GRAPH_APP_ID));
            assert!(s.contains("180"), "{kind:?}");
            assert!(s.contains("set-secret"));
            assert!(!s.contains("https://graph.microsoft.com//"));
        }
    }

    #[test]
    fn quotes_in_the_display_name_cannot_break_out() {
        let sh = render(ScriptKind::AzureCli, &plan("it's $(rm -rf ~)"));
        assert!(sh.contains(r"name='it'\''s $(rm -rf ~)'"), "{sh}");
        let ps = render(ScriptKind::Powershell, &plan("it's $(x)"));
        assert!(ps.contains("$name    = 'it''s $(x)'"), "{ps}");
    }

    #[test]
    fn national_clouds_select_their_environment() {
        let mut p = plan("x");
        p.cloud = Cloud::UsGov;
        assert!(render(ScriptKind::AzureCli, &p).contains("az cloud set --name AzureUSGovernment"));
        assert!(render(ScriptKind::Powershell, &p).contains("-Environment USGov"));
    }
}
