//! The resolved, typed desired fleet: what `fleet.toml` means once defaults and groups are
//! merged into every WEC. Everything downstream (observe, diff, plan, apply) reads only this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::model::{ExpansionName, StringMap, WecName};

/// How to reach one control plane through a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAccess {
    /// The kubeconfig context; with `control_plane`, the context of the hosting cluster.
    pub context: String,
    /// Explicit kubeconfig file (already resolved against the directory of `fleet.toml`);
    /// `None` means `--kubeconfig`, then `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// A KubeFlex ControlPlane on the `context` cluster whose `status.secretRef` holds the
    /// kubeconfig to use.
    pub control_plane: Option<String>,
}

impl ClusterAccess {
    /// Through a kubeconfig context.
    pub fn context(context: impl Into<String>) -> Self {
        ClusterAccess {
            context: context.into(),
            kubeconfig: None,
            control_plane: None,
        }
    }
}

impl std::fmt::Display for ClusterAccess {
    /// `its1`, or `controlplane its1 on kind-kubeflex`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.control_plane {
            Some(cp) => write!(f, "controlplane {cp} on {}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

/// The ITS (OCM hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Its {
    pub access: ClusterAccess,
    /// URL the WECs use to reach the ITS; `None` means the context's server.
    pub hub_api_server: Option<String>,
    /// The OCM release fleet installs on WECs it registers.
    pub ocm: OcmRelease,
}

/// The OCM klusterlet images: `<registry>/<image>:<version>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcmRelease {
    pub registry: String,
    pub version: String,
}

impl OcmRelease {
    /// The release KubeStellar 0.30 uses (clusteradm 1.0.0's default bundle).
    pub const DEFAULT_VERSION: &str = "v1.0.0";
    /// OCM's public registry.
    pub const DEFAULT_REGISTRY: &str = "quay.io/open-cluster-management";

    /// `<registry>/<image>:<version>`.
    pub fn image(&self, image: &str) -> String {
        format!("{}/{image}:{}", self.registry, self.version)
    }
}

impl Default for OcmRelease {
    fn default() -> Self {
        OcmRelease {
            registry: Self::DEFAULT_REGISTRY.to_owned(),
            version: Self::DEFAULT_VERSION.to_owned(),
        }
    }
}

/// Where an RBAC expansion is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RbacMode {
    /// Objects plus a BindingPolicy in the WDS; KubeStellar downsyncs them.
    Downsync,
    /// Objects applied on each WEC directly.
    Direct,
}

/// One RBAC policy rule, as in a (Cluster)Role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RbacRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
}

/// What one SubjectAccessReview asks of a rule: its first verb, API group, resource and
/// resource name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleProbe<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub name: Option<&'a str>,
}

impl RbacRule {
    /// The question that stands for this rule in a SubjectAccessReview.
    pub fn probe(&self) -> RuleProbe<'_> {
        fn first(v: &[String]) -> &str {
            v.first().map_or("", String::as_str)
        }
        RuleProbe {
            verb: first(&self.verbs),
            group: first(&self.api_groups),
            resource: first(&self.resources),
            name: self.resource_names.first().map(String::as_str),
        }
    }
}

/// A named RBAC expansion for `open-cluster-management-agent/klusterlet-work-sa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacExpansion {
    pub name: ExpansionName,
    pub mode: RbacMode,
    /// `Some` → Role/RoleBinding in that namespace; `None` → ClusterRole/ClusterRoleBinding.
    pub namespace: Option<String>,
    pub rules: Vec<RbacRule>,
}

/// `clusteradm join` options for one WEC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinOptions {
    pub singleton: bool,
    pub force_internal_endpoint_lookup: bool,
}

/// One Workload Execution Cluster after merging defaults → groups → its own values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wec {
    /// The ManagedCluster name (a DNS-1123 label).
    pub name: WecName,
    /// How to reach the WEC itself (defaults to a context named like the WEC).
    pub access: ClusterAccess,
    /// Groups in the order they were merged.
    pub groups: Vec<String>,
    pub labels: StringMap,
    pub properties: StringMap,
    /// Names of RBAC expansions this WEC needs (union of defaults, groups and its own).
    pub rbac: BTreeSet<ExpansionName>,
    /// `false`: the WEC must already be registered; fleet never joins it.
    pub register: bool,
    pub join: JoinOptions,
}

/// The whole desired fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFleet {
    pub its: Its,
    pub wds: Option<ClusterAccess>,
    pub rbac: BTreeMap<ExpansionName, RbacExpansion>,
    pub wecs: BTreeMap<WecName, Wec>,
}

impl DesiredFleet {
    /// The expansions a WEC lists, resolved (unknown names were refused by validation).
    pub fn expansions_of<'a>(&'a self, wec: &'a Wec) -> impl Iterator<Item = &'a RbacExpansion> {
        wec.rbac.iter().filter_map(|e| self.rbac.get(e))
    }

    /// Whether a WEC lists an expansion in `mode`.
    pub fn uses_mode(&self, wec: &Wec, mode: RbacMode) -> bool {
        self.expansions_of(wec).any(|e| e.mode == mode)
    }
}
