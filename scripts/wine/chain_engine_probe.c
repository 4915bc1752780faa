/* Evidence that --extra-ca fails under Wine because of Wine, not entra-extract.
 *
 * rustls-platform-verifier builds its --extra-ca chain engine with the Windows 8+ layout of
 * CERT_CHAIN_ENGINE_CONFIG (hExclusiveRoot, then dwExclusiveFlags: cbSize 88 on x86_64), as
 * Microsoft documents it. Wine 8.0's crypt32 accepts 64 and 80 bytes only and fails 88 with
 * E_INVALIDARG (0x80070057, "Invalid parameter. (os error -2147024809)") - the error of every
 * --extra-ca test under Wine. Real Windows 8 and later accept it.
 *
 *   x86_64-w64-mingw32-gcc-posix -o probe.exe scripts/wine/chain_engine_probe.c -lcrypt32
 *   scripts/wine/runner.sh probe.exe
 */
#include <stddef.h>
#include <stdio.h>
#include <windows.h>
#include <wincrypt.h>

typedef struct {
    DWORD cbSize;
    HCERTSTORE hRestrictedRoot, hRestrictedTrust, hRestrictedOther;
    DWORD cAdditionalStore;
    HCERTSTORE *rghAdditionalStore;
    DWORD dwFlags, dwUrlRetrievalTimeout, MaximumCachedCertificates, CycleDetectionModulus;
    HCERTSTORE hExclusiveRoot, hExclusiveTrustedPeople; /* Windows 7 */
    DWORD dwExclusiveFlags;                             /* Windows 8 */
} ENGINE_CONFIG;

static void try_size(const char *layout, DWORD size, HCERTSTORE exclusive_root) {
    ENGINE_CONFIG config;
    HCERTCHAINENGINE engine = NULL;
    memset(&config, 0, sizeof config);
    config.cbSize = size;
    if (size > offsetof(ENGINE_CONFIG, hExclusiveRoot))
        config.hExclusiveRoot = exclusive_root;
    if (CertCreateCertificateChainEngine((PCERT_CHAIN_ENGINE_CONFIG)&config, &engine)) {
        printf("%-10s cbSize %2lu: ok\n", layout, (unsigned long)size);
        CertFreeCertificateChainEngine(engine);
    } else {
        printf("%-10s cbSize %2lu: FAILED, error 0x%08lx\n", layout, (unsigned long)size,
               (unsigned long)GetLastError());
    }
}

int main(void) {
    HCERTSTORE roots = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
    try_size("original", offsetof(ENGINE_CONFIG, hExclusiveRoot), roots);
    try_size("Windows 7", offsetof(ENGINE_CONFIG, dwExclusiveFlags), roots);
    try_size("Windows 8", sizeof(ENGINE_CONFIG), roots);
    CertCloseStore(roots, 0);
    return 0;
}
