//! KubeFlex, as far as KubeStellar's controllers and fleet need it: a hosting cluster (the
//! lab's ITS) serving the `ControlPlane` CRD of the `github.com/kubestellar/kubeflex` module,
//! one `ControlPlane` per KubeStellar space (`its1`, `wds1`) whose `status.secretRef` names a
//! Secret holding that space's admin kubeconfig, and a `Ready` condition. KubeStellar's
//! controller-manager finds the WDS and the ITS only this way; fleet does when fleet.toml
//! names a `control_plane` and its `hosting_context`.
//!
//! Nothing of KubeFlex runs: the lab writes what its controller would have written.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use crate::LabError;
use crate::kube_util::apply;

/// Namespace of the kubeconfig Secrets on the hosting cluster.
pub const NAMESPACE: &str = "kubeflex-system";
/// The label KubeStellar selects control planes by (`its`, `wds`).
pub const CPTYPE_LABEL: &str = "kflex.kubestellar.io/cptype";
/// The key of the kubeconfig in the Secrets (`status.secretRef.key` and `inClusterKey`).
pub const KEY: &str = "kubeconfig";

/// `ControlPlane` objects (cluster-scoped) on a hosting cluster.
pub fn control_planes(host: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("tenancy.kflex.kubestellar.org", "v1alpha1", "ControlPlane");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "controlplanes");
    Api::all_with(host.clone(), &ar)
}

/// The Secret name the lab uses for control plane `name`.
pub fn secret_name(name: &str) -> String {
    format!("{name}-kubeconfig")
}

/// What one `ControlPlane` says.
#[derive(Debug, Clone)]
pub struct ControlPlaneObject<'a> {
    pub name: &'a str,
    /// `kflex.kubestellar.io/cptype` (`its`, `wds`), if any.
    pub cptype: Option<&'a str>,
    /// `spec.type`: one of k8s, ocm, vcluster, host, external, k3s.
    pub spec_type: &'a str,
    /// `status.secretRef.name` (in [`NAMESPACE`], key [`KEY`]).
    pub secret: &'a str,
    /// The `Ready` condition's status and reason.
    pub ready: bool,
    pub reason: &'a str,
}

/// Creates or updates a `ControlPlane` and writes its status through `/status`, as KubeFlex's
/// controller does.
pub async fn put_control_plane(host: &Client, cp: &ControlPlaneObject<'_>) -> Result<(), LabError> {
    let api = control_planes(host);
    let pp = PatchParams::apply("fleet-lab").force();
    let labels: BTreeMap<&str, &str> = cp.cptype.map(|t| (CPTYPE_LABEL, t)).into_iter().collect();
    let kerr = |what: &str, e: kube::Error| {
        LabError::Kube(format!("{what} ControlPlane {}: {e}", cp.name))
    };
    let obj = json!({
        "apiVersion": "tenancy.kflex.kubestellar.org/v1alpha1",
        "kind": "ControlPlane",
        "metadata": {"name": cp.name, "labels": labels},
        "spec": {"type": cp.spec_type, "backend": "shared"},
    });
    let created = api
        .patch(cp.name, &pp, &Patch::Apply(&obj))
        .await
        .map_err(|e| kerr("apply", e))?;
    let now = format!("{:.0}", Timestamp::now());
    let (status, message) = if cp.ready {
        ("True", "the control plane is ready")
    } else {
        ("False", "the control plane is not ready")
    };
    let status = json!({
        "apiVersion": "tenancy.kflex.kubestellar.org/v1alpha1",
        "kind": "ControlPlane",
        "metadata": {"name": cp.name},
        "status": {
            "conditions": [{
                "type": "Ready",
                "status": status,
                "reason": cp.reason,
                "message": message,
                "lastTransitionTime": now,
                "lastUpdateTime": now,
            }],
            "observedGeneration": created.metadata.generation.unwrap_or(0),
            "secretRef": {
                "namespace": NAMESPACE,
                "name": cp.secret,
                "key": KEY,
                "inClusterKey": KEY,
            },
        },
    });
    api.patch_status(cp.name, &pp, &Patch::Apply(&status))
        .await
        .map_err(|e| kerr("write the status of", e))?;
    Ok(())
}

/// Writes Secret `name` in [`NAMESPACE`] holding `kubeconfig` under [`KEY`] (the namespace is
/// created when missing).
pub async fn put_kubeconfig_secret(
    host: &Client,
    name: &str,
    kubeconfig: &str,
) -> Result<(), LabError> {
    apply(
        &Api::<Namespace>::all(host.clone()),
        &Namespace {
            metadata: ObjectMeta {
                name: Some(NAMESPACE.to_owned()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(NAMESPACE.to_owned()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(KEY.to_owned(), kubeconfig.to_owned())])),
        type_: Some("Opaque".to_owned()),
        ..Default::default()
    };
    apply(&Api::<Secret>::namespaced(host.clone(), NAMESPACE), &secret).await?;
    Ok(())
}

/// Deletes `ControlPlane` `name` (a test's own), if present.
pub async fn delete_control_plane(host: &Client, name: &str) -> Result<(), LabError> {
    let api = control_planes(host);
    match api.delete(name, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(LabError::Kube(format!("delete ControlPlane {name}: {e}"))),
    }
}
