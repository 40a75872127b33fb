//! Benchmark: registering 3 WECs with `fleet apply` against the seeds' procedure
//! (`shared/seeds/004`: get a token, join, wait for the CSR in a `sleep 5` loop, accept, wait
//! until Available), side by side on one lab with the real OCM hub controller and agents.
//!
//! The procedure runs in two forms:
//! - always, at the API level with `kubectl` (`kubectl create token`, the same join objects
//!   fleet applies, the seed's CSR loop, `kubectl certificate approve`, the
//!   `hubAcceptsClient` patch, `kubectl wait`), one WEC after the other as the seed does;
//! - when a `clusteradm` binary is on `PATH`, with the real `clusteradm get token / join /
//!   accept` (clusteradm v1.0.0 is what KubeStellar 0.30 uses).
//!
//! Prints a table; exits 1 if any method fails to take its WECs to Available.
//! `cargo bench --bench register` (needs `kubectl` on PATH).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fleet::config::model::{JoinOptions, OcmRelease};
use fleet::desired::join::JoinManifest;
use fleet::model::{Endpoint, Kind, Sensitive, WecName};
use fleet_lab::{Lab, LabOptions};

const WECS_PER_METHOD: usize = 3;

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Runs a bash script with the lab's kubeconfig; wall time and whether it succeeded.
fn bash(kubeconfig: &Path, script: &str, log: &Path) -> (Duration, bool) {
    let t0 = Instant::now();
    let status = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .env("KUBECONFIG", kubeconfig)
        .stdout(std::fs::File::create(log).expect("log"))
        .stderr(
            std::fs::File::options()
                .append(true)
                .open(log)
                .expect("log"),
        )
        .status()
        .expect("run bash");
    (t0.elapsed(), status.success())
}

/// The seed's wait for the CSR, approval of it, acceptance and the wait for Available.
fn seed_wait_csr(w: &str) -> String {
    format!(
        r#"while [ -z "$(kubectl --context its1 get csr | grep {w})" ]; do echo "Waiting for CSR to appear..."; sleep 5; done
"#
    )
}

fn wait_available(w: &str) -> String {
    format!(
        "kubectl --context its1 wait --for=condition=ManagedClusterConditionAvailable managedcluster/{w} --timeout=300s\n"
    )
}

/// The kubectl form of the seed's procedure for one WEC, with the join objects in `dir`.
fn kubectl_procedure(w: &str, dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"# 1. token (clusteradm get token = a TokenRequest)
token=$(kubectl --context its1 -n open-cluster-management create token agent-registration-bootstrap --duration=3600s)
# 2. join: the objects clusteradm join applies
kubectl --context {w} apply -f {d}/crd.json
kubectl --context {w} wait --for condition=established crd/klusterlets.operator.open-cluster-management.io --timeout=60s
kubectl --context {w} apply -f {d}/objects.json
umask 077; kc=$(mktemp); sed "s|@TOKEN@|$token|" {d}/bootstrap.kubeconfig > "$kc"
kubectl --context {w} -n open-cluster-management-agent create secret generic bootstrap-hub-kubeconfig --from-file=kubeconfig="$kc"
rm -f "$kc"
# 3. the seed's CSR loop
{csr}# 4. accept: approve the CSR, set hubAcceptsClient
kubectl --context its1 certificate approve $(kubectl --context its1 get csr -l open-cluster-management.io/cluster-name={w} -o name)
kubectl --context its1 patch managedcluster {w} --type merge -p '{{"spec":{{"hubAcceptsClient":true}}}}'
# 5. verify
{wait}"#,
        csr = seed_wait_csr(w),
        wait = wait_available(w),
    )
}

/// The seed's procedure with the real clusteradm for one WEC.
fn clusteradm_procedure(w: &str) -> String {
    format!(
        r#"join=$(clusteradm --context its1 get token | grep '^clusteradm join' | sed 's/<cluster_name>/{w}/')
$join --context {w} --singleton
{csr}clusteradm --context its1 accept --clusters {w}
{wait}"#,
        csr = seed_wait_csr(w),
        wait = wait_available(w),
    )
}

/// Writes the join objects for `w` as kubectl files; the bootstrap kubeconfig keeps a
/// `@TOKEN@` placeholder that the script fills with a token it asks for itself.
fn write_join_files(w: &str, hub: &Endpoint, dir: &Path) {
    std::fs::create_dir_all(dir).expect("dir");
    let manifest = JoinManifest::new(
        WecName::from(w),
        &JoinOptions {
            singleton: true,
            force_internal_endpoint_lookup: false,
        },
        OcmRelease::default(),
        hub.clone(),
    );
    let bodies = manifest.bodies(&Sensitive::new("@TOKEN@".into()));
    let (crd, rest) = bodies.split_first().expect("objects");
    std::fs::write(dir.join("crd.json"), crd.1.to_string()).expect("write");
    let items: Vec<&serde_json::Value> = rest
        .iter()
        .filter(|(r, _)| !(r.kind == Kind::Secret && r.name == "bootstrap-hub-kubeconfig"))
        .map(|(_, b)| b)
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(dir.join("objects.json"), list.to_string()).expect("write");
    let mut cluster = serde_json::json!({"server": hub.server});
    if let Some(ca) = &hub.ca_data {
        cluster["certificate-authority-data"] = ca.clone().into();
    }
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "hub", "cluster": cluster}],
        "users": [{"name": "bootstrap", "user": {"token": "@TOKEN@"}}],
        "contexts": [{"name": "bootstrap", "context": {"cluster": "hub", "user": "bootstrap", "namespace": "default"}}],
        "current-context": "bootstrap",
    });
    std::fs::write(dir.join("bootstrap.kubeconfig"), kubeconfig.to_string()).expect("write");
}

struct Row {
    method: String,
    wall: Duration,
    ok: bool,
}

fn main() {
    let Some(_) = on_path("kubectl") else {
        eprintln!("bench: kubectl is not on PATH; the seeds' procedure needs it");
        std::process::exit(1);
    };
    let clusteradm = on_path("clusteradm");
    let methods = if clusteradm.is_some() { 3 } else { 2 };
    let wecs = methods * WECS_PER_METHOD;
    let names: Vec<String> = (1..=wecs).map(|i| format!("cluster{i}")).collect();
    let group = |m: usize| &names[m * WECS_PER_METHOD..(m + 1) * WECS_PER_METHOD];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        let lab = Lab::start(LabOptions {
            wecs,
            dir: None,
            verbose: true,
        })
        .await
        .expect("the lab must start");
        let kc = lab.kubeconfig().to_owned();
        let work = tempfile::tempdir().expect("tempdir");
        let mut rows = Vec::new();

        // fleet: one apply for its three WECs.
        let toml: String = std::iter::once("[its]\ncontext = \"its1\"\n".to_owned())
            .chain(group(0).iter().map(|w| {
                format!(
                    "[wec.{w}]\nlabels = {{ name = \"{w}\" }}\n[wec.{w}.join]\nsingleton = true\n"
                )
            }))
            .collect();
        let file = work.path().join("fleet.toml");
        std::fs::write(&file, toml).expect("write fleet.toml");
        let t0 = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
            .args(["-f"])
            .arg(&file)
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["apply", "--auto-approve", "--wait-timeout", "5m"])
            .env("NO_COLOR", "1")
            .output()
            .expect("run fleet");
        let wall = t0.elapsed();
        if !out.status.success() {
            eprintln!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        rows.push(Row {
            method: "fleet apply (one command, 3 WECs in parallel)".into(),
            wall,
            ok: out.status.success(),
        });

        // The seeds' procedure with kubectl, one WEC after the other.
        let hub = {
            let kcfg = kube::config::Kubeconfig::read_from(&kc).expect("kubeconfig");
            let c = kcfg
                .clusters
                .iter()
                .find(|c| c.name == "its1")
                .and_then(|c| c.cluster.clone())
                .expect("its1");
            Endpoint {
                server: c.server.expect("server"),
                ca_data: c.certificate_authority_data,
            }
        };
        let mut script = String::new();
        for w in group(1) {
            let dir = work.path().join(w);
            write_join_files(w, &hub, &dir);
            script.push_str(&kubectl_procedure(w, &dir));
        }
        let (wall, ok) = bash(&kc, &script, &work.path().join("kubectl.log"));
        if !ok {
            eprintln!(
                "{}",
                std::fs::read_to_string(work.path().join("kubectl.log")).unwrap_or_default()
            );
        }
        rows.push(Row {
            method:
                "seed procedure, kubectl (token, join objects, CSR loop, approve, accept, wait)"
                    .into(),
            wall,
            ok,
        });

        if clusteradm.is_some() {
            let script: String = group(2).iter().map(|w| clusteradm_procedure(w)).collect();
            let (wall, ok) = bash(&kc, &script, &work.path().join("clusteradm.log"));
            if !ok {
                eprintln!(
                    "{}",
                    std::fs::read_to_string(work.path().join("clusteradm.log")).unwrap_or_default()
                );
            }
            rows.push(Row {
                method: "seed procedure, clusteradm get token / join / accept".into(),
                wall,
                ok,
            });
        }
        drop(lab);
        rows
    });

    println!(
        "\nregistering {WECS_PER_METHOD} WECs to Available (real OCM hub controller and agents)\n"
    );
    println!(
        "{:<82} {:>9} {:>12} {:>5}",
        "method", "total", "per WEC", "ok"
    );
    for r in &rows {
        println!(
            "{:<82} {:>7.1} s {:>10.1} s {:>5}",
            r.method,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / WECS_PER_METHOD as f64,
            if r.ok { "yes" } else { "NO" }
        );
    }
    if clusteradm.is_none() {
        println!("\n(clusteradm not on PATH: its row is left out)");
    }
    if rows.iter().any(|r| !r.ok) {
        std::process::exit(1);
    }
}
