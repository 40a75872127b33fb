//! `fleet plan`: what apply would change, read-only, no lock.

use std::process::ExitCode;

use crate::cli::pipeline::{Output, Run, Selection};
use crate::cli::{Colors, Exit, GlobalArgs};
use crate::render::{self, Subject};

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
    let run = Run::new(global, args.selection)?;
    let planned = run.plan().await?;
    let header = run.header(&planned.observed, Subject::Plan);
    let text = render::render(args.output.into(), &planned.plan, &header, colors.stdout);
    print!("{text}");
    Ok(if planned.observed.is_incomplete() {
        Exit::Incomplete
    } else if args.detailed_exitcode && planned.plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}
