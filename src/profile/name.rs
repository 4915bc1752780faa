//! Profile names: safe as file names and keyring user names on every platform.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted profile name, so file names and keyring labels stay portable.
pub const MAX_LEN: usize = 64;

/// A validated profile name: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileName(String);

/// Why a profile name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name:?} is not a valid profile name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)]
pub struct InvalidName {
    /// The refused input.
    pub name: String,
}

impl ProfileName {
    /// Validates `raw` as a profile name.
    pub fn new(raw: &str) -> Result<Self, InvalidName> {
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && raw.len() <= MAX_LEN {
            Ok(ProfileName(raw.to_string()))
        } else {
            Err(InvalidName {
                name: raw.to_string(),
            })
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ProfileName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProfileName::new(s)
    }
}

impl Serialize for ProfileName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProfileName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        ProfileName::new(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_portable_names() {
        for ok in ["a", "contoso", "Contoso-Prod_2.eu", "9x", &"a".repeat(64)] {
            assert_eq!(
                ProfileName::new(ok).map(|n| n.to_string()),
                Ok(ok.to_string())
            );
        }
    }

    #[test]
    fn refuses_paths_hidden_files_and_odd_characters() {
        for bad in [
            "",
            ".hidden",
            "-flag",
            "_x",
            "../etc",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a:b",
            &"a".repeat(65),
        ] {
            assert!(ProfileName::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
