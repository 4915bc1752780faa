//! Whether a test runs under Wine, and what Wine 8.0 cannot do that Windows can. Shared by
//! the end-to-end tests (`common::wine`), the Graph client tests and the library's own unit
//! tests (both through `#[path]`), so there is one list of Wine's limitations.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the shared helpers"
)]
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]

/// What `CertCreateCertificateChainEngine` fails with under Wine 8.0 when
/// rustls-platform-verifier builds its engine for extra roots (`--extra-ca`, reqwest's
/// `add_root_certificate`): E_INVALIDARG, 0x80070057. The engine's configuration has the
/// Windows 8 layout Microsoft documents (cbSize 88, ending in `dwExclusiveFlags`); Wine's
/// `dlls/crypt32/chain.c`, `CertCreateCertificateChainEngine`, accepts only its two older
/// sizes:
///   `if (pConfig->cbSize != sizeof(CERT_CHAIN_ENGINE_CONFIG_NO_EXCLUSIVE_ROOT)`
///   ` && pConfig->cbSize != sizeof(CERT_CHAIN_ENGINE_CONFIG))`
///   `{ SetLastError(E_INVALIDARG); return FALSE; }`
/// (64 and 80 bytes on x86_64: Wine's struct stops at `hExclusiveTrustedPeople`; line 228 of
/// the copy of wine-mirror/wine read for this). `scripts/wine/chain_engine_probe.c` shows the
/// three sizes against the Wine CI uses. Windows 8 and later accept 88.
pub const EXTRA_ROOTS_REFUSED: &str = "Invalid parameter. (os error -2147024809)";

/// Wine's version when this process runs under Wine: Wine's ntdll exports
/// `wine_get_version`, Windows's does not.
#[cfg(windows)] // Wine only runs Windows programs.
pub fn version() -> Option<String> {
    use std::ffi::{CStr, c_char, c_void};
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn GetModuleHandleA(name: *const c_char) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
    }
    // SAFETY: both names are NUL-terminated; ntdll is loaded in every Windows process;
    // wine_get_version takes nothing and returns a static NUL-terminated string.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr());
        if ntdll.is_null() {
            return None;
        }
        let get = GetProcAddress(ntdll, c"wine_get_version".as_ptr());
        if get.is_null() {
            return None;
        }
        let get = std::mem::transmute::<*mut c_void, extern "C" fn() -> *const c_char>(get);
        Some(CStr::from_ptr(get()).to_string_lossy().into_owned())
    }
}

/// Never under Wine: Wine only runs Windows programs.
#[cfg(not(windows))] // Wine only runs Windows programs.
pub fn version() -> Option<String> {
    None
}

/// Under Wine, asserts that `failure` (what building the extra-roots verifier came to) is
/// Wine's refusal, [`EXTRA_ROOTS_REFUSED`], says so on stderr and returns true: the rest of the
/// caller's test needs Windows 8 or later. Elsewhere returns false and the caller checks
/// the real behaviour.
pub fn refused_extra_roots(failure: &str) -> bool {
    let Some(wine) = version() else {
        return false;
    };
    assert!(
        failure.contains(EXTRA_ROOTS_REFUSED),
        "under Wine {wine}, extra roots should fail with Wine's chain-engine refusal \
         ({EXTRA_ROOTS_REFUSED}); if this Wine accepts them, drop the exception: {failure}"
    );
    eprintln!(
        "Wine {wine}: the extra-roots chain engine is refused as Wine 8.0 refuses it \
         (tests/common/wine.rs); the rest of this test runs on Windows and elsewhere"
    );
    true
}
