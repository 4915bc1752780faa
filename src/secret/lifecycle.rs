//! Operations that touch a profile file and its secret together: set or rotate the secret,
//! report where it is, remove and rename profiles. Shared by the CLI and the wizard.

use std::future::Future;
use std::path::PathBuf;

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
    /// The new place did not give back the secret just written to it.
    #[error(
        "{place} did not give back the secret just written to it; the profile keeps its secret where it was"
    )]
    NotReadBack {
        /// The new place.
        place: String,
    },
    /// The storage asked for is the profile's already, and no new secret was given.
    #[error(
        "profile \"{profile}\" keeps its secret {} already; to replace the secret itself, use `entra-extract profile set-secret {profile}` without --storage",
        storage_words(*.storage)
    )]
    Unchanged {
        /// The profile.
        profile: ProfileName,
        /// Its storage.
        storage: SecretStorage,
    },
    /// A secret must be stored in the new place, but none could be read to move there.
    #[error(
        "there is no secret of profile \"{profile}\" to move ({why}); give its value: typed when asked, or with --stdin"
    )]
    NothingToMove {
        /// The profile.
        profile: ProfileName,
        /// Why the old place gave none.
        why: String,
    },
    /// The program's copy is the only one it has: it is deleted only once the secret
    /// reaches the command the new way.
    #[error(
        "{}; run it again with the secret in {} (or as the systemd credential {}), or give it with --stdin",
        if *.differs {
            format!("the secret given differs from the one of profile \"{profile}\" in {kept_in}, which is kept")
        } else {
            format!("{kept_in} holds the secret of profile \"{profile}\", and Entra shows a secret's value only once: it is deleted only when this command gets the same secret the new way")
        },
        super::SECRET_ENV,
        super::SYSTEMD_CREDENTIAL
    )]
    ProofNeeded {
        /// The profile.
        profile: ProfileName,
        /// Where its secret is kept now.
        kept_in: String,
        /// A secret was given, but another one.
        differs: bool,
    },
}

/// A storage as the end of "keeps its secret …".
fn storage_words(storage: SecretStorage) -> &'static str {
    match storage {
        SecretStorage::Keyring => "in the OS keyring",
        SecretStorage::PlaintextFile => "in a plaintext file",
        SecretStorage::Environment => {
            "in the environment of each run (ENTRA_EXTRACT_CLIENT_SECRET)"
        }
        SecretStorage::SystemdCredential => "in a systemd credential of each run",
    }
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
                    Err(e) => Presence::Unknown(e.for_profile(&profile.name).to_string()),
                },
                overridden_by,
            },
            Err(e) => SecretStatus {
                storage: "OS keyring".into(),
                presence: Presence::Unknown(e.for_profile(&profile.name).to_string()),
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

impl SecretRemoval {
    /// What to tell the user about a copy that may remain, naming the entry to delete.
    pub fn left_behind(name: &ProfileName, why: &str) -> String {
        format!(
            "the keyring could not be reached, so a stored secret may remain under service \
             \"{}\", user \"{}\" ({why})",
            super::KEYRING_SERVICE,
            super::keyring_user(name)
        )
    }
}

/// What `remove` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Whether the profile itself was there; `false` when only what an earlier version left
    /// of a removed profile (its state, its history) was found and deleted.
    pub profile: bool,
    /// The secret's fate.
    pub secret: SecretRemoval,
    /// Whether run history was deleted.
    pub history: bool,
    /// Whether an incremental state (the last run's files and delta links) was deleted.
    pub state: bool,
}

impl Removed {
    /// What was deleted besides the profile file, as `profile remove` and the wizard say it
    /// ("deleted its secret from …, deleted its run history, …").
    pub fn describe(&self) -> String {
        let secret = match &self.secret {
            SecretRemoval::Deleted(place) => format!("deleted its secret from {place}"),
            SecretRemoval::NoneStored => "no stored secret".to_string(),
            SecretRemoval::LeftBehind(_) => "its keyring entry may remain".to_string(),
        };
        let history = if self.history {
            ", deleted its run history"
        } else {
            ""
        };
        let state = if self.state {
            ", deleted its incremental state (the copy of its last run's files)"
        } else {
            ""
        };
        format!("{secret}{history}{state}")
    }

    /// What was deleted, as one sentence for the user; with paths when the profile itself
    /// was gone already, so that the user sees exactly what went.
    pub fn summary(&self, profiles: &ProfileStore, name: &ProfileName) -> String {
        if self.profile {
            return format!("Removed profile {name} ({}).", self.describe());
        }
        let dirs = profiles.dirs();
        let mut deleted = Vec::new();
        if self.state {
            deleted.push(format!(
                "its incremental state {} (a copy of its last run's files)",
                dirs.state(name).display()
            ));
        }
        if self.history {
            deleted.push(format!(
                "its run history {}",
                History::new(dirs).path(name).display()
            ));
        }
        if let SecretRemoval::Deleted(place) = &self.secret {
            deleted.push(format!("its secret in {place}"));
        }
        format!(
            "There is no profile {name}; deleted what was left of it: {}.",
            deleted.join(", ")
        )
    }
}

/// Removes a profile: its secret (keyring entry or plaintext file), its incremental state,
/// its file and its history.
///
/// The keyring entry goes first: if the keyring cannot be reached nothing is removed, unless
/// `force` is set, so no secret is orphaned silently. The state goes before the file, so a
/// failure leaves a profile that `remove` can be asked again to finish. A damaged profile file can still be
/// removed (its storage is then unknown, so both places are cleaned). A profile that is gone
/// already may have left its state and history (an earlier version's `remove` kept the
/// state): those are deleted, and only when there is nothing at all is it an error.
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
        Err(e @ ProfileError::NotFound { .. }) => {
            // What an earlier version's `remove` left (it kept the state), if anything.
            let left = Removed {
                profile: false,
                secret: delete_secret_file(profiles, name)?.unwrap_or(SecretRemoval::NoneStored),
                state: state::remove(profiles.dirs(), name)?,
                history: History::new(profiles.dirs()).remove(name)?,
            };
            return match left.history || left.state || left.secret != SecretRemoval::NoneStored {
                true => Ok(left),
                false => Err(e.into()),
            };
        }
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
            Err(SecretError::KeyringDisabled { .. }) => {}
            Err(e) if force && e.is_keyring_unreachable() => {
                secret = SecretRemoval::LeftBehind(e.brief());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let secret = delete_secret_file(profiles, name)?.unwrap_or(secret);
    let state = state::remove(profiles.dirs(), name)?;
    profiles.remove_file(name)?;
    let history = History::new(profiles.dirs()).remove(name)?;
    Ok(Removed {
        profile: true,
        secret,
        history,
        state,
    })
}

/// Deletes `name`'s plaintext secret file, if there is one (whatever the profile's storage:
/// a file left by an earlier storage goes too).
fn delete_secret_file(
    profiles: &ProfileStore,
    name: &ProfileName,
) -> Result<Option<SecretRemoval>, SecretError> {
    Ok(plaintext::delete(profiles.dirs(), name)?
        .then(|| SecretRemoval::Deleted(describe(profiles, name, SecretStorage::PlaintextFile))))
}

/// What an earlier version left of a removed profile: a state directory, a run history or
/// a plaintext secret file under a name that is no profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The removed profile's name: `profile remove NAME` deletes what is left.
    pub name: ProfileName,
    /// Its incremental state directory (a copy of its last run's files), if there is one.
    pub state: Option<PathBuf>,
    /// Its run history file, if there is one.
    pub history: Option<PathBuf>,
    /// Its plaintext secret file, if there is one.
    pub secret_file: Option<PathBuf>,
}

impl Leftover {
    /// What is left and the command that deletes it, as one line for the user.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if let Some(state) = &self.state {
            what.push(format!(
                "incremental state {} (a copy of its last run's files: names, UPNs, memberships)",
                state.display()
            ));
        }
        if let Some(history) = &self.history {
            what.push(format!("run history {}", history.display()));
        }
        if let Some(secret) = &self.secret_file {
            what.push(format!("plaintext secret file {}", secret.display()));
        }
        format!(
            "{}: {}; delete with `entra-extract profile remove {}`",
            self.name,
            what.join(", "),
            self.name
        )
    }
}

/// Every leftover of a removed profile, sorted by name (see [`Leftover`]).
pub fn leftovers(profiles: &ProfileStore) -> Result<Vec<Leftover>, LifecycleError> {
    let dirs = profiles.dirs();
    let history = History::new(dirs);
    let mut names = state::names(dirs)?;
    names.extend(history.names()?);
    names.extend(plaintext::names(dirs)?);
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter(|name| !profiles.exists(name))
        .map(|name| Leftover {
            state: Some(dirs.state(&name)).filter(|p| p.is_dir()),
            history: Some(history.path(&name)).filter(|p| p.is_file()),
            secret_file: Some(plaintext::path(dirs, &name)).filter(|p| p.is_file()),
            name,
        })
        .collect())
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
            Err(SecretError::KeyringDisabled { .. }) => {}
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

/// What [`change_storage`] did.
#[derive(Debug)]
pub struct StorageChanged {
    /// Where the secret is now, or how each run must supply it.
    pub now: String,
    /// Warnings to show (plaintext storage, a GUID-looking value).
    pub warnings: Vec<String>,
    /// What became of the copy in the old place.
    pub old_copy: SecretRemoval,
}

/// Changes where the saved profile `name` keeps its secret, leaving no copy behind.
///
/// To a place that keeps it (keyring, plaintext file): `given`, else the copy in the old
/// place, else the one the environment supplies (as a run would take it) is written there
/// and read back. To a place outside the program (environment, systemd credential): the
/// copy the program kept is deleted only when the secret reaches this process the new way
/// (`inputs`) or is `given`, and equals it — the value cannot be shown again. Then the
/// profile file records the new storage; only then is the old copy deleted. A failure before
/// that leaves the profile as it was (a new copy already written is taken back).
pub async fn change_storage(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    given: Option<SecretString>,
    inputs: SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<StorageChanged, LifecycleError> {
    use secrecy::ExposeSecret;
    let mut profile = profiles.load(name)?;
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(SecretError::CertificateProfile {
            profile: name.clone(),
        }
        .into());
    }
    let old = profile.secret_storage;
    if old == storage && given.is_none() {
        return Err(LifecycleError::Unchanged {
            profile: name.clone(),
            storage,
        });
    }
    // Awaited at most once: only the keyring's side of the move needs it.
    let store = if old == SecretStorage::Keyring || storage == SecretStorage::Keyring {
        Some(keyring.await.map_err(|e| e.for_profile(name)))
    } else {
        None
    };
    // The copy in the old place: none, or why it cannot be read.
    let stored: Result<Option<SecretString>, String> = match old {
        SecretStorage::Keyring => match store.as_ref() {
            Some(Ok(s)) => match s.load(name).await {
                Ok(v) => Ok(Some(v)),
                Err(SecretError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.brief()),
            },
            Some(Err(e)) => Err(e.brief()),
            None => Ok(None),
        },
        SecretStorage::PlaintextFile => match plaintext::load(profiles.dirs(), name) {
            Ok((v, _)) => Ok(Some(v)),
            Err(SecretError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        },
        SecretStorage::Environment | SecretStorage::SystemdCredential => Ok(None),
    };
    let supplied = inputs
        .supplied(Some(name))
        .map_err(|e| e.for_profile(name))?
        .map(|r| r.secret);

    let mut warnings = Vec::new();
    let now = if storage.is_stored() {
        let value = match (given, &stored) {
            (Some(v), _) => v,
            (None, Ok(Some(v))) => v.clone(),
            (None, _) => supplied.ok_or_else(|| LifecycleError::NothingToMove {
                profile: name.clone(),
                why: match &stored {
                    Err(why) => why.clone(),
                    Ok(_) if old.is_stored() => {
                        format!("{} holds none", describe(profiles, name, old))
                    }
                    Ok(_) => format!(
                        "it is not stored, and neither {} nor a systemd credential supplies it here",
                        super::SECRET_ENV
                    ),
                },
            })?,
        };
        warnings.extend(check_new_secret(&value)?);
        let written = match storage {
            SecretStorage::Keyring => {
                let s = match &store {
                    Some(Ok(s)) => s,
                    _ => match store {
                        Some(Err(e)) => return Err(e.into()),
                        _ => unreachable!("the keyring is opened when it is the new place"),
                    },
                };
                s.save(name, &value)
                    .await
                    .map_err(|e| e.for_profile(name))?;
                s.load(name).await.map_err(|e| e.for_profile(name))?
            }
            _ => {
                warnings.push(plaintext::save(profiles.dirs(), name, &value)?);
                plaintext::load(profiles.dirs(), name)?.0
            }
        };
        if written.expose_secret() != value.expose_secret() {
            if old != storage {
                take_back(profiles, name, storage, &store).await;
            }
            return Err(LifecycleError::NotReadBack {
                place: describe(profiles, name, storage),
            });
        }
        describe(profiles, name, storage)
    } else {
        if let Ok(Some(kept)) = &stored {
            let proof = given.or(supplied);
            if proof.as_ref().map(|p| p.expose_secret()) != Some(kept.expose_secret()) {
                return Err(LifecycleError::ProofNeeded {
                    profile: name.clone(),
                    kept_in: describe(profiles, name, old),
                    differs: proof.is_some(),
                });
            }
        }
        describe(profiles, name, storage)
    };

    profile.secret_storage = storage;
    if let Err(e) = profiles.save(&profile) {
        // The profile still names the old place.
        if old != storage {
            take_back(profiles, name, storage, &store).await;
        }
        return Err(e.into());
    }

    let old_copy = if old == storage {
        SecretRemoval::NoneStored
    } else {
        // (The keyring was opened above whenever it is the old place.)
        let store = store.unwrap_or(Err(SecretError::KeyringDisabled { profile: None }));
        delete_copy(profiles, name, old, std::future::ready(store)).await
    };
    Ok(StorageChanged {
        now,
        warnings,
        old_copy,
    })
}

/// Undoes the copy just written to `storage` when the move stops before the profile file
/// names it. Best effort: the error that stopped the move is the one to report.
async fn take_back(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    store: &Option<Result<SecretStore, SecretError>>,
) {
    match (storage, store) {
        (SecretStorage::Keyring, Some(Ok(s))) => {
            let _ = s.delete(name).await;
        }
        (SecretStorage::PlaintextFile, _) => {
            let _ = plaintext::delete(profiles.dirs(), name);
        }
        _ => {}
    }
}

/// Deletes the copy of `name`'s secret that the storage `kept_in` holds, once the profile
/// keeps it elsewhere; a copy that cannot be deleted is reported, not an error (the profile
/// has moved on already).
pub async fn delete_copy(
    profiles: &ProfileStore,
    name: &ProfileName,
    kept_in: SecretStorage,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> SecretRemoval {
    let deleted = |done: Result<bool, SecretError>| match done {
        Ok(true) => SecretRemoval::Deleted(describe(profiles, name, kept_in)),
        Ok(false) => SecretRemoval::NoneStored,
        Err(e) => SecretRemoval::LeftBehind(e.brief()),
    };
    match kept_in {
        SecretStorage::Keyring => match keyring.await {
            Ok(store) => deleted(store.delete(name).await),
            Err(e) => SecretRemoval::LeftBehind(e.brief()),
        },
        SecretStorage::PlaintextFile => deleted(plaintext::delete(profiles.dirs(), name)),
        SecretStorage::Environment | SecretStorage::SystemdCredential => SecretRemoval::NoneStored,
    }
}

/// A storage of `name`'s secret in words: where it is, or how a run gets it.
fn describe(profiles: &ProfileStore, name: &ProfileName, storage: SecretStorage) -> String {
    match storage {
        SecretStorage::Keyring => "the OS keyring".to_string(),
        SecretStorage::PlaintextFile => format!(
            "the plaintext file {}",
            plaintext::path(profiles.dirs(), name).display()
        ),
        SecretStorage::Environment => format!("{} (set for each run)", super::SECRET_ENV),
        SecretStorage::SystemdCredential => format!(
            "the systemd credential {} (LoadCredential= in the unit)",
            super::SYSTEMD_CREDENTIAL
        ),
    }
}
