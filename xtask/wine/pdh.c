/* Stand-in for pdh.dll (performance counters), for the Wine test prefix only.
 *
 * Wine 8.0's pdh.dll leaves PdhEnumObjectsW unimplemented: calling it aborts the process.
 * sysinfo calls it when it sets up CPU usage (and ignores the result), so the agent's `facts`
 * would stop under Wine. This DLL exports the functions sysinfo imports and answers each with
 * PDH_CSTATUS_NO_OBJECT, so sysinfo goes on without CPU usage (which the agent does not
 * report). A gap of Wine, not of Windows: real Windows has every counter. Built with mingw by
 * `cargo xtask wine-prefix` (xtask/src/windows.rs), loaded instead of Wine's builtin through
 * the prefix's DllOverrides (pdh = native). */
#include <windows.h>

typedef LONG PDH_STATUS;
typedef HANDLE PDH_HQUERY;
typedef HANDLE PDH_HCOUNTER;

#define PDH_CSTATUS_NO_OBJECT ((PDH_STATUS)0xC0000BB8L)

PDH_STATUS WINAPI PdhEnumObjectsW(LPCWSTR source, LPCWSTR machine, LPWSTR list,
                                  LPDWORD size, DWORD detail, BOOL refresh)
{
    (void)source; (void)machine; (void)list; (void)detail; (void)refresh;
    if (size)
        *size = 0;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhOpenQueryW(LPCWSTR source, DWORD_PTR user, PDH_HQUERY *query)
{
    (void)source; (void)user;
    if (query)
        *query = NULL;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhAddEnglishCounterW(PDH_HQUERY query, LPCWSTR path, DWORD_PTR user,
                                        PDH_HCOUNTER *counter)
{
    (void)query; (void)path; (void)user;
    if (counter)
        *counter = NULL;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhCollectQueryData(PDH_HQUERY query)
{
    (void)query;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhGetFormattedCounterValue(PDH_HCOUNTER counter, DWORD format,
                                              LPDWORD type, void *value)
{
    (void)counter; (void)format; (void)type; (void)value;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhGetFormattedCounterArrayW(PDH_HCOUNTER counter, DWORD format,
                                               LPDWORD size, LPDWORD count, void *items)
{
    (void)counter; (void)format; (void)items;
    if (size)
        *size = 0;
    if (count)
        *count = 0;
    return PDH_CSTATUS_NO_OBJECT;
}

PDH_STATUS WINAPI PdhRemoveCounter(PDH_HCOUNTER counter)
{
    (void)counter;
    return ERROR_SUCCESS;
}

PDH_STATUS WINAPI PdhCloseQuery(PDH_HQUERY query)
{
    (void)query;
    return ERROR_SUCCESS;
}
