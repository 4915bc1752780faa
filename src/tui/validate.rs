//! Format checks that run before any network call, so a typo is caught on its field at once.

use std::path::Path;

use crate::extract::DomainPrefix;
use crate::graph::cloud::{Cloud, EndpointError, Endpoints};
use crate::profile::ProfileName;

pub use crate::graph::{FormatError, client_id, is_dns_domain, is_guid, tenant};

/// Secret: must not be empty. `Ok(Some(warning))` when it looks like a Secret ID.
pub fn secret(value: &str) -> Result<Option<String>, FormatError> {
    if value.trim().is_empty() {
        return Err(FormatError::new(
            "Enter the client secret.",
            "Paste the Value shown once when the secret was created (Certificates & secrets).",
        ));
    }
    if is_guid(value.trim()) {
        return Ok(Some(
            "This looks like a Secret ID (a GUID), not the secret's Value. Paste the Value column; if it is lost, create a new secret."
                .into(),
        ));
    }
    Ok(None)
}

/// Certificate: the file exists and is readable.
pub fn certificate_path(raw: &str) -> Result<(), FormatError> {
    let p = raw.trim();
    if p.is_empty() {
        return Err(FormatError::new(
            "Enter the certificate path.",
            "Give a PEM file holding the certificate and its private key.",
        ));
    }
    let path = Path::new(p);
    if !path.is_file() {
        return Err(FormatError::new(
            format!("No file at {p}."),
            "Check the path; it must be a PEM file with the certificate and private key.",
        ));
    }
    std::fs::File::open(path).map(|_| ()).map_err(|e| {
        FormatError::new(
            format!("The file cannot be read: {e}."),
            "Check its permissions (it must be readable by you).",
        )
    })
}

/// Custom cloud endpoints: absolute https URLs (http only to loopback).
pub fn endpoints(cloud: Cloud, authority: &str, graph: &str) -> Result<(), FormatError> {
    let opt = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let (a, g) = (opt(authority), opt(graph));
    Endpoints::resolve(cloud, a.as_deref(), g.as_deref())
        .map(|_| ())
        .map_err(|e| {
            let remedy = match e {
                EndpointError::MissingCustomUrl => {
                    "Enter both the authority URL (token endpoint root) and the Graph URL."
                }
                _ => "Enter an absolute https URL such as https://login.microsoftonline.com.",
            };
            FormatError::new(e.to_string(), remedy)
        })
}

/// Default file prefix: the tenant's default domain, as headless runs use it
/// (`contoso.onmicrosoft.com` → `contoso.onmicrosoft.com_users.csv`), lowercased.
pub fn default_prefix(default_domain: &str) -> String {
    let domain = default_domain.trim().to_lowercase();
    match DomainPrefix::parse(&domain) {
        Ok(p) => p.to_string(),
        Err(_) => "tenant".into(),
    }
}

/// Default profile name: the domain's first label (`contoso.onmicrosoft.com` → `contoso`).
pub fn default_profile_name(domain: &str) -> String {
    let first = domain
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    match ProfileName::new(&first) {
        Ok(n) => n.to_string(),
        Err(_) => "tenant".into(),
    }
}

/// Domain prefix: the same rules as the extraction applies (safe in a file name everywhere).
pub fn domain_prefix(raw: &str) -> Result<(), FormatError> {
    DomainPrefix::parse(raw.trim())
        .map(|_| ())
        .map_err(|e| FormatError::new(e.to_string(), ""))
}

/// Output directory: not empty, and if it exists it is a directory.
pub fn output_directory(raw: &str) -> Result<(), FormatError> {
    let d = raw.trim();
    if d.is_empty() {
        return Err(FormatError::new(
            "Enter an output directory.",
            "Use . for the current directory.",
        ));
    }
    let path = Path::new(d);
    if path.exists() && !path.is_dir() {
        return Err(FormatError::new(
            format!("{d} is a file, not a directory."),
            "Choose a directory; it is created if it does not exist.",
        ));
    }
    Ok(())
}

/// Profile name: used as a file and keyring key, so the profile store's rules apply.
pub fn profile_name(raw: &str) -> Result<(), FormatError> {
    ProfileName::new(raw.trim()).map(|_| ()).map_err(|_| {
        FormatError::new(
            "The profile name must be 1 to 64 characters and start with a letter or digit.",
            "Use letters, digits, '.', '-' and '_' only.",
        )
    })
}

/// Rerun schedule: empty or `none` for no schedule, else `hourly`, `daily HH:MM` or
/// `weekly DAY HH:MM`.
pub fn schedule(raw: &str) -> Result<Option<crate::schedule::Schedule>, FormatError> {
    let s = raw.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|e: crate::schedule::InvalidSchedule| {
        FormatError::new(
            format!("{s:?} is not a schedule ({}).", e.reason()),
            "Write hourly, daily 02:00 or weekly mon 02:00 (24-hour local time), or leave it empty.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("7ab1d382-f21e-4acd-a863-ba3e13f7da61"));
        assert!(is_guid("7AB1D382-F21E-4ACD-A863-BA3E13F7DA61"));
        assert!(!is_guid("7ab1d382f21e4acda863ba3e13f7da61"));
        assert!(!is_guid("7ab1d382-f21e-4acd-a863-ba3e13f7da6g"));
        assert!(!is_guid("7ab1d382-f21e-4acd-a863-ba3e13f7da611"));
    }

    #[test]
    fn domains() {
        assert!(is_dns_domain("contoso.onmicrosoft.com"));
        assert!(is_dns_domain("contoso.com."));
        assert!(is_dns_domain("a-b.example.org"));
        assert!(!is_dns_domain("contoso"));
        assert!(!is_dns_domain("-bad.com"));
        assert!(!is_dns_domain("bad..com"));
        assert!(!is_dns_domain("contoso.123"));
        assert!(!is_dns_domain("con toso.com"));
    }

    #[test]
    fn tenant_accepts_guid_or_domain_only() {
        assert!(tenant(" contoso.onmicrosoft.com ").is_ok());
        assert!(tenant("11111111-2222-3333-4444-555555555555").is_ok());
        assert!(tenant("").is_err());
        assert!(tenant("contoso").is_err());
    }

    #[test]
    fn client_id_must_be_guid() {
        assert!(client_id("11111111-2222-3333-4444-555555555555").is_ok());
        assert!(client_id("my-app").is_err());
    }

    #[test]
    fn secret_id_is_warned_about_not_refused() {
        assert!(secret("").is_err());
        assert!(secret("   ").is_err());
        assert_eq!(secret("abc~def.ghi").unwrap(), None);
        let warning = secret("11111111-2222-3333-4444-555555555555").unwrap();
        assert!(warning.unwrap().contains("Secret ID"));
    }

    #[test]
    fn certificate_must_exist_and_be_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.pem");
        std::fs::write(&file, "pem").unwrap();
        assert!(certificate_path(file.to_str().unwrap()).is_ok());
        assert!(certificate_path(dir.path().to_str().unwrap()).is_err());
        assert!(certificate_path(dir.path().join("nope.pem").to_str().unwrap()).is_err());
        assert!(certificate_path("").is_err());
    }

    #[test]
    fn custom_endpoints_are_checked() {
        assert!(endpoints(Cloud::Global, "", "").is_ok());
        assert!(endpoints(Cloud::Custom, "http://127.0.0.1:1", "http://127.0.0.1:1").is_ok());
        assert!(endpoints(Cloud::Custom, "", "https://graph").is_err());
        assert!(endpoints(Cloud::Custom, "http://10.1.1.1", "https://g.example").is_err());
    }

    #[test]
    fn prefix_defaults_and_checks() {
        assert_eq!(
            default_prefix("Contoso.onmicrosoft.com"),
            "contoso.onmicrosoft.com"
        );
        assert!(profile_name("-leading-dash").is_err());
        assert_eq!(default_profile_name("Contoso.onmicrosoft.com"), "contoso");
        assert_eq!(default_profile_name("-.example"), "tenant");
        assert_eq!(default_prefix(""), "tenant");
        assert!(domain_prefix("contoso").is_ok());
        assert!(domain_prefix("con/toso").is_err());
        assert!(domain_prefix("").is_err());
        assert!(profile_name("prod-tenant_1").is_ok());
        assert!(profile_name("prod tenant").is_err());
    }

    #[test]
    fn output_directory_must_not_be_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(output_directory(dir.path().to_str().unwrap()).is_ok());
        assert!(output_directory(dir.path().join("new").to_str().unwrap()).is_ok());
        assert!(output_directory(file.to_str().unwrap()).is_err());
        assert!(output_directory(" ").is_err());
    }
}
