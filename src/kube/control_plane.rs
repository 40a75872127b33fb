//! KubeFlex control planes: how KubeStellar's own controllers find the ITS and the WDS, and
//! what `control_plane` + `hosting_context` in fleet.toml use instead of a `kflex ctx`
//! context: the `ControlPlane` on the hosting cluster names, in `status.secretRef`, the
//! Secret that holds the control plane's kubeconfig.

use crate::model::json::Json;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::config::Kubeconfig;

use super::{Cluster, KubeError, Redacted};
use crate::model::Kind;
use crate::model::registration::true_conditions;

impl Cluster {
    /// The kubeconfig of ControlPlane `name` on this (hosting) cluster. Missing, not Ready,
    /// or without its Secret: [`KubeError::ControlPlane`], saying what to check. The
    /// Secret's content is never shown.
    pub async fn control_plane_kubeconfig(&self, name: &str) -> Result<Kubeconfig, KubeError> {
        let fail = |why: String, help: String| KubeError::ControlPlane {
            control_plane: name.to_owned(),
            hosting: self.context.clone(),
            why,
            help,
        };
        let Some(cp) = self.get(Kind::ControlPlane, None, name).await? else {
            return Err(fail(
                "no such ControlPlane".into(),
                format!(
                    "`kubectl --context {} get controlplanes` lists them; check control_plane and hosting_context in fleet.toml",
                    self.context
                ),
            ));
        };
        if !true_conditions(&cp).contains("Ready") {
            let conditions: Vec<String> = cp
                .pointer("/status/conditions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "{}={}",
                        c.get("type").and_then(Json::as_str).unwrap_or("?"),
                        c.get("status").and_then(Json::as_str).unwrap_or("?")
                    )
                })
                .collect();
            return Err(fail(
                format!(
                    "not Ready ({})",
                    if conditions.is_empty() {
                        "no conditions".to_owned()
                    } else {
                        conditions.join(", ")
                    }
                ),
                "wait until KubeFlex reports it Ready (`kubectl get controlplanes` on the hosting cluster)".into(),
            ));
        }
        let field = |p: &str| cp.pointer(p).and_then(Json::as_str).map(str::to_owned);
        let (Some(ns), Some(secret)) = (
            field("/status/secretRef/namespace"),
            field("/status/secretRef/name"),
        ) else {
            return Err(fail(
                "its status has no secretRef".into(),
                "KubeFlex writes status.secretRef once the control plane is provisioned".into(),
            ));
        };
        let key = field("/status/secretRef/key")
            .filter(|k| !k.is_empty())
            .or_else(|| field("/status/secretRef/inClusterKey"))
            .unwrap_or_else(|| "kubeconfig".into());
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
        let found = api
            .get_opt(&secret)
            .await
            .map_err(|e| self.error(format!("get Secret {ns}/{secret}"), e))?;
        let data = found
            .and_then(|s| s.data)
            .and_then(|mut d| d.remove(&key))
            .ok_or_else(|| {
                fail(
                    format!("its Secret {ns}/{secret} has no key `{key}`"),
                    "the Secret KubeFlex wrote is missing or incomplete: check status.secretRef"
                        .into(),
                )
            })?;
        let text = String::from_utf8(data.0).map_err(|_| {
            fail(
                format!("the kubeconfig in Secret {ns}/{secret} is not text"),
                "check the Secret status.secretRef names".into(),
            )
        })?;
        Kubeconfig::from_yaml(&text).map_err(|e| {
            fail(
                format!(
                    "the kubeconfig in Secret {ns}/{secret} does not parse: {}",
                    Redacted::of(&e)
                ),
                "check the Secret status.secretRef names".into(),
            )
        })
    }
}
