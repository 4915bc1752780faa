//! Documented process exit codes, so cron and systemd can branch on the outcome.

use crate::profile::Outcome;

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
    /// Cancelled by Ctrl-C, SIGTERM or SIGHUP; nothing partial was left behind.
    Interrupted = 130,
}

impl Exit {
    /// Every exit code, in order: the table `--help`, the man pages and README.md show.
    pub const ALL: [Exit; 8] = [
        Exit::Success,
        Exit::Failure,
        Exit::BadConfig,
        Exit::AuthFailed,
        Exit::PermissionMissing,
        Exit::ExtractFailed,
        Exit::CompletedWithWarnings,
        Exit::Interrupted,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The `outcome` of `--json` and the run history for this exit code: one contract.
    pub fn outcome(self) -> Outcome {
        match self {
            Exit::Success => Outcome::Success,
            Exit::CompletedWithWarnings => Outcome::Warnings,
            Exit::BadConfig => Outcome::BadConfig,
            Exit::AuthFailed => Outcome::AuthFailed,
            Exit::PermissionMissing => Outcome::PermissionMissing,
            Exit::Interrupted => Outcome::Interrupted,
            Exit::Failure | Exit::ExtractFailed => Outcome::Failed,
        }
    }

    /// What the code means, for people: the one text of `--help`, the man pages' EXIT
    /// STATUS and README.md's table (a test holds README.md to it).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => {
                "unexpected internal or I/O error: disk full while writing (previous files untouched), an internal failure of the run, or stdout unwritable after the files were written"
            }
            Exit::BadConfig => {
                "bad configuration (arguments, profile, no secret, unusable endpoint, untrusted TLS certificate, output directory unusable or held by another run, the wizard or demo started without a terminal); found before any extraction request (an output directory that does not exist yet is created, or found uncreatable, right after sign-in)"
            }
            Exit::AuthFailed => {
                "sign-in failed (wrong tenant, client id, secret or certificate; the message names which)"
            }
            Exit::PermissionMissing => {
                "a required permission (Directory.Read.All / Member.Read.Hidden) is missing"
            }
            Exit::ExtractFailed => {
                "Graph failed the extraction after retries; previous files untouched"
            }
            Exit::CompletedWithWarnings => {
                "files written, with warnings (e.g. hidden-membership groups unreadable, groups deleted mid-run, a profile's state for its next run not saved)"
            }
            Exit::Interrupted => {
                "interrupted (Ctrl-C, SIGTERM, or SIGHUP: a closed terminal) before the files were committed; nothing partial left behind, previous files untouched (an interrupt that arrives once the files are being committed lets the run finish, and stderr says so)"
            }
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
