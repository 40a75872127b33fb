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
//! then incomplete, never "no changes". What to read comes from the [`DesiredState`] built
//! once per run: the namespaces fleet may create, and the WECs with direct RBAC.

pub mod inventory;

use std::collections::BTreeSet;

use futures::StreamExt;
use futures::stream;

use crate::config::model::{ClusterAccess, DesiredFleet, RbacMode};
use crate::desired::DesiredState;
use crate::kube::{Clients, Cluster, KubeError};
use crate::model::registration::{
    bootstrap_secret_ref, klusterlet_ref, managed_cluster_ref, needs_wec_read, registered,
};
use crate::model::vocab::ocm::{AGENT_LEASE, CLUSTER_NAME_LABEL};
use crate::model::vocab::{
    ORIGIN_BINDING_LABEL, PROPERTIES_NS, WORK_SA, binding_policy_name, fleet_selector,
};
use crate::model::{
    Failure, GrantCheck, Kind, LastApplied, Location, ObjectRef, ObservedFleet, WecName,
};

/// Called as WECs are read: `(done, total)`.
#[derive(Clone)]
pub struct OnRead(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for OnRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRead")
    }
}

/// How to observe.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// WECs read at once.
    pub parallelism: usize,
    /// Only these WECs (empty: all).
    pub targets: BTreeSet<WecName>,
    /// Also read the agents' heartbeats on the ITS (`fleet status`): one LIST of the
    /// Leases named `managed-cluster-lease`.
    pub agent_leases: bool,
    /// Progress of the WEC reads, for long reads on big fleets.
    pub on_read: Option<OnRead>,
}

const RBAC_KINDS: [Kind; 4] = [
    Kind::ClusterRole,
    Kind::ClusterRoleBinding,
    Kind::Role,
    Kind::RoleBinding,
];

async fn read_namespaces(
    c: &Cluster,
    loc: &Location,
    names: Option<&BTreeSet<String>>,
    o: &mut ObservedFleet,
) -> Result<(), KubeError> {
    for n in names.into_iter().flatten() {
        let ns = c.get(Kind::Namespace, None, n).await?;
        o.insert_get(ObjectRef::cluster(loc.clone(), Kind::Namespace, n), ns);
    }
    Ok(())
}

async fn read_its(
    c: &Cluster,
    namespaces: Option<&BTreeSet<String>>,
    o: &mut ObservedFleet,
) -> Result<(), KubeError> {
    o.its_uid = Some(c.identity().await?);
    o.its_server = Some(c.server.clone());
    o.its_endpoint = Some(c.endpoint());
    // The two big reads, side by side.
    let (mcs, cms) = tokio::try_join!(
        c.list(Kind::ManagedCluster, None, None),
        c.list(Kind::ConfigMap, Some(PROPERTIES_NS), None)
    )?;
    o.insert_list(&Location::Its, Kind::ManagedCluster, mcs);
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

/// What registration needs from the ITS beyond its ManagedClusters, when some WEC fleet
/// registers is not Available: the CSRs agents filed, and `kube-public/cluster-info`
/// (where `force_internal_endpoint_lookup` joins find the hub).
async fn read_registration_on_its(c: &Cluster, o: &mut ObservedFleet) -> Result<(), KubeError> {
    let csrs = c
        .list(
            Kind::CertificateSigningRequest,
            None,
            Some(CLUSTER_NAME_LABEL),
        )
        .await?;
    o.insert_list(&Location::Its, Kind::CertificateSigningRequest, csrs);
    o.cluster_info = c.cluster_info().await?;
    Ok(())
}

/// What the WEC itself says about its registration: its Klusterlet and bootstrap Secret.
async fn read_registration_on_wec(
    c: &Cluster,
    wec: &WecName,
    o: &mut ObservedFleet,
) -> Result<(), KubeError> {
    for r in [klusterlet_ref(wec), bootstrap_secret_ref(wec)] {
        let live = c.get(r.kind, r.namespace.as_deref(), &r.name).await?;
        o.insert_get(r, live);
    }
    Ok(())
}

/// WECs fleet registers that have not joined yet (targeted ones only).
fn registering<'a>(
    fleet: &'a DesiredFleet,
    observed: &ObservedFleet,
    targets: &BTreeSet<WecName>,
) -> Vec<&'a WecName> {
    fleet
        .wecs
        .values()
        .filter(|w| w.register && (targets.is_empty() || targets.contains(&w.name)))
        .filter(|w| {
            observed
                .get(&managed_cluster_ref(&w.name))
                .is_none_or(|mc| !registered(mc))
        })
        .map(|w| &w.name)
        .collect()
}

/// One WEC to read: its direct RBAC, its registration objects, or both.
struct WecRead {
    name: WecName,
    access: ClusterAccess,
    rbac: bool,
    registration: bool,
}

/// WECs to read: targeted ones with direct RBAC now, or recorded as holding fleet objects,
/// and those whose registration state only they can tell.
fn wecs_to_read(
    fleet: &DesiredFleet,
    observed: &ObservedFleet,
    targets: &BTreeSet<WecName>,
) -> Vec<WecRead> {
    let registration: BTreeSet<&WecName> = registering(fleet, observed, targets)
        .into_iter()
        .filter(|w| needs_wec_read(observed, w))
        .collect();
    let recorded: BTreeSet<&str> = observed
        .of_kind(Kind::ManagedCluster)
        .filter(|(_, live)| {
            LastApplied::objects_of(live).is_some_and(|objects| {
                objects
                    .iter()
                    .any(|o| matches!(o.location, Location::Wec(_)))
            })
        })
        .map(|(r, _)| r.name.as_str())
        .collect();
    fleet
        .wecs
        .values()
        .filter(|w| targets.is_empty() || targets.contains(&w.name))
        .map(|w| WecRead {
            name: w.name.clone(),
            access: w.access.clone(),
            rbac: recorded.contains(w.name.as_str()) || fleet.uses_mode(w, RbacMode::Direct),
            registration: registration.contains(&w.name),
        })
        .filter(|r| r.rbac || r.registration)
        .collect()
}

/// Records an error: a place that cannot be read makes the result incomplete; a mistake in
/// the kubeconfig or fleet.toml's contexts stops the run.
fn record(
    observed: &mut ObservedFleet,
    location: Location,
    result: Result<ObservedFleet, KubeError>,
) -> Result<(), KubeError> {
    match result {
        Ok(o) => observed.merge(o),
        Err(e) if e.is_input_error() => return Err(e),
        Err(e) => {
            observed.unreadable.insert(location, Failure::new(e));
        }
    }
    Ok(())
}

/// Reads everything fleet manages. A cluster that cannot be read is recorded in
/// [`ObservedFleet::unreadable`]; only a mistake in the input (a kubeconfig that cannot be
/// read, a context it does not have) is an error.
pub async fn observe(
    fleet: &DesiredFleet,
    desired: &DesiredState,
    clients: &Clients,
    opts: &ObserveOptions,
) -> Result<ObservedFleet, KubeError> {
    let mut observed = ObservedFleet::default();
    let namespaces = desired.namespaces();

    let its = async {
        let c = clients.get(&fleet.its.access).await?;
        let mut o = ObservedFleet::default();
        read_its(&c, namespaces.get(&Location::Its), &mut o).await?;
        Ok::<_, KubeError>(o)
    };
    let wds = async {
        let Some(access) = &fleet.wds else {
            return Ok(ObservedFleet::default());
        };
        let c = clients.get(access).await?;
        read_rbac(&c, &Location::Wds, namespaces.get(&Location::Wds), true).await
    };
    let (its, wds) = tokio::join!(its, wds);
    record(&mut observed, Location::Its, its)?;
    record(&mut observed, Location::Wds, wds)?;
    // What KubeStellar delivered of fleet's downsync RBAC: one LIST of its ManifestWorks.
    if fleet.wds.is_some()
        && fleet
            .wecs
            .values()
            .any(|w| fleet.uses_mode(w, RbacMode::Downsync))
        && !observed.unreadable.contains_key(&Location::Its)
    {
        let works = async {
            let c = clients.get(&fleet.its.access).await?;
            let mut o = ObservedFleet::default();
            // Only the works of fleet's own BindingPolicies (`validate` keeps their names
            // label values).
            let bindings: Vec<String> = fleet
                .rbac
                .values()
                .filter(|e| e.mode == RbacMode::Downsync)
                .map(|e| binding_policy_name(&e.name))
                .collect();
            let selector = format!("{ORIGIN_BINDING_LABEL} in ({})", bindings.join(","));
            let items = c.list(Kind::ManifestWork, None, Some(&selector)).await?;
            o.insert_list(&Location::Its, Kind::ManifestWork, items);
            Ok(o)
        };
        record(&mut observed, Location::Its, works.await)?;
    }
    if opts.agent_leases && !observed.unreadable.contains_key(&Location::Its) {
        let leases = async {
            let c = clients.get(&fleet.its.access).await?;
            let mut o = ObservedFleet::default();
            let items = c.list_named(Kind::Lease, AGENT_LEASE).await?;
            o.insert_list(&Location::Its, Kind::Lease, items);
            Ok(o)
        };
        record(&mut observed, Location::Its, leases.await)?;
    }
    if !observed.unreadable.contains_key(&Location::Its)
        && !registering(fleet, &observed, &opts.targets).is_empty()
    {
        let more = async {
            let c = clients.get(&fleet.its.access).await?;
            let mut o = ObservedFleet::default();
            read_registration_on_its(&c, &mut o).await?;
            Ok(o)
        };
        record(&mut observed, Location::Its, more.await)?;
    }

    let wecs = wecs_to_read(fleet, &observed, &opts.targets);
    let total = wecs.len();
    let mut reads = stream::iter(wecs)
        .map(|read| {
            let loc = Location::Wec(read.name.clone());
            let ns = namespaces.get(&loc).cloned();
            async move {
                let r = async {
                    let c = clients.get(&read.access).await?;
                    let mut o = if read.rbac {
                        read_rbac(&c, &loc, ns.as_ref(), false).await?
                    } else {
                        ObservedFleet::default()
                    };
                    if read.registration {
                        read_registration_on_wec(&c, &read.name, &mut o).await?;
                    }
                    Ok(o)
                }
                .await;
                (loc, r)
            }
        })
        .buffer_unordered(opts.parallelism.max(1));
    let mut done = 0;
    while let Some((loc, r)) = reads.next().await {
        done += 1;
        if let Some(OnRead(f)) = &opts.on_read {
            f(done, total);
        }
        record(&mut observed, loc, r)?;
    }
    observed.grants = check_grants(fleet, clients, &observed, opts).await;
    Ok(observed)
}

/// Asks each registered WEC with RBAC expansions whose context fleet can reach whether the
/// work agent holds each rule of each expansion (a SubjectAccessReview per rule, on its first
/// verb, API group, resource and name), so that "applied" means "in effect". A WEC or an
/// expansion that cannot be asked in full is left out: unverified, never an error.
async fn check_grants(
    fleet: &DesiredFleet,
    clients: &Clients,
    observed: &ObservedFleet,
    opts: &ObserveOptions,
) -> std::collections::BTreeMap<(WecName, crate::model::ExpansionName), GrantCheck> {
    let user = format!("system:serviceaccount:{}:{}", WORK_SA.0, WORK_SA.1);
    let wecs = fleet.wecs.values().filter(|w| {
        !w.rbac.is_empty()
            && (opts.targets.is_empty() || opts.targets.contains(&w.name))
            && !observed
                .unreadable
                .contains_key(&Location::Wec(w.name.clone()))
            && observed
                .get(&managed_cluster_ref(&w.name))
                .is_some_and(registered)
    });
    let user = &user;
    stream::iter(wecs)
        .map(|w| async move {
            let mut out = Vec::new();
            let Ok(c) = clients.get(&w.access).await else {
                return out;
            };
            for e in fleet.expansions_of(w) {
                if e.rules.is_empty() {
                    continue; // nothing to ask: unverified
                }
                let mut check = GrantCheck::InEffect;
                for (i, rule) in e.rules.iter().enumerate() {
                    let p = rule.probe();
                    let asked = c
                        .may(
                            user,
                            p.verb,
                            p.group,
                            p.resource,
                            e.namespace.as_deref(),
                            p.name,
                        )
                        .await;
                    match asked {
                        Ok(true) => {}
                        Ok(false) => {
                            check = GrantCheck::Denied { rule: i };
                            break;
                        }
                        // The WEC did not answer: ask it nothing more (each question
                        // would cost another timeout); its grants stay unverified.
                        Err(_) => return out,
                    }
                }
                out.push(((w.name.clone(), e.name.clone()), check));
            }
            out
        })
        .buffer_unordered(opts.parallelism.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}
