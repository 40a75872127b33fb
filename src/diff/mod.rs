//! The pure diff: desired objects × observed snapshot → [`Change`]s, with server-side-apply
//! semantics for field manager `fleet`.
//!
//! One comparison decides both *whether* an object changes and *what* is shown, so a change
//! never has an empty diff. Each field change carries its cause: `config` (fleet.toml asks
//! for something new), `drift` (someone changed what fleet applied; the field manager is
//! named from `managedFields`) or `conflict` (another manager owns a field fleet wants).
//! How any of this is worded is the views' business (`render`).

mod body;
pub mod delivery;
pub mod fields;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod registration;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use compact_str::CompactString;

use crate::model::json::Json;
use serde_json::Value;

use crate::config::model::{DesiredFleet, RbacMode, Wec};
use crate::desired::{DesiredObject, DesiredState, Mode};
use crate::model::vocab::{
    MANAGER, PROPERTIES_NS, delivered_by_work_agent, expansion_of, is_fleet_manager,
    managed_by_fleet,
};
use crate::model::{
    ExpansionName, Failure, Kind, LastApplied, Location, ObjectRef, ObservedFleet, WecName,
};
pub use body::Body;
use fields::{FieldPath, Operation, Owner, flatten, last_foreign_writer, owners};
pub use registration::{Deregistration, RegStep, Registration};
use registration::{RegistrationProblem, change_object, registered_by_fleet};

/// Why a field (or object) changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Cause {
    /// `fleet.toml` asks for something that is not there yet.
    Config,
    /// Someone changed (or deleted) what fleet applied; the manager, when known.
    Drift { manager: Option<String> },
    /// Another field manager owns a field fleet wants; apply takes it over.
    Conflict { manager: String },
}

impl Cause {
    /// Out-of-band: drift or conflict.
    pub fn is_out_of_band(&self) -> bool {
        !matches!(self, Cause::Config)
    }
}

/// What happens to an object, without its payload: for counting, ordering and display.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ActionKind {
    Create,
    Update,
    /// Delete then create: an immutable field changed.
    Replace,
    Delete,
    /// Take a WEC from its registration state to Available.
    Register,
    /// Unjoin a WEC and delete its ManagedCluster.
    Deregister,
}

/// What happens to an object, with exactly what apply needs to do it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// Server-side apply of `body` to an object that does not exist.
    Create { body: Body },
    /// Server-side apply of `body` to the observed object.
    Update { body: Body },
    /// Delete the object, then server-side apply `body`.
    Replace { body: Body },
    /// Delete the object.
    Delete,
    /// Register a WEC: join, accept, wait (the change's object is its Klusterlet).
    Register(Registration),
    /// Deregister a WEC fleet registered: unjoin, delete its ManagedCluster, wait.
    Deregister(Deregistration),
}

impl Action {
    /// The action without its payload.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Create { .. } => ActionKind::Create,
            Action::Update { .. } => ActionKind::Update,
            Action::Replace { .. } => ActionKind::Replace,
            Action::Delete => ActionKind::Delete,
            Action::Register(_) => ActionKind::Register,
            Action::Deregister(_) => ActionKind::Deregister,
        }
    }
}

/// Why a change cannot be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Blocked {
    /// The WEC's ManagedCluster does not exist: the WEC is not registered with the ITS (and
    /// what it takes to register it could not be read).
    NotRegistered,
    /// The WEC is not registered and `register = false` keeps fleet from joining it.
    RegisterDisabled,
    /// `force_internal_endpoint_lookup` needs `kube-public/cluster-info` on the ITS, which
    /// does not exist.
    NoClusterInfo,
    /// The WEC has a Klusterlet fleet did not install (joined elsewhere or by hand).
    JoinedElsewhere,
    /// More WECs would be deregistered than `--max-deregister` allows.
    DeregisterLimit { count: usize, max: usize },
}

/// Why an action was chosen, when it is not obvious.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    /// An immutable field changed, which forces a replacement.
    ImmutableField(FieldPath),
    /// The WEC is gone from `fleet.toml` and `--prune` removes what fleet applied for it.
    WecRemoved,
    /// Only fleet's record of the objects it manages on the WEC changes (kept on its
    /// ManagedCluster, it tells later plans which WECs to read): `added` objects are now
    /// recorded, `removed` no longer (written once they are deleted).
    Record { added: usize, removed: usize },
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub path: FieldPath,
    /// `None`: the field does not exist yet.
    pub before: Option<Value>,
    /// `None`: the field is removed.
    pub after: Option<Value>,
    pub cause: Cause,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub object: ObjectRef,
    /// The WEC the object is for (`None`: shared by the fleet).
    pub wec: Option<WecName>,
    /// The RBAC expansion the object belongs to, when there is one.
    pub expansion: Option<ExpansionName>,
    pub action: Action,
    /// The object's cause: the most out-of-band cause of its fields.
    pub cause: Cause,
    pub fields: Vec<FieldChange>,
    pub blocked: Option<Blocked>,
    pub reason: Option<Reason>,
    /// Objects this change needs first.
    pub depends_on: Vec<ObjectRef>,
    /// `uid` and `resourceVersion` of the live object this change was computed against.
    pub observed: Option<Observed>,
}

impl Change {
    /// Whether the change only updates a ManagedCluster's record of its WEC's objects.
    pub fn is_record_only(&self) -> bool {
        matches!(self.reason, Some(Reason::Record { .. }))
    }

    /// The action without its payload.
    pub fn kind(&self) -> ActionKind {
        self.action.kind()
    }
}

/// Identity of the live object a change was computed against.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Observed {
    pub uid: String,
    pub resource_version: String,
}

/// Options that change what is diffed.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Also delete fleet's objects of WECs that are no longer in `fleet.toml`.
    pub prune: bool,
    /// Only these WECs (empty: all).
    pub targets: BTreeSet<WecName>,
    /// With `prune`: deregister at most this many WECs at once; more hold them all back.
    pub max_deregister: usize,
}

/// The result of a diff.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// ManagedClusters on the ITS that fleet neither declares nor ever managed.
    pub unmanaged_wecs: Vec<WecName>,
    /// WECs fleet managed that are gone from `fleet.toml` (their objects go with `--prune`).
    pub orphaned_wecs: Vec<WecName>,
    /// WECs in `fleet.toml` with nothing to change.
    pub unchanged_wecs: Vec<WecName>,
    /// Places that could not be read: the diff there is unknown.
    #[serde(with = "crate::model::observed::as_pairs")]
    pub unreadable: BTreeMap<Location, Failure>,
    /// Whether KubeStellar delivered the downsync RBAC fleet has in place (when the ITS's
    /// ManifestWorks were read).
    #[serde(default)]
    pub deliveries: Vec<delivery::Delivery>,
}

impl Diff {
    /// Downsync grants KubeStellar has not delivered (pending or failed).
    pub fn undelivered(&self) -> usize {
        self.deliveries.iter().filter(|d| !d.delivered()).count()
    }

    /// Only out-of-band changes (what `fleet drift` reports): fields changed or taken by
    /// another manager, and objects fleet applied that are missing.
    pub fn drift_only(&self) -> Diff {
        let mut d = self.clone();
        d.changes.retain_mut(|c| {
            c.fields.retain(|f| f.cause.is_out_of_band());
            c.cause.is_out_of_band() && (c.kind() == ActionKind::Create || !c.fields.is_empty())
        });
        d.orphaned_wecs.clear();
        // Drift is what is wrong: grants in effect are not reported.
        d.deliveries.retain(|x| !x.delivered());
        d
    }
}

const DELETABLE: [Kind; 6] = [
    Kind::ConfigMap,
    Kind::ClusterRole,
    Kind::ClusterRoleBinding,
    Kind::Role,
    Kind::RoleBinding,
    Kind::BindingPolicy,
];

/// Computes every change between the desired state and the observed snapshot.
pub fn diff(
    fleet: &DesiredFleet,
    desired: &DesiredState,
    observed: &ObservedFleet,
    opts: &DiffOptions,
) -> Diff {
    let inventory = Inventory::of(observed);
    let mut out = Diff {
        unreadable: observed.unreadable.clone(),
        ..Default::default()
    };

    let wanted: BTreeSet<&ObjectRef> = desired.objects.iter().map(|d| &d.object).collect();
    for d in &desired.objects {
        if !observed.knows(&d.object) {
            continue; // unreadable: unknown, never "no change"
        }
        if let Some(c) = diff_object(d, observed.get(&d.object), &inventory) {
            out.changes.push(c);
        }
    }

    // Fleet's objects nobody wants any more.
    for (r, live) in &observed.objects {
        // One already being deleted (a finalizer holds it) is as good as gone.
        if !DELETABLE.contains(&r.kind)
            || wanted.contains(r)
            || !deletable(live)
            || live.pointer("/metadata/deletionTimestamp").is_some()
        {
            continue;
        }
        let wec = owner_wec(r);
        let gone_wec = wec.as_ref().is_some_and(|w| !fleet.wecs.contains_key(w));
        if gone_wec && !opts.prune {
            continue;
        }
        out.changes.push(Change {
            object: r.clone(),
            wec,
            expansion: expansion_of(live),
            action: Action::Delete,
            cause: Cause::Config,
            fields: Vec::new(),
            blocked: None,
            reason: gone_wec.then_some(Reason::WecRemoved),
            depends_on: Vec::new(),
            observed: observed_identity(live),
        });
    }

    records(desired, observed, &mut out.changes);
    registrations(fleet, observed, &mut out.changes);

    // ManagedClusters fleet does not declare.
    let mut deregister = Vec::new();
    for (r, live) in observed.of_kind(Kind::ManagedCluster) {
        let name = WecName::from(r.name.as_str());
        if fleet.wecs.contains_key(&name) {
            continue;
        }
        let fleet_touched = owners(live)
            .values()
            .flatten()
            .any(|o| is_fleet_manager(&o.manager));
        if !fleet_touched {
            out.unmanaged_wecs.push(name);
            continue;
        }
        if opts.prune
            && let Some(context) = registered_by_fleet(observed, &name)
        {
            deregister.push(Change {
                object: change_object(&name),
                wec: Some(name.clone()),
                expansion: None,
                action: Action::Deregister(Deregistration {
                    wec: name.clone(),
                    context,
                }),
                cause: Cause::Config,
                fields: Vec::new(),
                blocked: None,
                reason: Some(Reason::WecRemoved),
                depends_on: Vec::new(),
                observed: observed_identity(live),
            });
        }
        out.orphaned_wecs.push(name);
    }
    let count = deregister.len();
    if count > opts.max_deregister {
        for c in &mut deregister {
            c.blocked = Some(Blocked::DeregisterLimit {
                count,
                max: opts.max_deregister,
            });
        }
    }
    out.changes.extend(deregister);

    if !opts.targets.is_empty() {
        retain_targets(&mut out, fleet, &opts.targets);
    }
    let changed: BTreeSet<&WecName> = out.changes.iter().filter_map(|c| c.wec.as_ref()).collect();
    // A WEC is known to be in sync only if every place holding its objects was read: the ITS
    // (ManagedCluster, properties), the WEC itself, and the WDS when it uses downsync RBAC.
    let known = |w: &Wec| {
        let places = [
            Some(Location::Its),
            Some(Location::Wec(w.name.clone())),
            fleet
                .uses_mode(w, RbacMode::Downsync)
                .then_some(Location::Wds),
        ];
        places
            .iter()
            .flatten()
            .all(|l| !observed.unreadable.contains_key(l))
    };
    out.unchanged_wecs = fleet
        .wecs
        .values()
        .filter(|w| opts.targets.is_empty() || opts.targets.contains(&w.name))
        .filter(|w| !changed.contains(&w.name) && known(w))
        .map(|w| w.name.clone())
        .collect();
    // Per WEC, its (de)registration first: the rest waits on it. An object has one change,
    // so the order is total and an unstable sort (no copy of 10,000 changes) is as stable.
    let rank = |c: &Change| !matches!(c.action, Action::Register(_) | Action::Deregister(_));
    out.changes.sort_unstable_by(|a, b| {
        a.wec
            .cmp(&b.wec)
            .then_with(|| rank(a).cmp(&rank(b)))
            .then_with(|| a.object.cmp(&b.object))
    });
    out.deliveries = delivery::deliveries(fleet, observed, &out.changes)
        .into_iter()
        .filter(|d| opts.targets.is_empty() || opts.targets.contains(&d.wec))
        .collect();
    out
}

/// Plans the registration of every WEC that needs one and makes the WEC's other changes wait
/// on it. A WEC that cannot be registered keeps its ManagedCluster changes blocked, saying why.
fn registrations(fleet: &DesiredFleet, observed: &ObservedFleet, changes: &mut Vec<Change>) {
    // Per WEC: `None` when it is being registered, else why its blocked changes stay blocked.
    let mut planned = Vec::new();
    let mut verdict: HashMap<&WecName, Option<Blocked>> = HashMap::with_capacity(fleet.wecs.len());
    for wec in fleet.wecs.values() {
        let blocked = match registration::registration(fleet, wec, observed) {
            Ok(Some(reg)) => {
                planned.push(Change {
                    object: change_object(&wec.name),
                    wec: Some(wec.name.clone()),
                    expansion: None,
                    action: Action::Register(reg),
                    cause: Cause::Config,
                    fields: Vec::new(),
                    blocked: None,
                    reason: None,
                    depends_on: Vec::new(),
                    observed: None,
                });
                None
            }
            Ok(None) if !wec.register => Some(Blocked::RegisterDisabled),
            Ok(None) => Some(Blocked::NotRegistered),
            Err(RegistrationProblem::NoClusterInfo) => Some(Blocked::NoClusterInfo),
            Err(RegistrationProblem::JoinedElsewhere) => Some(Blocked::JoinedElsewhere),
        };
        verdict.insert(&wec.name, blocked);
    }
    for c in changes.iter_mut() {
        let Some(wec) = c.wec.clone() else { continue };
        match verdict.get(&wec) {
            Some(None) => {
                c.depends_on.push(change_object(&wec));
                c.blocked = None;
            }
            Some(Some(why)) if c.blocked.is_some() => c.blocked = Some(*why),
            _ => {}
        }
    }
    changes.extend(planned);
}

/// Keeps the targeted WECs' changes and the shared objects they need: those of the RBAC
/// expansions they list, and what those depend on.
fn retain_targets(out: &mut Diff, fleet: &DesiredFleet, targets: &BTreeSet<WecName>) {
    let expansions: BTreeSet<&ExpansionName> = targets
        .iter()
        .filter_map(|t| fleet.wecs.get(t))
        .flat_map(|w| &w.rbac)
        .collect();
    let targeted = |c: &Change| match &c.wec {
        Some(w) => targets.contains(w),
        None => c.expansion.as_ref().is_some_and(|e| expansions.contains(e)),
    };
    let needed: BTreeSet<ObjectRef> = out
        .changes
        .iter()
        .filter(|c| targeted(c))
        .flat_map(|c| c.depends_on.iter().cloned())
        .collect();
    out.changes
        .retain(|c| targeted(c) || (c.wec.is_none() && needed.contains(&c.object)));
    out.unmanaged_wecs.clear();
    out.orphaned_wecs.retain(|w| targets.contains(w));
}

/// The `uid` and `resourceVersion` of a live object.
pub fn observed_identity(live: &Json) -> Option<Observed> {
    Some(Observed {
        uid: live.pointer("/metadata/uid")?.as_str()?.to_owned(),
        resource_version: live
            .pointer("/metadata/resourceVersion")?
            .as_str()?
            .to_owned(),
    })
}

/// The WEC an observed object belongs to: its location, or (property ConfigMaps) its name.
fn owner_wec(r: &ObjectRef) -> Option<WecName> {
    match &r.location {
        Location::Wec(w) => Some(w.clone()),
        Location::Its
            if r.kind == Kind::ConfigMap && r.namespace.as_deref() == Some(PROPERTIES_NS) =>
        {
            Some(WecName::from(r.name.as_str()))
        }
        _ => None,
    }
}

/// Objects fleet recorded as applied, from every ManagedCluster's last-applied record: what
/// tells a missing object fleet applied (someone deleted it) from one never created. Read
/// only when an object is missing, which a converged fleet never has.
struct Inventory<'a> {
    observed: Option<&'a ObservedFleet>,
    recorded: std::cell::OnceCell<BTreeSet<ObjectRef>>,
}

impl<'a> Inventory<'a> {
    fn of(observed: &'a ObservedFleet) -> Self {
        Inventory {
            observed: Some(observed),
            recorded: std::cell::OnceCell::new(),
        }
    }

    /// No records: for an object known to exist.
    fn none() -> Self {
        Inventory {
            observed: None,
            recorded: std::cell::OnceCell::new(),
        }
    }

    fn contains(&self, r: &ObjectRef) -> bool {
        let Some(observed) = self.observed else {
            return false;
        };
        self.recorded
            .get_or_init(|| {
                observed
                    .of_kind(Kind::ManagedCluster)
                    .filter_map(|(_, live)| LastApplied::objects_of(live))
                    .flatten()
                    .collect()
            })
            .contains(r)
    }
}

/// The change `d` needs against `live` as it is now, computed exactly as the plan computed
/// it: what apply compares with the planned change when the object moved under a
/// version-pinned write.
pub fn recheck(d: &DesiredObject, live: &Json) -> Option<Change> {
    // The inventory only names the cause of a missing object; this one exists.
    diff_object(d, Some(live), &Inventory::none())
}

/// Whether `body` (a write fleet planned) and `live` record the same objects on the WEC.
pub fn same_record(body: &Body, live: &Json) -> bool {
    let held = LastApplied::objects_of(live).unwrap_or_default();
    on_wecs(body.record_objects()) == on_wecs(&held)
}

/// Whether `live` is still fleet's to delete: labelled as fleet's, not a copy OCM's work
/// agent delivered.
pub fn deletable(live: &Json) -> bool {
    managed_by_fleet(live) && !delivered_by_work_agent(live)
}

/// The objects of `recorded` that are on a WEC.
fn on_wecs(recorded: &[ObjectRef]) -> BTreeSet<&ObjectRef> {
    recorded
        .iter()
        .filter(|r| matches!(r.location, Location::Wec(_)))
        .collect()
}

/// Keeps each WEC's record of fleet's objects on it (its ManagedCluster's last-applied
/// `objects`) true, since it decides which WECs later plans read: a WEC that stops using
/// direct RBAC is read only because the record names what fleet left on it.
///
/// - A ManagedCluster whose record differs from the objects now wanted on its WEC gets a
///   record-only change when nothing else of it changes.
/// - A record never loses an object before its deletion: the ManagedCluster's change waits
///   on those deletions (a failed one skips it, and the record keeps the object).
/// - The record of a WEC that could not be read gets no change of its own, and keeps
///   every object it names: nothing on that WEC is known to be gone.
fn records(desired: &DesiredState, observed: &ObservedFleet, changes: &mut Vec<Change>) {
    let deleting: BTreeSet<ObjectRef> = changes
        .iter()
        .filter(|c| c.kind() == ActionKind::Delete)
        .map(|c| c.object.clone())
        .collect();
    // Where each ManagedCluster's change is, by name, if it has one (changes only grow below,
    // and only by ManagedClusters that had none).
    let planned: HashMap<CompactString, usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.object.kind == Kind::ManagedCluster)
        .map(|(i, c)| (c.object.name.clone(), i))
        .collect();
    for d in desired
        .objects
        .iter()
        .filter(|d| d.object.kind == Kind::ManagedCluster)
    {
        let Some(live) = observed.get(&d.object) else {
            continue;
        };
        let recorded = LastApplied::objects_of(live).unwrap_or_default();
        let (was, now) = (on_wecs(&recorded), on_wecs(&d.inventory));
        if was == now {
            continue;
        }
        let unreadable = d
            .wec
            .as_ref()
            .is_some_and(|w| observed.unreadable.contains_key(&Location::Wec(w.clone())));
        let kept: Vec<ObjectRef> = was.difference(&now).map(|&r| r.clone()).collect();
        let planned = planned.get(&d.object.name).map(|&i| &mut changes[i]);
        if unreadable {
            // Nothing on it is planned: its record changes only with another change, and
            // keeps what it names.
            if let Some(c) = planned
                && let Action::Update { body } | Action::Replace { body } = &mut c.action
            {
                *body = Body::of(d, &kept);
            }
            continue;
        }
        let waits: Vec<ObjectRef> = was
            .difference(&now)
            .filter(|r| deleting.contains(*r))
            .map(|&r| r.clone())
            .collect();
        let added = now.difference(&was).count();
        let removed = kept.len();
        match planned {
            // Its body already carries the record now wanted.
            Some(c) => c.depends_on.extend(waits),
            None => changes.push(Change {
                object: d.object.clone(),
                wec: d.wec.clone(),
                expansion: d.expansion.clone(),
                action: Action::Update {
                    body: apply_body(d),
                },
                cause: Cause::Config,
                fields: Vec::new(),
                blocked: None,
                reason: Some(Reason::Record { added, removed }),
                depends_on: d.depends_on.iter().cloned().chain(waits).collect(),
                observed: observed_identity(live),
            }),
        }
    }
}

/// The body to apply: the desired body plus fleet's last-applied record.
fn apply_body(d: &DesiredObject) -> Body {
    Body::of(d, &[])
}

fn diff_object(d: &DesiredObject, live: Option<&Json>, inventory: &Inventory) -> Option<Change> {
    let want = flatten(d.body.as_ref());
    let base = Change {
        object: d.object.clone(),
        wec: d.wec.clone(),
        expansion: d.expansion.clone(),
        action: Action::Delete, // every path below sets the real action
        cause: Cause::Config,
        fields: Vec::new(),
        blocked: None,
        reason: None,
        depends_on: d.depends_on.clone(),
        observed: live.and_then(observed_identity),
    };
    let Some(live) = live else {
        let cause = if inventory.contains(&d.object) {
            Cause::Drift { manager: None } // fleet applied it; someone deleted it
        } else {
            Cause::Config
        };
        let fields = want
            .into_iter()
            .map(|(path, v)| FieldChange {
                path,
                before: None,
                after: Some(v),
                cause: cause.clone(),
            })
            .collect();
        let body = apply_body(d);
        return Some(match d.mode {
            Mode::ExistingOnly => Change {
                action: Action::Update { body },
                fields,
                blocked: Some(Blocked::NotRegistered),
                ..base
            },
            Mode::CreateOnly | Mode::Manage => Change {
                action: Action::Create { body },
                cause,
                fields,
                ..base
            },
        });
    };
    if d.mode == Mode::CreateOnly {
        return None;
    }

    let have = flatten(live);
    let owned = owners(live);
    // What fleet applied last, read only when a field differs (it names the cause).
    let last_applied = std::cell::OnceCell::new();
    let last = || {
        last_applied.get_or_init(|| {
            LastApplied::of(live)
                .map(|l| flatten(&l.applied))
                .unwrap_or_default()
        })
    };
    let fleet_owns = |p: &FieldPath| {
        owned
            .get(p)
            .is_some_and(|os| os.iter().any(|o| o.manager == MANAGER))
    };
    // Another manager of a field: an applier first (server-side apply conflicts with it),
    // else the latest writer; never the order `managedFields` happens to list them in.
    let foreign = |p: &FieldPath| -> Option<&Owner> {
        owned
            .get(p)?
            .iter()
            .filter(|o| !is_fleet_manager(&o.manager))
            .max_by(|a, b| {
                (a.operation == Operation::Apply, &a.time, &b.manager).cmp(&(
                    b.operation == Operation::Apply,
                    &b.time,
                    &a.manager,
                ))
            })
    };

    let mut fields = Vec::new();
    for (path, after) in &want {
        let before = have.get(path);
        if before == Some(after) {
            continue;
        }
        let cause = match foreign(path) {
            Some(o) if o.operation == Operation::Apply => Cause::Conflict {
                manager: o.manager.clone(),
            },
            Some(o) if last().get(path) == Some(after) => Cause::Drift {
                manager: Some(o.manager.clone()),
            },
            None if last().get(path) == Some(after) => Cause::Drift {
                manager: last_foreign_writer(live),
            },
            Some(o) if before.is_some() && last().get(path) != before => Cause::Conflict {
                manager: o.manager.clone(),
            },
            _ => Cause::Config,
        };
        fields.push(FieldChange {
            path: path.clone(),
            before: before.cloned(),
            after: Some(after.clone()),
            cause,
        });
    }
    // Fields fleet applied before and no longer declares: SSA removes those fleet alone
    // owns. One fleet applied that someone has since overwritten imperatively (`kubectl
    // label --overwrite` takes the field over) is still fleet's by its record: it is removed
    // too (apply deletes it explicitly), and the plan names who changed it. Another
    // applier's fields are left alone.
    for (path, before) in &have {
        if want.contains_key(path) {
            continue;
        }
        let cause = match foreign(path) {
            None if fleet_owns(path) => Cause::Config,
            Some(o)
                if !fleet_owns(path)
                    && last().contains_key(path)
                    && owned[path].iter().all(|o| o.operation == Operation::Update) =>
            {
                Cause::Drift {
                    manager: Some(o.manager.clone()),
                }
            }
            _ => continue,
        };
        fields.push(FieldChange {
            path: path.clone(),
            before: Some(before.clone()),
            after: None,
            cause,
        });
    }
    if fields.is_empty() {
        return None;
    }
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    // Kept for the whole apply: one change per WEC on a large fleet, most of one field.
    fields.shrink_to_fit();
    let cause = fields
        .iter()
        .map(|f| f.cause.clone())
        .max()
        .unwrap_or(Cause::Config);
    let immutable = fields
        .iter()
        .find(|f| f.path.is_immutable() && f.before.is_some())
        .map(|f| f.path.clone());
    let body = apply_body(d);
    Some(Change {
        action: match immutable {
            Some(_) => Action::Replace { body },
            None => Action::Update { body },
        },
        cause,
        reason: immutable.map(Reason::ImmutableField),
        fields,
        ..base
    })
}

#[cfg(test)]
mod tests;
