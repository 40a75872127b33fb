//! The klusterlet stand-in. Nothing runs pods in the lab, so the lab plays kubelet and
//! klusterlet operator: for each WEC it watches for the Secret
//! `open-cluster-management-agent/bootstrap-hub-kubeconfig` (what `clusteradm join` writes)
//! and, while it exists, runs the real OCM klusterlet agent (`registration-operator agent`,
//! the singleton agent KubeStellar deploys) for that WEC with that bootstrap kubeconfig.
//! When the agent namespace goes away (unjoin) the agent is stopped; when the agent exits it
//! is restarted, as kubelet would.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

use crate::process::{Proc, free_port};
use crate::{Bins, LabError};

/// Names of the WECs whose agent process is running, shared with the supervising thread.
pub type Running = Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>;

const AGENT_NS: &str = "open-cluster-management-agent";
const BOOTSTRAP_SECRET: &str = "bootstrap-hub-kubeconfig";

/// What the stand-in needs to know about one WEC.
#[derive(Debug, Clone)]
pub struct WecSpec {
    /// Lab name (also the kubeconfig context), e.g. `cluster1`.
    pub name: String,
    /// Single-context admin kubeconfig of the WEC.
    pub kubeconfig: PathBuf,
    /// Directory for the agent's files and log.
    pub dir: PathBuf,
}

/// Handle on the stand-in thread; dropping it stops every agent.
#[derive(Debug)]
pub struct StandIn {
    stop: Arc<AtomicBool>,
    running: Running,
    held: Running,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Starts the supervising thread (its own single-threaded runtime, so agents are children
    /// of a thread that lives exactly as long as the stand-in).
    pub fn start(bins: &Bins, wecs: Vec<WecSpec>) -> Result<StandIn, LabError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let program = bins.ocm_registration_operator.clone();
        let running: Running = Arc::default();
        let shared = running.clone();
        let held: Running = Arc::default();
        let held_shared = held.clone();
        let thread = std::thread::Builder::new()
            .name("klusterlet-stand-in".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(supervise(program, wecs, flag, shared, held_shared));
            })
            .map_err(|source| LabError::Io {
                what: "spawn stand-in thread".into(),
                source,
            })?;
        Ok(StandIn {
            stop,
            running,
            held,
            thread: Some(thread),
        })
    }

    /// Whether the agent of WEC `name` is running now.
    pub fn agent_running(&self, name: &str) -> bool {
        self.running.lock().expect("lock").contains(name)
    }

    /// Holds (or releases) WEC `name`'s agent: while held it is not run, as on a WEC whose
    /// kubelet cannot start the agent's pod (image pull failures, no nodes).
    pub fn hold_agent(&self, name: &str, held: bool) {
        let mut set = self.held.lock().expect("lock");
        if held {
            set.insert(name.to_owned());
        } else {
            set.remove(name);
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One WEC's agent as the stand-in sees it.
struct Slot {
    spec: WecSpec,
    client: Option<Client>,
    agent: Option<Proc>,
    bootstrap: Vec<u8>,
    restart_after: Instant,
}

async fn supervise(
    program: PathBuf,
    wecs: Vec<WecSpec>,
    stop: Arc<AtomicBool>,
    running: Running,
    held: Running,
) {
    let mut slots: BTreeMap<String, Slot> = wecs
        .into_iter()
        .map(|spec| {
            (
                spec.name.clone(),
                Slot {
                    spec,
                    client: None,
                    agent: None,
                    bootstrap: Vec::new(),
                    restart_after: Instant::now(),
                },
            )
        })
        .collect();
    while !stop.load(Ordering::SeqCst) {
        for slot in slots.values_mut() {
            if held.lock().expect("lock").contains(&slot.spec.name) {
                if let Some(mut agent) = slot.agent.take() {
                    agent.stop(Duration::from_secs(5));
                }
                slot.bootstrap.clear();
                running.lock().expect("lock").remove(&slot.spec.name);
                continue;
            }
            if let Err(e) = reconcile(&program, slot).await {
                // Unreachable WEC (e.g. its apiserver stopped on purpose): keep the agent as is.
                let _ = std::fs::write(slot.spec.dir.join("stand-in.err"), e.to_string());
            }
            let alive = slot.agent.as_mut().is_some_and(|a| a.exited().is_none());
            let mut set = running.lock().expect("lock");
            if alive {
                set.insert(slot.spec.name.clone());
            } else {
                set.remove(&slot.spec.name);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Dropping the slots stops the agents.
}

async fn reconcile(program: &std::path::Path, slot: &mut Slot) -> Result<(), LabError> {
    if slot.client.is_none() {
        slot.client = Some(crate::kube_util::client(&slot.spec.kubeconfig, &slot.spec.name).await?);
    }
    let client = slot.client.clone().expect("set above");
    let kerr = |e: kube::Error| LabError::Kube(e.to_string());

    let ns = Api::<Namespace>::all(client.clone())
        .get_opt(AGENT_NS)
        .await
        .map_err(kerr)?;
    let ns_live = ns.is_some_and(|n| n.metadata.deletion_timestamp.is_none());
    let secret = if ns_live {
        Api::<Secret>::namespaced(client.clone(), AGENT_NS)
            .get_opt(BOOTSTRAP_SECRET)
            .await
            .map_err(kerr)?
    } else {
        None
    };
    let bootstrap = secret
        .and_then(|s| s.data)
        .and_then(|mut d| d.remove("kubeconfig"))
        .map(|b| b.0);

    let Some(bootstrap) = bootstrap else {
        // Unjoined (or never joined): no agent, and forget its hub credentials.
        if let Some(mut agent) = slot.agent.take() {
            agent.stop(Duration::from_secs(5));
            let _ = std::fs::remove_dir_all(slot.spec.dir.join("hub-kubeconfig"));
        }
        slot.bootstrap.clear();
        return Ok(());
    };

    let exited = slot.agent.as_mut().is_some_and(|a| a.exited().is_some());
    let changed = bootstrap != slot.bootstrap;
    if slot.agent.is_some() && !exited && !changed {
        return Ok(());
    }
    if exited && Instant::now() < slot.restart_after {
        return Ok(()); // back off like kubelet's CrashLoopBackOff, briefly
    }
    if let Some(mut agent) = slot.agent.take() {
        agent.stop(Duration::from_secs(5));
    }
    let cluster_name = klusterlet_cluster_name(&client)
        .await
        .unwrap_or_else(|| slot.spec.name.clone());
    let bootstrap_file = slot.spec.dir.join("bootstrap.kubeconfig");
    let hub_dir = slot.spec.dir.join("hub-kubeconfig");
    std::fs::create_dir_all(&hub_dir).map_err(|source| LabError::Io {
        what: "create hub-kubeconfig dir".into(),
        source,
    })?;
    std::fs::write(&bootstrap_file, &bootstrap).map_err(|source| LabError::Io {
        what: "write bootstrap kubeconfig".into(),
        source,
    })?;
    let args = vec![
        "agent".to_owned(),
        format!("--kubeconfig={}", slot.spec.kubeconfig.display()),
        format!("--namespace={AGENT_NS}"),
        "--disable-leader-election".to_owned(),
        format!("--listen=127.0.0.1:{}", free_port()?),
        format!("--spoke-cluster-name={cluster_name}"),
        format!("--agent-id=lab-{cluster_name}"),
        format!("--bootstrap-kubeconfig={}", bootstrap_file.display()),
        format!("--hub-kubeconfig-dir={}", hub_dir.display()),
        "--workload-source-driver=kube".to_owned(),
        format!(
            "--workload-source-config={}",
            hub_dir.join("kubeconfig").display()
        ),
    ];
    let log = slot.spec.dir.join("klusterlet-agent.log");
    slot.agent = Some(Proc::spawn(
        &format!("klusterlet-agent/{}", slot.spec.name),
        program,
        &args,
        &log,
    )?);
    slot.bootstrap = bootstrap;
    slot.restart_after = Instant::now() + Duration::from_secs(2);
    Ok(())
}

/// `spec.clusterName` of the Klusterlet `klusterlet`, when the join applied one.
async fn klusterlet_cluster_name(client: &Client) -> Option<String> {
    let gvk = GroupVersionKind::gvk("operator.open-cluster-management.io", "v1", "Klusterlet");
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk));
    let k = api.get_opt("klusterlet").await.ok()??;
    k.data
        .pointer("/spec/clusterName")?
        .as_str()
        .map(str::to_owned)
}
