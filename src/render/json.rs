//! The JSON view: a stable, machine-readable plan (or drift report).
//!
//! The wire types below are the contract, kept apart from fleet's internal types so that
//! refactoring the diff never changes the output by accident.
//!
//! # Schema, `format_version` 1.0
//!
//! Versioning follows Terraform's JSON plan: a minor bump only adds keys (consumers must
//! ignore keys they do not know); a major bump breaks compatibility (consumers must reject a
//! major version they do not know). Every key below is always present; "absent" values are
//! `null`, lists may be empty.
//!
//! ```text
//! {
//!   "format_version": "1.0",
//!   "report":        "plan" | "drift",
//!   "its_context":   string,              kubeconfig context of the ITS
//!   "its_server":    string | null,       its API server URL
//!   "its_uid":       string | null,       its kube-system namespace UID
//!   "config_digest": string,              digest of fleet.toml, e.g. "sha256:…"
//!   "targets":       [string],            --target values ("wec/NAME"); [] = whole fleet
//!   "incomplete":    bool,                true when something could not be read: the
//!                                         result is then partial, never "no changes"
//!   "summary": {"add": n, "change": n, "destroy": n, "blocked": n},
//!                                         Terraform's counts: a replace counts in add and
//!                                         destroy; blocked changes only in blocked
//!   "actions": {"create": n, "update": n, "replace": n, "delete": n},
//!                                         changes per action (blocked ones included)
//!   "causes":  {"config": n, "drift": n, "conflict": n},
//!                                         changes per cause (a change's cause is the most
//!                                         out-of-band cause of its fields)
//!   "changes": [{
//!     "index":      n,                    position in this list
//!     "object": {
//!       "location":    "its" | "wds" | "wec/NAME",
//!       "api_version": string,            e.g. "rbac.authorization.k8s.io/v1"
//!       "kind":        string,            e.g. "RoleBinding"
//!       "namespace":   string | null,     null for cluster-scoped objects
//!       "name":        string
//!     },
//!     "wec":        string | null,        the WEC the object is for (null: shared)
//!     "action":     "create" | "update" | "replace" | "delete",
//!     "actions":    ["create"] | ["update"] | ["delete", "create"] | ["delete"],
//!                                         Terraform-style: scan for "delete" to find
//!                                         everything destructive
//!     "cause": {"type": "config" | "drift" | "conflict", "manager": string | null},
//!                                         manager: who drifted it / who owns the field
//!     "blocked":    string | null,        why it cannot be applied yet
//!     "note":       string | null,        why this action (e.g. an immutable roleRef)
//!     "depends_on": [n],                  indexes of changes that must be applied first
//!     "fields": [{
//!       "path":   string,                 for people: "labels.region", "data.maxPods",
//!                                         "labels[\"app.kubernetes.io/name\"]", "rules"
//!       "path_segments": [string],        for programs: ["metadata", "labels", "region"]
//!       "before": any | null,             null: the field does not exist yet
//!       "after":  any | null,             null: the field is removed
//!       "cause":  {"type": …, "manager": …}
//!     }],
//!     "observed": {"uid": string, "resource_version": string} | null
//!                                         the live object the change was computed against
//!   }],
//!   "unreadable":     [{"location": string, "error": string}],
//!   "unmanaged_wecs": [string],           on the ITS, not in fleet.toml, never touched
//!   "orphaned_wecs":  [string],           fleet managed them, gone from fleet.toml
//!   "unchanged_wecs": [string]            in fleet.toml, nothing to change
//! }
//! ```
//!
//! Secrets never appear: fleet does not diff Secret data, and bodies are not included.

use serde::{Deserialize, Serialize};

use super::{Header, Report};
use crate::diff::{Action, Cause, Change, FieldChange};
use crate::plan::Plan;

/// The schema version written by this build.
pub const FORMAT_VERSION: &str = "1.0";

/// The top-level document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonPlan {
    pub format_version: String,
    pub report: String,
    pub its_context: String,
    pub its_server: Option<String>,
    pub its_uid: Option<String>,
    pub config_digest: String,
    pub targets: Vec<String>,
    pub incomplete: bool,
    pub summary: JsonSummary,
    pub actions: JsonActions,
    pub causes: JsonCauses,
    pub changes: Vec<JsonChange>,
    pub unreadable: Vec<JsonUnreadable>,
    pub unmanaged_wecs: Vec<String>,
    pub orphaned_wecs: Vec<String>,
    pub unchanged_wecs: Vec<String>,
}

/// Terraform's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub blocked: usize,
}

/// Changes per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonActions {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

/// Changes per cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonCauses {
    pub config: usize,
    pub drift: usize,
    pub conflict: usize,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonChange {
    pub index: usize,
    pub object: JsonObject,
    pub wec: Option<String>,
    pub action: String,
    pub actions: Vec<String>,
    pub cause: JsonCause,
    pub blocked: Option<String>,
    pub note: Option<String>,
    pub depends_on: Vec<usize>,
    pub fields: Vec<JsonField>,
    pub observed: Option<JsonObserved>,
}

/// Which object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonObject {
    pub location: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// Why something changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonCause {
    #[serde(rename = "type")]
    pub kind: String,
    pub manager: Option<String>,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonField {
    pub path: String,
    pub path_segments: Vec<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub cause: JsonCause,
}

/// The live object a change was computed against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonObserved {
    pub uid: String,
    pub resource_version: String,
}

/// A place that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonUnreadable {
    pub location: String,
    pub error: String,
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

fn actions(a: Action) -> Vec<String> {
    match a {
        Action::Replace => vec!["delete".into(), "create".into()],
        a => vec![action_name(a).into()],
    }
}

impl From<&Cause> for JsonCause {
    fn from(c: &Cause) -> Self {
        let manager = match c {
            Cause::Config => None,
            Cause::Drift { manager } => manager.clone(),
            Cause::Conflict { manager } => Some(manager.clone()),
        };
        JsonCause {
            kind: c.label().to_owned(),
            manager,
        }
    }
}

impl From<&FieldChange> for JsonField {
    fn from(f: &FieldChange) -> Self {
        JsonField {
            path: f.path.to_string(),
            path_segments: f.path.0.clone(),
            before: f.before.clone(),
            after: f.after.clone(),
            cause: (&f.cause).into(),
        }
    }
}

fn change(plan: &Plan, index: usize, c: &Change) -> JsonChange {
    let mut depends_on = plan.dependencies(index);
    depends_on.sort_unstable();
    JsonChange {
        index,
        object: JsonObject {
            location: c.r.location.to_string(),
            api_version: c.r.kind.api_version().to_owned(),
            kind: c.r.kind.as_str().to_owned(),
            namespace: c.r.namespace.clone(),
            name: c.r.name.clone(),
        },
        wec: c.wec.clone(),
        action: action_name(c.action).to_owned(),
        actions: actions(c.action),
        cause: (&c.cause).into(),
        blocked: c.blocked.clone(),
        note: c.note.clone(),
        depends_on,
        fields: c.fields.iter().map(JsonField::from).collect(),
        observed: c.observed.as_ref().map(|o| JsonObserved {
            uid: o.uid.clone(),
            resource_version: o.resource_version.clone(),
        }),
    }
}

/// The wire document for a plan.
pub fn document(plan: &Plan, header: &Header) -> JsonPlan {
    let d = &plan.diff;
    let mut acts = JsonActions::default();
    let mut causes = JsonCauses::default();
    for c in &d.changes {
        *match c.action {
            Action::Create => &mut acts.create,
            Action::Update => &mut acts.update,
            Action::Replace => &mut acts.replace,
            Action::Delete => &mut acts.delete,
        } += 1;
        *match c.cause {
            Cause::Config => &mut causes.config,
            Cause::Drift { .. } => &mut causes.drift,
            Cause::Conflict { .. } => &mut causes.conflict,
        } += 1;
    }
    JsonPlan {
        format_version: FORMAT_VERSION.to_owned(),
        report: match header.report {
            Report::Plan => "plan",
            Report::Drift => "drift",
        }
        .to_owned(),
        its_context: header.its_context.clone(),
        its_server: header.its_server.clone(),
        its_uid: header.its_uid.clone(),
        config_digest: header.config_digest.clone(),
        targets: header.targets.clone(),
        incomplete: !d.unreadable.is_empty(),
        summary: JsonSummary {
            add: plan.summary.add,
            change: plan.summary.change,
            destroy: plan.summary.destroy,
            blocked: plan.summary.blocked,
        },
        actions: acts,
        causes,
        changes: d
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| change(plan, i, c))
            .collect(),
        unreadable: d
            .unreadable
            .iter()
            .map(|(l, e)| JsonUnreadable {
                location: l.clone(),
                error: e.clone(),
            })
            .collect(),
        unmanaged_wecs: d.unmanaged_wecs.clone(),
        orphaned_wecs: d.orphaned_wecs.clone(),
        unchanged_wecs: d.unchanged_wecs.clone(),
    }
}

/// Renders the plan as pretty-printed JSON (with a trailing newline).
pub fn render(plan: &Plan, header: &Header) -> String {
    let mut s = serde_json::to_string_pretty(&document(plan, header)).expect("plain data");
    s.push('\n');
    s
}
