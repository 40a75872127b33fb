//! fleet's vocabulary on the clusters: the labels and annotations it writes, and the names of
//! the objects it creates. Everything that reads or writes them uses these.

use super::json::Json;
use super::names::ExpansionName;

/// Label fleet puts on every object it creates.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY`], and fleet's server-side-apply field manager.
pub const MANAGER: &str = "fleet";
/// Label naming the RBAC expansion an object belongs to.
pub const RBAC_LABEL: &str = "fleet.kubestellar.io/rbac";
/// Prefix of the ManagedCluster label a downsync BindingPolicy selects on.
pub const RBAC_SELECTOR_PREFIX: &str = "rbac.fleet.kubestellar.io/";
/// Annotation holding what fleet applied last (see [`LastApplied`](super::LastApplied)).
pub const LAST_APPLIED: &str = "fleet.kubestellar.io/last-applied";
/// Namespace of the property ConfigMaps on the ITS.
pub const PROPERTIES_NS: &str = "customization-properties";
/// The OCM work agent's service account on every WEC: namespace and name.
pub const WORK_SA: (&str, &str) = ("open-cluster-management-agent", "klusterlet-work-sa");

/// The label KubeStellar's transport puts on each ManifestWork: the Binding (named after its
/// BindingPolicy) it delivers.
pub const ORIGIN_BINDING_LABEL: &str = "transport.kubestellar.io/originOwnerReferenceBindingKey";

/// The apply lock on the ITS: the Lease's namespace and name.
pub const LOCK: (&str, &str) = ("fleet-system", "fleet-apply");
/// Annotation on the lock's Lease describing its holder (JSON).
pub const LOCK_INFO: &str = "fleet.kubestellar.io/lock-info";

/// `app.kubernetes.io/managed-by=fleet`, the label selector of fleet's objects.
pub fn fleet_selector() -> String {
    format!("{MANAGED_BY}={MANAGER}")
}

/// Name of the (Cluster)Role and (Cluster)RoleBinding of an expansion.
pub fn rbac_object_name(expansion: &ExpansionName) -> String {
    format!("fleet:{expansion}")
}

/// Name of the BindingPolicy of a downsync expansion.
pub fn binding_policy_name(expansion: &ExpansionName) -> String {
    format!("fleet-rbac-{expansion}")
}

/// The BindingPolicy that delivers a namespace the `downsync` expansions in it need, to
/// every WEC that lists one of them.
pub fn namespace_policy_name(namespace: &str) -> String {
    format!("fleet-ns-{namespace}")
}

/// The ManagedCluster label that makes a WEC selected by a downsync expansion.
pub fn selector_label(expansion: &ExpansionName) -> String {
    format!("{RBAC_SELECTOR_PREFIX}{expansion}")
}

/// The expansion a live object belongs to, from its [`RBAC_LABEL`].
pub fn expansion_of(live: &Json) -> Option<ExpansionName> {
    live.pointer("/metadata/labels")?
        .get(RBAC_LABEL)?
        .as_str()
        .map(ExpansionName::from)
}

/// Whether a live object carries `app.kubernetes.io/managed-by: fleet`.
pub fn managed_by_fleet(live: &Json) -> bool {
    live.pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY))
        .and_then(Json::as_str)
        == Some(MANAGER)
}

/// OCM's names, as `clusteradm init`, `join` and `accept` use them.
/// Whether OCM's work agent applied `live` (it owns it through an AppliedManifestWork): on
/// a WEC, a copy of fleet's downsync RBAC that KubeStellar delivered — fleet's labels, not
/// fleet's to delete.
pub fn delivered_by_work_agent(live: &Json) -> bool {
    live.pointer("/metadata/ownerReferences")
        .and_then(Json::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|o| o.get("kind").and_then(Json::as_str) == Some("AppliedManifestWork"))
        })
}

pub mod ocm {
    /// The Lease an agent renews on the ITS, in its cluster's namespace.
    pub const AGENT_LEASE: &str = "managed-cluster-lease";
    /// How many lease durations the hub waits before it calls a cluster's availability
    /// Unknown (OCM's `leaseDurationTimes`).
    pub const LEASE_GRACE_TIMES: i64 = 5;
    /// A ManagedCluster's `spec.leaseDurationSeconds` when it sets none.
    pub const DEFAULT_LEASE_SECONDS: i64 = 60;
    /// Label key prefixes that OCM sets on ManagedClusters itself.
    pub const LABEL_PREFIXES: [&str; 2] = [
        "cluster.open-cluster-management.io/",
        "feature.open-cluster-management.io/",
    ];
    /// Namespace of the klusterlet operator on a WEC, and of the bootstrap service account
    /// on the ITS.
    pub const OPERATOR_NS: &str = "open-cluster-management";
    /// Namespace of the klusterlet agent on a WEC.
    pub const AGENT_NS: &str = "open-cluster-management-agent";
    /// The Secret on a WEC holding the bootstrap kubeconfig (the agent's first credentials).
    pub const BOOTSTRAP_SECRET: &str = "bootstrap-hub-kubeconfig";
    /// The Secret on a WEC where the agent keeps its hub credentials once accepted.
    pub const HUB_SECRET: &str = "hub-kubeconfig-secret";
    /// Name of the Klusterlet, the klusterlet operator's Deployment, ClusterRole, binding
    /// and service account.
    pub const KLUSTERLET: &str = "klusterlet";
    /// The Klusterlet CRD.
    pub const KLUSTERLET_CRD: &str = "klusterlets.operator.open-cluster-management.io";
    /// The service account on the ITS whose tokens bootstrap an agent.
    pub const BOOTSTRAP_SA: &str = "agent-registration-bootstrap";
    /// The username the ITS gives a request made with a token of [`BOOTSTRAP_SA`].
    pub const BOOTSTRAP_USER: &str =
        "system:serviceaccount:open-cluster-management:agent-registration-bootstrap";
    /// Label an agent puts on its CSRs.
    pub const CLUSTER_NAME_LABEL: &str = "open-cluster-management.io/cluster-name";
    /// The signer of agents' client certificates.
    pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";
    /// ManagedCluster condition: the agent joined with accepted credentials.
    pub const JOINED: &str = "ManagedClusterJoined";
    /// ManagedCluster condition: the WEC's API server is healthy as seen by its agent.
    pub const AVAILABLE: &str = "ManagedClusterConditionAvailable";
    /// ManagedCluster condition: the hub accepted the cluster.
    pub const HUB_ACCEPTED: &str = "HubAcceptedManagedCluster";
}

/// Field manager of fleet's registration writes (`spec.hubAcceptsClient` and
/// [`REGISTERED_BY`] on a ManagedCluster). Apart from [`MANAGER`] so that fleet's label
/// writes never drop them.
pub const REGISTRATION_MANAGER: &str = "fleet-registration";
/// Annotation on a ManagedCluster fleet registered: the kubeconfig context it joined the WEC
/// through (what deregistration unjoins through once the WEC has left fleet.toml).
pub const REGISTERED_BY: &str = "fleet.kubestellar.io/registered-through-context";

/// Whether a field manager is one of fleet's.
pub fn is_fleet_manager(manager: &str) -> bool {
    manager == MANAGER || manager == REGISTRATION_MANAGER
}
