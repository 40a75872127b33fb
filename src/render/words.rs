//! fleet's words: symbols and names of actions, causes, notes under objects, and the
//! sentences that open and close a report. Every view takes its wording from here.

use std::collections::BTreeSet;

use super::{Header, Subject};
use crate::diff::delivery::{Delivery, DeliveryState};
use crate::diff::{ActionKind, Blocked, Cause, Change, Reason};
use crate::model::Kind;
use crate::model::text::plural;
use crate::plan::Plan;
use crate::plan::report::Stop;
use crate::plan::saved::{Stale, Verdict};
use crate::status::{Problem, Sync};
use k8s_openapi::jiff::Timestamp;

/// Terraform's symbol for an action.
pub(crate) fn symbol(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create | ActionKind::Register => "+",
        ActionKind::Update => "~",
        ActionKind::Replace => "-/+",
        ActionKind::Delete | ActionKind::Deregister => "-",
    }
}

/// The action's name in the JSON documents.
pub(crate) fn action_name(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "create",
        ActionKind::Update => "update",
        ActionKind::Replace => "replace",
        ActionKind::Delete => "delete",
        ActionKind::Register => "register",
        ActionKind::Deregister => "deregister",
    }
}

/// What apply did, in the past tense.
pub(crate) fn action_done(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "created",
        ActionKind::Update => "updated",
        ActionKind::Replace => "replaced",
        ActionKind::Delete => "deleted",
        ActionKind::Register => "registered",
        ActionKind::Deregister => "deregistered",
    }
}

/// `config`, `drift` or `conflict`.
pub(crate) fn cause_name(c: &Cause) -> &'static str {
    match c {
        Cause::Config => "config",
        Cause::Drift { .. } => "drift",
        Cause::Conflict { .. } => "conflict",
    }
}

/// The manager a cause names, if any.
pub(crate) fn cause_manager(c: &Cause) -> Option<&str> {
    match c {
        Cause::Config | Cause::Drift { manager: None } => None,
        Cause::Drift { manager: Some(m) } | Cause::Conflict { manager: m } => Some(m),
    }
}

/// `drift (by kubectl-label)`, `conflict (owned by helm)`, `config`.
pub(crate) fn describe(c: &Cause) -> String {
    match c {
        Cause::Config => "config".into(),
        Cause::Drift { manager: Some(m) } => format!("drift (by {m})"),
        Cause::Drift { manager: None } => "drift".into(),
        Cause::Conflict { manager } => format!("conflict (owned by {manager})"),
    }
}

/// Why a change is blocked.
pub(crate) fn blocked_text(b: Blocked, c: &Change) -> String {
    match b {
        Blocked::NotRegistered => format!(
            "{} does not exist: the WEC is not registered with the ITS",
            c.object.display_name()
        ),
        Blocked::RegisterDisabled => format!(
            "{} does not exist: the WEC is not registered, and `register = false` keeps fleet from joining it",
            c.object.display_name()
        ),
        Blocked::NoClusterInfo => "the WEC cannot be joined: `force_internal_endpoint_lookup` needs kube-public/cluster-info on the ITS, which does not exist (set `hub_api_server` instead)".into(),
        Blocked::JoinedElsewhere => "the WEC has a Klusterlet fleet did not install (joined to another hub, under another name, or by hand): fleet does not take it over; unjoin it first, or accept it where it was joined".into(),
        Blocked::DeregisterLimit { count, max } => format!(
            "{count} WECs would be deregistered and --max-deregister is {max}: nothing is deregistered (raise --max-deregister to allow it)"
        ),
    }
}

/// Why this action was chosen.
pub(crate) fn reason_text(r: &Reason) -> String {
    match r {
        Reason::ImmutableField(path) => format!("{path} is immutable: forces replacement"),
        Reason::WecRemoved => "WEC removed from fleet.toml (--prune)".into(),
        Reason::Record { added, removed } => {
            let objects = |n: usize| format!("{n} object{}", if n == 1 { "" } else { "s" });
            match (added, removed) {
                (a, 0) => format!(
                    "fleet's record of its objects on the WEC: {} added",
                    objects(*a)
                ),
                (0, r) => format!(
                    "fleet's record of its objects on the WEC: {} removed once deleted",
                    objects(*r)
                ),
                (a, r) => format!(
                    "fleet's record of its objects on the WEC: {} added, {} removed once deleted",
                    objects(*a),
                    objects(*r)
                ),
            }
        }
    }
}

/// What a report is called in sentences: `plan` or `drift check`.
pub(crate) fn report_noun(s: Subject) -> &'static str {
    match s {
        Subject::Plan => "plan",
        Subject::Drift => "drift check",
    }
}

/// The WECs a report found nothing for: `unchanged` or `without drift`.
pub(crate) fn unchanged_words(s: Subject) -> &'static str {
    match s {
        Subject::Plan => "unchanged",
        Subject::Drift => "without drift",
    }
}

/// A note under an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub text: String,
    /// A warning (blocked) rather than an explanation.
    pub warning: bool,
}

/// The action in words, for views that rewrite the symbols.
pub(crate) fn action_word(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "create",
        ActionKind::Update => "update in place",
        ActionKind::Replace => "replace",
        ActionKind::Delete => "destroy",
        ActionKind::Register => "register",
        ActionKind::Deregister => "deregister",
    }
}

/// A cause in words; a missing object fleet had applied says so.
fn describe_cause(cause: &Cause, action: ActionKind) -> String {
    match (cause, action) {
        (Cause::Drift { manager: None }, ActionKind::Create) => {
            "drift (deleted outside fleet)".into()
        }
        _ => describe(cause),
    }
}

/// The distinct causes of a change's fields (or the change's own cause when it has none).
pub(crate) fn causes(c: &Change) -> Vec<&Cause> {
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
        .map(|k| describe_cause(k, c.kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Explanatory comment lines under an object: blocked reason, the diff's note, and what a
/// deletion or a binding replacement means.
pub(crate) fn object_notes(c: &Change) -> Vec<Note> {
    let info = |text: String| Note {
        text,
        warning: false,
    };
    let mut out = Vec::new();
    if let Some(b) = c.blocked {
        out.push(Note {
            text: format!("blocked: {}", blocked_text(b, c)),
            warning: true,
        });
    }
    if let Some(r) = &c.reason {
        out.push(info(reason_text(r)));
    } else if c.kind() == ActionKind::Delete {
        out.push(info("no longer in fleet.toml".into()));
    }
    if c.depends_on.iter().any(|d| d.kind == Kind::Klusterlet) {
        out.push(info("applied once the WEC is registered".into()));
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
        out.push(info(format!(
            "apply takes over the conflicting fields from {}",
            owners.join(", ")
        )));
    }
    if c.kind() == ActionKind::Replace
        && matches!(c.object.kind, Kind::RoleBinding | Kind::ClusterRoleBinding)
    {
        out.push(info(
            "the subjects lose these permissions briefly while the binding is replaced".into(),
        ));
    }
    out
}

/// The closing sentence: Terraform's "Plan: …" / "No changes. …", or the drift equivalent;
/// when something could not be read it never claims there is nothing to do.
pub(crate) fn closing_line(plan: &Plan, header: &Header) -> String {
    let s = &plan.summary;
    let n = plan.diff.changes.len();
    let unread = plan.diff.unreadable.len();
    let undelivered = plan.diff.undelivered();
    match (header.subject, n, unread) {
        (Subject::Plan, 0, 0) if header.targets.is_empty() => {
            "No changes. The fleet matches fleet.toml.".into()
        }
        (Subject::Plan, 0, 0) => "No changes. The targeted WECs match fleet.toml.".into(),
        (Subject::Plan, 0, _) => format!(
            "No changes in what could be read, but the plan is incomplete: {} could not be read.",
            plural(unread, "place", "places")
        ),
        (Subject::Plan, _, _) => {
            let mut line = String::from("Plan: ");
            if s.register > 0 {
                line.push_str(&format!("{} to register, ", s.register));
            }
            line.push_str(&format!(
                "{} to add, {} to change, {} to destroy",
                s.add, s.change, s.destroy
            ));
            if s.deregister > 0 {
                line.push_str(&format!(", {} to deregister", s.deregister));
            }
            if s.blocked > 0 {
                line.push_str(&format!(", {} blocked", s.blocked));
            }
            line.push('.');
            line
        }
        (Subject::Drift, 0, 0) if undelivered > 0 => format!(
            "No drift in fleet's objects, but {} not in effect on the WECs.",
            plural(undelivered, "RBAC grant is", "RBAC grants are")
        ),
        (Subject::Drift, 0, 0) => "No drift.".into(),
        (Subject::Drift, 0, _) => format!(
            "No drift in what could be read, but the check is incomplete: {} could not be read.",
            plural(unread, "place", "places")
        ),
        (Subject::Drift, _, _) => format!(
            "Drift: {} changed outside fleet.",
            plural(n, "object", "objects")
        ),
    }
}

/// The warning for an incomplete result that still has changes, or `None`.
pub(crate) fn incomplete_warning(plan: &Plan, header: &Header) -> Option<String> {
    let unread = plan.diff.unreadable.len();
    let what = format!("this {}", report_noun(header.subject));
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

/// Why an apply stopped before the end.
pub fn stop_text(why: Stop) -> &'static str {
    match why {
        Stop::Signal => "apply was interrupted; run it again to finish",
        Stop::LockLost => {
            "apply lost its lock, so it stopped writing; run it again once no other apply runs"
        }
    }
}

/// Why a saved plan can no longer be applied, one line per object.
pub fn stale_report(verdict: &Verdict) -> String {
    let n = verdict.stale.len();
    let mut out = format!(
        "The saved plan is stale: {} changed since it was made. Nothing was written.\n",
        plural(n, "object", "objects")
    );
    for s in &verdict.stale {
        let line = match s {
            Stale::Changed {
                object,
                planned,
                now,
            } if planned == now => format!(
                "  ~ {object}: its {} is no longer the one reviewed",
                action_name(*now)
            ),
            Stale::Changed {
                object,
                planned,
                now,
            } => format!(
                "  ~ {object}: planned {}, now {}",
                action_name(*planned),
                action_name(*now)
            ),
            Stale::Recreated { object } => {
                format!("  ! {object}: deleted and created again since the plan")
            }
            Stale::Appeared { object, now } => format!(
                "  + {object}: needs a {} the plan does not have",
                action_name(*now)
            ),
            Stale::Vanished { object, planned } => format!(
                "  - {object}: the planned {} is no longer needed",
                action_name(*planned)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("The plan above is the current one: review it and save it again (`fleet plan --out PLANFILE`).\n");
    out
}

/// A short age, as kubectl prints them: `42s`, `5m`, `3h`, `2d`.
pub fn age(t: Timestamp, now: Timestamp) -> String {
    let s = now.duration_since(t).as_secs().max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A status cell for labels, properties or RBAC.
pub fn sync_text(s: &Sync) -> String {
    match s {
        Sync::None => "-".to_owned(),
        Sync::InSync => "in sync".to_owned(),
        Sync::Pending(n) => format!("{n} pending"),
        Sync::Drifted { changes, .. } => format!("{changes} drifted"),
        Sync::Blocked(n) => format!("{n} blocked"),
        Sync::Unknown => "unknown".to_owned(),
    }
}

/// What is wrong with a WEC, in a few words.
pub fn problem_text(p: &Problem) -> String {
    match p {
        Problem::Unmanaged => "not in fleet.toml".to_owned(),
        Problem::Unreadable(loc) => format!("{loc} could not be read"),
        Problem::NotRegistered(s) => format!(
            "not registered ({}): `fleet apply` registers it",
            s.as_str()
        ),
        Problem::RegisterDisabled(s) => {
            format!("not registered ({}) and register = false", s.as_str())
        }
        Problem::AgentSilent { seconds } => format!(
            "agent silent for {}",
            humantime::format_duration(std::time::Duration::from_secs(seconds.unsigned_abs()))
        ),
        Problem::Condition { name, status } => match status {
            Some(s) => format!("{name} is {s:?}"),
            None => format!("no {name} condition"),
        },
        Problem::NotDelivered(d) => delivery_line(d)
            .split_once(": ")
            .map_or_else(String::new, |(_, rest)| rest.to_owned()),
        Problem::OutOfSync { aspect, sync } => match sync {
            Sync::Drifted {
                manager: Some(m), ..
            } => format!("{} drifted (by {m})", aspect.as_str()),
            Sync::Drifted { manager: None, .. } => format!("{} drifted", aspect.as_str()),
            Sync::Pending(_) => format!("{} changes pending (`fleet apply`)", aspect.as_str()),
            Sync::Blocked(_) => format!("{} wait on registration", aspect.as_str()),
            _ => format!("{} unknown", aspect.as_str()),
        },
    }
}

/// `RBAC in effect on the WECs: 3 of 4 grants …`.
pub fn delivery_summary(deliveries: &[Delivery], subject: Subject) -> String {
    if subject == Subject::Drift {
        // A drift report lists only what is wrong.
        return "RBAC not in effect on the WECs:".to_owned();
    }
    let done = deliveries.iter().filter(|d| d.delivered()).count();
    let n = plural(deliveries.len(), "grant", "grants");
    if done == deliveries.len() {
        format!(
            "RBAC in effect on the WECs: all {n} (KubeStellar ManifestWorks Applied, SubjectAccessReviews allowed)."
        )
    } else {
        format!("RBAC in effect on the WECs: {done} of {n}; not in effect:")
    }
}

/// `wec/cluster2: rbac aw (downsync) pending: no ManifestWork …`.
pub fn delivery_line(d: &Delivery) -> String {
    let mode = if d.downsync { "downsync" } else { "direct" };
    let what = format!("wec/{}: rbac {} ({mode})", d.wec, d.expansion);
    match &d.state {
        DeliveryState::Applied => format!("{what} in effect"),
        DeliveryState::Pending(why) => format!("{what} pending: {why}"),
        DeliveryState::Failed(why) => format!("{what} failed: {why}"),
    }
}
