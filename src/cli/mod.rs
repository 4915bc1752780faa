//! Command-line interface: argument definitions and one module per subcommand.

pub mod check;
pub mod connect;
pub mod exit;
pub mod profile;
pub mod progress;
pub mod run;
pub mod sim;

use clap::{Parser, Subcommand};

pub use exit::Exit;

/// Extract users, groups, members and owners from a Microsoft Entra ID tenant into CSV files.
///
/// Without a subcommand, opens the interactive setup-and-extract wizard.
#[derive(Debug, Parser)]
#[command(name = "entra-extract", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a simulated Entra tenant (token endpoint + Microsoft Graph v1.0) on loopback.
    Sim(sim::SimArgs),
    /// Sign in and check that Directory.Read.All and Member.Read.Hidden are granted.
    Check(check::CheckArgs),
    /// Extract users, groups, members and owners into four CSV files (headless).
    Run(run::RunArgs),
    /// Manage saved profiles and their client secrets.
    Profile(profile::ProfileArgs),
}
