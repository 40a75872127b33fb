//! The lab is real: versions, CRDs, controllers and OCM registration.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, GroupVersionKind, PostParams};
use kube::discovery;

use crate::{Ctx, TestResult};

pub async fn apiservers_report_v1_35(ctx: &Ctx) -> TestResult {
    for name in ctx.lab.planes().keys() {
        let v = ctx.lab.client(name).await?.apiserver_version().await?;
        ensure!(
            v.git_version.starts_with("v1.35."),
            "{name} reports {}",
            v.git_version
        );
        ensure!(
            v.major == "1" && v.minor == "35",
            "{name} reports {}.{}",
            v.major,
            v.minor
        );
    }
    Ok(())
}

pub async fn its_serves_managedcluster_and_wds_serves_bindingpolicy(ctx: &Ctx) -> TestResult {
    let its = ctx.lab.client("its1").await?;
    let gvk = GroupVersionKind::gvk("cluster.open-cluster-management.io", "v1", "ManagedCluster");
    let (ar, caps) = discovery::pinned_kind(&its, &gvk).await?;
    ensure!(ar.plural == "managedclusters", "plural {}", ar.plural);
    ensure!(
        caps.scope == discovery::Scope::Cluster,
        "ManagedCluster scope {:?}",
        caps.scope
    );
    let wds = ctx.lab.client("wds1").await?;
    let gvk = GroupVersionKind::gvk("control.kubestellar.io", "v1alpha1", "BindingPolicy");
    let (ar, _) = discovery::pinned_kind(&wds, &gvk).await?;
    ensure!(ar.plural == "bindingpolicies", "plural {}", ar.plural);
    // The WDS is not an ITS: no ManagedCluster there.
    let gvk = GroupVersionKind::gvk("cluster.open-cluster-management.io", "v1", "ManagedCluster");
    ensure!(
        discovery::pinned_kind(&wds, &gvk).await.is_err(),
        "the WDS serves ManagedCluster"
    );
    Ok(())
}

pub async fn namespace_deletion_completes_on_a_wec(ctx: &Ctx) -> TestResult {
    let wec = ctx.lab.client("cluster3").await?;
    let api: Api<Namespace> = Api::all(wec);
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "e2e-ns-delete"}}))?;
    api.create(&PostParams::default(), &ns).await?;
    api.delete("e2e-ns-delete", &DeleteParams::default())
        .await?;
    let t0 = Instant::now();
    while api.get_opt("e2e-ns-delete").await?.is_some() {
        ensure!(
            t0.elapsed() < Duration::from_secs(60),
            "namespace still there after 60 s (no namespace controller?)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// A bootstrap Secret written by hand (as `clusteradm join` would) makes the lab start the
/// real OCM agent: its CSR appears on the ITS; approved and accepted, the ManagedCluster
/// becomes Joined and Available. Deleting the agent namespace (unjoin) stops the agent process.
pub async fn wec_registers_to_available_and_unjoin_stops_agent(ctx: &Ctx) -> TestResult {
    let lab = &ctx.lab;
    lab.write_bootstrap_secret("cluster3").await?;
    let approved = lab.accept("cluster3", Duration::from_secs(90)).await?;
    ensure!(approved >= 1, "no CSR approved");
    lab.wait_managed_cluster(
        "cluster3",
        &[
            "HubAcceptedManagedCluster",
            "ManagedClusterJoined",
            "ManagedClusterConditionAvailable",
        ],
        Duration::from_secs(120),
    )
    .await?;
    // The agent wrote its hub credentials on the WEC: proof it got a signed certificate.
    let wec = lab.client("cluster3").await?;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(wec.clone(), "open-cluster-management-agent");
    ensure!(
        lab.agent_running("cluster3"),
        "no OCM agent process runs for cluster3"
    );
    let hub = secrets.get("hub-kubeconfig-secret").await?;
    let data = hub.data.unwrap_or_default();
    ensure!(
        data.contains_key("tls.crt") && data.contains_key("kubeconfig"),
        "hub-kubeconfig-secret lacks tls.crt/kubeconfig"
    );

    Api::<Namespace>::all(wec.clone())
        .delete("open-cluster-management-agent", &DeleteParams::default())
        .await?;
    let t0 = Instant::now();
    while Api::<Namespace>::all(wec.clone())
        .get_opt("open-cluster-management-agent")
        .await?
        .is_some()
    {
        ensure!(
            t0.elapsed() < Duration::from_secs(60),
            "agent namespace not deleted"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let t0 = Instant::now();
    while lab.agent_running("cluster3") {
        ensure!(
            t0.elapsed() < Duration::from_secs(15),
            "the OCM agent of cluster3 still runs after unjoin"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// The OCM manifests fleet ships as data (`src/desired/ocm/`) are exactly what
/// `lab ocm-manifests` makes from the `open-cluster-management.io/ocm` module: they cannot
/// drift from it silently.
pub async fn ocm_manifests_match_the_modules(_ctx: &Ctx) -> TestResult {
    let bins = fleet_lab::Bins::ensure()?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/desired/ocm");
    for (name, expected) in bins.ocm_manifests()? {
        let shipped = std::fs::read_to_string(dir.join(name))?;
        ensure!(
            shipped == expected,
            "src/desired/ocm/{name} differs from {}: run `cargo run -p fleet-lab --bin lab -- ocm-manifests src/desired/ocm`",
            bins.ocm_dir.display()
        );
    }
    Ok(())
}
