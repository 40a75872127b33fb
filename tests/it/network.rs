//! Hostile networks and pipes, without a lab: a server that accepts and never answers, a
//! port nobody listens on, a closed stdout.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// A kubeconfig whose contexts `silent` and `refused` point at `silent_port` and
/// `refused_port` on 127.0.0.1.
fn kubeconfig(dir: &tempfile::TempDir, silent_port: u16, refused_port: u16) -> std::path::PathBuf {
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n\
- name: silent\n  cluster: {{server: \"https://127.0.0.1:{silent_port}\", insecure-skip-tls-verify: true}}\n\
- name: refused\n  cluster: {{server: \"https://127.0.0.1:{refused_port}\", insecure-skip-tls-verify: true}}\n\
users:\n- name: u\n  user: {{token: not-a-secret}}\n\
contexts:\n- {{name: silent, context: {{cluster: silent, user: u}}}}\n- {{name: refused, context: {{cluster: refused, user: u}}}}\n"
        ),
    )
    .unwrap();
    path
}

/// A port that was free a moment ago: nothing listens on it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fleet(
    dir: &tempfile::TempDir,
    its: &str,
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let toml = dir.path().join(format!("{its}.toml"));
    std::fs::write(&toml, format!("[its]\ncontext = \"{its}\"\n")).unwrap();
    Command::cargo_bin("fleet")
        .unwrap()
        .arg("-f")
        .arg(&toml)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_server_that_never_answers_costs_one_request_timeout_and_is_named() {
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&dir, port, free_port());
    let t0 = Instant::now();
    let out = fleet(&dir, "silent", &kc, &["plan", "--request-timeout", "1s"]);
    let took = t0.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stdout.contains("no answer within 1s")
            && stdout.contains(&format!("https://127.0.0.1:{port}"))
            && stdout.contains("--request-timeout"),
        "{stdout}"
    );
    drop(silent);
}

#[test]
fn a_refused_connection_is_named_and_apply_against_it_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&dir, free_port(), free_port());
    let plan = fleet(&dir, "refused", &kc, &["plan"]);
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(6), "{stdout}");
    assert!(stdout.contains("connection refused"), "{stdout}");
    let apply = fleet(&dir, "refused", &kc, &["apply", "--auto-approve"]);
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert_eq!(apply.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("nothing was read or written"), "{stderr}");
}

#[test]
fn a_context_missing_from_the_kubeconfig_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&dir, free_port(), free_port());
    let out = fleet(&dir, "refusd", &kc, &["plan"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did you mean `refused`"), "{stderr}");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("fleet.toml");
    std::fs::write(
        &toml,
        "[its]\ncontext = \"its1\"\n[wec.c1]\nlabels = { a = \"b\" }\n",
    )
    .unwrap();
    for args in [
        &["validate"][..],
        &["validate", "--output", "json"],
        &["fmt", "--check"],
    ] {
        let mut child = Command::cargo_bin("fleet")
            .unwrap()
            .arg("-f")
            .arg(&toml)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close the pipe, as `| head -c1` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        let _ = stdout.read(&mut one);
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{args:?}: exit {:?}\n{stderr}",
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn command_line_mistakes_exit_1() {
    for args in [
        &["plan", "--parallelism", "0"][..],
        &["plan", "--target", "garbage"],
        &[],
        &["-f", "", "validate"],
        &["plan", "--request-timeout", "0s"],
        &["apply", "plan.json", "--prune"],
    ] {
        let out = Command::cargo_bin("fleet")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
