//! Snapshots of every view for one plan that holds every kind of change, plus the empty,
//! incomplete and drift cases.

use std::path::Path;

use serde_json::{Value, json};

use super::lines::{Mark, line_diff};
use super::*;
use crate::config;
use crate::desired::DesiredState;
use crate::diff::fixtures::{entry, label_fields, managed_cluster, read_failure};
use crate::diff::{ActionKind, Cause, DiffOptions, diff};
use crate::model::vocab::{LAST_APPLIED, MANAGED_BY, MANAGER, PROPERTIES_NS, RBAC_LABEL};
use crate::model::{Kind, Location, ObjectRef, ObservedFleet, WecName};
use crate::plan::{self, Plan};

const FLEET: &str = r#"
[its]
context = "its1"
[wds]
context = "wds1"

[rbac.aw]
mode = "downsync"
[[rbac.aw.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get", "list", "watch"]

[rbac.jobs]
mode = "direct"
namespace = "team-a"
[[rbac.jobs.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["get", "list", "watch", "create"]

[wec.cluster1]
labels = { env = "prod", region = "us-west", team = "a" }
properties = { maxPods = "100" }
rbac = ["aw", "jobs"]

[wec.cluster2]
labels = { region = "us-east" }
properties = { maxPods = "200" }

[wec.cluster3]
labels = { region = "eu" }

[wec.edge-7]
labels = { region = "edge" }
properties = { site = "store-7" }

[wec.edge-8]
labels = { region = "edge" }
rbac = ["jobs"]
"#;

fn header(subject: Subject) -> Header {
    Header {
        subject,
        its_context: "its1".into(),
        its_server: Some("https://127.0.0.1:6443".into()),
        its_uid: Some("3f2a9c4e-1d2b-4c5a-9e8f-0a1b2c3d4e5f".into()),
        config_digest: "sha256:9c1e4b2a07d3f5e6c8b9a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1"
            .into(),
        targets: Vec::new(),
    }
}

/// A fleet-applied object: fleet owns its labels and `owned` top-level fields.
fn fleet_object(
    kind: Kind,
    ns: Option<&str>,
    name: &str,
    expansion: Option<&str>,
    fields: Value,
) -> Value {
    let mut labels = json!({ MANAGED_BY: MANAGER });
    if let Some(e) = expansion {
        labels[RBAC_LABEL] = e.into();
    }
    let mut trie = json!({"f:metadata": {"f:labels": {
        format!("f:{MANAGED_BY}"): {}, format!("f:{RBAC_LABEL}"): {}
    }}});
    for (k, v) in fields.as_object().into_iter().flatten() {
        match v.as_object() {
            Some(m) if k == "data" => {
                trie["f:data"] = m.keys().map(|dk| (format!("f:{dk}"), json!({}))).collect();
            }
            _ => trie[format!("f:{k}")] = json!({}),
        }
    }
    let mut obj = json!({
        "apiVersion": kind.api_version(), "kind": kind.as_str(),
        "metadata": {"name": name, "uid": format!("uid-{}", name.replace(':', "-")), "resourceVersion": "42",
            "labels": labels, "managedFields": [entry(MANAGER, "Apply", trie)]}
    });
    if let Some(ns) = ns {
        obj["metadata"]["namespace"] = ns.into();
    }
    if let (Value::Object(o), Value::Object(f)) = (&mut obj, fields) {
        o.extend(f);
    }
    obj
}

fn listed_everywhere(o: &mut ObservedFleet, wecs: &[&str]) {
    for loc in [Location::Its, Location::Wds] {
        for k in [
            Kind::ManagedCluster,
            Kind::ConfigMap,
            Kind::Namespace,
            Kind::ClusterRole,
            Kind::ClusterRoleBinding,
            Kind::BindingPolicy,
        ] {
            o.listed.insert((loc.clone(), k));
        }
    }
    for w in wecs {
        for k in [
            Kind::Namespace,
            Kind::ClusterRole,
            Kind::ClusterRoleBinding,
            Kind::Role,
            Kind::RoleBinding,
        ] {
            o.listed.insert((Location::Wec((*w).into()), k));
        }
    }
}

fn in_sync_mc(name: &str, labels: Value) -> Value {
    let keys: Vec<String> = labels
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    managed_cluster(
        name,
        labels.clone(),
        vec![entry(MANAGER, "Apply", label_fields(&keys))],
        Some(json!({"applied": {"metadata": {"labels": labels}}})),
    )
}

/// The live fleet behind [`FLEET`]: cluster1 has config, drift and conflict changes on its
/// ManagedCluster, its properties ConfigMap deleted out of band, a Role to update and a
/// RoleBinding whose roleRef forces a replacement; cluster2's properties change; cluster3
/// is in sync; edge-7 is not registered (blocked); edge-8 cannot be read; the WDS holds a
/// retired expansion to destroy; edge-9 is unmanaged and old-wec orphaned.
fn observed() -> ObservedFleet {
    let mut o = ObservedFleet::default();
    listed_everywhere(&mut o, &["cluster1", "cluster2", "cluster3", "edge-7"]);
    let its = Location::Its;
    let wds = Location::Wds;
    let c1 = Location::Wec("cluster1".into());

    let props_cm1 =
        ObjectRef::namespaced(Location::Its, Kind::ConfigMap, PROPERTIES_NS, "cluster1");
    let cluster1 = managed_cluster(
        "cluster1",
        json!({"env": "staging", "region": "us-east", "team": "b", "old": "x",
               "cluster.open-cluster-management.io/clusterset": "default"}),
        vec![
            entry(MANAGER, "Apply", label_fields(&["region", "old"])),
            entry("kubectl-label", "Update", label_fields(&["env"])),
            entry("argocd", "Apply", label_fields(&["team"])),
            entry(
                "registration-controller",
                "Update",
                label_fields(&["cluster.open-cluster-management.io/clusterset"]),
            ),
        ],
        Some(json!({
            "applied": {"metadata": {"labels": {"env": "prod", "region": "us-east", "old": "x"}}},
            "objects": [props_cm1],
        })),
    );
    let items: Vec<(Location, Kind, Value)> = vec![
        (its.clone(), Kind::ManagedCluster, cluster1),
        (
            its.clone(),
            Kind::ManagedCluster,
            in_sync_mc("cluster2", json!({"region": "us-east"})),
        ),
        (
            its.clone(),
            Kind::ManagedCluster,
            in_sync_mc("cluster3", json!({"region": "eu"})),
        ),
        (
            its.clone(),
            Kind::ManagedCluster,
            in_sync_mc("edge-8", json!({"region": "edge"})),
        ),
        (
            its.clone(),
            Kind::ManagedCluster,
            managed_cluster(
                "edge-9",
                json!({"region": "lab"}),
                vec![entry("clusteradm", "Update", label_fields(&["region"]))],
                None,
            ),
        ),
        (
            its.clone(),
            Kind::ManagedCluster,
            managed_cluster(
                "old-wec",
                json!({"region": "us-east"}),
                vec![entry(MANAGER, "Apply", label_fields(&["region"]))],
                None,
            ),
        ),
        (
            its.clone(),
            Kind::Namespace,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PROPERTIES_NS}}),
        ),
        (
            its.clone(),
            Kind::ConfigMap,
            fleet_object(
                Kind::ConfigMap,
                Some(PROPERTIES_NS),
                "cluster2",
                None,
                json!({"data": {"maxPods": "100"}}),
            ),
        ),
        (
            c1.clone(),
            Kind::Namespace,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
        ),
        (
            c1.clone(),
            Kind::Role,
            fleet_object(
                Kind::Role,
                Some("team-a"),
                "fleet:jobs",
                Some("jobs"),
                json!({"rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]}),
            ),
        ),
        (
            c1.clone(),
            Kind::RoleBinding,
            fleet_object(
                Kind::RoleBinding,
                Some("team-a"),
                "fleet:jobs",
                Some("jobs"),
                json!({
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jobs-reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": "klusterlet-work-sa", "namespace": "open-cluster-management-agent"}]
                }),
            ),
        ),
        (
            wds.clone(),
            Kind::BindingPolicy,
            fleet_object(
                Kind::BindingPolicy,
                None,
                "fleet-rbac-legacy",
                Some("legacy"),
                json!({"spec": {}}),
            ),
        ),
        (
            wds.clone(),
            Kind::ClusterRole,
            fleet_object(
                Kind::ClusterRole,
                None,
                "fleet:legacy",
                Some("legacy"),
                json!({"rules": []}),
            ),
        ),
    ];
    for (loc, kind, obj) in items {
        o.insert_values(&loc, kind, [obj]);
    }
    o.unreadable.insert(
        Location::Wec("edge-8".into()),
        read_failure(
            "Get \"https://10.0.8.1:6443/api\": dial tcp 10.0.8.1:6443: connect: connection refused",
        ),
    );
    o
}

fn build(toml: &str, observed: &ObservedFleet) -> crate::diff::Diff {
    build_with(toml, observed, &DiffOptions::default())
}

fn build_with(toml: &str, observed: &ObservedFleet, opts: &DiffOptions) -> crate::diff::Diff {
    let fleet = config::from_str(Path::new("fleet.toml"), toml)
        .expect("valid fleet.toml")
        .fleet;
    diff(&fleet, &DesiredState::build(&fleet), observed, opts)
}

fn full_plan() -> Plan {
    plan::build(build(FLEET, &observed())).expect("acyclic")
}

fn drift_plan() -> Plan {
    plan::build(build(FLEET, &observed()).drift_only()).expect("acyclic")
}

const SMALL: &str = r#"
[its]
context = "its1"
[wec.cluster3]
labels = { region = "eu" }
[wec.edge-8]
labels = { region = "edge" }
"#;

fn small_observed(edge8_readable: bool) -> ObservedFleet {
    let mut o = ObservedFleet::default();
    listed_everywhere(&mut o, &["cluster3", "edge-8"]);
    for (n, r) in [("cluster3", "eu"), ("edge-8", "edge")] {
        o.insert_values(
            &Location::Its,
            Kind::ManagedCluster,
            [in_sync_mc(n, json!({ "region": r }))],
        );
    }
    if !edge8_readable {
        o.unreadable.insert(
            Location::Wec("edge-8".into()),
            read_failure(
                "Unauthorized: the server has asked for the client to provide credentials",
            ),
        );
    }
    o
}

/// Every view of a plan, for one snapshot each.
fn all_views(name: &str, plan: &Plan, header: &Header) {
    insta::assert_snapshot!(format!("{name}_human"), human::render(plan, header, false));
    insta::assert_snapshot!(format!("{name}_markdown"), markdown::render(plan, header));
    insta::assert_snapshot!(format!("{name}_json"), json::render(plan, header));
    insta::assert_snapshot!(format!("{name}_dot"), dot::render(plan, header));
}

#[test]
fn the_fixture_has_every_kind_of_change() {
    let p = full_plan();
    let d = &p.diff;
    let has = |f: &dyn Fn(&crate::diff::Change) -> bool| d.changes.iter().any(f);
    for a in [
        ActionKind::Create,
        ActionKind::Update,
        ActionKind::Replace,
        ActionKind::Delete,
    ] {
        assert!(has(&|c| c.kind() == a), "no {a:?}");
    }
    assert!(has(&|c| c.blocked.is_some()));
    assert!(has(
        &|c| c.object.kind == Kind::Role && c.object.namespace.is_some()
    ));
    assert!(has(&|c| c.object.kind == Kind::BindingPolicy));
    for cause in [
        |c: &Cause| matches!(c, Cause::Config),
        |c: &Cause| matches!(c, Cause::Drift { .. }),
        |c: &Cause| matches!(c, Cause::Conflict { .. }),
    ] {
        assert!(has(&|c| c.fields.iter().any(|f| cause(&f.cause))));
    }
    assert_eq!(d.unmanaged_wecs, [WecName::from("edge-9")]);
    assert_eq!(d.orphaned_wecs, [WecName::from("old-wec")]);
    assert_eq!(d.unchanged_wecs, [WecName::from("cluster3")]);
    assert!(d.unreadable.contains_key(&Location::Wec("edge-8".into())));
}

#[test]
fn every_change_plan() {
    all_views("every_change", &full_plan(), &header(Subject::Plan));
}

#[test]
fn drift_report() {
    all_views("drift", &drift_plan(), &header(Subject::Drift));
}

#[test]
fn empty_plan() {
    let p = plan::build(build(SMALL, &small_observed(true))).expect("acyclic");
    assert!(!p.has_changes());
    all_views("empty", &p, &header(Subject::Plan));
}

#[test]
fn incomplete_plan_without_changes_never_says_no_changes() {
    let p = plan::build(build(SMALL, &small_observed(false))).expect("acyclic");
    assert!(!p.has_changes());
    let h = header(Subject::Plan);
    let text = human::render(&p, &h, false);
    assert!(!text.contains("No changes."), "{text}");
    assert!(!markdown::render(&p, &h).contains("No changes."));
    all_views("incomplete", &p, &h);
}

#[test]
fn drift_without_drift_says_no_drift() {
    let p = plan::build(build(SMALL, &small_observed(true)).drift_only()).expect("acyclic");
    let text = human::render(&p, &header(Subject::Drift), false);
    assert!(text.trim_end().ends_with("No drift."), "{text}");
}

#[test]
fn targets_are_shown() {
    let opts = DiffOptions {
        targets: [WecName::from("cluster3")].into(),
        ..Default::default()
    };
    let p = plan::build(build_with(SMALL, &small_observed(true), &opts)).expect("acyclic");
    let h = Header {
        targets: vec![WecName::from("cluster3")],
        ..header(Subject::Plan)
    };
    insta::assert_snapshot!("targeted_human", human::render(&p, &h, false));
}

#[test]
fn json_parses_back_and_matches_the_plan() {
    for p in [full_plan(), drift_plan()] {
        let text = json::render(&p, &header(Subject::Plan));
        let doc: json::JsonPlan = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(doc.header.format_version, json::FORMAT_VERSION);
        let s = doc.summary;
        assert_eq!(
            (s.add, s.change, s.destroy, s.blocked),
            (
                p.summary.add,
                p.summary.change,
                p.summary.destroy,
                p.summary.blocked
            )
        );
        assert_eq!(doc.changes.len(), p.diff.changes.len());
        let a = doc.actions;
        assert_eq!(
            a.create + a.update + a.replace + a.delete,
            p.diff.changes.len()
        );
        let c = doc.causes;
        assert_eq!(c.config + c.drift + c.conflict, p.diff.changes.len());
        assert_eq!(doc.incomplete, !p.diff.unreadable.is_empty());
        // Every key of the schema is present, even when empty.
        let raw: Value = serde_json::from_str(&text).unwrap();
        for key in [
            "format_version",
            "report",
            "its_context",
            "its_server",
            "its_uid",
            "config_digest",
            "targets",
            "incomplete",
            "summary",
            "actions",
            "causes",
            "changes",
            "unreadable",
            "unmanaged_wecs",
            "orphaned_wecs",
            "unchanged_wecs",
        ] {
            assert!(raw.get(key).is_some(), "missing {key}");
        }
    }
}

#[test]
fn no_color_means_no_escape_codes() {
    let p = full_plan();
    let h = header(Subject::Plan);
    assert!(!human::render(&p, &h, false).contains('\x1b'));
    assert!(!human::render(&drift_plan(), &header(Subject::Drift), false).contains('\x1b'));
    assert!(!markdown::render(&p, &h).contains('\x1b'));
    assert!(human::render(&p, &h, true).contains('\x1b'));
    // Colour changes only the escape codes, never the text.
    let colored = human::render(&p, &h, true);
    assert_eq!(strip_ansi(&colored), human::render(&p, &h, false));
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The same live objects as another API server may return them: listed in the opposite
/// order, label keys and `managedFields` entries reversed (fleet keeps an object's keys
/// sorted, whatever order they came in).
fn permuted(o: &ObservedFleet) -> ObservedFleet {
    let mut p = ObservedFleet {
        listed: o.listed.clone(),
        unreadable: o.unreadable.clone(),
        ..Default::default()
    };
    for (r, live) in o.objects.iter().rev() {
        let mut live = live.to_value();
        if let Some(Value::Array(entries)) = live.pointer_mut("/metadata/managedFields") {
            entries.reverse();
        }
        if let Some(Value::Object(labels)) = live.pointer_mut("/metadata/labels") {
            let reversed: serde_json::Map<String, Value> =
                std::mem::take(labels).into_iter().rev().collect();
            *labels = reversed;
        }
        // Already kept as fleet keeps it: not decoded again.
        p.insert_list(&r.location, r.kind, [live]);
    }
    p
}

#[test]
fn output_does_not_depend_on_the_order_of_what_was_read() {
    let mut o = observed();
    // Two other managers on one field: an applier (a conflict for fleet) and a plain writer.
    let mc = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, "cluster1");
    let live = o.objects.get_mut(&mc).unwrap();
    let mut edited = live.to_value();
    edited["metadata"]["managedFields"]
        .as_array_mut()
        .unwrap()
        .push(entry("kubectl-label", "Update", label_fields(&["team"])));
    *live = edited.into();
    let reordered_toml = {
        // The same fleet.toml with its WEC tables in the opposite order.
        let (head, wecs) = FLEET.split_at(FLEET.find("[wec.").unwrap());
        let mut tables: Vec<&str> = wecs.split("\n\n").collect();
        tables.reverse();
        format!("{head}{}", tables.join("\n\n"))
    };
    let a = plan::build(build(FLEET, &o)).expect("acyclic");
    let b = plan::build(build(&reordered_toml, &permuted(&o))).expect("acyclic");
    let h = header(Subject::Plan);
    for f in [Format::Human, Format::Json, Format::Markdown, Format::Dot] {
        assert_eq!(render(f, &a, &h, false), render(f, &b, &h, false), "{f:?}");
    }
}

#[test]
fn long_values_are_line_diffed() {
    let lines = line_diff(
        &(0..30).map(|i| format!("{i}\n")).collect::<String>(),
        &(0..30)
            .map(|i| {
                if i == 15 {
                    "x\n".into()
                } else {
                    format!("{i}\n")
                }
            })
            .collect::<String>(),
    );
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            let m = match l.mark {
                Mark::Add => '+',
                Mark::Remove => '-',
                Mark::Change => '~',
                Mark::Same => ' ',
            };
            format!("{m}{}", l.text)
        })
        .collect();
    assert_eq!(
        text,
        [
            " …", " 12", " 13", " 14", "-15", "+x", " 16", " 17", " 18", " …"
        ]
    );
}

#[test]
fn markdown_fences_outgrow_backticks_in_values() {
    assert_eq!(markdown_fence_for("a ``` b"), "````");
    assert_eq!(markdown_fence_for("plain"), "```");
}

fn markdown_fence_for(s: &str) -> String {
    markdown::fence(s)
}

/// An apply of [`full_plan`] where the first change on cluster1's WEC fails: its dependents
/// are skipped, blocked changes stay blocked, everything else is done.
fn partial_apply(p: &Plan) -> crate::apply::ApplyReport {
    use crate::apply::{ApplyError, Outcome};
    let c1 = Location::Wec("cluster1".into());
    let failed = p
        .diff
        .changes
        .iter()
        .position(|c| c.object.location == c1)
        .expect("a change on cluster1");
    let outcomes = (0..p.diff.changes.len())
        .map(|i| match p.diff.changes[i].blocked {
            Some(b) => Outcome::Blocked(b),
            None if i == failed => {
                Outcome::Failed(crate::model::Failure::new(ApplyError::NoContext {
                    location: c1.clone(),
                }))
            }
            None if p.dependencies(i).contains(&failed) => Outcome::Skipped { dependency: failed },
            None => Outcome::Done,
        })
        .collect();
    crate::apply::ApplyReport { outcomes }
}

#[test]
fn apply_views() {
    let p = full_plan();
    let report = partial_apply(&p);
    let t = report.tally(&p.diff.changes);
    assert!(t.failed == 1 && t.skipped >= 1 && t.blocked == 1, "{t:?}");
    let mut progress = apply::Progress::new(&p, false);
    let lines: Vec<String> = report
        .outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| progress.line(&p, i, o))
        .collect();
    insta::assert_snapshot!("apply_partial_progress", lines.join("\n"));
    insta::assert_snapshot!("apply_partial_human", apply::summary(&p, &report, false));
    let text = json::render_apply(&p, &report, &header(Subject::Plan));
    insta::assert_snapshot!("apply_partial_json", text);
    let doc: json::JsonApply = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc.header.format_version, json::APPLY_FORMAT_VERSION);
    assert!(!doc.complete);
    assert_eq!(doc.results.len(), p.diff.changes.len());
    assert_eq!(
        (doc.failed, doc.skipped, doc.blocked),
        (t.failed, t.skipped, t.blocked)
    );
    assert!(
        doc.results
            .iter()
            .filter(|r| r.outcome == "skipped")
            .all(|r| r.skipped_because.is_some())
    );

    let done = crate::apply::ApplyReport {
        outcomes: p
            .diff
            .changes
            .iter()
            .map(|c| match c.blocked {
                Some(b) => crate::apply::Outcome::Blocked(b),
                None => crate::apply::Outcome::Done,
            })
            .collect(),
    };
    let small = plan::build(build(SMALL, &small_observed(true))).expect("acyclic");
    let none = crate::apply::ApplyReport::default();
    insta::assert_snapshot!("apply_complete_human", apply::summary(&small, &none, false));
    let summary = apply::summary(&p, &done, false);
    assert!(
        summary.contains("partially failed"),
        "edge-8 was unreadable: {summary}"
    );
}

/// A fleet registering `new1` and, with --prune, deregistering `old1`, which fleet
/// registered and which left fleet.toml.
fn registration_plan() -> Plan {
    let toml = "[its]\ncontext = \"its1\"\n[wec.new1]\nlabels = { region = \"eu\" }\n[wec.new1.join]\nsingleton = true\n";
    let mut o = ObservedFleet::default();
    listed_everywhere(&mut o, &[]);
    o.listed
        .insert((Location::Its, Kind::CertificateSigningRequest));
    o.insert_get(
        crate::model::registration::klusterlet_ref(&WecName::from("new1")),
        None,
    );
    o.its_endpoint = Some(crate::model::Endpoint {
        server: "https://its1.example:6443".into(),
        ca_data: Some("Q0E=".into()),
    });
    let mut old = managed_cluster(
        "old1",
        json!({"region": "us"}),
        vec![
            entry(MANAGER, "Apply", label_fields(&["region"])),
            entry(
                "fleet-registration",
                "Apply",
                json!({"f:spec": {"f:hubAcceptsClient": {}}}),
            ),
        ],
        None,
    );
    old["metadata"]["annotations"] = json!({ crate::model::vocab::REGISTERED_BY: "old1-ctx" });
    o.insert_values(&Location::Its, Kind::ManagedCluster, [old]);
    let opts = DiffOptions {
        prune: true,
        max_deregister: 1,
        ..Default::default()
    };
    plan::build(build_with(toml, &o, &opts)).expect("acyclic")
}

#[test]
fn registration_and_deregistration_plan() {
    let p = registration_plan();
    assert_eq!((p.summary.register, p.summary.deregister), (1, 1));
    all_views("registration", &p, &header(Subject::Plan));
    let text = human::render(&p, &header(Subject::Plan), false);
    let reg = text
        .find("registration (absent → Available)")
        .expect("registration shown");
    let mc = text.find("ManagedCluster new1").expect("labels shown");
    assert!(reg < mc, "the registration comes first in its WEC:\n{text}");
    assert!(text.contains("applied once the WEC is registered"));
    assert!(text.contains("bootstrap-hub-kubeconfig = (sensitive)"));
}

// Saved plans: a plan survives the file unchanged, in every view; apply's check is per
// object.

mod saved {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::plan::saved::{
        self as saved_plan, ConfigBinding, ItsBinding, PlanOptions, Provenance, SavedPlan,
        SavedPlanError, Stale,
    };

    const ITS_UID: &str = "3f2a9c4e-1d2b-4c5a-9e8f-0a1b2c3d4e5f";

    fn save(diff: &crate::diff::Diff) -> SavedPlan {
        SavedPlan::new(
            diff,
            ConfigBinding {
                path: "fleet.toml".into(),
                digest: header(Subject::Plan).config_digest,
            },
            ItsBinding {
                context: "its1".into(),
                server: Some("https://127.0.0.1:6443".into()),
                uid: ITS_UID.into(),
            },
            PlanOptions {
                targets: Vec::new(),
                prune: false,
                max_deregister: 1,
            },
            Provenance::default(),
        )
    }

    fn reread(saved: &SavedPlan) -> Result<SavedPlan, SavedPlanError> {
        SavedPlan::parse(&saved.to_json(), Path::new("plan.json"))
    }

    #[test]
    fn a_saved_plan_renders_exactly_as_the_plan_in_every_view() {
        for p in [full_plan(), registration_plan()] {
            let back = reread(&save(&p.diff)).expect("reads back");
            let again = plan::build(back.diff()).expect("acyclic");
            for format in [Format::Human, Format::Json, Format::Markdown, Format::Dot] {
                let h = header(Subject::Plan);
                assert_eq!(
                    render(format, &again, &h, false),
                    render(format, &p, &h, false),
                    "{format:?}"
                );
            }
        }
    }

    #[test]
    fn a_saved_plan_holds_no_secret_value() {
        let text = save(&registration_plan().diff).to_json();
        for secret in ["token", "\"data\"", "stringData"] {
            assert!(!text.contains(secret), "{secret} in the plan file");
        }
    }

    #[test]
    fn an_unchanged_fleet_keeps_the_plan_fresh() {
        let saved = save(&full_plan().diff);
        let verdict = saved_plan::check(&saved, &build(FLEET, &observed()));
        assert_eq!(verdict, Default::default());
    }

    /// Replaces the live ManagedCluster `name` with `edit(it)`.
    fn edit_mc(o: &mut ObservedFleet, name: &str, edit: impl FnOnce(&mut Value)) {
        let r = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, name);
        let live = o.objects.get_mut(&r).expect("live");
        let mut edited = live.to_value();
        edit(&mut edited);
        *live = edited.into();
    }

    #[test]
    fn another_managers_label_moves_the_version_but_not_the_change() {
        let saved = save(&full_plan().diff);
        let mut o = observed();
        edit_mc(&mut o, "cluster1", |mc| {
            mc["metadata"]["resourceVersion"] = "8".into();
            mc["metadata"]["labels"]["owner"] = "ops".into();
            mc["metadata"]["managedFields"]
                .as_array_mut()
                .unwrap()
                .push(entry("kubectl-label", "Update", label_fields(&["owner"])));
        });
        let verdict = saved_plan::check(&saved, &build(FLEET, &o));
        assert_eq!(verdict.stale, vec![]);
        assert_eq!(
            verdict.moved,
            vec![ObjectRef::cluster(
                Location::Its,
                Kind::ManagedCluster,
                "cluster1"
            )]
        );
    }

    #[test]
    fn a_changed_recreated_or_new_change_makes_the_plan_stale() {
        let saved = save(&full_plan().diff);
        let mut o = observed();
        // cluster1's drifted label moved again: the reviewed "before" is no longer true.
        edit_mc(&mut o, "cluster1", |mc| {
            mc["metadata"]["resourceVersion"] = "9".into();
            mc["metadata"]["labels"]["env"] = "dev".into();
        });
        // cluster2 was deleted and registered again.
        edit_mc(&mut o, "cluster2", |mc| {
            mc["metadata"]["uid"] = "uid-cluster2-new".into();
        });
        // cluster3, in sync at plan time, drifted since.
        edit_mc(&mut o, "cluster3", |mc| {
            mc["metadata"]["labels"]["region"] = "us".into();
        });
        let verdict = saved_plan::check(&saved, &build(FLEET, &o));
        let mc = |n: &str| ObjectRef::cluster(Location::Its, Kind::ManagedCluster, n);
        assert_eq!(
            verdict.stale,
            vec![
                Stale::Changed {
                    object: mc("cluster1"),
                    planned: ActionKind::Update,
                    now: ActionKind::Update
                },
                Stale::Appeared {
                    object: mc("cluster3"),
                    now: ActionKind::Update
                },
            ],
            "cluster2 has no change planned, so its new uid is no concern"
        );
        let text = crate::render::stale_report(&verdict);
        assert!(text.contains("2 objects changed"), "{text}");
        assert!(text.contains("Nothing was written"), "{text}");
    }

    #[test]
    fn a_recreated_object_is_stale_even_if_its_change_is_the_same() {
        let saved = save(&full_plan().diff);
        let mut o = observed();
        edit_mc(&mut o, "cluster1", |mc| {
            mc["metadata"]["uid"] = "uid-cluster1-again".into();
        });
        let verdict = saved_plan::check(&saved, &build(FLEET, &o));
        assert_eq!(
            verdict.stale,
            vec![Stale::Recreated {
                object: ObjectRef::cluster(Location::Its, Kind::ManagedCluster, "cluster1")
            }]
        );
    }

    #[test]
    fn a_vanished_change_is_stale() {
        let saved = save(&full_plan().diff);
        let mut o = observed();
        // Someone deleted the retired expansion's BindingPolicy fleet planned to delete.
        o.objects.retain(|r, _| r.kind != Kind::BindingPolicy);
        let verdict = saved_plan::check(&saved, &build(FLEET, &o));
        assert_eq!(
            verdict.stale,
            vec![Stale::Vanished {
                object: ObjectRef::cluster(Location::Wds, Kind::BindingPolicy, "fleet-rbac-legacy"),
                planned: ActionKind::Delete
            }]
        );
    }

    #[test]
    fn an_edited_file_another_version_or_another_format_is_refused() {
        let saved = save(&full_plan().diff);
        let mut doc: Value = serde_json::from_str(&saved.to_json()).unwrap();
        let body = doc
            .pointer_mut("/changes/0/change/action")
            .expect("an action");
        *body = json!("Delete");
        let edited = SavedPlan::parse(&doc.to_string(), Path::new("p.json"));
        assert!(
            matches!(edited, Err(SavedPlanError::Tampered { .. })),
            "{edited:?}"
        );

        // A value inside a body written to the cluster, and the record it carries.
        for edit in [
            |b: &mut Value| b["metadata"]["labels"]["edited"] = json!("yes"),
            |b: &mut Value| {
                let record = json!({ "objects": [
                    { "location": { "type": "its" }, "kind": "Namespace", "name": "x" }
                ] });
                b["metadata"]["annotations"] = json!({ LAST_APPLIED: record.to_string() });
            },
        ] {
            let mut doc: Value = serde_json::from_str(&saved.to_json()).unwrap();
            let changes = doc["changes"].as_array_mut().expect("changes");
            let body = changes
                .iter_mut()
                .find_map(|c| {
                    let action = c.pointer_mut("/change/action")?.as_object_mut()?;
                    let (_, payload) = action.iter_mut().next()?;
                    payload.get_mut("body")
                })
                .expect("a change with a body");
            edit(body);
            let edited = SavedPlan::parse(&doc.to_string(), Path::new("p.json"));
            assert!(
                matches!(edited, Err(SavedPlanError::Tampered { .. })),
                "{edited:?}"
            );
        }

        let mut other = serde_json::from_str::<Value>(&saved.to_json()).unwrap();
        other["fleet_version"] = "0.0.1".into();
        let e = SavedPlan::parse(&other.to_string(), Path::new("p.json")).unwrap_err();
        assert!(matches!(e, SavedPlanError::Version { .. }), "{e:?}");
        assert!(e.to_string().contains("made by fleet 0.0.1"), "{e}");

        other["format_version"] = 9.into();
        let e = SavedPlan::parse(&other.to_string(), Path::new("p.json")).unwrap_err();
        assert!(matches!(e, SavedPlanError::Format { .. }), "{e:?}");

        let e = SavedPlan::parse(
            r#"{"format_version": "1.2", "report": "plan"}"#,
            Path::new("plan.json"),
        )
        .unwrap_err();
        assert!(matches!(e, SavedPlanError::Parse { .. }), "{e:?}");
    }

    #[test]
    fn another_fleet_toml_or_its_is_refused() {
        let saved = save(&full_plan().diff);
        assert!(
            saved
                .check_config(Path::new("fleet.toml"), &saved.config.digest)
                .is_ok()
        );
        let e = saved
            .check_config(Path::new("fleet.toml"), "sha256:0000")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("fleet.toml changed since the plan was made"),
            "{e}"
        );
        assert!(saved.check_its(ITS_UID, None).is_ok());
        let e = saved
            .check_its("another-uid", Some("https://10.0.0.9:6443"))
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("another-uid") && text.contains(ITS_UID),
            "{text}"
        );
    }
}

/// Plans of 5,000 WECs (the size `tests/bench/plan.rs` measures) always fit a GitHub comment.
mod markdown_size {

    use std::fmt::Write as _;
    use std::path::Path;

    use serde_json::{Value, json};

    use crate::config;
    use crate::desired::DesiredState;
    use crate::diff::fixtures::{entry, label_fields, managed_cluster, read_failure};
    use crate::diff::{DiffOptions, diff};
    use crate::model::vocab::{MANAGED_BY, MANAGER, RBAC_LABEL};
    use crate::model::{Kind, ObservedFleet};
    use crate::model::{Location, WecName};
    use crate::plan::Plan;
    use crate::render::layout::{Place, changed_wecs, sections};
    use crate::render::markdown::{MAX_CHARS, fitting, render};
    use crate::render::words::closing_line;
    use crate::render::{Header, Subject};

    const N: usize = 5_000;

    fn header(subject: Subject, targets: Vec<WecName>) -> Header {
        Header {
            subject,
            its_context: "its1".into(),
            its_server: Some("https://127.0.0.1:6443".into()),
            its_uid: Some("3f2a9c4e-1d2b-4c5a-9e8f-0a1b2c3d4e5f".into()),
            config_digest:
                "sha256:9c1e4b2a07d3f5e6c8b9a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1".into(),
            targets,
        }
    }

    fn wec(i: usize) -> String {
        format!("wec-{i:05}")
    }

    /// `n` WECs with labels and properties; with `direct`, each lists a direct RBAC expansion.
    fn fleet_toml(n: usize, direct: bool) -> String {
        let mut s = String::from("[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n\n");
        if direct {
            s.push_str("[rbac.jobs]\nmode = \"direct\"\n[[rbac.jobs.rules]]\napi_groups = [\"batch\"]\nresources = [\"jobs\"]\nverbs = [\"get\"]\n\n");
        }
        for i in 0..n {
            let _ = write!(
                s,
                "[wec.{w}]\nlabels = {{ name = \"{w}\", region = \"{}\" }}\nproperties = {{ storeId = \"S{i:05}\" }}\n{}\n",
                ["us-east", "us-west", "eu-west"][i % 3],
                if direct { "rbac = [\"jobs\"]\n" } else { "" },
                w = wec(i),
            );
        }
        s
    }

    /// The live fleet: each of the `n` WECs registered, its region last applied as `old`
    /// (a config change), or — with `drifted` — applied as fleet.toml says and then changed
    /// by `kubectl-label` (drift); `retired` ClusterRoles of expansions gone from fleet.toml on
    /// the WDS (destroys); `unmanaged` ManagedClusters fleet never managed; with `unreadable`,
    /// every WEC's API server refused (its direct RBAC cannot be read).
    fn observed(
        n: usize,
        retired: usize,
        unmanaged: usize,
        drifted: bool,
        unreadable: bool,
    ) -> ObservedFleet {
        let mut o = ObservedFleet::default();
        super::listed_everywhere(&mut o, &[]);
        let mut mcs = Vec::new();
        for i in 0..n {
            let w = wec(i);
            let wanted = ["us-east", "us-west", "eu-west"][i % 3];
            let (live, managers, applied) = if drifted {
                (
                    "ap-south",
                    vec![
                        entry(MANAGER, "Apply", label_fields(&["name"])),
                        entry("kubectl-label", "Update", label_fields(&["region"])),
                    ],
                    wanted,
                )
            } else {
                (
                    "old",
                    vec![entry(MANAGER, "Apply", label_fields(&["name", "region"]))],
                    "old",
                )
            };
            mcs.push(managed_cluster(
                &w,
                json!({"name": w, "region": live}),
                managers,
                Some(json!({"applied": {"metadata": {"labels": {"name": w, "region": applied}}}})),
            ));
            if unreadable {
                o.unreadable.insert(
                    Location::Wec(w.as_str().into()),
                    read_failure(&format!(
                        "Get \"https://10.{}.{}.1:6443/apis/rbac.authorization.k8s.io/v1/clusterroles\": dial tcp: connect: connection refused",
                        i / 256,
                        i % 256
                    )),
                );
            }
        }
        for i in 0..unmanaged {
            mcs.push(managed_cluster(
                &format!("edge-{i:05}"),
                json!({"region": "lab"}),
                vec![entry("clusteradm", "Update", label_fields(&["region"]))],
                None,
            ));
        }
        o.insert_values(&Location::Its, Kind::ManagedCluster, mcs);
        let roles: Vec<Value> = (0..retired)
            .map(|i| {
                json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": format!("fleet:retired-{i:04}"), "uid": format!("uid-r{i}"), "resourceVersion": "3",
                        "labels": {MANAGED_BY: MANAGER, RBAC_LABEL: format!("retired-{i:04}")},
                        "managedFields": [entry(MANAGER, "Apply", json!({"f:metadata": {"f:labels": {}}, "f:rules": {}}))]},
                    "rules": []
                })
            })
            .collect();
        o.insert_values(&Location::Wds, Kind::ClusterRole, roles);
        o
    }

    fn plan(toml: &str, o: &ObservedFleet, targets: &[WecName]) -> Plan {
        let fleet = config::from_str(Path::new("fleet.toml"), toml)
            .expect("valid fleet.toml")
            .fleet;
        let opts = DiffOptions {
            targets: targets.iter().cloned().collect(),
            ..Default::default()
        };
        crate::plan::build(diff(&fleet, &DesiredState::build(&fleet), o, &opts)).expect("acyclic")
    }

    /// Within the budget, and nothing cut: fences, `<details>` and table rows are whole.
    fn assert_fits_and_whole(md: &str) {
        let n = md.chars().count();
        assert!(n <= MAX_CHARS, "{n} characters");
        let fences = md.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences % 2, 0, "an unclosed code block");
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        for row in md.lines().filter(|l| l.starts_with('|')) {
            assert_eq!(row.matches('|').count(), 8, "a cut table row: {row}");
        }
    }

    /// WEC sections not shown, and their changes.
    fn not_shown(p: &Plan, md: &str) -> (usize, usize) {
        let mut wecs = 0;
        let mut changes = 0;
        for s in sections(p) {
            if !md.contains(&format!("<details><summary>{} — ", s.place)) {
                assert!(
                    matches!(s.place, Place::Wec(_)),
                    "a shared section is missing"
                );
                wecs += 1;
                changes += s.changes.len();
            }
        }
        (wecs, changes)
    }

    #[test]
    fn a_5000_wec_plan_fits_a_github_comment() {
        let p = plan(
            &fleet_toml(N, false),
            &observed(N, 40, 0, false, false),
            &[],
        );
        assert_eq!(changed_wecs(&p), N);
        let h = header(Subject::Plan, Vec::new());
        let md = render(&p, &h);
        assert_fits_and_whole(&md);
        assert!(
            md.starts_with("### fleet plan\n\nITS `its1`"),
            "{}",
            &md[..200]
        );
        assert!(md.contains(&format!("**{}**", closing_line(&p, &h))));
        assert!(md.contains(&format!(
            "| {} | {} | {} | 0 | {N} | 0 | 0 |",
            p.summary.add, p.summary.change, p.summary.destroy
        )));
        // The destroys come first, every one of them, before any section.
        let warning = md
            .find("**40 objects will be destroyed:**")
            .expect("the destroys");
        assert_eq!(md.matches("> - `ClusterRole fleet:retired-").count(), 40);
        assert!(warning < md.find("<details>").expect("some sections"));
        // Then as many WECs as fit, and a note on the others.
        let (wecs, changes) = not_shown(&p, &md);
        assert!(wecs > 4_000 && changes >= wecs, "{wecs} WECs not shown");
        let note = format!(
            "> **Shortened to fit a comment:** {wecs} WECs with {changes} changes not shown."
        );
        let at = md
            .find(&note)
            .unwrap_or_else(|| panic!("no note `{note}` in:\n{}", &md[md.len() - 1500..]));
        assert!(at > md.rfind("</details>").expect("sections"));
        assert!(
            md.contains("`fleet show plan.json`"),
            "the note says where the whole plan is"
        );
    }

    #[test]
    fn a_5000_wec_drift_report_fits_a_github_comment() {
        let p = plan(&fleet_toml(N, false), &observed(N, 0, 0, true, false), &[]);
        let p = crate::plan::build(p.diff.drift_only()).expect("acyclic");
        assert_eq!(changed_wecs(&p), N);
        let md = render(&p, &header(Subject::Drift, Vec::new()));
        assert_fits_and_whole(&md);
        assert!(md.starts_with("### fleet drift\n"));
        assert!(md.contains(&format!("**Drift: {N} objects changed outside fleet.**")));
        assert!(md.contains("drift (by kubectl-label)"));
        let (wecs, changes) = not_shown(&p, &md);
        assert!(md.contains(&format!(
            "> **Shortened to fit a comment:** {wecs} WECs with {changes} changes not shown. Every change is in `fleet drift --output json`."
        )));
    }

    #[test]
    fn long_lists_are_shortened_too() {
        // 5,000 unreadable WECs, 5,000 unmanaged WECs and 3,000 destroys.
        let p = plan(
            &fleet_toml(N, true),
            &observed(N, 3_000, N, false, true),
            &[],
        );
        assert_eq!(p.diff.unreadable.len(), N);
        assert_eq!(p.diff.unmanaged_wecs.len(), N);
        let md = render(&p, &header(Subject::Plan, Vec::new()));
        assert_fits_and_whole(&md);
        assert!(md.contains(&format!(
            "**Incomplete plan: {N} places could not be read.**"
        )));
        assert!(md.contains("| Add | Change | Destroy | Blocked |"));
        assert!(md.contains("**3000 objects will be destroyed:**"));
        let count = |prefix: &str| md.lines().filter(|l| l.starts_with(prefix)).count();
        let unreadable_listed = count("> - `wec/");
        let destroys_listed = count("> - `ClusterRole fleet:retired-");
        assert!(unreadable_listed > 0 && unreadable_listed < N);
        assert!(destroys_listed > 0 && destroys_listed < 3_000);
        assert!(md.contains(&format!(
            "> - … and {} more (the JSON plan lists every one)",
            N - unreadable_listed
        )));
        assert!(md.contains(&format!(
            "> - … and {} more (the JSON plan lists every one)",
            3_000 - destroys_listed
        )));
        let unmanaged = md
            .lines()
            .find(|l| l.starts_with("**Unmanaged WECs**"))
            .expect("unmanaged");
        let unmanaged_listed = unmanaged.matches("`edge-").count();
        assert!(
            unmanaged.ends_with(&format!(", … and {} more", N - unmanaged_listed)),
            "{unmanaged}"
        );
        for part in [
            format!("{} destroys not listed", 3_000 - destroys_listed),
            format!("{} unreadable places not listed", N - unreadable_listed),
            format!("{} WEC names not listed", N - unmanaged_listed),
        ] {
            assert!(md.contains(&part), "the note lacks `{part}`");
        }
    }

    #[test]
    fn a_long_target_list_is_shortened() {
        let targets: Vec<WecName> = (0..N).map(|i| WecName::from(wec(i).as_str())).collect();
        let p = plan(
            &fleet_toml(N, false),
            &observed(N, 0, 0, false, false),
            &targets,
        );
        let md = render(&p, &header(Subject::Plan, targets));
        assert_fits_and_whole(&md);
        let line = md
            .lines()
            .find(|l| l.starts_with("Targets: "))
            .expect("targets");
        let listed = line.matches("`wec/").count();
        assert!(listed > 0 && listed < N);
        assert!(line.ends_with(&format!(
            ", … and {} more (other WECs were not compared)",
            N - listed
        )));
        assert!(md.contains(&format!("{} targets not listed", N - listed)));
    }

    #[test]
    fn a_plan_that_fits_is_not_shortened() {
        let p = plan(
            &fleet_toml(20, false),
            &observed(20, 3, 2, false, false),
            &[],
        );
        let md = render(&p, &header(Subject::Plan, Vec::new()));
        assert!(!md.contains("Shortened") && !md.contains("… and"), "{md}");
        assert_eq!(not_shown(&p, &md), (0, 0));
        assert_eq!(md.matches("> - `ClusterRole fleet:retired-").count(), 3);
        assert!(md.contains("`edge-00000`, `edge-00001`"));
    }

    #[test]
    fn fitting_keeps_everything_that_fits_and_counts_the_rest() {
        let e: Vec<String> = ["ab", "cd", "ef"].map(String::from).into();
        let more = |n: usize| format!("+{n}");
        assert_eq!(fitting(&e, 6, more), ("abcdef".to_owned(), 0));
        // Room is kept for the longest "more" (`+3`), so one entry fewer may fit.
        assert_eq!(fitting(&e, 5, more), ("ab+2".to_owned(), 2));
        assert_eq!(fitting(&e, 3, more), ("+3".to_owned(), 3));
        // Characters, not bytes.
        let wide: Vec<String> = ["→→", "→→"].map(String::from).into();
        assert_eq!(fitting(&wide, 4, more).1, 0);
    }
}

#[test]
fn plain_progress_lines_for_logs() {
    use std::time::Duration;
    let lines = [
        apply::plain_progress("apply", 0, 1000, 0, Duration::ZERO),
        apply::plain_progress("apply", 120, 1000, 0, Duration::from_secs(5)),
        apply::plain_progress("apply", 500, 1000, 3, Duration::from_secs(20)),
        apply::plain_progress("read", 4999, 5000, 0, Duration::from_millis(9_500)),
        apply::plain_progress("apply", 1000, 1000, 3, Duration::from_millis(41_250)),
    ];
    insta::assert_snapshot!(lines.join("\n"), @r"
    apply: 0/1000 (0%), 0.0/s
    apply: 120/1000 (12%), 24.0/s, ETA 37s
    apply: 500/1000 (50%), 25.0/s, 3 failed, ETA 20s
    read: 4999/5000 (99%), 526.2/s, ETA 1s
    apply: 1000/1000 in 41.2s, 3 failed
    ");
}
