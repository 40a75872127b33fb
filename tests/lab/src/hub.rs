//! The hub-side objects `clusteradm init` leaves on an ITS (besides the CRDs and the
//! controllers): the `open-cluster-management` namespace, the `agent-registration-bootstrap`
//! service account with its ClusterRole and binding, and `kube-public/cluster-info`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Api, Client};

use crate::LabError;
use crate::kube_util::apply;

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        ..Default::default()
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

/// Creates the objects; `server` and `ca_pem` go into `kube-public/cluster-info`, which
/// `clusteradm join` reads for the hub CA (and for the server with
/// `--force-internal-endpoint-lookup`).
pub async fn init(client: &Client, server: &str, ca_pem: &str) -> Result<(), LabError> {
    let ns: Api<Namespace> = Api::all(client.clone());
    for name in [
        "open-cluster-management",
        "open-cluster-management-hub",
        "kube-public",
    ] {
        apply(
            &ns,
            &Namespace {
                metadata: meta(name, None),
                ..Default::default()
            },
        )
        .await?;
    }
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), "open-cluster-management");
    apply(
        &sa,
        &ServiceAccount {
            metadata: meta(
                "agent-registration-bootstrap",
                Some("open-cluster-management"),
            ),
            ..Default::default()
        },
    )
    .await?;

    let roles: Api<ClusterRole> = Api::all(client.clone());
    apply(
        &roles,
        &ClusterRole {
            metadata: meta("open-cluster-management:bootstrap", None),
            rules: Some(vec![
                rule("", &["configmaps"], &["get"]),
                rule(
                    "certificates.k8s.io",
                    &["certificatesigningrequests"],
                    &["create", "get", "list", "watch"],
                ),
                rule(
                    "cluster.open-cluster-management.io",
                    &["managedclusters"],
                    &["get", "create", "list", "watch"],
                ),
                rule(
                    "cluster.open-cluster-management.io",
                    &["managedclustersets/join"],
                    &["create"],
                ),
            ]),
            ..Default::default()
        },
    )
    .await?;
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    apply(
        &bindings,
        &ClusterRoleBinding {
            metadata: meta("open-cluster-management:bootstrap:agent-registration", None),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "open-cluster-management:bootstrap".into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: "agent-registration-bootstrap".into(),
                namespace: Some("open-cluster-management".into()),
                ..Default::default()
            }]),
        },
    )
    .await?;

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-public");
    apply(
        &cms,
        &ConfigMap {
            metadata: meta("cluster-info", Some("kube-public")),
            data: Some(BTreeMap::from([(
                "kubeconfig".to_owned(),
                cluster_info_kubeconfig(server, ca_pem),
            )])),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// The kubeconfig kubeadm publishes in `cluster-info`: one cluster, no credentials.
fn cluster_info_kubeconfig(server: &str, ca_pem: &str) -> String {
    let kc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "", "cluster": {"server": server, "certificate-authority-data": crate::b64(ca_pem.as_bytes())}}],
        "contexts": [],
        "users": [],
        "current-context": "",
        "preferences": {},
    });
    serde_json::to_string_pretty(&kc).expect("json")
}
