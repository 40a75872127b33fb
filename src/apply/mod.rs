//! The executor: runs a plan wave by wave with bounded parallelism. A failed change does not
//! stop independent work; its dependents are skipped; blocked changes are reported as such.
//! Every change ends with exactly one [`Outcome`], gathered in an [`ApplyReport`] that the
//! views in `render` show.

pub mod lock;
pub mod register;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

use crate::config::model::{ClusterAccess, DesiredFleet};
use crate::diff::{Action, ActionKind, Change};
use crate::kube::{Clients, Cluster, KubeError, Precondition};
use crate::model::{Failure, Location, WecName};
use crate::plan::Plan;
pub use crate::plan::report::{ApplyReport, Outcome, Stop};

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

/// Which version of the live object a write to change `i` is meant for: the one the plan was
/// computed against. A change that runs after its WEC's registration in the same apply
/// only pins the object (`uid`): the registration itself moves its version.
fn precondition(plan: &Plan, i: usize) -> Option<Precondition> {
    let observed = plan.diff.changes[i].observed.as_ref()?;
    let after_registration = plan
        .dependencies(i)
        .into_iter()
        .any(|d| plan.diff.changes[d].kind() == ActionKind::Register);
    Some(Precondition {
        uid: observed.uid.clone(),
        resource_version: (!after_registration).then(|| observed.resource_version.clone()),
    })
}

/// A merge patch deleting the fields of `change` that another manager took over, if any.
fn removal_patch(change: &Change, uid: Option<String>) -> Option<serde_json::Value> {
    let mut patch = serde_json::json!({});
    let mut any = false;
    for f in &change.fields {
        if f.after.is_some() || !f.cause.is_out_of_band() {
            continue;
        }
        let Some((leaf, parents)) = f.path.segments().split_last() else {
            continue;
        };
        let mut at = &mut patch;
        for p in parents {
            at = &mut at[p.as_str()];
        }
        at[leaf.as_str()] = serde_json::Value::Null;
        any = true;
    }
    if let Some(uid) = uid {
        patch["metadata"]["uid"] = uid.into();
    }
    any.then_some(patch)
}

async fn run_one(
    change: &Change,
    precondition: Option<Precondition>,
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
        Action::Delete => {
            cluster_of(r, fleet, clients)
                .await?
                .delete(r, precondition)
                .await?
        }
        Action::Replace { body } => {
            let cluster = cluster_of(r, fleet, clients).await?;
            cluster.delete(r, precondition).await?;
            cluster.create(r, &body.to_value()).await?;
        }
        Action::Create { body } => {
            cluster_of(r, fleet, clients)
                .await?
                .create(r, &body.to_value())
                .await?;
        }
        Action::Update { body } => {
            // An update lands on the object the plan saw, at the version it saw: a recreated
            // or since-changed object fails with 409 instead of being silently overwritten.
            let mut body = body.to_value();
            let uid = precondition.as_ref().map(|p| p.uid.clone());
            if let Some(p) = precondition {
                body["metadata"]["uid"] = p.uid.into();
                if let Some(v) = p.resource_version {
                    body["metadata"]["resourceVersion"] = v.into();
                }
            }
            let cluster = cluster_of(r, fleet, clients).await?;
            cluster.apply(r, &body).await?;
            // Server-side apply dropped the removed fields fleet owned; those another manager
            // took over since fleet applied them are deleted explicitly.
            if let Some(patch) = removal_patch(change, uid) {
                cluster.merge_patch(r, &patch).await?;
            }
        }
    }
    Ok(())
}

/// Tells a running apply to stop: no new change starts, registration waits are abandoned,
/// writes already sent finish.
pub type StopReceiver = tokio::sync::watch::Receiver<Option<Stop>>;

/// Runs one change unless the apply was stopped; a registration's or deregistration's
/// waits end as soon as it is.
async fn run_unless_stopped(
    plan: &Plan,
    i: usize,
    fleet: &DesiredFleet,
    clients: &Clients,
    opts: &ApplyOptions,
    mut stop: StopReceiver,
) -> Outcome {
    if let Some(why) = *stop.borrow_and_update() {
        return Outcome::Interrupted(why);
    }
    let change = &plan.diff.changes[i];
    let run = run_one(change, precondition(plan, i), fleet, clients, opts);
    let result = match change.kind() {
        ActionKind::Register | ActionKind::Deregister => {
            tokio::select! {
                r = run => r,
                Ok(why) = stop.wait_for(Option::is_some) => return Outcome::Interrupted(why.expect("waited for Some")),
            }
        }
        _ => run.await,
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Failed(Failure::new(e)),
    }
}

/// Applies `plan`; `on_done(index, outcome)` is called as each change finishes (progress).
/// Once `stop` says so, what has not started ends as [`Outcome::Interrupted`].
pub async fn execute(
    plan: &Plan,
    fleet: &DesiredFleet,
    clients: &Clients,
    opts: &ApplyOptions,
    stop: &StopReceiver,
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
                    .map(|dependency| Outcome::Skipped { dependency })
                    .or_else(|| (*stop.borrow()).map(Outcome::Interrupted)),
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
            .map(|i| async move {
                let outcome = run_unless_stopped(plan, i, fleet, clients, opts, stop.clone()).await;
                (i, outcome)
            })
            .buffer_unordered(opts.parallelism.max(1));
        while let Some((i, o)) = results.next().await {
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
