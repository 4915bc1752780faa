//! Operations that touch a profile file and its secret together: set or rotate the secret,
//! report where it is, remove and rename profiles. Shared by the CLI and the wizard.

use std::future::Future;

use secrecy::SecretString;

use super::{SecretError, SecretInputs, SecretSource, SecretStore, check_new_secret, plaintext};
use crate::profile::history::{History, HistoryError};
use crate::profile::state::{self, StateDirError};
use crate::profile::{
    CredentialKind, Profile, ProfileError, ProfileName, ProfileStore, SecretStorage,
};

/// Why a profile operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The profile file.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The run history.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The incremental state.
    #[error(transparent)]
    State(#[from] StateDirError),
}

/// Where a stored secret went, and what the caller must warn about.
#[derive(Debug)]
pub struct StoredSecret {
    /// Human description of the location.
    pub location: String,
    /// Warnings to show (GUID-looking value, plaintext storage).
    pub warnings: Vec<String>,
}

/// Stores or replaces the secret of `profile` in its configured storage.
pub async fn set_secret(
    profiles: &ProfileStore,
    profile: &Profile,
    secret: &SecretString,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<StoredSecret, SecretError> {
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(SecretError::CertificateProfile {
            profile: profile.name.clone(),
        });
    }
    let mut warnings: Vec<String> = check_new_secret(secret)?.into_iter().collect();
    let location = match profile.secret_storage {
        SecretStorage::Keyring => {
            let store = keyring.await?;
            store.save(&profile.name, secret).await?;
            format!("the OS keyring ({})", store.label())
        }
        SecretStorage::PlaintextFile => {
            warnings.push(plaintext::save(profiles.dirs(), &profile.name, secret)?);
            format!(
                "the plaintext file {}",
                plaintext::path(profiles.dirs(), &profile.name).display()
            )
        }
        storage @ (SecretStorage::Environment | SecretStorage::SystemdCredential) => {
            return Err(SecretError::NotStorable {
                profile: profile.name.clone(),
                storage,
            });
        }
    };
    Ok(StoredSecret { location, warnings })
}

/// Whether a profile's own storage holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// A secret is stored.
    Present,
    /// Nothing is stored.
    Absent,
    /// The storage could not be asked; the reason says why.
    Unknown(String),
    /// Certificate profiles have no secret.
    NotApplicable,
}

/// Where a profile's secret lives and whether it is there (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStatus {
    /// Human description of the profile's own storage.
    pub storage: String,
    /// Whether that storage holds a secret.
    pub presence: Presence,
    /// A source that would take precedence at run time.
    pub overridden_by: Option<SecretSource>,
}

/// Reports where `profile`'s secret is stored and whether it is present.
pub async fn status(
    profiles: &ProfileStore,
    profile: &Profile,
    inputs: &SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> SecretStatus {
    let overridden_by = inputs.override_source(Some(&profile.name));
    if let CredentialKind::Certificate { path } = &profile.credential {
        return SecretStatus {
            storage: format!("certificate {}", path.display()),
            presence: Presence::NotApplicable,
            overridden_by: None,
        };
    }
    match profile.secret_storage {
        SecretStorage::Keyring => match keyring.await {
            Ok(store) => SecretStatus {
                storage: format!("OS keyring ({})", store.label()),
                presence: match store.contains(&profile.name).await {
                    Ok(true) => Presence::Present,
                    Ok(false) => Presence::Absent,
                    Err(e) => Presence::Unknown(e.to_string()),
                },
                overridden_by,
            },
            Err(e) => SecretStatus {
                storage: "OS keyring".into(),
                presence: Presence::Unknown(e.to_string()),
                overridden_by,
            },
        },
        SecretStorage::Environment => SecretStatus {
            storage: format!("not stored: {} at run time", super::SECRET_ENV),
            presence: Presence::NotApplicable,
            overridden_by,
        },
        SecretStorage::SystemdCredential => SecretStatus {
            storage: format!(
                "not stored: systemd credential {} at run time",
                super::SYSTEMD_CREDENTIAL
            ),
            presence: Presence::NotApplicable,
            overridden_by,
        },
        SecretStorage::PlaintextFile => {
            let path = plaintext::path(profiles.dirs(), &profile.name);
            SecretStatus {
                storage: format!("plaintext file {} (opt-in)", path.display()),
                presence: if path.is_file() {
                    Presence::Present
                } else {
                    Presence::Absent
                },
                overridden_by,
            }
        }
    }
}

/// What happened to a removed profile's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRemoval {
    /// A secret was deleted from the named place.
    Deleted(String),
    /// There was no stored secret.
    NoneStored,
    /// The keyring could not be reached and `force` was given: an entry may remain.
    LeftBehind(String),
}

/// What `remove` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The secret's fate.
    pub secret: SecretRemoval,
    /// Whether run history was deleted.
    pub history: bool,
    /// Whether an incremental state (the last run's files and delta links) was deleted.
    pub state: bool,
}

/// Removes a profile: its secret (keyring entry or plaintext file), its incremental state,
/// its file and its history.
///
/// The keyring entry goes first: if the keyring cannot be reached nothing is removed, unless
/// `force` is set, so no secret is orphaned silently. The state goes before the file, so a
/// failure leaves a profile that `remove` can be asked again to finish. A damaged profile file can still be
/// removed (its storage is then unknown, so both places are cleaned).
pub async fn remove(
    profiles: &ProfileStore,
    name: &ProfileName,
    force: bool,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Removed, LifecycleError> {
    let uses_keyring = match profiles.load(name) {
        Ok(p) => {
            p.credential == CredentialKind::Secret && p.secret_storage == SecretStorage::Keyring
        }
        Err(e @ ProfileError::NotFound { .. }) => return Err(e.into()),
        Err(_) => true,
    };
    let mut secret = SecretRemoval::NoneStored;
    if uses_keyring {
        match keyring.await {
            Ok(store) => {
                if store.delete(name).await? {
                    secret = SecretRemoval::Deleted(format!("the OS keyring ({})", store.label()));
                }
            }
            Err(SecretError::KeyringDisabled) => {}
            Err(e) if force && e.is_keyring_unreachable() => {
                secret = SecretRemoval::LeftBehind(e.to_string());
            }
            Err(e) => return Err(e.into()),
        }
    }
    if plaintext::delete(profiles.dirs(), name)? {
        secret = SecretRemoval::Deleted(format!(
            "the plaintext file {}",
            plaintext::path(profiles.dirs(), name).display()
        ));
    }
    let state = state::remove(profiles.dirs(), name)?;
    profiles.remove_file(name)?;
    let history = History::new(profiles.dirs()).remove(name)?;
    Ok(Removed {
        secret,
        history,
        state,
    })
}

/// Renames a profile, moving its secret (keyring entry or plaintext file), its history and
/// its incremental state (so its next run still reads only the changes).
///
/// The new keyring entry is written before the profile file moves and the old entry is
/// deleted last, so a failure never loses the secret.
pub async fn rename(
    profiles: &ProfileStore,
    old: &ProfileName,
    new: &ProfileName,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Profile, LifecycleError> {
    let profile = profiles.load(old)?;
    if profiles.exists(new) {
        return Err(ProfileError::AlreadyExists { name: new.clone() }.into());
    }
    let mut moved_in: Option<SecretStore> = None;
    if profile.credential == CredentialKind::Secret
        && profile.secret_storage == SecretStorage::Keyring
    {
        match keyring.await {
            Ok(store) => match store.load(old).await {
                Ok(secret) => {
                    store.save(new, &secret).await?;
                    moved_in = Some(store);
                }
                Err(SecretError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            },
            Err(SecretError::KeyringDisabled) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let renamed = match profiles.rename_file(old, new) {
        Ok(p) => p,
        Err(e) => {
            if let Some(store) = &moved_in {
                // Undo the copy; the old entry is untouched. Best effort: the error that
                // matters is the rename's.
                let _ = store.delete(new).await;
            }
            return Err(e.into());
        }
    };
    plaintext::rename(profiles.dirs(), old, new)?;
    History::new(profiles.dirs()).rename(old, new)?;
    state::rename(profiles.dirs(), old, new)?;
    if let Some(store) = moved_in {
        store.delete(old).await?;
    }
    Ok(renamed)
}
