//! `fleet drift`: only out-of-band changes — fields someone else changed or took over,
//! objects fleet applied that are gone, ManagedClusters fleet does not manage. Read-only.

use std::process::ExitCode;

use crate::cli::pipeline::{Output, Run, Selection};
use crate::cli::{Colors, Exit, GlobalArgs, out};
use crate::plan;
use crate::render::{self, Subject};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    #[command(flatten)]
    pub selection: Selection,
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let run = Run::new(global, args.selection)?;
    let mut planned = run.plan().await?;
    planned.release_objects();
    let drift = plan::build(planned.plan.diff.drift_only())?;
    let header = run.header(&planned.observed, Subject::Drift);
    let text = render::render(args.output.into(), &drift, &header, colors.stdout);
    out(&text);
    Ok(if planned.observed.is_incomplete() {
        Exit::Incomplete
    } else if drift.has_changes()
        || !drift.diff.unmanaged_wecs.is_empty()
        || drift.diff.undelivered() > 0
    {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}
