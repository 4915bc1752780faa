//! Owner-only on Windows: every file and directory this module creates gets an explicit,
//! protected DACL (nothing inherited from the parent folder, so `C:\exports` being readable
//! by every user of the machine does not matter) with one ACE: the token's user, full
//! control. A directory's ACE is inherited by what is created inside it (log files the
//! appender creates). The descriptor is passed to `CreateFileW` / `CreateDirectoryW`, so the
//! file never exists with a broader DACL.
//!
//! Nobody else gets an ACE:
//! - not SYSTEM: nothing of the program runs as SYSTEM (a scheduled run is a task of the
//!   user; the Credential Manager entry is the user's and needs no file access), and backup
//!   and antivirus software read through the backup privilege, which bypasses DACLs;
//! - not Administrators: an administrator can take ownership of any file and grant
//!   themselves access; an ACE would let every elevated process read the tenant data
//!   silently instead.
//!
//! The owner keeps `READ_CONTROL` and `WRITE_DAC` whatever the DACL says, so the user can
//! always widen it again (icacls, Explorer).

use std::ffi::{OsStr, c_void};
use std::fs::File;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{FromRawHandle, RawHandle};
use std::path::Path;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_INSUFFICIENT_BUFFER, ERROR_SUCCESS, GENERIC_ALL, GENERIC_READ,
    GENERIC_WRITE, HANDLE, HLOCAL, INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, AddAccessAllowedAceEx,
    CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, GetAce, GetLengthSid,
    GetSecurityDescriptorControl, GetTokenInformation, INHERIT_ONLY_ACE, InitializeAcl,
    InitializeSecurityDescriptor, OBJECT_INHERIT_ACE, PROTECTED_DACL_SECURITY_INFORMATION, PSID,
    SE_DACL_PROTECTED, SECURITY_ATTRIBUTES, SECURITY_DESCRIPTOR, SetFileSecurityW,
    SetSecurityDescriptorControl, SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    CREATE_NEW, CreateDirectoryW, CreateFileW, FILE_ALL_ACCESS, FILE_ATTRIBUTE_NORMAL,
    FILE_READ_DATA, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_ALWAYS,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::SystemServices::{
    ACCESS_ALLOWED_ACE_TYPE, SECURITY_DESCRIPTOR_REVISION,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::Create;

/// `NT AUTHORITY\SYSTEM`.
pub const SYSTEM_SID: &str = "S-1-5-18";
/// `BUILTIN\Administrators`.
pub const ADMINISTRATORS_SID: &str = "S-1-5-32-544";
/// `Everyone`.
pub const EVERYONE_SID: &str = "S-1-1-0";

pub(super) fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let descriptor = OwnerOnly::new(Object::Directory)?;
    create_dirs(dir, &descriptor)
}

/// `dir` and its missing parents, each created with `descriptor`.
fn create_dirs(dir: &Path, descriptor: &OwnerOnly) -> io::Result<()> {
    match create_one_dir(dir, descriptor) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_dirs(parent, descriptor)?;
            }
            create_one_dir(dir, descriptor)
        }
        // Another process made it meanwhile.
        Err(_) if dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

fn create_one_dir(dir: &Path, descriptor: &OwnerOnly) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let path = wide(dir.as_os_str());
    let attributes = descriptor.attributes();
    // SAFETY: `path` is NUL-terminated; `attributes` points at a descriptor that lives
    // through the call.
    if unsafe { CreateDirectoryW(path.as_ptr(), &attributes) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) fn restrict(path: &Path, is_dir: bool) -> io::Result<()> {
    let object = if is_dir {
        Object::Directory
    } else {
        Object::File
    };
    let descriptor = OwnerOnly::new(object)?;
    let wide_path = wide(path.as_os_str());
    // SetFileSecurityW, not SetNamedSecurityInfoW: Wine 8.0's SetNamedSecurityInfoW with
    // PROTECTED_DACL_SECURITY_INFORMATION reports success and opens the file to everyone
    // (scripts/wine/acl_probe.c); both protect the DACL on Windows.
    // SAFETY: `wide_path` is NUL-terminated; the descriptor lives through the call.
    let ok = unsafe {
        SetFileSecurityW(
            wide_path.as_ptr(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            descriptor.as_ptr(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) fn open(path: &Path, create: Create) -> io::Result<File> {
    let descriptor = OwnerOnly::new(Object::File)?;
    let attributes = descriptor.attributes();
    let disposition = match create {
        Create::New => CREATE_NEW,
        Create::IfMissing => OPEN_ALWAYS,
    };
    let wide_path = wide(path.as_os_str());
    // SAFETY: `wide_path` is NUL-terminated; `attributes` and its descriptor live through
    // the call. The handle returned is owned by the `File` from here on.
    let handle = unsafe {
        CreateFileW(
            wide_path.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            // What std's OpenOptions shares: others may open, rename or delete it.
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            &attributes,
            disposition,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a valid handle nobody else owns.
    Ok(unsafe { File::from_raw_handle(handle as RawHandle) })
}

/// Windows cannot fsync a directory; NTFS journals the rename.
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// What a descriptor is for: a directory's ACE is inherited by what is created inside.
#[derive(Debug, Clone, Copy)]
enum Object {
    File,
    Directory,
}

/// A security descriptor whose DACL is protected and grants the current user full control.
struct OwnerOnly {
    descriptor: Box<SECURITY_DESCRIPTOR>,
    // The descriptor points into these two buffers.
    _acl: Vec<u32>,
    _user: TokenUserBuffer,
}

impl OwnerOnly {
    fn new(object: Object) -> io::Result<Self> {
        let user = TokenUserBuffer::current()?;
        let sid = user.sid();
        let flags = match object {
            Object::File => 0,
            Object::Directory => OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
        };
        // SAFETY: `sid` is a valid SID from the token.
        let sid_len = unsafe { GetLengthSid(sid) } as usize;
        let acl_len =
            size_of::<ACL>() + size_of::<ACCESS_ALLOWED_ACE>() - size_of::<u32>() + sid_len;
        let mut acl = vec![0u32; acl_len.div_ceil(4)];
        let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
        let mut descriptor = Box::new(SECURITY_DESCRIPTOR {
            Revision: 0,
            Sbz1: 0,
            Control: 0,
            Owner: std::ptr::null_mut(),
            Group: std::ptr::null_mut(),
            Sacl: std::ptr::null_mut(),
            Dacl: std::ptr::null_mut(),
        });
        let sd = (&raw mut *descriptor).cast::<c_void>();
        // SAFETY: `acl` is a 4-byte aligned buffer of `acl_len` bytes or more, `sid` is
        // valid, `sd` points at a SECURITY_DESCRIPTOR; the buffers outlive the descriptor's
        // use (they move into `Self` with it, on the heap).
        let ok = unsafe {
            InitializeAcl(acl_ptr, acl_len as u32, ACL_REVISION) != 0
                && AddAccessAllowedAceEx(acl_ptr, ACL_REVISION, flags, FILE_ALL_ACCESS, sid) != 0
                && InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) != 0
                && SetSecurityDescriptorDacl(sd, 1, acl_ptr, 0) != 0
                && SetSecurityDescriptorControl(sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED) != 0
        };
        if !ok {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            descriptor,
            _acl: acl,
            _user: user,
        })
    }

    fn as_ptr(&self) -> *mut c_void {
        (&raw const *self.descriptor).cast_mut().cast()
    }

    fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.as_ptr(),
            bInheritHandle: 0,
        }
    }
}

/// The process token's `TOKEN_USER`, which holds the user's SID.
struct TokenUserBuffer(Vec<u64>);

impl TokenUserBuffer {
    fn current() -> io::Result<Self> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo-handle of this process; `token` receives a handle we close.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let result = (|| {
            let mut len = 0u32;
            // SAFETY: asks for the size only.
            unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(ERROR_INSUFFICIENT_BUFFER as i32) {
                return Err(err);
            }
            let mut buffer = vec![0u64; (len as usize).div_ceil(8)];
            // SAFETY: `buffer` holds `len` bytes, 8-byte aligned.
            let ok = unsafe {
                GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len)
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Self(buffer))
        })();
        // SAFETY: the handle OpenProcessToken gave us.
        unsafe { CloseHandle(token) };
        result
    }

    fn sid(&self) -> PSID {
        // SAFETY: the buffer holds a TOKEN_USER whose SID points into the buffer.
        unsafe { (*self.0.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

/// The current user's SID (`S-1-5-21-…`).
pub fn current_user_sid() -> io::Result<String> {
    sid_string(TokenUserBuffer::current()?.sid())
}

fn sid_string(sid: PSID) -> io::Result<String> {
    let mut out: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` is valid; `out` receives a LocalAlloc'd string we free.
    if unsafe { ConvertSidToStringSidW(sid, &mut out) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a NUL-terminated string from ConvertSidToStringSidW.
    let text = unsafe {
        let len = (0..).take_while(|&i| *out.add(i) != 0).count();
        String::from_utf16_lossy(std::slice::from_raw_parts(out, len))
    };
    // SAFETY: allocated by ConvertSidToStringSidW.
    unsafe { LocalFree(out as HLOCAL) };
    Ok(text)
}

/// A file's DACL as Windows reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dacl {
    /// Whether it ignores the parent's inheritable ACEs (`SE_DACL_PROTECTED`).
    pub protected: bool,
    /// Its entries in order; `None` for a NULL DACL, which lets everyone in.
    pub entries: Option<Vec<Ace>>,
}

/// One access-allowed entry of a DACL (other kinds are kept with their type only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// `ACE_HEADER.AceType` (0: access allowed).
    pub kind: u8,
    /// `ACE_HEADER.AceFlags` (inheritance).
    pub flags: u8,
    /// The access mask (0 for kinds other than access allowed).
    pub mask: u32,
    /// The SID it is for, as a string (empty for kinds other than access allowed).
    pub sid: String,
}

impl Ace {
    /// An access-allowed entry granting full control.
    pub fn full_control(sid: &str, flags: u8) -> Self {
        Self {
            kind: ACCESS_ALLOWED_ACE_TYPE as u8,
            flags,
            mask: FILE_ALL_ACCESS,
            sid: sid.to_owned(),
        }
    }

    /// Whether it lets its SID read the object's content.
    fn grants_read(&self) -> bool {
        self.kind == ACCESS_ALLOWED_ACE_TYPE as u8
            && self.flags & INHERIT_ONLY_ACE as u8 == 0
            && self.mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL) != 0
    }
}

/// The ACE flags of a directory's entry: inherited by files and subdirectories.
pub const DIRECTORY_ACE_FLAGS: u8 = (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) as u8;

/// Reads the DACL of `path` back.
pub fn dacl(path: &Path) -> io::Result<Dacl> {
    let wide_path = wide(path.as_os_str());
    let mut acl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: *mut c_void = std::ptr::null_mut();
    // SAFETY: `wide_path` is NUL-terminated; `descriptor` receives a LocalAlloc'd buffer
    // (which `acl` points into) that we free below.
    let err = unsafe {
        GetNamedSecurityInfoW(
            wide_path.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut acl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if err != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(err as i32));
    }
    // SAFETY: `descriptor` and `acl` are valid until the LocalFree.
    let read = unsafe { read_dacl(descriptor, acl) };
    // SAFETY: allocated by GetNamedSecurityInfoW.
    unsafe { LocalFree(descriptor as HLOCAL) };
    read
}

/// # Safety
/// `descriptor` is a valid security descriptor and `acl` its DACL or null.
unsafe fn read_dacl(descriptor: *mut c_void, acl: *mut ACL) -> io::Result<Dacl> {
    let mut control = 0u16;
    let mut revision = 0u32;
    // SAFETY: the caller's promise.
    if unsafe { GetSecurityDescriptorControl(descriptor, &mut control, &mut revision) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let protected = control & SE_DACL_PROTECTED != 0;
    if acl.is_null() {
        return Ok(Dacl {
            protected,
            entries: None,
        });
    }
    // SAFETY: the caller's promise.
    let count = unsafe { (*acl).AceCount };
    let mut entries = Vec::with_capacity(count.into());
    for i in 0..u32::from(count) {
        let mut ace: *mut c_void = std::ptr::null_mut();
        // SAFETY: `i` is below the ACE count.
        if unsafe { GetAce(acl, i, &mut ace) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: every ACE starts with its header.
        let header = unsafe { *ace.cast::<ACE_HEADER>() };
        let (mask, sid) = if u32::from(header.AceType) == ACCESS_ALLOWED_ACE_TYPE {
            let allowed = ace.cast::<ACCESS_ALLOWED_ACE>();
            // SAFETY: an access-allowed ACE: its mask, then its SID from `SidStart`.
            unsafe {
                (
                    (*allowed).Mask,
                    sid_string((&raw mut (*allowed).SidStart).cast())?,
                )
            }
        } else {
            (0, String::new())
        };
        entries.push(Ace {
            kind: header.AceType,
            flags: header.AceFlags,
            mask,
            sid,
        });
    }
    Ok(Dacl {
        protected,
        entries: Some(entries),
    })
}

/// The SIDs, other than the current user's, SYSTEM's and the Administrators', that the DACL
/// of `path` lets read it (`Everyone` for a NULL DACL). SYSTEM and administrators can read
/// any file whatever its DACL, so an entry for them makes it no less private.
pub fn other_readers(path: &Path) -> io::Result<Vec<String>> {
    let user = current_user_sid()?;
    let Some(entries) = dacl(path)?.entries else {
        return Ok(vec![EVERYONE_SID.to_owned()]);
    };
    let mut others: Vec<String> = entries
        .into_iter()
        .filter(|a| {
            a.grants_read() && ![&user[..], SYSTEM_SID, ADMINISTRATORS_SID].contains(&&a.sid[..])
        })
        .map(|a| a.sid)
        .collect();
    others.dedup();
    Ok(others)
}

/// Wine's version when the program runs under Wine (ntdll exports `wine_get_version`).
pub fn wine_version() -> Option<String> {
    let ntdll = wide(OsStr::new("ntdll.dll"));
    // SAFETY: ntdll is always loaded; the name is NUL-terminated.
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated export name.
    let export = unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }?;
    // SAFETY: Wine's `const char *wine_get_version(void)`.
    let version = unsafe {
        let get: unsafe extern "C" fn() -> *const std::ffi::c_char = std::mem::transmute(export);
        std::ffi::CStr::from_ptr(get())
    };
    Some(version.to_string_lossy().into_owned())
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// What reading back the DACL of a file (`flags` 0) or directory ([`DIRECTORY_ACE_FLAGS`])
/// this module made returns, for tests. On Windows: protected, the user's ACE alone. Under
/// Wine 8.0 (Debian's build) no descriptor is kept: its wineserver has no xattr support, so
/// each read makes one up from the Unix mode (never protected, SYSTEM always, the owner,
/// Everyone when others may read); scripts/wine/acl_probe.c shows it.
pub fn owner_only_as_read_back(flags: u8) -> io::Result<Dacl> {
    let user = Ace::full_control(&current_user_sid()?, flags);
    Ok(if wine_version().is_some() {
        Dacl {
            protected: false,
            entries: Some(vec![Ace::full_control(SYSTEM_SID, flags), user]),
        }
    } else {
        Dacl {
            protected: true,
            entries: Some(vec![user]),
        }
    })
}

/// Gives `path` a DACL that lets everyone read it (and the user do anything), for tests:
/// a file the plaintext-secret check must refuse. Panics on failure.
pub fn open_to_everyone(path: &Path) {
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    };
    let sddl = wide(OsStr::new(&format!(
        "D:(A;;FA;;;{})(A;;FR;;;WD)",
        // A test helper, documented to panic: the test fails on the reason.
        current_user_sid().expect("the test's user SID")
    )));
    let mut descriptor: *mut c_void = std::ptr::null_mut();
    let path = wide(path.as_os_str());
    // SAFETY: NUL-terminated strings; the descriptor is freed after use.
    unsafe {
        assert_ne!(
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            ),
            0
        );
        assert_ne!(
            SetFileSecurityW(path.as_ptr(), DACL_SECURITY_INFORMATION, descriptor),
            0,
            "{}",
            io::Error::last_os_error()
        );
        LocalFree(descriptor as HLOCAL);
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;

    use windows_sys::Win32::Security::GetSecurityDescriptorDacl;

    use super::super::{copy_new, create_new, open_or_create, write_atomic};
    use super::*;

    /// The descriptor handed to CreateFileW and CreateDirectoryW, read back in memory: Wine
    /// keeps no descriptor on files (it rebuilds one from the Unix mode), so this is where
    /// CI sees the exact list real Windows gets — protected, one full-control entry for the
    /// user, inherited by what a directory holds.
    #[test]
    fn the_descriptor_given_at_creation_is_protected_and_grants_only_the_user() {
        let user = current_user_sid().unwrap();
        for (object, flags) in [(Object::File, 0), (Object::Directory, DIRECTORY_ACE_FLAGS)] {
            let owner_only = OwnerOnly::new(object).unwrap();
            let (mut present, mut defaulted) = (0, 0);
            let mut acl: *mut ACL = std::ptr::null_mut();
            // SAFETY: a valid descriptor; the ACL pointer points into `owner_only`.
            let ok = unsafe {
                GetSecurityDescriptorDacl(
                    owner_only.as_ptr(),
                    &mut present,
                    &mut acl,
                    &mut defaulted,
                )
            };
            assert!(ok != 0 && present != 0, "{}", io::Error::last_os_error());
            // SAFETY: `acl` is the descriptor's DACL, alive with `owner_only`.
            let read = unsafe { read_dacl(owner_only.as_ptr(), acl) }.unwrap();
            assert_eq!(
                read,
                Dacl {
                    protected: true,
                    entries: Some(vec![Ace::full_control(&user, flags)]),
                },
                "{object:?}"
            );
        }
    }

    #[test]
    fn files_and_the_directories_made_for_them_grant_only_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("a").join("b");
        let path = made.join("f");
        write_atomic(&path, b"x").unwrap();
        assert_eq!(dacl(&path).unwrap(), owner_only_as_read_back(0).unwrap());
        assert_eq!(
            dacl(&made).unwrap(),
            owner_only_as_read_back(DIRECTORY_ACE_FLAGS).unwrap()
        );
        assert_eq!(
            dacl(&dir.path().join("a")).unwrap(),
            owner_only_as_read_back(DIRECTORY_ACE_FLAGS).unwrap()
        );
        let new = dir.path().join("new");
        create_new(&new).unwrap().write_all(b"x").unwrap();
        assert_eq!(dacl(&new).unwrap(), owner_only_as_read_back(0).unwrap());
        let lock = dir.path().join("lock");
        drop(open_or_create(&lock).unwrap());
        assert_eq!(dacl(&lock).unwrap(), owner_only_as_read_back(0).unwrap());
        assert!(other_readers(&path).unwrap().is_empty());
    }

    #[test]
    fn a_copy_is_owner_only_whatever_the_source_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::write(&open, "x").unwrap();
        open_to_everyone(&open);
        assert_eq!(other_readers(&open).unwrap(), [EVERYONE_SID]);
        let copy = dir.path().join("copy");
        copy_new(&open, &copy).unwrap();
        assert_eq!(dacl(&copy).unwrap(), owner_only_as_read_back(0).unwrap());
    }

    #[test]
    fn restrict_takes_back_what_everyone_could_read() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("d");
        fs::create_dir(&sub).unwrap();
        let file = sub.join("f");
        fs::write(&file, "x").unwrap();
        open_to_everyone(&file);
        assert_eq!(other_readers(&file).unwrap(), [EVERYONE_SID]);
        super::super::restrict(&file).unwrap();
        super::super::restrict(&sub).unwrap();
        assert_eq!(dacl(&file).unwrap(), owner_only_as_read_back(0).unwrap());
        assert_eq!(
            dacl(&sub).unwrap(),
            owner_only_as_read_back(DIRECTORY_ACE_FLAGS).unwrap()
        );
        assert!(other_readers(&file).unwrap().is_empty());
    }

    #[test]
    fn wine_is_recognised_where_the_test_runner_uses_it() {
        // scripts/wine/runner.sh sets WINEPREFIX, which Wine passes on to the program.
        assert_eq!(
            wine_version().is_some(),
            std::env::var_os("WINEPREFIX").is_some()
        );
        let user = current_user_sid().unwrap();
        assert!(user.starts_with("S-1-5-"), "{user}");
        assert_eq!(user, current_user_sid().unwrap());
    }
}
