//! fleet's vocabulary on the clusters: the labels and annotations it writes, and the names of
//! the objects it creates. Everything that reads or writes them uses these.

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

/// The ManagedCluster label that makes a WEC selected by a downsync expansion.
pub fn selector_label(expansion: &ExpansionName) -> String {
    format!("{RBAC_SELECTOR_PREFIX}{expansion}")
}

/// The expansion a live object belongs to, from its [`RBAC_LABEL`].
pub fn expansion_of(live: &serde_json::Value) -> Option<ExpansionName> {
    live.pointer("/metadata/labels")?
        .get(RBAC_LABEL)?
        .as_str()
        .map(ExpansionName::from)
}

/// Whether a live object carries `app.kubernetes.io/managed-by: fleet`.
pub fn managed_by_fleet(live: &serde_json::Value) -> bool {
    live.pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY))
        .and_then(serde_json::Value::as_str)
        == Some(MANAGER)
}
