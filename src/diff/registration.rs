//! Registration and deregistration as plan steps.
//!
//! A WEC of fleet.toml with `register = true` (the default) that is not Available gets one
//! [`Registration`] change: the steps that take it from its [`RegState`] to Available
//! (`join`, `accept`, `wait`). Its other changes wait on it. An already registered WEC is
//! adopted, never re-joined. A WEC fleet registered that has left fleet.toml gets a
//! [`Deregistration`] with `--prune`, at most `--max-deregister` at once.

use crate::config::model::{DesiredFleet, Wec};
use crate::desired::join::JoinManifest;
use crate::model::json::Json;

use crate::model::registration::{
    bootstrap_secret_ref, klusterlet_ref, managed_cluster_ref, state,
};
use crate::model::vocab::{MANAGER, REGISTERED_BY};
use crate::model::{Endpoint, ObservedFleet, RegState, WecName};

/// One step of a registration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RegStep {
    /// Apply what `clusteradm join` applies on the WEC, with a fresh bootstrap token.
    Join(JoinManifest),
    /// Approve the WEC's CSRs from fleet's bootstrap identity and set `hubAcceptsClient`.
    Accept,
    /// Wait until the ManagedCluster is Joined and Available.
    Wait,
}

impl RegStep {
    /// `join`, `accept` or `wait`.
    pub fn name(&self) -> &'static str {
        match self {
            RegStep::Join(_) => "join",
            RegStep::Accept => "accept",
            RegStep::Wait => "wait",
        }
    }
}

/// Taking one WEC to Available.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    pub wec: WecName,
    /// The kubeconfig context the WEC is joined through (recorded on its ManagedCluster).
    pub context: String,
    pub from: RegState,
    pub steps: Vec<RegStep>,
}

impl Registration {
    /// The join step's manifest, if the registration joins.
    pub fn join(&self) -> Option<&JoinManifest> {
        self.steps.iter().find_map(|s| match s {
            RegStep::Join(m) => Some(m),
            _ => None,
        })
    }
}

/// Taking a WEC fleet registered back out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deregistration {
    pub wec: WecName,
    /// The context fleet joined it through: where the unjoin goes.
    pub context: Option<String>,
}

/// Why a registration cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationProblem {
    /// `force_internal_endpoint_lookup` needs the ITS's `kube-public/cluster-info`.
    NoClusterInfo,
    /// The WEC has a Klusterlet fleet did not install: joined to another hub, under another
    /// name, or by hand. fleet does not take it over.
    JoinedElsewhere,
}

/// Whether the Klusterlet on the WEC is one fleet's own join left: it registers the WEC's
/// name, with the bootstrap Secret fleet wrote.
fn fleets_own_join(observed: &ObservedFleet, wec: &WecName) -> bool {
    let Some(klusterlet) = observed.get(&klusterlet_ref(wec)) else {
        return true; // nothing there to take over
    };
    let registers = klusterlet
        .pointer("/spec/clusterName")
        .and_then(Json::as_str);
    let secret_by_fleet = observed
        .get(&bootstrap_secret_ref(wec))
        .and_then(|s| s.pointer("/metadata/managedFields"))
        .and_then(Json::as_array)
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.get("manager").and_then(Json::as_str) == Some(MANAGER))
        });
    registers == Some(wec.as_str()) && secret_by_fleet
}

/// Where the WEC's agent reaches the ITS: `hub_api_server`, else the ITS context's server;
/// with `force_internal_endpoint_lookup`, the server in `kube-public/cluster-info`. The CA is
/// cluster-info's when it has one, else the context's.
fn hub_endpoint(
    fleet: &DesiredFleet,
    wec: &Wec,
    observed: &ObservedFleet,
) -> Result<Endpoint, RegistrationProblem> {
    let info = observed.cluster_info.as_ref();
    let context = observed.its_endpoint.as_ref();
    let ca_data = info
        .and_then(|i| i.ca_data.clone())
        .or_else(|| context.and_then(|c| c.ca_data.clone()));
    let server = if wec.join.force_internal_endpoint_lookup {
        info.map(|i| i.server.clone())
            .ok_or(RegistrationProblem::NoClusterInfo)?
    } else {
        fleet
            .its
            .hub_api_server
            .clone()
            .or_else(|| context.map(|c| c.server.clone()))
            .unwrap_or_default()
    };
    Ok(Endpoint { server, ca_data })
}

/// The registration `wec` needs, if any: `Ok(None)` when it is Available, its state is
/// unknown, or it is not fleet's to register.
pub fn registration(
    fleet: &DesiredFleet,
    wec: &Wec,
    observed: &ObservedFleet,
) -> Result<Option<Registration>, RegistrationProblem> {
    if !wec.register {
        return Ok(None);
    }
    let Some(from) = state(observed, &wec.name) else {
        return Ok(None);
    };
    let steps = match from {
        // Joined is registered: an agent that stops reporting Available is a health
        // matter, not a registration to redo (and never a reason to re-join).
        RegState::Available | RegState::Joined => return Ok(None),
        RegState::Absent | RegState::KlusterletInstalled => {
            if !fleets_own_join(observed, &wec.name) {
                return Err(RegistrationProblem::JoinedElsewhere);
            }
            let hub = hub_endpoint(fleet, wec, observed)?;
            vec![
                RegStep::Join(JoinManifest::new(
                    wec.name.clone(),
                    &wec.join,
                    fleet.its.ocm.clone(),
                    hub,
                )),
                RegStep::Accept,
                RegStep::Wait,
            ]
        }
        RegState::CsrPending | RegState::Accepted => vec![RegStep::Accept, RegStep::Wait],
    };
    Ok(Some(Registration {
        wec: wec.name.clone(),
        context: wec.access.context.clone(),
        from,
        steps,
    }))
}

/// Whether fleet registered the ManagedCluster of `wec`, and through which context.
pub fn registered_by_fleet(observed: &ObservedFleet, wec: &WecName) -> Option<Option<String>> {
    let mc = observed.get(&managed_cluster_ref(wec))?;
    let context = mc.pointer("/metadata/annotations")?.get(REGISTERED_BY)?;
    Some(
        context
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    )
}

/// The object a registration or deregistration change is named after.
pub fn change_object(wec: &WecName) -> crate::model::ObjectRef {
    klusterlet_ref(wec)
}
