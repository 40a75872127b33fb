//! The JSON views: a stable, machine-readable plan (or drift report), and the report of an
//! apply.
//!
//! The wire types below are the contract, kept apart from fleet's internal types so that
//! refactoring the diff never changes the output by accident.
//!
//! # Plan and drift report, `format_version` 1.3
//!
//! 1.1 added `help` to `unreadable` entries; 1.2 added registration: the actions `register`
//! and `deregister`, their counts, and `registration` on changes; 1.3 added `deliveries`.
//!
//! Versioning follows Terraform's JSON plan: a minor bump only adds keys (consumers must
//! ignore keys they do not know); a major bump breaks compatibility (consumers must reject a
//! major version they do not know). Every key below is always present; "absent" values are
//! `null`, lists may be empty.
//!
//! ```text
//! {
//!   "format_version": "1.3",
//!   "report":        "plan" | "drift",
//!   "its_context":   string,              kubeconfig context of the ITS
//!   "its_server":    string | null,       its API server URL
//!   "its_uid":       string | null,       its kube-system namespace UID
//!   "config_digest": string,              digest of fleet.toml, e.g. "sha256:…"
//!   "targets":       [string],            --target values ("wec/NAME"); [] = whole fleet
//!   "incomplete":    bool,                true when something could not be read: the
//!                                         result is then partial, never "no changes"
//!   "summary": {"add": n, "change": n, "destroy": n, "blocked": n,
//!               "register": n, "deregister": n},
//!                                         Terraform's counts: a replace counts in add and
//!                                         destroy; blocked changes only in blocked
//!   "actions": {"create": n, "update": n, "replace": n, "delete": n,
//!               "register": n, "deregister": n},
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
//!     "action":     "create" | "update" | "replace" | "delete" | "register" | "deregister",
//!     "actions":    ["create"] | ["update"] | ["delete", "create"] | ["delete"],
//!                                         Terraform-style: scan for "delete" to find
//!                                         everything destructive (register is ["create"],
//!                                         deregister ["delete"])
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
//!     "observed": {"uid": string, "resource_version": string} | null,
//!                                         the live object the change was computed against
//!     "registration": null | {            for register and deregister
//!       "from":    "absent" | "joined" | "csr-pending" | "accepted" | "Joined" | null,
//!       "steps":   ["join", "accept", "wait"] (or its tail) | ["unjoin", "delete", "wait"],
//!       "context": string | null,         kubeconfig context of the WEC
//!       "hub_server": string | null,      where the agent reaches the ITS (join)
//!       "klusterlet_mode": "Default" | "Singleton" | null,
//!       "ocm_version": string | null,     tag of the OCM images (join)
//!       "objects": [{…}]                  what join applies on the WEC; the bootstrap
//!                                         Secret's content is never included
//!     }
//!   }],
//!   "unreadable":     [{"location": string, "error": string, "help": string | null}],
//!                                         error: the message and its causes; help: what
//!                                         to check
//!   "unmanaged_wecs": [string],           on the ITS, not in fleet.toml, never touched
//!   "orphaned_wecs":  [string],           fleet managed them, gone from fleet.toml
//!   "unchanged_wecs": [string],           in fleet.toml, nothing to change
//!   "deliveries": [{                      whether fleet's RBAC is in effect on the WECs:
//!     "wec": string, "expansion": string, downsync by KubeStellar's ManifestWork, both
//!     "mode": "downsync" | "direct",      modes by a SubjectAccessReview per rule where
//!     "state": "applied" | "pending" | "failed",  the WEC can be asked
//!     "message": string | null            why pending, or what failed (each manifest the
//!                                         agent could not apply, or the rule denied)
//!   }]
//! }
//! ```
//!
//!
//! # Apply report, `format_version` 1.1
//!
//! What `fleet apply --output json` prints once the apply has run (progress goes to stderr).
//! Same versioning rules; `its_*`, `config_digest` and `targets` as above. 1.1 added the
//! outcome `interrupted` and its count.
//!
//! ```text
//! {
//!   "format_version": "1.1",
//!   "report":        "apply",
//!   "its_context": …, "its_server": …, "its_uid": …, "config_digest": …, "targets": […],
//!   "complete":      bool,                every change made (blocked ones excepted) and
//!                                         every place read; false means exit 5
//!   "applied": {"add": n, "change": n, "destroy": n},
//!                                         what was written, counted as the plan counts
//!   "failed":  n,                         changes the API refused or could not be sent
//!   "skipped": n,                         not attempted: something they depend on failed
//!   "blocked": n,                         not attempted: blocked in the plan
//!   "interrupted": n,                     not attempted (or a wait abandoned): the apply
//!                                         was stopped by a signal or lost its lock
//!   "results": [{
//!     "index":   n,                       the change's index in the plan
//!     "object":  {…},                     as in the plan
//!     "wec":     string | null,
//!     "action":  "create" | "update" | "replace" | "delete",
//!     "outcome": "done" | "failed" | "skipped" | "blocked" | "interrupted",
//!     "error":   string | null,           failed: the message and its causes;
//!                                         interrupted: why the apply stopped
//!     "help":    string | null,           failed: what to check
//!     "skipped_because": n | null,        skipped: index of the change it needed
//!     "blocked": string | null            blocked: why
//!   }],
//!   "unreadable": [{"location": …, "error": …, "help": …}]
//!                                         nothing was planned or written there
//! }
//! ```
//!
//! Secrets never appear: fleet does not diff Secret data, and bodies are not included.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::Header;
use super::words::{action_name, blocked_text, cause_manager, cause_name, reason_text, stop_text};
use crate::diff::delivery::DeliveryState;
use crate::diff::{Action, ActionKind, Cause, Change, FieldChange};
use crate::model::{Failure, Location, ObjectRef};
use crate::plan::Plan;
use crate::plan::report::{ApplyReport, Outcome};

/// The plan document's schema version written by this build.
pub const FORMAT_VERSION: &str = "1.3";
/// The apply report's schema version written by this build.
pub const APPLY_FORMAT_VERSION: &str = "1.1";

/// What every document starts with: its version, what it reports on, the ITS and the
/// `fleet.toml` it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonHeader {
    pub format_version: String,
    pub report: String,
    pub its_context: String,
    pub its_server: Option<String>,
    pub its_uid: Option<String>,
    pub config_digest: String,
    pub targets: Vec<String>,
}

/// The plan (or drift report) document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonPlan {
    #[serde(flatten)]
    pub header: JsonHeader,
    pub incomplete: bool,
    pub summary: JsonSummary,
    pub actions: JsonActions,
    pub causes: JsonCauses,
    pub changes: Vec<JsonChange>,
    pub unreadable: Vec<JsonUnreadable>,
    pub unmanaged_wecs: Vec<String>,
    pub orphaned_wecs: Vec<String>,
    pub unchanged_wecs: Vec<String>,
    pub deliveries: Vec<JsonDelivery>,
}

/// One WEC's downsync grant, as KubeStellar delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonDelivery {
    pub wec: String,
    pub expansion: String,
    pub mode: String,
    pub state: String,
    pub message: Option<String>,
}

/// Terraform's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub blocked: usize,
    pub register: usize,
    pub deregister: usize,
}

/// Changes per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonActions {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub register: usize,
    pub deregister: usize,
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
    pub registration: Option<JsonRegistration>,
}

/// The steps of a registration or deregistration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRegistration {
    pub from: Option<String>,
    pub steps: Vec<String>,
    pub context: Option<String>,
    pub hub_server: Option<String>,
    pub klusterlet_mode: Option<String>,
    pub ocm_version: Option<String>,
    pub objects: Vec<JsonObject>,
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
    pub help: Option<String>,
}

/// The apply report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonApply {
    #[serde(flatten)]
    pub header: JsonHeader,
    pub complete: bool,
    pub applied: JsonApplied,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
    pub interrupted: usize,
    pub results: Vec<JsonResult>,
    pub unreadable: Vec<JsonUnreadable>,
}

/// What an apply wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonApplied {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

/// One change's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonResult {
    pub index: usize,
    pub object: JsonObject,
    pub wec: Option<String>,
    pub action: String,
    pub outcome: String,
    pub error: Option<String>,
    pub help: Option<String>,
    pub skipped_because: Option<usize>,
    pub blocked: Option<String>,
}

fn actions(a: ActionKind) -> Vec<String> {
    match a {
        ActionKind::Replace => vec!["delete".into(), "create".into()],
        ActionKind::Register => vec!["create".into()],
        ActionKind::Deregister => vec!["delete".into()],
        a => vec![action_name(a).into()],
    }
}

impl From<&Cause> for JsonCause {
    fn from(c: &Cause) -> Self {
        JsonCause {
            kind: cause_name(c).to_owned(),
            manager: cause_manager(c).map(str::to_owned),
        }
    }
}

impl From<&ObjectRef> for JsonObject {
    fn from(r: &ObjectRef) -> Self {
        JsonObject {
            location: r.location.to_string(),
            api_version: r.kind.api_version().to_owned(),
            kind: r.kind.as_str().to_owned(),
            namespace: r.namespace.as_ref().map(ToString::to_string),
            name: r.name.to_string(),
        }
    }
}

fn registration(c: &Change) -> Option<JsonRegistration> {
    match &c.action {
        Action::Register(r) => {
            let join = r.join();
            Some(JsonRegistration {
                from: Some(r.from.to_string()),
                steps: r.steps.iter().map(|s| s.name().to_owned()).collect(),
                context: Some(r.context.clone()),
                hub_server: join.map(|m| m.hub.server.clone()),
                klusterlet_mode: join.map(|m| m.mode.as_str().to_owned()),
                ocm_version: join.map(|m| m.ocm.version.clone()),
                objects: join
                    .map(|m| m.objects().iter().map(JsonObject::from).collect())
                    .unwrap_or_default(),
            })
        }
        Action::Deregister(d) => Some(JsonRegistration {
            from: None,
            steps: ["unjoin", "delete", "wait"].map(str::to_owned).to_vec(),
            context: d.context.clone(),
            hub_server: None,
            klusterlet_mode: None,
            ocm_version: None,
            objects: Vec::new(),
        }),
        _ => None,
    }
}

pub(crate) fn unreadable(places: &BTreeMap<Location, Failure>) -> Vec<JsonUnreadable> {
    places
        .iter()
        .map(|(l, e)| JsonUnreadable {
            location: l.to_string(),
            error: e.to_string(),
            help: e.help(),
        })
        .collect()
}

impl From<&FieldChange> for JsonField {
    fn from(f: &FieldChange) -> Self {
        JsonField {
            path: f.path.to_string(),
            path_segments: f.path.segments().iter().map(ToString::to_string).collect(),
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
        object: (&c.object).into(),
        wec: c.wec.as_ref().map(ToString::to_string),
        action: action_name(c.kind()).to_owned(),
        actions: actions(c.kind()),
        cause: (&c.cause).into(),
        blocked: c.blocked.map(|b| blocked_text(b, c)),
        note: c.reason.as_ref().map(reason_text),
        depends_on,
        fields: c.fields.iter().map(JsonField::from).collect(),
        observed: c.observed.as_ref().map(|o| JsonObserved {
            uid: o.uid.clone(),
            resource_version: o.resource_version.clone(),
        }),
        registration: registration(c),
    }
}

/// The wire document for a plan.
pub fn document(plan: &Plan, header: &Header) -> JsonPlan {
    let d = &plan.diff;
    let mut acts = JsonActions::default();
    let mut causes = JsonCauses::default();
    for c in &d.changes {
        *match c.kind() {
            ActionKind::Create => &mut acts.create,
            ActionKind::Update => &mut acts.update,
            ActionKind::Replace => &mut acts.replace,
            ActionKind::Delete => &mut acts.delete,
            ActionKind::Register => &mut acts.register,
            ActionKind::Deregister => &mut acts.deregister,
        } += 1;
        *match c.cause {
            Cause::Config => &mut causes.config,
            Cause::Drift { .. } => &mut causes.drift,
            Cause::Conflict { .. } => &mut causes.conflict,
        } += 1;
    }
    JsonPlan {
        header: json_header(header, FORMAT_VERSION, header.subject.as_str()),
        incomplete: !d.unreadable.is_empty(),
        summary: JsonSummary {
            add: plan.summary.add,
            change: plan.summary.change,
            destroy: plan.summary.destroy,
            blocked: plan.summary.blocked,
            register: plan.summary.register,
            deregister: plan.summary.deregister,
        },
        actions: acts,
        causes,
        changes: d
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| change(plan, i, c))
            .collect(),
        unreadable: unreadable(&d.unreadable),
        unmanaged_wecs: names(&d.unmanaged_wecs),
        orphaned_wecs: names(&d.orphaned_wecs),
        unchanged_wecs: names(&d.unchanged_wecs),
        deliveries: d
            .deliveries
            .iter()
            .map(|x| {
                let (state, message) = match &x.state {
                    DeliveryState::Applied => ("applied", None),
                    DeliveryState::Pending(m) => ("pending", Some(m.clone())),
                    DeliveryState::Failed(m) => ("failed", Some(m.clone())),
                };
                JsonDelivery {
                    wec: x.wec.to_string(),
                    expansion: x.expansion.to_string(),
                    mode: if x.downsync { "downsync" } else { "direct" }.to_owned(),
                    state: state.to_owned(),
                    message,
                }
            })
            .collect(),
    }
}

fn json_header(h: &Header, version: &str, report: &str) -> JsonHeader {
    JsonHeader {
        format_version: version.to_owned(),
        report: report.to_owned(),
        its_context: h.its_context.clone(),
        its_server: h.its_server.clone(),
        its_uid: h.its_uid.clone(),
        config_digest: h.config_digest.clone(),
        targets: h.target_args(),
    }
}

fn names(wecs: &[crate::model::WecName]) -> Vec<String> {
    wecs.iter().map(ToString::to_string).collect()
}

fn pretty(doc: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("plain data");
    s.push('\n');
    s
}

/// Renders the plan as pretty-printed JSON (with a trailing newline).
pub fn render(plan: &Plan, header: &Header) -> String {
    pretty(&document(plan, header))
}

/// The wire document for an apply.
pub fn apply_document(plan: &Plan, report: &ApplyReport, header: &Header) -> JsonApply {
    let changes = &plan.diff.changes;
    let tally = report.tally(changes);
    let results = changes
        .iter()
        .zip(&report.outcomes)
        .enumerate()
        .map(|(index, (c, o))| {
            let (outcome, error, help, skipped_because, blocked) = match o {
                Outcome::Done => ("done", None, None, None, None),
                Outcome::Failed(e) => ("failed", Some(e.to_string()), e.help(), None, None),
                Outcome::Skipped { dependency } => ("skipped", None, None, Some(*dependency), None),
                Outcome::Blocked(b) => ("blocked", None, None, None, Some(blocked_text(*b, c))),
                Outcome::Interrupted(why) => (
                    "interrupted",
                    Some(stop_text(*why).to_owned()),
                    None,
                    None,
                    None,
                ),
            };
            JsonResult {
                index,
                object: (&c.object).into(),
                wec: c.wec.as_ref().map(ToString::to_string),
                action: action_name(c.kind()).to_owned(),
                outcome: outcome.to_owned(),
                error,
                help,
                skipped_because,
                blocked,
            }
        })
        .collect();
    JsonApply {
        header: json_header(header, APPLY_FORMAT_VERSION, "apply"),
        complete: !report.partially_failed() && plan.diff.unreadable.is_empty(),
        applied: JsonApplied {
            add: tally.done.add,
            change: tally.done.change,
            destroy: tally.done.destroy,
        },
        failed: tally.failed,
        skipped: tally.skipped,
        blocked: tally.blocked,
        interrupted: tally.interrupted,
        results,
        unreadable: unreadable(&plan.diff.unreadable),
    }
}

/// Renders an apply report as pretty-printed JSON (with a trailing newline).
pub fn render_apply(plan: &Plan, report: &ApplyReport, header: &Header) -> String {
    pretty(&apply_document(plan, report, header))
}
