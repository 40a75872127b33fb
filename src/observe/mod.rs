//! observe: read the live state fleet manages, in as few requests as possible.
//!
//! - ITS: one paginated LIST of ManagedClusters and one of the ConfigMaps in
//!   `customization-properties`, plus GETs of the namespaces fleet would create.
//! - WDS: one LIST per RBAC kind and of BindingPolicies, by fleet's label.
//! - WECs: only those with `direct` RBAC, wanted now or recorded as applied in their
//!   ManagedCluster's last-applied annotation — one LIST per RBAC kind, by label, with
//!   bounded concurrency across WECs.
//!
//! A place that cannot be read is recorded in [`ObservedFleet::unreadable`]: the result is
//! then incomplete, never "no changes".

pub mod snapshot;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream;

use crate::config::model::{ClusterAccess, DesiredFleet, RbacMode};
use crate::diff::desired::{MANAGED_BY, MANAGER, PROPERTIES_NS, desired_objects};
use crate::diff::fields::LastApplied;
use crate::diff::object::{Kind, Location};
use crate::kube::{Clients, Cluster, KubeError};
pub use snapshot::ObservedFleet;

/// How to observe.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// WECs read at once.
    pub parallelism: usize,
    /// Only these WECs (empty: all).
    pub targets: BTreeSet<String>,
}

const RBAC_KINDS: [Kind; 4] = [
    Kind::ClusterRole,
    Kind::ClusterRoleBinding,
    Kind::Role,
    Kind::RoleBinding,
];

fn fleet_selector() -> String {
    format!("{MANAGED_BY}={MANAGER}")
}

/// Namespaces fleet may create, per location.
fn wanted_namespaces(fleet: &DesiredFleet) -> BTreeMap<Location, BTreeSet<String>> {
    let mut out: BTreeMap<Location, BTreeSet<String>> = BTreeMap::new();
    for d in desired_objects(fleet) {
        if d.r.kind == Kind::Namespace {
            out.entry(d.r.location.clone())
                .or_default()
                .insert(d.r.name.clone());
        }
    }
    out
}

async fn read_namespaces(
    c: &Cluster,
    loc: &Location,
    names: Option<&BTreeSet<String>>,
    o: &mut ObservedFleet,
) -> Result<(), KubeError> {
    let mut found = Vec::new();
    for n in names.into_iter().flatten() {
        if let Some(ns) = c.get(Kind::Namespace, None, n).await? {
            found.push(ns);
        }
    }
    o.insert_list(loc, Kind::Namespace, found);
    Ok(())
}

async fn read_its(
    c: &Cluster,
    namespaces: Option<&BTreeSet<String>>,
    o: &mut ObservedFleet,
) -> Result<(), KubeError> {
    o.its_uid = Some(c.identity().await?);
    o.its_server = Some(c.server.clone());
    let mcs = c.list(Kind::ManagedCluster, None, None).await?;
    o.insert_list(&Location::Its, Kind::ManagedCluster, mcs);
    let cms = c.list(Kind::ConfigMap, Some(PROPERTIES_NS), None).await?;
    o.insert_list(&Location::Its, Kind::ConfigMap, cms);
    read_namespaces(c, &Location::Its, namespaces, o).await
}

async fn read_rbac(
    c: &Cluster,
    loc: &Location,
    namespaces: Option<&BTreeSet<String>>,
    with_policies: bool,
) -> Result<ObservedFleet, KubeError> {
    let mut o = ObservedFleet::default();
    let sel = fleet_selector();
    for kind in RBAC_KINDS {
        let items = c.list(kind, None, Some(&sel)).await?;
        o.insert_list(loc, kind, items);
    }
    if with_policies {
        let items = c.list(Kind::BindingPolicy, None, Some(&sel)).await?;
        o.insert_list(loc, Kind::BindingPolicy, items);
    }
    read_namespaces(c, loc, namespaces, &mut o).await?;
    Ok(o)
}

fn merge(into: &mut ObservedFleet, from: ObservedFleet) {
    into.objects.extend(from.objects);
    into.listed.extend(from.listed);
    into.unreadable.extend(from.unreadable);
    into.its_uid = into.its_uid.take().or(from.its_uid);
    into.its_server = into.its_server.take().or(from.its_server);
}

/// WECs to read: targeted ones with direct RBAC now, or recorded as holding fleet objects.
fn wecs_to_read(
    fleet: &DesiredFleet,
    observed: &ObservedFleet,
    targets: &BTreeSet<String>,
) -> Vec<(String, ClusterAccess)> {
    let recorded: BTreeSet<String> = observed
        .objects
        .iter()
        .filter(|(r, _)| r.kind == Kind::ManagedCluster)
        .filter_map(|(r, live)| {
            let la = LastApplied::of(live)?;
            la.objects
                .iter()
                .any(|k| k.starts_with("wec/"))
                .then(|| r.name.clone())
        })
        .collect();
    fleet
        .wecs
        .values()
        .filter(|w| targets.is_empty() || targets.contains(&w.name))
        .filter(|w| {
            recorded.contains(&w.name)
                || w.rbac.iter().any(|e| {
                    fleet
                        .rbac
                        .get(e)
                        .is_some_and(|x| x.mode == RbacMode::Direct)
                })
        })
        .map(|w| (w.name.clone(), w.access.clone()))
        .collect()
}

/// Reads everything fleet manages. Never fails as a whole: what cannot be read is recorded.
pub async fn observe(
    fleet: &DesiredFleet,
    clients: &Clients,
    opts: &ObserveOptions,
) -> ObservedFleet {
    let mut observed = ObservedFleet::default();
    let namespaces = wanted_namespaces(fleet);

    let its = async {
        let c = clients.get(&fleet.its.access).await?;
        let mut o = ObservedFleet::default();
        read_its(&c, namespaces.get(&Location::Its), &mut o).await?;
        Ok::<_, KubeError>(o)
    };
    let wds = async {
        let Some(access) = &fleet.wds else {
            return Ok(None);
        };
        let c = clients.get(access).await?;
        read_rbac(&c, &Location::Wds, namespaces.get(&Location::Wds), true)
            .await
            .map(Some)
    };
    let (its, wds) = tokio::join!(its, wds);
    match its {
        Ok(o) => merge(&mut observed, o),
        Err(e) => {
            observed.unreadable.insert(Location::Its, e.to_string());
        }
    }
    match wds {
        Ok(Some(o)) => merge(&mut observed, o),
        Ok(None) => {}
        Err(e) => {
            observed.unreadable.insert(Location::Wds, e.to_string());
        }
    }

    let wecs = wecs_to_read(fleet, &observed, &opts.targets);
    let results: Vec<(Location, Result<ObservedFleet, KubeError>)> = stream::iter(wecs)
        .map(|(name, access)| {
            let loc = Location::Wec(name);
            let ns = namespaces.get(&loc).cloned();
            async move {
                let r = async {
                    let c = clients.get(&access).await?;
                    read_rbac(&c, &loc, ns.as_ref(), false).await
                }
                .await;
                (loc, r)
            }
        })
        .buffer_unordered(opts.parallelism.max(1))
        .collect()
        .await;
    for (loc, r) in results {
        match r {
            Ok(o) => merge(&mut observed, o),
            Err(e) => {
                observed.unreadable.insert(loc, e.to_string());
            }
        }
    }
    observed
}
