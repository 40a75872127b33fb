//! The resolved, typed desired fleet: what `fleet.toml` means once defaults and groups are
//! merged into every WEC. Everything downstream (observe, diff, plan, apply) reads only this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

/// How to reach one control plane through a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterAccess {
    /// The kubeconfig context.
    pub context: String,
    /// Explicit kubeconfig file (already resolved against the directory of `fleet.toml`);
    /// `None` means `--kubeconfig`, then `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
}

/// The ITS (OCM hub).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Its {
    pub access: ClusterAccess,
    /// URL the WECs use to reach the ITS; `None` means the context's server.
    pub hub_api_server: Option<String>,
}

/// Where an RBAC expansion is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RbacMode {
    /// Objects plus a BindingPolicy in the WDS; KubeStellar downsyncs them.
    Downsync,
    /// Objects applied on each WEC directly.
    Direct,
}

/// One RBAC policy rule, as in a (Cluster)Role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RbacRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
}

/// A named RBAC expansion for `open-cluster-management-agent/klusterlet-work-sa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RbacExpansion {
    pub name: String,
    pub mode: RbacMode,
    /// `Some` → Role/RoleBinding in that namespace; `None` → ClusterRole/ClusterRoleBinding.
    pub namespace: Option<String>,
    pub rules: Vec<RbacRule>,
}

/// `clusteradm join` options for one WEC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JoinOptions {
    pub singleton: bool,
    pub force_internal_endpoint_lookup: bool,
}

/// One Workload Execution Cluster after merging defaults → groups → its own values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wec {
    /// The ManagedCluster name (a DNS-1123 label).
    pub name: String,
    /// How to reach the WEC itself (defaults to a context named like the WEC).
    pub access: ClusterAccess,
    /// Groups in the order they were merged.
    pub groups: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    /// Names of RBAC expansions this WEC needs (union of defaults, groups and its own).
    pub rbac: BTreeSet<String>,
    /// `false`: the WEC must already be registered; fleet never joins it.
    pub register: bool,
    pub join: JoinOptions,
}

/// The whole desired fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredFleet {
    pub its: Its,
    pub wds: Option<ClusterAccess>,
    pub rbac: BTreeMap<String, RbacExpansion>,
    pub wecs: BTreeMap<String, Wec>,
}
