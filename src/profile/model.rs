//! What a profile remembers about a tenant. There is deliberately no field for the secret.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::name::ProfileName;
use crate::graph::cloud::{Cloud, EndpointError, Endpoints};
use crate::graph::{ClientId, TenantRef};

/// Everything needed to extract a tenant again, except the client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Unique name; also the file name and the keyring user (`profile:<name>`).
    pub name: ProfileName,
    /// Which Microsoft cloud the tenant lives in.
    #[serde(default)]
    pub cloud: Cloud,
    /// Authority root override (required for [`Cloud::Custom`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
    /// Microsoft Graph root override (required for [`Cloud::Custom`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// Tenant id (GUID) or a verified domain; checked when the file is read.
    pub tenant: TenantRef,
    /// Application (client) id of the app registration; checked when the file is read.
    pub client_id: ClientId,
    /// How the app authenticates.
    #[serde(default)]
    pub credential: CredentialKind,
    /// Prefix of the CSV file names; the tenant's default domain when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_prefix: Option<String>,
    /// Where the CSV files are written.
    pub output_dir: PathBuf,
    /// Additional user properties to extract.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_user_attributes: Vec<String>,
    /// Additional group properties to extract.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_group_attributes: Vec<String>,
    /// Write a UTF-8 byte order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
    /// Where `profile set-secret` stores the secret.
    #[serde(default)]
    pub secret_storage: SecretStorage,
    /// Extra CA certificates (PEM) to trust, e.g. behind a TLS-inspecting proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ca_pem: Option<PathBuf>,
    /// When the profile reruns by itself (`entra-extract schedule add`); the timer or
    /// crontab line is what actually runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::Schedule>,
    /// keyId of the stored client secret, when entra-extract added it (`app create`,
    /// `profile rotate-secret`): rotation then removes exactly that secret and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_id: Option<String>,
}

/// How the app registration proves its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CredentialKind {
    /// A client secret, resolved at run time by [`crate::secret::resolve`].
    #[default]
    Secret,
    /// A certificate (PEM with private key) at `path`.
    Certificate {
        /// Path of the PEM file.
        path: PathBuf,
    },
}

/// Where the client secret of a [`CredentialKind::Secret`] profile is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStorage {
    /// The OS keyring (Keychain, Credential Manager, Secret Service).
    #[default]
    Keyring,
    /// Not stored: `ENTRA_EXTRACT_CLIENT_SECRET` supplies it for each run.
    Environment,
    /// Not stored: a systemd credential (`LoadCredential=entra-extract-client-secret:…`)
    /// supplies it for each run.
    SystemdCredential,
    /// An owner-only plain text file: an explicit opt-in, warned about on every use.
    PlaintextFile,
}

impl SecretStorage {
    /// Whether the secret is kept somewhere by the program (keyring or file), as opposed to
    /// being supplied by the environment of each run.
    pub fn is_stored(self) -> bool {
        matches!(self, SecretStorage::Keyring | SecretStorage::PlaintextFile)
    }
}

/// Why a profile's content was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidProfile {
    /// An endpoint URL is unusable.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),

    /// An extra attribute is not a Graph property name.
    #[error(
        "extra attribute {0:?} is not a Microsoft Graph property name (letters, digits and '_', starting with a letter, e.g. department or extension_<appid>_costCenter)"
    )]
    Attribute(String),
}

impl Profile {
    /// Every key of a profile file but `schema_version` (kept beside the struct; a test
    /// checks it against what `save` writes).
    pub const KEYS: [&'static str; 16] = [
        "name",
        "cloud",
        "authority_url",
        "graph_url",
        "tenant",
        "client_id",
        "credential",
        "domain_prefix",
        "output_dir",
        "extra_user_attributes",
        "extra_group_attributes",
        "bom",
        "secret_storage",
        "extra_ca_pem",
        "schedule",
        "secret_key_id",
    ];

    /// A profile with defaults for everything but the identifying fields.
    pub fn new(name: ProfileName, tenant: TenantRef, client_id: ClientId) -> Self {
        Profile {
            name,
            cloud: Cloud::Global,
            authority_url: None,
            graph_url: None,
            tenant,
            client_id,
            credential: CredentialKind::Secret,
            domain_prefix: None,
            output_dir: PathBuf::from("."),
            extra_user_attributes: Vec::new(),
            extra_group_attributes: Vec::new(),
            bom: false,
            secret_storage: SecretStorage::Keyring,
            extra_ca_pem: None,
            schedule: None,
            secret_key_id: None,
        }
    }

    /// The validated endpoints of this profile's cloud.
    pub fn endpoints(&self) -> Result<Endpoints, EndpointError> {
        Endpoints::resolve(
            self.cloud,
            self.authority_url.as_deref(),
            self.graph_url.as_deref(),
        )
    }

    /// Checks what can be checked without contacting anything.
    pub fn validate(&self) -> Result<(), InvalidProfile> {
        if self.output_dir.as_os_str().is_empty() {
            return Err(InvalidProfile::Empty("output_dir"));
        }
        if let Some(bad) = self
            .extra_user_attributes
            .iter()
            .chain(&self.extra_group_attributes)
            .find(|a| !is_property_name(a))
        {
            return Err(InvalidProfile::Attribute(bad.clone()));
        }
        self.endpoints()?;
        Ok(())
    }
}

/// Graph property names, including directory extensions (`extension_<appid>_<name>`); keeps
/// anything that could change the meaning of a `$select` out of the request.
fn is_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 256
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile::new(
            ProfileName::new("contoso").unwrap(),
            "contoso.onmicrosoft.com".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
        )
    }

    #[test]
    fn extra_attributes_must_be_property_names() {
        let mut p = sample();
        p.extra_user_attributes = vec![
            "department".into(),
            "extension_0123456789abcdef0123456789abcdef_costCenter".into(),
        ];
        assert!(p.validate().is_ok());
        for bad in ["", "1st", "mail,id", "a b", "x&$filter=y"] {
            p.extra_group_attributes = vec![bad.into()];
            assert!(
                matches!(p.validate(), Err(InvalidProfile::Attribute(ref a)) if a == bad),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn validate_refuses_bad_endpoints() {
        assert!(sample().validate().is_ok());

        let mut p = sample();
        p.cloud = Cloud::Custom;
        assert!(matches!(
            p.validate(),
            Err(InvalidProfile::Endpoint(EndpointError::MissingCustomUrl))
        ));
        p.authority_url = Some("http://10.1.1.1".into());
        p.graph_url = Some("https://graph.example".into());
        assert!(matches!(
            p.validate(),
            Err(InvalidProfile::Endpoint(EndpointError::InsecureHttp { .. }))
        ));
    }
}
