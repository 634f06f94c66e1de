/* Stand-in for Windows' bcryptprimitives.dll, for the Wine test prefix only.
 *
 * Wine 8.0 (Debian 12) has no bcryptprimitives.dll, and Rust's standard library takes its
 * random numbers (HashMap keys) from its ProcessPrng, so every Rust program stops at start.
 * This answers ProcessPrng from advapi32's SystemFunction036 (RtlGenRandom), which Wine has.
 * A gap of Wine, not of Windows: real Windows 10 and later ship the DLL. Built with mingw by
 * `cargo xtask wine-prefix` (xtask/src/windows.rs). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
