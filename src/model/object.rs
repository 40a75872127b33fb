//! Names for the objects fleet manages: where they live ([`Location`]), what they are
//! ([`Kind`]) and which one ([`ObjectRef`]). `Display` is for people; the serde form is the
//! one kept in fleet's last-applied record on the clusters.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::names::WecName;

/// The control plane an object lives on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Location {
    /// The ITS (OCM hub).
    Its,
    /// The WDS.
    Wds,
    /// A WEC, by its ManagedCluster name.
    Wec(WecName),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Its => f.write_str("its"),
            Location::Wds => f.write_str("wds"),
            Location::Wec(n) => write!(f, "wec/{n}"),
        }
    }
}

/// The kinds fleet reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    Namespace,
    ConfigMap,
    ManagedCluster,
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    BindingPolicy,
    // What registration reads and writes (`clusteradm join` / `accept` at the API level).
    Klusterlet,
    CustomResourceDefinition,
    ServiceAccount,
    Secret,
    Deployment,
    CertificateSigningRequest,
    /// The agents' heartbeat on the ITS (`<cluster>/managed-cluster-lease`).
    Lease,
    /// A KubeFlex control plane on a hosting cluster (how KubeStellar finds its ITS and WDS).
    ControlPlane,
    /// What KubeStellar's transport writes on the ITS for a WEC's work agent.
    ManifestWork,
}

impl Kind {
    /// `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::ConfigMap | Kind::ServiceAccount | Kind::Secret => "v1",
            Kind::ManagedCluster => "cluster.open-cluster-management.io/v1",
            Kind::ClusterRole | Kind::ClusterRoleBinding | Kind::Role | Kind::RoleBinding => {
                "rbac.authorization.k8s.io/v1"
            }
            Kind::BindingPolicy => "control.kubestellar.io/v1alpha1",
            Kind::Klusterlet => "operator.open-cluster-management.io/v1",
            Kind::CustomResourceDefinition => "apiextensions.k8s.io/v1",
            Kind::Deployment => "apps/v1",
            Kind::CertificateSigningRequest => "certificates.k8s.io/v1",
            Kind::Lease => "coordination.k8s.io/v1",
            Kind::ControlPlane => "tenancy.kflex.kubestellar.org/v1alpha1",
            Kind::ManifestWork => "work.open-cluster-management.io/v1",
        }
    }

    /// The API group (empty for core).
    pub fn group(self) -> &'static str {
        self.api_version().rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// The version part of `apiVersion`.
    pub fn version(self) -> &'static str {
        self.api_version()
            .rsplit_once('/')
            .map_or(self.api_version(), |(_, v)| v)
    }

    /// Lower-case plural resource name.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::ConfigMap => "configmaps",
            Kind::ManagedCluster => "managedclusters",
            Kind::ClusterRole => "clusterroles",
            Kind::ClusterRoleBinding => "clusterrolebindings",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::BindingPolicy => "bindingpolicies",
            Kind::Klusterlet => "klusterlets",
            Kind::CustomResourceDefinition => "customresourcedefinitions",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Secret => "secrets",
            Kind::Deployment => "deployments",
            Kind::CertificateSigningRequest => "certificatesigningrequests",
            Kind::Lease => "leases",
            Kind::ControlPlane => "controlplanes",
            Kind::ManifestWork => "manifestworks",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        matches!(
            self,
            Kind::ConfigMap
                | Kind::Role
                | Kind::RoleBinding
                | Kind::ServiceAccount
                | Kind::Secret
                | Kind::Deployment
                | Kind::Lease
                | Kind::ManifestWork
        )
    }

    /// The `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::ConfigMap => "ConfigMap",
            Kind::ManagedCluster => "ManagedCluster",
            Kind::ClusterRole => "ClusterRole",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::BindingPolicy => "BindingPolicy",
            Kind::Klusterlet => "Klusterlet",
            Kind::CustomResourceDefinition => "CustomResourceDefinition",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::Deployment => "Deployment",
            Kind::CertificateSigningRequest => "CertificateSigningRequest",
            Kind::Lease => "Lease",
            Kind::ControlPlane => "ControlPlane",
            Kind::ManifestWork => "ManifestWork",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object: where, what, which.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub location: Location,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
    /// Inline when up to 24 bytes, as nearly all are: a plan holds tens of thousands.
    pub name: CompactString,
}

impl ObjectRef {
    /// A cluster-scoped object.
    pub fn cluster(location: Location, kind: Kind, name: impl AsRef<str>) -> Self {
        ObjectRef {
            location,
            kind,
            namespace: None,
            name: name.as_ref().into(),
        }
    }

    /// A namespaced object.
    pub fn namespaced(
        location: Location,
        kind: Kind,
        ns: impl AsRef<str>,
        name: impl AsRef<str>,
    ) -> Self {
        ObjectRef {
            location,
            kind,
            namespace: Some(ns.as_ref().into()),
            name: name.as_ref().into(),
        }
    }

    /// `Kind ns/name` or `Kind name`, as shown in plans.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.display_name())
    }
}
