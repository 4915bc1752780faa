//! Profiles, their secrets and their schedules through the binary: `profile`, `schedule`,
//! `app create`, the Secret Service, the Windows Credential Manager and a real terminal. One
//! test binary (one link, one Wine start); each module is one subject.

mod app_create;
#[path = "../common/mod.rs"]
mod common;
mod profile_cli;
mod profile_lifecycle;
mod profile_tty;
mod schedule_cli;
mod schedule_launchd;
mod schedule_windows;
mod secret_service;
mod windows_user;
