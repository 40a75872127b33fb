//! Small Kubernetes helpers for the lab: clients per context, readiness, CRDs, SSA.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::LabError;

/// A client for `context` of the kubeconfig at `path`.
pub async fn client(path: &Path, context: &str) -> Result<Client, LabError> {
    let kc = Kubeconfig::read_from(path)
        .map_err(|e| LabError::Kube(format!("read {}: {e}", path.display())))?;
    let opts = KubeConfigOptions {
        context: Some(context.to_owned()),
        ..Default::default()
    };
    let mut cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| LabError::Kube(format!("context {context}: {e}")))?;
    cfg.read_timeout = Some(Duration::from_secs(30));
    Client::try_from(cfg).map_err(|e| LabError::Kube(format!("client for {context}: {e}")))
}

/// Polls `GET /readyz` until it answers `ok` or `timeout` passes.
pub async fn wait_ready(client: &Client, what: &str, timeout: Duration) -> Result<(), LabError> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .expect("static request");
        match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            Ok(body) => last = body,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(LabError::Timeout(format!(
        "{what} not ready after {timeout:?}: {last}"
    )))
}

/// Applies (server-side, field manager `fleet-lab`) every CRD in the multi-document YAML
/// files and waits until each is `Established`.
pub async fn install_crds(client: &Client, files: &[std::path::PathBuf]) -> Result<(), LabError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("fleet-lab").force();
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| LabError::Io {
            what: format!("read {}", file.display()),
            source,
        })?;
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .map_err(|e| LabError::Kube(format!("parse {}: {e}", file.display())))?;
        for doc in docs
            .into_iter()
            .filter(|d| d.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition"))
        {
            let crd: CustomResourceDefinition = serde_json::from_value(doc)
                .map_err(|e| LabError::Kube(format!("decode CRD in {}: {e}", file.display())))?;
            let name = crd.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &pp, &Patch::Apply(&crd))
                .await
                .map_err(|e| LabError::Kube(format!("apply CRD {name}: {e}")))?;
            names.push(name);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let crd = api
                .get(&name)
                .await
                .map_err(|e| LabError::Kube(format!("get CRD {name}: {e}")))?;
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established && serves_list(client, &crd).await {
                break;
            }
            if Instant::now() > deadline {
                return Err(LabError::Timeout(format!("CRD {name} not Established")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Server-side applies typed objects with field manager `fleet-lab`.
pub async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K, LabError>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply("fleet-lab").force(),
        &Patch::Apply(obj),
    )
    .await
    .map_err(|e| {
        LabError::Kube(format!(
            "apply {} {name}: {e}",
            K::kind(&Default::default())
        ))
    })
}

/// Whether a LIST of the CRD's storage version answers: `Established` comes a moment before
/// the resource's storage is ready ("storage is (re)initializing").
async fn serves_list(client: &Client, crd: &CustomResourceDefinition) -> bool {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
    let spec = &crd.spec;
    let Some(version) = spec
        .versions
        .iter()
        .find(|v| v.storage)
        .or_else(|| spec.versions.first())
    else {
        return false;
    };
    let gvk = GroupVersionKind::gvk(&spec.group, &version.name, &spec.names.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &spec.names.plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    api.list(&ListParams::default().limit(1)).await.is_ok()
}

/// The documents of a (multi-document) YAML text, as JSON values.
pub fn yaml_documents(text: &str) -> Result<Vec<serde_json::Value>, LabError> {
    serde_saphyr::from_multiple(text).map_err(|e| LabError::Kube(format!("parse YAML: {e}")))
}
