//! `fleet graph`: the plan's dependency graph.

use std::process::ExitCode;

use clap::ValueEnum;

use crate::cli::pipeline::{self, Selection};
use crate::cli::{Exit, GlobalArgs};
use crate::kube::Clients;
use crate::render;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Graph format (Graphviz DOT: `fleet graph | dot -Tsvg > plan.svg`).
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    pub format: Format,
    #[command(flatten)]
    pub selection: Selection,
}

pub async fn execute(global: &GlobalArgs, args: Args) -> miette::Result<ExitCode> {
    let loaded = pipeline::load(global)?;
    let targets = pipeline::check_targets(&loaded, &args.selection)?;
    let clients = Clients::new(global.kubeconfig.clone());
    let (plan, observed) = pipeline::plan(&loaded, &clients, &args.selection, &targets).await?;
    let header = pipeline::header(&loaded, &observed, &targets, false);
    match args.format {
        Format::Dot => print!(
            "{}",
            render::render(render::Format::Dot, &plan, &header, false)
        ),
    }
    Ok(if observed.is_incomplete() {
        Exit::Incomplete
    } else {
        Exit::Success
    }
    .into())
}
