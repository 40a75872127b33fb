//! What `fleet` reads as `fleet.toml`: a regular UTF-8 file of at most 16 MiB. Anything else
//! is refused with exit 1 and a message naming the path and the reason, quickly and without
//! reading it whole.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

fn fleet() -> Command {
    let mut cmd = Command::cargo_bin("fleet").unwrap();
    cmd.env_remove("FORCE_COLOR")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(20));
    cmd
}

#[test]
fn a_device_is_refused_without_reading_it() {
    let start = Instant::now();
    fleet()
        .args(["validate", "-f", "/dev/zero"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read /dev/zero"))
        .stderr(predicate::str::contains(
            "not a regular file but a character device",
        ));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fleet()
        .arg("validate")
        .arg("-f")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not a regular file but a directory",
        ));
}

#[test]
fn a_named_pipe_nobody_writes_to_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fleet.toml");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    fleet()
        .arg("validate")
        .arg("-f")
        .arg(&fifo)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a named pipe (FIFO)"));
}

#[test]
fn a_file_over_16_mib_is_refused_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    // Sparse: 17 MiB of zeros that take no disk space.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(17 * 1024 * 1024).unwrap();
    fleet()
        .arg("validate")
        .arg("-f")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(path.display().to_string()))
        .stderr(predicate::str::contains(
            "the file is 17.0 MiB; a fleet.toml may be at most 16 MiB",
        ));
    // The library refuses it the same way.
    let err = fleet::config::load(&path).unwrap_err();
    assert!(matches!(err, fleet::config::ConfigError::Read { .. }));
}

#[test]
fn invalid_utf8_names_the_line_and_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, b"[its]\ncontext = \"its\xff1\"\n").unwrap();
    fleet()
        .arg("validate")
        .arg("-f")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not UTF-8: invalid byte 0xff at line 2, column 15 (byte offset 20)",
        ));
    let output = fleet()
        .args(["validate", "--output", "json", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("byte offset 20"), "{message}");
}

#[test]
fn read_accepts_a_regular_file_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    // The header, then zeros up to exactly the limit (sparse: nothing is written).
    std::fs::write(&path, "[its]\ncontext = \"its1\"\n#").unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(fleet::config::MAX_FILE_SIZE).unwrap();
    let text = fleet::config::read(&path).unwrap();
    assert_eq!(text.len() as u64, fleet::config::MAX_FILE_SIZE);
}
