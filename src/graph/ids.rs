//! Format of the app registration's identifiers, checked before any network call so a
//! typo is reported on its own field at once (wizard and headless commands alike).

/// A field value that cannot be used, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} {remedy}")]
pub struct FormatError {
    pub message: String,
    pub remedy: String,
}

impl FormatError {
    pub(crate) fn new(message: impl Into<String>, remedy: impl Into<String>) -> Self {
        FormatError {
            message: message.into(),
            remedy: remedy.into(),
        }
    }
}

/// True for the 8-4-4-4-12 hex form Entra uses for tenant, client and secret ids.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == lens.len()
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// True for a DNS name with at least two labels, e.g. `contoso.onmicrosoft.com`.
pub fn is_dns_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.chars().any(|c| c.is_ascii_alphabetic()));
    labels.iter().all(label_ok) && tld_ok
}

/// Tenant: a GUID or a domain name.
pub fn tenant(raw: &str) -> Result<(), FormatError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(FormatError::new(
            "Enter the tenant.",
            "Use the Directory (tenant) ID from the app's Overview page, or a domain such as contoso.onmicrosoft.com.",
        ));
    }
    if is_guid(t) || is_dns_domain(t) {
        Ok(())
    } else {
        Err(FormatError::new(
            "This is neither a GUID nor a domain name.",
            "Use the Directory (tenant) ID (8-4-4-4-12 hex digits) or a domain such as contoso.onmicrosoft.com.",
        ))
    }
}

/// Client id: a GUID.
pub fn client_id(raw: &str) -> Result<(), FormatError> {
    let c = raw.trim();
    if c.is_empty() {
        return Err(FormatError::new(
            "Enter the client id.",
            "Copy the Application (client) ID from the app registration's Overview page.",
        ));
    }
    if is_guid(c) {
        Ok(())
    } else {
        Err(FormatError::new(
            "The client id must be a GUID.",
            "Copy the Application (client) ID (8-4-4-4-12 hex digits) from the Overview page.",
        ))
    }
}
