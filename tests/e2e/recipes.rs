//! The CI recipes of `examples/ci/` are real: the GitHub Actions workflow passes actionlint and
//! asks each job for the least permissions, the GitLab pipeline parses and its scripts are
//! valid shell, the API server accepts the CronJob (server-side dry run), and the read-only
//! RBAC of `rbac.yaml` lets `fleet drift` — run with the CronJob's own arguments, as the
//! recipe's ServiceAccount on every cluster — read all it needs on the ITS, the WDS and the
//! WECs, and write nothing anywhere.
//!
//! Runs last, on cluster1 and cluster3 (registered through the lab when no earlier test has:
//! with a filter that selects only these tests), and removes the RBAC it created when it
//! ends; the labels and properties it gave the two WECs stay.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kube::Client;
use kube::api::{
    Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::discovery::{self, Scope};
use serde_json::{Value, json};

use crate::fleet::{Run, ensure_registered, fleet};
use crate::{Ctx, TestFn, TestResult};

type Error = Box<dyn std::error::Error>;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        crate::recipes::github_workflow_passes_actionlint_with_least_permissions,
        crate::recipes::gitlab_pipeline_parses_and_its_scripts_are_valid_shell,
        crate::recipes::drift_with_the_read_only_recipe_rbac_reads_everything_and_writes_nothing,
    ]
}

fn recipe_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name)
}

fn recipe(name: &str) -> Result<Vec<Value>, Error> {
    let path = recipe_path(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs = fleet_lab::kube_util::yaml_documents(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    ensure!(!docs.is_empty(), "{} has no YAML document", path.display());
    Ok(docs)
}

/// Every string in `v` with its path (`jobs/plan/steps/3/run`).
fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(x, format!("{path}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                strings(x, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The commands of fleet's contract that the recipes must use.
const CONTRACT: [&str; 4] = [
    "fleet plan --out plan.json --detailed-exitcode",
    "fleet show plan.json --output markdown",
    "fleet apply plan.json",
    "fleet drift --output markdown",
];

pub async fn github_workflow_passes_actionlint_with_least_permissions(_ctx: &Ctx) -> TestResult {
    let bins = fleet_lab::Bins::ensure()?;
    let file = recipe_path("github-actions.yml");
    let out = Command::new(&bins.actionlint)
        .arg("-no-color")
        .arg(&file)
        .output()
        .map_err(|e| format!("run {}: {e}", bins.actionlint.display()))?;
    ensure!(
        out.status.code() == Some(0),
        "actionlint {} ({}):\n{}{}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let wf = recipe("github-actions.yml")?.remove(0);
    let on = &wf["on"];
    ensure!(
        on["pull_request"]["paths"] == json!(["fleet.toml"])
            && on["release"]["types"] == json!(["published"])
            && on["schedule"][0]["cron"].is_string(),
        "triggers: pull requests touching fleet.toml, published releases, a schedule:\n{on:#}"
    );
    ensure!(
        wf["permissions"] == json!({}),
        "the workflow grants nothing by default: {}",
        wf["permissions"]
    );
    let expected = BTreeMap::from([
        (
            "plan",
            json!({"contents": "read", "pull-requests": "write"}),
        ),
        (
            "release-plan",
            json!({"contents": "read", "actions": "read", "pull-requests": "read"}),
        ),
        ("apply", json!({"contents": "read"})),
        ("drift", json!({"contents": "read", "issues": "write"})),
    ]);
    let jobs = wf["jobs"].as_object().ok_or("no jobs")?;
    ensure!(
        jobs.len() == expected.len() && expected.keys().all(|k| jobs.contains_key(*k)),
        "jobs: {:?}",
        jobs.keys().collect::<Vec<_>>()
    );
    for (name, perms) in &expected {
        ensure!(
            &jobs[*name]["permissions"] == perms,
            "job {name} asks for {}, expected exactly {perms}",
            jobs[*name]["permissions"]
        );
    }
    let apply = &jobs["apply"];
    ensure!(
        apply["concurrency"]["group"].is_string()
            && apply["concurrency"]["cancel-in-progress"] == json!(false)
            && apply["needs"] == json!("release-plan"),
        "apply runs one at a time, never cancelled, after release-plan:\n{apply:#}"
    );

    // A secret reaches a step only through `env:`, and as the whole value.
    let mut all = Vec::new();
    strings(&wf, String::new(), &mut all);
    for (path, s) in &all {
        if s.contains("secrets.") {
            let parts: Vec<&str> = path.rsplit('/').collect();
            ensure!(
                parts.get(1) == Some(&"env")
                    && s.trim().starts_with("${{ secrets.")
                    && s.trim().ends_with("}}"),
                "a secret outside a step's env ({path}): {s}"
            );
        }
    }
    let runs: Vec<&str> = all
        .iter()
        .filter(|(p, _)| p.ends_with("/run"))
        .map(|(_, s)| *s)
        .collect();
    let mut writes = 0;
    for run in &runs {
        if let Some(at) = run.find("> \"$RUNNER_TEMP/kubeconfig\"") {
            writes += 1;
            ensure!(
                run[..at].contains("umask 077")
                    && run[..at].contains("printf '%s\\n' \"$KUBECONFIG_DATA\""),
                "the kubeconfig is written under umask 077 by the shell's printf:\n{run}"
            );
        }
    }
    ensure!(
        writes >= 4,
        "{writes} steps write a kubeconfig: one per job that reads a cluster"
    );
    let text = runs.join("\n");
    for command in CONTRACT {
        ensure!(text.contains(command), "no step runs `{command}`");
    }
    let drift_gate = runs
        .iter()
        .find(|r| r.contains("drift check incomplete"))
        .ok_or("no step fails the drift job on exit 6")?;
    ensure!(
        drift_gate.contains("6)") && drift_gate.contains("exit 1"),
        "exit 6 of fleet drift must fail the job:\n{drift_gate}"
    );
    Ok(())
}

pub async fn gitlab_pipeline_parses_and_its_scripts_are_valid_shell(_ctx: &Ctx) -> TestResult {
    let ci = recipe("gitlab-ci.yml")?.remove(0);
    let base = &ci[".fleet"];
    let rule = |job: &str| ci[job]["rules"][0]["if"].as_str().unwrap_or("").to_owned();
    ensure!(
        rule("fleet-plan") == "$CI_PIPELINE_SOURCE == \"merge_request_event\""
            && ci["fleet-plan"]["rules"][0]["changes"] == json!(["fleet.toml"]),
        "fleet-plan runs in merge request pipelines that change fleet.toml: {}",
        ci["fleet-plan"]["rules"]
    );
    ensure!(
        ci["fleet-plan"]["artifacts"]["paths"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("plan.json"))),
        "plan.json is an artifact of fleet-plan"
    );
    ensure!(
        rule("fleet-apply") == "$CI_COMMIT_TAG"
            && ci["fleet-apply"]["resource_group"]
                .as_str()
                .is_some_and(|g| !g.is_empty()),
        "fleet-apply runs on tags, serialised by a resource_group:\n{:#}",
        ci["fleet-apply"]
    );
    ensure!(
        rule("fleet-drift") == "$CI_PIPELINE_SOURCE == \"schedule\""
            && ci["fleet-drift"]["allow_failure"]["exit_codes"] == json!([2]),
        "fleet-drift runs on schedules, exit 2 (drift) a warning and nothing else:\n{:#}",
        ci["fleet-drift"]
    );

    let mut all_scripts = String::new();
    for job in ["fleet-plan", "fleet-apply", "fleet-drift"] {
        ensure!(
            ci[job]["extends"] == json!(".fleet"),
            "{job} extends .fleet"
        );
        let lines = |v: &Value| -> Result<Vec<String>, Error> {
            Ok(v.as_array()
                .ok_or_else(|| format!("{job}: a script is not a list"))?
                .iter()
                .map(|l| {
                    l.as_str()
                        .map(str::to_owned)
                        .ok_or("a script line is not a string")
                })
                .collect::<Result<_, _>>()?)
        };
        let mut script = lines(&base["before_script"])?;
        script.extend(lines(&ci[job]["script"])?);
        let text = script.join("\n") + "\n";
        let dir = tempfile::tempdir()?;
        let file = dir.path().join(format!("{job}.sh"));
        std::fs::write(&file, &text)?;
        // GitLab runs the script with bash when the image has it, else with sh: both must parse.
        for shell in ["bash", "sh"] {
            let out = Command::new(shell)
                .arg("-n")
                .arg(&file)
                .output()
                .map_err(|e| format!("run {shell}: {e}"))?;
            ensure!(
                out.status.success(),
                "{job}: `{shell} -n` rejects the script:\n{}\n--- script\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        all_scripts.push_str(&text);
    }
    for command in CONTRACT {
        ensure!(all_scripts.contains(command), "no job runs `{command}`");
    }
    // The API token only ever goes to curl's standard input.
    for line in all_scripts.lines() {
        let code = line.split(" #").next().unwrap_or("").trim();
        if code.contains("$FLEET_GITLAB_TOKEN") {
            ensure!(
                code.starts_with("printf "),
                "the API token outside the builtin printf that feeds curl's stdin: {line}"
            );
        }
    }
    ensure!(
        all_scripts.contains("--config -") && all_scripts.contains("umask 077"),
        "curl reads its header from stdin and the kubeconfig is written under umask 077"
    );
    Ok(())
}

/// The field manager of the recipe objects this test applies.
const MANAGER: &str = "fleet-recipes-e2e";
/// The recipe's ServiceAccount as the API servers name it.
const SA_USER: &str = "system:serviceaccount:fleet-system:fleet-drift";
const WECS: [&str; 2] = ["cluster1", "cluster3"];
const PART_OF: &str = "app.kubernetes.io/part-of";

/// A fleet.toml with labels, properties and RBAC in both modes on cluster1 and cluster3:
/// direct RBAC makes fleet read both WECs, downsync RBAC the WDS.
fn fleet_toml(with_rbac: bool) -> String {
    let rbac = r#"
[rbac.recipes-jobs]
mode = "direct"
namespace = "team-recipes"
[[rbac.recipes-jobs.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["get", "list"]

[rbac.recipes-claims]
mode = "direct"
[[rbac.recipes-claims.rules]]
api_groups = ["cluster.open-cluster-management.io"]
resources = ["clusterclaims"]
verbs = ["get", "list"]

[rbac.recipes-sync]
mode = "downsync"
namespace = "team-recipes"
[[rbac.recipes-sync.rules]]
api_groups = [""]
resources = ["configmaps"]
verbs = ["get", "list"]
"#;
    let (rbac, rbac1, rbac3) = if with_rbac {
        (
            rbac,
            "rbac = [\"recipes-jobs\", \"recipes-sync\"]\n",
            "rbac = [\"recipes-claims\", \"recipes-sync\"]\n",
        )
    } else {
        ("", "", "")
    };
    format!(
        "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n[defaults]\nlabels = {{ environment = \"recipes\" }}\n{rbac}\n\
         [wec.cluster1]\nlabels = {{ name = \"cluster1\", tier = \"gold\" }}\nproperties = {{ datacenter = \"dc-1\", maxPods = \"110\" }}\n{rbac1}\n\
         [wec.cluster3]\nlabels = {{ name = \"cluster3\", tier = \"silver\" }}\nproperties = {{ datacenter = \"dc-4\" }}\n{rbac3}"
    )
}

fn label<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc.pointer("/metadata/labels")?.get(key)
}

/// The documents of rbac.yaml for a kind of cluster (`its`, `wds`, `wec`), as
/// `kubectl apply -l drift.fleet.kubestellar.io/<kind>=true` picks them.
fn rbac_for(docs: &[Value], kind: &str) -> Vec<Value> {
    let key = format!("drift.fleet.kubestellar.io/{kind}");
    docs.iter()
        .filter(|d| label(d, &key) == Some(&json!("true")))
        .cloned()
        .collect()
}

/// The API of a manifest's kind, found through discovery, and the object's name.
async fn api_for(client: &Client, doc: &Value) -> Result<(Api<DynamicObject>, String), Error> {
    let api_version = doc["apiVersion"].as_str().ok_or("no apiVersion")?;
    let kind = doc["kind"].as_str().ok_or("no kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("discover {api_version} {kind}: {e}"))?;
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or("no name")?
        .to_owned();
    let api = match caps.scope {
        Scope::Namespaced => {
            let ns = doc
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{kind} {name} has no namespace"))?;
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    Ok((api, name))
}

/// Server-side apply of a manifest (a dry run when `dry_run`); the API server's answer.
async fn apply_doc(client: &Client, doc: &Value, dry_run: bool) -> Result<Value, Error> {
    let (api, name) = api_for(client, doc).await?;
    let mut pp = PatchParams::apply(MANAGER).force();
    if dry_run {
        pp = pp.dry_run();
    }
    let obj: DynamicObject = serde_json::from_value(doc.clone())?;
    let out = api
        .patch(&name, &pp, &Patch::Apply(&obj))
        .await
        .map_err(|e| format!("apply {} {name} (dry run: {dry_run}): {e}", doc["kind"]))?;
    Ok(serde_json::to_value(out)?)
}

async fn delete_doc(client: &Client, doc: &Value) -> Result<(), Error> {
    let (api, name) = api_for(client, doc).await?;
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(format!("delete {} {name}: {e}", doc["kind"]).into()),
    }
}

/// Whether the recipe's ServiceAccount may do this (SubjectAccessReview).
async fn sa_may(client: &Client, attrs: ResourceAttributes) -> Result<bool, Error> {
    let sar = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(SA_USER.into()),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:fleet-system".into(),
                "system:authenticated".into(),
            ]),
            resource_attributes: Some(attrs),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &sar)
        .await?;
    Ok(r.status.is_some_and(|s| s.allowed))
}

fn attrs(
    verb: &str,
    group: &str,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> ResourceAttributes {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    ResourceAttributes {
        verb: Some(verb.into()),
        group: Some(group.into()),
        resource: Some(resource.into()),
        subresource,
        namespace: ns.map(str::to_owned),
        name: name.map(str::to_owned),
        ..Default::default()
    }
}

/// Waits until the authorizer's answer for the ServiceAccount is `allowed` (RBAC objects reach
/// the authorizer's cache a moment after they are written).
async fn wait_sa_may(
    client: &Client,
    what: &str,
    a: ResourceAttributes,
    allowed: bool,
) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if sa_may(client, a.clone()).await? == allowed {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{what}: the ServiceAccount is {} after 15 s",
            if allowed {
                "still denied"
            } else {
                "still allowed"
            }
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A short-lived token of the recipe's ServiceAccount (TokenRequest API). Never printed.
async fn sa_token(client: &Client, context: &str) -> Result<String, Error> {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(900),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<ServiceAccount>::namespaced(client.clone(), "fleet-system")
        .create_token_request("fleet-drift", &PostParams::default(), &request)
        .await
        .map_err(|e| format!("TokenRequest for fleet-system/fleet-drift on {context}: {e}"))?;
    answer
        .status
        .map(|s| s.token)
        .filter(|t| t.len() > 20)
        .ok_or_else(|| format!("TokenRequest on {context} answered without a token").into())
}

/// A kubeconfig with the lab's contexts (same names, servers and CA data) whose users are the
/// ServiceAccount's tokens; written readable by its owner only.
fn write_sa_kubeconfig(
    lab_kubeconfig: &Path,
    tokens: &BTreeMap<&str, String>,
    path: &Path,
) -> TestResult {
    let lab: Value = serde_json::from_str(&std::fs::read_to_string(lab_kubeconfig)?)?;
    let mut clusters = Vec::new();
    for context in tokens.keys() {
        let cluster = lab["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == json!(context))
            .ok_or_else(|| format!("no cluster {context} in the lab kubeconfig"))?;
        ensure!(
            cluster["cluster"]["certificate-authority-data"].is_string(),
            "the lab's cluster {context} has no CA data"
        );
        clusters.push(cluster.clone());
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "contexts": tokens.keys().map(|c| json!({"name": c, "context": {"cluster": c, "user": format!("fleet-drift@{c}")}})).collect::<Vec<_>>(),
        "users": tokens.iter().map(|(c, t)| json!({"name": format!("fleet-drift@{c}"), "user": {"token": t}})).collect::<Vec<_>>(),
        "current-context": "its1",
    });
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(serde_json::to_string_pretty(&doc)?.as_bytes())?;
    Ok(())
}

/// The CronJob's container: `command` + `args`, with the paths it mounts.
struct CronCommand {
    args: Vec<String>,
    /// mountPath → the directory standing for it here.
    mounts: Vec<(String, PathBuf)>,
}

impl CronCommand {
    /// Reads the command from the CronJob; `config` and `kubeconfig` stand for the
    /// ConfigMap and Secret volumes.
    fn from_cronjob(cronjob: &Value, config: &Path, kubeconfig: &Path) -> Result<Self, Error> {
        let pod = cronjob
            .pointer("/spec/jobTemplate/spec/template/spec")
            .ok_or("no pod template")?;
        let c = &pod["containers"][0];
        ensure!(
            c["command"] == json!(["fleet"]),
            "the container runs fleet: {}",
            c["command"]
        );
        let args: Vec<String> = c["args"]
            .as_array()
            .ok_or("no args")?
            .iter()
            .map(|a| {
                a.as_str()
                    .map(str::to_owned)
                    .ok_or("an arg is not a string")
            })
            .collect::<Result<_, _>>()?;
        let mut mounts = Vec::new();
        for m in c["volumeMounts"].as_array().ok_or("no volumeMounts")? {
            ensure!(m["readOnly"] == json!(true), "a writable mount: {m}");
            let volume = pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == m["name"])
                .ok_or_else(|| format!("no volume {}", m["name"]))?;
            let here = if volume["configMap"]["name"] == json!("fleet-toml") {
                config
            } else if volume["secret"]["secretName"] == json!("fleet-drift-kubeconfig") {
                kubeconfig
            } else {
                return Err(format!("unexpected volume {volume}").into());
            };
            let path = m["mountPath"].as_str().ok_or("no mountPath")?.to_owned();
            mounts.push((path, here.to_owned()));
        }
        Ok(CronCommand { args, mounts })
    }

    /// The arguments with the mounted paths mapped to here, `--output` set to `output`.
    fn args(&self, output: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                self.mounts
                    .iter()
                    .find_map(|(mount, here)| {
                        a.strip_prefix(&format!("{mount}/"))
                            .map(|rest| here.join(rest).display().to_string())
                    })
                    .unwrap_or_else(|| a.clone())
            })
            .collect();
        if let Some(i) = out.iter().position(|a| a == "--output") {
            out[i + 1] = output.to_owned();
        }
        out
    }
}

/// Runs the real fleet binary with `args` and nothing else from the environment's kubeconfig.
fn run_fleet(args: &[String]) -> Result<Run, Error> {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()?;
    Ok(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// What a run that could read everything never says.
fn mentions_unreadable(run: &Run) -> Option<&'static str> {
    let text = format!("{}\n{}", run.stdout, run.stderr);
    [
        "could not be read",
        "ncomplete",
        "orbidden",
        "(403)",
        "(401)",
        "nauthorized",
        "not allowed",
    ]
    .into_iter()
    .find(|w| text.contains(w))
}

pub async fn drift_with_the_read_only_recipe_rbac_reads_everything_and_writes_nothing(
    ctx: &Ctx,
) -> TestResult {
    ensure_registered(ctx, &WECS).await?;
    let mut clients = BTreeMap::new();
    for name in ["its1", "wds1"].into_iter().chain(WECS) {
        clients.insert(name, ctx.lab.client(name).await?);
    }
    let rbac = recipe("rbac.yaml")?;
    let result = drift_as_the_recipe_sa(ctx, &clients, &rbac).await;
    let cleanup = remove_recipe(ctx, &clients, &rbac).await;
    result?;
    cleanup
}

/// Undoes what the test did: fleet's RBAC expansions, then the recipe's ServiceAccount and
/// RBAC (not the namespaces: the WDS has no namespace controller to finish deleting them).
async fn remove_recipe(ctx: &Ctx, clients: &BTreeMap<&str, Client>, rbac: &[Value]) -> TestResult {
    let run = fleet(ctx, &fleet_toml(false), &["apply", "--auto-approve"])?;
    ensure!(run.code == 0, "removing the test's RBAC expansions:\n{run}");
    for (name, client) in clients {
        let kind = match *name {
            "its1" => "its",
            "wds1" => "wds",
            _ => "wec",
        };
        for doc in rbac_for(rbac, kind) {
            if doc["kind"] != json!("Namespace") && label(&doc, PART_OF).is_some() {
                delete_doc(client, &doc).await?;
            }
        }
    }
    Ok(())
}

async fn drift_as_the_recipe_sa(
    ctx: &Ctx,
    clients: &BTreeMap<&str, Client>,
    rbac: &[Value],
) -> TestResult {
    // The recipe's RBAC is read-only and none of it looks like fleet's own.
    for doc in rbac {
        let name = &doc["metadata"]["name"];
        ensure!(
            label(doc, "app.kubernetes.io/managed-by").is_none(),
            "{name} must not carry fleet's managed-by label"
        );
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for verb in rule["verbs"].as_array().ok_or("a rule without verbs")? {
                ensure!(
                    ["get", "list", "watch"].contains(&verb.as_str().unwrap_or("")),
                    "{name} grants {verb}"
                );
            }
        }
        for s in doc["subjects"].as_array().into_iter().flatten() {
            ensure!(
                s == &json!({"kind": "ServiceAccount", "name": "fleet-drift", "namespace": "fleet-system"}),
                "{name} binds {s}"
            );
        }
    }

    // What the read-only user is to read: applied by an admin, converged.
    let toml = fleet_toml(true);
    let applied = fleet(ctx, &toml, &["apply", "--auto-approve"])?;
    ensure!(applied.code == 0, "apply as admin:\n{applied}");
    let again = fleet(ctx, &toml, &["plan", "--detailed-exitcode"])?;
    ensure!(again.code == 0, "plan after apply is not empty:\n{again}");
    // KubeStellar delivers the downsync expansion within seconds: let it settle, so that the
    // two drift runs compared below see the same delivery.
    crate::kubestellar::wait_delivery_settled(ctx, "fleet-rbac-recipes-sync", &WECS).await?;

    // rbac.yaml, for real, on each kind of cluster.
    for (name, client) in clients {
        let kind = match *name {
            "its1" => "its",
            "wds1" => "wds",
            _ => "wec",
        };
        let docs = rbac_for(rbac, kind);
        ensure!(
            docs.len() >= 4,
            "rbac.yaml has only {} objects for {kind}",
            docs.len()
        );
        for doc in &docs {
            apply_doc(client, doc, false).await?;
        }
    }
    let its = &clients["its1"];

    // cronjob.yaml on the ITS: the namespace and ServiceAccount exist now; every object of it
    // passes a server-side dry run, and the CronJob is what the recipe promises.
    let cron_docs = recipe("cronjob.yaml")?;
    let mut cronjob = None;
    let mut sample = None;
    for doc in &cron_docs {
        let answer = apply_doc(its, doc, true).await?;
        match doc["kind"].as_str() {
            Some("CronJob") => cronjob = Some(answer),
            Some("ConfigMap") => sample = Some(answer),
            _ => {}
        }
    }
    let cronjob = cronjob.ok_or("cronjob.yaml has no CronJob")?;
    ensure!(
        Api::<k8s_openapi::api::batch::v1::CronJob>::namespaced(its.clone(), "fleet-system")
            .get_opt("fleet-drift")
            .await?
            .is_none(),
        "the dry run created the CronJob"
    );
    let spec = &cronjob["spec"];
    let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    for (what, ok) in [
        (
            "concurrencyPolicy Forbid",
            spec["concurrencyPolicy"] == json!("Forbid"),
        ),
        (
            "successfulJobsHistoryLimit",
            spec["successfulJobsHistoryLimit"].is_u64(),
        ),
        (
            "runAsNonRoot",
            pod["securityContext"]["runAsNonRoot"] == json!(true),
        ),
        (
            "no token mounted",
            pod["automountServiceAccountToken"] == json!(false),
        ),
        (
            "readOnlyRootFilesystem",
            container["securityContext"]["readOnlyRootFilesystem"] == json!(true),
        ),
        (
            "no privilege escalation",
            container["securityContext"]["allowPrivilegeEscalation"] == json!(false),
        ),
        (
            "resources",
            container["resources"]["requests"].is_object()
                && container["resources"]["limits"]["memory"].is_string(),
        ),
        (
            "the fleet-drift ServiceAccount",
            pod["serviceAccountName"] == json!("fleet-drift"),
        ),
    ] {
        ensure!(ok, "the CronJob lacks {what}:\n{cronjob:#}");
    }

    // The sample fleet.toml of the ConfigMap is valid.
    let dir = tempfile::tempdir()?;
    let sample_file = dir.path().join("sample.toml");
    std::fs::write(
        &sample_file,
        sample
            .as_ref()
            .and_then(|s| s["data"]["fleet.toml"].as_str())
            .ok_or("no fleet.toml in the ConfigMap")?,
    )?;
    let validated = run_fleet(&[
        "-f".into(),
        sample_file.display().to_string(),
        "validate".into(),
    ])?;
    ensure!(
        validated.code == 0 && validated.stderr.trim().is_empty(),
        "the ConfigMap's fleet.toml:\n{validated}"
    );

    // The authorizer agrees with rbac.yaml before fleet runs.
    let reads: Vec<(&str, ResourceAttributes)> = vec![
        (
            "its1",
            attrs(
                "list",
                "cluster.open-cluster-management.io",
                "managedclusters",
                None,
                None,
            ),
        ),
        (
            "its1",
            attrs(
                "list",
                "",
                "configmaps",
                Some("customization-properties"),
                None,
            ),
        ),
        (
            "its1",
            attrs("get", "", "namespaces", None, Some("kube-system")),
        ),
        (
            "its1",
            attrs(
                "get",
                "",
                "configmaps",
                Some("kube-public"),
                Some("cluster-info"),
            ),
        ),
        (
            "its1",
            attrs(
                "list",
                "certificates.k8s.io",
                "certificatesigningrequests",
                None,
                None,
            ),
        ),
        (
            "wds1",
            attrs(
                "list",
                "control.kubestellar.io",
                "bindingpolicies",
                None,
                None,
            ),
        ),
        (
            "wds1",
            attrs(
                "list",
                "rbac.authorization.k8s.io",
                "rolebindings",
                None,
                None,
            ),
        ),
        (
            "cluster1",
            attrs(
                "list",
                "rbac.authorization.k8s.io",
                "clusterroles",
                None,
                None,
            ),
        ),
        (
            "cluster3",
            attrs("list", "rbac.authorization.k8s.io", "roles", None, None),
        ),
        (
            "cluster3",
            attrs(
                "get",
                "operator.open-cluster-management.io",
                "klusterlets",
                None,
                Some("klusterlet"),
            ),
        ),
    ];
    for (cluster, a) in reads {
        wait_sa_may(&clients[cluster], &format!("{cluster}: {a:?}"), a, true).await?;
    }

    // Tokens of the ServiceAccount on each cluster, in a kubeconfig with the lab's context names.
    let mut tokens = BTreeMap::new();
    for (name, client) in clients {
        tokens.insert(*name, sa_token(client, name).await?);
    }
    let config_dir = dir.path().join("config");
    let kc_dir = dir.path().join("kubeconfig");
    std::fs::create_dir(&config_dir)?;
    std::fs::create_dir(&kc_dir)?;
    std::fs::write(config_dir.join("fleet.toml"), &toml)?;
    let kubeconfig = kc_dir.join("kubeconfig");
    write_sa_kubeconfig(ctx.lab.kubeconfig(), &tokens, &kubeconfig)?;
    let cron = CronCommand::from_cronjob(&cronjob, &config_dir, &kc_dir)?;
    let leaks = |run: &Run| {
        tokens
            .values()
            .any(|t| run.stdout.contains(t.as_str()) || run.stderr.contains(t.as_str()))
    };
    let admin_drift = || -> Result<Value, Error> {
        let run = fleet(ctx, &toml, &["drift", "--output", "json"])?;
        ensure!(run.code == 0 || run.code == 2, "drift as admin:\n{run}");
        Ok(serde_json::from_str(&run.stdout)?)
    };

    // `fleet drift` as the CronJob runs it, as the read-only ServiceAccount: it reads
    // everything (0 or 2, never 6) and finds what an admin finds.
    let human = run_fleet(&cron.args("human"))?;
    ensure!(
        human.code == 0 || human.code == 2,
        "drift as the recipe's ServiceAccount must exit 0 or 2:\n{human}"
    );
    if let Some(word) = mentions_unreadable(&human) {
        return Err(format!("drift as the ServiceAccount mentions `{word}`:\n{human}").into());
    }
    let json_run = run_fleet(&cron.args("json"))?;
    let as_sa: Value = serde_json::from_str(&json_run.stdout)
        .map_err(|e| format!("drift json: {e}\n{json_run}"))?;
    ensure!(
        json_run.code == human.code
            && as_sa["incomplete"] == json!(false)
            && as_sa["unreadable"] == json!([]),
        "drift as the ServiceAccount read everything:\n{json_run}"
    );
    let as_admin = admin_drift()?;
    ensure!(
        as_sa == as_admin,
        "the ServiceAccount's drift differs from an admin's:\n{as_sa:#}\n--- admin\n{as_admin:#}"
    );
    ensure!(
        !leaks(&human) && !leaks(&json_run),
        "a token appears in fleet's output"
    );

    // Drift made out of band on the ITS and on a WEC: the read-only run sees both.
    crate::fleet::label_as(its, "cluster1", "kubectl-label", json!({"tier": "bronze"})).await?;
    Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(clients["cluster3"].clone())
        .delete("fleet:recipes-claims", &DeleteParams::default())
        .await?;
    let drifted = run_fleet(&cron.args("json"))?;
    let v: Value =
        serde_json::from_str(&drifted.stdout).map_err(|e| format!("drift json: {e}\n{drifted}"))?;
    let changed = |kind: &str, location: &str| {
        v["changes"].as_array().into_iter().flatten().any(|c| {
            c["object"]["kind"] == json!(kind) && c["object"]["location"] == json!(location)
        })
    };
    ensure!(
        drifted.code == 2
            && v["incomplete"] == json!(false)
            && changed("ManagedCluster", "its")
            && changed("ClusterRoleBinding", "wec/cluster3")
            && v.to_string().contains("kubectl-label"),
        "drift as the ServiceAccount must name both changes and who made them:\n{drifted}"
    );
    ensure!(
        v == admin_drift()?,
        "the ServiceAccount's drift report differs from an admin's"
    );
    let restored = fleet(ctx, &toml, &["apply", "--auto-approve"])?;
    ensure!(restored.code == 0, "apply restores:\n{restored}");

    // Without its WEC binding on cluster3 the same run is incomplete (6), not in sync: the
    // exit codes above come from reads that were allowed.
    let wec_docs = rbac_for(rbac, "wec");
    let binding = wec_docs
        .iter()
        .find(|d| d["kind"] == json!("ClusterRoleBinding"))
        .ok_or("no WEC ClusterRoleBinding in rbac.yaml")?;
    let c3 = &clients["cluster3"];
    delete_doc(c3, binding).await?;
    let list_roles = attrs(
        "list",
        "rbac.authorization.k8s.io",
        "clusterroles",
        None,
        None,
    );
    wait_sa_may(
        c3,
        "cluster3 without the binding",
        list_roles.clone(),
        false,
    )
    .await?;
    let blind = run_fleet(&cron.args("human"))?;
    ensure!(
        blind.code == 6 && blind.stdout.contains("wec/cluster3"),
        "drift without read access to cluster3 must exit 6 and name it:\n{blind}"
    );
    apply_doc(c3, binding, false).await?;
    wait_sa_may(c3, "cluster3 with the binding again", list_roles, true).await?;
    let back = run_fleet(&cron.args("human"))?;
    ensure!(
        (back.code == 0 || back.code == 2) && mentions_unreadable(&back).is_none(),
        "drift with the binding back:\n{back}"
    );

    // Read-only: the authorizer refuses every write, on every kind of cluster…
    let mut writes: Vec<(&str, ResourceAttributes)> = Vec::new();
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        writes.extend([
            (
                "its1",
                attrs(
                    verb,
                    "cluster.open-cluster-management.io",
                    "managedclusters",
                    None,
                    Some("cluster1"),
                ),
            ),
            (
                "its1",
                attrs(
                    verb,
                    "",
                    "configmaps",
                    Some("customization-properties"),
                    None,
                ),
            ),
            (
                "its1",
                attrs(
                    verb,
                    "coordination.k8s.io",
                    "leases",
                    Some("kube-system"),
                    None,
                ),
            ),
            (
                "its1",
                attrs(
                    verb,
                    "",
                    "serviceaccounts/token",
                    Some("open-cluster-management"),
                    Some("agent-registration-bootstrap"),
                ),
            ),
            (
                "wds1",
                attrs(
                    verb,
                    "control.kubestellar.io",
                    "bindingpolicies",
                    None,
                    None,
                ),
            ),
            (
                "wds1",
                attrs(
                    verb,
                    "rbac.authorization.k8s.io",
                    "clusterroles",
                    None,
                    None,
                ),
            ),
        ]);
        for wec in WECS {
            writes.extend([
                (
                    wec,
                    attrs(
                        verb,
                        "rbac.authorization.k8s.io",
                        "clusterrolebindings",
                        None,
                        None,
                    ),
                ),
                (
                    wec,
                    attrs(
                        verb,
                        "rbac.authorization.k8s.io",
                        "roles",
                        Some("team-recipes"),
                        None,
                    ),
                ),
                (
                    wec,
                    attrs(
                        verb,
                        "",
                        "secrets",
                        Some("open-cluster-management-agent"),
                        None,
                    ),
                ),
                (
                    wec,
                    attrs(
                        verb,
                        "operator.open-cluster-management.io",
                        "klusterlets",
                        None,
                        Some("klusterlet"),
                    ),
                ),
            ]);
        }
    }
    writes.extend([
        (
            "its1",
            attrs(
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
                None,
                None,
            ),
        ),
        (
            "its1",
            attrs("get", "", "configmaps", Some("kube-public"), Some("other")),
        ),
        ("its1", attrs("list", "", "secrets", None, None)),
        (
            "wds1",
            attrs(
                "escalate",
                "rbac.authorization.k8s.io",
                "clusterroles",
                None,
                None,
            ),
        ),
        (
            "wds1",
            attrs(
                "bind",
                "rbac.authorization.k8s.io",
                "clusterroles",
                None,
                None,
            ),
        ),
        (
            "cluster1",
            attrs(
                "list",
                "",
                "secrets",
                Some("open-cluster-management-agent"),
                None,
            ),
        ),
        (
            "cluster1",
            attrs(
                "get",
                "",
                "secrets",
                Some("open-cluster-management-agent"),
                Some("hub-kubeconfig-secret"),
            ),
        ),
        ("cluster1", attrs("impersonate", "", "users", None, None)),
    ]);
    for (cluster, a) in writes {
        ensure!(
            !sa_may(&clients[cluster], a.clone()).await?,
            "{cluster} allows the ServiceAccount {a:?}"
        );
    }

    // …and a write tried with its token is forbidden.
    let forbidden = |what: &str, r: Result<(), kube::Error>| -> TestResult {
        match r {
            Err(kube::Error::Api(s)) if s.code == 403 => Ok(()),
            other => {
                Err(format!("{what} as the ServiceAccount: expected 403, got {other:?}").into())
            }
        }
    };
    let sa = |context: &'static str| {
        let kubeconfig = kubeconfig.clone();
        async move { fleet_lab::kube_util::client(&kubeconfig, context).await }
    };
    let its_sa = sa("its1").await?;
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "written-by-drift", "namespace": "customization-properties"}}),
    )?;
    forbidden(
        "create a properties ConfigMap",
        Api::<ConfigMap>::namespaced(its_sa.clone(), "customization-properties")
            .create(&PostParams::default(), &cm)
            .await
            .map(|_| ()),
    )?;
    forbidden(
        "label a ManagedCluster",
        fleet_lab::fixtures::managed_clusters(&its_sa)
            .patch(
                "cluster1",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"tier": "hacked"}}})),
            )
            .await
            .map(|_| ()),
    )?;
    let role: ClusterRole =
        serde_json::from_value(json!({"metadata": {"name": "written-by-drift"}}))?;
    forbidden(
        "create a ClusterRole on the WDS",
        Api::<ClusterRole>::all(sa("wds1").await?)
            .create(&PostParams::default(), &role)
            .await
            .map(|_| ()),
    )?;
    forbidden(
        "delete fleet's Role on cluster1",
        Api::<Role>::namespaced(sa("cluster1").await?, "team-recipes")
            .delete("fleet:recipes-jobs", &DeleteParams::default())
            .await
            .map(|_| ()),
    )?;
    ensure!(
        Api::<Role>::namespaced(clients["cluster1"].clone(), "team-recipes")
            .get_opt("fleet:recipes-jobs")
            .await?
            .is_some(),
        "fleet's Role on cluster1 is gone"
    );
    Ok(())
}
