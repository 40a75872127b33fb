//! The executor: runs a plan wave by wave with bounded parallelism. A failed change does not
//! stop independent work; its dependents are skipped; blocked changes are reported as such.
//! Every change ends with exactly one [`Outcome`], gathered in an [`ApplyReport`] that the
//! views in `render` show.

pub mod register;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

use crate::config::model::{ClusterAccess, DesiredFleet};
use crate::diff::{Action, Change};
use crate::kube::{Clients, Cluster, KubeError};
use crate::model::{Failure, Location, WecName};
use crate::plan::Plan;
pub use crate::plan::report::{ApplyReport, Outcome};

/// Why a write failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Kube(#[from] KubeError),
    /// The object lives on a cluster fleet.toml does not name.
    #[error("{location} is not in fleet.toml: no context to reach it")]
    #[diagnostic(
        code(fleet::apply::no_context),
        help("add the WEC back to fleet.toml with its context, or delete the object by hand")
    )]
    NoContext { location: Location },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Timeout(#[from] register::RegistrationTimeout),
    /// The context recorded for a WEC now reaches a cluster registered under another name.
    #[error(
        "context `{context}` reaches a cluster whose Klusterlet registers `{registers}`, not `{wec}`: nothing was unjoined or deleted"
    )]
    #[diagnostic(
        code(fleet::apply::wrong_cluster),
        help(
            "the context was re-pointed since fleet registered the WEC; deregister it by hand, or fix the context"
        )
    )]
    WrongCluster {
        context: String,
        wec: WecName,
        registers: String,
    },
}

/// How to apply.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Changes written at once.
    pub parallelism: usize,
    /// How long one WEC's registration or deregistration may take.
    pub wait_timeout: Duration,
}

/// Where each location's client comes from.
fn access_of(fleet: &DesiredFleet, loc: &Location) -> Option<ClusterAccess> {
    match loc {
        Location::Its => Some(fleet.its.access.clone()),
        Location::Wds => fleet.wds.clone(),
        Location::Wec(w) => fleet.wecs.get(w).map(|w| w.access.clone()),
    }
}

/// The client for the cluster an object lives on.
async fn cluster_of(
    r: &crate::model::ObjectRef,
    fleet: &DesiredFleet,
    clients: &Clients,
) -> Result<Cluster, ApplyError> {
    let access = access_of(fleet, &r.location).ok_or_else(|| ApplyError::NoContext {
        location: r.location.clone(),
    })?;
    Ok(clients.get(&access).await?)
}

async fn run_one(
    change: &Change,
    fleet: &DesiredFleet,
    clients: &Clients,
    opts: &ApplyOptions,
) -> Result<(), ApplyError> {
    let r = &change.object;
    let deadline = Instant::now() + opts.wait_timeout;
    match &change.action {
        Action::Register(reg) => {
            register::register(reg, fleet, clients, deadline, opts.wait_timeout).await?;
        }
        Action::Deregister(d) => {
            register::deregister(d, fleet, clients, deadline, opts.wait_timeout).await?;
        }
        Action::Delete => cluster_of(r, fleet, clients).await?.delete(r).await?,
        Action::Replace { body } => {
            let cluster = cluster_of(r, fleet, clients).await?;
            cluster.delete(r).await?;
            cluster.apply(r, body).await?;
        }
        Action::Create { body } => {
            cluster_of(r, fleet, clients).await?.apply(r, body).await?;
        }
        Action::Update { body } => {
            // An update must land on the object the plan saw: a recreated object (new uid)
            // fails the precondition instead of being silently overwritten.
            let mut body = body.clone();
            if let Some(observed) = &change.observed {
                body["metadata"]["uid"] = observed.uid.clone().into();
            }
            cluster_of(r, fleet, clients).await?.apply(r, &body).await?;
        }
    }
    Ok(())
}

/// Applies `plan`; `on_done(index, outcome)` is called as each change finishes (progress).
pub async fn execute(
    plan: &Plan,
    fleet: &DesiredFleet,
    clients: &Clients,
    opts: &ApplyOptions,
    mut on_done: impl FnMut(usize, &Outcome),
) -> ApplyReport {
    let changes = &plan.diff.changes;
    let mut outcomes: BTreeMap<usize, Outcome> = BTreeMap::new();
    for wave in &plan.waves {
        let mut runnable = Vec::new();
        for &i in wave {
            let early = match changes[i].blocked {
                Some(why) => Some(Outcome::Blocked(why)),
                None => plan
                    .dependencies(i)
                    .into_iter()
                    .filter(|d| outcomes.get(d).is_some_and(|o| !o.is_done()))
                    .min()
                    .map(|dependency| Outcome::Skipped { dependency }),
            };
            match early {
                Some(o) => {
                    on_done(i, &o);
                    outcomes.insert(i, o);
                }
                None => runnable.push(i),
            }
        }
        let mut results = stream::iter(runnable)
            .map(|i| async move { (i, run_one(&changes[i], fleet, clients, opts).await) })
            .buffer_unordered(opts.parallelism.max(1));
        while let Some((i, result)) = results.next().await {
            let o = match result {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Failed(Failure::new(e)),
            };
            on_done(i, &o);
            outcomes.insert(i, o);
        }
    }
    ApplyReport {
        outcomes: (0..changes.len())
            .map(|i| outcomes.remove(&i).expect("every change ran"))
            .collect(),
    }
}
