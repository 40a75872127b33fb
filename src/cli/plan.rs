//! `fleet plan`: what apply would change, read-only, no lock.

use std::process::ExitCode;

use crate::cli::pipeline::{self, Output, Selection};
use crate::cli::{Colors, Exit, GlobalArgs};
use crate::kube::Clients;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit 2 when there are changes (0 when none).
    #[arg(long)]
    pub detailed_exitcode: bool,
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
    let (plan, observed) = pipeline::plan(&loaded, &clients, &args.selection, &targets).await?;
    let header = pipeline::header(&loaded, &observed, &targets, false);
    let text = render::render(args.output.into(), &plan, &header, colors.stdout);
    print!("{text}");
    Ok(if observed.is_incomplete() {
        Exit::Incomplete
    } else if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}
