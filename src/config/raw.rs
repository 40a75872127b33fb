//! The `fleet.toml` file as written: serde types that keep the byte span of everything a
//! diagnostic may point at.
//!
//! These types are the single source of truth for the file's shape: [`decode`](super::decode)
//! deserializes them and `schema/fleet.schema.json` is generated from them. Required keys are
//! `Option` here (and marked required in the schema) so that a missing one becomes a precise
//! diagnostic from [`validate`](super::validate) instead of stopping the decoder.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A string → string table (labels, properties) with spans on keys and values.
pub type SpannedMap = BTreeMap<Spanned<String>, Spanned<String>>;

/// A list of names (groups, RBAC expansions, verbs, ...) with spans.
pub type SpannedList = Vec<Spanned<String>>;

/// A list that diagnostics may point at as a whole (`verbs = []`): `None` when the key is
/// absent.
pub type SpannedListField = Option<Spanned<SpannedList>>;

/// The items of a [`SpannedListField`]; none when the key is absent.
pub fn items(list: &SpannedListField) -> &[Spanned<String>] {
    list.as_ref().map_or(&[], |l| l.get_ref().as_slice())
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "fleet.toml",
    description = "Declarative description of a KubeStellar fleet: the ITS, the WDS, and every Workload Execution Cluster (WEC) with its labels, customization properties and RBAC expansions. See https://github.com/kubestellar/kubestellar."
)]
pub struct RawFleet {
    /// The ITS (Inventory and Transport Space, the OCM hub) where WECs are registered.
    #[schemars(required, with = "RawIts")]
    pub its: Option<Spanned<RawIts>>,
    /// The WDS (Workload Description Space); needed only by RBAC expansions in `downsync` mode.
    #[schemars(with = "Option<RawWds>")]
    pub wds: Option<Spanned<RawWds>>,
    /// Settings merged into every WEC before its groups and its own values.
    pub defaults: Option<RawProfile>,
    /// Named groups of settings. A WEC lists the groups it belongs to; they are merged in
    /// that order, after `[defaults]` and before the WEC's own values.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawProfile>")]
    pub group: BTreeMap<Spanned<String>, RawProfile>,
    /// Named RBAC expansions for the OCM work agent
    /// (`open-cluster-management-agent/klusterlet-work-sa`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawRbac>")]
    pub rbac: BTreeMap<Spanned<String>, RawRbac>,
    /// The Workload Execution Clusters, keyed by ManagedCluster name (a DNS-1123 label).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawWec>")]
    pub wec: BTreeMap<Spanned<String>, RawWec>,
}

/// `[its]`: how to reach the ITS.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIts {
    /// The kubeconfig context of the ITS. Required, unless `control_plane` names it.
    #[schemars(with = "Option<String>")]
    pub context: Option<Spanned<String>>,
    /// Instead of `context`: the KubeFlex ControlPlane of the ITS, whose kubeconfig fleet
    /// reads from its `status.secretRef` on the `hosting_context` cluster (no `kflex ctx`).
    #[schemars(with = "Option<String>")]
    pub control_plane: Option<Spanned<String>>,
    /// With `control_plane`: the kubeconfig context of the cluster hosting the ControlPlane.
    #[schemars(with = "Option<String>")]
    pub hosting_context: Option<Spanned<String>>,
    /// Kubeconfig file, relative to this file's directory. Default: `--kubeconfig`, then
    /// `$KUBECONFIG`, then `~/.kube/config`.
    #[schemars(with = "Option<String>")]
    pub kubeconfig: Option<Spanned<String>>,
    /// URL the WECs use to reach the ITS (`https://…`). Default: the context's server.
    #[schemars(with = "Option<String>", url)]
    pub hub_api_server: Option<Spanned<String>>,
    /// OCM release of the klusterlet fleet installs when it registers a WEC (image tag,
    /// e.g. `v1.0.0`, which KubeStellar 0.30 uses). Default: `v1.0.0`.
    #[schemars(with = "Option<String>")]
    pub ocm_version: Option<Spanned<String>>,
    /// Registry of the OCM images (`registration-operator`, `registration`, `work`).
    /// Default: `quay.io/open-cluster-management`.
    #[schemars(with = "Option<String>")]
    pub image_registry: Option<Spanned<String>>,
}

/// `[wds]`: how to reach the WDS.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWds {
    /// The kubeconfig context of the WDS. Required, unless `control_plane` names it.
    #[schemars(with = "Option<String>")]
    pub context: Option<Spanned<String>>,
    /// Instead of `context`: the KubeFlex ControlPlane of the WDS (see `[its]`).
    #[schemars(with = "Option<String>")]
    pub control_plane: Option<Spanned<String>>,
    /// With `control_plane`: the kubeconfig context of the cluster hosting the ControlPlane.
    #[schemars(with = "Option<String>")]
    pub hosting_context: Option<Spanned<String>>,
    /// Kubeconfig file, relative to this file's directory.
    #[schemars(with = "Option<String>")]
    pub kubeconfig: Option<Spanned<String>>,
}

/// `[defaults]` and `[group.NAME]`: settings shared by many WECs.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// ManagedCluster labels (Kubernetes label keys and values). Later layers win per key.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub labels: Option<SpannedMap>,
    /// Customization properties for KubeStellar templates, stored in the ConfigMap
    /// `customization-properties/<wec>` of the ITS. Keys should be Go identifiers.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub properties: Option<SpannedMap>,
    /// Names of `[rbac.*]` expansions; unioned across layers.
    #[schemars(with = "Option<Vec<String>>")]
    pub rbac: Option<SpannedList>,
    /// Whether fleet registers (joins) the WEC. `false`: it must already be registered.
    pub register: Option<bool>,
    /// `clusteradm join` options.
    pub join: Option<RawJoin>,
}

/// `[wec.NAME]`: one Workload Execution Cluster.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWec {
    /// Kubeconfig context of the WEC itself. Default: the WEC's name.
    #[schemars(with = "Option<String>")]
    pub context: Option<Spanned<String>>,
    /// Kubeconfig file for the WEC, relative to this file's directory.
    #[schemars(with = "Option<String>")]
    pub kubeconfig: Option<Spanned<String>>,
    /// `[group.*]` names merged, in this order, after `[defaults]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub groups: SpannedList,
    /// ManagedCluster labels; win over defaults and groups.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub labels: Option<SpannedMap>,
    /// Customization properties; win over defaults and groups.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub properties: Option<SpannedMap>,
    /// Names of `[rbac.*]` expansions this WEC needs, added to those of defaults and groups.
    #[schemars(with = "Option<Vec<String>>")]
    pub rbac: Option<SpannedList>,
    /// Whether fleet registers (joins) the WEC (default `true`). `false`: it must already be
    /// registered and fleet never joins or unjoins it.
    pub register: Option<bool>,
    /// `clusteradm join` options.
    pub join: Option<RawJoin>,
}

/// `[wec.NAME.join]`: options of `clusteradm join`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJoin {
    /// Run the klusterlet in singleton mode (`--singleton`).
    pub singleton: Option<bool>,
    /// `--force-internal-endpoint-lookup`: use the hub's in-cluster endpoint (kind clusters).
    pub force_internal_endpoint_lookup: Option<bool>,
}

/// `[rbac.NAME]`: a named RBAC expansion.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRbac {
    /// `downsync`: objects and a BindingPolicy in the WDS (recommended); `direct`: applied on
    /// each WEC.
    #[schemars(required, with = "RawRbacMode")]
    pub mode: Option<Spanned<RawRbacMode>>,
    /// Set: a Role and RoleBinding in this namespace (created on the WEC when missing; in
    /// `downsync` mode the BindingPolicy delivers it). Unset: a ClusterRole and
    /// ClusterRoleBinding.
    #[schemars(with = "Option<String>")]
    pub namespace: Option<Spanned<String>>,
    /// The policy rules.
    #[serde(default)]
    #[schemars(with = "Vec<RawRule>")]
    pub rules: Vec<Spanned<RawRule>>,
}

/// How an RBAC expansion reaches the WECs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawRbacMode {
    /// Objects plus a BindingPolicy in the WDS; KubeStellar downsyncs them (recommended).
    Downsync,
    /// Objects applied on each WEC directly.
    Direct,
}

/// `[[rbac.NAME.rules]]`: one policy rule, as in a (Cluster)Role.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// API groups; `""` is the core group.
    #[serde(default)]
    #[schemars(with = "Vec<String>", extend("default" = []))]
    pub api_groups: SpannedListField,
    /// Resources (plural, lowercase), e.g. `appwrappers`, `configmaps`, `deployments/scale`.
    #[serde(default)]
    #[schemars(with = "Vec<String>", extend("default" = []))]
    pub resources: SpannedListField,
    /// Verbs, e.g. `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    #[serde(default)]
    #[schemars(with = "Vec<String>", extend("default" = []))]
    pub verbs: SpannedListField,
    /// Restrict the rule to these object names.
    #[serde(default)]
    #[schemars(with = "Vec<String>", extend("default" = []))]
    pub resource_names: SpannedListField,
}
