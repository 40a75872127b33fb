//! `fleet plan`, `apply` and `drift` end to end on the lab, through the real binary.
//!
//! The tests build on each other in order (they share one lab): cluster1 and cluster2 are
//! registered first; cluster3 was registered and unjoined by the lab tests, so its
//! ManagedCluster is one fleet does not manage. The unreachable-WEC test runs last.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role};
use kube::Client;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};

use crate::{Ctx, TestFn, TestResult};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        crate::fleet::labels_are_added_changed_and_removed_leaving_others_alone,
        crate::fleet::properties_configmap_created_changed_and_pruned_of_keys,
        crate::fleet::direct_rbac_grants_the_work_agent_and_is_removed_with_the_expansion,
        crate::fleet::downsync_rbac_selects_exactly_the_listing_wecs,
        crate::fleet::drift_names_the_manager_and_apply_restores,
        crate::fleet::outputs_json_markdown_and_targeting,
        crate::fleet::apply_reports_every_object_as_json,
        crate::fleet::an_unknown_context_is_a_user_error_with_a_hint,
        crate::pipeline::import_round_trips_to_no_changes,
        crate::fleet::an_unreachable_wec_makes_plan_incomplete_and_apply_partial,
    ]
}

/// Output of one `fleet` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `fleet -f <tmp>/fleet.toml ARGS…` against the lab.
pub fn fleet(ctx: &Ctx, toml: &str, args: &[&str]) -> Result<Run, Box<dyn std::error::Error>> {
    fleet_env(ctx, toml, args, &[])
}

/// [`fleet`] with extra environment variables. The directory holding fleet.toml must hold
/// nothing else afterwards: fleet writes no files.
pub fn fleet_env(
    ctx: &Ctx,
    toml: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Run, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("fleet.toml");
    std::fs::write(&file, toml)?;
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .arg("-f")
        .arg(&file)
        .arg("--kubeconfig")
        .arg(ctx.lab.kubeconfig())
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()?;
    let files: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    ensure!(
        files == [std::ffi::OsString::from("fleet.toml")],
        "fleet wrote files: {files:?}"
    );
    Ok(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `fleet apply --auto-approve`, then `fleet plan --detailed-exitcode` must say nothing to do.
fn apply_and_converge(ctx: &Ctx, toml: &str) -> Result<Run, Box<dyn std::error::Error>> {
    let applied = fleet(ctx, toml, &["apply", "--auto-approve"])?;
    ensure!(applied.code == 0, "apply failed:\n{applied}");
    let again = fleet(ctx, toml, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "plan after apply is not empty:\n{again}");
    Ok(applied)
}

const HEADER: &str = "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n";

pub async fn ensure_registered(ctx: &Ctx, names: &[&str]) -> TestResult {
    let its = ctx.lab.client("its1").await?;
    for name in names {
        let mc = fleet_lab::fixtures::managed_clusters(&its)
            .get_opt(name)
            .await?;
        let available = mc.is_some_and(|m| {
            fleet_lab::fixtures::true_conditions(&m)
                .iter()
                .any(|c| c == "ManagedClusterConditionAvailable")
        });
        if !available {
            ctx.lab.register_wec(name).await?;
        }
    }
    Ok(())
}

pub async fn mc_labels(
    its: &Client,
    name: &str,
) -> Result<BTreeMap<String, String>, Box<dyn std::error::Error>> {
    let mc = fleet_lab::fixtures::managed_clusters(its).get(name).await?;
    Ok(mc.metadata.labels.unwrap_or_default())
}

/// A label write by another field manager, as `kubectl label --overwrite` does it.
pub async fn label_as(its: &Client, name: &str, manager: &str, labels: Value) -> TestResult {
    let pp = PatchParams {
        field_manager: Some(manager.to_owned()),
        ..Default::default()
    };
    fleet_lab::fixtures::managed_clusters(its)
        .patch(
            name,
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await?;
    Ok(())
}

pub async fn labels_are_added_changed_and_removed_leaving_others_alone(ctx: &Ctx) -> TestResult {
    ensure_registered(ctx, &["cluster1", "cluster2"]).await?;
    let its = ctx.lab.client("its1").await?;
    label_as(
        &its,
        "cluster1",
        "registration-controller",
        json!({"cluster.open-cluster-management.io/clusterset": "default"}),
    )
    .await?;
    label_as(
        &its,
        "cluster1",
        "kubectl-label",
        json!({"team": "platform"}),
    )
    .await?;

    let v1 = format!(
        "{HEADER}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"us-east\", tier = \"gold\" }}\n[wec.cluster2]\nlabels = {{ name = \"cluster2\" }}\n"
    );
    let plan = fleet(ctx, &v1, &["plan", "--detailed-exitcode"])?;
    ensure!(plan.code == 2, "expected exit 2 with changes:\n{plan}");
    ensure!(
        plan.stdout.contains("region") && plan.stdout.contains("us-east"),
        "plan does not show the label:\n{plan}"
    );
    apply_and_converge(ctx, &v1)?;
    let l = mc_labels(&its, "cluster1").await?;
    ensure!(
        l.get("region").map(String::as_str) == Some("us-east")
            && l.get("tier").map(String::as_str) == Some("gold"),
        "labels after apply: {l:?}"
    );

    let v2 = format!(
        "{HEADER}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"us-west\", env = \"prod\" }}\n[wec.cluster2]\nlabels = {{ name = \"cluster2\" }}\n"
    );
    let plan = fleet(ctx, &v2, &["plan"])?;
    ensure!(
        plan.stdout.contains("us-west") && plan.stdout.contains("tier"),
        "plan v2 misses a change:\n{plan}"
    );
    ensure!(
        !plan.stdout.contains("team") && !plan.stdout.contains("clusterset"),
        "plan touches labels fleet does not own:\n{plan}"
    );
    apply_and_converge(ctx, &v2)?;
    let l = mc_labels(&its, "cluster1").await?;
    ensure!(
        l.get("region").map(String::as_str) == Some("us-west"),
        "region not changed: {l:?}"
    );
    ensure!(
        l.get("env").map(String::as_str) == Some("prod"),
        "env not added: {l:?}"
    );
    ensure!(!l.contains_key("tier"), "tier not removed: {l:?}");
    ensure!(
        l.get("team").map(String::as_str) == Some("platform"),
        "someone else's label was touched: {l:?}"
    );
    ensure!(
        l.get("cluster.open-cluster-management.io/clusterset")
            .map(String::as_str)
            == Some("default"),
        "OCM's label was touched: {l:?}"
    );
    Ok(())
}

pub async fn properties_configmap_created_changed_and_pruned_of_keys(ctx: &Ctx) -> TestResult {
    let its = ctx.lab.client("its1").await?;
    // KubeStellar's transport controller creates the namespace when it starts: take it away
    // to test that fleet creates it.
    let namespaces = Api::<Namespace>::all(its.clone());
    if namespaces
        .get_opt("customization-properties")
        .await?
        .is_some()
    {
        namespaces
            .delete("customization-properties", &Default::default())
            .await?;
    }
    let t0 = std::time::Instant::now();
    while namespaces
        .get_opt("customization-properties")
        .await?
        .is_some()
    {
        ensure!(
            t0.elapsed() < Duration::from_secs(60),
            "namespace customization-properties still there 60 s after its deletion"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let v1 = format!(
        "{HEADER}[wec.cluster1]\nproperties = {{ clusterURL = \"https://my.clusters/1001-abcd\", datacenter = \"us-east-1a\", maxPods = \"100\" }}\n"
    );
    apply_and_converge(ctx, &v1)?;
    let cms: Api<ConfigMap> = Api::namespaced(its.clone(), "customization-properties");
    let data = cms.get("cluster1").await?.data.unwrap_or_default();
    ensure!(
        data.get("clusterURL").map(String::as_str) == Some("https://my.clusters/1001-abcd")
            && data.len() == 3,
        "data: {data:?}"
    );
    ensure!(
        Api::<Namespace>::all(its.clone())
            .get_opt("customization-properties")
            .await?
            .is_some(),
        "namespace not created"
    );

    let v2 = format!(
        "{HEADER}[wec.cluster1]\nproperties = {{ clusterURL = \"https://my.clusters/1001-abcd\", maxPods = \"250\" }}\n"
    );
    let plan = fleet(ctx, &v2, &["plan"])?;
    ensure!(
        plan.stdout.contains("maxPods")
            && plan.stdout.contains("250")
            && plan.stdout.contains("datacenter"),
        "plan:\n{plan}"
    );
    apply_and_converge(ctx, &v2)?;
    let data = cms.get("cluster1").await?.data.unwrap_or_default();
    ensure!(
        data.get("maxPods").map(String::as_str) == Some("250"),
        "maxPods: {data:?}"
    );
    ensure!(
        !data.contains_key("datacenter"),
        "datacenter not removed: {data:?}"
    );
    Ok(())
}

/// Whether a SubjectAccessReview on `wec` lets KubeStellar's work agent
/// (`open-cluster-management-agent/klusterlet-work-sa`) `verb` `resource` (in `namespace`,
/// else cluster-wide).
pub async fn work_sa_may(
    wec: &Client,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let sar = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(
                "system:serviceaccount:open-cluster-management-agent:klusterlet-work-sa".into(),
            ),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:open-cluster-management-agent".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                namespace: namespace.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = Api::<SubjectAccessReview>::all(wec.clone())
        .create(&PostParams::default(), &sar)
        .await?;
    Ok(r.status.is_some_and(|s| s.allowed))
}

const DIRECT: &str = r#"
[rbac.appwrappers]
mode = "direct"
[[rbac.appwrappers.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]

[rbac.team-jobs]
mode = "direct"
namespace = "team-a"
[[rbac.team-jobs.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["get", "create"]
"#;

pub async fn direct_rbac_grants_the_work_agent_and_is_removed_with_the_expansion(
    ctx: &Ctx,
) -> TestResult {
    let wec = ctx.lab.client("cluster2").await?;
    ensure!(
        !work_sa_may(
            &wec,
            "create",
            "workload.codeflare.dev",
            "appwrappers",
            None
        )
        .await?,
        "granted before apply"
    );
    let v1 = format!(
        "{HEADER}{DIRECT}[wec.cluster1]\n[wec.cluster2]\nrbac = [\"appwrappers\", \"team-jobs\"]\n"
    );
    apply_and_converge(ctx, &v1)?;
    ensure!(
        work_sa_may(
            &wec,
            "create",
            "workload.codeflare.dev",
            "appwrappers",
            None
        )
        .await?,
        "cluster-wide appwrappers not granted"
    );
    ensure!(
        work_sa_may(
            &wec,
            "delete",
            "workload.codeflare.dev",
            "appwrappers",
            Some("x")
        )
        .await?,
        "appwrappers delete not granted"
    );
    ensure!(
        work_sa_may(&wec, "create", "batch", "jobs", Some("team-a")).await?,
        "jobs in team-a not granted"
    );
    ensure!(
        !work_sa_may(&wec, "create", "batch", "jobs", Some("team-b")).await?,
        "jobs granted outside team-a"
    );
    ensure!(
        !work_sa_may(&wec, "delete", "batch", "jobs", Some("team-a")).await?,
        "a verb not listed was granted"
    );
    let c1 = ctx.lab.client("cluster1").await?;
    ensure!(
        !work_sa_may(&c1, "create", "workload.codeflare.dev", "appwrappers", None).await?,
        "cluster1 does not list the expansion"
    );
    let role = Api::<Role>::namespaced(wec.clone(), "team-a")
        .get("fleet:team-jobs")
        .await?;
    ensure!(
        role.metadata
            .labels
            .unwrap_or_default()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str)
            == Some("fleet"),
        "Role lacks managed-by"
    );

    let v2 = format!("{HEADER}{DIRECT}[wec.cluster1]\n[wec.cluster2]\nrbac = [\"team-jobs\"]\n");
    apply_and_converge(ctx, &v2)?;
    ensure!(
        Api::<ClusterRole>::all(wec.clone())
            .get_opt("fleet:appwrappers")
            .await?
            .is_none(),
        "ClusterRole not removed"
    );
    ensure!(
        Api::<ClusterRoleBinding>::all(wec.clone())
            .get_opt("fleet:appwrappers")
            .await?
            .is_none(),
        "ClusterRoleBinding not removed"
    );
    ensure!(
        !work_sa_may(
            &wec,
            "create",
            "workload.codeflare.dev",
            "appwrappers",
            None
        )
        .await?,
        "still granted after removal"
    );
    ensure!(
        work_sa_may(&wec, "create", "batch", "jobs", Some("team-a")).await?,
        "the other expansion was lost"
    );
    Ok(())
}

const DOWNSYNC: &str = r#"
[rbac.aw]
mode = "downsync"
[[rbac.aw.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
"#;

pub async fn downsync_rbac_selects_exactly_the_listing_wecs(ctx: &Ctx) -> TestResult {
    let v1 = format!("{HEADER}{DOWNSYNC}[wec.cluster1]\nrbac = [\"aw\"]\n[wec.cluster2]\n");
    apply_and_converge(ctx, &v1)?;
    let wds = ctx.lab.client("wds1").await?;
    ensure!(
        Api::<ClusterRole>::all(wds.clone())
            .get_opt("fleet:aw")
            .await?
            .is_some(),
        "no ClusterRole in the WDS"
    );
    let crb = Api::<ClusterRoleBinding>::all(wds.clone())
        .get("fleet:aw")
        .await?;
    let subject = crb
        .subjects
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or("no subject")?;
    ensure!(
        subject.name == "klusterlet-work-sa"
            && subject.namespace.as_deref() == Some("open-cluster-management-agent"),
        "subject {subject:?}"
    );
    // Accepted by the real KubeStellar CRD (its schema and the extra validations).
    let gvk = GroupVersionKind::gvk("control.kubestellar.io", "v1alpha1", "BindingPolicy");
    let bps: Api<DynamicObject> = Api::all_with(wds.clone(), &ApiResource::from_gvk(&gvk));
    let bp = bps.get("fleet-rbac-aw").await?;
    let selector = bp
        .data
        .pointer("/spec/clusterSelectors/0/matchLabels")
        .cloned()
        .ok_or("no clusterSelectors")?;
    let sel: Vec<String> = selector
        .as_object()
        .ok_or("matchLabels")?
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    // What KubeStellar does: list ManagedClusters on the ITS by that selector.
    let its = ctx.lab.client("its1").await?;
    let selected = fleet_lab::fixtures::managed_clusters(&its)
        .list(&ListParams::default().labels(&sel.join(",")))
        .await?;
    let names: Vec<String> = selected
        .items
        .iter()
        .filter_map(|m| m.metadata.name.clone())
        .collect();
    ensure!(names == ["cluster1"], "BindingPolicy selects {names:?}");

    // Listing it on cluster2 too widens the selection; dropping it everywhere removes it all.
    let v2 = format!(
        "{HEADER}{DOWNSYNC}[wec.cluster1]\nrbac = [\"aw\"]\n[wec.cluster2]\nrbac = [\"aw\"]\n"
    );
    apply_and_converge(ctx, &v2)?;
    let selected = fleet_lab::fixtures::managed_clusters(&its)
        .list(&ListParams::default().labels(&sel.join(",")))
        .await?;
    ensure!(
        selected.items.len() == 2,
        "after listing on cluster2: {} selected",
        selected.items.len()
    );
    let v3 = format!("{HEADER}{DOWNSYNC}[wec.cluster1]\n[wec.cluster2]\n");
    apply_and_converge(ctx, &v3)?;
    ensure!(
        bps.get_opt("fleet-rbac-aw").await?.is_none(),
        "BindingPolicy not removed"
    );
    ensure!(
        Api::<ClusterRole>::all(wds)
            .get_opt("fleet:aw")
            .await?
            .is_none(),
        "WDS ClusterRole not removed"
    );
    let left = fleet_lab::fixtures::managed_clusters(&its)
        .list(&ListParams::default().labels(&sel.join(",")))
        .await?;
    ensure!(
        left.items.is_empty(),
        "selector label left on {} clusters",
        left.items.len()
    );
    Ok(())
}

pub async fn drift_names_the_manager_and_apply_restores(ctx: &Ctx) -> TestResult {
    let toml = format!(
        "{HEADER}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"us-west\" }}\n[wec.cluster2]\nlabels = {{ name = \"cluster2\" }}\n"
    );
    apply_and_converge(ctx, &toml)?;
    // Right after apply there is no drift; ManagedClusters other tests registered outside
    // fleet.toml are reported as unmanaged, and only they make drift exit 2.
    let clean = fleet(ctx, &toml, &["drift", "--output", "json"])?;
    let report: Value =
        serde_json::from_str(&clean.stdout).map_err(|e| format!("drift json: {e}\n{clean}"))?;
    let unmanaged = report["unmanaged_wecs"]
        .as_array()
        .ok_or_else(|| format!("no unmanaged_wecs:\n{clean}"))?;
    ensure!(
        report["changes"] == json!([]),
        "drift right after apply:\n{clean}"
    );
    let expected = if unmanaged.is_empty() { 0 } else { 2 };
    ensure!(
        clean.code == expected,
        "drift exit {} with unmanaged WECs {unmanaged:?}, expected {expected}:\n{clean}",
        clean.code
    );
    let its = ctx.lab.client("its1").await?;
    label_as(
        &its,
        "cluster1",
        "kubectl-label",
        json!({"region": "eu-central"}),
    )
    .await?;
    let drift = fleet(ctx, &toml, &["drift"])?;
    ensure!(drift.code == 2, "drift should exit 2:\n{drift}");
    ensure!(
        drift.stdout.contains("kubectl-label") && drift.stdout.contains("eu-central"),
        "drift does not say who/what:\n{drift}"
    );
    let json_run = fleet(ctx, &toml, &["drift", "--output", "json"])?;
    let v: Value = serde_json::from_str(&json_run.stdout)
        .map_err(|e| format!("drift json: {e}\n{json_run}"))?;
    ensure!(
        v.to_string().contains("kubectl-label"),
        "json lacks the manager: {v}"
    );
    apply_and_converge(ctx, &toml)?;
    ensure!(
        mc_labels(&its, "cluster1")
            .await?
            .get("region")
            .map(String::as_str)
            == Some("us-west"),
        "apply did not restore the label"
    );
    let after = fleet(ctx, &toml, &["drift"])?;
    ensure!(
        !after.stdout.contains("kubectl-label"),
        "drift still reported after apply:\n{after}"
    );
    Ok(())
}

pub async fn outputs_json_markdown_and_targeting(ctx: &Ctx) -> TestResult {
    let toml = format!(
        "{HEADER}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"ap-south\" }}\n[wec.cluster2]\nlabels = {{ name = \"cluster2\", region = \"ap-east\" }}\n"
    );
    let j = fleet(ctx, &toml, &["plan", "--output", "json"])?;
    let v: Value = serde_json::from_str(&j.stdout).map_err(|e| format!("plan json: {e}\n{j}"))?;
    ensure!(
        v["format_version"] == "1.3",
        "format_version: {}",
        v["format_version"]
    );
    ensure!(
        v["its_uid"].as_str().is_some_and(|u| !u.is_empty()),
        "plan not bound to the ITS identity: {}",
        v["its_uid"]
    );
    ensure!(
        v["its_server"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://127.0.0.1:")),
        "its_server: {}",
        v["its_server"]
    );
    ensure!(
        v.to_string().contains("ap-south") && v.to_string().contains("ap-east"),
        "json lacks changes: {v}"
    );
    let graph = fleet(ctx, &toml, &["graph"])?;
    ensure!(
        graph.code == 0 && graph.stdout.starts_with("digraph") && graph.stdout.contains("cluster2"),
        "graph:\n{graph}"
    );
    let md = fleet(ctx, &toml, &["plan", "--output", "markdown"])?;
    ensure!(
        md.stdout.contains("<details>") && md.stdout.contains("cluster1"),
        "markdown:\n{md}"
    );
    let t = fleet(
        ctx,
        &toml,
        &["plan", "--target", "wec/cluster2", "--detailed-exitcode"],
    )?;
    ensure!(
        t.code == 2 && t.stdout.contains("ap-east") && !t.stdout.contains("ap-south"),
        "targeted plan:\n{t}"
    );
    let bad = fleet(ctx, &toml, &["plan", "--target", "wec/cluster9"])?;
    ensure!(
        bad.code == 1 && bad.stderr.contains("cluster9"),
        "unknown target accepted:\n{bad}"
    );
    let applied = fleet(
        ctx,
        &toml,
        &["apply", "--auto-approve", "--target", "wec/cluster2"],
    )?;
    ensure!(applied.code == 0, "targeted apply:\n{applied}");
    let its = ctx.lab.client("its1").await?;
    ensure!(
        mc_labels(&its, "cluster2")
            .await?
            .get("region")
            .map(String::as_str)
            == Some("ap-east"),
        "cluster2 not applied"
    );
    ensure!(
        mc_labels(&its, "cluster1")
            .await?
            .get("region")
            .map(String::as_str)
            != Some("ap-south"),
        "cluster1 applied despite --target"
    );
    Ok(())
}

pub async fn apply_reports_every_object_as_json(ctx: &Ctx) -> TestResult {
    ensure_registered(ctx, &["cluster1"]).await?;
    let toml = format!(
        "{HEADER}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"af-south\" }}\nproperties = {{ zone = \"af-1\" }}\n"
    );
    let refused = fleet(ctx, &toml, &["apply", "--output", "json"])?;
    ensure!(
        refused.code == 1 && refused.stderr.contains("--auto-approve"),
        "apply --output json without --auto-approve must be refused:\n{refused}"
    );
    let run = fleet(
        ctx,
        &toml,
        &["apply", "--auto-approve", "--output", "json", "-v"],
    )?;
    ensure!(run.code == 0, "apply:\n{run}");
    let v: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("apply json: {e}\n{run}"))?;
    ensure!(
        v["format_version"] == "1.1" && v["report"] == "apply" && v["complete"] == true,
        "apply report header:\n{v:#}"
    );
    let results = v["results"].as_array().ok_or("no results")?;
    ensure!(
        !results.is_empty() && results.iter().all(|r| r["outcome"] == "done"),
        "every change is done:\n{v:#}"
    );
    let mc = results
        .iter()
        .find(|r| r["object"]["kind"] == "ManagedCluster")
        .ok_or_else(|| format!("no ManagedCluster result:\n{v:#}"))?;
    ensure!(
        mc["action"] == "update" && mc["wec"] == "cluster1" && mc["object"]["location"] == "its",
        "ManagedCluster result:\n{mc:#}"
    );
    let applied = &v["applied"];
    let written = applied["add"].as_u64().unwrap_or(0) + applied["change"].as_u64().unwrap_or(0);
    ensure!(
        written == results.len() as u64 && v["failed"] == 0 && v["skipped"] == 0,
        "counts do not match the results:\n{v:#}"
    );
    ensure!(
        run.stderr
            .contains("✓ its: ManagedCluster cluster1 updated"),
        "progress belongs on stderr:\n{run}"
    );
    let again = fleet(ctx, &toml, &["apply", "--auto-approve", "--output", "json"])?;
    let v: Value = serde_json::from_str(&again.stdout)?;
    ensure!(
        again.code == 0 && v["results"] == json!([]) && v["complete"] == true,
        "a converged apply reports nothing to do:\n{again}"
    );
    Ok(())
}

pub async fn an_unknown_context_is_a_user_error_with_a_hint(ctx: &Ctx) -> TestResult {
    let its = "[its]\ncontext = \"its2\"\n[wec.cluster1]\nlabels = { a = \"b\" }\n";
    for args in [&["plan"][..], &["drift"], &["apply", "--auto-approve"]] {
        let run = fleet(ctx, its, args)?;
        ensure!(
            run.code == 1
                && run.stderr.contains("`its2` is not in")
                && run.stderr.contains("did you mean `its1`?"),
            "{args:?} with an unknown ITS context must exit 1 with a hint:\n{run}"
        );
    }
    let wec = format!(
        "{HEADER}{DIRECT}[wec.cluster1]\ncontext = \"clustr1\"\nrbac = [\"appwrappers\"]\n"
    );
    let run = fleet(ctx, &wec, &["plan"])?;
    ensure!(
        run.code == 1 && run.stderr.contains("did you mean `cluster1`?"),
        "an unknown WEC context must exit 1 with a hint:\n{run}"
    );
    let far = "[its]\ncontext = \"production-hub\"\n";
    let run = fleet(ctx, far, &["plan"])?;
    ensure!(
        run.code == 1 && run.stderr.contains("its1") && run.stderr.contains("cluster1"),
        "without a near match the contexts are listed:\n{run}"
    );
    Ok(())
}

pub async fn an_unreachable_wec_makes_plan_incomplete_and_apply_partial(ctx: &Ctx) -> TestResult {
    let toml = format!(
        "{HEADER}{DIRECT}[wec.cluster1]\nlabels = {{ name = \"cluster1\", region = \"sa-east\" }}\n[wec.cluster2]\nrbac = [\"appwrappers\"]\n"
    );
    ctx.lab.stop_apiserver("cluster2");
    let plan = fleet(ctx, &toml, &["plan", "--detailed-exitcode"])?;
    ensure!(
        plan.code == 6,
        "plan with an unreachable WEC should exit 6:\n{plan}"
    );
    ensure!(
        plan.stdout.contains("wec/cluster2")
            && plan.stdout.contains("connection refused")
            && plan.stdout.contains("is the API server up"),
        "plan does not name the unreachable WEC and what to check:\n{plan}"
    );
    let apply = fleet(ctx, &toml, &["apply", "--auto-approve"])?;
    ensure!(
        apply.code == 5,
        "apply with an unreachable WEC should exit 5:\n{apply}"
    );
    let json_apply = fleet(ctx, &toml, &["apply", "--auto-approve", "--output", "json"])?;
    let v: Value = serde_json::from_str(&json_apply.stdout)
        .map_err(|e| format!("apply json: {e}\n{json_apply}"))?;
    ensure!(
        json_apply.code == 5
            && v["complete"] == false
            && v["unreadable"][0]["location"] == "wec/cluster2"
            && v["unreadable"][0]["help"].is_string(),
        "the JSON apply report names what could not be read:\n{json_apply}"
    );
    let its = ctx.lab.client("its1").await?;
    ensure!(
        mc_labels(&its, "cluster1")
            .await?
            .get("region")
            .map(String::as_str)
            == Some("sa-east"),
        "the reachable part was not applied:\n{apply}"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
