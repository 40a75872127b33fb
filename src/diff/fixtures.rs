//! Live-object fixtures for the pure tests (diff and render): ManagedClusters and
//! `managedFields` entries as the API server returns them.

use serde_json::{Value, json};

use crate::model::vocab::LAST_APPLIED;

/// One `managedFields` entry.
pub fn entry(manager: &str, op: &str, fields: Value) -> Value {
    json!({"manager": manager, "operation": op, "time": "2026-11-21T10:00:00Z", "fieldsV1": fields})
}

/// The `fieldsV1` trie owning these labels.
pub fn label_fields(keys: &[&str]) -> Value {
    let labels: serde_json::Map<String, Value> =
        keys.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
    json!({"f:metadata": {"f:labels": labels}})
}

/// A live, registered (Joined and Available) ManagedCluster with labels, managed fields and
/// optionally fleet's last-applied record.
pub fn managed_cluster(
    name: &str,
    labels: Value,
    managed: Vec<Value>,
    last: Option<Value>,
) -> Value {
    let mut mc = json!({
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "7", "labels": labels, "managedFields": managed},
        "spec": {"hubAcceptsClient": true},
        "status": {"conditions": [
            {"type": "HubAcceptedManagedCluster", "status": "True"},
            {"type": "ManagedClusterJoined", "status": "True"},
            {"type": "ManagedClusterConditionAvailable", "status": "True"}
        ]}
    });
    if let Some(l) = last {
        mc["metadata"]["annotations"] = json!({ LAST_APPLIED: l.to_string() });
    }
    mc
}

/// A CSR as an OCM agent files it for `cluster` (label, signer, a real PEM request whose
/// subject is `cn` / `o`), from `username`.
pub fn csr(name: &str, cluster: &str, username: &str, cn: &str, o: &str) -> Value {
    use base64::Engine;
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, o);
    let pem = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .expect("a CSR");
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name, "labels": {"open-cluster-management.io/cluster-name": cluster}},
        "spec": {"username": username, "signerName": "kubernetes.io/kube-apiserver-client",
            "request": base64::engine::general_purpose::STANDARD.encode(pem)}})
}

/// The agent identity OCM's agent asks for: CN and O of cluster `c`.
pub fn agent_subject(c: &str) -> (String, String) {
    (
        format!("system:open-cluster-management:{c}:agent1"),
        format!("system:open-cluster-management:{c}"),
    )
}

/// An error standing for a place that could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(help("check that the API server is up"))]
pub struct Refused(pub String);

/// A read failure with `message`.
pub fn read_failure(message: &str) -> crate::model::Failure {
    crate::model::Failure::new(Refused(message.to_owned()))
}
