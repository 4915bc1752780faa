//! Unit tests of secret storage and resolution against `keyring_core::mock`.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError, mock};
use secrecy::{ExposeSecret, SecretString};

use super::lifecycle::{self, Presence, SecretRemoval};
use super::*;
use crate::profile::{Profile, ProfileStore};

const VALUE: &str = "Xy8Q~s3cr3t-value-for-tests.0123456789";

fn name(s: &str) -> ProfileName {
    ProfileName::new(s).unwrap()
}

fn mock_store() -> (Arc<CredentialStore>, SecretStore) {
    let store: Arc<CredentialStore> = mock::Store::new().unwrap();
    (store.clone(), SecretStore::from_store(store))
}

/// Makes the next keyring call on `profile`'s entry fail with `err`.
fn fail_next(store: &Arc<CredentialStore>, profile: &str, err: KeyringError) {
    let entry = Entry::new_in_store(store, KEYRING_SERVICE, &format!("profile:{profile}")).unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(err);
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn temp_profiles() -> (tempfile::TempDir, ProfileStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::new(Dirs::new(dir.path().join("c"), dir.path().join("d")));
    (dir, store)
}

async fn unreachable_keyring() -> Result<SecretStore, SecretError> {
    Err(SecretError::KeyringUnavailable {
        detail: "no D-Bus session".into(),
        profile: None,
    })
}

#[tokio::test]
async fn save_load_delete_round_trip() {
    let (_raw, store) = mock_store();
    let p = name("contoso");
    assert!(matches!(
        store.load(&p).await,
        Err(SecretError::NotFound { ref profile, .. }) if profile == &p
    ));
    store.save(&p, &secret(VALUE)).await.unwrap();
    assert_eq!(store.load(&p).await.unwrap().expose_secret(), VALUE);
    assert!(store.contains(&p).await.unwrap());
    assert!(!store.contains(&name("other")).await.unwrap());
    store.save(&p, &secret("rotated")).await.unwrap();
    assert_eq!(store.load(&p).await.unwrap().expose_secret(), "rotated");
    assert!(store.delete(&p).await.unwrap());
    assert!(!store.delete(&p).await.unwrap());
    assert!(matches!(
        store.load(&p).await,
        Err(SecretError::NotFound { .. })
    ));
}

#[tokio::test]
async fn store_failures_map_to_typed_errors_with_remedies() {
    let (raw, store) = mock_store();
    let p = name("p");
    store.save(&p, &secret(VALUE)).await.unwrap();

    fail_next(
        &raw,
        "p",
        KeyringError::NoStorageAccess("collection is locked".into()),
    );
    let e = store.load(&p).await.unwrap_err();
    assert!(matches!(e, SecretError::KeyringLocked { .. }), "{e:?}");
    assert!(e.is_keyring_unreachable());
    let msg = e.to_string();
    assert!(msg.contains("locked") && msg.contains(SECRET_ENV), "{msg}");
    assert!(
        msg.contains("LoadCredential=entra-extract-client-secret"),
        "{msg}"
    );

    fail_next(&raw, "p", KeyringError::NoDefaultStore);
    let e = store.save(&p, &secret("x")).await.unwrap_err();
    assert!(matches!(e, SecretError::KeyringUnavailable { .. }), "{e:?}");

    fail_next(
        &raw,
        "p",
        KeyringError::PlatformFailure("dbus said no".into()),
    );
    let e = store.delete(&p).await.unwrap_err();
    assert!(
        matches!(e, SecretError::KeyringFailure { ref detail } if detail.contains("dbus said no"))
    );

    fail_next(
        &raw,
        "p",
        KeyringError::BadEncoding(VALUE.as_bytes().to_vec()),
    );
    let e = store.load(&p).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(VALUE));

    // The failures changed nothing: the secret is still there.
    assert_eq!(store.load(&p).await.unwrap().expose_secret(), VALUE);
}

#[test]
fn store_choice_parses_known_values_only() {
    assert_eq!(StoreChoice::parse("").unwrap(), StoreChoice::Platform);
    assert_eq!(
        StoreChoice::parse("KEYUTILS").unwrap(),
        StoreChoice::Keyutils
    );
    assert_eq!(
        StoreChoice::parse("secret-service").unwrap(),
        StoreChoice::SecretService
    );
    assert_eq!(StoreChoice::parse("none").unwrap(), StoreChoice::Disabled);
    assert!(StoreChoice::parse("wallet").is_err());
}

#[tokio::test]
async fn disabled_keyring_is_a_typed_error() {
    let e = SecretStore::open(StoreChoice::Disabled).await.unwrap_err();
    assert!(matches!(e, SecretError::KeyringDisabled { .. }));
}

#[tokio::test]
async fn resolution_order_env_then_systemd_then_keyring() {
    let (_d, profiles) = temp_profiles();
    let dirs = profiles.dirs().clone();
    let profile = sample("contoso");
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join(SYSTEMD_CREDENTIAL), "generic\n").unwrap();
    let (_raw, store) = mock_store();
    store
        .save(&profile.name, &secret("from-keyring"))
        .await
        .unwrap();

    // Env wins, and the keyring is not even opened.
    let inputs = SecretInputs {
        env_secret: Some(secret("from-env")),
        credentials_directory: Some(creds.path().to_path_buf()),
    };
    let r = resolve_from(&profile, &dirs, inputs, async {
        panic!("keyring must not be opened when the environment supplies the secret")
    })
    .await
    .unwrap();
    assert_eq!(
        (r.secret.expose_secret(), r.source),
        ("from-env", SecretSource::Env)
    );

    // systemd: the generic credential, then the per-profile one takes precedence.
    let inputs = || SecretInputs {
        env_secret: None,
        credentials_directory: Some(creds.path().to_path_buf()),
    };
    let r = resolve_from(&profile, &dirs, inputs(), unreachable_keyring())
        .await
        .unwrap();
    assert_eq!(
        (r.secret.expose_secret(), r.source),
        ("generic", SecretSource::SystemdCredential)
    );
    std::fs::write(
        creds.path().join(format!("{SYSTEMD_CREDENTIAL}-contoso")),
        "specific\r\n",
    )
    .unwrap();
    let r = resolve_from(&profile, &dirs, inputs(), unreachable_keyring())
        .await
        .unwrap();
    assert_eq!(r.secret.expose_secret(), "specific");

    // Keyring last.
    let r = resolve_from(&profile, &dirs, SecretInputs::default(), async {
        Ok(store.clone())
    })
    .await
    .unwrap();
    assert_eq!(
        (r.secret.expose_secret(), r.source, r.warning),
        ("from-keyring", SecretSource::Keyring, None)
    );

    // No keyring: the error names the headless options.
    let e = resolve_from(
        &profile,
        &dirs,
        SecretInputs::default(),
        unreachable_keyring(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("LoadCredential="), "{e}");
    assert!(
        e.to_string().contains("set-secret contoso --storage"),
        "{e}"
    );
}

#[test]
fn a_run_without_a_profile_takes_only_the_generic_credential_and_whitespace_is_noted() {
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(
        creds.path().join(format!("{SYSTEMD_CREDENTIAL}-p")),
        "specific",
    )
    .unwrap();
    let inputs = || SecretInputs {
        env_secret: None,
        credentials_directory: Some(creds.path().to_path_buf()),
    };
    assert!(inputs().supplied(None).unwrap().is_none());
    std::fs::write(creds.path().join(SYSTEMD_CREDENTIAL), " generic\n").unwrap();
    let (value, notes) = inputs().supplied(None).unwrap().unwrap().split();
    assert_eq!(value.expose_secret(), " generic");
    let note = notes.if_refused.unwrap();
    assert!(
        note.contains("systemd credential begins with whitespace"),
        "{note}"
    );
    assert!(
        !note.contains("generic"),
        "the note shows the secret: {note}"
    );

    let env = SecretInputs {
        env_secret: Some(secret("clean")),
        ..inputs()
    };
    let (value, notes) = env.supplied(None).unwrap().unwrap().split();
    assert_eq!(
        (value.expose_secret(), notes),
        ("clean", SecretNotes::default())
    );
}

#[tokio::test]
async fn empty_systemd_credential_is_refused() {
    let (_d, profiles) = temp_profiles();
    let profile = sample("p");
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join(SYSTEMD_CREDENTIAL), "\n").unwrap();
    let inputs = SecretInputs {
        env_secret: None,
        credentials_directory: Some(creds.path().to_path_buf()),
    };
    let e = resolve_from(&profile, profiles.dirs(), inputs, unreachable_keyring())
        .await
        .unwrap_err();
    assert!(matches!(e, SecretError::Empty { .. }), "{e:?}");
}

#[tokio::test]
async fn plaintext_opt_in_warns_on_every_use_and_refuses_open_files() {
    let (_d, profiles) = temp_profiles();
    let mut profile = sample("p");
    profile.secret_storage = SecretStorage::PlaintextFile;
    let stored = lifecycle::set_secret(&profiles, &profile, &secret(VALUE), unreachable_keyring())
        .await
        .unwrap();
    assert_eq!(stored.warnings.len(), 1);
    for _ in 0..2 {
        let r = resolve_from(
            &profile,
            profiles.dirs(),
            SecretInputs::default(),
            unreachable_keyring(),
        )
        .await
        .unwrap();
        assert_eq!(r.source, SecretSource::PlaintextFile);
        assert_eq!(r.secret.expose_secret(), VALUE);
        assert!(r.warning.unwrap().contains("plain text"));
    }
    // Once others can read the file, it is refused.
    let path = plaintext::path(profiles.dirs(), &profile.name);
    #[cfg(unix)] // modes
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    #[cfg(windows)] // DACLs
    crate::private_fs::windows::open_to_everyone(&path);
    let e = resolve_from(
        &profile,
        profiles.dirs(),
        SecretInputs::default(),
        unreachable_keyring(),
    )
    .await
    .unwrap_err();
    #[cfg(unix)] // modes
    assert!(
        matches!(e, SecretError::FileTooOpen { mode: 0o644, .. }),
        "{e:?}"
    );
    #[cfg(windows)] // DACLs
    {
        let SecretError::FileSharedWith { readers, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(readers, &[crate::private_fs::windows::EVERYONE_SID]);
        let message = e.to_string();
        assert!(
            message.contains("/inheritance:r /grant:r \"%USERNAME%:F\" /remove:g *S-1-1-0"),
            "{message}"
        );
    }
}

#[test]
fn new_secrets_must_be_non_empty_and_guids_are_warned_about() {
    assert!(matches!(
        check_new_secret(&secret("  ")),
        Err(SecretError::Empty { .. })
    ));
    assert_eq!(check_new_secret(&secret(VALUE)).unwrap(), None);
    let w = check_new_secret(&secret("7c4f5b4e-2f7d-4c43-9d1e-0b7e3c1d2a90"))
        .unwrap()
        .unwrap();
    assert!(w.contains("secret ID"), "{w}");
}

#[test]
fn resolved_secret_debug_is_redacted() {
    let r = ResolvedSecret {
        secret: secret(VALUE),
        source: SecretSource::Env,
        warning: None,
    };
    assert!(!format!("{r:?}").contains(VALUE));
}

#[tokio::test]
async fn rename_moves_the_keyring_entry_and_remove_deletes_it() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let profile = sample("old");
    profiles.create(&profile).unwrap();
    lifecycle::set_secret(&profiles, &profile, &secret(VALUE), async {
        Ok(store.clone())
    })
    .await
    .unwrap();

    let moved = lifecycle::rename(&profiles, &name("old"), &name("new"), async {
        Ok(store.clone())
    })
    .await
    .unwrap();
    assert!(matches!(moved.old_copy, SecretRemoval::Deleted(_)));
    let renamed = profiles.load(&name("new")).unwrap();
    assert!(!profiles.exists(&name("old")));
    assert!(!store.contains(&name("old")).await.unwrap());
    assert_eq!(
        store.load(&name("new")).await.unwrap().expose_secret(),
        VALUE
    );

    let status = lifecycle::status(&profiles, &renamed, &SecretInputs::default(), async {
        Ok(store.clone())
    })
    .await;
    assert_eq!(status.presence, Presence::Present);

    let removed = lifecycle::remove(&profiles, &name("new"), false, async { Ok(store.clone()) })
        .await
        .unwrap();
    assert!(matches!(removed.secret, SecretRemoval::Deleted(_)));
    assert!(!store.contains(&name("new")).await.unwrap());
    assert!(!profiles.exists(&name("new")));
}

#[tokio::test]
async fn a_secret_moves_from_the_keyring_to_a_file_and_back_with_no_copy_left() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let p = name("mover");
    let profile = sample("mover");
    profiles.create(&profile).unwrap();
    lifecycle::set_secret(&profiles, &profile, &secret(VALUE), async {
        Ok(store.clone())
    })
    .await
    .unwrap();
    let keyring = || {
        let store = store.clone();
        async move { Ok(store) }
    };

    // Out of the keyring without typing it again.
    let moved = lifecycle::change_storage(
        &profiles,
        &p,
        SecretStorage::PlaintextFile,
        None,
        SecretInputs::default(),
        keyring(),
    )
    .await
    .unwrap();
    assert!(
        matches!(moved.old_copy, SecretRemoval::Deleted(_)),
        "{moved:?}"
    );
    assert!(!store.contains(&p).await.unwrap());
    assert_eq!(
        plaintext::load(profiles.dirs(), &p)
            .unwrap()
            .0
            .expose_secret(),
        VALUE
    );
    assert_eq!(
        profiles.load(&p).unwrap().secret_storage,
        SecretStorage::PlaintextFile
    );

    // And back.
    lifecycle::change_storage(
        &profiles,
        &p,
        SecretStorage::Keyring,
        None,
        SecretInputs::default(),
        keyring(),
    )
    .await
    .unwrap();
    assert!(!plaintext::path(profiles.dirs(), &p).exists());
    assert_eq!(store.load(&p).await.unwrap().expose_secret(), VALUE);

    // To the environment: the keyring's copy stays until the same secret comes that way.
    let e = lifecycle::change_storage(
        &profiles,
        &p,
        SecretStorage::Environment,
        Some(secret("another")),
        SecretInputs::default(),
        keyring(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            lifecycle::LifecycleError::ProofNeeded { differs: true, .. }
        ),
        "{e:?}"
    );
    assert!(store.contains(&p).await.unwrap());
    assert_eq!(
        profiles.load(&p).unwrap().secret_storage,
        SecretStorage::Keyring
    );
    let inputs = SecretInputs {
        env_secret: Some(secret(VALUE)),
        credentials_directory: None,
    };
    lifecycle::change_storage(
        &profiles,
        &p,
        SecretStorage::Environment,
        None,
        inputs,
        keyring(),
    )
    .await
    .unwrap();
    assert!(!store.contains(&p).await.unwrap());
    assert_eq!(
        profiles.load(&p).unwrap().secret_storage,
        SecretStorage::Environment
    );
}

/// A keyring that fails to give the secret back (but would delete it) holds a copy nobody
/// could compare with the secret given: moving the secret keeps that copy and says so.
#[tokio::test]
async fn a_copy_that_cannot_be_read_is_never_deleted_by_a_move() {
    let (_d, profiles) = temp_profiles();
    let (raw, store) = mock_store();
    let p = name("unreadable");
    profiles.create(&sample("unreadable")).unwrap();
    store.save(&p, &secret(VALUE)).await.unwrap();
    fail_next(&raw, "unreadable", KeyringError::BadEncoding(b"x".to_vec()));
    let inputs = SecretInputs {
        env_secret: Some(secret(VALUE)),
        credentials_directory: None,
    };
    let moved = lifecycle::change_storage(
        &profiles,
        &p,
        SecretStorage::Environment,
        None,
        inputs,
        async { Ok(store.clone()) },
    )
    .await
    .unwrap();
    assert!(store.contains(&p).await.unwrap(), "{moved:?}");
    assert!(
        matches!(
            moved.old_copy,
            SecretRemoval::LeftBehind {
                storage: SecretStorage::Keyring,
                ..
            }
        ),
        "{moved:?}"
    );
    let said = moved.old_copy.warning(&profiles, &p).unwrap();
    assert!(said.contains("user \"profile:unreadable\""), "{said}");
}

#[tokio::test]
async fn remove_keeps_everything_when_the_keyring_is_unreachable_unless_forced() {
    let (_d, profiles) = temp_profiles();
    profiles.create(&sample("p")).unwrap();
    let e = lifecycle::remove(&profiles, &name("p"), false, unreachable_keyring())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no OS keyring"), "{e}");
    assert!(profiles.exists(&name("p")));
    let removed = lifecycle::remove(&profiles, &name("p"), true, unreachable_keyring())
        .await
        .unwrap();
    assert!(matches!(
        removed.secret,
        SecretRemoval::LeftBehind {
            storage: SecretStorage::Keyring,
            ..
        }
    ));
    assert!(!profiles.exists(&name("p")));
}

/// A profile gone already may have left a secret file, a state and a history: `remove`
/// deletes them without asking the keyring (the profile no longer says it used one), and
/// `leftovers` names only what belongs to no profile.
#[tokio::test]
async fn remove_of_a_gone_profile_deletes_what_it_left_and_nothing_else() {
    let (_d, profiles) = temp_profiles();
    let dirs = profiles.dirs().clone();
    profiles.create(&sample("kept")).unwrap();
    for n in ["gone", "kept"] {
        std::fs::create_dir_all(dirs.state(&name(n))).unwrap();
    }
    plaintext::save(&dirs, &name("gone"), &secret(VALUE)).unwrap();
    let left = lifecycle::leftovers(&profiles).unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].name, name("gone"));
    assert!(left[0].history.is_none() && left[0].secret_file.is_some());

    let removed = lifecycle::remove(&profiles, &name("gone"), false, unreachable_keyring())
        .await
        .unwrap();
    assert!(!removed.profile && removed.state && !removed.history);
    assert!(matches!(removed.secret, SecretRemoval::Deleted(_)));
    let said = removed.summary(&profiles, &name("gone"));
    assert!(
        said.contains(&dirs.state(&name("gone")).display().to_string()),
        "{said}"
    );
    assert!(said.contains("plaintext file"), "{said}");
    assert!(!plaintext::path(&dirs, &name("gone")).exists());
    assert!(lifecycle::leftovers(&profiles).unwrap().is_empty());
    assert!(dirs.state(&name("kept")).is_dir());

    let e = lifecycle::remove(&profiles, &name("gone"), false, unreachable_keyring())
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        lifecycle::LifecycleError::Profile(crate::profile::ProfileError::NotFound { .. })
    ));
}

#[tokio::test]
async fn rename_onto_an_existing_profile_changes_nothing() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let profile = sample("a");
    profiles.create(&profile).unwrap();
    profiles.create(&sample("b")).unwrap();
    store.save(&name("a"), &secret(VALUE)).await.unwrap();
    let e = lifecycle::rename(&profiles, &name("a"), &name("b"), async {
        Ok(store.clone())
    })
    .await
    .unwrap_err();
    assert!(matches!(
        e,
        lifecycle::LifecycleError::Profile(crate::profile::ProfileError::AlreadyExists { .. })
    ));
    assert!(store.contains(&name("a")).await.unwrap());
    assert!(!store.contains(&name("b")).await.unwrap());
}

#[test]
fn into_secret_keeps_the_value_whatever_the_capacity() {
    let mut roomy = String::with_capacity(256);
    roomy.push_str(VALUE);
    assert_eq!(into_secret(roomy).expose_secret(), VALUE);
    assert_eq!(into_secret(VALUE.to_string()).expose_secret(), VALUE);
    assert_eq!(trim_line_end(format!("{VALUE}\r\n\n")), VALUE);
}

/// A keyring over `keyring_core::mock` that can misbehave: writes refused (a locked
/// collection that still gives secrets back) or garbled (an entry that does not keep what
/// it was given), or every call hanging (a locked keyring waiting for an unseen prompt).
mod scripted {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use keyring_core::api::{CredentialApi, CredentialStoreApi};
    use keyring_core::{Credential, CredentialStore, Entry, Error, Result, mock};

    /// What the next calls do.
    #[derive(Debug, Default)]
    pub struct Calls {
        /// Every write fails, as a locked collection's does.
        pub refused: AtomicBool,
        /// This many writes keep something else than they were given.
        pub garbled: AtomicUsize,
        /// Every call hangs.
        pub hang: AtomicBool,
    }

    impl Calls {
        /// Hangs the calling thread when calls hang (the test process ends first).
        fn maybe_hang(&self) {
            if self.hang.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }

    #[derive(Debug)]
    pub struct Store {
        inner: Arc<CredentialStore>,
        pub calls: Arc<Calls>,
    }

    impl Store {
        pub fn new() -> Arc<Store> {
            Arc::new(Store {
                inner: mock::Store::new().unwrap(),
                calls: Arc::default(),
            })
        }
    }

    #[derive(Debug)]
    struct Cred {
        inner: Entry,
        calls: Arc<Calls>,
    }

    impl CredentialApi for Cred {
        fn set_secret(&self, secret: &[u8]) -> Result<()> {
            self.calls.maybe_hang();
            if self.calls.refused.load(Ordering::SeqCst) {
                return Err(Error::NoStorageAccess("the collection is locked".into()));
            }
            let garble = self
                .calls
                .garbled
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            match garble {
                true => self.inner.set_secret(b"garbled"),
                false => self.inner.set_secret(secret),
            }
        }
        fn get_secret(&self) -> Result<Vec<u8>> {
            self.calls.maybe_hang();
            self.inner.get_secret()
        }
        fn delete_credential(&self) -> Result<()> {
            self.calls.maybe_hang();
            self.inner.delete_credential()
        }
        fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
            Ok(None)
        }
        fn get_specifiers(&self) -> Option<(String, String)> {
            self.inner.get_specifiers()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    impl CredentialStoreApi for Store {
        fn vendor(&self) -> String {
            "scripted test store".into()
        }
        fn id(&self) -> String {
            "scripted".into()
        }
        fn build(
            &self,
            service: &str,
            user: &str,
            _: Option<&HashMap<&str, &str>>,
        ) -> Result<Entry> {
            Ok(Entry::new_with_credential(Arc::new(Cred {
                inner: Entry::new_in_store(&self.inner, service, user)?,
                calls: self.calls.clone(),
            })))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
}

/// A [`scripted`] keyring, and what its next calls do.
fn scripted_store() -> (SecretStore, Arc<scripted::Calls>) {
    let store = scripted::Store::new();
    let calls = store.calls.clone();
    let store: Arc<CredentialStore> = store;
    (SecretStore::from_store(store), calls)
}

/// The profile file of `name` can no longer be written (a non-empty directory in its
/// place: root writes through permissions, not over a directory).
fn block_profile_file(profiles: &ProfileStore, name: &ProfileName) {
    let path = profiles.path(name);
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(path.join("blocked")).unwrap();
}

async fn in_keyring(store: &SecretStore, n: &str) -> Option<String> {
    store
        .load(&name(n))
        .await
        .ok()
        .map(|s| s.expose_secret().to_string())
}

/// An edit that gives a new secret and changes the profile, whose file then cannot be
/// written: the keyring gets its old secret back, the profile is unchanged.
#[tokio::test]
async fn a_failed_profile_write_puts_the_old_secret_back() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let saved = sample("p");
    profiles.create(&saved).unwrap();
    store.save(&name("p"), &secret(VALUE)).await.unwrap();
    let mut edited = saved.clone();
    edited.output_dir = "/elsewhere".into();
    block_profile_file(&profiles, &name("p"));

    let change = lifecycle::Save {
        profile: &edited,
        edits: Some(&saved),
        displaces: None,
        given: Some(secret("rotated")),
    };
    let e = lifecycle::save(&profiles, change, SecretInputs::default(), async {
        Ok(store.clone())
    })
    .await
    .unwrap_err();
    assert!(matches!(e, lifecycle::LifecycleError::Profile(_)), "{e:?}");
    assert_eq!(in_keyring(&store, "p").await.as_deref(), Some(VALUE));
}

/// Renaming `a` onto `b` (the user agreed to replace `b`), whose file then cannot be
/// written: `b`'s secret, overwritten by `a`'s, is put back; `a` keeps everything.
#[tokio::test]
async fn a_failed_replace_puts_the_replaced_profiles_secret_back() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let a = sample("a");
    profiles.create(&a).unwrap();
    profiles.create(&sample("b")).unwrap();
    store.save(&name("a"), &secret(VALUE)).await.unwrap();
    store.save(&name("b"), &secret("b's own")).await.unwrap();
    let keyring = || {
        let store = store.clone();
        async move { Ok(store) }
    };
    let displaces = lifecycle::Removal::check(&profiles, &name("b"), false, keyring())
        .await
        .unwrap();
    block_profile_file(&profiles, &name("b"));
    let mut renamed = a.clone();
    renamed.name = name("b");

    let change = lifecycle::Save {
        profile: &renamed,
        edits: Some(&a),
        displaces: Some(displaces),
        given: None,
    };
    lifecycle::save(&profiles, change, SecretInputs::default(), keyring())
        .await
        .unwrap_err();
    assert_eq!(in_keyring(&store, "b").await.as_deref(), Some("b's own"));
    assert_eq!(in_keyring(&store, "a").await.as_deref(), Some(VALUE));
    assert_eq!(profiles.load(&name("a")).unwrap(), a);
}

/// A keyring that keeps something else than it was given: the save stops before the
/// profile file, and the place gets back what it held (here: nothing).
#[tokio::test]
async fn a_copy_that_does_not_read_back_is_taken_back() {
    let (_d, profiles) = temp_profiles();
    let (store, calls) = scripted_store();
    let mut saved = sample("p");
    saved.secret_storage = SecretStorage::PlaintextFile;
    profiles.create(&saved).unwrap();
    plaintext::save(profiles.dirs(), &name("p"), &secret(VALUE)).unwrap();
    calls.garbled.store(1, std::sync::atomic::Ordering::SeqCst);

    let e = lifecycle::change_storage(
        &profiles,
        &name("p"),
        SecretStorage::Keyring,
        None,
        SecretInputs::default(),
        async { Ok(store.clone()) },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, lifecycle::LifecycleError::NotReadBack { .. }),
        "{e:?}"
    );
    assert_eq!(in_keyring(&store, "p").await, None);
    assert_eq!(profiles.load(&name("p")).unwrap(), saved);
    let (kept, _) = plaintext::load(profiles.dirs(), &name("p")).unwrap();
    assert_eq!(kept.expose_secret(), VALUE);
}

/// `profile set-secret` (and a rotation, and a new app's profile) reads the secret back
/// as every other save does: a keyring that keeps something else is an error, and the
/// secret it held is put back.
#[tokio::test]
async fn set_secret_reads_the_secret_back() {
    let (_d, profiles) = temp_profiles();
    let (store, calls) = scripted_store();
    let profile = sample("p");
    profiles.create(&profile).unwrap();
    store.save(&name("p"), &secret(VALUE)).await.unwrap();
    calls.garbled.store(1, std::sync::atomic::Ordering::SeqCst);

    let e = lifecycle::set_secret(&profiles, &profile, &secret("rotated"), async {
        Ok(store.clone())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(e, lifecycle::LifecycleError::NotReadBack { .. }),
        "{e:?}"
    );
    assert_eq!(in_keyring(&store, "p").await.as_deref(), Some(VALUE));
}

/// An edit of a keyring profile's settings only (no new secret) writes nothing to the
/// keyring: one that refuses writes (locked, or asking to be unlocked) does not stop it.
#[tokio::test]
async fn a_settings_only_edit_needs_no_keyring_write() {
    let (_d, profiles) = temp_profiles();
    let (store, calls) = scripted_store();
    let saved = sample("p");
    profiles.create(&saved).unwrap();
    store.save(&name("p"), &secret(VALUE)).await.unwrap();
    calls
        .refused
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut edited = saved.clone();
    edited.output_dir = "/elsewhere".into();

    let change = lifecycle::Save {
        profile: &edited,
        edits: Some(&saved),
        displaces: None,
        given: None,
    };
    let done = lifecycle::save(&profiles, change, SecretInputs::default(), async {
        Ok(store.clone())
    })
    .await
    .unwrap();
    assert_eq!(done.old_copy, SecretRemoval::NoneStored);
    assert_eq!(profiles.load(&name("p")).unwrap(), edited);
    assert_eq!(in_keyring(&store, "p").await.as_deref(), Some(VALUE));
}

/// `profile delete-secret`: the copies a profile does not sign in with go (a certificate
/// profile's, in both places), the one it signs in with stays; a keyring out of reach is
/// said, and the file goes all the same.
#[tokio::test]
async fn delete_unused_spares_the_secret_in_use_and_deletes_the_rest() {
    let (_d, profiles) = temp_profiles();
    let (_raw, store) = mock_store();
    let keyring = || {
        let store = store.clone();
        async move { Ok(store) }
    };
    let mut cert = sample("cert");
    cert.credential = crate::profile::CredentialKind::Certificate {
        path: "/c.pem".into(),
    };
    profiles.create(&cert).unwrap();
    profiles.create(&sample("uses")).unwrap();
    for n in ["cert", "uses"] {
        store.save(&name(n), &secret(VALUE)).await.unwrap();
        plaintext::save(profiles.dirs(), &name(n), &secret(VALUE)).unwrap();
    }

    let done = lifecycle::delete_unused(&profiles, &name("cert"), keyring())
        .await
        .unwrap();
    assert_eq!(done.in_use, None);
    assert!(
        done.copies.len() == 2
            && done
                .copies
                .iter()
                .all(|c| matches!(c, SecretRemoval::Deleted(_))),
        "{done:?}"
    );
    assert_eq!(in_keyring(&store, "cert").await, None);
    assert!(!plaintext::path(profiles.dirs(), &name("cert")).exists());

    let done = lifecycle::delete_unused(&profiles, &name("uses"), keyring())
        .await
        .unwrap();
    assert!(done.in_use.is_some_and(|p| p.contains("keyring")));
    assert_eq!(in_keyring(&store, "uses").await.as_deref(), Some(VALUE));
    assert!(!plaintext::path(profiles.dirs(), &name("uses")).exists());

    // No keyring here: the file goes, and the keyring is said to be out of reach.
    plaintext::save(profiles.dirs(), &name("cert"), &secret(VALUE)).unwrap();
    let done = lifecycle::delete_unused(&profiles, &name("cert"), unreachable_keyring())
        .await
        .unwrap();
    assert!(done.keyring_unreached.is_some(), "{done:?}");
    assert!(!plaintext::path(profiles.dirs(), &name("cert")).exists());
}

#[tokio::test]
async fn a_keyring_that_never_answers_times_out_with_the_headless_options() {
    let (store, calls) = scripted_store();
    calls.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    let store = store.with_timeout(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = store.load(&name("p")).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(matches!(e, SecretError::KeyringUnavailable { .. }), "{e:?}");
    assert!(e.to_string().contains("no answer within"), "{e}");
}

#[tokio::test]
async fn memory_store_is_shared_within_the_process_and_labelled_as_demo() {
    let name = ProfileName::new("memory-demo").unwrap();
    let first = SecretStore::open(StoreChoice::Memory).await.unwrap();
    first
        .save(&name, &SecretString::from("s3cr3t-value"))
        .await
        .unwrap();
    let second = SecretStore::open(StoreChoice::Memory).await.unwrap();
    assert_eq!(
        second.load(&name).await.unwrap().expose_secret(),
        "s3cr3t-value"
    );
    assert!(
        second.label().contains("forgotten on exit"),
        "{}",
        second.label()
    );
    assert_eq!(StoreChoice::parse("memory").unwrap(), StoreChoice::Memory);
}

#[test]
fn the_kernel_keyring_is_offered_only_to_someone_who_has_not_chosen_it() {
    let offered = headless_options_for(None, false);
    assert!(
        offered.contains("choose the kernel keyring with ENTRA_EXTRACT_KEYRING_STORE=keyutils"),
        "{offered}"
    );
    let chosen = headless_options_for(None, true);
    assert!(!chosen.contains("choose the kernel keyring"), "{chosen}");
    assert!(
        chosen.contains("already chosen") && chosen.contains("keyctl show @s"),
        "{chosen}"
    );
    assert!(chosen.contains("ENTRA_EXTRACT_CLIENT_SECRET"), "{chosen}");
    // For a saved profile: the commands that move its secret, named for it.
    let p = name("contoso");
    for keyutils in [false, true] {
        let advice = headless_options_for(Some(&p), keyutils);
        for storage in ["environment", "systemd-credential", "plaintext-file"] {
            assert!(advice.contains(&format!("--storage {storage}")), "{advice}");
        }
        assert!(advice.contains("profile set-secret contoso"), "{advice}");
        assert!(!advice.contains("profile create"), "{advice}");
    }
}

/// A secret profile `n` of a fixed tenant and app.
fn sample(n: &str) -> Profile {
    Profile::new(
        name(n),
        "contoso.example".parse().unwrap(),
        "11111111-2222-3333-4444-555555555555".parse().unwrap(),
    )
}
