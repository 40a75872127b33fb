//! fleet's lab: real Kubernetes control planes on 127.0.0.1 for the tests, the demo and the
//! benchmarks — no Docker, no mocks.
//!
//! One etcd (shared, one `--etcd-prefix` per apiserver) and:
//! - **ITS** `its1`: kube-apiserver + kube-controller-manager (CSR signing with the client CA,
//!   namespace, garbage-collector, root-CA publisher…), the OCM hub CRDs, OCM's real hub
//!   registration controller, and what `clusteradm init` leaves behind;
//! - **WDS** `wds1`: kube-apiserver + kube-controller-manager + the KubeStellar CRDs;
//! - **WECs** `cluster1…clusterN`: kube-apiserver + kube-controller-manager, and the
//!   klusterlet stand-in ([`klusterlet`]) that runs the real OCM agent (registration and work
//!   agent) once a join wrote the bootstrap kubeconfig Secret;
//! - KubeStellar's **controller-manager** (binding controller) and **OCM transport
//!   controller**, so that what a BindingPolicy selects in the WDS travels the real chain
//!   Binding → ManifestWork → work agent → WEC. The controller-manager finds the WDS and the
//!   ITS through KubeFlex `ControlPlane`s: the ITS also plays KubeFlex's hosting cluster
//!   ([`kubeflex`]).
//!
//! One kubeconfig holds every context. Everything is stopped and removed when the [`Lab`] is
//! dropped (also on panic); children also die with the thread that started them.
//! Start a lab from a long-lived thread (a test's main thread, a `current_thread` runtime).

pub mod bins;
pub mod fixtures;
pub mod hub;
pub mod klusterlet;
pub mod kube_util;
pub mod kubeflex;
pub mod pki;
pub mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::Client;

pub use bins::Bins;
use pki::Pki;
use process::{Proc, free_port};

/// Everything that can go wrong while starting or running the lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("building the lab binaries failed: {0}")]
    Build(String),
    #[error("certificates: {0}")]
    Pki(String),
    #[error("kubernetes: {0}")]
    Kube(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("{component} exited during start-up ({status}); last log lines of {log}:\n{tail}")]
    Crashed {
        component: String,
        status: String,
        log: String,
        tail: String,
    },
}

/// What to start.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Number of WECs (`cluster1` … `clusterN`); 0 starts only the ITS and the WDS.
    pub wecs: usize,
    /// Where to keep state; `None` → a temporary directory removed on drop.
    pub dir: Option<PathBuf>,
    /// Progress lines go to stderr when true.
    pub verbose: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            wecs: 2,
            dir: None,
            verbose: false,
        }
    }
}

/// Which role a control plane plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Its,
    Wds,
    Wec,
}

/// One control plane of the lab.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    /// Context name in the lab kubeconfig (`its1`, `wds1`, `cluster1`…).
    pub name: String,
    pub role: Role,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// A kubeconfig with just this context.
    pub kubeconfig: PathBuf,
    dir: PathBuf,
}

/// A running lab. Dropping it stops every process and removes its files.
pub struct Lab {
    root: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    kubeconfig: PathBuf,
    planes: BTreeMap<String, ControlPlane>,
    /// Apiserver processes by plane name, so tests can take one down.
    apiservers: std::sync::Mutex<BTreeMap<String, Proc>>,
    /// Everything else, stopped in reverse start order.
    others: Vec<Proc>,
    stand_in: Option<klusterlet::StandIn>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("root", &self.root)
            .field("planes", &self.planes.keys())
            .finish()
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
    let what = what.into();
    move |source| LabError::Io { what, source }
}

impl Lab {
    /// Starts etcd, the ITS, the WDS and `opts.wecs` WECs and waits until all are ready.
    pub async fn start(opts: LabOptions) -> Result<Lab, LabError> {
        let t0 = Instant::now();
        let say = |msg: &str| {
            if opts.verbose {
                eprintln!("lab: [{:>5.1}s] {msg}", t0.elapsed().as_secs_f64());
            }
        };
        say("locating binaries (building them on first use)");
        let bins = Bins::ensure()?;
        let (root, tmp) = match &opts.dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(io(format!("create {}", d.display())))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("fleet-lab-")
                    .tempdir()
                    .map_err(io("create temp dir"))?;
                (t.path().to_owned(), Some(t))
            }
        };
        let pki = Pki::generate(&root.join("pki"))?;
        let mut lab = Lab {
            kubeconfig: root.join("kubeconfig"),
            root,
            _tmp: tmp,
            planes: BTreeMap::new(),
            apiservers: std::sync::Mutex::new(BTreeMap::new()),
            others: Vec::new(),
            stand_in: None,
        };

        say("starting etcd");
        let etcd_url = lab.start_etcd(&bins).await?;

        let mut names = vec![
            ("its1".to_owned(), Role::Its),
            ("wds1".to_owned(), Role::Wds),
        ];
        names.extend((1..=opts.wecs).map(|i| (format!("cluster{i}"), Role::Wec)));
        for (name, role) in &names {
            let plane = lab.start_apiserver(&bins, &pki, name, *role, &etcd_url)?;
            lab.planes.insert(name.clone(), plane);
        }
        lab.write_kubeconfig(&pki)?;
        say(&format!(
            "started {} kube-apiservers; waiting for /readyz",
            names.len()
        ));
        for (name, _) in &names {
            let client = lab.client(name).await?;
            let deadline = Instant::now() + Duration::from_secs(180);
            loop {
                match kube_util::wait_ready(&client, name, Duration::from_secs(2)).await {
                    Ok(()) => break,
                    Err(e) => {
                        lab.check_alive()?;
                        if Instant::now() > deadline {
                            return Err(e);
                        }
                    }
                }
            }
            say(&format!("{name} ready"));
        }

        for (name, role) in &names {
            if matches!(role, Role::Its | Role::Wec) {
                lab.start_controller_manager(&bins, &pki, name)?;
            }
        }
        say("kube-controller-managers started; installing CRDs");

        let its = lab.client("its1").await?;
        kube_util::install_crds(&its, &bins.ocm_hub_crds()).await?;
        let its_server = lab.planes["its1"].server.clone();
        hub::init(&its, &its_server, &pki.serving_ca_pem).await?;
        let wds = lab.client("wds1").await?;
        kube_util::install_crds(&wds, &bins.kubestellar_crds()).await?;
        // The WDS gets one too: KubeStellar's Bindings are owned by their BindingPolicies, and
        // only the garbage collector deletes a Binding whose BindingPolicy went away. Started
        // after the CRDs, so that it watches Bindings from the start (it discovers resources
        // added later only at its next resync, up to 30 s on).
        lab.start_controller_manager(&bins, &pki, "wds1")?;
        let mut wec_specs = Vec::new();
        for (name, role) in &names {
            if *role == Role::Wec {
                let c = lab.client(name).await?;
                kube_util::install_crds(&c, &bins.ocm_spoke_crds()).await?;
                let p = &lab.planes[name];
                wec_specs.push(klusterlet::WecSpec {
                    name: name.clone(),
                    kubeconfig: p.kubeconfig.clone(),
                    dir: p.dir.clone(),
                });
            }
        }
        say("CRDs established; starting OCM hub registration controller");
        lab.start_hub_controller(&bins)?;
        lab.stand_in = Some(klusterlet::StandIn::start(&bins, wec_specs)?);
        say(
            "publishing the ControlPlanes its1 and wds1 (KubeFlex, hosted by its1); starting KubeStellar's controllers",
        );
        kube_util::install_crds(&its, &bins.kubeflex_crds()).await?;
        lab.publish_control_planes(&its).await?;
        let kubestellar = lab.start_kubestellar(&bins)?;
        // The hub controller is ready once it has created the default ManagedClusterSets.
        lab.wait_hub_controller(&its).await?;
        say(
            "OCM hub controller ready; waiting for KubeStellar's controllers to start their workers",
        );
        for index in kubestellar {
            lab.wait_started_workers(index, Duration::from_secs(120))
                .await?;
        }
        say(&format!(
            "lab ready in {:.1}s; kubeconfig {}",
            t0.elapsed().as_secs_f64(),
            lab.kubeconfig.display()
        ));
        Ok(lab)
    }

    /// The kubeconfig with every context (`its1`, `wds1`, `cluster1`…).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The control planes by context name.
    pub fn planes(&self) -> &BTreeMap<String, ControlPlane> {
        &self.planes
    }

    /// An admin client for a context of the lab.
    pub async fn client(&self, context: &str) -> Result<Client, LabError> {
        kube_util::client(&self.kubeconfig, context).await
    }

    /// Whether the klusterlet stand-in runs an OCM agent for WEC `name`.
    pub fn agent_running(&self, name: &str) -> bool {
        self.stand_in
            .as_ref()
            .is_some_and(|s| s.agent_running(name))
    }

    /// Files a CSR for cluster `name` from the lab's admin (not an agent's bootstrap
    /// identity); returns its name.
    pub async fn foreign_csr(&self, name: &str) -> Result<String, LabError> {
        fixtures::foreign_csr(self.kubeconfig(), name).await
    }

    /// Holds (or releases) a WEC's klusterlet agent: while held it never runs.
    pub fn hold_agent(&self, name: &str, held: bool) {
        if let Some(s) = &self.stand_in {
            s.hold_agent(name, held);
        }
    }

    /// PIDs of every running process, by component (for RSS measurements).
    pub fn pids(&self) -> Vec<(String, u32)> {
        let apiservers = self.apiservers.lock().expect("lock");
        apiservers
            .values()
            .chain(self.others.iter())
            .filter_map(|p| p.pid().map(|pid| (p.name().to_owned(), pid)))
            .collect()
    }

    /// The last `n` lines of the log of the process named `component` (as in [`Lab::pids`],
    /// e.g. `ocm-transport-controller/wds1`), for messages of failed tests.
    pub fn log_tail(&self, component: &str, n: usize) -> Option<String> {
        let apiservers = self.apiservers.lock().expect("lock");
        apiservers
            .values()
            .chain(self.others.iter())
            .find(|p| p.name() == component)
            .map(|p| p.log_tail(n))
    }

    /// Stops the kube-apiserver of `name` (the cluster becomes unreachable). For tests of
    /// partial failure.
    pub fn stop_apiserver(&self, name: &str) {
        if let Some(p) = self.apiservers.lock().expect("lock").get_mut(name) {
            p.stop(Duration::from_secs(5));
        }
    }

    /// Fails with the log tail of any lab process that has exited.
    pub fn check_alive(&mut self) -> Result<(), LabError> {
        let apiservers = self.apiservers.get_mut().expect("lock");
        for p in apiservers.values_mut().chain(self.others.iter_mut()) {
            if let Some(status) = p.exited() {
                return Err(LabError::Crashed {
                    component: p.name().to_owned(),
                    status: status.to_string(),
                    log: p.log().display().to_string(),
                    tail: p.log_tail(20),
                });
            }
        }
        Ok(())
    }

    async fn start_etcd(&mut self, bins: &Bins) -> Result<String, LabError> {
        let dir = self.root.join("etcd");
        std::fs::create_dir_all(&dir).map_err(io("create etcd dir"))?;
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let args = vec![
            format!("--data-dir={}", dir.join("data").display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--unsafe-no-fsync".to_owned(),
            "--log-level=warn".to_owned(),
            "--quota-backend-bytes=4294967296".to_owned(),
        ];
        let mut proc = Proc::spawn("etcd", &bins.etcd, &args, &dir.join("etcd.log"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http_ok(client_port, "/health").await {
                break;
            }
            if let Some(status) = proc.exited() {
                return Err(LabError::Crashed {
                    component: "etcd".into(),
                    status: status.to_string(),
                    log: proc.log().display().to_string(),
                    tail: proc.log_tail(20),
                });
            }
            if Instant::now() > deadline {
                return Err(LabError::Timeout("etcd /health".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.others.push(proc);
        Ok(client_url)
    }

    fn start_apiserver(
        &mut self,
        bins: &Bins,
        pki: &Pki,
        name: &str,
        role: Role,
        etcd: &str,
    ) -> Result<ControlPlane, LabError> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
        let port = free_port()?;
        let p = |path: &Path| path.display().to_string();
        let args = vec![
            "--bind-address=127.0.0.1".to_owned(),
            format!("--secure-port={port}"),
            "--advertise-address=127.0.0.1".to_owned(),
            "--endpoint-reconciler-type=none".to_owned(),
            format!("--cert-dir={}", dir.join("pki").display()),
            format!("--tls-cert-file={}", p(&pki.serving_cert)),
            format!("--tls-private-key-file={}", p(&pki.serving_key)),
            format!("--client-ca-file={}", p(&pki.client_ca)),
            "--authorization-mode=RBAC".to_owned(),
            format!("--service-account-issuer=https://{name}.lab.invalid"),
            format!("--service-account-signing-key-file={}", p(&pki.sa_key)),
            format!("--service-account-key-file={}", p(&pki.sa_pub)),
            "--service-cluster-ip-range=10.96.0.0/16".to_owned(),
            format!("--etcd-servers={etcd}"),
            format!("--etcd-prefix=/{name}/registry"),
            "--disable-admission-plugins=ServiceAccount".to_owned(),
            "--allow-privileged=true".to_owned(),
            "--profiling=false".to_owned(),
            "--v=1".to_owned(),
        ];
        let proc = Proc::spawn(
            &format!("kube-apiserver/{name}"),
            &bins.kube_apiserver,
            &args,
            &dir.join("kube-apiserver.log"),
        )?;
        self.apiservers
            .get_mut()
            .expect("lock")
            .insert(name.to_owned(), proc);
        Ok(ControlPlane {
            name: name.to_owned(),
            role,
            server: format!("https://127.0.0.1:{port}"),
            kubeconfig: dir.join("admin.kubeconfig"),
            dir,
        })
    }

    fn start_controller_manager(
        &mut self,
        bins: &Bins,
        pki: &Pki,
        name: &str,
    ) -> Result<(), LabError> {
        let plane = &self.planes[name];
        let p = |path: &Path| path.display().to_string();
        let controllers = [
            "namespace-controller",
            "garbage-collector-controller",
            "serviceaccount-controller",
            "root-ca-certificate-publisher-controller",
            "clusterrole-aggregation-controller",
            "certificatesigningrequest-signing-controller",
            "certificatesigningrequest-cleaner-controller",
        ]
        .join(",");
        let args = vec![
            format!("--kubeconfig={}", p(&plane.kubeconfig)),
            format!("--controllers={controllers}"),
            format!("--service-account-private-key-file={}", p(&pki.sa_key)),
            format!("--root-ca-file={}", p(&pki.serving_ca)),
            format!("--cluster-signing-cert-file={}", p(&pki.client_ca)),
            format!("--cluster-signing-key-file={}", p(&pki.client_ca_key)),
            "--leader-elect=false".to_owned(),
            "--use-service-account-credentials=false".to_owned(),
            "--secure-port=0".to_owned(),
            "--v=1".to_owned(),
        ];
        let log = plane.dir.join("kube-controller-manager.log");
        let proc = Proc::spawn(
            &format!("kube-controller-manager/{name}"),
            &bins.kube_controller_manager,
            &args,
            &log,
        )?;
        self.others.push(proc);
        Ok(())
    }

    fn start_hub_controller(&mut self, bins: &Bins) -> Result<(), LabError> {
        let plane = &self.planes["its1"];
        let args = vec![
            "controller".to_owned(),
            format!("--kubeconfig={}", plane.kubeconfig.display()),
            "--namespace=open-cluster-management-hub".to_owned(),
            "--disable-leader-election".to_owned(),
            format!("--listen=127.0.0.1:{}", free_port()?),
        ];
        let log = plane.dir.join("ocm-registration-controller.log");
        let proc = Proc::spawn(
            "ocm-registration-controller/its1",
            &bins.ocm_registration,
            &args,
            &log,
        )?;
        self.others.push(proc);
        Ok(())
    }

    async fn wait_hub_controller(&mut self, its: &Client) -> Result<(), LabError> {
        use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
        let gvk = GroupVersionKind::gvk(
            "cluster.open-cluster-management.io",
            "v1beta2",
            "ManagedClusterSet",
        );
        let api: Api<DynamicObject> = Api::all_with(its.clone(), &ApiResource::from_gvk(&gvk));
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(_)) = api.get_opt("default").await {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(LabError::Timeout(
                    "OCM hub controller did not create ManagedClusterSet default".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The ITS hosts KubeFlex's `ControlPlane`s `its1` and `wds1`, each pointing at a Secret
    /// in [`kubeflex::NAMESPACE`] that holds the space's single-context admin kubeconfig
    /// (servers on 127.0.0.1, CA data included: usable from this machine), and `Ready`.
    async fn publish_control_planes(&self, host: &Client) -> Result<(), LabError> {
        for (name, cptype, spec_type) in [("its1", "its", "vcluster"), ("wds1", "wds", "k8s")] {
            let path = &self.planes[name].kubeconfig;
            let text =
                std::fs::read_to_string(path).map_err(io(format!("read {}", path.display())))?;
            let secret = kubeflex::secret_name(name);
            kubeflex::put_kubeconfig_secret(host, &secret, &text).await?;
            kubeflex::put_control_plane(
                host,
                &kubeflex::ControlPlaneObject {
                    name,
                    cptype: Some(cptype),
                    spec_type,
                    secret: &secret,
                    ready: true,
                    reason: "Available",
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Starts KubeStellar's controller-manager (binding controller only: the status
    /// controller would wait for the status add-on's API) and OCM transport controller;
    /// returns their indexes in `others`, to wait for them.
    fn start_kubestellar(&mut self, bins: &Bins) -> Result<Vec<usize>, LabError> {
        let its = &self.planes["its1"];
        let wds = &self.planes["wds1"];
        let cm_args = vec![
            // The hosting cluster, where the ControlPlanes are.
            format!("--kubeconfig={}", its.kubeconfig.display()),
            "--wds-name=wds1".to_owned(),
            "--its-name=its1".to_owned(),
            "--controllers=binding".to_owned(),
            "--metrics-bind-address=127.0.0.1:0".to_owned(),
            "--pprof-bind-address=127.0.0.1:0".to_owned(),
            "--health-probe-bind-address=".to_owned(),
            "-v=2".to_owned(),
        ];
        let cm = Proc::spawn(
            "kubestellar-controller-manager/wds1",
            &bins.ks_controller_manager,
            &cm_args,
            &wds.dir.join("kubestellar-controller-manager.log"),
        )?;
        self.others.push(cm);
        let kc = self.kubeconfig.display().to_string();
        let transport_args = vec![
            format!("--wds-kubeconfig={kc}"),
            "--wds-context=wds1".to_owned(),
            format!("--transport-kubeconfig={kc}"),
            "--transport-context=its1".to_owned(),
            "--wds-name=wds1".to_owned(),
            "--metrics-bind-address=127.0.0.1:0".to_owned(),
            "--pprof-bind-address=127.0.0.1:0".to_owned(),
            "-v=4".to_owned(),
        ];
        let transport = Proc::spawn(
            "ocm-transport-controller/wds1",
            &bins.ks_ocm_transport,
            &transport_args,
            &wds.dir.join("ocm-transport-controller.log"),
        )?;
        self.others.push(transport);
        Ok(vec![self.others.len() - 2, self.others.len() - 1])
    }

    /// Waits until the controller at `others[index]` logs that its workers started (both of
    /// KubeStellar's do, once their informers synced). The controller-manager polls up to 5
    /// minutes for a missing ControlPlane or CRD without saying why: a timeout shows its log.
    async fn wait_started_workers(
        &mut self,
        index: usize,
        timeout: Duration,
    ) -> Result<(), LabError> {
        let deadline = Instant::now() + timeout;
        loop {
            let p = &mut self.others[index];
            let log = std::fs::read_to_string(p.log()).unwrap_or_default();
            if log.to_ascii_lowercase().contains("started workers") {
                return Ok(());
            }
            if let Some(status) = p.exited() {
                return Err(LabError::Crashed {
                    component: p.name().to_owned(),
                    status: status.to_string(),
                    log: p.log().display().to_string(),
                    tail: p.log_tail(30),
                });
            }
            if Instant::now() > deadline {
                return Err(LabError::Timeout(format!(
                    "{} did not start its workers within {timeout:?}; last lines of {}:\n{}",
                    p.name(),
                    p.log().display(),
                    p.log_tail(30)
                )));
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn write_kubeconfig(&self, pki: &Pki) -> Result<(), LabError> {
        let ca = b64(pki.serving_ca_pem.as_bytes());
        let user = serde_json::json!({
            "name": "lab-admin",
            "user": {
                "client-certificate-data": b64(pki.admin_cert_pem.as_bytes()),
                "client-key-data": b64(pki.admin_key_pem.as_bytes()),
            }
        });
        let cluster = |p: &ControlPlane| serde_json::json!({"name": p.name, "cluster": {"server": p.server, "certificate-authority-data": ca}});
        let context = |p: &ControlPlane| serde_json::json!({"name": p.name, "context": {"cluster": p.name, "user": "lab-admin"}});
        let doc = |planes: &[&ControlPlane]| {
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": planes.iter().map(|p| cluster(p)).collect::<Vec<_>>(),
                "contexts": planes.iter().map(|p| context(p)).collect::<Vec<_>>(),
                "users": [user.clone()],
                "current-context": planes.first().map(|p| p.name.clone()).unwrap_or_default(),
            })
        };
        let write = |path: &Path, v: serde_json::Value| {
            std::fs::write(path, serde_json::to_string_pretty(&v).expect("json"))
                .map_err(io(format!("write {}", path.display())))
        };
        let all: Vec<&ControlPlane> = self.planes.values().collect();
        write(&self.kubeconfig, doc(&all))?;
        for p in &all {
            write(&p.kubeconfig, doc(&[p]))?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Agents first, then controllers, then apiservers, etcd last.
        self.stand_in.take();
        let grace = Duration::from_secs(5);
        while let Some(mut p) = self.others.pop() {
            if p.name() == "etcd" {
                for a in self.apiservers.get_mut().expect("lock").values_mut() {
                    a.stop(grace);
                }
            }
            p.stop(grace);
        }
        for a in self.apiservers.get_mut().expect("lock").values_mut() {
            a.stop(grace);
        }
        // `_tmp` (when the lab chose the directory) removes the files after this.
    }
}

/// `GET path` over plain HTTP on loopback answers 200.
async fn http_ok(port: u16, path: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200")
}
