/* ProcessPrng for Wine 8.0, which has no bcryptprimitives.dll (Windows 10 and later do).
 * Rust's std on Windows imports ProcessPrng for every random number (HashMap seeds
 * included), so without it no test binary starts. scripts/wine/runner.sh builds this into
 * the test Wine prefix only; nothing of it ships.
 */
#include <windows.h>
#include <bcrypt.h>

/* Fills the buffer from the system RNG, as Windows' does (which never fails). */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
