//! `fleet drift`: only out-of-band changes — fields someone else changed or took over,
//! objects fleet applied that are gone, ManagedClusters fleet does not manage. Read-only.

use std::process::ExitCode;

use crate::cli::pipeline::{self, Output, Selection};
use crate::cli::{Colors, Exit, GlobalArgs};
use crate::kube::Clients;
use crate::{plan, render};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    #[command(flatten)]
    pub selection: Selection,
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let loaded = pipeline::load(global)?;
    let targets = pipeline::check_targets(&loaded, &args.selection)?;
    let clients = Clients::new(global.kubeconfig.clone());
    let (full, observed) = pipeline::plan(&loaded, &clients, &args.selection, &targets).await?;
    let drift = plan::build(full.diff.drift_only())?;
    let header = pipeline::header(&loaded, &observed, &targets, true);
    let text = render::render(args.output.into(), &drift, &header, colors.stdout);
    print!("{text}");
    Ok(if observed.is_incomplete() {
        Exit::Incomplete
    } else if drift.has_changes() || !drift.diff.unmanaged_wecs.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}
