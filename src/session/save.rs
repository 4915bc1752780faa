//! The wizard's save, one use case in named steps: the draft parsed into a profile, the
//! rename and the name it takes checked, the secret and the profile file saved, then its
//! schedule installed or removed. Each step is the one a headless command takes alone: the
//! rename check of `profile rename` ([`crate::schedule::rename_blocker`]), the secret and
//! file of `profile set-secret` and `profile rename` ([`lifecycle::save`]), and the timer of
//! `schedule add` and `schedule remove` ([`super::schedule`]).

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::graph::{ClientId, TenantRef};
use crate::profile::{CredentialKind, Profile, ProfileError, ProfileName, ProfileStore};
use crate::schedule::{self, Backend, Schedule};
use crate::secret::lifecycle::{self, LifecycleError};
use crate::secret::{SecretInputs, SecretStore, StoreChoice};
use crate::tui::services::{
    CredentialInput, IfNameTaken, ProfileDraft, SaveOutcome, SaveProblem, SaveProblemKind,
    SecretStorage,
};

/// Where the wizard's saves and deletions go.
pub struct Saving {
    /// The saved profiles.
    pub store: ProfileStore,
    /// Where secrets stored in the OS keyring go.
    pub keyring: StoreChoice,
    /// Whether saving installs the profile's schedule (not for the demo's temporary
    /// profiles: a timer would outlive them, and one of the same name is a real profile's).
    pub schedules: bool,
}

impl Saving {
    /// Saves the draft: every refusal first, nothing changed until they pass; then the
    /// secret, the profile file, and only then what it replaces ([`lifecycle::save`]); then
    /// its schedule, whose failure is reported, not fatal.
    pub async fn save(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> Result<SaveOutcome, SaveProblem> {
        let store = &self.store;
        let (mut profile, secret) = profile_of(&draft, storage)?;
        let name = profile.name.clone();
        let edits = edited(store, &draft)?;
        // The demo's profiles have no timer; one of the same name is a real profile's.
        if let Some(old) = edits.as_ref().filter(|p| p.name != name && self.schedules)
            && let Some(why) = schedule::rename_blocker(store, &old.name, &name)
        {
            return Err(SaveProblem::failed(why));
        }
        let displaces = self.displaced(&draft, edits.as_ref(), &name).await?;
        // The secret the form filled in is the one kept now: it moves, and proves nothing.
        let given = secret.filter(|_| draft.secret_given || edits.is_none());
        if let Some(edited) = &edits {
            keep_from_edited(&mut profile, edited, given.is_some());
        }
        let saved = lifecycle::save(
            store,
            lifecycle::Save {
                profile: &profile,
                edits: edits.as_ref(),
                displaces,
                given,
            },
            SecretInputs::from_env(),
            SecretStore::open(self.keyring),
        )
        .await
        .map_err(|e| save_problem(e, &name))?;
        // Kept elsewhere before this edit (or under the old name): that copy went now.
        let old_name = edits.as_ref().map_or(&name, |p| &p.name);
        let secret_stored_in = stored_in(store, &saved, storage, &name, old_name);
        let had_schedule = edits.and_then(|p| p.schedule);
        let schedule = self.schedule(&mut profile, &draft, had_schedule);
        Ok(SaveOutcome {
            secret_stored_in,
            schedule,
        })
    }

    /// The removal of the saved profile `name`, checked (nothing changed yet); the demo's
    /// leaves timers alone: they belong to the user's real profiles of the same names.
    pub async fn removal(&self, name: &ProfileName) -> Result<lifecycle::Removal, LifecycleError> {
        let removal =
            lifecycle::Removal::check(&self.store, name, false, SecretStore::open(self.keyring))
                .await?;
        Ok(match self.schedules {
            true => removal,
            false => removal.sparing_timers(),
        })
    }

    /// Saving under a name another saved profile has would silently replace that profile:
    /// refuse ([`SaveProblemKind::NameTaken`]) unless the user agreed; then check that it can
    /// go. Nothing is changed here: it goes once the draft is saved.
    async fn displaced(
        &self,
        draft: &ProfileDraft,
        edits: Option<&Profile>,
        name: &ProfileName,
    ) -> Result<Option<lifecycle::Removal>, SaveProblem> {
        let store = &self.store;
        if edits.is_some_and(|p| p.name == *name) || !store.exists(name) {
            return Ok(None);
        }
        match draft.if_name_taken {
            IfNameTaken::Refuse => {
                let what = match store.load(name) {
                    Ok(p) => format!(" (tenant {}, client id {})", p.tenant, p.client_id),
                    Err(_) => String::new(),
                };
                Err(SaveProblem {
                    kind: SaveProblemKind::NameTaken,
                    message: format!("A saved profile is named {name} already{what}."),
                    alternatives: Vec::new(),
                })
            }
            IfNameTaken::Replace => self.removal(name).await.map(Some).map_err(|e| {
                SaveProblem::failed(format!(
                    "The profile {name} cannot be replaced: {e}. Nothing was changed."
                ))
            }),
        }
    }

    /// The saved profile's schedule as the draft wants it, and what became of it.
    fn schedule(
        &self,
        profile: &mut Profile,
        draft: &ProfileDraft,
        had_schedule: Option<Schedule>,
    ) -> Option<String> {
        match draft.schedule {
            // The demo touches no timer: those of its names are the user's real profiles'.
            Some(_) if !self.schedules => Some(
                "The demo installs no schedule: its profiles are deleted when it ends (`entra-extract schedule add` schedules a real profile)."
                    .to_string(),
            ),
            None if !self.schedules => None,
            wanted => apply_schedule(
                &self.store,
                profile,
                wanted,
                had_schedule,
                draft.credential_file.clone(),
            ),
        }
    }
}

/// The profile the draft describes, and the secret typed in it (none for a certificate).
fn profile_of(
    draft: &ProfileDraft,
    storage: SecretStorage,
) -> Result<(Profile, Option<SecretString>), SaveProblem> {
    let fail = |e: &dyn std::fmt::Display| SaveProblem::failed(e.to_string());
    let name = ProfileName::new(&draft.name).map_err(|e| fail(&e))?;
    let c = &draft.credentials;
    let tenant = TenantRef::parse(&c.tenant).map_err(|e| fail(&e))?;
    let client_id = ClientId::parse(&c.client_id).map_err(|e| fail(&e))?;
    let mut profile = Profile::new(name, tenant, client_id);
    profile.cloud = c.cloud;
    profile.authority_url = c.authority_url.clone();
    profile.graph_url = c.graph_url.clone();
    profile.output_dir = absolute(&draft.output.directory);
    let prefix = draft.output.domain_prefix.trim();
    profile.domain_prefix = (!prefix.is_empty()).then(|| prefix.to_string());
    profile.bom = draft.output.bom;
    // What the user chose, recorded as such: a later run knows where to look.
    profile.secret_storage = storage;
    let secret = match &c.credential {
        CredentialInput::Certificate { path } => {
            profile.credential = CredentialKind::Certificate {
                path: absolute(path),
            };
            None
        }
        CredentialInput::Secret(s) => Some(s.clone()),
    };
    profile.validate().map_err(|e| fail(&e))?;
    Ok((profile, secret))
}

/// The profile being edited, if it is still there (deleted meanwhile, the draft is a new
/// profile).
fn edited(store: &ProfileStore, draft: &ProfileDraft) -> Result<Option<Profile>, SaveProblem> {
    let Some(old) = draft.replaces.as_deref() else {
        return Ok(None);
    };
    let old = ProfileName::new(old).map_err(|e| SaveProblem::failed(e.to_string()))?;
    match store.load(&old) {
        Ok(p) => Ok(Some(p)),
        Err(ProfileError::NotFound { .. }) => Ok(None),
        Err(e) => Err(SaveProblem::failed(e.to_string())),
    }
}

/// What the wizard does not show is kept from the profile it edits; so is the key id of the
/// same app's secret, kept (`new_secret`: one was given), so that rotation still knows which
/// of the app's secrets it is. A new secret (or another app) is not the one that key id names.
fn keep_from_edited(profile: &mut Profile, edited: &Profile, new_secret: bool) {
    profile.extra_user_attributes = edited.extra_user_attributes.clone();
    profile.extra_group_attributes = edited.extra_group_attributes.clone();
    profile.extra_ca_pem = edited.extra_ca_pem.clone();
    if !new_secret
        && edited.tenant == profile.tenant
        && edited.client_id == profile.client_id
        && edited.credential == profile.credential
    {
        profile.secret_key_id = edited.secret_key_id.clone();
    }
}

/// Where the saved profile's secret is, what went with the copy under `old_name` and the
/// profile it replaced, and what could not be finished.
fn stored_in(
    store: &ProfileStore,
    saved: &lifecycle::Saved,
    storage: SecretStorage,
    name: &ProfileName,
    old_name: &ProfileName,
) -> String {
    let mut stored_in = match (&saved.now, storage) {
        (None, _) => "it signs in with its certificate file, no secret needed".to_string(),
        (Some(_), SecretStorage::Environment) => format!(
            "the secret is not stored: set {} before each later run",
            crate::secret::SECRET_ENV
        ),
        (Some(_), SecretStorage::SystemdCredential) => format!(
            "the secret is not stored: pass it to later runs with LoadCredential={}:PATH",
            crate::secret::SYSTEMD_CREDENTIAL
        ),
        (Some(place), _) => format!("secret stored in {place}"),
    };
    if let lifecycle::SecretRemoval::Deleted(place) = &saved.old_copy {
        stored_in.push_str(&format!("; the old copy in {place} was deleted"));
    }
    let mut warnings: Vec<String> = saved
        .old_copy
        .warning(store, old_name)
        .into_iter()
        .collect();
    if let Some(removed) = &saved.displaced {
        stored_in.push_str(&format!(
            "; the profile {name} it replaced is deleted ({})",
            removed.describe()
        ));
        warnings.extend(removed.warnings(store, name));
    }
    warnings.extend(saved.unfinished.iter().cloned());
    for w in warnings {
        stored_in.push_str(&format!("; but {w}"));
    }
    stored_in
}

/// A failed save as the save step shows it: a storage out of reach offers the others; the
/// only copy of a secret the user never typed asks for it.
fn save_problem(e: LifecycleError, name: &ProfileName) -> SaveProblem {
    match e {
        LifecycleError::Secret(s) if s.is_keyring_unreachable() => SaveProblem {
            kind: SaveProblemKind::StorageUnreachable,
            message: format!(
                "The secret cannot be stored in the OS keyring: {}.",
                s.brief()
            ),
            alternatives: vec![
                SecretStorage::Environment,
                SecretStorage::SystemdCredential,
                SecretStorage::PlaintextFile,
            ],
        },
        LifecycleError::ProofNeeded {
            kept_in, differs, ..
        } => SaveProblem {
            kind: SaveProblemKind::Failed,
            message: if differs {
                format!(
                    "The secret typed differs from the one in {kept_in}, which is kept: type the secret {name} uses now (Esc, step by step, goes back to the secret step), or keep it stored (below)."
                )
            } else {
                format!(
                    "{kept_in} holds the only copy of the secret of {name}, and Entra shows a secret's value only once: it is deleted only once the same secret is typed here. Go back to the secret step (Esc, step by step) and type or paste it, or keep it stored (below)."
                )
            },
            alternatives: vec![SecretStorage::Keyring, SecretStorage::PlaintextFile],
        },
        e => SaveProblem::failed(e.to_string()),
    }
}

/// Installs (or, when the user cleared it, removes) the saved profile's schedule. The profile
/// is saved either way: a schedule that cannot be installed is reported, not fatal.
fn apply_schedule(
    store: &ProfileStore,
    profile: &mut Profile,
    wanted: Option<Schedule>,
    had_schedule: Option<Schedule>,
    credential_file: Option<PathBuf>,
) -> Option<String> {
    let installed = schedule::status(store.dirs(), &profile.name).installed();
    let before = Before {
        had_schedule,
        installed,
    };
    // Unchanged and in place: left as it is (it may hand the run a credential file, which
    // the wizard does not know).
    if wanted.is_some() && wanted == had_schedule && installed && credential_file.is_none() {
        profile.schedule = wanted;
        return match store.save(profile) {
            Ok(()) => wanted.map(|w| format!("It still reruns {}.", w.describe())),
            Err(e) => Some(format!("Its schedule is not recorded in the profile: {e}.")),
        };
    }
    match wanted {
        Some(when) => Some(install_schedule(
            store,
            profile,
            when,
            credential_file,
            before,
        )),
        None if had_schedule.is_none() && !installed => None,
        None => Some(remove_schedule(store, profile, had_schedule)),
    }
}

/// The schedule the saved profile had before this save, and whether its timer is installed.
#[derive(Clone, Copy)]
struct Before {
    had_schedule: Option<Schedule>,
    installed: bool,
}

impl Before {
    /// What a failure leaves in place is what the profile keeps saying.
    fn keep(self, store: &ProfileStore, profile: &mut Profile, why: String) -> String {
        if self.had_schedule.is_some() && self.installed {
            profile.schedule = self.had_schedule;
            let _ = store.save(profile);
        }
        format!("The schedule was not installed: {why}.")
    }
}

/// The profile names no schedule (the draft cleared it): only the timer goes.
fn remove_schedule(
    store: &ProfileStore,
    profile: &mut Profile,
    had_schedule: Option<Schedule>,
) -> String {
    match super::schedule::remove(store, profile).map(|a| a.done.had_timer) {
        Ok(true) => format!(
            "It no longer reruns by itself: its {} is removed.",
            Backend::native().installed_name(&profile.name)
        ),
        Ok(false) if Backend::native() == Backend::Systemd => {
            "It no longer reruns by itself; delete its crontab line if you added one.".into()
        }
        Ok(false) => "It no longer reruns by itself.".into(),
        Err(e) => {
            // The timer may still run: the profile says so again, as the error does.
            if had_schedule.is_some() {
                profile.schedule = had_schedule;
                let _ = store.save(profile);
            }
            format!(
                "Its {} could not be removed: {e}.",
                Backend::native().installed_name(&profile.name)
            )
        }
    }
}

/// Installs the schedule `when` ([`super::schedule::install`], as `schedule add` does), and
/// says what it installed.
fn install_schedule(
    store: &ProfileStore,
    profile: &mut Profile,
    when: Schedule,
    credential_file: Option<PathBuf>,
    before: Before,
) -> String {
    let backend = Backend::detect();
    let job = match schedule::job_for(profile, when, credential_file, backend) {
        Ok(job) => job,
        Err(e) => return before.keep(store, profile, e.to_string()),
    };
    match super::schedule::install(store, profile, when, &job, backend) {
        Ok(applied) => {
            let text = installed_words(&applied.done, when, &profile.name);
            match applied.recorded {
                Ok(()) => text,
                Err(e) => format!("{text} (not recorded in the profile: {e})"),
            }
        }
        Err(e) => before.keep(store, profile, e.to_string()),
    }
}

/// What the save step says of the timer, task or agent it installed.
fn installed_words(done: &schedule::Installed, when: Schedule, name: &ProfileName) -> String {
    match done {
        schedule::Installed::Timer(_) => format!(
            "It reruns {} (systemd user timer {}).",
            when.describe(),
            schedule::systemd::timer_name(name)
        ),
        schedule::Installed::Task { name, .. } => format!(
            "It reruns {} (scheduled task {name}; only while you are logged on, so that it can read the Windows Credential Manager).",
            when.describe()
        ),
        schedule::Installed::Agent(_) => format!(
            "It reruns {} (launchd agent {}, {} min after the hour set: launchd has no random delay).",
            when.describe(),
            schedule::launchd::label(name),
            schedule::launchd::spread_minutes(name, &when)
        ),
        schedule::Installed::CrontabLine(line) => format!(
            "To rerun it {}, add this line to your crontab (crontab -e): {line}",
            when.describe()
        ),
    }
}

/// `p` made absolute against the working directory (as it is, should that fail).
pub(super) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
