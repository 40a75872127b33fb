//! Benchmark: `fleet plan`, `apply` and `drift` on a big fleet, against the lab.
//!
//! Starts a lab (ITS + WDS, no WEC apiservers), creates N registered (Joined, Available)
//! ManagedClusters on the ITS
//! (`FLEET_BENCH_WECS`, default 5000), writes a fleet.toml giving each WEC labels and
//! properties, and times the real `fleet` binary: the first plan (every WEC changes), the
//! apply, the converged plan, drift, and a plan after one WEC's label changed. Prints a table
//! with wall time and peak RSS of each run. Times are numbers, not verdicts; but every run must
//! end with the exit code its step expects and all N ManagedClusters must exist, or the
//! benchmark fails (exit 1) after printing the table: a fast wrong answer is not a result.
//!
//! `cargo bench --bench plan` (release build of fleet is used by cargo bench).

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use fleet_lab::{Lab, LabOptions};
use futures::StreamExt;

fn fleet_toml(n: usize, changed: Option<usize>) -> String {
    let mut s = String::from(
        "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nlabels = { environment = \"bench\" }\n\n\
         [group.edge]\nlabels = { \"location-group\" = \"edge\" }\n\n",
    );
    for i in 0..n {
        let region = if changed == Some(i) {
            "eu-central"
        } else {
            ["us-east", "us-west", "eu-west"][i % 3]
        };
        let _ = write!(
            s,
            "[wec.wec-{i:05}]\ngroups = [\"edge\"]\nlabels = {{ name = \"wec-{i:05}\", region = \"{region}\", store = \"{}\" }}\n\
             properties = {{ storeId = \"S{i:05}\", maxPods = \"{}\" }}\n\n",
            i % 97,
            100 + i % 50
        );
    }
    s
}

struct Row {
    step: String,
    wall: Duration,
    exit: i32,
    expected: i32,
    rss_mib: f64,
}

/// Runs `fleet -f FILE --kubeconfig KC ARGS…`; returns wall time, exit code and the
/// child's own peak RSS in MiB (from `wait4`).
fn run(
    kubeconfig: &std::path::Path,
    file: &std::path::Path,
    args: &[&str],
) -> (Duration, i32, f64) {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let t0 = Instant::now();
    // Only the pid is kept: the child is reaped by wait4, which also reads its rusage.
    let pid = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .arg("-f")
        .arg(file)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("run fleet")
        .id();
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills structs we own; std's Child is not waited
    // for afterwards.
    unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    let wall = t0.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    if !matches!(code, 0 | 2) {
        eprintln!(
            "{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }
    (wall, code, ru.ru_maxrss as f64 / 1024.0)
}

fn main() {
    // `cargo test --benches` runs benches as tests: keep that quick and meaningful.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("FLEET_BENCH_WECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 50 } else { 5000 });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let lab = Lab::start(LabOptions {
            wecs: 0,
            dir: None,
            verbose: true,
        })
        .await
        .expect("the lab must start");
        let its = lab.client("its1").await.expect("its client");
        let api = fleet_lab::fixtures::managed_clusters(&its);
        let t0 = Instant::now();
        let created = futures::stream::iter(0..n)
            .map(|i| {
                let api = api.clone();
                // Registered WECs as fleet sees them, which the hub's controllers leave alone:
                // apply's writes land on the versions its plan read.
                async move {
                    fleet_lab::fixtures::create_quiet_managed_cluster(&api, &format!("wec-{i:05}"))
                        .await
                }
            })
            .buffer_unordered(32)
            .filter(|ok| futures::future::ready(*ok))
            .count()
            .await;
        eprintln!(
            "bench: created {created}/{n} ManagedClusters in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
        let listed = fleet_lab::fixtures::managed_clusters(&its)
            .list(&Default::default())
            .await
            .expect("list ManagedClusters")
            .items
            .len();
        assert_eq!(
            (created, listed),
            (n, n),
            "bench: the ITS must hold exactly {n} ManagedClusters"
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("fleet.toml");
        std::fs::write(&file, fleet_toml(n, None)).expect("write fleet.toml");
        let kc = lab.kubeconfig().to_owned();
        let mut rows = Vec::new();
        // Each step with the exit code a correct fleet gives: 2 = changes, 0 = none.
        let mut step = |name: &str, expected: i32, args: &[&str]| {
            let (wall, exit, rss_mib) = run(&kc, &file, args);
            rows.push(Row {
                step: name.to_owned(),
                wall,
                exit,
                expected,
                rss_mib,
            });
        };
        step(
            "plan (all WECs change)",
            2,
            &["plan", "--detailed-exitcode"],
        );
        step("plan --output json", 0, &["plan", "--output", "json"]);
        step(
            "apply --auto-approve --parallelism 32",
            0,
            &["apply", "--auto-approve", "--parallelism", "32"],
        );
        step("plan (converged)", 0, &["plan", "--detailed-exitcode"]);
        step("drift (none)", 0, &["drift"]);
        std::fs::write(&file, fleet_toml(n, Some(n / 2))).expect("write fleet.toml");
        step(
            "plan (1 label changed)",
            2,
            &["plan", "--detailed-exitcode"],
        );

        println!(
            "\nfleet on {n} WECs (ITS with {n} ManagedClusters; labels + properties per WEC)\n"
        );
        println!(
            "{:<40} {:>10} {:>6} {:>12}",
            "step", "wall", "exit", "peak RSS"
        );
        for r in &rows {
            let flag = if r.exit == r.expected {
                ""
            } else {
                "  ← expected exit "
            };
            let want = if r.exit == r.expected {
                String::new()
            } else {
                r.expected.to_string()
            };
            println!(
                "{:<40} {:>8.2} s {:>6} {:>8.0} MiB{flag}{want}",
                r.step,
                r.wall.as_secs_f64(),
                r.exit,
                r.rss_mib
            );
        }
        drop(lab);
        let wrong: Vec<&str> = rows
            .iter()
            .filter(|r| r.exit != r.expected)
            .map(|r| r.step.as_str())
            .collect();
        if !wrong.is_empty() {
            eprintln!("bench: FAILED — wrong exit code in: {}", wrong.join(", "));
            std::process::exit(1);
        }
    });
}
