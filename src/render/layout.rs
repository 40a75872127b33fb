//! How the text views lay a plan out: changes grouped into [`Place`]s (the shared ITS and
//! WDS objects, then one per WEC), titles of objects, the legend of the actions present, the
//! destroys.

use std::collections::BTreeSet;
use std::fmt;

use crate::diff::{Action, ActionKind, Change};
use crate::model::{Location, WecName};
use crate::plan::Plan;

/// Where a group of changes is shown: shared objects on the ITS or WDS, or one WEC (its own
/// objects and its objects on the ITS, such as its ManagedCluster).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place<'a> {
    Its,
    Wds,
    Wec(&'a WecName),
}

impl Place<'_> {
    fn of(c: &Change) -> Place<'_> {
        match (&c.wec, &c.object.location) {
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
            Place::Wec(w) => Location::Wec((*w).clone()),
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
    match &c.action {
        Action::Register(r) => return format!("registration ({} → Available)", r.from),
        Action::Deregister(_) => return "deregistration".to_owned(),
        _ => {}
    }
    let name = c.object.display_name();
    if c.object.location == place.home() {
        return name;
    }
    match &c.object.location {
        Location::Its => format!("{name} (on the ITS)"),
        Location::Wds => format!("{name} (on the WDS)"),
        Location::Wec(w) => format!("{name} (on wec/{w})"),
    }
}

/// What a change is about, with where it lives: `its: ConfigMap ns/name`, or
/// `wec/NAME: registration` for (de)registrations. For progress and reports.
pub(crate) fn subject(c: &Change) -> String {
    match &c.action {
        Action::Register(r) => format!("wec/{}: registration", r.wec),
        Action::Deregister(d) => format!("wec/{}: deregistration", d.wec),
        _ => c.object.to_string(),
    }
}

/// `Kind ns/name` with its location, for lists outside the per-place sections.
pub(crate) fn object_with_location(c: &Change) -> String {
    if let Action::Deregister(d) = &c.action {
        return format!("deregistration of wec/{}", d.wec);
    }
    let at = match &c.object.location {
        Location::Its => "ITS".to_owned(),
        Location::Wds => "WDS".to_owned(),
        Location::Wec(w) => format!("wec/{w}"),
    };
    format!("{} on {at}", c.object.display_name())
}

/// Legend entries for the actions present, in Terraform's order.
pub(crate) fn legend(plan: &Plan) -> Vec<(ActionKind, &'static str)> {
    let present: BTreeSet<ActionKind> = plan.diff.changes.iter().map(Change::kind).collect();
    [
        (ActionKind::Create, "create"),
        (ActionKind::Update, "update in place"),
        (ActionKind::Replace, "replace (destroy, then create)"),
        (ActionKind::Delete, "destroy"),
        (
            ActionKind::Register,
            "register (join, accept, wait until Available)",
        ),
        (
            ActionKind::Deregister,
            "deregister (unjoin, delete the ManagedCluster)",
        ),
    ]
    .into_iter()
    .filter(|(a, _)| present.contains(a))
    .collect()
}

/// Changes that destroy something: deletions and replacements, in plan order.
pub(crate) fn destroys(plan: &Plan) -> Vec<&Change> {
    plan.diff
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind(),
                ActionKind::Delete | ActionKind::Replace | ActionKind::Deregister
            ) && c.blocked.is_none()
        })
        .collect()
}

/// WECs with at least one change.
pub(crate) fn changed_wecs(plan: &Plan) -> usize {
    sections(plan)
        .iter()
        .filter(|s| matches!(s.place, Place::Wec(_)))
        .count()
}
