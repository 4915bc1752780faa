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

/// Defines a trimmed, checked identifier: parsed once at the edge (flag, profile file,
/// wizard field), then trusted everywhere after.
macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Trims `raw` and checks its form.
            pub fn parse(raw: &str) -> Result<Self, FormatError> {
                $check(raw)?;
                Ok(Self(raw.trim().to_string()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = FormatError;
            fn from_str(s: &str) -> Result<Self, FormatError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FormatError;
            fn try_from(s: String) -> Result<Self, FormatError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

identifier!(
    /// The Directory (tenant) ID or a verified domain, as the token URL takes it.
    TenantRef,
    tenant
);
identifier!(
    /// The Application (client) ID of an app registration.
    ClientId,
    client_id
);

#[cfg(test)]
mod identifier_tests {
    use super::*;

    #[test]
    fn identifiers_are_trimmed_checked_and_round_trip_through_serde() {
        let t = TenantRef::parse(" contoso.onmicrosoft.com ").unwrap();
        assert_eq!(t.as_str(), "contoso.onmicrosoft.com");
        assert!(TenantRef::parse("a b/../x").is_err());
        assert!(ClientId::parse("nope").is_err());
        let c: ClientId = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"11111111-2222-3333-4444-555555555555\"");
        assert_eq!(serde_json::from_str::<ClientId>(&json).unwrap(), c);
        assert!(serde_json::from_str::<ClientId>("\"c\"").is_err());
    }
}
