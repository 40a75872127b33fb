//! Test and demo fixtures that stand in for `clusteradm join` and `clusteradm accept` (until
//! fleet registers WECs itself): a bootstrap kubeconfig Secret written on the WEC the way
//! `join` writes it, then the pending CSR approved and `hubAcceptsClient` set on the ITS the
//! way `accept` does. Registration itself is done by the real OCM agent and hub controller.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition,
};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};

use std::path::Path;

use crate::{Lab, LabError};

fn kerr(what: &str) -> impl Fn(kube::Error) -> LabError + '_ {
    move |e| LabError::Kube(format!("{what}: {e}"))
}

/// The ManagedCluster API on a hub.
pub fn managed_clusters(its: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("cluster.open-cluster-management.io", "v1", "ManagedCluster");
    Api::all_with(its.clone(), &ApiResource::from_gvk(&gvk))
}

/// Creates ManagedCluster `name` as a registered WEC's looks to fleet (Joined and Available,
/// as its agent would report, in the `default` cluster set) that OCM's hub controllers leave
/// alone: not accepted (`hubAcceptsClient: false`, no HubAccepted condition) and with the
/// finalizer their GC controller would add. For benchmarks at scale: nothing but the bench
/// writes to these objects while it measures. Whether both writes succeeded.
pub async fn create_quiet_managed_cluster(api: &Api<DynamicObject>, name: &str) -> bool {
    let mc = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": name,
                     "labels": {"cluster.open-cluster-management.io/clusterset": "default"},
                     "finalizers": ["cluster.open-cluster-management.io/resource-cleanup"]},
        "spec": {"hubAcceptsClient": false},
    });
    let conditions: Vec<serde_json::Value> = [
        "ManagedClusterJoined",
        "ManagedClusterConditionAvailable",
    ]
    .iter()
    .map(|t| {
        serde_json::json!({"type": t, "status": "True", "reason": "Bench", "message": "bench",
                               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    })
    .collect();
    let status = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "status": {"conditions": conditions},
    });
    let pp = PatchParams::apply("bench-registration");
    api.patch(name, &pp, &Patch::Apply(&mc)).await.is_ok()
        && api
            .patch_status(name, &pp, &Patch::Apply(&status))
            .await
            .is_ok()
}

/// `True` conditions of a ManagedCluster.
pub fn true_conditions(mc: &DynamicObject) -> Vec<String> {
    mc.data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .filter(|c| c.get("status").and_then(|s| s.as_str()) == Some("True"))
        .filter_map(|c| c.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .collect()
}

/// Writes the bootstrap kubeconfig Secret on WEC `name` (what `clusteradm join` writes),
/// with a fresh one-hour token of `open-cluster-management/agent-registration-bootstrap`.
pub async fn write_bootstrap_secret(kubeconfig: &Path, name: &str) -> Result<(), LabError> {
    let its = crate::kube_util::client(kubeconfig, "its1").await?;
    let sa: Api<ServiceAccount> = Api::namespaced(its, "open-cluster-management");
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = sa
        .create_token_request("agent-registration-bootstrap", &PostParams::default(), &tr)
        .await
        .map_err(kerr("token request"))?
        .status
        .map(|s| s.token)
        .ok_or_else(|| LabError::Kube("token request returned no token".into()))?;
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .map_err(|e| LabError::Kube(e.to_string()))?;
    let hub = kc
        .clusters
        .iter()
        .find(|c| c.name == "its1")
        .and_then(|c| c.cluster.clone())
        .ok_or_else(|| LabError::Kube("no cluster its1 in the lab kubeconfig".into()))?;
    let bootstrap = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "hub", "cluster": {"server": hub.server, "certificate-authority-data": hub.certificate_authority_data}}],
        "users": [{"name": "bootstrap", "user": {"token": token}}],
        "contexts": [{"name": "bootstrap", "context": {"cluster": "hub", "user": "bootstrap", "namespace": "default"}}],
        "current-context": "bootstrap",
    });
    let wec = crate::kube_util::client(kubeconfig, name).await?;
    let pp = PatchParams::apply("fleet-lab").force();
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("open-cluster-management-agent".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(wec.clone())
        .patch("open-cluster-management-agent", &pp, &Patch::Apply(&ns))
        .await
        .map_err(kerr("agent namespace"))?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("bootstrap-hub-kubeconfig".into()),
            namespace: Some("open-cluster-management-agent".into()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            "kubeconfig".to_owned(),
            ByteString(serde_json::to_vec(&bootstrap).expect("json")),
        )])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(wec, "open-cluster-management-agent")
        .patch("bootstrap-hub-kubeconfig", &pp, &Patch::Apply(&secret))
        .await
        .map_err(kerr("bootstrap secret"))?;
    Ok(())
}

/// Approves the pending CSRs of cluster `name` (label
/// `open-cluster-management.io/cluster-name`) and sets `hubAcceptsClient`, waiting up
/// to `timeout` for the first CSR to appear. Returns how many CSRs were approved.
pub async fn accept(kubeconfig: &Path, name: &str, timeout: Duration) -> Result<usize, LabError> {
    let its = crate::kube_util::client(kubeconfig, "its1").await?;
    let csrs: Api<CertificateSigningRequest> = Api::all(its.clone());
    let lp =
        ListParams::default().labels(&format!("open-cluster-management.io/cluster-name={name}"));
    let deadline = Instant::now() + timeout;
    let pending = loop {
        let list = csrs.list(&lp).await.map_err(kerr("list CSRs"))?;
        let pending: Vec<CertificateSigningRequest> = list
            .items
            .into_iter()
            .filter(|c| {
                c.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_none_or(|v| v.is_empty())
            })
            .collect();
        if !pending.is_empty() {
            break pending;
        }
        if Instant::now() > deadline {
            return Err(LabError::Timeout(format!("no CSR from cluster {name}")));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for mut csr in pending.clone() {
        let csr_name = csr.metadata.name.clone().unwrap_or_default();
        csr.status
            .get_or_insert_default()
            .conditions
            .get_or_insert_default()
            .push(CertificateSigningRequestCondition {
                type_: "Approved".into(),
                status: "True".into(),
                reason: Some("LabApprove".into()),
                message: Some("approved by the fleet lab fixture".into()),
                ..Default::default()
            });
        csrs.replace_subresource("approval", &csr_name, &PostParams::default(), &csr)
            .await
            .map_err(kerr("approve CSR"))?;
    }
    managed_clusters(&its)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"hubAcceptsClient": true}})),
        )
        .await
        .map_err(kerr("accept ManagedCluster"))?;
    Ok(pending.len())
}

/// Waits until ManagedCluster `name` has all of `conditions` True.
pub async fn wait_managed_cluster(
    kubeconfig: &Path,
    name: &str,
    conditions: &[&str],
    timeout: Duration,
) -> Result<(), LabError> {
    let api = managed_clusters(&crate::kube_util::client(kubeconfig, "its1").await?);
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        if let Some(mc) = api
            .get_opt(name)
            .await
            .map_err(kerr("get ManagedCluster"))?
        {
            seen = true_conditions(&mc);
            if conditions.iter().all(|c| seen.iter().any(|s| s == c)) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(LabError::Timeout(format!(
                "ManagedCluster {name}: wanted {conditions:?} True, have {seen:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Join + accept + wait Available: a WEC registered with the ITS, as the demo and the
/// tests need until fleet registers WECs itself.
pub async fn register_wec(kubeconfig: &Path, name: &str) -> Result<(), LabError> {
    write_bootstrap_secret(kubeconfig, name).await?;
    accept(kubeconfig, name, Duration::from_secs(90)).await?;
    let available = ["ManagedClusterJoined", "ManagedClusterConditionAvailable"];
    wait_managed_cluster(kubeconfig, name, &available, Duration::from_secs(120)).await
}

impl Lab {
    /// See [`write_bootstrap_secret`].
    pub async fn write_bootstrap_secret(&self, name: &str) -> Result<(), LabError> {
        write_bootstrap_secret(self.kubeconfig(), name).await
    }

    /// See [`accept`].
    pub async fn accept(&self, name: &str, timeout: Duration) -> Result<usize, LabError> {
        accept(self.kubeconfig(), name, timeout).await
    }

    /// See [`wait_managed_cluster`].
    pub async fn wait_managed_cluster(
        &self,
        name: &str,
        conditions: &[&str],
        timeout: Duration,
    ) -> Result<(), LabError> {
        wait_managed_cluster(self.kubeconfig(), name, conditions, timeout).await
    }

    /// See [`register_wec`].
    pub async fn register_wec(&self, name: &str) -> Result<(), LabError> {
        register_wec(self.kubeconfig(), name).await
    }
}

/// Files a CSR for cluster `name` on the ITS as the lab's admin, the way an agent files its
/// own (label, signer, usages), but from another requester: what fleet must not approve.
/// Returns the CSR's name.
pub async fn foreign_csr(kubeconfig: &Path, name: &str) -> Result<String, LabError> {
    let its = crate::kube_util::client(kubeconfig, "its1").await?;
    let key = rcgen::KeyPair::generate().map_err(|e| LabError::Pki(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| LabError::Pki(e.to_string()))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("system:open-cluster-management:{name}:intruder"),
    );
    let request = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| LabError::Pki(e.to_string()))?;
    let csr_name = format!("{name}-foreign");
    let csr = CertificateSigningRequest {
        metadata: ObjectMeta {
            name: Some(csr_name.clone()),
            labels: Some(BTreeMap::from([(
                "open-cluster-management.io/cluster-name".to_owned(),
                name.to_owned(),
            )])),
            ..Default::default()
        },
        spec: k8s_openapi::api::certificates::v1::CertificateSigningRequestSpec {
            request: ByteString(request.into_bytes()),
            signer_name: "kubernetes.io/kube-apiserver-client".into(),
            usages: Some(vec![
                "digital signature".into(),
                "key encipherment".into(),
                "client auth".into(),
            ]),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<CertificateSigningRequest>::all(its)
        .create(&PostParams::default(), &csr)
        .await
        .map_err(kerr("create foreign CSR"))?;
    Ok(csr_name)
}
