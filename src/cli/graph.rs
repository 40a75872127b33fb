//! `fleet graph`: the plan's dependency graph.

use std::process::ExitCode;

use clap::ValueEnum;

use crate::cli::pipeline::{Run, Selection};
use crate::cli::{Exit, GlobalArgs, out};
use crate::render::{self, Subject};

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
    let run = Run::new(global, args.selection)?;
    let mut planned = run.plan().await?;
    planned.release_objects();
    let header = run.header(&planned.observed, Subject::Plan);
    match args.format {
        Format::Dot => out(format_args!(
            "{}",
            render::render(render::Format::Dot, &planned.plan, &header, false)
        )),
    }
    Ok(if planned.observed.is_incomplete() {
        Exit::Incomplete
    } else {
        Exit::Success
    }
    .into())
}
