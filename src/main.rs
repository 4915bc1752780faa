//! Argument parsing and dispatch only.

// Outside tests: no `unwrap` (an `expect` says why it cannot fail) and no function longer
// than clippy.toml's threshold (a function is one phase). Tests may do both.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::too_many_lines))]

use std::io::Write;

use entra_extract::cli::{Cli, Command, Exit};

/// Notes a standard output closed at start (`>&-`) before Rust's runtime reopens it on
/// `/dev/null` (std's `sanitize_standard_fds`, which runs after the constructors and before
/// `main`), where the summary would vanish without an error; the command says so on stderr
/// when it ends ([`entra_extract::cli::stdout::settle`]). A constructor: ELF `.init_array`,
/// Mach-O `__mod_init_func`. glibc and FreeBSD call it with `(argc, argv, envp)` (as std's
/// own `ARGV_INIT_ARRAY` is declared), macOS with those and more, musl with none; it reads
/// none of them, so every caller's convention is met.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
))]
#[used]
#[cfg_attr(target_os = "macos", unsafe(link_section = "__DATA,__mod_init_func"))]
#[cfg_attr(not(target_os = "macos"), unsafe(link_section = ".init_array"))]
static NOTE_CLOSED_STDOUT: extern "C" fn(
    std::ffi::c_int,
    *const *const std::ffi::c_char,
    *const *const std::ffi::c_char,
) = {
    extern "C" fn note(
        _argc: std::ffi::c_int,
        _argv: *const *const std::ffi::c_char,
        _envp: *const *const std::ffi::c_char,
    ) {
        // SAFETY: fcntl(F_GETFD) on a descriptor number only reads its flags (EBADF when
        // it is closed); nothing else runs yet.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            entra_extract::cli::stdout::note_closed_at_start();
        }
    }
    note
};

/// Windows: std reopens nothing, and writes to a missing standard output handle succeed
/// without going anywhere; std hands out a null handle then.
#[cfg(windows)]
fn note_closed_stdout() {
    use std::os::windows::io::AsRawHandle;
    if std::io::stdout().as_raw_handle().is_null() {
        entra_extract::cli::stdout::note_closed_at_start();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    #[cfg(windows)]
    note_closed_stdout();
    if let Err(e) = color_eyre::install() {
        let _ = writeln!(std::io::stderr(), "error: {e}");
        return Exit::Failure.into();
    }
    entra_extract::private_fs::owner_only_umask();
    let cli: Cli = entra_extract::cli::parse();
    // Logs go to a file only; a missing home directory just means no log file.
    let _log_guard = entra_extract::profile::Dirs::from_env()
        .ok()
        .and_then(|d| entra_extract::logging::init(&d.data.join("logs")).ok());
    let result = match cli.command {
        Some(Command::Demo(args)) => entra_extract::cli::demo::run(args).await,
        Some(Command::Sim(args)) => entra_extract::cli::sim::run(args).await,
        Some(Command::App(args)) => entra_extract::cli::app::run(args).await,
        Some(Command::Check(args)) => entra_extract::cli::check::run(args).await,
        Some(Command::Run(args)) => entra_extract::cli::run::run(args).await,
        Some(Command::Profile(args)) => entra_extract::cli::profile::run(args).await,
        Some(Command::Schedule(args)) => Ok(entra_extract::cli::schedule::run(args)),
        Some(Command::Completions { shell }) => Ok(entra_extract::cli::completions(shell)),
        Some(Command::Man { dir }) => entra_extract::cli::man(dir.as_deref()),
        None => entra_extract::cli::wizard().await,
    };
    match result {
        // A closed or full stdout is settled here, after the work is done.
        Ok(exit) => entra_extract::cli::stdout::settle(exit).into(),
        Err(report) => {
            // Not eprintln!, which panics when stderr is gone (the wizard's terminal closed).
            let _ = writeln!(std::io::stderr(), "Error: {report:?}");
            Exit::Failure.into()
        }
    }
}
