/* Shows which console control events Wine raises itself (docs/windows.md). It starts a copy
 * of itself in a pseudo console, in a new process group, with a handler that records every
 * event it receives; then
 *   - "break": a second copy in the same console calls
 *     GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group), as a Windows program or conhost's
 *     Ctrl-Break key does;
 *   - "close": the pseudo console is closed (ClosePseudoConsole), which on Windows sends
 *     CTRL_CLOSE_EVENT to every process attached to it.
 *   x86_64-w64-mingw32-gcc-posix -o ctrl_event_probe.exe ctrl_event_probe.c
 *   scripts/wine/runner.sh ctrl_event_probe.exe break </dev/null
 *   scripts/wine/runner.sh ctrl_event_probe.exe close </dev/null
 * Wine 8.0: "break" prints "GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT): 0, error 6" (with
 * WINEDEBUG=+server: "ioctl( code=IOCTL_CONDRV_CTRL_EVENT ... ) = NOT_IMPLEMENTED"), and
 * both modes end "child received nothing (exit 7)": the child sleeps its 10 s out. Windows
 * ends them "received event 1" and "received event 2". */
#define NTDDI_VERSION 0x0A000006
#define _WIN32_WINNT 0x0A00
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static BOOL WINAPI record(DWORD event) {
    printf("received event %lu\n", event);
    fflush(stdout);
    ExitProcess(100 + event);
    return TRUE;
}

static DWORD WINAPI drain(void *pipe) {
    char buf[4096];
    DWORD n;
    while (ReadFile((HANDLE)pipe, buf, sizeof buf, &n, NULL) && n) {}
    return 0;
}

/* Starts `argv0 args` in pseudo console `console`. */
static PROCESS_INFORMATION start(const char *argv0, const char *args, HPCON console) {
    STARTUPINFOEXA si = {0};
    SIZE_T len = 0;
    si.StartupInfo.cb = sizeof si;
    InitializeProcThreadAttributeList(NULL, 1, 0, &len);
    si.lpAttributeList = malloc(len);
    InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &len);
    UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE,
                              console, sizeof console, NULL, NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" %s", argv0, args);
    PROCESS_INFORMATION pi;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE,
                        EXTENDED_STARTUPINFO_PRESENT | CREATE_NEW_PROCESS_GROUP, NULL, NULL,
                        &si.StartupInfo, &pi)) {
        printf("CreateProcess: error %lu\n", GetLastError());
        exit(1);
    }
    return pi;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) {
        SetConsoleCtrlHandler(record, TRUE);
        Sleep(10000);
        return 7;
    }
    if (argc > 2 && !strcmp(argv[1], "send")) {
        BOOL sent = GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, strtoul(argv[2], NULL, 10));
        return sent ? 0 : (int)GetLastError();
    }
    if (argc < 2) return 2;
    /* The child's output goes to this process's stdout through a file, not the console. */
    HANDLE in_read, in_write, out_read, out_write;
    CreatePipe(&in_read, &in_write, NULL, 0);
    CreatePipe(&out_read, &out_write, NULL, 0);
    HPCON console;
    HRESULT made = CreatePseudoConsole((COORD){80, 25}, in_read, out_write, 0, &console);
    printf("CreatePseudoConsole: %#lx\n", made);
    CreateThread(NULL, 0, drain, out_read, 0, NULL);
    PROCESS_INFORMATION child = start(argv[0], "child", console);
    Sleep(1500);
    if (!strcmp(argv[1], "break")) {
        char args[64];
        snprintf(args, sizeof args, "send %lu", child.dwProcessId);
        PROCESS_INFORMATION sender = start(argv[0], args, console);
        DWORD error;
        WaitForSingleObject(sender.hProcess, 10000);
        GetExitCodeProcess(sender.hProcess, &error);
        printf("GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT): %d, error %lu\n", !error, error);
    } else {
        ClosePseudoConsole(console);
        printf("ClosePseudoConsole\n");
    }
    DWORD code;
    WaitForSingleObject(child.hProcess, 20000);
    GetExitCodeProcess(child.hProcess, &code);
    printf(code >= 100 ? "received event %lu\n" : "child received nothing (exit %lu)\n",
           code >= 100 ? code - 100 : code);
    return 0;
}
