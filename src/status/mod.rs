//! status: one row per WEC — its registration, its agent's heartbeat, and whether what
//! fleet.toml declares for it (labels, properties, RBAC) is in place. Pure: computed from
//! the desired fleet, the observed snapshot (with the agents' Leases), the plan's diff and
//! the time; the views are in `render::status`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::json::Json;
use k8s_openapi::jiff::Timestamp;

use crate::config::model::{DesiredFleet, RbacMode};
use crate::diff::{Cause, Change, Diff};
use crate::model::registration::{managed_cluster_ref, state};
use crate::model::selector::Selector;
use crate::model::vocab::PROPERTIES_NS;
use crate::model::vocab::ocm::{
    AGENT_LEASE, AVAILABLE, DEFAULT_LEASE_SECONDS, JOINED, LABEL_PREFIXES, LEASE_GRACE_TIMES,
};
use crate::model::{
    ExpansionName, Failure, Kind, Location, ObjectRef, ObservedFleet, RegState, WecName,
};

/// A ManagedCluster condition's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondStatus {
    True,
    False,
    Unknown,
}

/// A condition and since when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub status: CondStatus,
    pub since: Option<Timestamp>,
}

/// The agent's last renewal of its Lease on the ITS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub renewed: Timestamp,
    /// Seconds after which the hub calls the cluster's availability Unknown.
    pub grace_seconds: i64,
}

/// Whether one aspect of a WEC matches fleet.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// Nothing declared and nothing left to remove.
    None,
    InSync,
    /// fleet.toml asks for changes not applied yet.
    Pending(usize),
    /// Someone changed what fleet applied (the manager of the first drifted field, when
    /// known); drift wins over pending.
    Drifted {
        changes: usize,
        manager: Option<String>,
    },
    /// Waits on the WEC's registration.
    Blocked(usize),
    /// Could not be read.
    Unknown,
}

impl Sync {
    /// In sync or nothing to be in sync with.
    pub fn ok(&self) -> bool {
        matches!(self, Sync::None | Sync::InSync)
    }
}

/// What is wrong with a WEC, most important first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A ManagedCluster on the ITS that fleet.toml does not declare.
    Unmanaged,
    /// Where the WEC's state was to be read could not be.
    Unreadable(Location),
    /// Not registered; `apply` registers it.
    NotRegistered(RegState),
    /// Not registered, and `register = false`.
    RegisterDisabled(RegState),
    /// The agent has not renewed its Lease for longer than the hub's grace period.
    AgentSilent { seconds: i64 },
    /// A ManagedCluster condition is not True.
    Condition {
        name: &'static str,
        status: Option<CondStatus>,
    },
    /// Labels, properties or RBAC differ from fleet.toml.
    OutOfSync { aspect: Aspect, sync: Sync },
    /// A downsync grant KubeStellar has not delivered to the WEC.
    NotDelivered(crate::diff::delivery::Delivery),
}

/// What fleet.toml declares for a WEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aspect {
    Labels,
    Properties,
    Rbac,
}

impl Aspect {
    pub fn as_str(self) -> &'static str {
        match self {
            Aspect::Labels => "labels",
            Aspect::Properties => "properties",
            Aspect::Rbac => "rbac",
        }
    }
}

/// One WEC's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WecStatus {
    pub wec: WecName,
    /// In fleet.toml (else an unmanaged ManagedCluster).
    pub managed: bool,
    pub context: Option<String>,
    /// `None`: unknown (the ITS could not be read).
    pub registration: Option<RegState>,
    pub joined: Option<Condition>,
    pub available: Option<Condition>,
    pub heartbeat: Option<Heartbeat>,
    pub labels: Sync,
    pub properties: Sync,
    pub rbac: Sync,
    /// `cluster.open-cluster-management.io/clusterset`.
    pub cluster_set: Option<String>,
    /// `status.version.kubernetes` as the agent reports it.
    pub kubernetes: Option<String>,
    pub problems: Vec<Problem>,
}

impl WecStatus {
    /// Registered, available, heard from, and matching fleet.toml.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The status of the fleet.
#[derive(Debug, Clone)]
pub struct FleetStatus {
    pub rows: Vec<WecStatus>,
    pub unreadable: BTreeMap<Location, Failure>,
    /// When it was computed.
    pub at: Timestamp,
    /// The apply lock, when it was asked for.
    pub lock: Option<ApplyLock>,
}

/// The apply lock (`fleet-system/fleet-apply` on the ITS) as `fleet status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyLock {
    /// No apply holds it (absent, released or expired).
    Free,
    /// An apply holds it.
    Held {
        /// The holder's lock id (what `fleet unlock` takes).
        id: String,
        /// `user@host`, when the holder recorded it.
        who: Option<String>,
        /// The holder's CI job URL, when it runs in CI.
        ci_job: Option<String>,
        since: Option<Timestamp>,
        /// When it expires unless renewed.
        expires: Option<Timestamp>,
    },
    /// It could not be read (e.g. credentials without access to Leases in `fleet-system`).
    Unknown(String),
}

impl FleetStatus {
    /// Rows of WECs in fleet.toml.
    pub fn managed(&self) -> impl Iterator<Item = &WecStatus> {
        self.rows.iter().filter(|r| r.managed)
    }

    /// Whether every WEC of fleet.toml is healthy and in sync.
    pub fn all_healthy(&self) -> bool {
        self.managed().all(WecStatus::healthy)
    }

    /// Whether something could not be read.
    pub fn incomplete(&self) -> bool {
        !self.unreadable.is_empty()
    }
}

/// Which rows to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these WECs (empty: all).
    pub targets: BTreeSet<WecName>,
    /// Only WECs whose labels (live, else fleet.toml's) match.
    pub selector: Option<Selector>,
}

fn condition(mc: &Json, name: &str) -> Option<Condition> {
    let c = mc
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Json::as_str) == Some(name))?;
    let status = match c.get("status").and_then(Json::as_str) {
        Some("True") => CondStatus::True,
        Some("False") => CondStatus::False,
        _ => CondStatus::Unknown,
    };
    let since = c
        .get("lastTransitionTime")
        .and_then(Json::as_str)
        .and_then(|t| t.parse().ok());
    Some(Condition { status, since })
}

fn heartbeat(observed: &ObservedFleet, wec: &WecName, mc: &Json) -> Option<Heartbeat> {
    let lease = ObjectRef::namespaced(Location::Its, Kind::Lease, wec.as_str(), AGENT_LEASE);
    let renewed = observed
        .get(&lease)?
        .pointer("/spec/renewTime")?
        .as_str()?
        .parse()
        .ok()?;
    let seconds = mc
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Json::as_i64)
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_LEASE_SECONDS);
    Some(Heartbeat {
        renewed,
        grace_seconds: seconds * LEASE_GRACE_TIMES,
    })
}

/// Which aspect a change is about.
fn aspect(c: &Change) -> Option<Aspect> {
    match c.object.kind {
        // Its record of the WEC's objects follows the WEC's direct RBAC.
        Kind::ManagedCluster if c.is_record_only() => Some(Aspect::Rbac),
        Kind::ManagedCluster => Some(Aspect::Labels),
        Kind::ConfigMap if c.object.namespace.as_deref() == Some(PROPERTIES_NS) => {
            Some(Aspect::Properties)
        }
        Kind::ClusterRole
        | Kind::ClusterRoleBinding
        | Kind::Role
        | Kind::RoleBinding
        | Kind::BindingPolicy
        | Kind::Namespace => Some(Aspect::Rbac),
        _ => None,
    }
}

/// The sync state of one aspect from its changes.
fn sync_of(changes: &[&Change], declared: bool, readable: bool) -> Sync {
    if !readable {
        return Sync::Unknown;
    }
    if changes.is_empty() {
        return if declared { Sync::InSync } else { Sync::None };
    }
    let blocked = changes.iter().filter(|c| c.blocked.is_some()).count();
    let drifted: Vec<&&Change> = changes
        .iter()
        .filter(|c| c.cause.is_out_of_band())
        .collect();
    if let Some(first) = drifted.first() {
        let manager = match &first.cause {
            Cause::Drift { manager } => manager.clone(),
            Cause::Conflict { manager } => Some(manager.clone()),
            Cause::Config => None,
        };
        return Sync::Drifted {
            changes: drifted.len(),
            manager,
        };
    }
    if blocked == changes.len() {
        return Sync::Blocked(blocked);
    }
    Sync::Pending(changes.len())
}

/// Computes every WEC's row. `diff` is the plan's diff over the same snapshot.
pub fn status(
    fleet: &DesiredFleet,
    observed: &ObservedFleet,
    diff: &Diff,
    filter: &Filter,
    now: Timestamp,
) -> FleetStatus {
    let its_read = !observed.unreadable.contains_key(&Location::Its);
    let wds_read = !observed.unreadable.contains_key(&Location::Wds);
    let mut names: BTreeSet<WecName> = fleet.wecs.keys().cloned().collect();
    names.extend(diff.unmanaged_wecs.iter().cloned());
    // Each WEC's changes, and each expansion's shared (WDS) changes, by index into the diff.
    let mut of_wec: BTreeMap<&WecName, Vec<usize>> = BTreeMap::new();
    let mut of_expansion: BTreeMap<&ExpansionName, Vec<usize>> = BTreeMap::new();
    for (i, c) in diff.changes.iter().enumerate() {
        match (&c.wec, &c.expansion) {
            (Some(w), _) => of_wec.entry(w).or_default().push(i),
            (None, Some(e)) => of_expansion.entry(e).or_default().push(i),
            (None, None) => {}
        }
    }
    let mut rows = Vec::new();
    for name in names {
        let wec = fleet.wecs.get(&name);
        let mc = observed.get(&managed_cluster_ref(&name));
        if !filter.targets.is_empty() && !filter.targets.contains(&name) {
            continue;
        }
        let live_labels: BTreeMap<String, String> = mc
            .and_then(|m| m.pointer("/metadata/labels"))
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(selector) = &filter.selector {
            let declared;
            let labels = match (mc, wec) {
                (None, Some(w)) => {
                    declared = w.labels.to_btree();
                    &declared
                }
                _ => &live_labels,
            };
            if !selector.matches(labels) {
                continue;
            }
        }
        let wec_loc = Location::Wec(name.clone());
        let mut indices: Vec<usize> = of_wec.get(&name).cloned().unwrap_or_default();
        for e in wec.iter().flat_map(|w| &w.rbac) {
            indices.extend(of_expansion.get(e).into_iter().flatten());
        }
        indices.sort_unstable();
        indices.dedup();
        let changes: Vec<&Change> = indices.into_iter().map(|i| &diff.changes[i]).collect();
        let of = |a: Aspect| -> Vec<&Change> {
            changes
                .iter()
                .copied()
                .filter(|c| aspect(c) == Some(a))
                .collect()
        };
        let registration = if its_read {
            state(observed, &name)
        } else {
            None
        };
        let mut problems = Vec::new();
        let (labels, properties, rbac) = match wec {
            Some(w) => {
                let direct = fleet.uses_mode(w, RbacMode::Direct);
                let downsync = fleet.uses_mode(w, RbacMode::Downsync);
                let rbac_read = (!direct || !observed.unreadable.contains_key(&wec_loc))
                    && (!downsync || wds_read);
                (
                    sync_of(
                        &of(Aspect::Labels),
                        !w.labels.is_empty() || downsync,
                        its_read,
                    ),
                    sync_of(&of(Aspect::Properties), !w.properties.is_empty(), its_read),
                    sync_of(&of(Aspect::Rbac), !w.rbac.is_empty(), its_read && rbac_read),
                )
            }
            None => {
                problems.push(Problem::Unmanaged);
                (Sync::None, Sync::None, Sync::None)
            }
        };
        for loc in [Location::Its, wec_loc.clone()] {
            if observed.unreadable.contains_key(&loc) && (wec.is_some() || loc == Location::Its) {
                problems.push(Problem::Unreadable(loc));
            }
        }
        if let (Some(w), Some(s)) = (wec, registration)
            && !matches!(s, RegState::Available | RegState::Joined)
        {
            problems.push(if w.register {
                Problem::NotRegistered(s)
            } else {
                Problem::RegisterDisabled(s)
            });
        }
        let joined = mc.and_then(|m| condition(m, JOINED));
        let available = mc.and_then(|m| condition(m, AVAILABLE));
        let beat = mc.and_then(|m| heartbeat(observed, &name, m));
        if let Some(b) = beat {
            let silent = now.duration_since(b.renewed).as_secs();
            if silent > b.grace_seconds {
                problems.push(Problem::AgentSilent { seconds: silent });
            }
        }
        if mc.is_some() {
            for (cond, value) in [(JOINED, joined), (AVAILABLE, available)] {
                if value.map(|c| c.status) != Some(CondStatus::True) {
                    problems.push(Problem::Condition {
                        name: cond,
                        status: value.map(|c| c.status),
                    });
                }
            }
        }
        for (aspect, sync) in [
            (Aspect::Labels, &labels),
            (Aspect::Properties, &properties),
            (Aspect::Rbac, &rbac),
        ] {
            if !sync.ok() && *sync != Sync::Unknown {
                problems.push(Problem::OutOfSync {
                    aspect,
                    sync: sync.clone(),
                });
            }
        }
        problems.extend(
            diff.deliveries
                .iter()
                .filter(|d| d.wec == name && !d.delivered())
                .cloned()
                .map(Problem::NotDelivered),
        );
        rows.push(WecStatus {
            managed: wec.is_some(),
            context: wec.map(|w| w.access.context.clone()),
            registration,
            joined,
            available,
            heartbeat: beat,
            labels,
            properties,
            rbac,
            cluster_set: live_labels
                .iter()
                .find(|(k, _)| k.starts_with(LABEL_PREFIXES[0]) && k.ends_with("clusterset"))
                .map(|(_, v)| v.clone()),
            kubernetes: mc
                .and_then(|m| m.pointer("/status/version/kubernetes"))
                .and_then(Json::as_str)
                .map(str::to_owned),
            problems,
            wec: name,
        });
    }
    FleetStatus {
        rows,
        unreadable: diff.unreadable.clone(),
        at: now,
        lock: None,
    }
}

#[cfg(test)]
mod tests;
