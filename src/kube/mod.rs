//! All Kubernetes I/O: one client per kubeconfig context, streamed LISTs, server-side apply
//! with field manager `fleet`, deletes. Nothing else in fleet talks to a cluster.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::core::Status;
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::Mutex;

mod control_plane;
mod lease;
mod list;
pub mod retry;

use crate::config::model::ClusterAccess;
use crate::model::json::Json;
use crate::model::live::Live;
use crate::model::registration::true_conditions;
use crate::model::text::closest;
use crate::model::vocab::MANAGER;
use crate::model::{Endpoint, Kind, ObjectRef, Sensitive};

/// Errors talking to clusters, with their sources kept. Messages never include credentials
/// or Secret data.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum KubeError {
    #[error("cannot read kubeconfig {path}")]
    #[diagnostic(
        code(fleet::kube::kubeconfig),
        help("check --kubeconfig, $KUBECONFIG or the `kubeconfig` key in fleet.toml")
    )]
    Kubeconfig {
        path: String,
        #[source]
        source: Redacted,
    },
    /// A context fleet.toml names is not in the kubeconfig: a mistake in the input, not an
    /// outage.
    #[error("kubeconfig context `{context}` is not in {kubeconfig}")]
    #[diagnostic(code(fleet::kube::unknown_context))]
    UnknownContext {
        context: String,
        kubeconfig: String,
        #[help]
        help: String,
    },
    #[error("kubeconfig context `{context}` cannot be used")]
    #[diagnostic(
        code(fleet::kube::context),
        help(
            "check the context's cluster and user: `kubectl config view --minify --context {context}`"
        )
    )]
    Context {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server answered with an error status.
    #[error("{what} on `{context}` failed ({})", status.code)]
    #[diagnostic(code(fleet::kube::status))]
    Status {
        context: String,
        what: String,
        #[source]
        status: Box<Status>,
        #[help]
        help: Option<String>,
    },
    /// The API server could not be reached or did not answer.
    #[error("{what} on `{context}`: {cause} ({server})")]
    #[diagnostic(code(fleet::kube::unreachable))]
    Transport {
        context: String,
        server: String,
        what: String,
        cause: NetCause,
        #[help]
        help: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// A KubeFlex ControlPlane fleet.toml names cannot give a kubeconfig: a mistake in the
    /// input or in the hosting cluster, not an outage.
    #[error("KubeFlex ControlPlane `{control_plane}` on `{hosting}`: {why}")]
    #[diagnostic(code(fleet::kube::control_plane))]
    ControlPlane {
        control_plane: String,
        hosting: String,
        why: String,
        #[help]
        help: String,
    },
    /// The API server answered a TokenRequest without a token.
    #[error("{what} on `{context}`: the answer holds no token")]
    #[diagnostic(
        code(fleet::kube::empty_token),
        help(
            "is the TokenRequest API enabled on this API server (--service-account-issuer and signing keys)?"
        )
    )]
    EmptyToken { context: String, what: String },
}

impl KubeError {
    /// A mistake in the kubeconfig or in fleet.toml's contexts (exit 1), as opposed to a
    /// cluster that cannot be read (an incomplete result, exit 6).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            KubeError::Kubeconfig { .. }
                | KubeError::UnknownContext { .. }
                | KubeError::Context { .. }
                | KubeError::ControlPlane { .. }
        )
    }

    /// Worth another try: the server did not answer, was overloaded, or the object changed
    /// under the request.
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Transport { .. } => true,
            KubeError::Status { status, .. } => matches!(status.code, 409 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The HTTP status the API server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            KubeError::Status { status, .. } => Some(status.code),
            _ => None,
        }
    }
}

/// An error about a file fleet read, without the file's content: the YAML parser quotes
/// the input, which may be a token or any file a path points at. Each error of the chain
/// keeps its first line, with quoted text elided.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Redacted(String);

impl Redacted {
    pub fn of(e: &KubeconfigError) -> Redacted {
        let mut parts = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            let text = err.to_string();
            let line = elide_quoted(text.lines().next().unwrap_or_default().trim());
            if !line.is_empty() && !parts.contains(&line) {
                parts.push(line);
            }
            cur = err.source();
        }
        Redacted(parts.join(": "))
    }
}

/// `invalid type: string "eyJh…"` → `invalid type: string "…"`.
fn elide_quoted(line: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if matches!(c, '"' | '`' | '\'') {
                    quote = Some(c);
                }
            }
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

/// Why a request got no answer, as far as the error chain tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetCause {
    /// Nothing listens there.
    Refused,
    /// No connection or no answer within `--request-timeout`.
    Timeout(Duration),
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (certificate, CA, server name).
    Tls,
    /// The connection was closed or reset mid-request.
    Closed,
    /// Anything else: the error chain says more.
    Other,
}

impl NetCause {
    fn of(e: &kube::Error, timeout: Duration) -> NetCause {
        use std::io::ErrorKind;
        let mut text = String::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    ErrorKind::ConnectionRefused => return NetCause::Refused,
                    ErrorKind::TimedOut => return NetCause::Timeout(timeout),
                    ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
                    | ErrorKind::BrokenPipe => return NetCause::Closed,
                    _ => {}
                }
            }
            text.push_str(&err.to_string().to_lowercase());
            text.push('\n');
            cur = err.source();
        }
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if has(&[
            "dns error",
            "failed to lookup",
            "name or service not known",
            "no address",
        ]) {
            NetCause::Dns
        } else if has(&["certificate", "tls", "handshake", "unknownissuer"]) {
            NetCause::Tls
        } else if has(&["timed out", "timeout", "deadline has elapsed"]) {
            NetCause::Timeout(timeout)
        } else if has(&["connection closed", "reset by peer", "incomplete message"]) {
            NetCause::Closed
        } else {
            NetCause::Other
        }
    }

    /// What to check.
    fn help(&self, server: &str) -> String {
        match self {
            NetCause::Refused => format!("nothing listens at {server}: is the API server up, and is the URL's port right?"),
            NetCause::Timeout(_) => format!("{server} did not answer in time: is it up and reachable from here (proxies, firewalls)? A slow link needs a longer --request-timeout"),
            NetCause::Dns => format!("the host name of {server} does not resolve from here: check the context's server URL and DNS"),
            NetCause::Tls => "the server's certificate does not match the kubeconfig (certificate-authority-data, server name): check the context's cluster entry".to_owned(),
            NetCause::Closed => format!("{server} closed the connection: is it an API server, and is a proxy in the way?"),
            NetCause::Other => "is the API server up and reachable from here? check the context's server URL, proxies and firewalls".to_owned(),
        }
    }
}

impl std::fmt::Display for NetCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetCause::Refused => f.write_str("connection refused"),
            NetCause::Timeout(d) => {
                write!(f, "no answer within {}", humantime::format_duration(*d))
            }
            NetCause::Dns => f.write_str("DNS lookup failed"),
            NetCause::Tls => f.write_str("TLS handshake failed"),
            NetCause::Closed => f.write_str("connection closed"),
            NetCause::Other => f.write_str("no answer"),
        }
    }
}

/// What to check for an error status.
fn status_help(context: &str, code: u16) -> Option<String> {
    Some(match code {
        401 => format!(
            "the API server refused the credentials of context `{context}`: renew its token or client certificate"
        ),
        403 => format!(
            "the user of context `{context}` is not allowed to do this: grant it with RBAC (`kubectl auth can-i --context {context} …` tells what is missing)"
        ),
        404 => "the API server does not serve this resource: are the OCM hub CRDs installed on the ITS and the KubeStellar CRDs on the WDS?".to_owned(),
        409 => "the object changed after it was read: run `fleet plan` again".to_owned(),
        429 | 500..=599 => "the API server is overloaded or restarting: try again shortly".to_owned(),
        _ => return None,
    })
}

impl Cluster {
    fn error(&self, what: impl Into<String>, e: kube::Error) -> KubeError {
        match e {
            kube::Error::Api(status) => KubeError::Status {
                help: status_help(&self.context, status.code),
                context: self.context.clone(),
                what: what.into(),
                status,
            },
            source => {
                let cause = NetCause::of(&source, self.timeout);
                KubeError::Transport {
                    help: cause.help(&self.server),
                    context: self.context.clone(),
                    server: self.server.clone(),
                    what: what.into(),
                    cause,
                    source: Box::new(source),
                }
            }
        }
    }
}

/// Which version of an object a write is meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precondition {
    pub uid: String,
    /// `None`: any version of that object.
    pub resource_version: Option<String>,
}

/// A client for one context, with the context name for messages.
#[derive(Clone)]
pub struct Cluster {
    pub context: String,
    pub client: Client,
    /// The API server URL.
    pub server: String,
    /// The CA the kubeconfig trusts for this server (base64 PEM), if it names one.
    pub ca_data: Option<String>,
    /// `--request-timeout`, for messages.
    pub timeout: Duration,
}

/// Clients per context, built once per run; each kubeconfig file is read once.
pub struct Clients {
    default_kubeconfig: Option<PathBuf>,
    /// Connect and read timeout of every request.
    timeout: Duration,
    /// The most requests in flight to one cluster, and where its limit starts.
    in_flight: usize,
    kubeconfigs: Mutex<HashMap<Option<PathBuf>, Kubeconfig>>,
    cache: Mutex<HashMap<(Option<PathBuf>, String), Cluster>>,
}

/// How a kubeconfig is named in messages.
fn describe_kubeconfig(path: Option<&PathBuf>) -> String {
    match (path, std::env::var_os("KUBECONFIG")) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(env)) if !env.is_empty() => format!("$KUBECONFIG ({})", env.to_string_lossy()),
        (None, _) => "~/.kube/config".to_owned(),
    }
}

/// Requests in flight to one cluster, and WECs read or written at once, unless
/// `--parallelism` says otherwise. Measured on a 2-core lab ITS, 10,000 label writes take
/// 39.9 s at 10, 36.2 s at 32, 33.9 s at 64 and 38.6 s at 128; a server that pushes back
/// gets fewer at once ([`retry::in_flight_limit`]).
pub const DEFAULT_PARALLELISM: u16 = 64;

impl Clients {
    /// `kubeconfig` is `--kubeconfig` (else `$KUBECONFIG`, then `~/.kube/config`);
    /// `timeout` bounds connecting and each read of every request.
    pub fn new(kubeconfig: Option<PathBuf>, timeout: Duration) -> Self {
        Clients {
            default_kubeconfig: kubeconfig,
            timeout,
            in_flight: usize::from(DEFAULT_PARALLELISM),
            kubeconfigs: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// At most `n` requests in flight to each cluster (`--parallelism`); fewer while the
    /// cluster pushes back ([`retry::in_flight_limit`]).
    pub fn in_flight(mut self, n: usize) -> Self {
        self.in_flight = n.max(1);
        self
    }

    async fn kubeconfig(&self, path: &Option<PathBuf>) -> Result<Kubeconfig, KubeError> {
        let mut files = self.kubeconfigs.lock().await;
        if let Some(kc) = files.get(path) {
            return Ok(kc.clone());
        }
        let kc = match path {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|source| KubeError::Kubeconfig {
            path: describe_kubeconfig(path.as_ref()),
            source: Redacted::of(&source),
        })?;
        files.insert(path.clone(), kc.clone());
        Ok(kc)
    }

    /// The client for a control plane. A context missing from the kubeconfig is
    /// [`KubeError::UnknownContext`], with the closest context names as a hint.
    pub async fn get(&self, access: &ClusterAccess) -> Result<Cluster, KubeError> {
        let path = access
            .kubeconfig
            .clone()
            .or_else(|| self.default_kubeconfig.clone());
        let key = (path.clone(), access.to_string());
        if let Some(c) = self.cache.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let kc = self.kubeconfig(&path).await?;
        if !kc.contexts.iter().any(|c| c.name == access.context) {
            let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            let help = match closest(&access.context, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? fleet.toml names contexts in `context = …`"),
                None if names.is_empty() => "the kubeconfig has no contexts; pass the right one with --kubeconfig or `kubeconfig = …` in fleet.toml".to_owned(),
                None => format!(
                    "its contexts are: {}; fleet.toml names contexts in `context = …`",
                    names.iter().take(12).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        + if names.len() > 12 { ", …" } else { "" }
                ),
            };
            return Err(KubeError::UnknownContext {
                context: access.context.clone(),
                kubeconfig: describe_kubeconfig(path.as_ref()),
                help,
            });
        }
        let opts = KubeConfigOptions {
            context: Some(access.context.clone()),
            ..Default::default()
        };
        let mut cluster = self.build(kc, &opts, access.context.clone()).await?;
        if let Some(name) = &access.control_plane {
            // The hosting cluster holds the ControlPlane; its Secret, the kubeconfig to use.
            let kc = cluster.control_plane_kubeconfig(name).await?;
            cluster = self
                .build(kc, &KubeConfigOptions::default(), access.to_string())
                .await?;
        }
        self.cache.lock().await.insert(key, cluster.clone());
        Ok(cluster)
    }

    /// A client for `kc` with `opts`, with fleet's timeouts and retry policy; `label` names
    /// it in messages.
    async fn build(
        &self,
        kc: Kubeconfig,
        opts: &KubeConfigOptions,
        label: String,
    ) -> Result<Cluster, KubeError> {
        let context_error = |source: Box<dyn std::error::Error + Send + Sync>| KubeError::Context {
            context: label.clone(),
            source,
        };
        let mut cfg = Config::from_custom_kubeconfig(kc, opts)
            .await
            .map_err(|e| context_error(Box::new(e)))?;
        cfg.connect_timeout = Some(self.timeout);
        cfg.read_timeout = Some(self.timeout);
        cfg.write_timeout = Some(self.timeout);
        // kube retries 429/503/504 for up to ~1000 s by default: too long for a CLI run.
        // fleet's own policy (retry.rs) replaces it, for every request.
        cfg.default_retry = false;
        let server = cfg.cluster_url.to_string().trim_end_matches('/').to_owned();
        let ca_data = cfg.root_cert.as_deref().map(pem_bundle);
        let client = kube::client::ClientBuilder::try_from(cfg)
            .map_err(|e| context_error(Box::new(e)))?
            .with_layer(&tower::buffer::BufferLayer::new(1024))
            .with_layer(&retry::in_flight_limit(self.in_flight, self.timeout))
            .with_layer(&tower::retry::RetryLayer::new(retry::FleetRetry::new()))
            .build();
        Ok(Cluster {
            context: label,
            client,
            server,
            ca_data,
            timeout: self.timeout,
        })
    }
}

/// DER certificates as kubeconfig `certificate-authority-data`: base64 of the PEM bundle.
fn pem_bundle(ders: &[Vec<u8>]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for der in ders {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let body = b64.encode(der);
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    b64.encode(pem)
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
    /// Every object of `kind` (in `namespace`, or all namespaces), matching `labels`, in one
    /// LIST, trimmed as decoded ([`list`]).
    pub async fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Json>, KubeError> {
        let mut lp = ListParams::default();
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        self.list_with(kind, namespace, lp, || format!("list {}", kind.plural()))
            .await
    }

    /// Every object of `kind` named `name`, in every namespace (a field selector).
    pub async fn list_named(&self, kind: Kind, name: &str) -> Result<Vec<Json>, KubeError> {
        let lp = ListParams::default().fields(&format!("metadata.name={name}"));
        self.list_with(kind, None, lp, || {
            format!("list {} named {name}", kind.plural())
        })
        .await
    }

    async fn list_with(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        lp: ListParams,
        what: impl Fn() -> String,
    ) -> Result<Vec<Json>, KubeError> {
        let namespace = namespace.filter(|_| kind.namespaced());
        list::list(&self.client, kind, &api_resource(kind), namespace, &lp)
            .await
            .map_err(|e| self.error(what(), e))
    }

    /// One object, or `None` when it does not exist.
    pub async fn get(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Json>, KubeError> {
        let api = api(&self.client, kind, namespace);
        // fleet never reads Secret data: of a Secret, only its metadata is asked for.
        let got = if kind == Kind::Secret {
            api.get_metadata(name)
                .await
                .map(|m| serde_json::to_value(m).expect("metadata serialises"))
        } else {
            api.get(name).await.map(to_value)
        };
        // Any 404 means "not there": the object, or its whole resource when the CRD is not
        // installed (the API server then answers with a plain-text 404, not a Status).
        let what = || format!("get {} {name}", kind.as_str());
        match got {
            Ok(o) => Live(kind)
                .of(o)
                .map(Some)
                .map_err(|e| self.error(what(), kube::Error::SerdeError(e))),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(e) => Err(self.error(what(), e)),
        }
    }

    /// Server-side apply of `body` as field manager `fleet`, taking over conflicting fields
    /// (the plan showed them). A `metadata.uid` or `metadata.resourceVersion` in `body` is a
    /// precondition: the API server answers 409 instead of writing over another object or
    /// a newer version.
    pub async fn apply(&self, r: &ObjectRef, body: &Value) -> Result<(), KubeError> {
        self.apply_as(MANAGER, r, body).await
    }

    /// Server-side apply of an object fleet planned to create, without taking over fields:
    /// if someone created it meanwhile with other values, the API server answers 409
    /// instead of fleet overwriting them.
    pub async fn create(&self, r: &ObjectRef, body: &Value) -> Result<(), KubeError> {
        self.patch_apply(&PatchParams::apply(MANAGER), r, body)
            .await
    }

    /// Server-side apply of `body` as field manager `manager`, taking over conflicts.
    pub async fn apply_as(
        &self,
        manager: &str,
        r: &ObjectRef,
        body: &Value,
    ) -> Result<(), KubeError> {
        self.patch_apply(&PatchParams::apply(manager).force(), r, body)
            .await
    }

    async fn patch_apply(
        &self,
        params: &PatchParams,
        r: &ObjectRef,
        body: &Value,
    ) -> Result<(), KubeError> {
        self.patch(params, r, &Patch::Apply(body))
            .await
            .map_err(|e| self.error(format!("apply {}", r.display_name()), e))
    }

    /// Sends a PATCH; the object the server answers with is not decoded: no caller needs
    /// it, and decoding each into a `DynamicObject` took an apply of 10,000 labels from
    /// 5.3 to 6.3 s of CPU.
    async fn patch(
        &self,
        params: &PatchParams,
        r: &ObjectRef,
        patch: &Patch<&Value>,
    ) -> Result<(), kube::Error> {
        let url = api(&self.client, r.kind, r.namespace.as_deref())
            .resource_url()
            .to_owned();
        let request = kube::core::Request::new(url)
            .patch(&r.name, params, patch)
            .map_err(kube::Error::BuildRequest)?;
        self.client.request_text(request).await.map(drop)
    }

    /// A JSON merge patch as field manager `fleet`: how fleet deletes fields that another
    /// manager took over (server-side apply only drops fields fleet owns). A
    /// `metadata.uid` in `patch` is a precondition.
    pub async fn merge_patch(&self, r: &ObjectRef, patch: &Value) -> Result<(), KubeError> {
        let params = PatchParams {
            field_manager: Some(MANAGER.to_owned()),
            ..PatchParams::default()
        };
        self.patch(&params, r, &Patch::Merge(patch))
            .await
            .map_err(|e| self.error(format!("patch {}", r.display_name()), e))
    }

    /// Deletes an object; already gone counts as done. With `precondition`, only the
    /// object of that `uid` (and `resourceVersion`, when given) is deleted; another one
    /// makes the API server answer 409.
    pub async fn delete(
        &self,
        r: &ObjectRef,
        precondition: Option<Precondition>,
    ) -> Result<(), KubeError> {
        let params = DeleteParams {
            preconditions: precondition.map(|p| kube::api::Preconditions {
                uid: Some(p.uid),
                resource_version: p.resource_version,
            }),
            ..DeleteParams::default()
        };
        match api(&self.client, r.kind, r.namespace.as_deref())
            .delete(&r.name, &params)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.error(format!("delete {}", r.display_name()), e)),
        }
    }

    /// A short-lived token of a service account (TokenRequest API), never shown.
    pub async fn token(
        &self,
        namespace: &str,
        service_account: &str,
        seconds: i64,
    ) -> Result<Sensitive, KubeError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                expiration_seconds: Some(seconds),
                ..Default::default()
            },
            ..Default::default()
        };
        let what = || format!("request a token for {namespace}/{service_account}");
        let answer = api
            .create_token_request(service_account, &PostParams::default(), &request)
            .await
            .map_err(|e| self.error(what(), e))?;
        answer
            .status
            .map(|s| Sensitive::new(s.token))
            .filter(|t| !t.expose().is_empty())
            .ok_or_else(|| KubeError::EmptyToken {
                context: self.context.clone(),
                what: what(),
            })
    }

    /// Approves a CSR through its `approval` subresource, as `kubectl certificate approve`
    /// does.
    pub async fn approve_csr(&self, name: &str, message: &str) -> Result<(), KubeError> {
        let api = api(&self.client, Kind::CertificateSigningRequest, None);
        let what = || format!("approve CertificateSigningRequest {name}");
        let mut csr = to_value(api.get(name).await.map_err(|e| self.error(what(), e))?);
        let condition = serde_json::json!({
            "type": "Approved", "status": "True", "reason": "FleetApprove", "message": message,
        });
        match csr
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
        {
            Some(conditions) => conditions.push(condition),
            None => csr["status"] = serde_json::json!({ "conditions": [condition] }),
        }
        api.replace_subresource("approval", name, &PostParams::default(), &csr)
            .await
            .map(|_| ())
            .map_err(|e| self.error(what(), e))
    }

    /// Whether a CRD reports `Established`.
    pub async fn crd_established(&self, name: &str) -> Result<bool, KubeError> {
        let crd = self.get(Kind::CustomResourceDefinition, None, name).await?;
        Ok(crd.is_some_and(|c| true_conditions(&c).contains("Established")))
    }

    /// The cluster as its `kube-public/cluster-info` describes it (what `clusteradm join
    /// --force-internal-endpoint-lookup` uses), or `None` when it has none.
    pub async fn cluster_info(&self) -> Result<Option<Endpoint>, KubeError> {
        let Some(cm) = self
            .get(Kind::ConfigMap, Some("kube-public"), "cluster-info")
            .await?
        else {
            return Ok(None);
        };
        let Some(text) = cm.pointer("/data/kubeconfig").and_then(Json::as_str) else {
            return Ok(None);
        };
        let cluster = Kubeconfig::from_yaml(text)
            .ok()
            .and_then(|kc| kc.clusters.into_iter().next())
            .and_then(|c| c.cluster);
        Ok(cluster.and_then(|c| {
            Some(Endpoint {
                server: c.server?,
                ca_data: c.certificate_authority_data,
            })
        }))
    }

    /// The server and CA this context reaches.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            server: self.server.clone(),
            ca_data: self.ca_data.clone(),
        }
    }

    /// Whether `user` may `verb` the `resource` (`pods` or `pods/log`) of API `group`, in
    /// `namespace` (or cluster-wide), on object `name` (or any): a SubjectAccessReview,
    /// which reads nothing and writes nothing.
    pub async fn may(
        &self,
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<bool, KubeError> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
        };
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s.to_owned())),
            None => (resource, None),
        };
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(user.to_owned()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_owned()),
                    group: Some(group.to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource,
                    namespace: namespace.map(str::to_owned),
                    name: name.map(str::to_owned),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| self.error("create SubjectAccessReview", e))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }

    /// UID of the `kube-system` namespace: the cluster's identity.
    pub async fn identity(&self) -> Result<String, KubeError> {
        let ns = self.get(Kind::Namespace, None, "kube-system").await?;
        Ok(ns
            .and_then(|n| {
                n.pointer("/metadata/uid")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kubeconfig_error_never_quotes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.sig\n").unwrap();
        let e = Kubeconfig::read_from(&token).unwrap_err();
        let chain = miette::Report::new(KubeError::Kubeconfig {
            path: token.display().to_string(),
            source: Redacted::of(&e),
        });
        let text = format!("{chain:?}");
        assert!(
            !text.contains("eyJ") && !text.contains("c2VjcmV0"),
            "{text}"
        );
        assert!(text.contains("line 1 column 1"), "{text}");
    }

    #[test]
    fn quoted_text_is_elided() {
        assert_eq!(
            elide_quoted(r#"invalid type: string "root:x:0:0", expected a map"#),
            r#"invalid type: string "…", expected a map"#
        );
        assert_eq!(elide_quoted("unterminated `abc"), "unterminated `…");
    }
}
