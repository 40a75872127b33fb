//! Registration end to end, with the real OCM hub controller and klusterlet agents of the
//! lab: fleet joins, accepts and waits for WECs itself, deregisters them with `--prune`, and
//! keeps the bootstrap token out of everything it prints or writes.
//!
//! These tests use cluster4 and cluster5, which nothing else touches, and run in order.

use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::fleet::{Run, fleet, mc_labels};
use crate::{Ctx, TestFn, TestResult};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        crate::register::one_apply_registers_two_fresh_wecs_and_keeps_the_token_secret,
        crate::register::deregistration_needs_prune_holds_back_many_and_reregistration_works,
        crate::register::a_wec_whose_agent_never_comes_up_times_out_alone_and_foreign_csrs_stay_pending,
    ]
}

const HEADER: &str = "[its]\ncontext = \"its1\"\n";

/// An apply that deregisters what left fleet.toml.
const APPLY_PRUNE: &[&str] = &[
    "apply",
    "--auto-approve",
    "--prune",
    "--wait-timeout",
    "120s",
];

fn wec(name: &str, region: &str) -> String {
    format!(
        "[wec.{name}]\nlabels = {{ name = \"{name}\", region = \"{region}\" }}\nproperties = {{ zone = \"{region}-a\" }}\n[wec.{name}.join]\nsingleton = true\n"
    )
}

fn conditions(mc: &DynamicObject) -> Vec<String> {
    fleet_lab::fixtures::true_conditions(mc)
}

async fn managed_cluster(ctx: &Ctx, name: &str) -> Result<Option<DynamicObject>, kube::Error> {
    let its = ctx
        .lab
        .client("its1")
        .await
        .map_err(|e| kube::Error::Service(e.to_string().into()))?;
    fleet_lab::fixtures::managed_clusters(&its)
        .get_opt(name)
        .await
}

/// The token in the bootstrap Secret fleet wrote on a WEC.
async fn bootstrap_token(ctx: &Ctx, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let wec = ctx.lab.client(name).await?;
    let secret = Api::<Secret>::namespaced(wec, "open-cluster-management-agent")
        .get("bootstrap-hub-kubeconfig")
        .await?;
    let bytes = secret
        .data
        .and_then(|mut d| d.remove("kubeconfig"))
        .ok_or("the bootstrap Secret has no kubeconfig")?
        .0;
    let kc: Value = serde_json::from_slice(&bytes)?;
    let token = kc["users"][0]["user"]["token"]
        .as_str()
        .ok_or("no token in the bootstrap kubeconfig")?;
    ensure!(token.len() > 20, "implausible token");
    Ok(token.to_owned())
}

fn mentions(runs: &[&Run], needle: &str) -> bool {
    runs.iter()
        .any(|r| r.stdout.contains(needle) || r.stderr.contains(needle))
}

/// What `token` looks like in clear and inside base64 at each of the three byte offsets a
/// longer text (the bootstrap kubeconfig) may put it at.
fn disguises(token: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = vec![token[token.len() - 16..].to_owned()];
    for pad in ["", "x", "xy"] {
        let encoded = b64.encode(format!("{pad}{token}"));
        out.push(encoded[4..encoded.len() - 4].to_owned());
    }
    out
}

pub async fn one_apply_registers_two_fresh_wecs_and_keeps_the_token_secret(
    ctx: &Ctx,
) -> TestResult {
    let toml = format!("{HEADER}{}{}", wec("cluster4", "eu"), wec("cluster5", "ap"));
    for name in ["cluster4", "cluster5"] {
        ensure!(
            managed_cluster(ctx, name).await?.is_none(),
            "{name} must start unregistered"
        );
    }
    let plan = fleet(ctx, &toml, &["plan", "--detailed-exitcode"])?;
    ensure!(
        plan.code == 2
            && plan.stdout.contains("registration (absent → Available)")
            && plan
                .stdout
                .contains("bootstrap-hub-kubeconfig = (sensitive)")
            && plan.stdout.contains("2 to register"),
        "the plan shows the registrations:\n{plan}"
    );
    let json = fleet(ctx, &toml, &["plan", "--output", "json"])?;

    // Where each agent will reach the ITS: `hub_api_server`, except with
    // `force_internal_endpoint_lookup`, which takes the server in kube-public/cluster-info.
    let lookup = format!(
        "[its]\ncontext = \"its1\"\nhub_api_server = \"https://its.example.invalid:6443\"\n{}{}",
        wec("cluster4", "eu"),
        wec("cluster5", "ap").replace(
            "singleton = true",
            "singleton = true\nforce_internal_endpoint_lookup = true"
        )
    );
    let servers = fleet(ctx, &lookup, &["plan", "--output", "json"])?;
    let doc: Value = serde_json::from_str(&servers.stdout)?;
    let hub_of = |w: &str| {
        doc["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["action"] == "register" && c["wec"] == w)
            .and_then(|c| c["registration"]["hub_server"].as_str())
            .map(str::to_owned)
    };
    let its_server = doc["its_server"].as_str().unwrap_or_default().to_owned();
    ensure!(
        hub_of("cluster4").as_deref() == Some("https://its.example.invalid:6443")
            && hub_of("cluster5").as_deref() == Some(its_server.as_str()),
        "hub servers: cluster4 {:?}, cluster5 {:?} (cluster-info names {its_server}):\n{servers}",
        hub_of("cluster4"),
        hub_of("cluster5")
    );
    // The registering run logs everything fleet and its libraries log.
    let apply = crate::fleet::fleet_env(
        ctx,
        &toml,
        &["apply", "--auto-approve", "--wait-timeout", "150s"],
        &[("FLEET_LOG", "trace")],
    )?;
    ensure!(apply.code == 0, "apply registers both WECs:\n{apply}");
    ensure!(
        apply.stdout.contains("2 WECs registered."),
        "apply says it registered them:\n{apply}"
    );
    for (name, region) in [("cluster4", "eu"), ("cluster5", "ap")] {
        let mc = managed_cluster(ctx, name)
            .await?
            .ok_or("no ManagedCluster")?;
        let up = conditions(&mc);
        ensure!(
            up.iter().any(|c| c == "ManagedClusterJoined")
                && up.iter().any(|c| c == "ManagedClusterConditionAvailable"),
            "{name} is not Joined and Available: {up:?}"
        );
        let its = ctx.lab.client("its1").await?;
        ensure!(
            mc_labels(&its, name)
                .await?
                .get("region")
                .map(String::as_str)
                == Some(region),
            "{name} not labelled"
        );
        let cm = Api::<ConfigMap>::namespaced(its, "customization-properties")
            .get(name)
            .await?;
        ensure!(
            cm.data.and_then(|d| d.get("zone").cloned()) == Some(format!("{region}-a")),
            "{name} properties missing"
        );
        ensure!(ctx.lab.agent_running(name), "{name}'s agent is not running");
    }
    let again = fleet(ctx, &toml, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "a second plan has nothing to do:\n{again}");

    // The token is in the bootstrap Secret on each WEC, and in nothing fleet printed or
    // logged (the registering apply ran with FLEET_LOG=trace), in clear or base64.
    let json_apply = fleet(ctx, &toml, &["apply", "--auto-approve", "--output", "json"])?;
    for name in ["cluster4", "cluster5"] {
        let token = bootstrap_token(ctx, name).await?;
        for needle in disguises(&token) {
            ensure!(
                !mentions(&[&plan, &json, &apply, &again, &json_apply], &needle),
                "the bootstrap token of {name} appears in fleet's output ({needle})"
            );
        }
    }
    ensure!(
        apply.stderr.lines().count() > 50,
        "FLEET_LOG=trace logged next to nothing: the check above saw no logs"
    );
    Ok(())
}

pub async fn deregistration_needs_prune_holds_back_many_and_reregistration_works(
    ctx: &Ctx,
) -> TestResult {
    let both = format!("{HEADER}{}{}", wec("cluster4", "eu"), wec("cluster5", "ap"));
    let only4 = format!("{HEADER}{}", wec("cluster4", "eu"));
    let none = HEADER.to_owned();

    // cluster5 gets fleet's direct RBAC first: deregistration must take it away too.
    let direct = "[rbac.jobs]\nmode = \"direct\"\n[[rbac.jobs.rules]]\napi_groups = [\"batch\"]\nresources = [\"jobs\"]\nverbs = [\"get\"]\n";
    let with_rbac = format!(
        "{HEADER}{direct}{}{}",
        wec("cluster4", "eu"),
        wec("cluster5", "ap").replace(
            "[wec.cluster5.join]",
            "rbac = [\"jobs\"]\n[wec.cluster5.join]"
        )
    );
    let granted = fleet(ctx, &with_rbac, &["apply", "--auto-approve"])?;
    ensure!(granted.code == 0, "direct RBAC on cluster5:\n{granted}");
    let fleet_rbac = async || -> Result<usize, Box<dyn std::error::Error>> {
        let wec = ctx.lab.client("cluster5").await?;
        let lp = kube::api::ListParams::default().labels("app.kubernetes.io/managed-by=fleet");
        let roles = Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(wec.clone())
            .list(&lp)
            .await?;
        let bindings = Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(wec)
            .list(&lp)
            .await?;
        Ok(roles.items.len() + bindings.items.len())
    };
    ensure!(
        fleet_rbac().await? == 2,
        "fleet's ClusterRole and binding are on cluster5"
    );

    // Without --prune nothing is deregistered, and the plan says why.
    let plan = fleet(ctx, &only4, &["plan"])?;
    ensure!(
        plan.stdout.contains("Orphaned WECs") && plan.stdout.contains("only --prune deregisters"),
        "the plan says why cluster5 stays:\n{plan}"
    );
    let apply = fleet(ctx, &only4, &["apply", "--auto-approve"])?;
    ensure!(apply.code == 0, "apply without prune:\n{apply}");
    ensure!(
        managed_cluster(ctx, "cluster5").await?.is_some(),
        "cluster5 deregistered without --prune"
    );

    // Two WECs to deregister and --max-deregister 1 (the default): both held back.
    let held = fleet(ctx, &none, &["plan", "--prune", "--detailed-exitcode"])?;
    ensure!(
        held.stdout.contains("--max-deregister is 1") && held.stdout.contains("deregistration"),
        "the plan says why the deregistrations are held back:\n{held}"
    );
    let apply = fleet(ctx, &none, &["apply", "--auto-approve", "--prune"])?;
    ensure!(
        managed_cluster(ctx, "cluster4").await?.is_some()
            && managed_cluster(ctx, "cluster5").await?.is_some(),
        "held-back deregistrations ran:\n{apply}"
    );

    // --prune deregisters cluster5 on both sides.
    let plan = fleet(ctx, &only4, &["plan", "--prune"])?;
    ensure!(
        plan.stdout.contains("1 to deregister")
            && plan.stdout.contains("unjoin through context cluster5"),
        "the plan shows the deregistration:\n{plan}"
    );
    let apply = fleet(ctx, &only4, APPLY_PRUNE)?;
    ensure!(apply.code == 0, "apply --prune:\n{apply}");
    ensure!(
        managed_cluster(ctx, "cluster5").await?.is_none(),
        "cluster5's ManagedCluster is still on the ITS:\n{apply}"
    );
    let wec = ctx.lab.client("cluster5").await?;
    let gvk = GroupVersionKind::gvk("operator.open-cluster-management.io", "v1", "Klusterlet");
    let klusterlets: Api<DynamicObject> = Api::all_with(wec.clone(), &ApiResource::from_gvk(&gvk));
    ensure!(
        klusterlets
            .get_opt("klusterlet")
            .await
            .ok()
            .flatten()
            .is_none(),
        "the Klusterlet is still on cluster5"
    );
    ensure!(
        Api::<Namespace>::all(wec)
            .get_opt("open-cluster-management-agent")
            .await?
            .is_none(),
        "the agent namespace is still on cluster5"
    );
    for _ in 0..20 {
        if !ctx.lab.agent_running("cluster5") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ensure!(
        !ctx.lab.agent_running("cluster5"),
        "cluster5's agent still runs"
    );
    let its = ctx.lab.client("its1").await?;
    ensure!(
        Api::<ConfigMap>::namespaced(its, "customization-properties")
            .get_opt("cluster5")
            .await?
            .is_none(),
        "cluster5's properties were not pruned"
    );
    ensure!(
        fleet_rbac().await? == 0,
        "fleet's direct RBAC is still on cluster5"
    );
    let converged = fleet(ctx, &only4, &["plan", "--prune", "--detailed-exitcode"])?;
    ensure!(converged.code == 0, "nothing left to do:\n{converged}");

    // Re-registering it works.
    let apply = fleet(
        ctx,
        &both,
        &["apply", "--auto-approve", "--wait-timeout", "150s"],
    )?;
    ensure!(apply.code == 0, "re-registration:\n{apply}");
    let mc = managed_cluster(ctx, "cluster5")
        .await?
        .ok_or("no ManagedCluster")?;
    ensure!(
        conditions(&mc)
            .iter()
            .any(|c| c == "ManagedClusterConditionAvailable"),
        "cluster5 is not Available again"
    );
    Ok(())
}

pub async fn a_wec_whose_agent_never_comes_up_times_out_alone_and_foreign_csrs_stay_pending(
    ctx: &Ctx,
) -> TestResult {
    // Take cluster5 out, then keep its agent from ever running.
    let only4 = format!("{HEADER}{}", wec("cluster4", "eu"));
    let out = fleet(ctx, &only4, APPLY_PRUNE)?;
    ensure!(
        out.code == 0 && managed_cluster(ctx, "cluster5").await?.is_none(),
        "deregister cluster5:\n{out}"
    );
    ctx.lab.hold_agent("cluster5", true);
    let foreign = ctx.lab.foreign_csr("cluster5").await?;

    let toml = format!(
        "{HEADER}{}{}",
        wec("cluster4", "eu-west"),
        wec("cluster5", "ap")
    );
    let apply = fleet(
        ctx,
        &toml,
        &["apply", "--auto-approve", "--wait-timeout", "20s"],
    )?;
    ctx.lab.hold_agent("cluster5", false);
    ensure!(
        apply.code == 5,
        "a timed-out registration makes apply exit 5:\n{apply}"
    );
    let its = ctx.lab.client("its1").await?;
    ensure!(
        mc_labels(&its, "cluster4")
            .await?
            .get("region")
            .map(String::as_str)
            == Some("eu-west"),
        "the other WEC's work was not done:\n{apply}"
    );
    ensure!(
        apply
            .stdout
            .contains("registration of cluster5 did not finish within 20s")
            && apply.stdout.contains(&foreign)
            && apply.stdout.contains("Klusterlet klusterlet present")
            && apply.stdout.contains("reachable from the WEC"),
        "the timeout says what to check:\n{apply}"
    );
    ensure!(
        apply.stdout.contains("skipped") && apply.stdout.contains("ManagedCluster cluster5"),
        "cluster5's own work is skipped:\n{apply}"
    );
    let csrs: Api<k8s_openapi::api::certificates::v1::CertificateSigningRequest> = Api::all(its);
    let csr = csrs.get(&foreign).await?;
    let decided = csr
        .status
        .and_then(|s| s.conditions)
        .is_some_and(|c| !c.is_empty());
    ensure!(!decided, "the foreign CSR was approved or denied");
    csrs.delete(&foreign, &DeleteParams::default()).await?;

    // With its agent back, the same apply completes.
    let again = fleet(
        ctx,
        &toml,
        &["apply", "--auto-approve", "--wait-timeout", "150s"],
    )?;
    ensure!(
        again.code == 0,
        "registration after the agent came back:\n{again}"
    );
    Ok(())
}
