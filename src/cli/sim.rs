//! `entra-extract sim`: serve the simulated tenant.

use clap::Args;

use super::Exit;

/// Arguments of `entra-extract sim`.
#[derive(Debug, Args)]
pub struct SimArgs {}

/// Runs the simulator until Ctrl-C.
pub async fn run(_args: SimArgs) -> color_eyre::Result<Exit> {
    color_eyre::eyre::bail!("the simulated tenant is not built yet")
}
