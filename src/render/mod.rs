//! render: one [`Plan`] (or drift report), several views — a Terraform-like human text
//! ([`human`]), a versioned machine-readable JSON ([`json`]), a GitHub pull-request comment
//! ([`markdown`]) and the dependency graph in Graphviz DOT ([`dot`]).
//!
//! Everything here is pure: each renderer takes the plan and a [`Header`] and returns a
//! `String`; the CLI decides where it goes. Output is deterministic (it follows the diff's
//! sorted order) so it can be snapshot-tested and diffed between runs.
//!
//! `fleet drift` uses the same renderers: build the plan from
//! [`Diff::drift_only`](crate::diff::Diff::drift_only) and pass a header whose
//! [`report`](Header::report) is [`Report::Drift`]; only the wording changes.
//!
//! The human and Markdown views share the layout computed in this module: changes grouped
//! into [`Place`]s (the ITS, the WDS, one per WEC), each field rendered as marked lines
//! ([`Mark`]) that one view paints with colours and the other turns into a ```` ```diff ````
//! block.

pub mod dot;
pub mod human;
pub mod json;
pub mod markdown;

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::diff::object::{Kind, Location};
use crate::diff::{Action, Cause, Change, FieldChange};
use crate::plan::Plan;

/// What a rendering is about, printed at its top and recorded in the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Plan or drift report: decides the title and the closing line.
    pub report: Report,
    /// The ITS's kubeconfig context.
    pub its_context: String,
    /// The ITS's API server URL, when known.
    pub its_server: Option<String>,
    /// The ITS's identity (`kube-system` namespace UID), when known.
    pub its_uid: Option<String>,
    /// Digest of the `fleet.toml` the plan was made from, e.g. `sha256:9c1e…`.
    pub config_digest: String,
    /// `--target`s the plan was limited to (`wec/NAME`); empty: the whole fleet.
    pub targets: Vec<String>,
}

/// The kind of report being rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Report {
    /// `fleet plan`: everything apply would change.
    #[default]
    Plan,
    /// `fleet drift`: only what changed outside fleet.
    Drift,
}

impl Report {
    /// `plan` or `drift`, as in the command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Report::Plan => "plan",
            Report::Drift => "drift",
        }
    }
}

/// The output formats, for `--output` / `--format`.
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

// ---------------------------------------------------------------------------------------------
// Shared layout for the text views.

/// Where a group of changes is shown: shared objects on the ITS or WDS, or one WEC (its own
/// objects and its objects on the ITS, such as its ManagedCluster).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place<'a> {
    Its,
    Wds,
    Wec(&'a str),
}

impl Place<'_> {
    fn of(c: &Change) -> Place<'_> {
        match (&c.wec, &c.r.location) {
            (Some(w), _) | (None, Location::Wec(w)) => Place::Wec(w),
            (None, Location::Wds) => Place::Wds,
            (None, Location::Its) => Place::Its,
        }
    }

    /// The location this place's own objects live on.
    fn home(&self) -> Location {
        match self {
            Place::Its => Location::Its,
            Place::Wds => Location::Wds,
            Place::Wec(w) => Location::Wec((*w).to_owned()),
        }
    }
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Its => f.write_str("ITS (shared)"),
            Place::Wds => f.write_str("WDS (shared)"),
            Place::Wec(w) => write!(f, "WEC {w}"),
        }
    }
}

/// The changes of one place, as indexes into `plan.diff.changes`, in the diff's order.
pub(crate) struct Section<'a> {
    pub place: Place<'a>,
    pub changes: Vec<usize>,
}

/// Changes grouped by place: ITS, WDS, then WECs by name.
pub(crate) fn sections(plan: &Plan) -> Vec<Section<'_>> {
    let mut out: Vec<Section<'_>> = Vec::new();
    let mut order: Vec<(Place<'_>, usize)> = plan
        .diff
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (Place::of(c), i))
        .collect();
    order.sort(); // stable within a place: the diff's own order
    for (place, i) in order {
        match out.last_mut() {
            Some(s) if s.place == place => s.changes.push(i),
            _ => out.push(Section {
                place,
                changes: vec![i],
            }),
        }
    }
    out
}

/// `Kind ns/name`, plus where it lives when that is not the place it is shown under.
pub(crate) fn object_title(c: &Change, place: &Place<'_>) -> String {
    let name = c.r.display_name();
    if c.r.location == place.home() {
        return name;
    }
    match &c.r.location {
        Location::Its => format!("{name} (on the ITS)"),
        Location::Wds => format!("{name} (on the WDS)"),
        Location::Wec(w) => format!("{name} (on wec/{w})"),
    }
}

/// `Kind ns/name` with its location, for lists outside the per-place sections.
pub(crate) fn object_with_location(c: &Change) -> String {
    let at = match &c.r.location {
        Location::Its => "ITS".to_owned(),
        Location::Wds => "WDS".to_owned(),
        Location::Wec(w) => format!("wec/{w}"),
    };
    format!("{} on {at}", c.r.display_name())
}

/// The action in words, for views that rewrite the symbols.
pub(crate) fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace => "replace",
        Action::Delete => "destroy",
    }
}

/// Legend entries for the actions present, in Terraform's order.
pub(crate) fn legend(plan: &Plan) -> Vec<(Action, &'static str)> {
    let present: BTreeSet<Action> = plan.diff.changes.iter().map(|c| c.action).collect();
    [
        (Action::Create, "create"),
        (Action::Update, "update in place"),
        (Action::Replace, "replace (destroy, then create)"),
        (Action::Delete, "destroy"),
    ]
    .into_iter()
    .filter(|(a, _)| present.contains(a))
    .collect()
}

/// A cause in words; a missing object fleet had applied says so.
fn describe_cause(cause: &Cause, action: Action) -> String {
    match (cause, action) {
        (Cause::Drift { manager: None }, Action::Create) => "drift (deleted outside fleet)".into(),
        _ => cause.describe(),
    }
}

/// The distinct causes of a change's fields (or the change's own cause when it has none).
fn causes(c: &Change) -> Vec<&Cause> {
    let set: BTreeSet<&Cause> = c.fields.iter().map(|f| &f.cause).collect();
    if set.is_empty() {
        vec![&c.cause]
    } else {
        set.into_iter().collect()
    }
}

/// `config, drift (by kubectl-label), conflict (owned by argocd)`.
pub(crate) fn cause_summary(c: &Change) -> String {
    causes(c)
        .into_iter()
        .map(|k| describe_cause(k, c.action))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Explanatory comment lines under an object: blocked reason, the diff's note, and what a
/// deletion or a binding replacement means.
pub(crate) fn object_notes(c: &Change) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) = &c.blocked {
        out.push(format!("blocked: {b}"));
    }
    if let Some(n) = &c.note {
        out.push(n.clone());
    } else if c.action == Action::Delete {
        out.push("no longer in fleet.toml".into());
    }
    let owners: BTreeSet<&str> = c
        .fields
        .iter()
        .filter_map(|f| match &f.cause {
            Cause::Conflict { manager } => Some(manager.as_str()),
            _ => None,
        })
        .collect();
    if !owners.is_empty() {
        let owners: Vec<&str> = owners.into_iter().collect();
        out.push(format!(
            "apply takes over the conflicting fields from {}",
            owners.join(", ")
        ));
    }
    if c.action == Action::Replace
        && matches!(c.r.kind, Kind::RoleBinding | Kind::ClusterRoleBinding)
    {
        out.push(
            "the subjects lose these permissions briefly while the binding is replaced".into(),
        );
    }
    out
}

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

/// Values up to this many characters stay on one line.
const INLINE_MAX: usize = 48;

/// A scalar as JSON (strings quoted), a list of scalars in flow style (`["get", "list"]`),
/// `[]` and `{}`; `None` for anything that needs several lines.
fn flow(v: &Value) -> Option<String> {
    match v {
        Value::Array(a) if a.iter().all(|x| !(x.is_array() || x.is_object())) => {
            let items: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            let s = format!("[{}]", items.join(", "));
            (s.chars().count() <= INLINE_MAX).then_some(s)
        }
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(_) | Value::Object(_) => None,
        scalar => Some(scalar.to_string()),
    }
}

/// A mapping key, quoted only when it is not a plain Kubernetes-style name.
fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if plain {
        k.to_owned()
    } else {
        Value::from(k).to_string()
    }
}

/// A value as YAML-like lines, the way Kubernetes objects are usually read: block mappings
/// and sequences, strings JSON-quoted (so `"true"` stays a string), short scalar lists in
/// flow style so that a changed list shows as one changed line.
fn yamlish(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    yaml_into(v, 0, &mut out);
    out
}

fn yaml_into(v: &Value, indent: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    if let Some(s) = flow(v) {
        out.push(format!("{pad}{s}"));
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match (flow(val), val) {
                    (Some(s), _) => out.push(format!("{pad}{}: {s}", key(k))),
                    (None, Value::Array(_)) => {
                        out.push(format!("{pad}{}:", key(k)));
                        yaml_into(val, indent, out);
                    }
                    (None, _) => {
                        out.push(format!("{pad}{}:", key(k)));
                        yaml_into(val, indent + 2, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match flow(item) {
                    Some(s) => out.push(format!("{pad}- {s}")),
                    None => {
                        let mut sub = Vec::new();
                        yaml_into(item, indent + 2, &mut sub);
                        if let Some(first) = sub.first_mut() {
                            *first = format!("{pad}- {}", &first[indent + 2..]);
                        }
                        out.extend(sub);
                    }
                }
            }
        }
        _ => unreachable!("scalars are flow"),
    }
}

/// A value on one line, or `None` when it should be shown as indented lines instead.
fn inline(v: &Value) -> Option<String> {
    flow(v).or_else(|| {
        let s = serde_json::to_string(v).expect("JSON values serialize");
        (s.chars().count() <= INLINE_MAX).then_some(s)
    })
}

fn block(v: &Value) -> String {
    let mut s = yamlish(v).join("\n");
    s.push('\n');
    s
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
        lines[0].note = Some(f.cause.describe());
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
fn line_diff(old: &str, new: &str) -> Vec<Line> {
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
    let show_cause = causes(c).len() > 1;
    c.fields
        .iter()
        .flat_map(|f| field_lines(f, show_cause))
        .collect()
}

/// `1 object` / `2 objects`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Changes that destroy something: deletions and replacements, in plan order.
pub(crate) fn destroys(plan: &Plan) -> Vec<&Change> {
    plan.diff
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace) && c.blocked.is_none())
        .collect()
}

/// The closing sentence: Terraform's "Plan: …" / "No changes. …", or the drift equivalent;
/// when something could not be read it never claims there is nothing to do.
pub(crate) fn closing_line(plan: &Plan, header: &Header) -> String {
    let s = &plan.summary;
    let n = plan.diff.changes.len();
    let unread = plan.diff.unreadable.len();
    match (header.report, n, unread) {
        (Report::Plan, 0, 0) if header.targets.is_empty() => {
            "No changes. The fleet matches fleet.toml.".into()
        }
        (Report::Plan, 0, 0) => "No changes. The targeted WECs match fleet.toml.".into(),
        (Report::Plan, 0, _) => format!(
            "No changes in what could be read, but the plan is incomplete: {} could not be read.",
            plural(unread, "place", "places")
        ),
        (Report::Plan, _, _) => {
            let mut line = format!(
                "Plan: {} to add, {} to change, {} to destroy",
                s.add, s.change, s.destroy
            );
            if s.blocked > 0 {
                line.push_str(&format!(", {} blocked", s.blocked));
            }
            line.push('.');
            line
        }
        (Report::Drift, 0, 0) => "No drift.".into(),
        (Report::Drift, 0, _) => format!(
            "No drift in what could be read, but the check is incomplete: {} could not be read.",
            plural(unread, "place", "places")
        ),
        (Report::Drift, _, _) => format!(
            "Drift: {} changed outside fleet.",
            plural(n, "object", "objects")
        ),
    }
}

/// The warning for an incomplete result that still has changes, or `None`.
pub(crate) fn incomplete_warning(plan: &Plan, header: &Header) -> Option<String> {
    let unread = plan.diff.unreadable.len();
    let what = match header.report {
        Report::Plan => "this plan",
        Report::Drift => "this drift check",
    };
    (unread > 0 && !plan.diff.changes.is_empty()).then(|| {
        format!(
            "Incomplete: {} could not be read; what would change there is unknown and not part of {what}.",
            plural(unread, "place", "places"),
        )
    })
}

/// `sha256:9c1e4b2a07d3` — enough of a digest to recognise it.
pub(crate) fn short_digest(d: &str) -> String {
    let (algo, hex) = d.split_once(':').unwrap_or(("", d));
    let short: String = hex.chars().take(12).collect();
    let ell = if hex.chars().count() > 12 { "…" } else { "" };
    if algo.is_empty() {
        format!("{short}{ell}")
    } else {
        format!("{algo}:{short}{ell}")
    }
}

/// `ITS its1 (https://…, uid 3f2a…)`.
pub(crate) fn its_description(h: &Header) -> String {
    let details: Vec<String> = h
        .its_server
        .iter()
        .cloned()
        .chain(h.its_uid.iter().map(|u| format!("uid {u}")))
        .collect();
    if details.is_empty() {
        format!("ITS {}", h.its_context)
    } else {
        format!("ITS {} ({})", h.its_context, details.join(", "))
    }
}

/// WECs with at least one change.
pub(crate) fn changed_wecs(plan: &Plan) -> usize {
    sections(plan)
        .iter()
        .filter(|s| matches!(s.place, Place::Wec(_)))
        .count()
}

#[cfg(test)]
mod tests;
