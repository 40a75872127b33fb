//! Leases (`coordination.k8s.io/v1`): the apply lock's storage. Every write is conditional
//! (create, or replace/delete at a known `resourceVersion`), so two holders never both win.

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::{Cluster, KubeError};

impl Cluster {
    fn leases(&self, namespace: &str) -> Api<Lease> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The Lease, or `None` when there is none.
    pub async fn get_lease(&self, namespace: &str, name: &str) -> Result<Option<Lease>, KubeError> {
        self.leases(namespace)
            .get_opt(name)
            .await
            .map_err(|e| self.error(format!("get Lease {namespace}/{name}"), e))
    }

    /// Creates the Lease; a 409 means someone else created it first.
    pub async fn create_lease(&self, namespace: &str, lease: &Lease) -> Result<Lease, KubeError> {
        self.leases(namespace)
            .create(&PostParams::default(), lease)
            .await
            .map_err(|e| self.error(format!("create Lease {namespace}/{}", name_of(lease)), e))
    }

    /// Replaces the Lease at the `resourceVersion` it carries; a 409 means it moved.
    pub async fn replace_lease(&self, namespace: &str, lease: &Lease) -> Result<Lease, KubeError> {
        let name = name_of(lease);
        self.leases(namespace)
            .replace(&name, &PostParams::default(), lease)
            .await
            .map_err(|e| self.error(format!("update Lease {namespace}/{name}"), e))
    }

    /// Deletes the Lease if it is still the one read (`uid` and `resourceVersion`).
    pub async fn delete_lease(&self, namespace: &str, lease: &Lease) -> Result<(), KubeError> {
        let name = name_of(lease);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: lease.metadata.uid.clone(),
                resource_version: lease.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        match self.leases(namespace).delete(&name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.error(format!("delete Lease {namespace}/{name}"), e)),
        }
    }
}

fn name_of(lease: &Lease) -> String {
    lease.metadata.name.clone().unwrap_or_default()
}
