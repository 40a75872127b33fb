//! `fleet plan`: what apply would change, read-only, no lock. `--out` also saves the plan
//! for `fleet apply PLANFILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::apply::lock::LockInfo;
use crate::cli::pipeline::{Output, Planned, Run, Selection};
use crate::cli::{Colors, Exit, GlobalArgs, out};
use crate::plan::saved::{ConfigBinding, ItsBinding, PlanOptions, Provenance, SavedPlan};
use crate::render::{self, Subject};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit 2 when there are changes (0 when none).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// Also save the plan to this file, for `fleet apply PLANFILE` (and `fleet show`). It
    /// holds no secret value.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub selection: Selection,
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let run = Run::new(global, args.selection)?;
    let mut planned = run.plan().await?;
    planned.release_objects();
    let header = run.header(&planned.observed, Subject::Plan);
    let text = render::render(args.output.into(), &planned.plan, &header, colors.stdout);
    out(&text);
    if planned.observed.is_incomplete() {
        if let Some(out) = &args.out {
            eprintln!(
                "\nThe plan was not saved to {}: it is incomplete, and an apply could not do what was reviewed.",
                out.display()
            );
        }
        return Ok(Exit::Incomplete.into());
    }
    if let Some(out) = &args.out {
        save(&run, &planned, out)?;
        if args.output == Output::Human {
            eprintln!(
                "\nSaved the plan to {}. To make exactly these changes, run:\n  fleet apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && planned.plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}

/// Writes the saved plan next to its final place, then renames it there: a reader never
/// sees half a plan.
fn save(run: &Run, planned: &Planned, out: &Path) -> miette::Result<()> {
    let uid =
        planned.observed.its_uid.clone().ok_or_else(|| {
            miette::miette!("the ITS's identity could not be read: nothing saved")
        })?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let me = LockInfo::for_this_run(env);
    let saved = SavedPlan::new(
        &planned.plan.diff,
        ConfigBinding {
            path: run.loaded.path.clone(),
            digest: run.loaded.digest.clone(),
        },
        ItsBinding {
            context: run.loaded.fleet.its.access.to_string(),
            server: planned.observed.its_server.clone(),
            uid,
        },
        PlanOptions {
            targets: run.targets.iter().cloned().collect(),
            prune: run.selection.prune,
            max_deregister: run.selection.max_deregister,
        },
        Provenance {
            created_at: k8s_openapi::jiff::Timestamp::now()
                .round(k8s_openapi::jiff::Unit::Second)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            created_by: me.ci_job.unwrap_or(me.who),
            git_sha: env("GITHUB_SHA").or_else(|| env("CI_COMMIT_SHA")),
        },
    );
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = |path: &Path| -> std::io::Result<()> {
        std::fs::write(path, saved.to_json())?;
        std::fs::rename(path, out)
    };
    write(&tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        miette::miette!("cannot write the plan to {}: {e}", out.display())
    })
}
