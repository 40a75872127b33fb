//! render: the views of fleet's results — a plan, a drift report and an apply report — as a
//! Terraform-like human text ([`human`], [`apply`]), versioned machine-readable JSON
//! ([`json`]), a GitHub pull-request comment ([`markdown`]) and the dependency graph in
//! Graphviz DOT ([`dot`]).
//!
//! Everything here is pure: each view takes the data and a [`Header`] and returns a
//! `String`; the CLI decides where it goes. Output is deterministic (it follows the diff's
//! sorted order) so it can be snapshot-tested and diffed between runs.
//!
//! `fleet drift` uses the plan views: build the plan from
//! [`Diff::drift_only`](crate::diff::Diff::drift_only) and pass a header whose
//! [`subject`](Header::subject) is [`Subject::Drift`]; only the wording changes.
//!
//! Shared pieces, one file per concern: [`layout`] (grouping into places, titles),
//! [`value`] (a YAML-like value printer), [`lines`] (a field change as marked lines, with a
//! line differ) and [`words`] (every symbol, name and sentence).

pub mod apply;
pub mod dot;
pub mod human;
pub mod json;
pub(crate) mod layout;
pub(crate) mod lines;
pub mod markdown;
pub mod status;
pub(crate) mod value;
pub(crate) mod words;

pub use words::{stale_report, stop_text};

use crate::model::WecName;
use crate::plan::Plan;

/// What a rendering is about, printed at its top and recorded in the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Plan or drift report: decides the title and the closing line.
    pub subject: Subject,
    /// The ITS's kubeconfig context.
    pub its_context: String,
    /// The ITS's API server URL, when known.
    pub its_server: Option<String>,
    /// The ITS's identity (`kube-system` namespace UID), when known.
    pub its_uid: Option<String>,
    /// Digest of the `fleet.toml` the plan was made from, e.g. `sha256:9c1e…`.
    pub config_digest: String,
    /// `--target`s the plan was limited to; empty: the whole fleet.
    pub targets: Vec<WecName>,
}

impl Header {
    /// The targets as given on the command line: `wec/NAME`.
    pub(crate) fn target_args(&self) -> Vec<String> {
        self.targets.iter().map(|t| format!("wec/{t}")).collect()
    }
}

/// What a plan view reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subject {
    /// `fleet plan`: everything apply would change.
    #[default]
    Plan,
    /// `fleet drift`: only what changed outside fleet.
    Drift,
}

impl Subject {
    /// `plan` or `drift`, as in the command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Plan => "plan",
            Subject::Drift => "drift",
        }
    }
}

/// The formats of a plan or drift report, for `--output` / `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Dot,
}

/// Renders `plan` in `format`. `color` only affects [`Format::Human`].
pub fn render(format: Format, plan: &Plan, header: &Header, color: bool) -> String {
    match format {
        Format::Human => human::render(plan, header, color),
        Format::Json => json::render(plan, header),
        Format::Markdown => markdown::render(plan, header),
        Format::Dot => dot::render(plan, header),
    }
}

#[cfg(test)]
mod tests;
