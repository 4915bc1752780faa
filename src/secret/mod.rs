//! Client secret storage and resolution: environment, systemd credential, OS keyring.
//!
//! The secret is only ever held in [`SecretString`] (redacted in Debug, zeroized on drop, not
//! serializable). Nothing here prints: warnings are returned for the caller to show.

pub mod keyring;
pub mod lifecycle;
pub mod plaintext;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::profile::{CredentialKind, Dirs, Profile, ProfileName, SecretStorage};

pub use self::keyring::{SecretStore, StoreChoice};

/// Environment variable that supplies the secret (highest precedence).
pub const SECRET_ENV: &str = "ENTRA_EXTRACT_CLIENT_SECRET";
/// Name of the systemd credential (`LoadCredential=entra-extract-client-secret:/path`).
pub const SYSTEMD_CREDENTIAL: &str = "entra-extract-client-secret";
/// Keyring service name of every entry.
pub const KEYRING_SERVICE: &str = "entra-extract";

/// The keyring user name of a profile's entry: `profile:<name>`.
pub fn keyring_user(name: &ProfileName) -> String {
    format!("profile:{name}")
}

/// What to do when no keyring is usable; appended to every keyring error. For a saved
/// `profile`, the commands that change where that profile keeps its secret; the kernel
/// keyring is offered only to someone who has not already chosen it.
fn headless_options(profile: Option<&ProfileName>) -> String {
    headless_options_for(
        profile,
        std::env::var(keyring::STORE_ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("keyutils")),
    )
}

fn headless_options_for(profile: Option<&ProfileName>, keyutils_chosen: bool) -> String {
    let store_env = keyring::STORE_ENV;
    let kernel = match (keyutils_chosen, profile) {
        (true, _) => format!(
            "the kernel keyring is already chosen ({store_env}=keyutils): it is per login \
             session, so a job under sudo, su, cron or systemd sees another one (`keyctl show \
             @s` shows this process's), and it is emptied at reboot; unset the variable to use \
             the Secret Service instead, where there is one"
        ),
        (false, Some(p)) => format!(
            "on Linux, the kernel keyring (emptied at reboot): `{store_env}=keyutils \
             entra-extract profile set-secret {p}`, with {store_env}=keyutils set for every \
             run of it too"
        ),
        (false, None) => format!(
            "on Linux, choose the kernel keyring with {store_env}=keyutils (emptied at reboot)"
        ),
    };
    match profile {
        Some(p) => format!(
            "Keep the secret of profile {p} another way: `entra-extract profile set-secret {p} \
             --storage environment` (then set {SECRET_ENV} for each run), `--storage \
             systemd-credential` (then LoadCredential={SYSTEMD_CREDENTIAL}:/path/to/file in the \
             unit), or, as a last resort, `--storage plaintext-file` (an owner-only file); or, \
             {kernel}."
        ),
        None => format!(
            "On a server without a keyring, supply the secret another way: set {SECRET_ENV} in \
             the job's environment; or use a systemd credential \
             (LoadCredential={SYSTEMD_CREDENTIAL}:/path/to/file in the unit); or, {kernel}; or, \
             as a last resort, keep it in an owner-only file (`--plaintext-secret-file` of \
             `entra-extract profile create` or `app create`)."
        ),
    }
}

/// How a secret the program does not keep reaches a run.
fn supply_hint(storage: SecretStorage) -> String {
    match storage {
        SecretStorage::SystemdCredential => format!(
            "pass it as a systemd credential (LoadCredential={SYSTEMD_CREDENTIAL}:/path/to/file in the unit), or set {SECRET_ENV}"
        ),
        _ => format!("set {SECRET_ENV} in the environment of each run"),
    }
}

/// Why no secret could be stored, found or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No OS keyring could be reached (no D-Bus session, no Secret Service, unsupported OS).
    #[error("no OS keyring is reachable ({detail}). {}", headless_options(profile.as_ref()))]
    KeyringUnavailable {
        /// What the keyring library reported.
        detail: String,
        /// The saved profile whose secret was at stake, for advice that names it.
        profile: Option<ProfileName>,
    },
    /// The keyring exists but refused access (typically locked).
    #[error(
        "the OS keyring refused access ({detail}); it may be locked (log in to the desktop session to unlock it) or closed to this process. {}",
        headless_options(profile.as_ref())
    )]
    KeyringLocked {
        /// What the keyring library reported.
        detail: String,
        /// The saved profile whose secret was at stake, for advice that names it.
        profile: Option<ProfileName>,
    },
    /// The keyring was disabled with `ENTRA_EXTRACT_KEYRING_STORE=none`.
    #[error(
        "the OS keyring is disabled (ENTRA_EXTRACT_KEYRING_STORE=none). {}",
        headless_options(profile.as_ref())
    )]
    KeyringDisabled {
        /// The saved profile whose secret was at stake, for advice that names it.
        profile: Option<ProfileName>,
    },
    /// The keyring answered with an error.
    #[error("the OS keyring failed: {detail}")]
    KeyringFailure {
        /// What the keyring library reported (never secret material).
        detail: String,
    },
    /// No secret for this profile in any source.
    #[error(
        "no client secret for profile \"{profile}\": it is not in {looked_in}, and neither ENTRA_EXTRACT_CLIENT_SECRET nor a systemd credential is set. Store it with `entra-extract profile set-secret {profile}`"
    )]
    NotFound {
        /// The profile.
        profile: ProfileName,
        /// Where the profile's own storage is.
        looked_in: String,
    },
    /// The profile keeps no secret (environment or systemd credential) and the run's
    /// environment supplied none.
    #[error("profile \"{profile}\" keeps no secret: {}", supply_hint(*.storage))]
    NotSupplied {
        /// The profile.
        profile: ProfileName,
        /// How the secret was meant to arrive.
        storage: SecretStorage,
    },
    /// The profile's storage is not one the program writes to.
    #[error("profile \"{profile}\" keeps no secret ({}); to store one, `entra-extract profile set-secret {profile} --storage keyring` (or `--storage plaintext-file`)", supply_hint(*.storage))]
    NotStorable {
        /// The profile.
        profile: ProfileName,
        /// How the secret is meant to arrive.
        storage: SecretStorage,
    },
    /// A source exists but holds an empty value.
    #[error("the client secret from {source_desc} is empty; put the secret value there")]
    Empty {
        /// Which source.
        source_desc: String,
    },
    /// A secret file (systemd credential or plaintext opt-in) could not be read or written.
    #[error("could not {action} the secret file {}: {source}", path.display())]
    File {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The plaintext secret file is readable by others.
    #[error(
        "the secret file {} is readable by other users (mode {mode:o}); run `chmod 600 {}` and rotate the secret if others may have read it",
        path.display(), path.display()
    )]
    FileTooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The plaintext secret file's DACL lets other accounts read it (Windows).
    #[error(
        "the secret file {} can be read by other accounts ({}); make it yours alone with `{}` (in cmd.exe) and rotate the secret if others may have read it",
        path.display(), readers.join(", "), icacls_command(path, readers)
    )]
    FileSharedWith {
        /// The file.
        path: PathBuf,
        /// The SIDs of the accounts that may read it, besides the user.
        readers: Vec<String>,
    },
    /// The profile authenticates with a certificate, not a secret.
    #[error("profile \"{profile}\" authenticates with a certificate; it has no client secret")]
    CertificateProfile {
        /// The profile.
        profile: ProfileName,
    },
}

impl SecretError {
    /// True when no keyring could be used at all (as opposed to "no entry").
    pub fn is_keyring_unreachable(&self) -> bool {
        matches!(
            self,
            SecretError::KeyringUnavailable { .. }
                | SecretError::KeyringLocked { .. }
                | SecretError::KeyringDisabled { .. }
        )
    }

    /// What went wrong without the advice (for "an entry may remain: …").
    pub fn brief(&self) -> String {
        match self {
            SecretError::KeyringUnavailable { detail, .. } => {
                format!("no OS keyring is reachable: {detail}")
            }
            SecretError::KeyringLocked { detail, .. } => {
                format!("the OS keyring refused access: {detail}")
            }
            SecretError::KeyringDisabled { .. } => {
                format!("the OS keyring is disabled ({}=none)", keyring::STORE_ENV)
            }
            other => other.to_string(),
        }
    }

    /// The error met while keeping the secret of the saved profile `name`: its advice then
    /// names the commands that change where that profile keeps it. (Not for a profile still
    /// being created: those commands need a saved one.)
    pub fn for_profile(mut self, name: &ProfileName) -> Self {
        if let SecretError::KeyringUnavailable { profile, .. }
        | SecretError::KeyringLocked { profile, .. }
        | SecretError::KeyringDisabled { profile } = &mut self
        {
            *profile = Some(name.clone());
        }
        self
    }
}

/// Where a resolved secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `ENTRA_EXTRACT_CLIENT_SECRET`.
    Env,
    /// `$CREDENTIALS_DIRECTORY/entra-extract-client-secret[-<profile>]`.
    SystemdCredential,
    /// The OS keyring.
    Keyring,
    /// The owner-only plaintext file (explicit opt-in).
    PlaintextFile,
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretSource::Env => "environment variable ENTRA_EXTRACT_CLIENT_SECRET",
            SecretSource::SystemdCredential => "systemd credential",
            SecretSource::Keyring => "OS keyring",
            SecretSource::PlaintextFile => "plaintext secret file",
        })
    }
}

/// A secret ready for the token request, and where it came from.
#[derive(Debug)]
pub struct ResolvedSecret {
    /// The client secret.
    pub secret: SecretString,
    /// Its source.
    pub source: SecretSource,
    /// A warning the caller must show (the plaintext opt-in warns on every use).
    pub warning: Option<String>,
}

/// What a run must say about the secret it signs in with (never the secret).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretNotes {
    /// To show before the run (the plaintext opt-in warns on every use).
    pub warning: Option<String>,
    /// To add when Entra refuses the secret: why it may have (whitespace around it).
    pub if_refused: Option<String>,
}

impl ResolvedSecret {
    /// The secret, and what the run must say about it.
    pub fn split(self) -> (SecretString, SecretNotes) {
        let if_refused = whitespace_hint(&self.secret, self.source);
        let notes = SecretNotes {
            warning: self.warning,
            if_refused,
        };
        (self.secret, notes)
    }
}

/// Whitespace around a secret is kept as given (beyond the line ending dropped from a file
/// or variable: a secret may contain any character), but a value Entra generates never has
/// it: when Entra refuses such a secret, this is the likely reason.
fn whitespace_hint(secret: &SecretString, source: SecretSource) -> Option<String> {
    let value = secret.expose_secret();
    let place = match (
        value.starts_with(char::is_whitespace),
        value.ends_with(char::is_whitespace),
    ) {
        (true, true) => "begins and ends",
        (true, false) => "begins",
        (false, true) => "ends",
        (false, false) => return None,
    };
    Some(format!(
        "the client secret from the {source} {place} with whitespace, which a secret value \
         from Entra never does: remove it there"
    ))
}

/// The process-environment inputs of [`resolve`], separated so tests need not mutate the
/// environment.
#[derive(Debug, Default)]
pub struct SecretInputs {
    /// Value of `ENTRA_EXTRACT_CLIENT_SECRET`, when set and non-empty.
    pub env_secret: Option<SecretString>,
    /// `$CREDENTIALS_DIRECTORY`, set by systemd for units with `LoadCredential=`.
    pub credentials_directory: Option<PathBuf>,
}

impl SecretInputs {
    /// Reads the two variables from the process environment: the one place the secret's
    /// variable is read, for every command. Trailing line endings are dropped (an
    /// `EnvironmentFile=` or a pasted value may keep one); empty means unset.
    pub fn from_env() -> Self {
        SecretInputs {
            env_secret: std::env::var(SECRET_ENV)
                .ok()
                .map(trim_line_end)
                .filter(|s| !s.is_empty())
                .map(into_secret),
            credentials_directory: std::env::var_os("CREDENTIALS_DIRECTORY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// The systemd credential file that applies, if any exists: for a profile's run
    /// `entra-extract-client-secret-<profile>` first, then `entra-extract-client-secret`.
    pub fn systemd_credential(&self, profile: Option<&ProfileName>) -> Option<PathBuf> {
        let dir = self.credentials_directory.as_ref()?;
        profile
            .map(|p| format!("{SYSTEMD_CREDENTIAL}-{p}"))
            .into_iter()
            .chain([SYSTEMD_CREDENTIAL.to_string()])
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    }

    /// Which source, if any, supplies the secret from outside a profile's own storage (and
    /// so wins over it).
    pub fn override_source(&self, profile: Option<&ProfileName>) -> Option<SecretSource> {
        if self.env_secret.is_some() {
            Some(SecretSource::Env)
        } else if self.systemd_credential(profile).is_some() {
            Some(SecretSource::SystemdCredential)
        } else {
            None
        }
    }

    /// The secret the run's environment supplies, by one rule for every command (`run` and
    /// `check`, with or without a profile, `run --all`): `ENTRA_EXTRACT_CLIENT_SECRET`, then
    /// the systemd credential. `None` when neither is there.
    pub fn supplied(
        self,
        profile: Option<&ProfileName>,
    ) -> Result<Option<ResolvedSecret>, SecretError> {
        let credential = self.systemd_credential(profile);
        let (secret, source) = match (self.env_secret, credential) {
            (Some(secret), _) => (secret, SecretSource::Env),
            (None, Some(path)) => (
                read_secret_file(&path, "systemd credential")?,
                SecretSource::SystemdCredential,
            ),
            (None, None) => return Ok(None),
        };
        Ok(Some(ResolvedSecret {
            secret,
            source,
            warning: None,
        }))
    }
}

/// Finds the client secret for a run of `profile`: `ENTRA_EXTRACT_CLIENT_SECRET`, then a
/// systemd credential, then the profile's storage (OS keyring, or the plaintext opt-in).
pub async fn resolve(profile: &Profile, dirs: &Dirs) -> Result<ResolvedSecret, SecretError> {
    resolve_in(profile, dirs, StoreChoice::from_env()?).await
}

/// [`resolve`] with the keyring store chosen by the caller (the demo uses its own).
pub async fn resolve_in(
    profile: &Profile,
    dirs: &Dirs,
    keyring: StoreChoice,
) -> Result<ResolvedSecret, SecretError> {
    resolve_from(
        profile,
        dirs,
        SecretInputs::from_env(),
        SecretStore::open(keyring),
    )
    .await
}

/// [`resolve`] with explicit inputs; `keyring` is only awaited when it is needed.
pub async fn resolve_from(
    profile: &Profile,
    dirs: &Dirs,
    inputs: SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<ResolvedSecret, SecretError> {
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(SecretError::CertificateProfile {
            profile: profile.name.clone(),
        });
    }
    if let Some(supplied) = inputs.supplied(Some(&profile.name))? {
        return Ok(supplied);
    }
    match profile.secret_storage {
        SecretStorage::Keyring => {
            let for_profile = |e: SecretError| e.for_profile(&profile.name);
            let store = keyring.await.map_err(for_profile)?;
            let secret = store.load(&profile.name).await.map_err(for_profile)?;
            Ok(ResolvedSecret {
                secret,
                source: SecretSource::Keyring,
                warning: None,
            })
        }
        SecretStorage::PlaintextFile => {
            let (secret, warning) = plaintext::load(dirs, &profile.name)?;
            Ok(ResolvedSecret {
                secret,
                source: SecretSource::PlaintextFile,
                warning: Some(warning),
            })
        }
        storage @ (SecretStorage::Environment | SecretStorage::SystemdCredential) => {
            Err(SecretError::NotSupplied {
                profile: profile.name.clone(),
                storage,
            })
        }
    }
}

/// Checks a new secret before it is stored: refuses an empty value, and returns a warning
/// when it looks like the secret's ID (a GUID) rather than its value.
pub fn check_new_secret(secret: &SecretString) -> Result<Option<String>, SecretError> {
    let value = secret.expose_secret();
    if value.trim().is_empty() {
        return Err(SecretError::Empty {
            source_desc: "the input".into(),
        });
    }
    if uuid::Uuid::try_parse(value.trim()).is_ok() {
        return Ok(Some(
            "this value looks like a secret ID (a GUID), not the secret value. The portal shows \
             the value only once, in the \"Value\" column right after the secret is created; if \
             it is lost, create a new secret"
                .to_string(),
        ));
    }
    Ok(None)
}

/// Reads a secret file, dropping one trailing line ending (editors and `echo` add one).
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<SecretString, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| SecretError::File {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // Zeroize the rejected bytes too: they are secret material.
        let mut bytes = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        SecretError::File {
            action: "read",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        }
    })?;
    let text = trim_line_end(text);
    if text.is_empty() {
        return Err(SecretError::Empty {
            source_desc: format!("{what} {}", path.display()),
        });
    }
    Ok(into_secret(text))
}

/// Moves `s` into a [`SecretString`] without leaving a copy behind: `SecretString::from`
/// shrinks the buffer, which would free the old allocation unzeroized when it has spare room.
pub fn into_secret(mut s: String) -> SecretString {
    if s.capacity() != s.len() {
        let mut exact = String::with_capacity(s.len());
        exact.push_str(&s);
        zeroize::Zeroize::zeroize(&mut s);
        s = exact;
    }
    SecretString::from(s)
}

/// Removes trailing `\n`/`\r` in place (no copy of the secret is made).
pub fn trim_line_end(mut s: String) -> String {
    let len = s.trim_end_matches(['\n', '\r']).len();
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests;

/// The icacls command that leaves `path` to the user alone: no inherited entries, full
/// control for the user, the entries of `readers` (SIDs) removed.
fn icacls_command(path: &std::path::Path, readers: &[String]) -> String {
    let remove: String = readers.iter().map(|sid| format!(" *{sid}")).collect();
    format!(
        "icacls \"{}\" /inheritance:r /grant:r \"%USERNAME%:F\" /remove:g{remove}",
        path.display()
    )
}
