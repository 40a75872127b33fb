//! The pipeline's layering, checked on the source: each top-level module of `src/` imports
//! only the modules below it, and the pure stages never reach for I/O.
//!
//! ```text
//! model ← config ← desired ← kube (I/O) ← observe
//!                          ← diff ← plan ← apply ← render ← cli
//! (apply also reads desired: the join manifest it fills with a token; the apply report is
//! plain data in plan, so the views need nothing of apply)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::root;

/// What each module may import from the crate (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("config", &["model"]),
    ("desired", &["model", "config"]),
    ("kube", &["model", "config"]),
    ("observe", &["model", "config", "desired", "kube"]),
    ("diff", &["model", "config", "desired"]),
    ("plan", &["model", "diff"]),
    (
        "apply",
        &["model", "config", "desired", "diff", "plan", "kube"],
    ),
    ("status", &["model", "config", "diff"]),
    ("render", &["model", "diff", "plan", "status"]),
    ("import", &["model", "config"]),
    (
        "cli",
        &[
            "model", "config", "desired", "kube", "observe", "diff", "plan", "apply", "render",
            "import", "status",
        ],
    ),
];

/// Modules that must stay free of I/O: no network client, no runtime, no processes.
const PURE: &[&str] = &[
    "model", "config", "desired", "diff", "plan", "render", "import", "status",
];
const IO_CRATES: &[&str] = &["kube::", "tokio::", "futures::", "std::process", "std::net"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate modules a file names, as `crate::NAME`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.insert(name);
    }
    out
}

/// Code only: line comments and doc comments are dropped.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn modules_import_only_what_is_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let Some(module) = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|m| !m.ends_with(".rs"))
        else {
            continue; // lib.rs, main.rs
        };
        let may = allowed.get(module).unwrap_or_else(|| {
            panic!("src/{module} is not placed in the layering: add it to ALLOWED")
        });
        let text = code(&std::fs::read_to_string(file).unwrap());
        // Unit-test files may build their inputs with the whole pipeline.
        if rel.ends_with("tests.rs") {
            continue;
        }
        for used in crate_refs(&text) {
            if used != module && !may.contains(&used.as_str()) {
                problems.push(format!("{} imports crate::{used}", rel.display()));
            }
        }
        if PURE.contains(&module) {
            for io in IO_CRATES {
                if text.contains(io) {
                    problems.push(format!("{} (pure) uses {io}", rel.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_imports() {
    let refs = crate_refs("use crate::diff::Change;\nuse crate::model::{Kind};");
    assert_eq!(
        refs,
        BTreeSet::from(["diff".to_owned(), "model".to_owned()])
    );
    assert!(
        code("// use crate::kube;\nlet x = 1;")
            .find("crate::")
            .is_none()
    );
}
