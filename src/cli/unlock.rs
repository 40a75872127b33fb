//! `fleet unlock LOCK_ID`: clears the apply lock on the ITS by hand, only if LOCK_ID holds it
//! (as Terraform's `force-unlock`).

use std::process::ExitCode;

use crate::apply::lock::{self, LockId};
use crate::cli::{Exit, GlobalArgs, out};
use crate::config;
use crate::kube::Clients;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The holder's id, as `fleet apply` printed it when it was refused (exit 4).
    #[arg(value_name = "LOCK_ID")]
    pub lock_id: String,
}

pub async fn execute(global: &GlobalArgs, args: Args) -> miette::Result<ExitCode> {
    let loaded = config::load(&global.file)?;
    let clients = Clients::new(global.kubeconfig.clone(), global.request_timeout);
    let its = clients.get(&loaded.fleet.its.access).await?;
    let holder = lock::unlock(&its, &LockId::new(args.lock_id)).await?;
    out(format_args!(
        "{}\n",
        format_args!("Cleared the apply lock held by {holder}.")
    ));
    Ok(Exit::Success.into())
}
