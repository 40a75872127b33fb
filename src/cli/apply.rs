//! `fleet apply`: plan, show, approve, re-plan right before writing, execute in waves, report
//! every object's outcome (human or JSON, both views in `render`).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::ValueEnum;

use crate::apply;
use crate::cli::pipeline::{Planned, Run, Selection};
use crate::cli::{Colors, Exit, GlobalArgs};
use crate::diff::{ActionKind, Blocked, FieldChange};
use crate::model::ObjectRef;
use crate::plan::Plan;
use crate::render::{self, Subject};

/// `apply --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyOutput {
    /// The plan, progress and a closing summary.
    Human,
    /// A versioned JSON apply report on stdout (progress stays on stderr); needs
    /// --auto-approve.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Apply without asking (required when there is no terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Output format of the apply report.
    #[arg(long, value_enum, default_value_t = ApplyOutput::Human)]
    pub output: ApplyOutput,
    /// How long one WEC's registration (join, CSR, accept, Joined and Available) or
    /// deregistration may take before it fails and only its own work is skipped.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = humantime::parse_duration)]
    pub wait_timeout: std::time::Duration,
    #[command(flatten)]
    pub selection: Selection,
}

/// What the user approved: each change's object, action, fields and blocked state (not the
/// resourceVersion, which controllers bump all the time).
fn approved(plan: &Plan) -> Vec<(&ObjectRef, ActionKind, &[FieldChange], Option<Blocked>)> {
    plan.diff
        .changes
        .iter()
        .map(|c| (&c.object, c.kind(), c.fields.as_slice(), c.blocked))
        .collect()
}

fn confirm() -> miette::Result<bool> {
    eprint!(
        "\nDo you want to perform these actions?\n  fleet will make exactly the changes above. Only 'yes' will be accepted.\n\n  Enter a value: "
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| miette::miette!("cannot read the answer: {e}"))?;
    Ok(line.trim() == "yes")
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let json = args.output == ApplyOutput::Json;
    if json && !args.auto_approve {
        miette::bail!(
            help = "review with `fleet plan`, then run `fleet apply --auto-approve --output json`",
            "apply --output json needs --auto-approve: stdout holds only the JSON report, so there is no plan to approve"
        );
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.auto_approve && !interactive {
        miette::bail!(
            help = "run `fleet plan` to review, then `fleet apply --auto-approve` in pipelines",
            "apply needs --auto-approve when there is no terminal to ask for approval"
        );
    }
    let run = Run::new(global, args.selection)?;
    let mut planned = run.plan().await?;
    let show = |p: &Planned| {
        let header = run.header(&p.observed, Subject::Plan);
        print!(
            "{}",
            render::render(render::Format::Human, &p.plan, &header, colors.stdout)
        );
    };
    if !json {
        show(&planned);
    }

    if !args.auto_approve {
        if !planned.plan.has_changes() {
            return Ok(if planned.observed.is_incomplete() {
                Exit::Incomplete
            } else {
                Exit::Success
            }
            .into());
        }
        if !confirm()? {
            eprintln!("Apply cancelled.");
            return Ok(Exit::Error.into());
        }
        // Re-plan right before writing: the clusters may have moved while we waited.
        let again = run.plan().await?;
        if approved(&again.plan) != approved(&planned.plan) {
            show(&again);
            eprintln!(
                "\nThe live state changed while waiting for approval; the plan above is the new one. Nothing was written."
            );
            return Ok(Exit::StalePlan.into());
        }
        planned = again;
    }

    let plan = &planned.plan;
    let mut progress = render::apply::Progress::new(plan, colors.stderr);
    let report = apply::execute(
        plan,
        &run.loaded.fleet,
        &run.clients,
        &apply::ApplyOptions {
            parallelism: usize::from(run.selection.parallelism),
            wait_timeout: args.wait_timeout,
        },
        |i, outcome| eprintln!("{}", progress.line(plan, i, outcome)),
    )
    .await;

    let header = run.header(&planned.observed, Subject::Plan);
    if json {
        print!("{}", render::json::render_apply(plan, &report, &header));
    } else {
        print!("{}", render::apply::summary(plan, &report, colors.stdout));
    }
    Ok(
        if report.partially_failed() || !plan.diff.unreadable.is_empty() {
            Exit::PartialFailure
        } else {
            Exit::Success
        }
        .into(),
    )
}
