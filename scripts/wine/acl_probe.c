/* What Wine does with the protected, owner-only DACLs of src/private_fs (issue 25).
 *
 * Creates a directory and a file with a security descriptor whose DACL is protected and holds
 * one ACE for the token's user, reads both back with GetNamedSecurityInfoW, creates a file
 * without one inside the directory (inheritance), restricts existing files with
 * SetNamedSecurityInfoW(PROTECTED_DACL_SECURITY_INFORMATION) and SetFileSecurityW, and renames
 * a protected file. Prints what it reads; the directory argument must exist (a Windows path).
 *
 *   x86_64-w64-mingw32-gcc-posix -o acl_probe.exe scripts/wine/acl_probe.c -ladvapi32
 *   mkdir /tmp/probe && scripts/wine/runner.sh acl_probe.exe 'Z:\tmp\probe'
 *
 * Debian's Wine 8.0 (8.0~repack-4), on ext4, prints:
 *   wine_get_version: 8.0
 *   token user: S-1-5-21-0-0-0-1000            (the same in every process and prefix)
 *   directory created with sa    protected=0 ... [SYSTEM 0x1f01ff] [user 0x1f01ff]
 *   file created with sa         protected=0 ... [SYSTEM 0x1f01ff] [user 0x1f01ff]
 *   file created without sa      protected=0 ... [SYSTEM] [user] [Everyone 0x1200a9]
 *   plain file after set         (SetNamedSecurityInfoW returned 0) still [SYSTEM] [user]
 *                                [Everyone]: the file became mode 0775
 *   second plain file after set  (SetFileSecurityW) [SYSTEM] [user]
 *   file after rename            [SYSTEM] [user]
 * Wine keeps no security descriptor here: `nm -D /usr/lib/wine/wineserver64` imports no
 * *xattr function (Debian builds it without the `user.wine.sd` support of server/file.c),
 * so wineserver maps a DACL to Unix mode bits and makes a descriptor up from the mode on each
 * read: never SE_DACL_PROTECTED, always a SYSTEM entry, the owner's, and Everyone's when
 * others may read (the group bits it sets, r-x, are not shown). Real Windows keeps the
 * descriptor as given: protected, one entry.
 */
#include <stdio.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

static PSID user_sid(void) {
    HANDLE token;
    static BYTE buf[256];
    DWORD len = 0;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return NULL;
    if (!GetTokenInformation(token, TokenUser, buf, sizeof buf, &len)) return NULL;
    CloseHandle(token);
    return ((TOKEN_USER *)buf)->User.Sid;
}

static void print_sid(const char *label, PSID sid) {
    LPSTR s = NULL;
    if (sid && ConvertSidToStringSidA(sid, &s)) {
        printf("%s%s", label, s);
        LocalFree(s);
    } else {
        printf("%s(none)", label);
    }
}

/* A descriptor whose DACL is protected and grants `sid` everything, ACE flags `flags`. */
static void owner_only(PSECURITY_DESCRIPTOR sd, PACL acl, DWORD acl_len, PSID sid, DWORD flags) {
    InitializeAcl(acl, acl_len, ACL_REVISION);
    AddAccessAllowedAceEx(acl, ACL_REVISION, flags, FILE_ALL_ACCESS, sid);
    InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION);
    SetSecurityDescriptorDacl(sd, TRUE, acl, FALSE);
    SetSecurityDescriptorControl(sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED);
}

static void show(const char *what, const WCHAR *path) {
    PACL dacl = NULL;
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD rev, err = GetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                                           OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                           &owner, NULL, &dacl, NULL, &sd);
    if (err != ERROR_SUCCESS) {
        printf("%-28s GetNamedSecurityInfoW failed: %lu\n", what, (unsigned long)err);
        return;
    }
    GetSecurityDescriptorControl(sd, &control, &rev);
    printf("%-28s protected=%d", what, (control & SE_DACL_PROTECTED) != 0);
    print_sid(" owner=", owner);
    if (!dacl) {
        printf(" dacl=NULL\n");
    } else {
        printf(" aces=%u", dacl->AceCount);
        for (DWORD i = 0; i < dacl->AceCount; i++) {
            ACE_HEADER *ace;
            GetAce(dacl, i, (void **)&ace);
            printf(" [type=%u flags=0x%02x", ace->AceType, ace->AceFlags);
            if (ace->AceType == ACCESS_ALLOWED_ACE_TYPE) {
                ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)ace;
                printf(" mask=0x%08lx", (unsigned long)a->Mask);
                print_sid(" sid=", &a->SidStart);
            }
            printf("]");
        }
        printf("\n");
    }
    LocalFree(sd);
}

int main(int argc, char **argv) {
    WCHAR base[MAX_PATH], dir[MAX_PATH], file[MAX_PATH], child[MAX_PATH], plain[MAX_PATH],
        moved[MAX_PATH];
    BYTE sd_buf[SECURITY_DESCRIPTOR_MIN_LENGTH];
    DWORD acl_buf[64];
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd_buf, FALSE};
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    FARPROC wine = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
    PSID sid = user_sid();
    HANDLE h;
    DWORD n;

    if (argc < 2) return 2;
    MultiByteToWideChar(CP_UTF8, 0, argv[1], -1, base, MAX_PATH);
    swprintf(dir, MAX_PATH, L"%ls\\dir", base);
    swprintf(file, MAX_PATH, L"%ls\\dir\\file", base);
    swprintf(child, MAX_PATH, L"%ls\\dir\\inherited", base);
    swprintf(plain, MAX_PATH, L"%ls\\plain", base);
    swprintf(moved, MAX_PATH, L"%ls\\moved", base);

    printf("wine_get_version: %s\n", wine ? ((const char *(*)(void))wine)() : "(not Wine)");
    print_sid("token user: ", sid);
    printf("\n");

    owner_only(sd_buf, (PACL)acl_buf, sizeof acl_buf, sid, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
    printf("CreateDirectoryW(sa): %d\n", CreateDirectoryW(dir, &sa));
    show("directory created with sa", dir);

    owner_only(sd_buf, (PACL)acl_buf, sizeof acl_buf, sid, 0);
    h = CreateFileW(file, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    printf("CreateFileW(sa): %s\n", h == INVALID_HANDLE_VALUE ? "FAILED" : "ok");
    WriteFile(h, "x", 1, &n, NULL);
    CloseHandle(h);
    show("file created with sa", file);

    h = CreateFileW(child, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CloseHandle(h);
    show("file created without sa", child);

    h = CreateFileW(plain, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CloseHandle(h);
    show("plain file", plain);
    printf("SetNamedSecurityInfoW(protected): %lu\n",
           (unsigned long)SetNamedSecurityInfoW(
               plain, SE_FILE_OBJECT,
               DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL,
               (PACL)acl_buf, NULL));
    show("plain file after set", plain);

    h = CreateFileW(moved, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CloseHandle(h);
    printf("SetFileSecurityW: %d\n", SetFileSecurityW(moved, DACL_SECURITY_INFORMATION, sd_buf));
    show("second plain file after set", moved);
    DeleteFileW(moved);

    printf("MoveFileExW: %d\n", MoveFileExW(file, moved, MOVEFILE_REPLACE_EXISTING));
    show("file after rename", moved);
    return 0;
}
