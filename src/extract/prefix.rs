//! The file-name prefix of an extraction (`<domain>_users.csv`): by default the tenant's
//! default verified domain, or one the user chose. Validated once, so every file name built
//! from it is a plain, portable name inside the output directory.

use std::fmt;

/// Longest accepted prefix in bytes. Leaves room for the longest suffix and the temporary
/// file decoration within the usual 255-byte file-name limit.
pub const MAX_PREFIX_BYTES: usize = 128;

/// Characters Windows refuses in file names (path separators are reported on their own).
const WINDOWS_FORBIDDEN: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Device names Windows reserves, with or without an extension.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Why a prefix cannot be used in a file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("the file name prefix is empty; give one such as `contoso.com`")]
    Empty,
    #[error(
        "the file name prefix is too long ({len} bytes, at most {MAX_PREFIX_BYTES}); choose a shorter one"
    )]
    TooLong { len: usize },
    #[error(
        "the file name prefix `{prefix}` contains a path separator (`/` or `\\`); give a name only, and choose the folder with the output directory"
    )]
    PathSeparator { prefix: String },
    #[error("the file name prefix `{prefix}` contains `..`; remove it")]
    DotDot { prefix: String },
    #[error(
        "the file name prefix `{prefix}` starts with a dot, which would make hidden files; remove the leading dot"
    )]
    LeadingDot { prefix: String },
    #[error(
        "the file name prefix contains a control character (such as a tab or newline); type it again without one"
    )]
    ControlChar,
    #[error(
        "the file name prefix `{prefix}` starts or ends with a space; remove the surrounding spaces"
    )]
    SurroundingSpace { prefix: String },
    #[error(
        "the file name prefix `{prefix}` contains `{ch}`, which Windows does not allow in file names; remove it"
    )]
    ForbiddenChar { prefix: String, ch: char },
    #[error(
        "the file name prefix `{prefix}` is a device name reserved by Windows (`{reserved}`); choose another"
    )]
    ReservedName {
        prefix: String,
        reserved: &'static str,
    },
}

/// A validated file-name prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainPrefix(String);

impl DomainPrefix {
    /// Checks `prefix` and keeps it unchanged: non-empty, at most [`MAX_PREFIX_BYTES`], no
    /// path separators, `..`, leading dot, control characters, surrounding spaces,
    /// characters Windows forbids, or Windows device names.
    pub fn parse(prefix: &str) -> Result<Self, PrefixError> {
        let owned = || prefix.to_owned();
        if prefix.is_empty() {
            return Err(PrefixError::Empty);
        }
        if prefix.len() > MAX_PREFIX_BYTES {
            return Err(PrefixError::TooLong { len: prefix.len() });
        }
        if prefix.chars().any(char::is_control) {
            return Err(PrefixError::ControlChar);
        }
        if prefix.contains(['/', '\\']) {
            return Err(PrefixError::PathSeparator { prefix: owned() });
        }
        if prefix.contains("..") {
            return Err(PrefixError::DotDot { prefix: owned() });
        }
        if prefix.starts_with('.') {
            return Err(PrefixError::LeadingDot { prefix: owned() });
        }
        if prefix.trim() != prefix {
            return Err(PrefixError::SurroundingSpace { prefix: owned() });
        }
        if let Some(ch) = prefix.chars().find(|c| WINDOWS_FORBIDDEN.contains(c)) {
            return Err(PrefixError::ForbiddenChar {
                prefix: owned(),
                ch,
            });
        }
        // Windows reserves `NUL` and `NUL.anything`; it ignores trailing spaces before the dot.
        let stem = prefix.split('.').next().unwrap_or(prefix).trim_end();
        if let Some(reserved) = WINDOWS_RESERVED
            .iter()
            .find(|r| r.to_uppercase() == stem.to_uppercase())
        {
            return Err(PrefixError::ReservedName {
                prefix: owned(),
                reserved,
            });
        }
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<prefix><suffix>`, e.g. `contoso.com_users.csv`.
    pub fn file_name(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.0)
    }
}

impl fmt::Display for DomainPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DomainPrefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_accepted_unchanged() {
        for ok in [
            "contoso.com",
            "contoso.onmicrosoft.com",
            "Contoso-EU.example.org",
            "bücher.de",
            "my tenant",
            "con-toso",
            "console.example.com",
            "nul_backup",
        ] {
            let p = DomainPrefix::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(p.as_str(), ok);
            assert_eq!(p.file_name("_users.csv"), format!("{ok}_users.csv"));
        }
    }

    #[test]
    fn unsafe_prefixes_are_refused_with_the_reason() {
        use PrefixError::*;
        type Check = fn(&PrefixError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, Empty)),
            ("a/b", |e| matches!(e, PathSeparator { .. })),
            ("a\\b", |e| matches!(e, PathSeparator { .. })),
            ("/etc", |e| matches!(e, PathSeparator { .. })),
            ("..", |e| matches!(e, DotDot { .. })),
            ("a..b", |e| matches!(e, DotDot { .. })),
            (".contoso", |e| matches!(e, LeadingDot { .. })),
            ("con\ntoso", |e| matches!(e, ControlChar)),
            ("con\ttoso", |e| matches!(e, ControlChar)),
            ("a\u{7f}b", |e| matches!(e, ControlChar)),
            (" contoso", |e| matches!(e, SurroundingSpace { .. })),
            ("contoso ", |e| matches!(e, SurroundingSpace { .. })),
            ("c:tenant", |e| matches!(e, ForbiddenChar { ch: ':', .. })),
            ("a|b", |e| matches!(e, ForbiddenChar { ch: '|', .. })),
            ("what?", |e| matches!(e, ForbiddenChar { ch: '?', .. })),
            ("CON", |e| matches!(e, ReservedName { .. })),
            ("nul", |e| matches!(e, ReservedName { .. })),
            ("com1.example.com", |e| matches!(e, ReservedName { .. })),
            ("Lpt9", |e| matches!(e, ReservedName { .. })),
            ("aux .com", |e| matches!(e, ReservedName { .. })),
        ];
        for (input, check) in cases {
            let err = DomainPrefix::parse(input).expect_err(input);
            assert!(check(&err), "{input:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
        let long = "a".repeat(MAX_PREFIX_BYTES + 1);
        assert_eq!(
            DomainPrefix::parse(&long),
            Err(TooLong {
                len: MAX_PREFIX_BYTES + 1
            })
        );
        assert!(DomainPrefix::parse(&"a".repeat(MAX_PREFIX_BYTES)).is_ok());
    }
}
