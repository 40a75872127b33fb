//! Benchmark: fleet at scale against the physical floor and the tools it replaces.
//!
//! For each N of `FLEET_BENCH_SCALE_NS` (default `1000,5000,10000`) it starts a fresh lab (ITS
//! and WDS, no WEC apiservers, no agents), creates N ManagedClusters that report Joined and
//! Available, and converges a fleet.toml that gives each WEC labels and a properties
//! ConfigMap (`fleet apply`, not timed in the table). Then, on the same lab, side by side:
//!
//! - `fleet plan` with no changes, against a bare LIST of the same objects: `kubectl get
//!   managedclusters,configmaps -A -o json` (in kubectl's pages of 500), and kube-rs (fleet's
//!   client) listing both kinds side by side, one LIST each as fleet does (this program,
//!   started again in a mode that does only that) — median of 3 runs each, interleaved;
//! - `fleet plan` with 10 % of the WECs changed, and with one label changed; `fleet drift`;
//! - `fleet apply` of a label change on every WEC (default `--parallelism`, 64, and 10), against
//!   what the seeds do — a `kubectl label managedcluster` loop, of which 200 WECs are timed and
//!   the time is scaled to N — and `kubectl apply --server-side` of the same label as one
//!   multi-document file of N ManagedClusters;
//! - the API server's write ceiling: the same label change on the N ManagedClusters as bare
//!   server-side-apply PATCH requests from kube-rs at parallelism 8, 16, 32, 64 and 128; the
//!   best rate, and the time it implies for N writes;
//! - `fleet validate` of the N-WEC fleet.toml (median of 5).
//!
//! Each command's requests to the ITS come from the ITS apiserver's `apiserver_request_total`
//! (GET /metrics with the lab's admin credentials, before and after, summed over codes; LIST,
//! GET, PATCH — server-side apply included — and the rest; watches are left out: they are
//! counted when they end, and only the controllers watch). The server's cost is the CPU time
//! of the ITS's kube-apiserver and etcd meanwhile (`/proc/PID/stat`). Child processes are
//! reaped with `wait4`, whose rusage gives their peak RSS and CPU time (user + system), so the
//! client's own cost shows apart from the server's. kubectl is built by the lab from the same
//! Kubernetes 1.35 module as the apiserver.
//!
//! The ManagedClusters are not accepted by the hub (`hubAcceptsClient` stays false; the bench
//! writes their Joined and Available conditions itself, as their agents would): OCM's hub
//! controller then leaves them alone — no per-cluster namespace, RBAC or lease churn that
//! would add requests of its own to the counts. The idle background is measured and shown.
//!
//! Prints one table (Markdown), with a ratio against each target and whether it is met, then
//! the raw figures. Times are numbers, not verdicts; but every step must end with the exit
//! code it expects, print what a correct run prints, and leave the objects it should, or the
//! benchmark exits 1 after printing the table: a fast wrong answer is not a result.
//!
//! `cargo bench --bench scale` (release build); `FLEET_BENCH_SCALE_NS=1000,5000` picks the N.
//! `cargo test --benches` runs it with N = 50. For profiling, `FLEET_BENCH_SCALE_WRAP=prog`
//! runs every fleet command line as `prog fleet ARGS…` (e.g. a script around `perf record`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet_lab::{Lab, LabOptions};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

/// Parallelism of the bare-PATCH sweep that finds the API server's write ceiling.
const SWEEP: [usize; 5] = [8, 16, 32, 64, 128];
/// WECs the `kubectl label` loop times; its time is scaled to N.
const LOOP_SAMPLE: usize = 200;
/// Runs of each no-change plan and bare LIST (interleaved); the median is shown.
const FLOOR_RUNS: usize = 3;
/// Runs of `fleet validate`; the median is shown.
const VALIDATE_RUNS: usize = 5;
/// The label every "label change on every WEC" changes (set in `[defaults]`).
const REV: &str = "rev";

fn wec(i: usize) -> String {
    format!("wec-{i:05}")
}

/// The bench's fleet.toml: each WEC with labels (its region changed where `changed` says) and
/// two properties; `rev` on every WEC through `[defaults]`.
fn fleet_toml(n: usize, rev: &str, changed: impl Fn(usize) -> bool) -> String {
    let mut s = format!(
        "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nlabels = {{ environment = \"bench\", {REV} = \"{rev}\" }}\n\n\
         [group.edge]\nlabels = {{ \"location-group\" = \"edge\" }}\n\n"
    );
    for i in 0..n {
        let region = if changed(i) {
            "eu-central"
        } else {
            ["us-east", "us-west", "eu-west"][i % 3]
        };
        let _ = write!(
            s,
            "[wec.{w}]\ngroups = [\"edge\"]\nlabels = {{ name = \"{w}\", region = \"{region}\", store = \"{}\" }}\n\
             properties = {{ storeId = \"S{i:05}\", maxPods = \"{}\" }}\n\n",
            i % 97,
            100 + i % 50,
            w = wec(i),
        );
    }
    s
}

// ─── child processes, measured ───────────────────────────────────────────────────────────

struct Run {
    wall: Duration,
    cpu: Duration,
    rss_mb: f64,
    code: i32,
    /// The child's stdout (empty when above 8 MB: read `out` instead).
    stdout: String,
    out: tempfile::NamedTempFile,
    stderr: String,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Set in a copy of this program that runs one command and reports its rusage (see [`run`]).
const RUSAGE_ENV: &str = "FLEET_BENCH_SCALE_RUSAGE";
/// A program that runs fleet's command lines instead of running them directly (profiling).
const WRAP_ENV: &str = "FLEET_BENCH_SCALE_WRAP";
/// Set in a copy of this program that does the bare LIST with kube-rs (see [`bare_list`]).
const LIST_ENV: &str = "FLEET_BENCH_SCALE_LIST";

/// Runs `cmd` to completion; its wall time, exit code, and from `wait4` its (and its reaped
/// children's) CPU time and peak RSS.
///
/// The command is started by a fresh copy of this program, which reaps it and reports: on
/// Linux a child's peak RSS starts at the peak of the process it was spawned from (exec
/// keeps the larger of the two), so spawned from the bench itself, which holds lists of N
/// objects at times, a small command would report the bench's peak, not its own.
fn run(cmd: Command) -> Run {
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    let report = tempfile::NamedTempFile::new().expect("report file");
    let mut helper = Command::new(std::env::current_exe().expect("this program"));
    helper
        .env(RUSAGE_ENV, report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("stdout"))
        .stderr(err.reopen().expect("stderr"));
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => helper.env(k, v),
            None => helper.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        helper.current_dir(dir);
    }
    let status = helper.status().expect("start the rusage helper");
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let f: Vec<i64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [code, wall_us, cpu_us, maxrss_kib] = f[..] else {
        panic!("the rusage helper failed ({status}): {text:?}");
    };
    let small = std::fs::metadata(out.path()).map_or(0, |m| m.len()) <= 8 << 20;
    Run {
        wall: Duration::from_micros(wall_us as u64),
        cpu: Duration::from_micros(cpu_us as u64),
        rss_mb: maxrss_kib as f64 * 1024.0 / 1e6,
        code: code as i32,
        stdout: if small {
            std::fs::read_to_string(out.path()).unwrap_or_default()
        } else {
            String::new()
        },
        out,
        stderr: std::fs::read_to_string(err.path()).unwrap_or_default(),
    }
}

/// The helper of [`run`]: runs `ARGS…` with this process's stdio, reaps it with `wait4`, and
/// writes `code wall_µs cpu_µs maxrss_KiB` to `report`.
fn rusage_helper(report: &std::ffi::OsStr) -> ! {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let t0 = Instant::now();
    let pid = Command::new(&args[0])
        .args(&args[1..])
        .env_remove(RUSAGE_ENV)
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", args[0]))
        .id() as libc::pid_t;
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child and fills structs we own; std's Child is not
        // waited for afterwards.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    let wall = t0.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    let line = format!(
        "{code} {} {} {}\n",
        wall.as_micros(),
        cpu.as_micros(),
        ru.ru_maxrss
    );
    std::fs::write(report, line).expect("write the rusage report");
    std::process::exit(0)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// CPU time (user + system) of this whole process.
fn process_cpu() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: fills a struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

// ─── requests, from the ITS apiserver's metrics ──────────────────────────────────────────

/// `apiserver_request_total` by its label set.
type Counters = Vec<(String, f64)>;

/// What the ITS has served so far: its request counters, and the CPU time its kube-apiserver
/// and etcd have used.
struct Snap {
    counters: Counters,
    cpu: Duration,
}

/// CPU time (user + system) process `pid` has used, from `/proc/PID/stat`.
fn proc_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / hz)
}

async fn counters(its: &Client) -> Counters {
    // `kube::core::Request` builds the `http::Request` (`/metrics?`: no query parameters).
    let req = kube::core::Request::new("/metrics")
        .list(&ListParams::default())
        .expect("a GET /metrics request");
    let text = its
        .request_text(req)
        .await
        .expect("GET /metrics on the ITS");
    text.lines()
        .filter_map(|l| l.strip_prefix("apiserver_request_total{"))
        .filter_map(|rest| {
            let (labels, v) = rest.rsplit_once("} ")?;
            Some((labels.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn label<'a>(labels: &'a str, key: &str) -> &'a str {
    labels
        .split("\",")
        .find_map(|kv| {
            let (k, v) = kv.split_once("=\"")?;
            (k == key).then(|| v.trim_end_matches('"'))
        })
        .unwrap_or("")
}

/// A mutating verb of `apiserver_request_total` (`APPLY` is a server-side-apply PATCH).
fn is_write(verb: &str) -> bool {
    matches!(verb, "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE")
}

/// Requests one command sent to the ITS.
#[derive(Debug, Clone, Default)]
struct Reqs {
    list: f64,
    get: f64,
    patch: f64,
    other: f64,
    /// Writes the API server answered with anything but 2xx.
    failed_writes: f64,
    /// CPU time of the ITS's kube-apiserver and etcd meanwhile.
    server_cpu: Duration,
    /// `VERB resource[/subresource] code × count`, for the raw figures.
    detail: Vec<String>,
}

impl Reqs {
    fn total(&self) -> f64 {
        self.list + self.get + self.patch + self.other
    }

    fn between(before: &Snap, after: &Snap) -> Reqs {
        let mut r = Reqs {
            server_cpu: after.cpu.saturating_sub(before.cpu),
            ..Reqs::default()
        };
        for (labels, v) in &after.counters {
            let was = before
                .counters
                .iter()
                .find(|(l, _)| l == labels)
                .map_or(0.0, |(_, v)| *v);
            let d = v - was;
            if d <= 0.0 {
                continue;
            }
            let verb = label(labels, "verb");
            let code = label(labels, "code");
            // A watch is counted when it ends: the controllers' watches, started long before.
            if verb == "WATCH" {
                continue;
            }
            match verb {
                "LIST" => r.list += d,
                "GET" => r.get += d,
                "PATCH" | "APPLY" => r.patch += d,
                _ => r.other += d,
            }
            if is_write(verb) && !code.starts_with('2') {
                r.failed_writes += d;
            }
            let (res, sub) = (label(labels, "resource"), label(labels, "subresource"));
            let what = match (res, sub) {
                ("", s) => s.to_owned(),
                (r, "") => r.to_owned(),
                (r, s) => format!("{r}/{s}"),
            };
            r.detail.push(format!("{verb} {what} {code} ×{d}"));
        }
        r.detail.sort();
        r
    }

    fn scaled(&self, f: f64) -> Reqs {
        Reqs {
            list: self.list * f,
            get: self.get * f,
            patch: self.patch * f,
            other: self.other * f,
            failed_writes: self.failed_writes * f,
            server_cpu: self.server_cpu.mul_f64(f),
            detail: self.detail.clone(),
        }
    }

    fn cell(&self) -> String {
        format!(
            "{} ({} / {} / {} / {})",
            num(self.total()),
            num(self.list),
            num(self.get),
            num(self.patch),
            num(self.other)
        )
    }
}

fn num(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ─── the kube-rs side: bare LIST, bulk SSA ───────────────────────────────────────────────

/// fleet's client doing the bare LIST as fleet reads: a client from the kubeconfig, then
/// every ManagedCluster and every ConfigMap, one unpaginated LIST each, side by side, kept
/// in memory. Runs in a copy of this program (`LIST_ENV`), so that it is measured as the
/// commands are.
async fn bare_list(kc: &Path) -> Result<(usize, usize), String> {
    let client = fleet_lab::kube_util::client(kc, "its1")
        .await
        .map_err(|e| e.to_string())?;
    let cms: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::erase::<ConfigMap>(&()));
    let lp = ListParams::default();
    let mcs = fleet_lab::fixtures::managed_clusters(&client);
    let (mcs, cms) = tokio::join!(mcs.list(&lp), cms.list(&lp));
    let mcs = mcs.map_err(|e| format!("list managedclusters: {e}"))?;
    let cms = cms.map_err(|e| format!("list configmaps: {e}"))?;
    Ok((mcs.items.len(), cms.items.len()))
}

/// Counts, page by page (the bench keeps no list of N objects), the objects of `api`
/// (`lp` selects) for which `keep` holds.
async fn count<K>(api: &Api<K>, lp: ListParams, keep: impl Fn(&K) -> bool) -> Result<usize, String>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut lp = lp.limit(500);
    let mut n = 0;
    loop {
        let page = api.list(&lp).await.map_err(|e| e.to_string())?;
        n += page.items.iter().filter(|o| keep(o)).count();
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => lp = lp.continue_token(&token),
            _ => return Ok(n),
        }
    }
}

/// ManagedClusters and ConfigMaps in `kubectl get -o json` output, read without building
/// a tree of it.
fn kinds(path: &Path) -> (usize, usize) {
    #[derive(serde::Deserialize)]
    struct Item {
        kind: String,
    }
    #[derive(serde::Deserialize)]
    struct List {
        items: Vec<Item>,
    }
    let Ok(file) = std::fs::File::open(path) else {
        return (0, 0);
    };
    let list: List = serde_json::from_reader(std::io::BufReader::new(file))
        .unwrap_or(List { items: Vec::new() });
    let of = |k: &str| list.items.iter().filter(|i| i.kind == k).count();
    (of("ManagedCluster"), of("ConfigMap"))
}

/// What the bulk writer writes to ManagedCluster `i`.
#[derive(Clone)]
enum Write {
    /// Create it (SSA, `bench-registration`) and report it Joined and Available.
    Create,
    /// Set its `rev` label (SSA, `bench-ceiling`, forced).
    Rev(String),
}

/// Writes ManagedClusters 0..n with `par` requests in flight, each request its own task on a
/// two-thread runtime (so the client is not what limits the rate). Returns the wall time of
/// the writes (the client is made before), the failures, and the bench process's CPU time.
fn write_all(kc: &Path, n: usize, par: usize, what: Write) -> (Duration, usize, Duration) {
    let kc = kc.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let client = fleet_lab::kube_util::client(&kc, "its1")
                .await
                .expect("ITS client");
            let api = fleet_lab::fixtures::managed_clusters(&client);
            let cpu0 = process_cpu();
            let t0 = Instant::now();
            let failed = futures::stream::iter(0..n)
                .map(|i| {
                    let (api, what) = (api.clone(), what.clone());
                    tokio::spawn(async move { write_one(&api, i, &what).await })
                })
                .buffer_unordered(par)
                .filter(|r| futures::future::ready(!matches!(r, Ok(true))))
                .count()
                .await;
            (t0.elapsed(), failed, process_cpu() - cpu0)
        })
    })
    .join()
    .expect("writer thread")
}

async fn write_one(api: &Api<DynamicObject>, i: usize, what: &Write) -> bool {
    let name = wec(i);
    let meta = |labels: Value| {
        json!({
            "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
            "metadata": {"name": name, "labels": labels},
        })
    };
    match what {
        Write::Create => fleet_lab::fixtures::create_quiet_managed_cluster(api, &name).await,
        Write::Rev(value) => {
            let pp = PatchParams::apply("bench-ceiling").force();
            api.patch(&name, &pp, &Patch::Apply(&meta(json!({REV: value}))))
                .await
                .is_ok()
        }
    }
}

// ─── the table ───────────────────────────────────────────────────────────────────────────

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Background,
    PlanNoChange,
    KubectlList,
    KubeRsList,
    Plan10,
    Plan1,
    Drift,
    Apply,
    Apply10,
    KubectlLoop,
    KubectlSsa,
    Ceiling,
    Validate,
}

struct Row {
    n: usize,
    step: Step,
    what: String,
    /// The wall time shown (the median, or the scaled time); `None`: not a timed step.
    wall: Option<Duration>,
    /// `≈` in front of the time: scaled from a sample.
    scaled: bool,
    cpu: Option<Duration>,
    rss_mb: Option<f64>,
    reqs: Option<Reqs>,
    /// Every measured wall time, for the raw figures.
    raw: Vec<String>,
    target: String,
    ratio: String,
    met: Option<bool>,
}

impl Row {
    fn new(n: usize, step: Step, what: impl Into<String>) -> Row {
        Row {
            n,
            step,
            what: what.into(),
            wall: None,
            scaled: false,
            cpu: None,
            rss_mb: None,
            reqs: None,
            raw: Vec::new(),
            target: String::new(),
            ratio: String::new(),
            met: None,
        }
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 100.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.0} s")
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "",
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| N | what | wall | CPU (user+sys) | peak RSS | ITS requests: total (LIST / GET / PATCH+APPLY / other) | ITS apiserver + etcd CPU | target | ratio | met |"
    );
    println!("|---:|---|---:|---:|---:|---|---:|---|---:|---|");
    for r in rows {
        let n = if r.n == 0 {
            "all".to_owned()
        } else {
            num(r.n as f64)
        };
        let wall = r
            .wall
            .map(|w| format!("{}{}", if r.scaled { "≈ " } else { "" }, secs(w)))
            .unwrap_or_default();
        let cpu = r.cpu.map(secs).unwrap_or_else(|| "-".into());
        let rss = r
            .rss_mb
            .map(|m| format!("{m:.0} MB"))
            .unwrap_or_else(|| "-".into());
        let reqs = r.reqs.as_ref().map(Reqs::cell).unwrap_or_default();
        let server = r
            .reqs
            .as_ref()
            .map(|q| secs(q.server_cpu))
            .unwrap_or_default();
        println!(
            "| {n} | {} | {wall} | {cpu} | {rss} | {reqs} | {server} | {} | {} | {} |",
            r.what,
            r.target,
            r.ratio,
            mark(r.met)
        );
    }
}

// ─── one N ───────────────────────────────────────────────────────────────────────────────

struct Ctx {
    n: usize,
    kc: PathBuf,
    dir: PathBuf,
    kubectl: PathBuf,
    its: Client,
    /// The ITS's kube-apiserver and etcd.
    server_pids: Vec<u32>,
    rows: Vec<Row>,
    problems: Vec<String>,
}

impl Ctx {
    async fn snap(&self) -> Snap {
        Snap {
            counters: counters(&self.its).await,
            cpu: self.server_pids.iter().map(|&p| proc_cpu(p)).sum(),
        }
    }

    fn fleet(&self, file: &Path, args: &[&str]) -> Command {
        let fleet = env!("CARGO_BIN_EXE_fleet");
        // For profiling: `FLEET_BENCH_SCALE_WRAP=prog` runs `prog fleet ARGS…` (a perf or
        // heaptrack script); the figures then include the wrapper.
        let mut c = match std::env::var_os(WRAP_ENV) {
            Some(wrap) => {
                let mut c = Command::new(wrap);
                c.arg(fleet);
                c
            }
            None => Command::new(fleet),
        };
        c.arg("-f")
            .arg(file)
            .arg("--kubeconfig")
            .arg(&self.kc)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("FLEET_LOG");
        c
    }

    fn kubectl(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig")
            .arg(&self.kc)
            .args(["--context", "its1", "--cache-dir"])
            .arg(self.dir.join("kubectl-cache"))
            .args(args);
        c
    }

    fn write_toml(&self, name: &str, rev: &str, changed: impl Fn(usize) -> bool) -> PathBuf {
        let file = self.dir.join(name);
        std::fs::write(&file, fleet_toml(self.n, rev, changed)).expect("write fleet.toml");
        file
    }

    fn problem(&mut self, what: String) {
        eprintln!("bench: PROBLEM at N={}: {what}", self.n);
        self.problems.push(format!("N={}: {what}", self.n));
    }

    /// Runs `cmd`, diffing the ITS's request counters around it; checks the exit code and
    /// that stdout contains `expect_out`.
    async fn measured(
        &mut self,
        what: &str,
        cmd: Command,
        code: i32,
        expect_out: &str,
    ) -> (Run, Reqs) {
        let before = self.snap().await;
        let r = run(cmd);
        let reqs = Reqs::between(&before, &self.snap().await);
        eprintln!(
            "bench: N={} {what}: {:.2} s, exit {}, CPU {:.2} s, {:.0} MB, {} requests, server CPU {:.2} s",
            self.n,
            r.wall.as_secs_f64(),
            r.code,
            r.cpu.as_secs_f64(),
            r.rss_mb,
            num(reqs.total()),
            reqs.server_cpu.as_secs_f64()
        );
        if r.code != code {
            self.problem(format!(
                "{what}: exit {} (expected {code})\n{}\n{}",
                r.code,
                tail(&r.stdout, 10),
                tail(&r.stderr, 20)
            ));
        } else if !r.stdout.contains(expect_out) {
            self.problem(format!(
                "{what}: stdout lacks {expect_out:?}; it ends with:\n{}",
                tail(&r.stdout, 5)
            ));
        }
        (r, reqs)
    }

    /// A row from one measured run of a child process.
    fn row(&mut self, step: Step, what: &str, r: &Run, reqs: Reqs) {
        let mut s = Samples::default();
        s.add_run(r, reqs);
        self.rows.push(s.row(self.n, step, what));
    }

    fn get_row(&self, step: Step) -> Option<&Row> {
        self.rows.iter().find(|r| r.step == step)
    }
}

async fn measure_n(n: usize, kubectl: &Path, sample: usize) -> (Vec<Row>, Vec<String>) {
    let lab = match Lab::start(LabOptions {
        wecs: 0,
        dir: None,
        verbose: true,
    })
    .await
    {
        Ok(lab) => lab,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("N={n}: the lab did not start: {e}")],
            );
        }
    };
    let its = lab.client("its1").await.expect("ITS client");
    let work = tempfile::tempdir().expect("tempdir");
    let mut cx = Ctx {
        n,
        kc: lab.kubeconfig().to_owned(),
        dir: work.path().to_owned(),
        kubectl: kubectl.to_owned(),
        its,
        server_pids: lab
            .pids()
            .into_iter()
            .filter(|(name, _)| name == "kube-apiserver/its1" || name == "etcd")
            .map(|(_, pid)| pid)
            .collect(),
        rows: Vec::new(),
        problems: Vec::new(),
    };
    setup_and_measure(&mut cx, sample).await;
    drop(lab);
    (cx.rows, cx.problems)
}

/// Measurements of one step: every run's figures; the row shows the medians.
#[derive(Default)]
struct Samples {
    walls: Vec<Duration>,
    cpus: Vec<Duration>,
    rss_mb: Option<f64>,
    /// The fewest requests of the runs: every run of a step sends the same, and the lab's
    /// background (controllers' GETs, lease renewals) can only add to them.
    reqs: Option<Reqs>,
    raw: Vec<String>,
}

impl Samples {
    fn add(&mut self, wall: Duration, cpu: Duration, rss_mb: Option<f64>, reqs: Option<Reqs>) {
        let mut raw = format!("{} (CPU {}", secs3(wall), secs3(cpu));
        if let Some(m) = rss_mb {
            let _ = write!(raw, ", {m:.1} MB");
            self.rss_mb = Some(self.rss_mb.unwrap_or(0.0).max(m));
        }
        if let Some(q) = &reqs {
            let _ = write!(raw, ", {} requests", num(q.total()));
        }
        raw.push(')');
        self.raw.push(raw);
        self.walls.push(wall);
        self.cpus.push(cpu);
        if let Some(q) = reqs
            && self
                .reqs
                .as_ref()
                .is_none_or(|kept| q.total() < kept.total())
        {
            self.reqs = Some(q);
        }
    }

    fn add_run(&mut self, r: &Run, reqs: Reqs) {
        self.add(r.wall, r.cpu, Some(r.rss_mb), Some(reqs));
    }

    fn row(self, n: usize, step: Step, what: impl Into<String>) -> Row {
        let mut row = Row::new(n, step, what);
        row.wall = (!self.walls.is_empty()).then(|| median(self.walls));
        row.cpu = (!self.cpus.is_empty()).then(|| median(self.cpus));
        row.rss_mb = self.rss_mb;
        row.reqs = self.reqs;
        row.raw = self.raw;
        row
    }
}

fn secs3(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

async fn setup_and_measure(cx: &mut Ctx, sample: usize) {
    let Some(base) = setup(cx).await else {
        return;
    };
    let validate = validate(cx, &base);
    background(cx).await;
    floors(cx, &base).await;
    plans(cx, &base).await;
    label_writes(cx, sample).await;
    ceiling(cx).await;
    targets(cx);
    cx.rows.push(validate);
}

/// N ManagedClusters, converged by fleet (labels and properties ConfigMaps); the converged
/// fleet.toml, or `None` when that failed.
async fn setup(cx: &mut Ctx) -> Option<PathBuf> {
    let n = cx.n;
    let (t, failed, _) = write_all(&cx.kc, n, 32, Write::Create);
    eprintln!(
        "bench: N={n} created {n} ManagedClusters in {:.1} s ({failed} failed)",
        t.as_secs_f64()
    );
    settle(&cx.its).await;
    let base = cx.write_toml("fleet.toml", "r0", |_| false);
    let r = run(cx.fleet(&base, &["apply", "--auto-approve", "--parallelism", "32"]));
    eprintln!(
        "bench: N={n} setup apply (labels + {n} ConfigMaps): {:.1} s, exit {}",
        r.wall.as_secs_f64(),
        r.code
    );
    settle(&cx.its).await;
    let mcs = fleet_lab::fixtures::managed_clusters(&cx.its);
    let objects = count(&mcs, ListParams::default(), |_| true).await;
    // Besides the WECs' ConfigMaps, the namespace holds `kube-root-ca.crt`.
    let cms_ns: Api<ConfigMap> = Api::namespaced(cx.its.clone(), "customization-properties");
    let is_wec = |cm: &ConfigMap| {
        cm.metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("wec-"))
    };
    let props = count(&cms_ns, ListParams::default(), is_wec)
        .await
        .unwrap_or(0);
    let converged = run(cx.fleet(&base, &["plan", "--detailed-exitcode"])).code;
    if failed > 0
        || r.code != 0
        || objects.as_ref().ok() != Some(&n)
        || props != n
        || converged != 0
    {
        cx.problem(format!(
            "setup: {failed} ManagedClusters not created, apply exit {}, objects {objects:?}, \
             {props} properties ConfigMaps, converged plan exit {converged}\n{}",
            r.code,
            tail(&r.stderr, 20)
        ));
        return None;
    }
    Some(base)
}

/// `fleet validate` of the N-WEC file (offline).
fn validate(cx: &mut Ctx, base: &Path) -> Row {
    let mut s = Samples::default();
    for _ in 0..VALIDATE_RUNS {
        let r = run(cx.fleet(base, &["validate"]));
        if r.code != 0 {
            cx.problem(format!(
                "validate: exit {}\n{}",
                r.code,
                tail(&r.stderr, 10)
            ));
        }
        s.add(r.wall, r.cpu, Some(r.rss_mb), None);
    }
    let kib = std::fs::metadata(base).map_or(0, |m| m.len() / 1024);
    let mut row = s.row(
        cx.n,
        Step::Validate,
        format!(
            "`fleet validate`, the {}-WEC fleet.toml ({kib} KiB), median of {VALIDATE_RUNS}",
            num(cx.n as f64)
        ),
    );
    if let Some(t) = row.wall {
        row.target = "≤ 60 ms (at 10,000)".into();
        row.ratio = format!("{:.2}×", t.as_secs_f64() / 0.060);
        row.met = Some(t.as_secs_f64() <= 0.060);
    }
    row
}

/// What the ITS serves while nobody asks anything (it is in every count).
async fn background(cx: &mut Ctx) {
    let before = cx.snap().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut row = Row::new(
        cx.n,
        Step::Background,
        "the ITS idle for 10 s (background, part of every count below)",
    );
    row.reqs = Some(Reqs::between(&before, &cx.snap().await));
    cx.rows.push(row);
}

/// `fleet plan` with no changes against the bare LIST by kubectl and by kube-rs
/// (interleaved).
async fn floors(cx: &mut Ctx, base: &Path) {
    let n = cx.n;
    let _ = run(cx.kubectl(&["api-resources"])); // fills kubectl's discovery cache
    let (mut plan, mut kget, mut klist) =
        (Samples::default(), Samples::default(), Samples::default());
    for _ in 0..FLOOR_RUNS {
        let cmd = cx.fleet(base, &["plan", "--detailed-exitcode"]);
        let no_changes = "No changes. The fleet matches fleet.toml.";
        let (r, q) = cx.measured("plan (no changes)", cmd, 0, no_changes).await;
        plan.add_run(&r, q);

        let cmd = cx.kubectl(&["get", "managedclusters,configmaps", "-A", "-o", "json"]);
        let (r, q) = cx.measured("kubectl get -o json", cmd, 0, "").await;
        let (mcs, cms) = kinds(r.out.path());
        if mcs != n || cms < n {
            cx.problem(format!(
                "kubectl get listed {mcs} ManagedClusters and {cms} ConfigMaps"
            ));
        }
        kget.add_run(&r, q);

        let mut cmd = Command::new(std::env::current_exe().expect("this program"));
        cmd.env(LIST_ENV, &cx.kc);
        let (r, q) = cx.measured("kube-rs LIST", cmd, 0, "").await;
        let expect = format!("{n} ");
        if !r.stdout.starts_with(&expect) {
            cx.problem(format!(
                "kube-rs LIST: {:?} (expected {n} ManagedClusters)",
                r.stdout
            ));
        }
        klist.add_run(&r, q);
    }
    let rows = [
        plan.row(
            n,
            Step::PlanNoChange,
            format!("`fleet plan`, no changes (median of {FLOOR_RUNS})"),
        ),
        kget.row(
            n,
            Step::KubectlList,
            "bare LIST: `kubectl get managedclusters,configmaps -A -o json`",
        ),
        klist.row(
            n,
            Step::KubeRsList,
            "bare LIST: kube-rs (fleet's client) in a small Rust program, both kinds side by \
             side, one LIST each",
        ),
    ];
    cx.rows.extend(rows);
}

/// `fleet drift`, and `fleet plan` with 10 % of the WECs and with one label changed.
async fn plans(cx: &mut Ctx, base: &Path) {
    let n = cx.n;
    let cmd = cx.fleet(base, &["drift"]);
    let (r, q) = cx.measured("drift", cmd, 0, "No drift.").await;
    cx.row(Step::Drift, "`fleet drift`, whole fleet (no drift)", &r, q);

    let tenth = n.div_ceil(10);
    let file = cx.write_toml("fleet-10pct.toml", "r0", |i| i % 10 == 0);
    let cmd = cx.fleet(&file, &["plan", "--detailed-exitcode"]);
    let expect = format!("Plan: 0 to add, {tenth} to change, 0 to destroy.");
    let (r, q) = cx.measured("plan (10 %)", cmd, 2, &expect).await;
    let what = format!(
        "`fleet plan`, 10 % of the WECs changed ({} changes)",
        num(tenth as f64)
    );
    cx.row(Step::Plan10, &what, &r, q);

    let file = cx.write_toml("fleet-1.toml", "r0", |i| i == n / 2);
    let cmd = cx.fleet(&file, &["plan", "--detailed-exitcode"]);
    let expect = "Plan: 0 to add, 1 to change, 0 to destroy.";
    let (r, q) = cx.measured("plan (one label)", cmd, 2, expect).await;
    cx.row(Step::Plan1, "`fleet plan`, one label changed", &r, q);
}

/// A label change on every WEC: fleet apply (default parallelism, and 10), kubectl apply
/// --server-side of one file, and the seeds' `kubectl label` loop (`sample` WECs, scaled).
async fn label_writes(cx: &mut Ctx, sample: usize) {
    let n = cx.n;
    let all_changed = format!("Apply complete! Resources: 0 added, {n} changed, 0 destroyed.");
    let file = cx.write_toml("fleet-r1.toml", "r1", |_| false);
    let cmd = cx.fleet(&file, &["apply", "--auto-approve"]);
    let (r, q) = cx.measured("apply", cmd, 0, &all_changed).await;
    check_rev(cx, "fleet apply", "r1", None).await;
    let what = format!(
        "`fleet apply`, a label change on every WEC ({} writes; default `--parallelism`, {})",
        num(n as f64),
        fleet::kube::DEFAULT_PARALLELISM
    );
    cx.row(Step::Apply, &what, &r, q);

    let file = cx.write_toml("fleet-r2.toml", "r2", |_| false);
    let cmd = cx.fleet(&file, &["apply", "--auto-approve", "--parallelism", "10"]);
    let (r, q) = cx
        .measured("apply --parallelism 10", cmd, 0, &all_changed)
        .await;
    check_rev(cx, "fleet apply --parallelism 10", "r2", None).await;
    let what = "`fleet apply --parallelism 10` (Terraform's default), the same (another value)";
    cx.row(Step::Apply10, what, &r, q);

    let mut yaml = String::new();
    for i in 0..n {
        let _ = write!(
            yaml,
            "---\napiVersion: cluster.open-cluster-management.io/v1\nkind: ManagedCluster\n\
             metadata:\n  name: {}\n  labels:\n    {REV}: r3\n",
            wec(i)
        );
    }
    let file = cx.dir.join("labels.yaml");
    std::fs::write(&file, yaml).expect("write labels.yaml");
    let file = file.display().to_string();
    let args = ["apply", "--server-side", "--force-conflicts", "-f", &file];
    let cmd = cx.kubectl(&args);
    let (r, q) = cx
        .measured("kubectl apply --server-side", cmd, 0, "serverside-applied")
        .await;
    check_rev(cx, "kubectl apply --server-side", "r3", None).await;
    let what = format!(
        "`kubectl apply --server-side --force-conflicts -f`, one file of {} ManagedClusters",
        num(n as f64)
    );
    cx.row(Step::KubectlSsa, &what, &r, q);

    // The seeds label one ManagedCluster per command; `sample` of them, spread over the N.
    let names: Vec<String> = (0..sample).map(|k| wec(k * n / sample)).collect();
    let mut script = String::from("set -euo pipefail\n");
    for w in &names {
        let _ = writeln!(
            script,
            "\"$KUBECTL\" --kubeconfig \"$KC\" --context its1 --cache-dir \"$CACHE\" \
             label managedcluster {w} {REV}=r4 --overwrite"
        );
    }
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .env("KUBECTL", &cx.kubectl)
        .env("KC", &cx.kc)
        .env("CACHE", cx.dir.join("kubectl-cache"));
    let (r, q) = cx.measured("kubectl label loop", cmd, 0, "labeled").await;
    check_rev(cx, "kubectl label loop", "r4", Some(&names)).await;
    let f = n as f64 / sample as f64;
    let mut row = Row::new(
        n,
        Step::KubectlLoop,
        format!(
            "the seeds: a `kubectl label managedcluster` loop, one WEC per command — \
             {sample} timed, × {f:.0} to N"
        ),
    );
    row.wall = Some(r.wall.mul_f64(f));
    row.scaled = sample != n;
    row.cpu = Some(r.cpu.mul_f64(f));
    row.rss_mb = Some(r.rss_mb);
    row.raw = vec![format!(
        "{sample} WECs: {} (CPU {}, {:.1} MB, {} requests)",
        secs3(r.wall),
        secs3(r.cpu),
        r.rss_mb,
        num(q.total())
    )];
    row.reqs = Some(q.scaled(f));
    cx.rows.push(row);
}

/// The API server's write ceiling: the label change on the N ManagedClusters as bare SSA
/// PATCHes at parallelism 8…128; the best rate.
async fn ceiling(cx: &mut Ctx) {
    let n = cx.n;
    let mut best: Option<(usize, f64)> = None;
    let mut row = Row::new(n, Step::Ceiling, String::new());
    for p in SWEEP {
        let before = cx.snap().await;
        let (t, failed, cpu) = write_all(&cx.kc, n, p, Write::Rev(format!("c{p}")));
        let q = Reqs::between(&before, &cx.snap().await);
        let rate = n as f64 / t.as_secs_f64();
        eprintln!(
            "bench: N={n} ceiling p={p}: {:.2} s, {rate:.0} writes/s, {failed} failed",
            t.as_secs_f64()
        );
        row.raw.push(format!(
            "p={p}: {} = {rate:.0} writes/s, {failed} failed, bench CPU {}, {} requests",
            secs3(t),
            secs3(cpu),
            num(q.total())
        ));
        if failed > 0 || q.failed_writes > 0.0 {
            cx.problem(format!("write ceiling p={p}: {failed} writes failed"));
            continue;
        }
        if best.is_none_or(|(_, b)| rate > b) {
            best = Some((p, rate));
            row.reqs = Some(q);
            row.cpu = Some(cpu);
        }
    }
    let last = format!("c{}", SWEEP[SWEEP.len() - 1]);
    check_rev(cx, "write ceiling", &last, None).await;
    if let Some((p, rate)) = best {
        row.what = format!(
            "write ceiling: the label as bare SSA PATCHes from kube-rs, best of parallelism \
             8…128 (p = {p}: {rate:.0} writes/s): time for {} writes",
            num(n as f64)
        );
        row.wall = Some(Duration::from_secs_f64(n as f64 / rate));
    }
    cx.rows.push(row);
}

/// Waits until nothing writes to the ITS for 3 s (at most 2 minutes): OCM's hub controller
/// adds its finalizer to each new ManagedCluster and taints it until its conditions say
/// Available.
async fn settle(its: &Client) {
    let t0 = Instant::now();
    let writes = |c: &Counters| -> f64 {
        c.iter()
            .filter(|(l, _)| is_write(label(l, "verb")))
            .filter(|(l, _)| label(l, "resource") != "leases")
            .map(|(_, v)| v)
            .sum()
    };
    let mut last = writes(&counters(its).await);
    while t0.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = writes(&counters(its).await);
        if now == last {
            break;
        }
        last = now;
    }
    eprintln!(
        "bench: the ITS settled in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// The ManagedClusters (`names`, or all N) must carry `rev = value`.
async fn check_rev(cx: &mut Ctx, what: &str, value: &str, names: Option<&[String]>) {
    let want = names.map_or(cx.n, <[String]>::len);
    let total = std::cell::Cell::new(0);
    let api = fleet_lab::fixtures::managed_clusters(&cx.its);
    let has_it = |mc: &DynamicObject| {
        total.set(total.get() + 1);
        let name = mc.metadata.name.as_deref().unwrap_or_default();
        let rev = mc.metadata.labels.as_ref().and_then(|l| l.get(REV));
        rev.is_some_and(|r| r == value) && names.is_none_or(|ns| ns.iter().any(|n| n == name))
    };
    let have = count(&api, ListParams::default(), has_it).await;
    if have.as_ref().ok() != Some(&want) || total.get() != cx.n {
        cx.problem(format!(
            "{what}: {have:?} of {want} ManagedClusters carry {REV}={value} ({} exist, {} expected)",
            total.get(),
            cx.n
        ));
    }
}

/// Ratios of fleet's rows against the rows they are compared with, for one N.
fn targets(cx: &mut Ctx) {
    let wall = |s: Step| cx.get_row(s).and_then(|r| r.wall).map(|d| d.as_secs_f64());
    let (plan, kget, klist) = (
        wall(Step::PlanNoChange),
        wall(Step::KubectlList),
        wall(Step::KubeRsList),
    );
    let (apply, kloop, kssa, ceiling) = (
        wall(Step::Apply),
        wall(Step::KubectlLoop),
        wall(Step::KubectlSsa),
        wall(Step::Ceiling),
    );
    let apply_failed = cx
        .get_row(Step::Apply)
        .and_then(|r| r.reqs.as_ref())
        .map(|q| q.failed_writes);
    let floor = match (kget, klist) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let set =
        |rows: &mut Vec<Row>, s: Step, target: &str, ratio: Option<f64>, ok: fn(f64) -> bool| {
            if let (Some(row), Some(x)) = (rows.iter_mut().find(|r| r.step == s), ratio) {
                row.target = target.to_owned();
                row.ratio = format!("{x:.2}×");
                row.met = Some(ok(x));
            }
        };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    set(
        &mut cx.rows,
        Step::KubectlList,
        "`fleet plan` ≤ 1.5 × this (at 10,000)",
        ratio(plan, kget),
        |x| x <= 1.5,
    );
    set(
        &mut cx.rows,
        Step::KubeRsList,
        "`fleet plan` ≤ 1.5 × this (at 10,000)",
        ratio(plan, klist),
        |x| x <= 1.5,
    );
    set(
        &mut cx.rows,
        Step::PlanNoChange,
        "≤ 1.5 × the faster bare LIST (at 10,000)",
        ratio(plan, floor),
        |x| x <= 1.5,
    );
    set(
        &mut cx.rows,
        Step::KubectlLoop,
        "`fleet apply` ≥ 20 × faster",
        ratio(kloop, apply),
        |x| x >= 20.0,
    );
    set(
        &mut cx.rows,
        Step::KubectlSsa,
        "`fleet apply` ≥ 4 × faster",
        ratio(kssa, apply),
        |x| x >= 4.0,
    );
    set(
        &mut cx.rows,
        Step::Ceiling,
        "`fleet apply` within 1.25 × of this",
        ratio(apply, ceiling),
        |x| x <= 1.25,
    );
    if let Some(row) = cx.rows.iter_mut().find(|r| r.step == Step::Apply) {
        row.target = "0 failed writes".into();
        row.ratio = apply_failed
            .map(|f| format!("{f:.0} failed"))
            .unwrap_or_default();
        row.met = apply_failed.map(|f| f == 0.0);
    }
    if let Some(row) = cx.rows.iter_mut().find(|r| r.step == Step::Apply10)
        && let (Some(a), Some(c)) = (row.wall, ceiling)
    {
        row.target = "(vs the write ceiling)".into();
        row.ratio = format!("{:.2}×", a.as_secs_f64() / c);
    }
}

/// The targets across N: requests of a no-change plan constant in N, cost linear in N, peak
/// RSS at the largest N.
fn across_n(rows: &[Row], ns: &[usize]) -> Vec<Row> {
    let mut out = Vec::new();
    let (lo, hi) = (ns.iter().min().copied(), ns.iter().max().copied());
    let find = |n: usize, s: Step| rows.iter().find(|r| r.n == n && r.step == s);

    let mut r = Row::new(
        0,
        Step::PlanNoChange,
        "`fleet plan`, no changes: ITS requests at each N",
    );
    let counts: Vec<(usize, f64, f64)> = ns
        .iter()
        .filter_map(|&n| {
            let q = find(n, Step::PlanNoChange)?.reqs.as_ref()?;
            Some((n, q.total(), q.list))
        })
        .collect();
    r.what = format!(
        "`fleet plan`, no changes: ITS requests at N = {} (LIST pages: {})",
        counts
            .iter()
            .map(|(n, t, _)| format!("{}: {}", num(*n as f64), num(*t)))
            .collect::<Vec<_>>()
            .join(", "),
        counts
            .iter()
            .map(|(_, _, l)| num(*l))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    r.target = "constant in N".into();
    if counts.len() >= 2 {
        let (min, max) = counts.iter().fold((f64::MAX, 0.0f64), |(a, b), (_, t, _)| {
            (a.min(*t), b.max(*t))
        });
        r.ratio = format!("{:.2}×", max / min);
        r.met = Some(max == min);
    }
    out.push(r);

    if let (Some(lo), Some(hi)) = (lo, hi)
        && lo != hi
    {
        for (step, name) in [
            (Step::PlanNoChange, "`fleet plan`, no changes"),
            (Step::Apply, "`fleet apply`, a label on every WEC"),
        ] {
            let (Some(a), Some(b)) = (find(lo, step), find(hi, step)) else {
                continue;
            };
            let (Some(wa), Some(wb)) = (a.wall, b.wall) else {
                continue;
            };
            let per = |d: Duration, n: usize| d.as_secs_f64() / n as f64 * 1e6;
            let mut r = Row::new(
                0,
                step,
                format!(
                    "{name}: wall per WEC {:.0} µs at {} → {:.0} µs at {}; CPU per WEC {:.0} → {:.0} µs",
                    per(wa, lo),
                    num(lo as f64),
                    per(wb, hi),
                    num(hi as f64),
                    a.cpu.map_or(0.0, |c| per(c, lo)),
                    b.cpu.map_or(0.0, |c| per(c, hi)),
                ),
            );
            // fleet's own cost is its CPU time; the wall time also depends on the server
            // and on how busy the machine was.
            let (Some(ca), Some(cb)) = (a.cpu, b.cpu) else {
                continue;
            };
            let x = per(cb, hi) / per(ca, lo);
            r.target =
                "linear in N: fleet's CPU per WEC at the largest N ≤ 1.25 × at the smallest".into();
            r.ratio = format!("{x:.2}× (wall {:.2}×)", per(wb, hi) / per(wa, lo));
            r.met = Some(x <= 1.25);
            out.push(r);
        }
    }

    if let Some(hi) = hi {
        let fleet_steps = [
            Step::PlanNoChange,
            Step::Plan10,
            Step::Plan1,
            Step::Drift,
            Step::Apply,
            Step::Apply10,
            Step::Validate,
        ];
        let peak = rows
            .iter()
            .filter(|r| r.n == hi && fleet_steps.contains(&r.step))
            .filter_map(|r| r.rss_mb.map(|m| (m, r.step)))
            .fold(None::<(f64, Step)>, |acc, (m, s)| match acc {
                Some((a, _)) if a >= m => acc,
                _ => Some((m, s)),
            });
        if let Some((mb, step)) = peak {
            let mut r = Row::new(
                0,
                step,
                format!(
                    "fleet's peak RSS at N = {} (max over its commands: {step:?})",
                    num(hi as f64)
                ),
            );
            r.rss_mb = Some(mb);
            r.target = if hi == 10_000 {
                "≤ 100 MB at 10,000".into()
            } else {
                format!(
                    "≤ 100 MB at 10,000 (shown at {}, the largest N run)",
                    num(hi as f64)
                )
            };
            r.ratio = format!("{:.2}×", mb / 100.0);
            r.met = Some(mb <= 100.0);
            out.push(r);
        }
    }
    out
}

/// The 1-minute load average, from `/proc/loadavg`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    if let Some(report) = std::env::var_os(RUSAGE_ENV) {
        rusage_helper(&report);
    }
    if let Some(kc) = std::env::var_os(LIST_ENV) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        match rt.block_on(bare_list(Path::new(&kc))) {
            Ok((mcs, cms)) => println!("{mcs} {cms}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    // `cargo test --benches` runs benches as tests: keep that quick and meaningful.
    let quick = !std::env::args().any(|a| a == "--bench");
    let ns: Vec<usize> = match std::env::var("FLEET_BENCH_SCALE_NS") {
        Ok(v) => v
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse()
                    .expect("FLEET_BENCH_SCALE_NS: numbers separated by commas")
            })
            .collect(),
        Err(_) if quick => vec![50],
        Err(_) => vec![1000, 5000, 10_000],
    };
    let bins = fleet_lab::Bins::ensure().expect("the lab's binaries (build-bins.sh)");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t0 = Instant::now();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut runs = Vec::new();
    for &n in &ns {
        let sample = LOOP_SAMPLE.min(n);
        let t = Instant::now();
        let load = loadavg();
        let (r, p) = rt.block_on(measure_n(n, &bins.kubectl, sample));
        let took = t.elapsed().as_secs_f64();
        eprintln!("bench: N={n} done in {took:.0} s");
        // The machine is shared: its load says how much the figures were disturbed.
        runs.push(format!(
            "N = {}: {took:.0} s, load average {load} → {}",
            num(n as f64),
            loadavg()
        ));
        rows.extend(r);
        problems.extend(p);
    }
    let extra = across_n(&rows, &ns);
    rows.extend(extra);

    println!(
        "\nfleet at scale: N ManagedClusters with labels and a properties ConfigMap each, on the lab's ITS \
         (kube-apiserver 1.35.8, no agents); kubectl 1.35.8 from the same module; {} cores; whole run {:.0} s\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        t0.elapsed().as_secs_f64()
    );
    print_table(&rows);
    println!("\nper N: {}", runs.join("; "));
    println!("\nraw figures:");
    for r in &rows {
        if r.raw.is_empty() && r.reqs.is_none() {
            continue;
        }
        let n = if r.n == 0 {
            "all".to_owned()
        } else {
            r.n.to_string()
        };
        println!("  N={n} {:?}: {}", r.step, r.raw.join("; "));
        if let Some(q) = &r.reqs {
            println!("      requests: {}", q.detail.join(", "));
        }
    }
    if !problems.is_empty() {
        eprintln!("\nbench: FAILED — {} problem(s):", problems.len());
        for p in &problems {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
}
