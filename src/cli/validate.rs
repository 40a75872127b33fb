//! `fleet validate`: check `fleet.toml` offline and report every problem.
//!
//! Exit 0 when the file is valid (warnings are printed but do not fail), 1 when it has
//! errors. `--output json` prints the same diagnostics as one JSON document on stdout.

use std::process::ExitCode;

use miette::Severity;
use serde::Serialize;

use super::{Exit, GlobalArgs, out};
use crate::config::{self, CheckedConfig, ConfigError, Problem};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Human,
    Json,
}

pub fn execute(global: &GlobalArgs, args: Args) -> miette::Result<ExitCode> {
    let result = config::check(&global.file);
    match args.output {
        Output::Human => {
            let checked = result?;
            super::print_warnings(&checked.warnings);
            out(format_args!("{}\n", success_line(&checked)));
            Ok(Exit::Success.into())
        }
        Output::Json => {
            let report = JsonReport::new(&global.file.display().to_string(), &result);
            let json = serde_json::to_string_pretty(&report).expect("the report is JSON");
            out(format_args!("{json}\n"));
            Ok(if report.valid {
                Exit::Success
            } else {
                Exit::Error
            }
            .into())
        }
    }
}

fn success_line(checked: &CheckedConfig) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let summary = checked.summary;
    let mut line = format!(
        "{} is valid: {}, {}, {}",
        checked.path.display(),
        count(summary.wecs, "WEC", "WECs"),
        count(summary.groups_in_use, "group in use", "groups in use"),
        count(summary.rbac_expansions, "RBAC expansion", "RBAC expansions"),
    );
    if !checked.warnings.is_empty() {
        line.push_str(&format!(" ({})", config::summary(&checked.warnings)));
    }
    line
}

/// The JSON view of a validation: a public, versioned contract.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub format_version: u32,
    pub file: String,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    /// `sha256:<hex>` of the file when it is valid.
    pub digest: Option<String>,
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// One diagnostic; `line` and `column` are 1-based and locate the primary label.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub severity: &'static str,
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub labels: Vec<JsonLabel>,
}

/// A labelled byte range of the file.
#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub label: Option<String>,
    pub offset: usize,
    pub length: usize,
    pub line: usize,
    pub column: usize,
}

impl JsonReport {
    pub fn new(file: &str, result: &Result<CheckedConfig, ConfigError>) -> Self {
        let (problems, digest, diagnostics): (&[Problem], _, Vec<JsonDiagnostic>) = match result {
            Ok(checked) => (&checked.warnings, Some(checked.digest.clone()), Vec::new()),
            Err(err @ ConfigError::Read { source, .. }) => (
                &[],
                None,
                vec![JsonDiagnostic {
                    severity: "error",
                    code: "fleet::config::read".into(),
                    message: format!("{err}: {source}"),
                    help: None,
                    line: None,
                    column: None,
                    labels: Vec::new(),
                }],
            ),
            Err(err) => (err.problems(), None, Vec::new()),
        };
        let mut diagnostics = diagnostics;
        diagnostics.extend(problems.iter().map(JsonDiagnostic::new));
        let errors = diagnostics.iter().filter(|d| d.severity == "error").count();
        JsonReport {
            format_version: 1,
            file: file.to_owned(),
            valid: errors == 0,
            errors,
            warnings: diagnostics.len() - errors,
            digest,
            diagnostics,
        }
    }
}

impl JsonDiagnostic {
    fn new(problem: &Problem) -> Self {
        let labels: Vec<JsonLabel> = problem
            .spans()
            .iter()
            .map(|span| {
                let (line, column) = problem.line_column(span.offset()).unwrap_or((1, 1));
                JsonLabel {
                    label: span.label().map(str::to_owned),
                    offset: span.offset(),
                    length: span.len(),
                    line,
                    column,
                }
            })
            .collect();
        JsonDiagnostic {
            severity: match problem.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Advice => "advice",
            },
            code: problem.code().as_str().to_owned(),
            message: problem.message().to_owned(),
            help: problem.help_text().map(str::to_owned),
            line: labels.first().map(|l| l.line),
            column: labels.first().map(|l| l.column),
            labels,
        }
    }
}
