//! `fleet show PLANFILE`: renders a saved plan in any plan view, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::pipeline::Output;
use crate::cli::{Colors, Exit, GlobalArgs, out};
use crate::plan::{self, saved::SavedPlan};
use crate::render::{self, Header, Subject};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan written by `fleet plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub planfile: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// Reads and checks a plan file.
pub fn read(path: &std::path::Path) -> miette::Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| miette::miette!("cannot read the plan file {}: {e}", path.display()))?;
    Ok(SavedPlan::parse(&text, path)?)
}

/// The header of a saved plan's views.
pub fn header(saved: &SavedPlan) -> Header {
    Header {
        subject: Subject::Plan,
        its_context: saved.its.context.clone(),
        its_server: saved.its.server.clone(),
        its_uid: Some(saved.its.uid.clone()),
        config_digest: saved.config.digest.clone(),
        targets: saved.options.targets.clone(),
    }
}

pub fn execute(_global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let saved = read(&args.planfile)?;
    let plan = plan::build(saved.diff())?;
    let p = &saved.provenance;
    eprintln!(
        "Saved plan {}: made {} by {}{}, from {} ({}).",
        args.planfile.display(),
        p.created_at,
        p.created_by,
        p.git_sha
            .as_ref()
            .map(|sha| format!(" at commit {sha}"))
            .unwrap_or_default(),
        saved.config.path.display(),
        saved.config.digest,
    );
    out(format_args!(
        "{}",
        render::render(args.output.into(), &plan, &header(&saved), colors.stdout)
    ));
    Ok(Exit::Success.into())
}
