//! A field change as marked lines: `~ path: old → new`, `+ path = new`, `- path = old`, and
//! for long values the path followed by indented YAML-like lines, line-diffed when both
//! sides exist. The human view paints the marks; the Markdown view writes a `diff` block.

use serde_json::Value;

use super::value::{block, inline, yamlish};
use super::words::{causes, describe};
use crate::diff::{Action, Change, Deregistration, FieldChange, RegStep, Registration};
use crate::model::Kind;
use crate::model::vocab::ocm::{AVAILABLE, BOOTSTRAP_USER, JOINED};

/// How a line relates old to new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Add,
    Remove,
    Change,
    Same,
}

/// One line of a field's rendering: `depth` levels below the field line itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub mark: Mark,
    pub depth: usize,
    pub text: String,
    /// Part of a multi-line value added or removed as a whole: its mark only repeats the
    /// field's (views may show it by colour alone).
    pub continued: bool,
    /// A trailing comment (the field's cause when the object has several).
    pub note: Option<String>,
}

impl Line {
    fn new(mark: Mark, depth: usize, text: impl Into<String>) -> Line {
        Line {
            mark,
            depth,
            text: text.into(),
            continued: false,
            note: None,
        }
    }
}

/// The lines of one field change:
/// `~ path: "old" → "new"`, `+ path = "new"`, `- path = "old"`, and for long values the path
/// followed by indented YAML-like lines (a line diff when both sides exist).
pub(crate) fn field_lines(f: &FieldChange, show_cause: bool) -> Vec<Line> {
    let path = f.path.to_string();
    let mut lines = match (&f.before, &f.after) {
        (Some(b), Some(a)) => match (inline(b), inline(a)) {
            (Some(b), Some(a)) => vec![Line::new(Mark::Change, 0, format!("{path}: {b} → {a}"))],
            _ => {
                let mut out = vec![Line::new(Mark::Change, 0, format!("{path}:"))];
                out.extend(line_diff(&block(b), &block(a)));
                out
            }
        },
        (None, Some(v)) => value_lines(Mark::Add, &path, v),
        (Some(v), None) => value_lines(Mark::Remove, &path, v),
        (None, None) => vec![Line::new(Mark::Change, 0, path)],
    };
    if show_cause && f.cause.is_out_of_band() {
        lines[0].note = Some(describe(&f.cause));
    }
    lines
}

fn value_lines(mark: Mark, path: &str, v: &Value) -> Vec<Line> {
    match inline(v) {
        Some(s) => vec![Line::new(mark, 0, format!("{path} = {s}"))],
        None => std::iter::once(Line::new(mark, 0, format!("{path} =")))
            .chain(yamlish(v).into_iter().map(|l| Line {
                continued: true,
                ..Line::new(mark, 1, l)
            }))
            .collect(),
    }
}

/// Lines unchanged around a change in a long line diff; the rest is elided.
const CONTEXT: usize = 3;

/// A line diff of two texts (all of it when short, changed hunks with context otherwise).
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<Line> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_lines(old, new);
    let mark = |t: ChangeTag| match t {
        ChangeTag::Equal => Mark::Same,
        ChangeTag::Delete => Mark::Remove,
        ChangeTag::Insert => Mark::Add,
    };
    let mut out = Vec::new();
    let groups = diff.grouped_ops(CONTEXT);
    let total = old.lines().count().max(new.lines().count());
    let shown: usize = groups
        .iter()
        .flatten()
        .map(|op| op.old_range().len().max(op.new_range().len()))
        .sum();
    if shown + 2 >= total {
        for ch in diff.iter_all_changes() {
            out.push(Line::new(
                mark(ch.tag()),
                1,
                ch.value().trim_end_matches('\n'),
            ));
        }
        return out;
    }
    for (i, group) in groups.iter().enumerate() {
        if i > 0 || group.first().is_some_and(|op| op.old_range().start > 0) {
            out.push(Line::new(Mark::Same, 1, "…"));
        }
        for op in group {
            for ch in diff.iter_changes(op) {
                out.push(Line::new(
                    mark(ch.tag()),
                    1,
                    ch.value().trim_end_matches('\n'),
                ));
            }
        }
    }
    if groups
        .last()
        .and_then(|g| g.last())
        .is_some_and(|op| op.old_range().end < old.lines().count())
    {
        out.push(Line::new(Mark::Same, 1, "…"));
    }
    out
}

/// All lines of a change's fields; out-of-band causes are shown per field when the
/// change's fields have different causes.
pub(crate) fn change_lines(c: &Change) -> Vec<Line> {
    match &c.action {
        Action::Register(r) => return registration_lines(r),
        Action::Deregister(d) => return deregistration_lines(d),
        _ => {}
    }
    let show_cause = causes(c).len() > 1;
    c.fields
        .iter()
        .flat_map(|f| field_lines(f, show_cause))
        .collect()
}

/// The steps of a registration: what join applies on the WEC (the bootstrap Secret's
/// content is sensitive and never shown), what accept approves, what wait waits for.
fn registration_lines(r: &Registration) -> Vec<Line> {
    let mut out = Vec::new();
    for step in &r.steps {
        match step {
            RegStep::Join(m) => {
                out.push(Line::new(
                    Mark::Add,
                    0,
                    format!(
                        "join: Klusterlet ({}, OCM {}) through context {}; the agent reaches the ITS at {}",
                        m.mode.as_str(),
                        m.ocm.version,
                        r.context,
                        m.hub.server
                    ),
                ));
                for o in m.objects() {
                    let text = match o.kind {
                        Kind::Secret => format!("{} = (sensitive)", o.display_name()),
                        _ => o.display_name(),
                    };
                    out.push(Line {
                        continued: true,
                        ..Line::new(Mark::Add, 1, text)
                    });
                }
            }
            RegStep::Accept => out.push(Line::new(
                Mark::Add,
                0,
                format!(
                    "accept: approve the CSRs {BOOTSTRAP_USER} filed for {}, set hubAcceptsClient",
                    r.wec
                ),
            )),
            RegStep::Wait => out.push(Line::new(
                Mark::Add,
                0,
                format!("wait: {JOINED} and {AVAILABLE} (up to --wait-timeout)"),
            )),
        }
    }
    out
}

/// The steps of a deregistration.
fn deregistration_lines(d: &Deregistration) -> Vec<Line> {
    let unjoin = match &d.context {
        Some(c) => format!(
            "unjoin through context {c} (when it answers): Klusterlet, Namespace open-cluster-management-agent, the klusterlet operator"
        ),
        None => "unjoin: skipped, fleet did not record the WEC's context".to_owned(),
    };
    [
        unjoin,
        format!(
            "delete ManagedCluster {} on the ITS and wait for OCM's cleanup",
            d.wec
        ),
        format!("delete the CSRs of {}", d.wec),
    ]
    .into_iter()
    .map(|t| Line::new(Mark::Remove, 0, t))
    .collect()
}
