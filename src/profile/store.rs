//! Profile files: `<config>/profiles/<name>.toml`, `schema_version = 1` first, written
//! atomically and owner-only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::dirs::{Dirs, NoHomeDir};
use super::fsutil;
use super::model::{InvalidProfile, Profile};
use super::name::{InvalidName, ProfileName};
use crate::private_fs;

/// The profile file format this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Why a profile could not be read, written or found.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The name is not a valid profile name.
    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    /// No OS directories to store profiles in.
    #[error(transparent)]
    NoHome(#[from] NoHomeDir),
    /// No such profile.
    #[error("no profile named \"{name}\" (looked for {}); `entra-extract profile list` shows the saved profiles", path.display())]
    NotFound {
        /// The requested name.
        name: ProfileName,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The target name of a create or rename is taken.
    #[error("a profile named \"{name}\" already exists; choose another name or remove it first")]
    AlreadyExists {
        /// The taken name.
        name: ProfileName,
    },
    /// The file is not valid TOML or does not match the profile format.
    #[error("profile file {} is damaged at line {line}: {message}; fix or remove the file", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (1 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file has a key no profile has (often a misspelt one): refused rather than
    /// ignored, so a setting never silently falls back to its default.
    #[error("profile file {} has an unknown key `{key}` at line {line}; a profile's keys are {expected}; correct or remove it", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key (1 when not found).
        line: usize,
        /// The key as written.
        key: String,
        /// The keys a profile may have.
        expected: String,
    },
    /// The file was written by a newer entra-extract.
    #[error(
        "profile file {} was written by a newer entra-extract (schema version {found}, this build reads {SCHEMA_VERSION}); upgrade entra-extract",
        path.display()
    )]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
    },
    /// The profile content is invalid.
    #[error("profile \"{name}\" ({}) is invalid: {source}; edit the file or recreate the profile", .path.display())]
    Invalid {
        /// The profile.
        name: ProfileName,
        /// Its file.
        path: PathBuf,
        /// What is wrong (boxed: a Windows `PathBuf` is 8 bytes wider, and this rare variant
        /// would make every `Result<_, ProfileError>` carry 128 bytes).
        source: Box<InvalidProfile>,
    },
    /// A file system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was attempted ("read", "write", ...).
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl ProfileError {
    /// True when the user's input or files are at fault rather than the machine.
    pub fn is_config_error(&self) -> bool {
        !matches!(self, ProfileError::Io { .. })
    }
}

/// One entry of [`ProfileStore::list`]: the name and the profile or why it is unreadable.
pub type ListedProfile = (ProfileName, Result<Profile, ProfileError>);

/// Reads and writes profile files under one [`Dirs`].
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dirs: Dirs,
}

impl ProfileStore {
    /// A store rooted at `dirs`.
    pub fn new(dirs: Dirs) -> Self {
        ProfileStore { dirs }
    }

    /// The directories this store uses.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    /// `<config>/profiles/<name>.toml`.
    pub fn path(&self, name: &ProfileName) -> PathBuf {
        self.dirs.profiles().join(format!("{name}.toml"))
    }

    /// True when a file for `name` exists.
    pub fn exists(&self, name: &ProfileName) -> bool {
        self.path(name).exists()
    }

    /// Loads one profile. The file name is authoritative for the name, so a copied file
    /// becomes a new profile.
    pub fn load(&self, name: &ProfileName) -> Result<Profile, ProfileError> {
        let path = self.path(name);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ProfileError::NotFound {
                    name: name.clone(),
                    path,
                });
            }
            Err(source) => {
                return Err(ProfileError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let mut profile = parse(&path, &text)?;
        profile.name = name.clone();
        // Hand-edited files are checked as strictly as those written by `save`.
        profile.validate().map_err(|source| ProfileError::Invalid {
            name: name.clone(),
            path: path.clone(),
            source: Box::new(source),
        })?;
        Ok(profile)
    }

    /// Writes `profile` (atomically, 0600), replacing any file of the same name.
    pub fn save(&self, profile: &Profile) -> Result<(), ProfileError> {
        let path = self.path(&profile.name);
        profile.validate().map_err(|source| ProfileError::Invalid {
            name: profile.name.clone(),
            path: path.clone(),
            source: Box::new(source),
        })?;
        let text = render(profile).map_err(|e| ProfileError::Damaged {
            path: path.clone(),
            line: 1,
            message: format!("cannot be written as TOML: {e}"),
        })?;
        private_fs::write_atomic(&path, text.as_bytes()).map_err(|source| ProfileError::Io {
            action: "write",
            path,
            source,
        })
    }

    /// Writes a new profile, refusing to overwrite an existing one.
    pub fn create(&self, profile: &Profile) -> Result<(), ProfileError> {
        if self.exists(&profile.name) {
            return Err(ProfileError::AlreadyExists {
                name: profile.name.clone(),
            });
        }
        self.save(profile)
    }

    /// All profile names, sorted, each with its parsed profile or the reason it is unreadable.
    pub fn list(&self) -> Result<Vec<ListedProfile>, ProfileError> {
        let dir = self.dirs.profiles();
        let names = fsutil::names_in(&dir, fsutil::Named::File(".toml")).map_err(|source| {
            ProfileError::Io {
                action: "list",
                path: dir,
                source,
            }
        })?;
        Ok(names
            .into_iter()
            .map(|name| {
                let loaded = self.load(&name);
                (name, loaded)
            })
            .collect())
    }

    /// Deletes the profile file; returns whether it existed.
    pub fn remove_file(&self, name: &ProfileName) -> Result<bool, ProfileError> {
        let path = self.path(name);
        fsutil::remove_if_exists(&path).map_err(|source| ProfileError::Io {
            action: "remove",
            path,
            source,
        })
    }
}

/// The file text: the schema version first, then the profile.
fn render(profile: &Profile) -> Result<String, toml::ser::Error> {
    let body = toml::to_string(profile)?;
    Ok(format!("schema_version = {SCHEMA_VERSION}\n{body}"))
}

fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
    let damaged = |e: toml::de::Error| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        // Name the key of that line too: a value's own message ("must be a GUID") does not.
        let key = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        ProfileError::Damaged {
            path: path.to_path_buf(),
            line,
            message: match key {
                Some(k) => format!("`{k}`: {}", e.message()),
                None => e.message().to_string(),
            },
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(damaged)?;
    match table.get("schema_version") {
        Some(toml::Value::Integer(v)) if *v == SCHEMA_VERSION => {}
        Some(toml::Value::Integer(v)) if *v > SCHEMA_VERSION => {
            return Err(ProfileError::NewerVersion {
                path: path.to_path_buf(),
                found: *v,
            });
        }
        other => {
            return Err(ProfileError::Damaged {
                path: path.to_path_buf(),
                line: 1,
                message: match other {
                    None => "missing `schema_version`".to_string(),
                    Some(v) => format!("unsupported `schema_version` {v}"),
                },
            });
        }
    }
    let profile: Profile = toml::from_str(text).map_err(damaged)?;
    // A key no profile has (often a misspelt one) is refused, not ignored: otherwise the
    // setting silently falls back to its default.
    if let Some(key) = table
        .keys()
        .find(|k| k.as_str() != "schema_version" && !Profile::KEYS.contains(&k.as_str()))
    {
        let line = text
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(1, |i| i + 1);
        return Err(ProfileError::UnknownKey {
            path: path.to_path_buf(),
            line,
            key: key.clone(),
            expected: Profile::KEYS.join(", "),
        });
    }
    Ok(profile)
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(byte)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::cloud::Cloud;
    use crate::profile::model::CredentialKind;

    fn store() -> (tempfile::TempDir, ProfileStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = ProfileStore::new(Dirs::new(dir.path().join("c"), dir.path().join("d")));
        (dir, s)
    }

    fn name(s: &str) -> ProfileName {
        ProfileName::new(s).unwrap()
    }

    fn full_profile() -> Profile {
        let mut p = Profile::new(
            name("contoso"),
            "00000000-0000-0000-0000-000000000001".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
        );
        p.cloud = Cloud::Custom;
        p.authority_url = Some("http://127.0.0.1:9000".into());
        p.graph_url = Some("http://127.0.0.1:9001".into());
        p.credential = CredentialKind::Certificate {
            path: PathBuf::from("/etc/cert.pem"),
        };
        p.domain_prefix = Some("contoso".into());
        p.output_dir = PathBuf::from("/tmp/out");
        p.extra_user_attributes = vec!["department".into(), "jobTitle".into()];
        p.extra_group_attributes = vec!["mail".into()];
        p.bom = true;
        p.secret_storage = crate::profile::SecretStorage::PlaintextFile;
        p.extra_ca_pem = Some(PathBuf::from("/etc/ca.pem"));
        p.schedule = Some("weekly mon 06:30".parse().unwrap());
        p.secret_key_id = Some("3f2c0d1e-5a6b-4c7d-8e9f-0a1b2c3d4e5f".into());
        p
    }

    #[test]
    fn round_trips_every_field_with_version_first() {
        let (_d, s) = store();
        let p = full_profile();
        s.save(&p).unwrap();
        let text = fs::read_to_string(s.path(&p.name)).unwrap();
        assert!(text.starts_with("schema_version = 1\n"), "{text}");
        assert!(text.contains("cloud = \"custom\""), "{text}");
        assert_eq!(s.load(&p.name).unwrap(), p);
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let (_d, s) = store();
        let n = name("broken");
        let path = s.path(&n);
        private_fs::write_atomic(
            &path,
            b"schema_version = 1\ntenant = \"t\"\nclient_id = [\n",
        )
        .unwrap();
        match s.load(&n) {
            Err(e @ ProfileError::Damaged { line, .. }) => {
                assert!(line >= 3, "line {line}");
                assert!(e.to_string().contains("broken.toml"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_file_and_line() {
        let (_d, s) = store();
        let n = name("typo");
        let path = s.path(&n);
        private_fs::write_atomic(
            &path,
            b"schema_version = 1\nname = \"typo\"\ntenant = \"contoso.example\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\noutput_dir = \"/o\"\nextra_user_atributes = [\"x\"]\n",
        )
        .unwrap();
        let e = s.load(&n).unwrap_err();
        assert!(
            matches!(&e, ProfileError::UnknownKey { line: 6, key, .. } if key == "extra_user_atributes"),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("typo.toml") && text.contains("extra_user_attributes"),
            "{text}"
        );
    }

    #[test]
    fn every_key_a_profile_writes_is_known() {
        let text = render(&full_profile()).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        for key in table.keys().filter(|k| k.as_str() != "schema_version") {
            assert!(Profile::KEYS.contains(&key.as_str()), "{key}");
        }
        assert_eq!(
            table.len() - 1,
            Profile::KEYS.len(),
            "full_profile sets every key"
        );
    }

    #[test]
    fn wrong_types_are_damaged_at_their_line() {
        let (_d, s) = store();
        let n = name("typed");
        private_fs::write_atomic(
            &s.path(&n),
            b"schema_version = 1\nname = \"typed\"\ntenant = \"contoso.example\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\noutput_dir = \".\"\nbom = \"yes\"\n",
        )
        .unwrap();
        assert!(matches!(
            s.load(&n),
            Err(ProfileError::Damaged { line: 6, .. })
        ));
    }

    #[test]
    fn newer_and_missing_versions_are_refused_clearly() {
        let (_d, s) = store();
        let n = name("future");
        private_fs::write_atomic(&s.path(&n), b"schema_version = 2\nwhatever = 1\n").unwrap();
        let e = s.load(&n).unwrap_err();
        assert!(matches!(e, ProfileError::NewerVersion { found: 2, .. }));
        assert!(e.to_string().contains("newer entra-extract"), "{e}");
        private_fs::write_atomic(&s.path(&n), b"tenant = \"t\"\n").unwrap();
        assert!(matches!(s.load(&n), Err(ProfileError::Damaged { .. })));
    }

    #[test]
    fn hand_edited_invalid_endpoints_are_refused_on_load() {
        let (_d, s) = store();
        let n = name("edited");
        private_fs::write_atomic(
            &s.path(&n),
            b"schema_version = 1\nname = \"edited\"\ncloud = \"custom\"\ntenant = \"contoso.example\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\noutput_dir = \".\"\n",
        )
        .unwrap();
        let e = s.load(&n).unwrap_err();
        assert!(matches!(e, ProfileError::Invalid { .. }), "{e:?}");
        assert!(e.to_string().contains("authority URL"), "{e}");
    }

    #[test]
    fn create_refuses_duplicates_and_list_reports_damaged_files() {
        let (_d, s) = store();
        let p = Profile::new(
            name("a"),
            "contoso.example".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
        );
        s.create(&p).unwrap();
        assert!(matches!(
            s.create(&p),
            Err(ProfileError::AlreadyExists { .. })
        ));
        private_fs::write_atomic(&s.path(&name("b")), b"nonsense").unwrap();
        private_fs::write_atomic(&s.dirs().profiles().join("not a name.toml"), b"").unwrap();
        let listed = s.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].1.is_ok());
        assert!(matches!(listed[1].1, Err(ProfileError::Damaged { .. })));
    }
}
