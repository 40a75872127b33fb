//! What `fleet import` reads: everything on the ITS and the WDS that a fleet.toml can
//! describe, and fleet's RBAC objects on every WEC a kubeconfig context reaches.

use std::collections::BTreeMap;

use futures::StreamExt;
use futures::stream;

use super::read_rbac;
use crate::config::model::ClusterAccess;
use crate::kube::{Clients, KubeError};
use crate::model::vocab::{PROPERTIES_NS, REGISTERED_BY};
use crate::model::{Failure, Kind, Location, ObservedFleet, WecName};

/// The live fleet as import reads it.
#[derive(Debug, Default)]
pub struct Inventory {
    /// ManagedClusters and properties ConfigMaps (ITS), fleet's RBAC objects (WDS and
    /// WECs), and the WECs that could not be read.
    pub observed: ObservedFleet,
    /// The kubeconfig context of each WEC that was read: the one fleet registered it
    /// through, or its name.
    pub contexts: BTreeMap<WecName, String>,
    /// WECs whose context is not in the kubeconfig: their direct RBAC is unknown.
    pub no_context: Vec<WecName>,
}

/// Reads the ITS, the WDS (when given) and the WECs, `parallelism` WECs at once. The ITS
/// and the WDS must be readable; a WEC that cannot be read is recorded as unreadable.
pub async fn inventory(
    clients: &Clients,
    its: &ClusterAccess,
    wds: Option<&ClusterAccess>,
    parallelism: usize,
) -> Result<Inventory, KubeError> {
    let mut inv = Inventory::default();
    let c = clients.get(its).await?;
    let o = &mut inv.observed;
    o.its_uid = Some(c.identity().await?);
    o.its_server = Some(c.server.clone());
    let mcs = c.list(Kind::ManagedCluster, None, None).await?;
    o.insert_list(&Location::Its, Kind::ManagedCluster, mcs);
    let cms = c.list(Kind::ConfigMap, Some(PROPERTIES_NS), None).await?;
    o.insert_list(&Location::Its, Kind::ConfigMap, cms);
    if let Some(wds) = wds {
        let c = clients.get(wds).await?;
        o.merge(read_rbac(&c, &Location::Wds, None, true).await?);
    }

    let wecs: Vec<(WecName, String)> = o
        .of_kind(Kind::ManagedCluster)
        .map(|(r, mc)| {
            let context = mc
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(REGISTERED_BY))
                .and_then(|c| c.as_str())
                .unwrap_or(&r.name)
                .to_owned();
            (WecName::from(r.name.as_str()), context)
        })
        .collect();
    let reads = stream::iter(wecs)
        .map(|(wec, context)| async move {
            let access = ClusterAccess::context(context.clone());
            let read = match clients.get(&access).await {
                Err(KubeError::UnknownContext { .. }) => None,
                Err(e) => Some(Err(e)),
                Ok(c) => Some(read_rbac(&c, &Location::Wec(wec.clone()), None, false).await),
            };
            (wec, context, read)
        })
        .buffer_unordered(parallelism.max(1))
        .collect::<Vec<_>>()
        .await;
    for (wec, context, read) in reads {
        match read {
            None => inv.no_context.push(wec),
            Some(Ok(found)) => {
                inv.observed.merge(found);
                inv.contexts.insert(wec, context);
            }
            Some(Err(e)) => {
                inv.observed
                    .unreadable
                    .insert(Location::Wec(wec.clone()), Failure::new(e));
                inv.contexts.insert(wec, context);
            }
        }
    }
    inv.no_context.sort();
    Ok(inv)
}
