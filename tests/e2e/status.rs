//! `fleet status` on the lab: a healthy WEC, a drifted one, one whose agent stopped (its
//! lease ages, Available goes Unknown) and the unmanaged ManagedClusters, in every output,
//! with the exit codes a monitoring probe relies on.
//!
//! Runs after the pipeline tests, on cluster4 and cluster5 (registered by fleet).

use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::fleet::Run;
use crate::{Ctx, TestFn, TestResult};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        crate::status::status_tells_healthy_drifted_silent_and_unmanaged_wecs_apart,
        crate::status::status_watch_refreshes_until_interrupted_and_exits_0,
    ]
}

const TOML: &str = "[its]\ncontext = \"its1\"\n[wec.cluster4]\nlabels = { tier = \"gold\" }\nproperties = { zone = \"a\" }\n[wec.cluster4.join]\nsingleton = true\n[wec.cluster5]\nlabels = { tier = \"gold\" }\n[wec.cluster5.join]\nsingleton = true\n";

fn status(ctx: &Ctx, args: &[&str]) -> Result<Run, Box<dyn std::error::Error>> {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    crate::fleet::fleet(ctx, TOML, &all)
}

fn row<'a>(out: &'a str, wec: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{wec} ")))
        .unwrap_or("")
}

async fn patch_mc(ctx: &Ctx, name: &str, patch: Value) -> TestResult {
    let its = ctx.lab.client("its1").await?;
    fleet_lab::fixtures::managed_clusters(&its)
        .patch(
            name,
            &PatchParams {
                field_manager: Some("e2e".into()),
                ..Default::default()
            },
            &Patch::Merge(patch),
        )
        .await?;
    Ok(())
}

async fn available(ctx: &Ctx, name: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let its = ctx.lab.client("its1").await?;
    let mc = fleet_lab::fixtures::managed_clusters(&its)
        .get(name)
        .await?;
    let v = serde_json::to_value(mc)?;
    Ok(v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["type"] == "ManagedClusterConditionAvailable")
        })
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned))
}

pub async fn status_tells_healthy_drifted_silent_and_unmanaged_wecs_apart(ctx: &Ctx) -> TestResult {
    let apply = crate::fleet::fleet(
        ctx,
        TOML,
        &["apply", "--auto-approve", "--wait-timeout", "150s"],
    )?;
    ensure!(apply.code == 0, "setup:\n{apply}");

    // A ManagedCluster fleet.toml does not declare (no agent behind it).
    let its = ctx.lab.client("its1").await?;
    let mcs = fleet_lab::fixtures::managed_clusters(&its);
    let stray: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": "stray-1", "labels": {"tier": "lab"}}, "spec": {"hubAcceptsClient": false}
    }))?;
    if mcs.get_opt("stray-1").await?.is_none() {
        mcs.create(&kube::api::PostParams::default(), &stray)
            .await?;
    }

    let healthy = status(ctx, &["--exit-code"])?;
    ensure!(healthy.code == 0, "all healthy exits 0:\n{healthy}");
    let c4 = row(&healthy.stdout, "cluster4");
    ensure!(
        c4.contains("Available")
            && c4.contains("True")
            && c4.contains("in sync")
            && c4.ends_with("healthy"),
        "cluster4 healthy:\n{healthy}"
    );
    ensure!(
        row(&healthy.stdout, "stray-1").contains("unmanaged")
            && row(&healthy.stdout, "stray-1").contains("not in fleet.toml"),
        "stray-1 is unmanaged:\n{healthy}"
    );
    ensure!(
        healthy.stdout.contains("2 WECs: 2 healthy, 0 not"),
        "summary:\n{healthy}"
    );

    // Drift on cluster4; cluster5's agent stops, with a short lease so the hub notices soon.
    let its = ctx.lab.client("its1").await?;
    crate::fleet::label_as(&its, "cluster4", "kubectl-label", json!({"tier": "bronze"})).await?;
    // The agent stops first: with a 2 s lease, the hub marks a lease renewed more than 10 s
    // ago Unknown at once, and an agent still running would renew it right after (Available
    // True again, the loop below already past).
    ctx.lab.hold_agent("cluster5", true);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ctx.lab.agent_running("cluster5") {
        if Instant::now() > deadline {
            ctx.lab.hold_agent("cluster5", false);
            return Err("cluster5's agent still runs 30 s after it was held".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    patch_mc(
        ctx,
        "cluster5",
        json!({"spec": {"leaseDurationSeconds": 2}}),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    while available(ctx, "cluster5").await?.as_deref() == Some("True") {
        if Instant::now() > deadline {
            ctx.lab.hold_agent("cluster5", false);
            return Err("the hub never noticed cluster5's agent stopped".into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let sick = status(ctx, &["--exit-code", "--wide"]);
    let json = status(ctx, &["--output", "json"]);
    let md = status(
        ctx,
        &["--output", "markdown", "-l", "tier in (gold,bronze)"],
    );
    let only4 = status(ctx, &["--target", "wec/cluster4"]);
    ctx.lab.hold_agent("cluster5", false);
    patch_mc(
        ctx,
        "cluster5",
        json!({"spec": {"leaseDurationSeconds": 60}}),
    )
    .await?;
    let (sick, json, md, only4) = (sick?, json?, md?, only4?);

    ensure!(
        sick.code == 2,
        "an unhealthy fleet exits 2 with --exit-code:\n{sick}"
    );
    let c4 = row(&sick.stdout, "cluster4");
    ensure!(
        c4.contains("1 drifted") && c4.contains("labels drifted (by kubectl-label)"),
        "cluster4 drifted:\n{sick}"
    );
    let c5 = row(&sick.stdout, "cluster5");
    ensure!(
        c5.contains("ManagedClusterConditionAvailable is Unknown") && c5.contains("Unknown"),
        "cluster5's availability:\n{sick}"
    );
    ensure!(
        sick.stdout.contains("CONTEXT") && sick.stdout.contains("KUBERNETES"),
        "--wide adds columns:\n{sick}"
    );

    let v: Value = serde_json::from_str(&json.stdout).map_err(|e| format!("{e}\n{json}"))?;
    let wec = |n: &str| {
        v["wecs"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["name"] == n))
            .cloned()
            .unwrap_or_default()
    };
    ensure!(
        v["format_version"] == "1.1"
            && v["report"] == "status"
            && v["lock"]["state"] == "free"
            && v["summary"]["wecs"] == 2
            && v["summary"]["unhealthy"] == 2
            && wec("cluster4")["labels"]["state"] == "drifted"
            && wec("cluster4")["labels"]["manager"] == "kubectl-label"
            && wec("cluster4")["properties"]["state"] == "in-sync"
            && wec("cluster5")["available"]["status"] == "Unknown"
            && wec("cluster5")["agent_lease"]["grace_seconds"] == 10
            && wec("cluster5")["agent_lease"]["age_seconds"]
                .as_i64()
                .is_some_and(|a| a >= 2)
            && wec("stray-1")["managed"] == false,
        "status JSON:\n{json}"
    );
    ensure!(
        json.code == 0,
        "without --exit-code, status exits 0:\n{json}"
    );

    ensure!(
        md.stdout.contains("| WEC | REGISTRATION |")
            && md.stdout.contains("| cluster4 |")
            && md.stdout.contains("| cluster5 |")
            && !md.stdout.contains("| stray-1 |"),
        "markdown, with stray-1 filtered out by the selector:\n{md}"
    );
    ensure!(
        row(&only4.stdout, "cluster4").contains("drifted")
            && row(&only4.stdout, "cluster5").is_empty(),
        "--target:\n{only4}"
    );

    // Back to healthy: fleet restores the label; the agent comes back.
    let restore = crate::fleet::fleet(ctx, TOML, &["apply", "--auto-approve"])?;
    ensure!(restore.code == 0, "restore:\n{restore}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while available(ctx, "cluster5").await?.as_deref() != Some("True") {
        ensure!(Instant::now() < deadline, "cluster5 did not come back");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let back = status(ctx, &["--exit-code"])?;
    ensure!(back.code == 0, "healthy again:\n{back}");
    mcs.delete("stray-1", &Default::default()).await?;
    Ok(())
}

/// `fleet status --watch` redraws the table every `--interval` (appended, without escape
/// codes, when stdout is not a terminal) and a SIGINT ends it with exit 0, at once.
pub async fn status_watch_refreshes_until_interrupted_and_exits_0(ctx: &Ctx) -> TestResult {
    use std::io::Read;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("fleet.toml");
    std::fs::write(&file, TOML)?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fleet"))
        .arg("-f")
        .arg(&file)
        .arg("--kubeconfig")
        .arg(ctx.lab.kubeconfig())
        .args(["status", "--watch", "--interval", "300ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    // Three seconds of refreshes, then Ctrl-C.
    tokio::time::sleep(Duration::from_secs(3)).await;
    unsafe { libc::kill(i32::try_from(child.id())?, libc::SIGINT) };
    let interrupted_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interrupted_at.elapsed() > Duration::from_secs(10) {
            child.kill()?;
            return Err("status --watch did not stop within 10 s of SIGINT".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stopped_in = interrupted_at.elapsed();
    let text = reader.join().map_err(|_| "reader panicked")??;
    let seen = text.matches("WEC ").count();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .ok_or("no stderr")?
        .read_to_string(&mut stderr)?;
    ensure!(
        status.code() == Some(0),
        "exit after SIGINT: {status:?}\n--- stderr\n{stderr}"
    );
    ensure!(
        seen >= 3,
        "{seen} tables in 3 s at a 300 ms interval:\n{text}"
    );
    ensure!(!text.contains('\x1b'), "escape codes on a pipe:\n{text}");
    ensure!(
        text.contains("cluster4 "),
        "the table lists cluster4:\n{text}"
    );
    println!(
        "    status --watch: {seen} tables in 3 s (300 ms interval); stopped {} ms after SIGINT",
        stopped_in.as_millis()
    );
    Ok(())
}
