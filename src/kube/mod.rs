//! All Kubernetes I/O: one client per kubeconfig context, paginated LISTs, server-side apply
//! with field manager `fleet`, deletes. Nothing else in fleet talks to a cluster.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::model::ClusterAccess;
use crate::diff::desired::MANAGER;
use crate::diff::object::{Kind, ObjectRef};

/// Errors talking to clusters. Messages never include credentials or Secret data.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum KubeError {
    #[error("cannot read kubeconfig {path}: {message}")]
    #[diagnostic(
        code(fleet::kube::kubeconfig),
        help("check --kubeconfig, $KUBECONFIG or the `kubeconfig` key in fleet.toml")
    )]
    Kubeconfig { path: String, message: String },
    #[error("kubeconfig context `{context}`: {message}")]
    #[diagnostic(
        code(fleet::kube::context),
        help(
            "list the contexts with `kubectl config get-contexts`; fleet.toml names them in `context = …`"
        )
    )]
    Context { context: String, message: String },
    #[error("{what} on `{context}`: {message}")]
    #[diagnostic(code(fleet::kube::api))]
    Api {
        context: String,
        what: String,
        message: String,
        status: Option<u16>,
    },
}

fn api_error(context: &str, what: impl Into<String>, e: kube::Error) -> KubeError {
    let status = match &e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    };
    let message = match &e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    KubeError::Api {
        context: context.to_owned(),
        what: what.into(),
        message,
        status,
    }
}

/// A client for one context, with the context name for messages.
#[derive(Clone)]
pub struct Cluster {
    pub context: String,
    pub client: Client,
    /// The API server URL.
    pub server: String,
}

/// Clients per context, built once per run.
pub struct Clients {
    default_kubeconfig: Option<PathBuf>,
    cache: Mutex<HashMap<(Option<PathBuf>, String), Cluster>>,
}

impl Clients {
    /// `kubeconfig` is `--kubeconfig` (else `$KUBECONFIG`, then `~/.kube/config`).
    pub fn new(kubeconfig: Option<PathBuf>) -> Self {
        Clients {
            default_kubeconfig: kubeconfig,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The client for a control plane.
    pub async fn get(&self, access: &ClusterAccess) -> Result<Cluster, KubeError> {
        let path = access
            .kubeconfig
            .clone()
            .or_else(|| self.default_kubeconfig.clone());
        let key = (path.clone(), access.context.clone());
        if let Some(c) = self.cache.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let kc = match &path {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|e| KubeError::Kubeconfig {
            path: path.as_ref().map_or_else(
                || "$KUBECONFIG / ~/.kube/config".to_owned(),
                |p| p.display().to_string(),
            ),
            message: e.to_string(),
        })?;
        let opts = KubeConfigOptions {
            context: Some(access.context.clone()),
            ..Default::default()
        };
        let mut cfg = Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| KubeError::Context {
                context: access.context.clone(),
                message: e.to_string(),
            })?;
        cfg.connect_timeout = Some(Duration::from_secs(10));
        cfg.read_timeout = Some(Duration::from_secs(60));
        // kube retries 429/503/504 for up to ~1000 s by default: too long for a CLI run.
        cfg.default_retry = false;
        let server = cfg.cluster_url.to_string().trim_end_matches('/').to_owned();
        let client = Client::try_from(cfg).map_err(|e| KubeError::Context {
            context: access.context.clone(),
            message: e.to_string(),
        })?;
        let cluster = Cluster {
            context: access.context.clone(),
            client,
            server,
        };
        self.cache.lock().await.insert(key, cluster.clone());
        Ok(cluster)
    }
}

/// Retries a read a few times (about 3 s in all) on 429, 503 and 504: an API server that is
/// briefly busy or (re)initialising a resource's storage is not an unreadable cluster.
async fn retry_transient<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(100);
    for _ in 0..5 {
        match call().await {
            Err(kube::Error::Api(s)) if matches!(s.code, 429 | 503 | 504) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    call().await
}

fn api_resource(kind: Kind) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(kind.group(), kind.version(), kind.as_str()),
        kind.plural(),
    )
}

fn api(client: &Client, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) if kind.namespaced() => {
            Api::namespaced_with(client.clone(), ns, &api_resource(kind))
        }
        _ => Api::all_with(client.clone(), &api_resource(kind)),
    }
}

fn to_value(obj: DynamicObject) -> Value {
    serde_json::to_value(obj).expect("DynamicObject serialises")
}

impl Cluster {
    /// Every object of `kind` (in `namespace`, or all namespaces), matching `labels`,
    /// in pages of 500.
    pub async fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        let api = api(&self.client, kind, namespace);
        let mut lp = ListParams::default().limit(500);
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        let mut out = Vec::new();
        loop {
            let page = api
                .list(&lp)
                .await
                .map_err(|e| api_error(&self.context, format!("list {}", kind.plural()), e))?;
            out.extend(page.items.into_iter().map(to_value));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => lp = lp.continue_token(&token),
                _ => return Ok(out),
            }
        }
    }

    /// One object, or `None` when it does not exist.
    pub async fn get(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, KubeError> {
        let api = api(&self.client, kind, namespace);
        retry_transient(|| api.get_opt(name))
            .await
            .map(|o| o.map(to_value))
            .map_err(|e| api_error(&self.context, format!("get {} {name}", kind.as_str()), e))
    }

    /// Server-side apply of `body` as field manager `fleet`, taking over conflicting fields
    /// (the plan showed them).
    pub async fn apply(&self, r: &ObjectRef, body: &Value) -> Result<Value, KubeError> {
        let obj: DynamicObject = serde_json::from_value(body.clone()).map_err(|e| {
            api_error(
                &self.context,
                format!("encode {}", r.display_name()),
                kube::Error::SerdeError(e),
            )
        })?;
        api(&self.client, r.kind, r.namespace.as_deref())
            .patch(
                &r.name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .map(to_value)
            .map_err(|e| api_error(&self.context, format!("apply {}", r.display_name()), e))
    }

    /// Deletes an object; already gone counts as done.
    pub async fn delete(&self, r: &ObjectRef) -> Result<(), KubeError> {
        match api(&self.client, r.kind, r.namespace.as_deref())
            .delete(&r.name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error(
                &self.context,
                format!("delete {}", r.display_name()),
                e,
            )),
        }
    }

    /// UID of the `kube-system` namespace: the cluster's identity.
    pub async fn identity(&self) -> Result<String, KubeError> {
        let ns = self.get(Kind::Namespace, None, "kube-system").await?;
        Ok(ns
            .and_then(|n| {
                n.pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default())
    }
}
