//! The executor: runs a plan wave by wave with bounded parallelism. A failed change does not
//! stop independent work; its dependents are skipped; blocked changes are reported as such.
//! Every change ends with exactly one [`Outcome`].

use std::collections::BTreeMap;

use futures::StreamExt;
use futures::stream;
use serde::Serialize;

use crate::config::model::{ClusterAccess, DesiredFleet};
use crate::diff::object::Location;
use crate::diff::{Action, Change};
use crate::kube::Clients;
use crate::plan::Plan;

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "lowercase")]
pub enum Outcome {
    /// Written.
    Done,
    /// The API refused it, or the cluster could not be reached.
    Failed(String),
    /// Not attempted because a change it depends on did not succeed.
    Skipped(String),
    /// Not attempted: the plan marked it blocked.
    Blocked(String),
}

impl Outcome {
    /// Whether the change was made.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done)
    }
}

/// The result of an apply: one outcome per change, in plan order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Counts of done, failed, skipped and blocked changes.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for o in &self.outcomes {
            match o {
                Outcome::Done => c.0 += 1,
                Outcome::Failed(_) => c.1 += 1,
                Outcome::Skipped(_) => c.2 += 1,
                Outcome::Blocked(_) => c.3 += 1,
            }
        }
        c
    }

    /// Whether anything was not done (failed or skipped; blocked is expected).
    pub fn partially_failed(&self) -> bool {
        let (_, failed, skipped, _) = self.counts();
        failed + skipped > 0
    }
}

/// Where each location's client comes from.
fn access_of(fleet: &DesiredFleet, loc: &Location) -> Option<ClusterAccess> {
    match loc {
        Location::Its => Some(fleet.its.access.clone()),
        Location::Wds => fleet.wds.clone(),
        Location::Wec(w) => fleet.wecs.get(w).map(|w| w.access.clone()),
    }
}

async fn run_one(change: &Change, fleet: &DesiredFleet, clients: &Clients) -> Outcome {
    let Some(access) = access_of(fleet, &change.r.location) else {
        return Outcome::Failed(format!(
            "{} is not in fleet.toml: no context to reach it",
            change.r.location
        ));
    };
    let cluster = match clients.get(&access).await {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let result = match change.action {
        Action::Delete => cluster.delete(&change.r).await,
        Action::Replace => match cluster.delete(&change.r).await {
            Ok(()) => cluster
                .apply(&change.r, change.body.as_ref().expect("replace has a body"))
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
        Action::Create | Action::Update => {
            let mut body = change.body.clone().expect("create/update has a body");
            // An update must land on the object the plan saw: a recreated object (new uid)
            // fails the precondition instead of being silently overwritten.
            if let (Action::Update, Some(observed)) = (change.action, &change.observed) {
                body["metadata"]["uid"] = observed.uid.clone().into();
            }
            cluster.apply(&change.r, &body).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Applies `plan`; `on_done(index, outcome)` is called as each change finishes (progress).
pub async fn execute(
    plan: &Plan,
    fleet: &DesiredFleet,
    clients: &Clients,
    parallelism: usize,
    mut on_done: impl FnMut(usize, &Outcome),
) -> Report {
    let changes = &plan.diff.changes;
    let mut outcomes: BTreeMap<usize, Outcome> = BTreeMap::new();
    for wave in &plan.waves {
        let mut runnable = Vec::new();
        for &i in wave {
            let c = &changes[i];
            let early = if let Some(why) = &c.blocked {
                Some(Outcome::Blocked(why.clone()))
            } else {
                plan.dependencies(i)
                    .into_iter()
                    .find(|d| outcomes.get(d).is_some_and(|o| !o.is_done()))
                    .map(|d| {
                        Outcome::Skipped(format!(
                            "depends on {}, which was not applied",
                            changes[d].r
                        ))
                    })
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
            .map(|i| async move { (i, run_one(&changes[i], fleet, clients).await) })
            .buffer_unordered(parallelism.max(1));
        while let Some((i, o)) = results.next().await {
            on_done(i, &o);
            outcomes.insert(i, o);
        }
    }
    Report {
        outcomes: (0..changes.len())
            .map(|i| outcomes.remove(&i).expect("every change ran"))
            .collect(),
    }
}
