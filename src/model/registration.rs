//! Where a WEC stands in OCM registration, as read from the ITS and (when needed) the WEC:
//! `absent → joined → csr-pending → accepted → Joined → Available`.

use std::collections::BTreeSet;
use std::fmt;

use super::json::Json;

use super::vocab::ocm::{
    AGENT_NS, AVAILABLE, BOOTSTRAP_SECRET, BOOTSTRAP_USER, CLIENT_SIGNER, CLUSTER_NAME_LABEL,
    JOINED, KLUSTERLET,
};
use super::{Kind, Location, ObjectRef, ObservedFleet, WecName};

/// One WEC's registration state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum RegState {
    /// Nothing on the ITS, no Klusterlet on the WEC.
    Absent,
    /// The Klusterlet and bootstrap kubeconfig are on the WEC (what `clusteradm join`
    /// applies); no CSR has reached the ITS yet.
    KlusterletInstalled,
    /// The agent's CSR waits on the ITS.
    CsrPending,
    /// The ITS accepts the cluster (`hubAcceptsClient`); the agent has not joined yet.
    Accepted,
    /// The agent joined (`ManagedClusterJoined`), the WEC is not reported available.
    Joined,
    /// `ManagedClusterConditionAvailable`: registered and healthy.
    Available,
}

impl RegState {
    /// The state's name, as the plan shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            RegState::Absent => "absent",
            RegState::KlusterletInstalled => "joined",
            RegState::CsrPending => "csr-pending",
            RegState::Accepted => "accepted",
            RegState::Joined => "Joined",
            RegState::Available => "Available",
        }
    }
}

impl fmt::Display for RegState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status.conditions` of an object (a ManagedCluster, a CRD) that are `True`.
pub fn true_conditions(mc: &Json) -> BTreeSet<&str> {
    mc.pointer("/status/conditions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("status").and_then(Json::as_str) == Some("True"))
        .filter_map(|c| c.get("type").and_then(Json::as_str))
        .collect()
}

/// Whether a ManagedCluster's agent has joined: registered, whether or not it reports
/// Available right now.
pub fn registered(mc: &Json) -> bool {
    let up = true_conditions(mc);
    up.contains(JOINED) || up.contains(AVAILABLE)
}

/// Whether a CSR has neither been approved nor denied yet.
pub fn csr_pending(csr: &Json) -> bool {
    csr.pointer("/status/conditions")
        .and_then(Json::as_array)
        .is_none_or(|c| c.is_empty())
}

/// Whether an agent joined with fleet's bootstrap identity filed this CSR, for a client
/// certificate: the only CSRs fleet approves.
pub fn csr_from_bootstrap(csr: &Json) -> bool {
    let field = |p: &str| csr.pointer(p).and_then(Json::as_str);
    field("/spec/username") == Some(BOOTSTRAP_USER)
        && field("/spec/signerName") == Some(CLIENT_SIGNER)
}

/// Whether the certificate a CSR asks for is the agent identity of `wec`: subject CN
/// `system:open-cluster-management:<wec>:<agent>` and O `system:open-cluster-management:<wec>`,
/// as OCM's agent requests it. The cluster-name label is chosen by the requester; the subject
/// is what the signed certificate will say.
pub fn csr_subject_is(csr: &Json, wec: &WecName) -> bool {
    use base64::Engine;
    use x509_parser::prelude::FromDer;
    let Some(request) = csr.pointer("/spec/request").and_then(Json::as_str) else {
        return false;
    };
    let Ok(pem_text) = base64::engine::general_purpose::STANDARD.decode(request) else {
        return false;
    };
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(&pem_text) else {
        return false;
    };
    let Ok((_, req)) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
    else {
        return false;
    };
    let subject = &req.certification_request_info.subject;
    let group = format!("system:open-cluster-management:{wec}");
    let cn_ok = subject
        .iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .any(|cn| {
            cn.strip_prefix(&group)
                .is_some_and(|rest| rest.starts_with(':'))
        });
    let o_ok = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok())
        .any(|o| o == group);
    cn_ok && o_ok
}

/// A CSR fleet may approve for `wec`: from its bootstrap identity, for `wec`'s agent identity.
pub fn csr_approvable(csr: &Json, wec: &WecName) -> bool {
    csr_from_bootstrap(csr) && csr_subject_is(csr, wec)
}

/// The CSRs an agent filed for `wec` (labelled with its name), in the snapshot.
pub fn csrs_of<'a>(
    observed: &'a ObservedFleet,
    wec: &'a WecName,
) -> impl Iterator<Item = &'a Json> {
    observed
        .of_kind(Kind::CertificateSigningRequest)
        .filter(move |(r, live)| {
            r.location == Location::Its
                && live
                    .pointer("/metadata/labels")
                    .and_then(|l| l.get(CLUSTER_NAME_LABEL))
                    .and_then(Json::as_str)
                    == Some(wec.as_str())
        })
        .map(|(_, live)| live)
}

/// The WEC's ManagedCluster.
pub fn managed_cluster_ref(wec: &WecName) -> ObjectRef {
    ObjectRef::cluster(Location::Its, Kind::ManagedCluster, wec.as_str())
}

/// The Klusterlet on the WEC: what registration changes are named after.
pub fn klusterlet_ref(wec: &WecName) -> ObjectRef {
    ObjectRef::cluster(Location::Wec(wec.clone()), Kind::Klusterlet, KLUSTERLET)
}

/// The bootstrap kubeconfig Secret on the WEC.
pub fn bootstrap_secret_ref(wec: &WecName) -> ObjectRef {
    ObjectRef::namespaced(
        Location::Wec(wec.clone()),
        Kind::Secret,
        AGENT_NS,
        BOOTSTRAP_SECRET,
    )
}

/// What the ITS alone says about a WEC: `None` when only the WEC can tell (no
/// ManagedCluster, or one the hub does not accept yet and no CSR waiting).
fn state_on_its(observed: &ObservedFleet, wec: &WecName) -> Option<RegState> {
    let mc = observed.get(&managed_cluster_ref(wec));
    if let Some(mc) = mc {
        let up = true_conditions(mc);
        if up.contains(AVAILABLE) {
            return Some(RegState::Available);
        }
        if up.contains(JOINED) {
            return Some(RegState::Joined);
        }
        if mc.pointer("/spec/hubAcceptsClient").and_then(Json::as_bool) == Some(true) {
            return Some(RegState::Accepted);
        }
    }
    // Only a CSR fleet may approve counts: one from another requester is never approved, so
    // it does not stand for a joined agent.
    csrs_of(observed, wec)
        .any(|c| csr_pending(c) && csr_approvable(c, wec))
        .then_some(RegState::CsrPending)
}

/// Whether observe must read the WEC itself to know its registration state.
pub fn needs_wec_read(observed: &ObservedFleet, wec: &WecName) -> bool {
    state_on_its(observed, wec).is_none()
}

/// The WEC's registration state; `None` when a place it depends on was not read.
pub fn state(observed: &ObservedFleet, wec: &WecName) -> Option<RegState> {
    let mc = managed_cluster_ref(wec);
    if !observed.knows(&mc) {
        return None;
    }
    if let Some(s) = state_on_its(observed, wec) {
        return Some(s);
    }
    if observed.get(&mc).is_some() {
        // The agent created its ManagedCluster but no CSR waits: it is joined.
        return Some(RegState::KlusterletInstalled);
    }
    let klusterlet = klusterlet_ref(wec);
    if !observed.knows(&klusterlet) {
        return None;
    }
    Some(if observed.get(&klusterlet).is_some() {
        RegState::KlusterletInstalled
    } else {
        RegState::Absent
    })
}
