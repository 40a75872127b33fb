//! `fleet import --its CONTEXT [--wds CONTEXT]`: prints a fleet.toml for the live fleet, so
//! that `fleet plan` on it reports no changes. Read-only.

use std::process::ExitCode;

use crate::cli::{Exit, GlobalArgs, out};
use crate::config::model::ClusterAccess;
use crate::import::{self, Contexts};
use crate::kube::Clients;
use crate::observe::inventory::inventory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kubeconfig context of the ITS.
    #[arg(long, value_name = "CONTEXT")]
    pub its: String,
    /// Kubeconfig context of the WDS, to import downsync RBAC.
    #[arg(long, value_name = "CONTEXT")]
    pub wds: Option<String>,
    /// How many WECs are read at once.
    #[arg(long, default_value_t = crate::kube::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

pub async fn execute(global: &GlobalArgs, args: Args) -> miette::Result<ExitCode> {
    let clients = Clients::new(global.kubeconfig.clone(), global.request_timeout);
    let access = |context: &String| ClusterAccess::context(context.clone());
    let inv = inventory(
        &clients,
        &access(&args.its),
        args.wds.as_ref().map(access).as_ref(),
        usize::from(args.parallelism),
    )
    .await?;
    let contexts = Contexts {
        its: args.its.clone(),
        wds: args.wds.clone(),
        wecs: inv.contexts.clone(),
    };
    let imported = import::import(&inv.observed, &contexts)?;
    out(&imported.toml);
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    for wec in &inv.no_context {
        eprintln!(
            "note: no kubeconfig context `{wec}`: direct RBAC on wec/{wec} (if any) is not imported; set `context` in [wec.{wec}] and import again"
        );
    }
    if inv.observed.is_incomplete() {
        for (place, why) in &inv.observed.unreadable {
            eprintln!("error: {place} could not be read: {why}");
        }
        eprintln!(
            "The fleet.toml above misses what those WECs hold; a plan on it could remove their RBAC."
        );
        return Ok(Exit::Incomplete.into());
    }
    Ok(Exit::Success.into())
}
