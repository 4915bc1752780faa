//! `entra-extract check`: sign in and report whether Directory.Read.All and
//! Member.Read.Hidden are granted, with the exact fix when they are not.

use clap::Args;
use serde::Serialize;

use super::Exit;
use super::connect::{ConnectArgs, Failure};
use crate::permissions::check::check;
use crate::permissions::report::{GrantState, PermissionReport};

/// Arguments of `entra-extract check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print the permission report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the check; exit 0 when both permissions are granted, 4 when one is missing.
pub async fn run(args: CheckArgs) -> color_eyre::Result<Exit> {
    let conn = match args.connect.connect().await {
        Ok(c) => c,
        Err(f) => return Ok(fail(f, args.json)),
    };
    super::connect::cancel_on_signals(conn.client.cancellation().clone());
    let report = match check(&conn.client).await {
        Ok(r) => r,
        Err(e) => return Ok(fail(conn.graph_failure(&e), args.json)),
    };
    let exit = if report.all_granted() {
        Exit::Success
    } else {
        Exit::PermissionMissing
    };
    if args.json {
        print_json(exit, Some(&report), None)?;
    } else {
        crate::out!("{}", render(&report));
    }
    Ok(exit)
}

/// `check --json`: `outcome` and `exit_code` on every exit, as `run --json` has them, then
/// the permission report, or the `error` of a check that could not be made.
#[derive(Serialize)]
struct CheckJson<'a> {
    outcome: crate::profile::Outcome,
    exit_code: u8,
    #[serde(flatten)]
    report: Option<&'a PermissionReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn print_json(
    exit: Exit,
    report: Option<&PermissionReport>,
    error: Option<&str>,
) -> serde_json::Result<()> {
    let body = CheckJson {
        outcome: exit.outcome(),
        exit_code: exit.code(),
        report,
        error,
    };
    crate::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}

/// Reports a failure on stderr and, with `--json`, on stdout without a permission report,
/// so a script always gets JSON (and never a report it could mistake for a result).
fn fail(f: Failure, json: bool) -> Exit {
    if json && let Err(e) = print_json(f.exit, None, Some(&f.message)) {
        tracing::error!(%e, "cannot serialise the check's failure");
    }
    f.report()
}

/// The human-readable report.
pub fn render(report: &PermissionReport) -> String {
    let mut out = String::new();
    for p in &report.required {
        let mark = match p.state {
            GrantState::Granted => "granted",
            GrantState::Missing => "MISSING",
            GrantState::Unknown => "unknown",
        };
        out += &format!("{:<20} {mark:<8} ({})\n", p.name, p.evidence);
    }
    if !report.remediation.is_empty() {
        out += "\nTo fix:\n";
        for (i, step) in report.remediation.iter().enumerate() {
            out += &format!("  {}. {step}\n", i + 1);
        }
    }
    if !report.grant_commands.is_empty() {
        out += "\nOr run one of these as an administrator:\n";
        for c in &report.grant_commands {
            out += &format!("  {}:\n    {}\n", c.tool, c.command);
        }
    }
    if !report.over_privileged.is_empty() {
        out += &format!(
            "\nwarning: the app also holds write permissions it does not need: {}. Remove them under API permissions (least privilege).\n",
            report.over_privileged.join(", ")
        );
    }
    for s in report.expiring_secrets() {
        let hint = s.hint.as_deref().unwrap_or("?");
        out += &if s.days_left < 0 {
            format!(
                "\nwarning: client secret {hint}… expired on {} ({} days ago).\n",
                s.end_date_time, -s.days_left
            )
        } else {
            format!(
                "\nwarning: client secret {hint}… expires on {} (in {} days); create a new one under Certificates & secrets.\n",
                s.end_date_time, s.days_left
            )
        };
    }
    out
}
