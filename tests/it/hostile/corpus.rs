//! The corpus of hostile `fleet.toml`s in `tests/it/hostile/corpus/`, one file per case:
//! `bad-*.toml` must be refused (exit 1), `ok-*.toml` accepted (exit 0), never a panic; what
//! `fleet validate` prints for each is snapshotted. `fleet fmt` must format every valid TOML
//! among them without losing a comment or changing a value, and refuse the others.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/hostile/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} cases", files.len());
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn fleet(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("fleet").unwrap();
    cmd.env_remove("FORCE_COLOR")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .current_dir(dir)
        .timeout(Duration::from_secs(30));
    cmd
}

#[test]
fn validate_reports_every_case_with_the_right_exit_code() {
    for path in corpus() {
        let name = stem(&path);
        let file = path.file_name().unwrap();
        let dir = path.parent().unwrap();
        let output = fleet(dir)
            .arg("validate")
            .arg("-f")
            .arg(file)
            .output()
            .unwrap();
        let expected = if name.starts_with("ok-") { 0 } else { 1 };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{name}: exit {:?}\n{stderr}",
            output.status.code()
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        // Nothing that acts on a terminal is printed.
        assert!(
            !stderr.contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}']),
            "{name}: {stderr:?}"
        );
        assert!(stderr.len() < 256 * 1024, "{name}: {} bytes", stderr.len());
        insta::assert_snapshot!(
            format!("corpus__{name}"),
            format!("exit {expected}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );

        let json = fleet(dir)
            .args(["validate", "--output", "json", "-f"])
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(json.status.code(), Some(expected), "{name} --output json");
        let report: serde_json::Value = serde_json::from_slice(&json.stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert_eq!(report["valid"], expected == 0, "{name}");
    }
}

#[test]
fn fmt_formats_valid_toml_faithfully_and_refuses_the_rest() {
    for path in corpus() {
        let name = stem(&path);
        let Ok(text) = fleet::config::read(&path) else {
            continue;
        };
        let parsed = toml::from_str::<toml::Table>(&text);
        let formatted = fleet::config::format::format(&path, &text);
        match (parsed, formatted) {
            (Ok(before), Ok(out)) => {
                let after = toml::from_str::<toml::Table>(&out)
                    .unwrap_or_else(|e| panic!("{name}: fmt made invalid TOML: {e}\n{out}"));
                assert_eq!(before, after, "{name}: fmt changed a value");
                let mut was = crate::hostile::fuzz::comments(&text);
                let mut now = crate::hostile::fuzz::comments(&out);
                was.sort();
                now.sort();
                assert_eq!(was, now, "{name}: fmt lost or added a comment\n{out}");
                assert_eq!(
                    fleet::config::format::format(&path, &out).unwrap(),
                    out,
                    "{name}: not idempotent"
                );
            }
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => panic!("{name}: valid TOML not formatted: {e:?}"),
            // toml_edit and toml may disagree on the edge of the spec; fmt must not
            // produce something toml cannot read.
            (Err(e), Ok(out)) => {
                assert!(
                    toml::from_str::<toml::Table>(&out).is_err(),
                    "{name}: fmt accepted what toml refuses ({e}) and fixed it?\n{out}"
                );
            }
        }
    }
}
