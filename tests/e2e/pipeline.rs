//! Pipelines end to end: saved plans (`plan --out`, `show`, `apply PLANFILE`, exit 3), the
//! apply lock (exit 4, `--lock-timeout`, expiry of a killed holder, `unlock`) and SIGINT
//! during an apply.
//!
//! They run after the registration tests, on cluster4 and cluster5, which those leave
//! registered by fleet.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::fleet::{Run, mc_labels};
use crate::{Ctx, TestFn, TestResult};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        crate::pipeline::a_saved_plan_applies_as_reviewed_and_a_stale_one_writes_nothing,
        crate::pipeline::a_saved_plan_is_refused_by_another_its_or_fleet_toml,
        crate::pipeline::registration_round_trips_through_saved_plans,
        crate::pipeline::the_lock_makes_applies_wait_or_exit_4_and_unlock_clears_it,
        crate::pipeline::a_killed_applys_lock_expires_and_the_next_apply_proceeds,
        crate::pipeline::sigint_stops_an_apply_cleanly_and_a_rerun_completes,
        crate::pipeline::a_removed_label_goes_even_after_kubectl_overwrote_it,
        crate::pipeline::an_object_moved_during_apply_is_rechecked_not_overwritten,
    ]
}

const HEADER: &str = "[its]\ncontext = \"its1\"\n";

fn wecs(c4: &str, c5: &str) -> String {
    format!(
        "{HEADER}[wec.cluster4]\nlabels = {{ {c4} }}\n[wec.cluster4.join]\nsingleton = true\n[wec.cluster5]\nlabels = {{ {c5} }}\n[wec.cluster5.join]\nsingleton = true\n"
    )
}

/// A directory holding a fleet.toml and the plans made from it.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(toml: &str) -> Result<Workdir, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("fleet.toml"), toml)?;
        Ok(Workdir { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_toml(&self, toml: &str) -> std::io::Result<()> {
        std::fs::write(self.path("fleet.toml"), toml)
    }

    fn command(&self, ctx: &Ctx, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fleet"));
        c.arg("-f")
            .arg(self.path("fleet.toml"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        let _ = ctx;
        c
    }

    fn run_with(
        &self,
        ctx: &Ctx,
        kubeconfig: &Path,
        args: &[&str],
    ) -> Result<Run, Box<dyn std::error::Error>> {
        let out = self.command(ctx, kubeconfig, args).output()?;
        Ok(Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn run(&self, ctx: &Ctx, args: &[&str]) -> Result<Run, Box<dyn std::error::Error>> {
        self.run_with(ctx, ctx.lab.kubeconfig(), args)
    }

    fn spawn(&self, ctx: &Ctx, args: &[&str]) -> std::io::Result<Child> {
        self.command(ctx, ctx.lab.kubeconfig(), args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }
}

fn finish(child: Child) -> Result<Run, Box<dyn std::error::Error>> {
    let out = child.wait_with_output()?;
    Ok(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

async fn leases(ctx: &Ctx) -> Result<Api<Lease>, Box<dyn std::error::Error>> {
    Ok(Api::namespaced(
        ctx.lab.client("its1").await?,
        "fleet-system",
    ))
}

/// The lock's holder, if any.
async fn holder(ctx: &Ctx) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let lease = leases(ctx).await?.get_opt("fleet-apply").await?;
    Ok(lease
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

/// Waits until some apply holds the lock.
async fn wait_for_holder(
    ctx: &Ctx,
    within: Duration,
) -> Result<String, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(h) = holder(ctx).await? {
            return Ok(h);
        }
        ensure!(
            Instant::now() < deadline,
            "no apply took the lock within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A label write by another field manager.
async fn label_as(ctx: &Ctx, name: &str, manager: &str, labels: Value) -> TestResult {
    let its = ctx.lab.client("its1").await?;
    fleet_lab::fixtures::managed_clusters(&its)
        .patch(
            name,
            &PatchParams {
                field_manager: Some(manager.to_owned()),
                ..Default::default()
            },
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await?;
    Ok(())
}

async fn label(
    ctx: &Ctx,
    wec: &str,
    key: &str,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let its = ctx.lab.client("its1").await?;
    Ok(mc_labels(&its, wec).await?.get(key).cloned())
}

pub async fn a_saved_plan_applies_as_reviewed_and_a_stale_one_writes_nothing(
    ctx: &Ctx,
) -> TestResult {
    // A known start: both registered (the registration tests leave them so; this registers
    // them when run alone), labelled `tier = start`.
    let w = Workdir::new(&wecs("tier = \"start\"", "tier = \"start\""))?;
    let start = w.run(ctx, &["apply", "--auto-approve", "--wait-timeout", "150s"])?;
    ensure!(start.code == 0, "setup:\n{start}");
    let v1 = wecs("tier = \"gold\"", "tier = \"gold\"");
    w.set_toml(&v1)?;
    let planfile = w.path("plan.json");
    let plan = w.run(ctx, &["plan", "--out", "plan.json", "--detailed-exitcode"])?;
    ensure!(plan.code == 2, "plan --out with changes exits 2:\n{plan}");
    ensure!(
        plan.stderr.contains("fleet apply plan.json"),
        "plan --out says how to apply it:\n{plan}"
    );
    let text = std::fs::read_to_string(&planfile)?;
    ensure!(
        !text.contains("token") && !text.contains("BEGIN CERTIFICATE"),
        "the plan file holds a secret"
    );

    // show renders it offline, in every plan view, exactly as plan did.
    let shown = w.run_with(
        ctx,
        Path::new("/nonexistent/kubeconfig"),
        &["show", "plan.json"],
    )?;
    ensure!(
        shown.code == 0 && shown.stdout == plan.stdout,
        "show differs from plan:\n{shown}\n--- plan\n{plan}"
    );
    let json_view = w.run(ctx, &["show", "plan.json", "--output", "json"])?;
    let v: Value =
        serde_json::from_str(&json_view.stdout).map_err(|e| format!("{e}\n{json_view}"))?;
    ensure!(
        v["format_version"] == "1.3" && v["summary"]["change"] == 2,
        "show --output json:\n{json_view}"
    );
    let md = w.run(ctx, &["show", "plan.json", "--output", "markdown"])?;
    ensure!(
        md.code == 0 && md.stdout.contains("tier"),
        "markdown:\n{md}"
    );

    // Another manager's label moves cluster4's resourceVersion, not fleet's change.
    label_as(ctx, "cluster4", "kubectl-label", json!({"owner": "ops"})).await?;
    let apply = w.run(ctx, &["apply", "plan.json"])?;
    ensure!(apply.code == 0, "the saved plan applies:\n{apply}");
    ensure!(
        label(ctx, "cluster4", "tier").await?.as_deref() == Some("gold")
            && label(ctx, "cluster4", "owner").await?.as_deref() == Some("ops"),
        "after apply: tier gold, owner kept"
    );
    let again = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "converged:\n{again}");

    // A plan whose object moved with a different change is stale: nothing is written.
    w.set_toml(&wecs("tier = \"silver\"", "tier = \"silver\""))?;
    let plan = w.run(ctx, &["plan", "--out", "plan2.json"])?;
    ensure!(plan.code == 0, "plan 2:\n{plan}");
    label_as(ctx, "cluster4", "kubectl-label", json!({"tier": "bronze"})).await?;
    let apply = w.run(ctx, &["apply", "plan2.json"])?;
    ensure!(apply.code == 3, "a stale plan exits 3:\n{apply}");
    ensure!(
        apply
            .stderr
            .contains("The saved plan is stale: 1 object changed")
            && apply.stderr.contains("ManagedCluster cluster4")
            && apply.stderr.contains("Nothing was written"),
        "the refusal names the object:\n{apply}"
    );
    ensure!(
        apply.stdout.contains("bronze"),
        "the recalculated plan is shown:\n{apply}"
    );
    ensure!(
        label(ctx, "cluster5", "tier").await?.as_deref() == Some("gold")
            && label(ctx, "cluster4", "tier").await?.as_deref() == Some("bronze"),
        "a stale plan wrote something"
    );
    ensure!(holder(ctx).await?.is_none(), "the lock was not released");
    Ok(())
}

pub async fn a_saved_plan_is_refused_by_another_its_or_fleet_toml(ctx: &Ctx) -> TestResult {
    let w = Workdir::new(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let plan = w.run(ctx, &["plan", "--out", "plan.json"])?;
    ensure!(plan.code == 0, "plan:\n{plan}");

    // The same context name, pointing at another cluster (the WDS).
    let mut kc: Value =
        serde_json::to_value(kube::config::Kubeconfig::read_from(ctx.lab.kubeconfig())?)?;
    let wds_cluster = kc["contexts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "wds1"))
        .map(|c| c["context"]["cluster"].clone())
        .ok_or("no wds1 context")?;
    for c in kc["contexts"].as_array_mut().ok_or("contexts")? {
        if c["name"] == "its1" {
            c["context"]["cluster"] = wds_cluster.clone();
        }
    }
    let other = w.path("other-kubeconfig");
    std::fs::write(&other, serde_json::to_string(&kc)?)?;
    let apply = w.run_with(ctx, &other, &["apply", "plan.json"])?;
    ensure!(
        apply.code == 1 && apply.stderr.contains("the plan was made against ITS"),
        "another ITS is refused:\n{apply}"
    );
    let wds = ctx.lab.client("wds1").await?;
    let on_wds: Api<Lease> = Api::namespaced(wds, "fleet-system");
    ensure!(
        on_wds.get_opt("fleet-apply").await.ok().flatten().is_none(),
        "a lock was taken on the wrong cluster"
    );

    w.set_toml(&wecs("tier = \"platinum\"", "tier = \"gold\""))?;
    let apply = w.run(ctx, &["apply", "plan.json"])?;
    ensure!(
        apply.code == 1 && apply.stderr.contains("changed since the plan was made"),
        "another fleet.toml is refused:\n{apply}"
    );
    let flags = w.run(ctx, &["apply", "plan.json", "--prune"])?;
    ensure!(
        flags.code == 1 && flags.stderr.contains("--prune"),
        "planning flags are refused with a plan file:\n{flags}"
    );
    ensure!(
        label(ctx, "cluster4", "tier").await?.as_deref() != Some("platinum"),
        "a refused plan wrote something"
    );
    Ok(())
}

pub async fn registration_round_trips_through_saved_plans(ctx: &Ctx) -> TestResult {
    let only4 = format!(
        "{HEADER}[wec.cluster4]\nlabels = {{ tier = \"gold\" }}\n[wec.cluster4.join]\nsingleton = true\n"
    );
    let w = Workdir::new(&only4)?;
    let plan = w.run(ctx, &["plan", "--prune", "--out", "out.json"])?;
    ensure!(plan.code == 0, "plan --prune:\n{plan}");
    let shown = w.run(ctx, &["show", "out.json"])?;
    ensure!(
        shown.stdout.contains("deregister") && shown.stdout.contains("cluster5"),
        "the saved plan deregisters cluster5:\n{shown}"
    );
    let apply = w.run(ctx, &["apply", "out.json", "--wait-timeout", "120s"])?;
    ensure!(
        apply.code == 0,
        "deregistration from a saved plan:\n{apply}"
    );
    let its = ctx.lab.client("its1").await?;
    let mcs = fleet_lab::fixtures::managed_clusters(&its);
    ensure!(
        mcs.get_opt("cluster5").await?.is_none(),
        "cluster5 still registered"
    );

    w.set_toml(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let plan = w.run(ctx, &["plan", "--out", "in.json"])?;
    let shown = w.run(ctx, &["show", "in.json"])?;
    ensure!(
        plan.code == 0 && shown.stdout.contains("registration (absent → Available)"),
        "the saved plan registers cluster5:\n{shown}"
    );
    let apply = w.run(ctx, &["apply", "in.json", "--wait-timeout", "150s"])?;
    ensure!(apply.code == 0, "registration from a saved plan:\n{apply}");
    ensure!(
        label(ctx, "cluster5", "tier").await?.as_deref() == Some("gold"),
        "cluster5's labels after registration"
    );
    let again = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "converged:\n{again}");
    Ok(())
}

/// A Lease as another apply holds it, renewed `age` ago.
fn foreign_lease(id: &str, age: Duration) -> Lease {
    let renewed = Timestamp::now()
        .checked_sub(SignedDuration::try_from(age).expect("small"))
        .expect("in range");
    Lease {
        metadata: ObjectMeta {
            name: Some("fleet-apply".into()),
            annotations: Some(
                [(
                    "fleet.kubestellar.io/lock-info".to_owned(),
                    json!({"id": id, "who": "runner@ci-7", "ci_job": "https://ci.example/jobs/7",
                           "operation": "apply", "fleet_version": "0.1.0"})
                    .to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(id.into()),
            lease_duration_seconds: Some(60),
            acquire_time: Some(MicroTime(renewed)),
            renew_time: Some(MicroTime(renewed)),
            ..Default::default()
        }),
    }
}

async fn put_lease(ctx: &Ctx, lease: &Lease) -> TestResult {
    let api = leases(ctx).await?;
    let _ = api.delete("fleet-apply", &DeleteParams::default()).await;
    api.create(&PostParams::default(), lease).await?;
    Ok(())
}

pub async fn the_lock_makes_applies_wait_or_exit_4_and_unlock_clears_it(ctx: &Ctx) -> TestResult {
    let w = Workdir::new(&wecs("tier = \"gold\", lock = \"a\"", "tier = \"gold\""))?;
    put_lease(ctx, &foreign_lease("gh-7-1-deadbeef", Duration::ZERO)).await?;

    let apply = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(apply.code == 4, "a held lock exits 4:\n{apply}");
    ensure!(
        apply.stderr.contains("gh-7-1-deadbeef")
            && apply.stderr.contains("runner@ci-7")
            && apply.stderr.contains("https://ci.example/jobs/7")
            && apply.stderr.contains("fleet unlock gh-7-1-deadbeef"),
        "exit 4 names the holder, where it runs and how to clear it:\n{apply}"
    );
    let t0 = Instant::now();
    let waited = w.run(ctx, &["apply", "--auto-approve", "--lock-timeout", "3s"])?;
    ensure!(
        waited.code == 4
            && waited.stderr.contains("Waiting up to 3s")
            && t0.elapsed() >= Duration::from_secs(3),
        "--lock-timeout waits, then exits 4:\n{waited}"
    );
    let plan = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(plan.code == 2, "plan takes no lock:\n{plan}");
    let status = w.run(ctx, &["status"])?;
    ensure!(
        status.stdout.contains(
            "Apply lock: held by `gh-7-1-deadbeef` (runner@ci-7, https://ci.example/jobs/7) since"
        ),
        "status names the lock's holder:\n{status}"
    );

    let wrong = w.run(ctx, &["unlock", "gh-8-1-cafecafe"])?;
    ensure!(
        wrong.code == 1 && wrong.stderr.contains("does not hold the apply lock"),
        "unlock of another id is refused:\n{wrong}"
    );
    let unlock = w.run(ctx, &["unlock", "gh-7-1-deadbeef"])?;
    ensure!(
        unlock.code == 0 && unlock.stdout.contains("Cleared"),
        "unlock:\n{unlock}"
    );
    ensure!(holder(ctx).await?.is_none(), "unlock left the lock");
    let status = w.run(ctx, &["status", "--output", "json"])?;
    let v: Value = serde_json::from_str(&status.stdout).map_err(|e| format!("{e}\n{status}"))?;
    ensure!(
        v["lock"]["state"] == "free",
        "status after unlock:\n{status}"
    );

    // Two applies at once: the second waits for the first, then finds nothing to do.
    let first = w.spawn(ctx, &["apply", "--auto-approve"])?;
    let pid = first.id() as i32;
    let held_by = wait_for_holder(ctx, Duration::from_secs(30)).await?;
    // Freeze the holder so that the second apply surely meets the lock.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let refused = w.run(ctx, &["apply", "--auto-approve"])?;
    let second = w.spawn(ctx, &["apply", "--auto-approve", "--lock-timeout", "60s"])?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let first = finish(first)?;
    let second = finish(second)?;
    ensure!(
        refused.code == 4 && refused.stderr.contains(&held_by),
        "a second apply exits 4 while the first holds the lock:\n{refused}"
    );
    ensure!(first.code == 0, "the first apply:\n{first}");
    ensure!(
        second.code == 0
            && second.stderr.contains("Waiting up to 1m")
            && second.stdout.contains("No changes"),
        "the waiting apply proceeds after the first, with nothing left to do:\n{second}"
    );
    ensure!(holder(ctx).await?.is_none(), "the lock was not released");
    Ok(())
}

pub async fn a_killed_applys_lock_expires_and_the_next_apply_proceeds(ctx: &Ctx) -> TestResult {
    let w = Workdir::new(&wecs("tier = \"gold\", lock = \"b\"", "tier = \"gold\""))?;
    let mut killed = w.spawn(ctx, &["apply", "--auto-approve"])?;
    let pid = killed.id() as i32;
    let dead = wait_for_holder(ctx, Duration::from_secs(30)).await?;
    unsafe { libc::kill(pid, libc::SIGKILL) };
    killed.wait()?;
    ensure!(
        holder(ctx).await?.as_deref() == Some(dead.as_str()),
        "the killed apply's lock is gone already"
    );
    let t0 = Instant::now();
    let next = w.run(ctx, &["apply", "--auto-approve", "--lock-timeout", "90s"])?;
    ensure!(
        next.code == 0 && next.stderr.contains(&dead),
        "the next apply waits for the dead holder's lock to expire:\n{next}"
    );
    ensure!(
        t0.elapsed() < Duration::from_secs(75),
        "the lock outlived its TTL: {:?}",
        t0.elapsed()
    );
    ensure!(
        label(ctx, "cluster4", "lock").await?.as_deref() == Some("b"),
        "not applied"
    );
    Ok(())
}

/// Direct RBAC expansions: `n` namespaced ones, three objects each per WEC.
fn many_expansions(n: usize) -> String {
    let mut toml = String::new();
    let mut names = Vec::new();
    for i in 0..n {
        toml.push_str(&format!(
            "[rbac.x{i}]\nmode = \"direct\"\nnamespace = \"sigint-{i}\"\n[[rbac.x{i}.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\"]\n"
        ));
        names.push(format!("\"x{i}\""));
    }
    let list = names.join(", ");
    format!(
        "{HEADER}{toml}[wec.cluster4]\nlabels = {{ tier = \"gold\" }}\nrbac = [{list}]\n[wec.cluster4.join]\nsingleton = true\n[wec.cluster5]\nlabels = {{ tier = \"gold\" }}\nrbac = [{list}]\n[wec.cluster5.join]\nsingleton = true\n"
    )
}

pub async fn sigint_stops_an_apply_cleanly_and_a_rerun_completes(ctx: &Ctx) -> TestResult {
    let toml = many_expansions(40);
    let w = Workdir::new(&toml)?;
    let mut child = w.spawn(
        ctx,
        &["apply", "--auto-approve", "--parallelism", "1", "-v"],
    )?;
    let pid = child.id() as i32;
    let stderr = child.stderr.take().ok_or("stderr")?;
    // Interrupt once a few changes are done; keep the rest of stderr.
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && line.starts_with("[5/") {
                unsafe { libc::kill(pid, libc::SIGINT) };
                sent = true;
            }
            lines.push(line);
        }
        (sent, lines.join("\n"))
    });
    let out = child.wait_with_output()?;
    let (sent, stderr) = reader.join().map_err(|_| "reader panicked")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    ensure!(
        sent,
        "the apply finished before it could be interrupted:\n{stderr}"
    );
    ensure!(
        code == 5 && stderr.contains("Interrupted: starting nothing new"),
        "an interrupted apply exits 5:\nexit {code}\n{stdout}\n{stderr}"
    );
    ensure!(
        stdout.contains("Apply stopped (apply was interrupted") && stdout.contains("not applied"),
        "the report says what was not applied:\n{stdout}"
    );
    ensure!(
        holder(ctx).await?.is_none(),
        "the interrupted apply kept its lock"
    );

    let rerun = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(rerun.code == 0, "the re-run completes:\n{rerun}");
    let again = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "converged:\n{again}");

    // Leave cluster4 and cluster5 without the expansions.
    w.set_toml(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let cleanup = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(cleanup.code == 0, "cleanup:\n{cleanup}");
    Ok(())
}

/// Runs while cluster1 and cluster2 are up and registered (by the lab), before the
/// unreachable-WEC test: listed in `fleet::tests`.
pub async fn import_round_trips_to_no_changes(ctx: &Ctx) -> TestResult {
    let toml = format!(
        r#"{HEADER}[wds]
context = "wds1"

[rbac.jobs]
mode = "direct"
namespace = "team-a"
[[rbac.jobs.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["get", "create"]

[rbac.aw]
mode = "downsync"
[[rbac.aw.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get", "list", "watch"]

[wec.cluster1]
labels = {{ env = "prod", region = "us-east", name = "cluster1" }}
properties = {{ maxPods = "100", zone = "a" }}
rbac = ["jobs", "aw"]

[wec.cluster2]
labels = {{ env = "prod", region = "us-west", name = "cluster2" }}
properties = {{ maxPods = "200" }}
rbac = ["aw"]
"#
    );
    let w = Workdir::new(&toml)?;
    let apply = w.run(ctx, &["apply", "--auto-approve", "--prune"])?;
    ensure!(apply.code == 0, "setup:\n{apply}");

    // The direct grant is in effect on cluster1: a SubjectAccessReview there says so.
    let json = w.run(ctx, &["plan", "--output", "json"])?;
    let v: Value = serde_json::from_str(&json.stdout).map_err(|e| format!("{e}\n{json}"))?;
    let in_effect = v["deliveries"].as_array().is_some_and(|d| {
        d.iter().any(|x| {
            x["wec"] == "cluster1"
                && x["expansion"] == "jobs"
                && x["mode"] == "direct"
                && x["state"] == "applied"
        })
    });
    ensure!(
        in_effect,
        "the direct grant is confirmed in effect:\n{json}"
    );

    let imported = w.run(ctx, &["import", "--its", "its1", "--wds", "wds1"])?;
    ensure!(imported.code == 0, "import:\n{imported}");
    let text = &imported.stdout;
    for piece in [
        "[rbac.aw]\nmode = \"downsync\"",
        "[rbac.jobs]\nmode = \"direct\"\nnamespace = \"team-a\"",
        "maxPods = \"100\"",
        "region = \"us-east\"",
    ] {
        ensure!(text.contains(piece), "import misses {piece:?}:\n{imported}");
    }
    ensure!(
        !text.contains("open-cluster-management.io/")
            && !text.contains("rbac.fleet.kubestellar.io"),
        "import declares OCM's or fleet's own labels:\n{imported}"
    );

    // The result is formatted as `fleet fmt` formats it, and plans to nothing.
    let back = Workdir::new(text)?;
    let fmt = back.run(ctx, &["fmt", "--check"])?;
    ensure!(fmt.code == 0, "import output is not formatted:\n{fmt}");
    let plan = back.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(
        plan.code == 0,
        "plan on the imported fleet.toml is not empty:\n{plan}\n--- imported\n{text}"
    );
    Ok(())
}

/// Issue 10: a label fleet applied and someone overwrote with `kubectl label --overwrite`
/// is still removed when fleet.toml drops it, and the plan names who changed it.
pub async fn a_removed_label_goes_even_after_kubectl_overwrote_it(ctx: &Ctx) -> TestResult {
    let w = Workdir::new(&wecs(
        "tier = \"gold\", region = \"us-east\"",
        "tier = \"gold\"",
    ))?;
    let apply = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(apply.code == 0, "setup:\n{apply}");
    label_as(
        ctx,
        "cluster4",
        "kubectl-label",
        json!({"region": "eu-west"}),
    )
    .await?;

    w.set_toml(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let plan = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(
        plan.code == 2 && plan.stdout.contains("region") && plan.stdout.contains("kubectl-label"),
        "the plan removes region and names who changed it:\n{plan}"
    );
    let apply = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(apply.code == 0, "apply:\n{apply}");
    ensure!(
        label(ctx, "cluster4", "region").await?.is_none(),
        "region is still on cluster4"
    );
    let again = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "converged:\n{again}");
    Ok(())
}

/// Runs `fleet apply --auto-approve --parallelism 1 -v` (fleet's info log on) and, once
/// `trigger` changes are done, lets `during` write to the ITS while the apply goes on.
async fn apply_while<F, Fut>(
    ctx: &Ctx,
    w: &Workdir,
    trigger: &str,
    during: F,
) -> Result<Run, Box<dyn std::error::Error>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    let mut child = w
        .command(
            ctx,
            ctx.lab.kubeconfig(),
            &["apply", "--auto-approve", "--parallelism", "1", "-v"],
        )
        .env("FLEET_LOG", "fleet=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("stderr")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn({
        let trigger = trigger.to_owned();
        move || {
            let mut tx = Some(tx);
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with(&trigger)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
                lines.push(line);
            }
            lines.join("\n")
        }
    });
    let triggered = rx.await.is_ok();
    if triggered {
        during().await?;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: reader.join().map_err(|_| "reader panicked")?,
    };
    ensure!(triggered, "the apply ended before `{trigger}`:\n{run}");
    Ok(run)
}

/// The progress line of cluster5's ManagedCluster came after `trigger`'s: the out-of-band
/// write landed before fleet's, as the test means it to.
fn written_after(run: &Run, trigger: &str) -> bool {
    let at = |needle: &str| run.stderr.lines().position(|l| l.contains(needle));
    matches!(
        (at(trigger), at("ManagedCluster cluster5")),
        (Some(t), Some(m)) if m > t
    )
}

/// A controller (or a colleague) writes a ManagedCluster between the plan and fleet's write
/// to it. A write elsewhere in the object moves its version only: fleet re-reads it, finds
/// the planned change unchanged and writes at the new version. A write to a field the plan
/// changes makes that change fail with "changed after the plan", leaving the other's value;
/// the rest of the apply completes and a re-run converges. Along the way cluster4 gains and
/// then loses forty direct expansions without a label change: its record alone makes fleet
/// read it and revoke them.
pub async fn an_object_moved_during_apply_is_rechecked_not_overwritten(ctx: &Ctx) -> TestResult {
    // Forty expansions on cluster4 are written before cluster5's ManagedCluster.
    let on_cluster4 = |n: usize, c5: &str| {
        let toml = many_expansions(n);
        let split = toml.find("[wec.cluster4]").expect("has cluster4");
        let (rbac, _) = toml.split_at(split);
        let list: Vec<String> = (0..n).map(|i| format!("\"x{i}\"")).collect();
        format!(
            "{rbac}[wec.cluster4]\nlabels = {{ tier = \"gold\" }}\nrbac = [{}]\n[wec.cluster4.join]\nsingleton = true\n[wec.cluster5]\nlabels = {{ {c5} }}\n[wec.cluster5.join]\nsingleton = true\n",
            list.join(", ")
        )
    };
    let trigger = "[2/";
    // Both WECs registered and labelled as the tests before leave them.
    let w = Workdir::new(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let base = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(base.code == 0, "baseline:\n{base}");

    // 1. Someone changes the very label fleet is about to change.
    w.set_toml(&on_cluster4(40, "tier = \"bronze\""))?;
    let run = apply_while(ctx, &w, trigger, || {
        label_as(ctx, "cluster5", "e2e-other", json!({"tier": "copper"}))
    })
    .await?;
    ensure!(
        written_after(&run, trigger),
        "cluster5 was written before the test changed it; the check proves nothing:\n{run}"
    );
    ensure!(
        run.code == 5 && run.stderr.contains("changed after the plan"),
        "a change whose field moved fails, naming why (exit 5):\n{run}"
    );
    ensure!(
        label(ctx, "cluster5", "tier").await?.as_deref() == Some("copper"),
        "the other writer's value was overwritten"
    );
    let plan = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(
        plan.code == 2 && plan.stdout.contains("copper") && !plan.stdout.contains("sigint-"),
        "only cluster5's label is left to change, and the plan shows the other's value:\n{plan}"
    );

    // 2. Someone writes elsewhere in the object: the version moves, the change does not.
    w.set_toml(&on_cluster4(0, "tier = \"silver\""))?;
    let run = apply_while(ctx, &w, trigger, || {
        label_as(ctx, "cluster5", "e2e-other", json!({"team": "a"}))
    })
    .await?;
    ensure!(
        written_after(&run, trigger),
        "cluster5 was written before the test changed it; the check proves nothing:\n{run}"
    );
    ensure!(
        run.code == 0
            && run
                .stderr
                .contains("not in what fleet writes; writing at the new version"),
        "an unrelated write is re-checked and the change applied:\n{run}"
    );
    ensure!(
        label(ctx, "cluster5", "tier").await?.as_deref() == Some("silver")
            && label(ctx, "cluster5", "team").await?.as_deref() == Some("a"),
        "fleet's change and the other's label are both there"
    );
    let plan = w.run(ctx, &["plan", "--detailed-exitcode"])?;
    ensure!(plan.code == 0, "converged:\n{plan}");
    // cluster4 no longer uses any direct expansion: its record made fleet read it and
    // revoke every grant.
    let cluster4 = ctx.lab.client("cluster4").await?;
    for i in [0, 39] {
        let roles: Api<k8s_openapi::api::rbac::v1::Role> =
            Api::namespaced(cluster4.clone(), &format!("sigint-{i}"));
        ensure!(
            roles.get_opt(&format!("fleet:x{i}")).await?.is_none(),
            "Role sigint-{i}/fleet:x{i} is still on cluster4"
        );
    }

    // Leave cluster5 as the later tests expect it.
    label_as(ctx, "cluster5", "e2e-other", json!({"team": null})).await?;
    w.set_toml(&wecs("tier = \"gold\"", "tier = \"gold\""))?;
    let cleanup = w.run(ctx, &["apply", "--auto-approve"])?;
    ensure!(cleanup.code == 0, "cleanup:\n{cleanup}");
    Ok(())
}
