//! Documented process exit codes, so cron and systemd can branch on the outcome.

/// How a headless command ended. The numeric values are part of the public interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// An unexpected internal or I/O error.
    Failure = 1,
    /// Bad arguments, profile or configuration; nothing was contacted or written.
    BadConfig = 2,
    /// The token endpoint refused the tenant, client id or credential.
    AuthFailed = 3,
    /// A required permission (Directory.Read.All or Member.Read.Hidden) is not granted.
    PermissionMissing = 4,
    /// Graph failed the extraction (after retries); previous files are untouched.
    ExtractFailed = 5,
    /// The files were written, but with warnings (e.g. unreadable hidden memberships).
    CompletedWithWarnings = 6,
    /// Cancelled by Ctrl-C or SIGTERM; nothing partial was left behind.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
