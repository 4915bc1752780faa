//! The OS keyring behind a small async wrapper: one entry per profile (service
//! `entra-extract`, user `profile:<name>`), every call on its own thread, off the async
//! runtime, with a timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use secrecy::{ExposeSecret, SecretString};

use super::{KEYRING_SERVICE, SecretError, keyring_user};
use crate::profile::ProfileName;

/// Chooses the keyring store (`secret-service`, `keyutils`, `none`); unset means the
/// platform's native store.
pub const STORE_ENV: &str = "ENTRA_EXTRACT_KEYRING_STORE";

/// A keyring that neither answers nor fails (a locked collection waiting for a desktop
/// unlock prompt nobody will see) must not hang a scheduled run forever.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(30);

/// Which credential store to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// macOS Keychain, Windows Credential Manager, or the Secret Service elsewhere.
    Platform,
    /// The freedesktop Secret Service over D-Bus (GNOME Keyring, KWallet, KeePassXC).
    SecretService,
    /// The Linux kernel keyring: always there, but emptied at reboot.
    Keyutils,
    /// No keyring at all: secrets come from the environment, systemd or the plaintext opt-in.
    Disabled,
    /// A store in this process's memory, forgotten at exit: for `entra-extract demo`, whose
    /// fake secrets must never land in (or collide with) the user's real keyring.
    Memory,
    /// No keyring reachable, as on a server without a Secret Service: for `demo
    /// --no-keyring`, to try the paths such a machine takes.
    Unreachable,
}

impl StoreChoice {
    /// Parses the value of [`STORE_ENV`].
    pub fn parse(value: &str) -> Result<Self, SecretError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "platform" | "native" | "default" => Ok(StoreChoice::Platform),
            "secret-service" => Ok(StoreChoice::SecretService),
            "keyutils" => Ok(StoreChoice::Keyutils),
            "none" => Ok(StoreChoice::Disabled),
            "memory" => Ok(StoreChoice::Memory),
            other => Err(SecretError::KeyringUnavailable {
                detail: format!(
                    "{STORE_ENV}={other:?} is not one of platform, secret-service, keyutils, memory, none"
                ),
                profile: None,
            }),
        }
    }

    /// The choice made by [`STORE_ENV`], or [`StoreChoice::Platform`].
    pub fn from_env() -> Result<Self, SecretError> {
        match std::env::var(STORE_ENV) {
            Ok(v) => StoreChoice::parse(&v),
            Err(_) => Ok(StoreChoice::Platform),
        }
    }
}

/// Which kind of store an open [`SecretStore`] talks to; decides the entry modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    #[cfg_attr(
        not(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        )),
        expect(
            dead_code,
            reason = "the Secret Service exists only on Linux and the BSDs"
        )
    )]
    SecretService,
    Other,
}

/// Saves, loads and deletes profile secrets in one credential store.
#[derive(Clone)]
pub struct SecretStore {
    store: Arc<CredentialStore>,
    backend: Backend,
    label: String,
    timeout: Duration,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("label", &self.label)
            .finish()
    }
}

impl SecretStore {
    /// Opens the store chosen by [`STORE_ENV`] (the platform's native store by default).
    pub async fn open_default() -> Result<Self, SecretError> {
        SecretStore::open(StoreChoice::from_env()?).await
    }

    /// Opens `choice`. Connecting may block (D-Bus), so it runs off the async runtime.
    pub async fn open(choice: StoreChoice) -> Result<Self, SecretError> {
        if choice == StoreChoice::Disabled {
            return Err(SecretError::KeyringDisabled { profile: None });
        }
        if choice == StoreChoice::Unreachable {
            return Err(SecretError::KeyringUnavailable {
                detail: "no D-Bus Secret Service on this machine (demo --no-keyring)".into(),
                profile: None,
            });
        }
        let opened = run_blocking(KEYRING_TIMEOUT, move || open_blocking(choice)).await?;
        match opened.map_err(map_error) {
            Ok((store, backend, label)) => Ok(SecretStore {
                store,
                backend,
                label: label.to_string(),
                timeout: KEYRING_TIMEOUT,
            }),
            // Failing to even connect means "no keyring here", whatever the library called it.
            Err(SecretError::KeyringFailure { detail }) => Err(SecretError::KeyringUnavailable {
                detail,
                profile: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// Wraps an already-built store (tests use `keyring_core::mock`).
    pub fn from_store(store: Arc<CredentialStore>) -> Self {
        let label = store.vendor();
        SecretStore {
            store,
            backend: Backend::Other,
            label,
            timeout: KEYRING_TIMEOUT,
        }
    }

    /// The same store with another per-call timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Which store this is ("Secret Service", "macOS Keychain", ...), for messages.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    /// Stores (or replaces) the secret of `profile`.
    pub async fn save(
        &self,
        profile: &ProfileName,
        secret: &SecretString,
    ) -> Result<(), SecretError> {
        let secret = secret.clone();
        self.with_entry(profile, move |entry| {
            entry.set_password(secret.expose_secret())
        })
        .await
    }

    /// The secret of `profile`; [`SecretError::NotFound`] when there is none.
    pub async fn load(&self, profile: &ProfileName) -> Result<SecretString, SecretError> {
        self.with_entry(profile, |entry| {
            // The store decodes its own encoding: the Windows Credential Manager keeps a
            // password as UTF-16, as `save` (set_password) and Windows' own tools write it.
            entry
                .get_password()
                .map(super::into_secret)
                .map_err(|e| match e {
                    KeyringError::BadEncoding(mut bytes) => {
                        zeroize::Zeroize::zeroize(&mut bytes);
                        KeyringError::BadEncoding(Vec::new())
                    }
                    other => other,
                })
        })
        .await
    }

    /// True when `profile` has a secret in this store.
    pub async fn contains(&self, profile: &ProfileName) -> Result<bool, SecretError> {
        match self.load(profile).await {
            Ok(_) => Ok(true),
            Err(SecretError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the secret of `profile`; returns whether there was one.
    pub async fn delete(&self, profile: &ProfileName) -> Result<bool, SecretError> {
        match self
            .with_entry(profile, |entry| entry.delete_credential())
            .await
        {
            Ok(()) => Ok(true),
            Err(SecretError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs `op` on this profile's entry; `NoEntry` becomes [`SecretError::NotFound`].
    async fn with_entry<T: Send + 'static>(
        &self,
        profile: &ProfileName,
        op: impl FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, SecretError> {
        let store = self.store.clone();
        let backend = self.backend;
        let user = keyring_user(profile);
        let name = profile.clone();
        match run_blocking(self.timeout, move || {
            let entry = build_entry(&store, backend, &name, &user)?;
            op(&entry)
        })
        .await?
        {
            Ok(value) => Ok(value),
            Err(KeyringError::NoEntry) => Err(SecretError::NotFound {
                profile: profile.clone(),
                looked_in: format!("the OS keyring ({})", self.label()),
            }),
            Err(e) => Err(map_error(e)),
        }
    }
}

fn build_entry(
    store: &Arc<CredentialStore>,
    backend: Backend,
    profile: &ProfileName,
    user: &str,
) -> keyring_core::Result<Entry> {
    match backend {
        Backend::SecretService => {
            // A readable label in Seahorse / KWallet instead of the library's generic one.
            let label = format!("entra-extract client secret ({profile})");
            let mods = HashMap::from([("label", label.as_str())]);
            Entry::new_in_store_with_modifiers(store, KEYRING_SERVICE, user, &mods)
        }
        Backend::Other => Entry::new_in_store(store, KEYRING_SERVICE, user),
    }
}

/// Runs a keyring call off the async runtime, with a timeout; the inner result is the
/// keyring's own, for the caller to map with its context.
///
/// A dedicated thread rather than `spawn_blocking`: the runtime waits for blocking-pool tasks
/// when it shuts down, so a hung keyring call would still hang the process at exit. A
/// detached thread ends with the process.
async fn run_blocking<T: Send + 'static>(
    timeout: Duration,
    op: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
) -> Result<keyring_core::Result<T>, SecretError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            // The receiver is gone only after a timeout; nobody wants the result then.
            let _ = tx.send(op());
        })
        .map_err(|e| SecretError::KeyringFailure {
            detail: format!("could not start the keyring thread: {e}"),
        })?;
    match tokio::time::timeout(timeout, rx).await {
        Err(_) => Err(SecretError::KeyringUnavailable {
            detail: format!(
                "no answer within {} s; a locked keyring may be waiting for an unlock prompt",
                timeout.as_secs_f32()
            ),
            profile: None,
        }),
        Ok(Err(_)) => Err(SecretError::KeyringFailure {
            detail: "the keyring call ended without an answer (it panicked)".into(),
        }),
        Ok(Ok(result)) => Ok(result),
    }
}

/// An opened store, its kind and its human name.
type Opened = (Arc<CredentialStore>, Backend, &'static str);

/// Maps keyring errors to ours. Variants carrying secret bytes are never formatted.
fn map_error(e: KeyringError) -> SecretError {
    match e {
        KeyringError::NoDefaultStore => SecretError::KeyringUnavailable {
            detail: "no credential store is configured for this platform".into(),
            profile: None,
        },
        KeyringError::NoStorageAccess(inner) => SecretError::KeyringLocked {
            detail: inner.to_string(),
            profile: None,
        },
        KeyringError::BadEncoding(_) => SecretError::KeyringFailure {
            detail: "the stored secret is not UTF-8 text; set it again with `profile set-secret`"
                .into(),
        },
        KeyringError::BadDataFormat(_, _) => SecretError::KeyringFailure {
            detail: "the stored secret is malformed; set it again with `profile set-secret`".into(),
        },
        KeyringError::Ambiguous(entries) => SecretError::KeyringFailure {
            detail: format!(
                "{} keyring entries match service {KEYRING_SERVICE:?}; delete the duplicates in your keyring manager",
                entries.len()
            ),
        },
        other => SecretError::KeyringFailure {
            detail: other.to_string(),
        },
    }
}

fn open_blocking(choice: StoreChoice) -> keyring_core::Result<Opened> {
    match choice {
        StoreChoice::Disabled => Err(KeyringError::NoDefaultStore),
        StoreChoice::Platform => open_platform(),
        StoreChoice::SecretService => open_secret_service(),
        StoreChoice::Keyutils => open_keyutils(),
        StoreChoice::Memory => open_memory(),
        StoreChoice::Unreachable => Err(KeyringError::NoDefaultStore),
    }
}

/// One in-memory store per process, so every open sees the same entries.
fn open_memory() -> keyring_core::Result<Opened> {
    static STORE: std::sync::OnceLock<Arc<CredentialStore>> = std::sync::OnceLock::new();
    let store = match STORE.get() {
        Some(s) => s.clone(),
        None => {
            let fresh: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
            STORE.get_or_init(|| fresh).clone()
        }
    };
    Ok((
        store,
        Backend::Other,
        "in-memory demo keyring, forgotten on exit",
    ))
}

#[cfg(target_os = "macos")]
fn open_platform() -> keyring_core::Result<Opened> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok((store, Backend::Other, "macOS Keychain"))
}

#[cfg(target_os = "windows")]
fn open_platform() -> keyring_core::Result<Opened> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok((store, Backend::Other, "Windows Credential Manager"))
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
fn open_platform() -> keyring_core::Result<Opened> {
    open_secret_service()
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn open_secret_service() -> keyring_core::Result<Opened> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok((store, Backend::SecretService, "Secret Service"))
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn open_secret_service() -> keyring_core::Result<Opened> {
    Err(KeyringError::NotSupportedByStore(
        "the Secret Service store exists only on Linux and the BSDs".into(),
    ))
}

#[cfg(target_os = "linux")]
fn open_keyutils() -> keyring_core::Result<Opened> {
    let store: Arc<CredentialStore> = linux_keyutils_keyring_store::Store::new()?;
    Ok((
        store,
        Backend::Other,
        "Linux kernel keyring, keyutils: emptied at reboot",
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_keyutils() -> keyring_core::Result<Opened> {
    Err(KeyringError::NotSupportedByStore(
        "the kernel keyring (keyutils) exists only on Linux".into(),
    ))
}
