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
    /// The profile's scheduled timer, task or agent could not be removed: the profile
    /// stays whole, so that `schedule remove` and `profile remove` can be asked again.
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    /// The new place did not give back the secret just written to it.
    #[error(
        "{place} did not give back the secret just written to it; the profile keeps its secret where it was"
    )]
    NotReadBack {
        /// The new place.
        place: String,
    },
    /// The new place holds a copy of a secret that cannot be read: writing there would
    /// overwrite it, and a save that then failed could not put it back.
    #[error(
        "{place} holds a secret of profile \"{profile}\" that cannot be read ({why}); saving would overwrite it, and it could not be put back should the save fail, so nothing was changed: make it readable, or delete it, then save again"
    )]
    Unrestorable {
        /// The profile whose place it is.
        profile: ProfileName,
        /// The place.
        place: String,
        /// Why it cannot be read.
        why: String,
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
    /// The name still holds what a removed profile left: a new profile under it would
    /// inherit that profile's run history and incremental state.
    #[error(
        "the name \"{}\" still holds what a removed profile left, which a new profile would inherit ({})",
        .0.name,
        .0.describe()
    )]
    Leftovers(Leftover),
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

/// Stores `secret` as the secret of `profile` in the place its storage names, replacing
/// what is there, and saves the profile if it is new or changed: [`save`] in place, for
/// `profile set-secret`, a rotation and a new app's profile.
pub async fn set_secret(
    profiles: &ProfileStore,
    profile: &Profile,
    secret: &SecretString,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Saved, LifecycleError> {
    let name = &profile.name;
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(SecretError::CertificateProfile {
            profile: name.clone(),
        }
        .into());
    }
    if !profile.secret_storage.is_stored() {
        return Err(SecretError::NotStorable {
            profile: name.clone(),
            storage: profile.secret_storage,
        }
        .into());
    }
    let saved = match profiles.load(name) {
        Ok(p) => Some(p),
        Err(ProfileError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let change = Save {
        profile,
        edits: saved.as_ref(),
        displaces: None,
        given: Some(secret.clone()),
    };
    save(profiles, change, SecretInputs::default(), keyring).await
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

/// What happened to a copy of a profile's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRemoval {
    /// A secret was deleted from the named place.
    Deleted(String),
    /// The secret in the named place was overwritten by the one of the profile that took
    /// the name.
    Replaced(String),
    /// There was no stored secret.
    NoneStored,
    /// The copy in `storage` stays, unused: the profile signs in with a certificate now,
    /// and the secret's value cannot be shown again should the certificate not work.
    Kept {
        /// Where the copy is.
        storage: SecretStorage,
    },
    /// A copy in `storage` may remain: it could not be deleted (the keyring out of reach,
    /// the file refused), or it could not be read and so was never compared with the secret
    /// that replaces it; `why` says which.
    LeftBehind {
        /// Where the copy is.
        storage: SecretStorage,
        /// Why it may remain.
        why: String,
    },
}

impl SecretRemoval {
    /// What to tell the user about a copy that remains, naming it where it is (the keyring
    /// entry, or the file) and the command that deletes it; `None` when nothing remains.
    pub fn warning(&self, profiles: &ProfileStore, name: &ProfileName) -> Option<String> {
        let delete = format!("`entra-extract profile delete-secret {name}`");
        Some(match self {
            SecretRemoval::Kept { storage } => format!(
                "its secret stays in {}, unused now that it signs in with a certificate; once \
                 the certificate works, delete it with {delete}",
                entry(profiles, name, *storage)
            ),
            SecretRemoval::LeftBehind { storage, why } => format!(
                "a copy of the secret may remain in {} ({why}); delete it with {delete} once it \
                 is no longer needed",
                entry(profiles, name, *storage)
            ),
            _ => return None,
        })
    }
}

/// Where exactly a copy of `name`'s secret is: the plaintext file, or the keyring entry.
fn entry(profiles: &ProfileStore, name: &ProfileName, storage: SecretStorage) -> String {
    match storage {
        SecretStorage::PlaintextFile => format!(
            "the plaintext file {}",
            plaintext::path(profiles.dirs(), name).display()
        ),
        _ => format!(
            "the OS keyring under service \"{}\", user \"{}\"",
            super::KEYRING_SERVICE,
            super::keyring_user(name)
        ),
    }
}

/// What became of a removed profile's systemd timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerRemoval {
    /// It had none.
    NoTimer,
    /// It was disabled and its units deleted.
    Removed,
    /// It could not be removed; why.
    Failed(String),
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
    /// Its systemd timer's fate.
    pub timer: TimerRemoval,
    /// What could not be deleted of a profile another one replaced (that one is saved
    /// already, so the removal went on).
    pub failures: Vec<String>,
}

impl Removed {
    /// What was deleted besides the profile file, as `profile remove` and the wizard say it
    /// ("deleted its secret from …, deleted its run history, …").
    pub fn describe(&self) -> String {
        let secret = match &self.secret {
            SecretRemoval::Deleted(place) => format!("deleted its secret from {place}"),
            SecretRemoval::Replaced(place) => {
                format!("its secret in {place} replaced by the new profile's")
            }
            SecretRemoval::NoneStored => "no stored secret".to_string(),
            SecretRemoval::Kept { .. } => "its secret kept".to_string(),
            SecretRemoval::LeftBehind {
                storage: SecretStorage::PlaintextFile,
                ..
            } => "its plaintext secret file may remain".to_string(),
            SecretRemoval::LeftBehind { .. } => "its keyring entry may remain".to_string(),
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
        let timer = if self.timer == TimerRemoval::Removed {
            match crate::schedule::Backend::native() {
                crate::schedule::Backend::Systemd | crate::schedule::Backend::Cron => {
                    ", disabled and deleted its systemd timer"
                }
                crate::schedule::Backend::TaskScheduler => ", deleted its scheduled task",
                crate::schedule::Backend::Launchd => ", unloaded and deleted its launchd agent",
            }
        } else {
            ""
        };
        format!("{secret}{history}{state}{timer}")
    }

    /// What the user must know of what was not deleted: a copy of the secret that may
    /// remain, a timer still installed, what a replaced profile left.
    pub fn warnings(&self, profiles: &ProfileStore, name: &ProfileName) -> Vec<String> {
        let timer = match &self.timer {
            TimerRemoval::Failed(e) => Some(format!(
                "its {} could not be removed ({e}); delete it yourself",
                crate::schedule::Backend::native().installed_name(name)
            )),
            _ => None,
        };
        self.secret
            .warning(profiles, name)
            .into_iter()
            .chain(timer)
            .chain(self.failures.iter().map(|f| format!("not deleted: {f}")))
            .collect()
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
        if self.timer == TimerRemoval::Removed {
            deleted.push(format!(
                "its {}",
                crate::schedule::Backend::native().installed_name(name)
            ));
        }
        format!(
            "There is no profile {name}; deleted what was left of it: {}.",
            deleted.join(", ")
        )
    }
}

/// A saved profile about to go, checked by [`Removal::check`] (nothing changed yet) and
/// deleted by [`Removal::finish`]: the one removal of a profile, for `profile remove`, the
/// wizard's delete and a profile the wizard's save replaces.
#[derive(Debug)]
pub struct Removal {
    name: ProfileName,
    /// The profile file is there; when not, only what is left of it goes.
    found: bool,
    /// Where it keeps its secret, when it says (a damaged file does not).
    storage: Option<SecretStorage>,
    /// Its secret is in the keyring: the store, or (with `force`) why it cannot be reached.
    keyring: Option<Result<SecretStore, String>>,
    /// Its systemd timer goes too (see [`Removal::sparing_timers`]).
    timer: bool,
}

impl Removal {
    /// Checks that `name` can be removed, changing nothing: there is something of it, and
    /// the keyring holding its secret can be reached — unless `force`, so that no secret is
    /// orphaned silently. A damaged profile file can still be removed (its storage is then
    /// unknown, so both places are cleaned). A profile that is gone already may have left
    /// its state, history or secret file (an earlier version's `remove` kept the state): only
    /// when there is nothing at all is it an error.
    pub async fn check(
        profiles: &ProfileStore,
        name: &ProfileName,
        force: bool,
        keyring: impl Future<Output = Result<SecretStore, SecretError>>,
    ) -> Result<Removal, LifecycleError> {
        let (found, storage) = match profiles.load(name) {
            Ok(p) => (
                true,
                (p.credential == CredentialKind::Secret).then_some(p.secret_storage),
            ),
            Err(e @ ProfileError::NotFound { .. }) => match Leftover::of(profiles, name) {
                Some(_) => (false, None),
                None => return Err(e.into()),
            },
            Err(_) => (true, None),
        };
        // A damaged file does not say where its secret is: both places are cleaned.
        let uses_keyring = match storage {
            Some(storage) => storage == SecretStorage::Keyring,
            None => found,
        };
        let keyring = match uses_keyring {
            false => None,
            true => match keyring.await {
                Ok(store) => Some(Ok(store)),
                Err(SecretError::KeyringDisabled { .. }) => None,
                Err(e) if force && e.is_keyring_unreachable() => Some(Err(e.brief())),
                Err(e) => return Err(e.into()),
            },
        };
        Ok(Removal {
            name: name.clone(),
            found,
            storage,
            keyring,
            timer: true,
        })
    }

    /// The same removal, leaving systemd timers alone: for profiles that cannot have one
    /// (the demo's, in a directory of their own), as timers are the user's and found by
    /// profile name only.
    pub fn sparing_timers(mut self) -> Self {
        self.timer = false;
        self
    }

    /// Deletes the profile: its secret (keyring entry, plaintext file), its incremental
    /// state, its file, its history and its systemd timer.
    ///
    /// Removing (`successor` is `None`), the timer goes first (one that cannot be removed
    /// may still run: the profile stays whole, listed with its schedule), then the keyring
    /// entry, and the state before the file; the first failure stops: what is left is a
    /// profile `remove` can be asked again to finish. Replacing, `successor` has just been saved under the name: its
    /// file and the place of its secret are its own and stay, and as it is saved already,
    /// every step is tried and what failed is reported ([`Removed::failures`]).
    pub async fn finish(
        self,
        profiles: &ProfileStore,
        successor: Option<&Profile>,
    ) -> Result<Removed, LifecycleError> {
        let name = &self.name;
        let replacing = successor.is_some();
        // Its timer would only fail from now on, or run the profile that took the name.
        let remove_timer = || crate::schedule::remove(profiles.dirs(), name);
        // Removing, a timer that stays stops the removal before anything is deleted.
        let timer_removed = match self.timer && !replacing {
            true => Some(remove_timer()?),
            false => None,
        };
        let keeps = |storage| {
            successor.is_some_and(|p| {
                p.credential == CredentialKind::Secret && p.secret_storage == storage
            })
        };
        // Overwritten already when the new profile keeps its secret where this one did.
        let mut secret = match self.storage.filter(|s| keeps(*s)) {
            Some(storage) => SecretRemoval::Replaced(describe(profiles, name, storage)),
            None => SecretRemoval::NoneStored,
        };
        if !keeps(SecretStorage::Keyring) {
            match self.keyring {
                Some(Ok(store)) => match store.delete(name).await {
                    Ok(true) => {
                        secret =
                            SecretRemoval::Deleted(format!("the OS keyring ({})", store.label()))
                    }
                    Ok(false) => {}
                    Err(e) if replacing => {
                        secret = SecretRemoval::LeftBehind {
                            storage: SecretStorage::Keyring,
                            why: e.brief(),
                        }
                    }
                    Err(e) => return Err(e.into()),
                },
                Some(Err(why)) => {
                    secret = SecretRemoval::LeftBehind {
                        storage: SecretStorage::Keyring,
                        why,
                    }
                }
                None => {}
            }
        }
        if !keeps(SecretStorage::PlaintextFile) {
            match delete_secret_file(profiles, name) {
                Ok(deleted) => secret = deleted.unwrap_or(secret),
                Err(e) if replacing => {
                    secret = SecretRemoval::LeftBehind {
                        storage: SecretStorage::PlaintextFile,
                        why: e.to_string(),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut failures = Vec::new();
        let mut tried = |done: Result<bool, LifecycleError>| match done {
            Err(e) if replacing => {
                failures.push(e.to_string());
                Ok(false)
            }
            done => done,
        };
        let state = tried(state::remove(profiles.dirs(), name).map_err(Into::into))?;
        if !replacing {
            profiles.remove_file(name)?;
        }
        let history = tried(
            History::new(profiles.dirs())
                .remove(name)
                .map_err(Into::into),
        )?;
        // Replacing, the new profile is saved already: a timer that stays is a warning.
        let timer = match timer_removed {
            Some(removed) => Ok(removed),
            None if self.timer => remove_timer(),
            None => Ok(false),
        };
        let timer = match timer {
            Ok(true) => TimerRemoval::Removed,
            Ok(false) => TimerRemoval::NoTimer,
            Err(e) => TimerRemoval::Failed(e.to_string()),
        };
        Ok(Removed {
            profile: self.found,
            secret,
            history,
            state,
            timer,
            failures,
        })
    }
}

/// Removes a profile with everything it has ([`Removal::check`], then
/// [`Removal::finish`]): `profile remove` and the wizard's delete.
pub async fn remove(
    profiles: &ProfileStore,
    name: &ProfileName,
    force: bool,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Removed, LifecycleError> {
    Removal::check(profiles, name, force, keyring)
        .await?
        .finish(profiles, None)
        .await
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
    /// What lies under `name` besides a profile file, if anything.
    fn of(profiles: &ProfileStore, name: &ProfileName) -> Option<Leftover> {
        let dirs = profiles.dirs();
        let left = Leftover {
            name: name.clone(),
            state: Some(dirs.state(name)).filter(|p| p.is_dir()),
            history: Some(History::new(dirs).path(name)).filter(|p| p.is_file()),
            secret_file: Some(plaintext::path(dirs, name)).filter(|p| p.is_file()),
        };
        (left.state.is_some() || left.history.is_some() || left.secret_file.is_some())
            .then_some(left)
    }

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

/// Refuses a name for a new profile while a removed profile's
/// leftovers lie under it: its run history would show as the new profile's, and its state
/// would be a stranger's baseline.
pub fn refuse_leftovers(profiles: &ProfileStore, name: &ProfileName) -> Result<(), LifecycleError> {
    match profiles.exists(name) {
        true => Ok(()),
        false => Leftover::of(profiles, name).map_or(Ok(()), |l| Err(LifecycleError::Leftovers(l))),
    }
}

/// Every leftover of a removed profile, sorted by name (see [`Leftover`]).
pub fn leftovers(profiles: &ProfileStore) -> Result<Vec<Leftover>, LifecycleError> {
    let dirs = profiles.dirs();
    let mut names = state::names(dirs)?;
    names.extend(History::new(dirs).names()?);
    names.extend(plaintext::names(dirs)?);
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter(|name| !profiles.exists(name))
        .filter_map(|name| Leftover::of(profiles, &name))
        .collect())
}

/// Renames the saved profile `old` to `new`: [`save`] under the new name, so its secret
/// moves first (a copy that cannot be read stays where it is, reported), then the profile
/// file is written, then its history and incremental state move and the old name goes.
pub async fn rename(
    profiles: &ProfileStore,
    old: &ProfileName,
    new: &ProfileName,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Saved, LifecycleError> {
    let saved = profiles.load(old)?;
    if profiles.exists(new) {
        return Err(ProfileError::AlreadyExists { name: new.clone() }.into());
    }
    let mut renamed = saved.clone();
    renamed.name = new.clone();
    let change = Save {
        profile: &renamed,
        edits: Some(&saved),
        displaces: None,
        given: None,
    };
    save(profiles, change, SecretInputs::default(), keyring).await
}

/// What [`save`] did.
#[derive(Debug)]
pub struct Saved {
    /// Where the secret is now, or how each run must supply it; `None` for a profile that
    /// signs in with a certificate.
    pub now: Option<String>,
    /// Warnings about the secret to show (plaintext storage, a GUID-looking value).
    pub warnings: Vec<String>,
    /// What became of the copy in the old place.
    pub old_copy: SecretRemoval,
    /// What went with the profile this one replaced, if it replaced one.
    pub displaced: Option<Removed>,
    /// What could not be finished once the profile was saved (the old name of a rename
    /// that stays, a replaced profile's leftovers), to report.
    pub unfinished: Vec<String>,
}

/// A profile to save in place of what it edits and what it displaces: see [`save`].
#[derive(Debug)]
pub struct Save<'a> {
    /// The profile as it will be saved; its secret goes to the storage it names.
    pub profile: &'a Profile,
    /// The saved profile it edits — the same name, or the old name of a rename — whose
    /// secret it takes over.
    pub edits: Option<&'a Profile>,
    /// Another saved profile that has `profile`'s name already and goes (the user agreed),
    /// checked before anything was changed.
    pub displaces: Option<Removal>,
    /// The secret given in this session (typed, pasted, `--stdin`): it is stored, and it
    /// proves the user holds its value, which deleting the only copy the program keeps
    /// needs (Entra shows a secret's value only once). `None`: the secret kept now moves.
    pub given: Option<SecretString>,
}

/// Saves `save.profile` in place of the profile it edits, its secret going to the storage
/// the profile names: the one way a profile and its secret are saved — `profile
/// set-secret` (with or without `--storage`), `profile rename`, a rotation, a new app's
/// profile, the wizard's `s` and the wizard's save.
///
/// Every refusal comes first, before anything is changed. Then the secret is written to
/// its new place and read back; then the profile file is written (not when it is saved as
/// it is); only then goes what the profile replaces: the profile it displaces
/// ([`Removal::finish`]), the old name of a rename (its file; its history and state move),
/// and the copy in the old place.
///
/// Into a place that keeps it (keyring, plaintext file) goes `given`; saved in place,
/// nothing else (the copy there stays as it is); renamed, the copy kept now (none, or one
/// that cannot be read, stays where it is); moved, the copy kept now, else the one the
/// environment supplies (as a run would take it). To a place outside the program
/// (environment, systemd credential), the copy kept now goes only when `given` or the
/// environment (`inputs`) brings the same secret: the value cannot be shown again; a
/// profile that signs in with a certificate keeps it, unused. A copy that cannot be read
/// was never compared, so it is kept and reported, never deleted, and never overwritten
/// where a failed save could not put it back. A failure before the profile file is
/// written puts back what the new place held.
pub async fn save(
    profiles: &ProfileStore,
    save: Save<'_>,
    inputs: SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Saved, LifecycleError> {
    let Save {
        profile,
        edits,
        displaces,
        given,
    } = save;
    let name = &profile.name;
    let to = profile.secret_storage;
    let writes = profile.credential == CredentialKind::Secret && to.is_stored();
    // Where the secret is kept now: the edited profile's place, when the program keeps it.
    let from = edits
        .filter(|p| p.credential == CredentialKind::Secret && p.secret_storage.is_stored())
        .map(|p| (p.name.clone(), p.secret_storage));
    let in_place = writes && from.as_ref() == Some(&(name.clone(), to));
    // Saved as it is (a new secret only): its file needs no writing.
    let unchanged = edits == Some(profile);
    // Awaited at most once: only the keyring's side of the move needs it.
    let opens_keyring = (writes && to == SecretStorage::Keyring)
        || from
            .as_ref()
            .is_some_and(|(_, s)| *s == SecretStorage::Keyring);
    let store = match opens_keyring {
        true => Some(keyring.await.map_err(|e| e.for_profile(name))),
        false => None,
    };
    let stored = match &from {
        Some((old, storage)) => read_copy(profiles, old, *storage, store.as_ref()).await,
        None => Ok(None),
    };

    // The refusals: nothing is changed before they pass.
    // (A renamed profile brings its own history and state, which replace what is left.)
    if displaces.is_none() && edits.is_none() {
        refuse_leftovers(profiles, name)?;
    }
    let value = secret_to_store(profiles, profile, from.as_ref(), &stored, given, inputs)?;
    let mut warnings = Vec::new();
    if let Some(value) = &value {
        warnings.extend(check_new_secret(value)?);
    }
    let store = match store {
        Some(Err(e)) if value.is_some() && to == SecretStorage::Keyring => return Err(e.into()),
        store => store,
    };
    // What the new place holds, to put back should the save stop before the profile file
    // names the new copy. One that cannot be read could not be put back: it is not
    // overwritten, unless it is the very copy being replaced and no profile file is written.
    let before = match &value {
        Some(_) if in_place => Some(stored.clone()),
        Some(_) => Some(read_copy(profiles, name, to, store.as_ref()).await),
        None => None,
    };
    if let Some(Err(why)) = &before
        && !(in_place && unchanged)
    {
        return Err(LifecycleError::Unrestorable {
            profile: name.clone(),
            place: describe(profiles, name, to),
            why: why.clone(),
        });
    }

    // The new copy, then the profile file; should that fail, the place gets back what it
    // held.
    let opened = store.as_ref().and_then(|s| s.as_ref().ok());
    if let (Some(value), Some(before)) = (&value, &before) {
        warnings.extend(place_copy(profiles, name, to, value, before, &store).await?);
    }
    if !unchanged && let Err(e) = profiles.save(profile) {
        if let Some(before) = before {
            put_back(profiles, name, to, before, opened).await;
        }
        return Err(e.into());
    }

    // Saved: what it replaces goes; what cannot go is reported, not undone.
    let (displaced, unfinished, old_name_stays) =
        retire_replaced(profiles, profile, edits, displaces).await;
    let now =
        (profile.credential == CredentialKind::Secret).then(|| place(profiles, name, to, opened));
    let old_copy = match from {
        Some((old, storage)) if !in_place && !old_name_stays => {
            let moved = value.is_some() || !writes;
            retire_old_copy(profiles, profile, (&old, storage), stored, moved, &store).await
        }
        _ => SecretRemoval::NoneStored,
    };
    Ok(Saved {
        now,
        warnings,
        old_copy,
        displaced,
        unfinished,
    })
}

/// Once the profile is saved, the copy of the secret kept before in the old place (`from`,
/// which the save leaves): deleted once read and compared (`stored`), else kept and reported.
/// `moved`: the save wrote a copy to the new place, or wrote none because the new place is
/// outside the program.
async fn retire_old_copy(
    profiles: &ProfileStore,
    profile: &Profile,
    (old, storage): (&ProfileName, SecretStorage),
    stored: Result<Option<SecretString>, String>,
    moved: bool,
    store: &Option<Result<SecretStore, SecretError>>,
) -> SecretRemoval {
    match stored {
        Err(why) if profile.credential != CredentialKind::Secret => SecretRemoval::LeftBehind {
            storage,
            why: format!(
                "unused now that the profile signs in with a certificate; it could \
                 not be read ({why})"
            ),
        },
        Err(why) if !moved => SecretRemoval::LeftBehind {
            storage,
            why: format!("not moved: it could not be read ({why})"),
        },
        Err(why) => SecretRemoval::LeftBehind {
            storage,
            why: format!(
                "not deleted: it could not be read, so it was never compared with the \
             secret the profile has now ({why})"
            ),
        },
        Ok(kept) if profile.credential != CredentialKind::Secret => kept
            .map_or(SecretRemoval::NoneStored, |_| SecretRemoval::Kept {
                storage,
            }),
        Ok(_) => delete_copy(profiles, old, storage, store.as_ref()).await,
    }
}

/// The secret [`save`] writes for `profile` (`None`: it writes none), once the refusals
/// have passed: a secret moved to a place that keeps it must be there (`given`, the copy
/// `stored` at `from`, or the environment's), and the copy the program keeps goes to a
/// place outside it only with proof that the user holds the same value.
fn secret_to_store(
    profiles: &ProfileStore,
    profile: &Profile,
    from: Option<&(ProfileName, SecretStorage)>,
    stored: &Result<Option<SecretString>, String>,
    given: Option<SecretString>,
    inputs: SecretInputs,
) -> Result<Option<SecretString>, LifecycleError> {
    use secrecy::ExposeSecret;
    let name = &profile.name;
    let to = profile.secret_storage;
    // Asked only when needed: a credential file that cannot be read matters to no other save.
    let supplied = |inputs: SecretInputs| -> Result<Option<SecretString>, LifecycleError> {
        Ok(inputs
            .supplied(Some(name))
            .map_err(|e| e.for_profile(name))?
            .map(|r| r.secret))
    };
    if profile.credential != CredentialKind::Secret {
        return Ok(None);
    }
    if to.is_stored() {
        if given.is_some() {
            return Ok(given);
        }
        return match from {
            // In place: the copy there stays as it is.
            Some((old, storage)) if *storage == to && old == name => Ok(None),
            // Renamed: the copy moves, if there is one that can be read.
            Some((_, storage)) if *storage == to => Ok(stored.clone().ok().flatten()),
            _ => match stored {
                Ok(Some(v)) => Ok(Some(v.clone())),
                _ => supplied(inputs)?.map(Some).ok_or_else(|| LifecycleError::NothingToMove {
                    profile: name.clone(),
                    why: match (stored, from) {
                        (Err(why), _) => why.clone(),
                        (Ok(_), Some((old, storage))) => {
                            format!("{} holds none", describe(profiles, old, *storage))
                        }
                        (Ok(_), None) => format!(
                            "it is not stored, and neither {} nor a systemd credential supplies it here",
                            super::SECRET_ENV
                        ),
                    },
                }),
            },
        };
    }
    if let (Ok(Some(kept)), Some((old, storage))) = (stored, from) {
        let proof = match given {
            Some(given) => Some(given),
            None => supplied(inputs)?,
        };
        if proof.as_ref().map(|p| p.expose_secret()) != Some(kept.expose_secret()) {
            return Err(LifecycleError::ProofNeeded {
                profile: name.clone(),
                kept_in: describe(profiles, old, *storage),
                differs: proof.is_some(),
            });
        }
    }
    Ok(None)
}

/// Writes `value` as `name`'s secret into `storage` and reads it back; answers the warning
/// a plaintext file needs. A copy that does not read back is taken back at once: the place
/// gets what it held `before` (a copy that could not be read stays as written).
async fn place_copy(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    value: &SecretString,
    before: &Result<Option<SecretString>, String>,
    store: &Option<Result<SecretStore, SecretError>>,
) -> Result<Option<String>, LifecycleError> {
    use secrecy::ExposeSecret;
    let opened = store.as_ref().and_then(|s| s.as_ref().ok());
    let warning = write_copy(profiles, name, storage, value, opened)
        .await
        .map_err(|e| e.for_profile(name))?;
    let back = read_copy(profiles, name, storage, store.as_ref()).await;
    if back.ok().flatten().as_ref().map(|b| b.expose_secret()) != Some(value.expose_secret()) {
        put_back(profiles, name, storage, before.clone(), opened).await;
        return Err(LifecycleError::NotReadBack {
            place: describe(profiles, name, storage),
        });
    }
    Ok(warning)
}

/// Once `profile` is saved: the profile it `displaces` goes ([`Removal::finish`]), and the
/// old name of a rename (`edits` under another name) goes, its history and state moving to
/// the new one. Answers what went with the displaced profile, what could not be done, and
/// whether the old name stays (its secret must then stay too).
async fn retire_replaced(
    profiles: &ProfileStore,
    profile: &Profile,
    edits: Option<&Profile>,
    displaces: Option<Removal>,
) -> (Option<Removed>, Vec<String>, bool) {
    let name = &profile.name;
    let mut unfinished = Vec::new();
    let displaced = match displaces {
        Some(removal) => match removal.finish(profiles, Some(profile)).await {
            Ok(removed) => Some(removed),
            Err(e) => {
                unfinished.push(format!("what the replaced profile {name} left: {e}"));
                None
            }
        },
        None => None,
    };
    let mut old_name_stays = false;
    if let Some(old) = edits.filter(|p| p.name != *name) {
        let moved = move_records(profiles, &old.name, name)
            .and_then(|()| Ok(profiles.remove_file(&old.name)?));
        if let Err(e) = moved {
            old_name_stays = true;
            unfinished.push(format!(
                "profile {} is saved as {name}, but the old profile stays: {e}",
                old.name
            ));
        }
    }
    (displaced, unfinished, old_name_stays)
}

/// Changes where the saved profile `name` keeps its secret, leaving no copy behind: the
/// profile saved over itself with another storage ([`save`]); `given` is the secret given
/// with the command.
pub async fn change_storage(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    given: Option<SecretString>,
    inputs: SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Saved, LifecycleError> {
    let saved = profiles.load(name)?;
    if let CredentialKind::Certificate { .. } = saved.credential {
        return Err(SecretError::CertificateProfile {
            profile: name.clone(),
        }
        .into());
    }
    if saved.secret_storage == storage && given.is_none() {
        return Err(LifecycleError::Unchanged {
            profile: name.clone(),
            storage,
        });
    }
    let mut profile = saved.clone();
    profile.secret_storage = storage;
    let change = Save {
        profile: &profile,
        edits: Some(&saved),
        displaces: None,
        given,
    };
    save(profiles, change, inputs, keyring).await
}

/// The secret the saved `profile` keeps itself — its keyring entry or plaintext file, or,
/// for a profile that keeps none, what the environment supplies (`inputs`) — and never a
/// source that only wins at run time: what editing the profile starts from. `Ok(None)`:
/// there is none; `Err`: why it cannot be read.
pub async fn own_secret(
    profiles: &ProfileStore,
    profile: &Profile,
    inputs: SecretInputs,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Option<SecretString>, String> {
    let name = &profile.name;
    match profile.secret_storage {
        SecretStorage::Keyring => {
            let store = Some(keyring.await);
            read_copy(profiles, name, SecretStorage::Keyring, store.as_ref()).await
        }
        SecretStorage::PlaintextFile => {
            read_copy(profiles, name, SecretStorage::PlaintextFile, None).await
        }
        SecretStorage::Environment | SecretStorage::SystemdCredential => inputs
            .supplied(Some(name))
            .map(|s| s.map(|r| r.secret))
            .map_err(|e| e.to_string()),
    }
}

/// The copy of `name`'s secret that `storage` holds: none, or why it cannot be read. The
/// keyring is `store`, opened by the caller; a disabled one cannot be read (a copy may be
/// in it all the same).
async fn read_copy(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    store: Option<&Result<SecretStore, SecretError>>,
) -> Result<Option<SecretString>, String> {
    let found = |read: Result<SecretString, SecretError>| match read {
        Ok(v) => Ok(Some(v)),
        Err(SecretError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.brief()),
    };
    match storage {
        SecretStorage::Keyring => match store {
            Some(Ok(s)) => found(s.load(name).await),
            Some(Err(e)) => Err(e.brief()),
            None => Err("the OS keyring was not opened".to_string()),
        },
        SecretStorage::PlaintextFile => {
            found(plaintext::load(profiles.dirs(), name).map(|(v, _)| v))
        }
        SecretStorage::Environment | SecretStorage::SystemdCredential => Ok(None),
    }
}

/// Writes `value` as `name`'s secret into `storage`, a place that keeps it: the keyring
/// (`store`) or the owner-only plaintext file; answers the warning the file needs.
async fn write_copy(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    value: &SecretString,
    store: Option<&SecretStore>,
) -> Result<Option<String>, SecretError> {
    match (storage, store) {
        (SecretStorage::Keyring, Some(store)) => {
            store.save(name, value).await?;
            Ok(None)
        }
        (SecretStorage::PlaintextFile, _) => {
            Ok(Some(plaintext::save(profiles.dirs(), name, value)?))
        }
        (SecretStorage::Keyring, None) => Err(SecretError::KeyringFailure {
            detail: "the OS keyring was not opened".into(),
        }),
        (storage, _) => Err(SecretError::NotStorable {
            profile: name.clone(),
            storage,
        }),
    }
}

/// Puts back what `storage` held for `name` (`before`: nothing, the secret, or — `Err` —
/// a copy that could not be read, so nothing can be done) when a save stops before the
/// profile file names the new copy. Best effort: the error that stopped the save is the
/// one to report.
async fn put_back(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    before: Result<Option<SecretString>, String>,
    store: Option<&SecretStore>,
) {
    match (before, storage, store) {
        (Ok(Some(before)), _, _) => {
            let _ = write_copy(profiles, name, storage, &before, store).await;
        }
        (Ok(None), SecretStorage::Keyring, Some(s)) => {
            let _ = s.delete(name).await;
        }
        (Ok(None), SecretStorage::PlaintextFile, _) => {
            let _ = plaintext::delete(profiles.dirs(), name);
        }
        _ => {}
    }
}

/// Deletes the copy of `name`'s secret that the storage `kept_in` holds, once no profile
/// keeps it there (the keyring is `store`, opened by the caller); a copy that cannot be
/// deleted, or that a disabled keyring cannot even see, is reported, not an error.
async fn delete_copy(
    profiles: &ProfileStore,
    name: &ProfileName,
    kept_in: SecretStorage,
    store: Option<&Result<SecretStore, SecretError>>,
) -> SecretRemoval {
    let deleted = |done: Result<bool, String>| match done {
        Ok(true) => SecretRemoval::Deleted(describe(profiles, name, kept_in)),
        Ok(false) => SecretRemoval::NoneStored,
        Err(why) => SecretRemoval::LeftBehind {
            storage: kept_in,
            why,
        },
    };
    match kept_in {
        SecretStorage::Keyring => match store {
            Some(Ok(store)) => deleted(store.delete(name).await.map_err(|e| e.brief())),
            Some(Err(e)) => deleted(Err(e.brief())),
            None => deleted(Err("the OS keyring was not opened".to_string())),
        },
        SecretStorage::PlaintextFile => {
            deleted(plaintext::delete(profiles.dirs(), name).map_err(|e| e.brief()))
        }
        SecretStorage::Environment | SecretStorage::SystemdCredential => SecretRemoval::NoneStored,
    }
}

/// What [`delete_unused`] did.
#[derive(Debug)]
pub struct Unused {
    /// The place of the secret the profile signs in with, which stays.
    pub in_use: Option<String>,
    /// What became of the copy in each place it looked.
    pub copies: Vec<SecretRemoval>,
    /// Why the keyring could not be reached, when it could not (a copy may be in it).
    pub keyring_unreached: Option<String>,
}

/// Deletes the copies of `name`'s secret that no profile uses — in the keyring and in the
/// plaintext file, but for the one place the saved profile `name` keeps the secret it
/// signs in with (a profile that signs in with a certificate, or takes its secret from the
/// environment, uses none; a name that is no profile any more uses none either). A keyring
/// that cannot be reached is said, and the file goes all the same.
pub async fn delete_unused(
    profiles: &ProfileStore,
    name: &ProfileName,
    keyring: impl Future<Output = Result<SecretStore, SecretError>>,
) -> Result<Unused, LifecycleError> {
    let in_use = match profiles.load(name) {
        Ok(p) => (p.credential == CredentialKind::Secret && p.secret_storage.is_stored())
            .then_some(p.secret_storage),
        Err(ProfileError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut copies = Vec::new();
    let mut keyring_unreached = None;
    if in_use != Some(SecretStorage::Keyring) {
        match keyring.await {
            Ok(store) => {
                let store = Some(Ok(store));
                copies.push(
                    delete_copy(profiles, name, SecretStorage::Keyring, store.as_ref()).await,
                );
            }
            Err(e) => keyring_unreached = Some(e.brief()),
        }
    }
    if in_use != Some(SecretStorage::PlaintextFile) {
        copies.push(delete_copy(profiles, name, SecretStorage::PlaintextFile, None).await);
    }
    Ok(Unused {
        in_use: in_use.map(|s| describe(profiles, name, s)),
        copies,
        keyring_unreached,
    })
}

/// Moves the run history and incremental state of `old` to `new` (replacing any of
/// `new`'s), so the renamed profile's next run still reads only the changes.
fn move_records(
    profiles: &ProfileStore,
    old: &ProfileName,
    new: &ProfileName,
) -> Result<(), LifecycleError> {
    History::new(profiles.dirs()).rename(old, new)?;
    state::rename(profiles.dirs(), old, new)?;
    Ok(())
}

/// Where `name`'s secret is in `storage`, naming the keyring's store when it is open.
fn place(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    store: Option<&SecretStore>,
) -> String {
    match (storage, store) {
        (SecretStorage::Keyring, Some(s)) => format!("the OS keyring ({})", s.label()),
        _ => describe(profiles, name, storage),
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
