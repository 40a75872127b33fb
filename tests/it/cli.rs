//! The `fleet` binary: exit codes and output streams of `validate` and `fmt`.

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::root;

fn fleet() -> Command {
    let mut cmd = Command::cargo_bin("fleet").unwrap();
    cmd.env_remove("FORCE_COLOR").env("NO_COLOR", "1");
    cmd
}

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_accepts_a_valid_file() {
    fleet()
        .args(["validate", "-f"])
        .arg(root().join("examples/getting-started.toml"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("is valid: 2 WECs"));
}

#[test]
fn validate_exits_1_on_errors_and_prints_them_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[its]\ncontext = \"its1\"\n\n[wec.Bad_Name]\nlables = {}\n",
    );
    fleet()
        .arg("-f")
        .arg(&path)
        .arg("validate")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("did you mean `labels`?"))
        .stderr(predicate::str::contains("not a DNS-1123 label"));
}

#[test]
fn validate_exits_0_on_warnings_and_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[its]\ncontext = \"its1\"\n\n[wec.c1]\nproperties = { \"max-pods\" = \"1\" }\n",
    );
    fleet()
        .args(["validate", "--file"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("(1 warning)"))
        .stderr(predicate::str::contains(
            "cannot be used in KubeStellar templates",
        ));
}

#[test]
fn validate_json_reports_the_same_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[its]\ncontext = \"its1\"\n\n[wec.c1]\ngroups = [\"edge\"]\nproperties = { \"max-pods\" = \"1\" }\n",
    );
    let output = fleet()
        .args(["validate", "--output", "json", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 1);
    let first = &report["diagnostics"][0];
    assert_eq!(first["code"], "fleet::config::undefined_group");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(5), Some(11))
    );
    assert_eq!(first["labels"][0]["length"], 6);
    assert_eq!(report["diagnostics"][1]["severity"], "warning");
}

#[test]
fn validate_reports_a_missing_file() {
    fleet()
        .args(["validate", "-f", "/nonexistent/fleet.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/fleet.toml",
        ));
}

#[test]
fn fmt_check_exits_2_with_a_diff_and_fmt_fixes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[wec.c1]\ncontext=\"c1\"\n[its]\ncontext = \"its1\"\n",
    );
    fleet()
        .args(["fmt", "--check", "-f"])
        .arg(&path)
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("+[wec.c1]").and(predicate::str::contains("-context=\"c1\"")),
        );
    fleet().args(["fmt", "-f"]).arg(&path).assert().code(0);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[its]\ncontext = \"its1\"\n\n[wec.c1]\ncontext = \"c1\"\n"
    );
    fleet()
        .args(["fmt", "--check", "-f"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn a_command_line_mistake_exits_1_never_2() {
    for args in [
        &["--no-such-flag"][..],
        &["plan", "--output", "yaml"],
        &["apply", "--wait-timeout", "soon"],
        &["plan", "--target", "cluster1"],
        &["no-such-command"],
    ] {
        fleet()
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("error"));
    }
    fleet().arg("--help").assert().code(0);
    fleet().arg("--version").assert().code(0);
    fleet().args(["apply", "--help"]).assert().code(0);
}
