//! Registration and deregistration of WECs: the steps of a [`Registration`] or
//! [`Deregistration`] change, with bounded waits.
//!
//! Join applies what `clusteradm join` applies, with a bootstrap token fleet asks the ITS
//! for (TokenRequest; never printed, logged or put on an argv). Accept approves the WEC's
//! CSRs only when fleet's bootstrap identity requested them, then sets `hubAcceptsClient`.
//! Wait polls the ManagedCluster until Joined and Available, approving CSRs a restarted
//! agent files meanwhile. On a timeout the error says what was found on the WEC and the ITS.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::model::json::Json;

use super::ApplyError;
use crate::config::model::{ClusterAccess, DesiredFleet};
use crate::desired::join::{IMAGE_PULL_SECRET, JoinManifest};
use crate::diff::{Deregistration, RegStep, Registration};
use crate::kube::{Clients, Cluster, KubeError};
use crate::model::registration::{
    csr_approvable, csr_from_bootstrap, csr_pending, managed_cluster_ref, true_conditions,
};
use crate::model::vocab::ocm::{
    AGENT_NS, AVAILABLE, BOOTSTRAP_SA, BOOTSTRAP_SECRET, BOOTSTRAP_USER, CLUSTER_NAME_LABEL,
    HUB_SECRET, JOINED, KLUSTERLET, KLUSTERLET_CRD, OPERATOR_NS,
};
use crate::model::vocab::{REGISTERED_BY, REGISTRATION_MANAGER, fleet_selector};
use crate::model::{Kind, Location, ObjectRef, WecName};

/// Lifetime of the bootstrap token: as `clusteradm get token`.
const TOKEN_SECONDS: i64 = 3600;
/// How often waits look again.
const POLL: Duration = Duration::from_secs(1);

/// A registration or deregistration that did not finish in time.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{what} of {wec} did not finish within {}: {waiting_for}", humantime::format_duration(*waited))]
#[diagnostic(code(fleet::apply::registration_timeout), help("{}", checks.join("; ")))]
pub struct RegistrationTimeout {
    pub what: &'static str,
    pub wec: WecName,
    pub waited: Duration,
    pub waiting_for: String,
    /// What was found, and what to check next.
    pub checks: Vec<String>,
}

fn wec_ref(wec: &WecName, kind: Kind, ns: Option<&str>, name: &str) -> ObjectRef {
    let loc = Location::Wec(wec.clone());
    match ns {
        Some(ns) => ObjectRef::namespaced(loc, kind, ns, name),
        None => ObjectRef::cluster(loc, kind, name),
    }
}

fn its_ref(kind: Kind, name: &str) -> ObjectRef {
    ObjectRef::cluster(Location::Its, kind, name)
}

/// Runs a registration's steps; `deadline` bounds every wait.
pub async fn register(
    reg: &Registration,
    fleet: &DesiredFleet,
    clients: &Clients,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let its = clients.get(&fleet.its.access).await?;
    let access = fleet
        .wecs
        .get(&reg.wec)
        .map(|w| w.access.clone())
        .ok_or_else(|| ApplyError::NoContext {
            location: Location::Wec(reg.wec.clone()),
        })?;
    for step in &reg.steps {
        let done = match step {
            RegStep::Join(manifest) => {
                join(&its, &clients.get(&access).await?, manifest, deadline).await?
            }
            RegStep::Accept => accept(&its, reg, deadline).await?,
            RegStep::Wait => wait_available(&its, &reg.wec, deadline).await?,
        };
        if let Some(waiting_for) = done {
            let wec = clients.get(&access).await.ok();
            return Err(RegistrationTimeout {
                what: "registration",
                wec: reg.wec.clone(),
                waited: timeout,
                waiting_for,
                checks: diagnose(&its, wec.as_ref(), reg).await,
            }
            .into());
        }
    }
    Ok(())
}

/// Applies the join objects with a fresh token. `Some(what)` when the deadline passed.
async fn join(
    its: &Cluster,
    wec: &Cluster,
    manifest: &JoinManifest,
    deadline: Instant,
) -> Result<Option<String>, ApplyError> {
    let token = its.token(OPERATOR_NS, BOOTSTRAP_SA, TOKEN_SECONDS).await?;
    let bodies = manifest.bodies(&token);
    drop(token);
    let mut objects = bodies.iter();
    let (crd_ref, crd) = objects.next().expect("the CRD comes first");
    wec.apply(crd_ref, crd).await?;
    while !wec.crd_established(KLUSTERLET_CRD).await? {
        if Instant::now() > deadline {
            return Ok(Some(format!(
                "the CRD {KLUSTERLET_CRD} to be established on the WEC"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (r, body) in objects {
        wec.apply(r, body).await?;
    }
    Ok(None)
}

/// The WEC's CSRs on the ITS.
async fn csrs(its: &Cluster, wec: &WecName) -> Result<Vec<Json>, KubeError> {
    its.list(
        Kind::CertificateSigningRequest,
        None,
        Some(&format!("{CLUSTER_NAME_LABEL}={wec}")),
    )
    .await
}

fn field<'a>(v: &'a Json, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Json::as_str)
        .unwrap_or_default()
}

fn approved(csr: &Json) -> bool {
    csr.pointer("/status/conditions")
        .and_then(Json::as_array)
        .is_some_and(|cs| cs.iter().any(|c| field(c, "/type") == "Approved"))
}

/// Approves every pending CSR of `wec` that fleet's bootstrap identity filed for `wec`'s
/// agent identity (a restarted agent files another). Returns how many such CSRs are
/// approved now. A CSR that changed or went away meanwhile is looked at again next time.
async fn approve_ours(its: &Cluster, wec: &WecName) -> Result<usize, KubeError> {
    let mut ok = 0;
    for csr in csrs(its, wec)
        .await?
        .iter()
        .filter(|c| csr_approvable(c, wec))
    {
        if csr_pending(csr) {
            let message =
                format!("approved by fleet for WEC {wec}, joined with its bootstrap identity");
            match its
                .approve_csr(field(csr, "/metadata/name"), &message)
                .await
            {
                Ok(()) => ok += 1,
                Err(e) if matches!(e.status(), Some(404 | 409 | 422)) => {}
                Err(e) => return Err(e),
            }
        } else if approved(csr) {
            ok += 1;
        }
    }
    Ok(ok)
}

/// Runs one round of a wait loop; a transient error (no answer, conflict, overload) is
/// retried next round while time is left.
async fn round<T>(
    deadline: Instant,
    step: impl AsyncFnOnce() -> Result<T, KubeError>,
) -> Result<Option<T>, KubeError> {
    match step().await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_transient() && Instant::now() < deadline => Ok(None),
        Err(e) => Err(e),
    }
}

/// Approves the WEC's CSR and sets `hubAcceptsClient`. `Some(what)` when the deadline
/// passed without a CSR fleet may approve.
async fn accept(
    its: &Cluster,
    reg: &Registration,
    deadline: Instant,
) -> Result<Option<String>, ApplyError> {
    let accepted_already = |mc: &Option<Json>| {
        mc.as_ref()
            .and_then(|m| m.pointer("/spec/hubAcceptsClient"))
            .and_then(Json::as_bool)
            == Some(true)
    };
    loop {
        let seen = round(deadline, async || {
            let approved = approve_ours(its, &reg.wec).await?;
            let mc = its
                .get(Kind::ManagedCluster, None, reg.wec.as_str())
                .await?;
            Ok(approved > 0 || accepted_already(&mc))
        })
        .await?;
        if seen == Some(true) {
            break;
        }
        if Instant::now() > deadline {
            return Ok(Some(format!(
                "a CSR from {BOOTSTRAP_USER} for cluster {}",
                reg.wec
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    let mc = managed_cluster_ref(&reg.wec);
    let body = json!({
        "apiVersion": Kind::ManagedCluster.api_version(),
        "kind": "ManagedCluster",
        "metadata": {"name": reg.wec, "annotations": {REGISTERED_BY: reg.context}},
        "spec": {"hubAcceptsClient": true},
    });
    its.apply_as(REGISTRATION_MANAGER, &mc, &body).await?;
    Ok(None)
}

/// Waits for Joined and Available. `Some(what)` when the deadline passed.
async fn wait_available(
    its: &Cluster,
    wec: &WecName,
    deadline: Instant,
) -> Result<Option<String>, ApplyError> {
    loop {
        let up = round(deadline, async || {
            let up = its
                .get(Kind::ManagedCluster, None, wec.as_str())
                .await?
                .is_some_and(|mc| {
                    let up = true_conditions(&mc);
                    up.contains(JOINED) && up.contains(AVAILABLE)
                });
            if !up {
                approve_ours(its, wec).await?;
            }
            Ok(up)
        })
        .await?;
        if up == Some(true) {
            return Ok(None);
        }
        if Instant::now() > deadline {
            return Ok(Some(format!(
                "ManagedCluster {wec} to be {JOINED} and {AVAILABLE}"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What was found on the WEC and the ITS after a registration timed out.
async fn diagnose(its: &Cluster, wec: Option<&Cluster>, reg: &Registration) -> Vec<String> {
    let mut out = Vec::new();
    let name = &reg.wec;
    match wec {
        Some(w) => {
            let has = async |kind: Kind, ns: Option<&str>, n: &str| match w.get(kind, ns, n).await {
                Ok(Some(_)) => "present".to_owned(),
                Ok(None) => "MISSING".to_owned(),
                Err(e) => format!("unreadable ({e})"),
            };
            out.push(format!(
                "on wec/{name}: Klusterlet {KLUSTERLET} {}, Secret {AGENT_NS}/{BOOTSTRAP_SECRET} {}, Namespace {AGENT_NS} {}, agent credentials ({AGENT_NS}/{HUB_SECRET}) {}",
                has(Kind::Klusterlet, None, KLUSTERLET).await,
                has(Kind::Secret, Some(AGENT_NS), BOOTSTRAP_SECRET).await,
                has(Kind::Namespace, None, AGENT_NS).await,
                has(Kind::Secret, Some(AGENT_NS), HUB_SECRET).await,
            ));
        }
        None => out.push(format!(
            "wec/{name} could not be reached to look at its Klusterlet"
        )),
    }
    match csrs(its, name).await {
        Ok(list) if list.is_empty() => out.push(format!(
            "no CSR for {name} reached the ITS: is the agent running on the WEC (`kubectl -n {AGENT_NS} get pods`), and can it reach the hub?"
        )),
        Ok(list) => {
            let foreign: Vec<String> = list
                .iter()
                .filter(|c| !csr_approvable(c, name))
                .map(|c| format!("{} from {}", field(c, "/metadata/name"), field(c, "/spec/username")))
                .collect();
            out.push(format!(
                "{} CSR(s) for {name} on the ITS, {} pending",
                list.len(),
                list.iter().filter(|c| csr_pending(c)).count()
            ));
            if !foreign.is_empty() {
                out.push(format!(
                    "not approved, because fleet's bootstrap identity {BOOTSTRAP_USER} did not request them: {}",
                    foreign.join(", ")
                ));
            }
        }
        Err(e) => out.push(format!("the CSRs on the ITS could not be listed ({e})")),
    }
    match its.get(Kind::ManagedCluster, None, name.as_str()).await {
        Ok(Some(mc)) => {
            let up: Vec<&str> = true_conditions(&mc).into_iter().collect();
            out.push(format!(
                "ManagedCluster {name} conditions True: [{}]",
                up.join(", ")
            ));
        }
        Ok(None) => out.push(format!("ManagedCluster {name} does not exist on the ITS")),
        Err(e) => out.push(format!("ManagedCluster {name} could not be read ({e})")),
    }
    if let Some(m) = reg.join() {
        out.push(format!("is {} reachable from the WEC?", m.hub.server));
    }
    out
}

/// Deregisters a WEC: through its recorded context, when the WEC answers, delete fleet's
/// direct RBAC there and unjoin (the agent must stop first, or it re-creates the
/// ManagedCluster); then delete its ManagedCluster and wait for OCM's cleanup, then delete
/// its agent's CSRs.
pub async fn deregister(
    dereg: &Deregistration,
    fleet: &DesiredFleet,
    clients: &Clients,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let its = clients.get(&fleet.its.access).await?;
    let wec_name = &dereg.wec;
    // The recorded context must still name a cluster fleet can build a client for: skipping
    // the unjoin silently would leave an agent that re-creates the ManagedCluster.
    let wec = match &dereg.context {
        Some(context) => Some(
            clients
                .get(&ClusterAccess::context(context.clone()))
                .await?,
        ),
        None => None,
    };
    let timed_out = |waiting_for: String, checks: Vec<String>| RegistrationTimeout {
        what: "deregistration",
        wec: wec_name.clone(),
        waited: timeout,
        waiting_for,
        checks,
    };
    // A WEC that does not answer has no agent left to stop: the hub side goes ahead.
    let reachable = match &wec {
        Some(w) => match w.get(Kind::Klusterlet, None, KLUSTERLET).await {
            Ok(Some(k)) => {
                let registers = field(&k, "/spec/clusterName");
                if registers != wec_name.as_str() {
                    return Err(ApplyError::WrongCluster {
                        context: w.context.clone(),
                        wec: wec_name.clone(),
                        registers: registers.to_owned(),
                    });
                }
                true
            }
            Ok(None) => true,
            Err(e) if e.is_transient() => false,
            Err(e) => return Err(e.into()),
        },
        None => false,
    };
    if let Some(wec) = wec.as_ref().filter(|_| reachable) {
        // fleet's direct RBAC on the WEC (bindings before roles); namespaces fleet created
        // stay, as they always do.
        for kind in [
            Kind::RoleBinding,
            Kind::ClusterRoleBinding,
            Kind::Role,
            Kind::ClusterRole,
        ] {
            for live in wec.list(kind, None, Some(&fleet_selector())).await? {
                let name = field(&live, "/metadata/name");
                let ns = live.pointer("/metadata/namespace").and_then(Json::as_str);
                wec.delete(&wec_ref(wec_name, kind, ns, name), None).await?;
            }
        }
        let klusterlet = wec_ref(wec_name, Kind::Klusterlet, None, KLUSTERLET);
        let agent_ns = wec_ref(wec_name, Kind::Namespace, None, AGENT_NS);
        let look = |what: &str, r: &ObjectRef| {
            format!(
                "{what}: `kubectl --context {} get {} {} -o yaml`",
                wec.context,
                r.kind.as_str().to_lowercase(),
                r.name
            )
        };
        let steps = [
            (
                &klusterlet,
                look(
                    "its finalizers wait for the klusterlet operator",
                    &klusterlet,
                ),
            ),
            (&agent_ns, look("what keeps it", &agent_ns)),
        ];
        for (r, hint) in steps {
            wec.delete(r, None).await?;
            if !gone(wec, r, deadline).await? {
                return Err(timed_out(
                    format!("{} to be deleted on the WEC", r.display_name()),
                    vec![hint],
                )
                .into());
            }
        }
        for (kind, ns, name) in [
            (Kind::Deployment, Some(OPERATOR_NS), KLUSTERLET),
            (Kind::ClusterRoleBinding, None, KLUSTERLET),
            (Kind::ClusterRole, None, KLUSTERLET),
            (Kind::ServiceAccount, Some(OPERATOR_NS), KLUSTERLET),
            (Kind::Secret, Some(OPERATOR_NS), IMAGE_PULL_SECRET),
            (Kind::CustomResourceDefinition, None, KLUSTERLET_CRD),
        ] {
            wec.delete(&wec_ref(wec_name, kind, ns, name), None).await?;
        }
    }
    let mc = managed_cluster_ref(wec_name);
    its.delete(&mc, None).await?;
    if !gone(&its, &mc, deadline).await? {
        return Err(timed_out(
            format!("ManagedCluster {wec_name} to be deleted on the ITS"),
            vec![format!(
                "OCM's hub controllers remove its finalizers once the cluster's ManifestWorks and add-ons are gone: `kubectl --context {} get managedcluster {wec_name} -o yaml`",
                its.context
            )],
        )
        .into());
    }
    // The agent's own CSRs (they pile up; ten block a new agent). Others are not fleet's.
    for csr in csrs(&its, wec_name)
        .await?
        .iter()
        .filter(|c| csr_from_bootstrap(c))
    {
        its.delete(
            &its_ref(
                Kind::CertificateSigningRequest,
                field(csr, "/metadata/name"),
            ),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Waits until `r` no longer exists; `false` when the deadline passed first.
async fn gone(c: &Cluster, r: &ObjectRef, deadline: Instant) -> Result<bool, KubeError> {
    loop {
        if c.get(r.kind, r.namespace.as_deref(), &r.name)
            .await?
            .is_none()
        {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
