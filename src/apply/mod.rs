//! The executor: runs a plan wave by wave with bounded parallelism. A failed change does not
//! stop independent work; its dependents are skipped; blocked changes are reported as such.
//! Every change ends with exactly one [`Outcome`], gathered in an [`ApplyReport`] that the
//! views in `render` show.

pub mod lock;
pub mod register;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

use crate::config::model::{ClusterAccess, DesiredFleet};
use crate::desired::{DesiredObject, DesiredState};
use crate::diff::{self, Action, ActionKind, Change};
use crate::kube::{Clients, Cluster, KubeError, Precondition};
use crate::model::json::Json;
use crate::model::{Failure, Location, ObjectRef, WecName};
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
    /// The object changed after the plan in a way that changes what the write would do.
    #[error("{object} changed after the plan: {why}; nothing was written to it")]
    #[diagnostic(
        code(fleet::apply::moved),
        help("run `fleet plan` to see what would change now, then apply again")
    )]
    Moved { object: ObjectRef, why: Moved },
}

/// How an object changed under a version-pinned write, in a way that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Moved {
    #[error("it was deleted")]
    Deleted,
    #[error("it was deleted and created again")]
    Recreated,
    #[error("the change fleet would make to it is no longer the one planned")]
    Changed,
    #[error("it changed {MAX_MOVES} times while fleet was writing it")]
    KeptMoving,
}

/// How many times one write is re-checked and sent again after the object moved under it.
const MAX_MOVES: usize = 5;

/// What a re-check after a 409 found.
enum Recheck {
    /// Only the version moved: write at this one.
    Retry { resource_version: String },
    /// Nothing to write any more (the object is already as planned, or already gone).
    Done,
}

/// The desired objects by reference, indexed the first time a write has to be re-checked.
struct Desired<'a> {
    state: &'a DesiredState,
    index: OnceLock<HashMap<&'a ObjectRef, &'a DesiredObject>>,
}

impl<'a> Desired<'a> {
    fn new(state: &'a DesiredState) -> Self {
        Desired {
            state,
            index: OnceLock::new(),
        }
    }

    fn get(&self, r: &ObjectRef) -> Option<&'a DesiredObject> {
        self.index
            .get_or_init(|| self.state.objects.iter().map(|d| (&d.object, d)).collect())
            .get(r)
            .copied()
    }
}

/// Reads `change`'s object again after its version-pinned write answered 409, and decides
/// whether the plan still describes the write. An update still holds when the change fleet
/// would make now is the planned one, field for field (values before and after, causes), or
/// when only the record of the WEC's objects it carries is left to write:
/// a controller's status write or another manager's unrelated label moved the version,
/// nothing the plan showed; so does a replacement's delete. A delete still holds while the
/// object is fleet's. Anything else is [`ApplyError::Moved`].
async fn recheck(
    change: &Change,
    desired: &Desired<'_>,
    cluster: &Cluster,
) -> Result<Recheck, ApplyError> {
    let r = &change.object;
    let moved = |why| ApplyError::Moved {
        object: r.clone(),
        why,
    };
    let live: Option<Json> = cluster.get(r.kind, r.namespace.as_deref(), &r.name).await?;
    let Some(live) = live else {
        return match change.action {
            Action::Delete => Ok(Recheck::Done),
            _ => Err(moved(Moved::Deleted)),
        };
    };
    let now = diff::observed_identity(&live).ok_or_else(|| moved(Moved::Changed))?;
    if change.observed.as_ref().is_some_and(|o| o.uid != now.uid) {
        return Err(moved(Moved::Recreated));
    }
    let holds = match &change.action {
        Action::Delete => diff::deletable(&live),
        Action::Update { body } | Action::Replace { body } => {
            let d = desired.get(r).ok_or_else(|| moved(Moved::Changed))?;
            match diff::recheck(d, &live) {
                // Its fields are as planned already; left is the record of the WEC's objects
                // the write carries, unless the object holds it too.
                None if diff::same_record(body, &live) => return Ok(Recheck::Done),
                None => true,
                // The same fields, from the same values, for the same reasons (a field another
                // applier claimed since is a conflict the plan did not show). The record the
                // write carries is the plan's: it follows the WEC's objects, not this one.
                Some(fresh) => {
                    fresh.fields == change.fields
                        && fresh.kind() == change.kind()
                        && fresh.blocked == change.blocked
                }
            }
        }
        _ => false,
    };
    if !holds {
        return Err(moved(Moved::Changed));
    }
    tracing::info!(
        "{r}: changed after the plan (resourceVersion {}), not in what fleet writes; writing at the new version",
        now.resource_version
    );
    Ok(Recheck::Retry {
        resource_version: now.resource_version,
    })
}

/// Runs a version-pinned write, re-checking and sending it again at the new version while
/// the object moves under it in ways the plan did not show (at most [`MAX_MOVES`] times).
/// `write` gets the `resourceVersion` to pin.
async fn pinned<F, Fut>(
    change: &Change,
    precondition: Option<&Precondition>,
    desired: &Desired<'_>,
    cluster: &Cluster,
    mut write: F,
) -> Result<bool, ApplyError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(), KubeError>>,
{
    let mut version = precondition.and_then(|p| p.resource_version.clone());
    for _ in 0..=MAX_MOVES {
        let pinned_version = version.is_some();
        match write(version.take()).await {
            Ok(()) => return Ok(true),
            Err(e) if pinned_version && e.status() == Some(409) => {
                match recheck(change, desired, cluster).await? {
                    Recheck::Retry { resource_version } => version = Some(resource_version),
                    Recheck::Done => return Ok(false),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApplyError::Moved {
        object: change.object.clone(),
        why: Moved::KeptMoving,
    })
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

/// Deletes `change`'s object at the version the plan saw (see [`pinned`]); `false` when
/// nothing was left to do.
async fn delete_pinned(
    change: &Change,
    precondition: Option<&Precondition>,
    desired: &Desired<'_>,
    cluster: &Cluster,
) -> Result<bool, ApplyError> {
    let uid = precondition.map(|p| p.uid.clone());
    pinned(change, precondition, desired, cluster, |version| {
        let precondition = uid.clone().map(|uid| Precondition {
            uid,
            resource_version: version,
        });
        cluster.delete(&change.object, precondition)
    })
    .await
}

async fn run_one(
    change: &Change,
    precondition: Option<Precondition>,
    fleet: &DesiredFleet,
    desired: &Desired<'_>,
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
            let cluster = cluster_of(r, fleet, clients).await?;
            delete_pinned(change, precondition.as_ref(), desired, &cluster).await?;
        }
        Action::Replace { body } => {
            let cluster = cluster_of(r, fleet, clients).await?;
            if delete_pinned(change, precondition.as_ref(), desired, &cluster).await? {
                cluster.create(r, &body.to_value()).await?;
            }
        }
        Action::Create { body } => {
            cluster_of(r, fleet, clients)
                .await?
                .create(r, &body.to_value())
                .await?;
        }
        Action::Update { body } => {
            // An update lands on the object the plan saw, at the version it saw: a recreated
            // object, or one changed where the plan looked, fails instead of being silently
            // overwritten (see [`pinned`]).
            let mut body = body.to_value();
            let uid = precondition.as_ref().map(|p| p.uid.clone());
            if let Some(uid) = &uid {
                body["metadata"]["uid"] = uid.clone().into();
            }
            let cluster = cluster_of(r, fleet, clients).await?;
            let written = pinned(
                change,
                precondition.as_ref(),
                desired,
                &cluster,
                |version| {
                    let mut body = body.clone();
                    if let Some(v) = version {
                        body["metadata"]["resourceVersion"] = v.into();
                    }
                    let cluster = &cluster;
                    async move { cluster.apply(r, &body).await.map(drop) }
                },
            )
            .await?;
            // Server-side apply dropped the removed fields fleet owned; those another manager
            // took over since fleet applied them are deleted explicitly.
            if written && let Some(patch) = removal_patch(change, uid) {
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
    desired: &Desired<'_>,
    clients: &Clients,
    opts: &ApplyOptions,
    mut stop: StopReceiver,
) -> Outcome {
    if let Some(why) = *stop.borrow_and_update() {
        return Outcome::Interrupted(why);
    }
    let change = &plan.diff.changes[i];
    let run = run_one(change, precondition(plan, i), fleet, desired, clients, opts);
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
    desired: &DesiredState,
    clients: &Clients,
    opts: &ApplyOptions,
    stop: &StopReceiver,
    mut on_done: impl FnMut(usize, &Outcome),
) -> ApplyReport {
    let changes = &plan.diff.changes;
    let desired = &Desired::new(desired);
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
                let outcome =
                    run_unless_stopped(plan, i, fleet, desired, clients, opts, stop.clone()).await;
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
