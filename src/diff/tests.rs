//! Diff semantics on hand-made observed snapshots.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::config;
use crate::diff::fixtures::{
    agent_subject, csr, entry, label_fields, managed_cluster, read_failure,
};
use crate::model::RegState;
use crate::model::vocab::ocm::BOOTSTRAP_USER;
use crate::model::vocab::{MANAGED_BY, RBAC_LABEL};

/// The diff as the pipeline runs it: the desired state built from `fleet`.
fn diff(fleet: &DesiredFleet, observed: &ObservedFleet, opts: &DiffOptions) -> Diff {
    super::diff(fleet, &DesiredState::build(fleet), observed, opts)
}

fn fleet(toml: &str) -> DesiredFleet {
    config::from_str(Path::new("fleet.toml"), toml)
        .expect("valid fleet.toml")
        .fleet
}

const BASE: &str = r#"
[its]
context = "its1"
[wds]
context = "wds1"
[rbac.aw]
mode = "downsync"
[[rbac.aw.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get", "list"]
[rbac.direct]
mode = "direct"
[[rbac.direct.rules]]
api_groups = ["apps"]
resources = ["deployments"]
verbs = ["get"]
"#;

fn observed_with(objects: Vec<(Location, Kind, Value)>) -> ObservedFleet {
    let mut o = ObservedFleet::default();
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
    for w in ["c1", "c2"] {
        for k in [
            Kind::Namespace,
            Kind::ClusterRole,
            Kind::ClusterRoleBinding,
            Kind::Role,
            Kind::RoleBinding,
        ] {
            o.listed.insert((Location::Wec(w.into()), k));
        }
    }
    for (loc, kind, obj) in objects {
        o.insert_values(&loc, kind, [obj]);
    }
    o
}

fn change<'a>(d: &'a Diff, kind: Kind, name: &str) -> &'a Change {
    d.changes
        .iter()
        .find(|c| c.object.kind == kind && c.object.name == name)
        .unwrap_or_else(|| panic!("no change for {kind} {name}: {:#?}", d.changes))
}

fn field<'a>(c: &'a Change, path: &str) -> &'a FieldChange {
    c.fields
        .iter()
        .find(|f| f.path.to_string() == path)
        .unwrap_or_else(|| panic!("no field {path} in {:#?}", c.fields))
}

#[test]
fn labels_are_set_changed_and_removed_while_foreign_labels_stay() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ name = \"c1\", region = \"us-west\", env = \"prod\" }}\n"
    ));
    let live = managed_cluster(
        "c1",
        json!({"name": "c1", "region": "us-east", "old": "x", "cluster.open-cluster-management.io/clusterset": "default", "team": "a"}),
        vec![
            entry("fleet", "Apply", label_fields(&["name", "region", "old"])),
            entry(
                "registration-controller",
                "Update",
                label_fields(&["cluster.open-cluster-management.io/clusterset"]),
            ),
            entry("kubectl-label", "Update", label_fields(&["team"])),
        ],
        Some(
            json!({"applied": {"metadata": {"labels": {"name": "c1", "region": "us-east", "old": "x"}}}}),
        ),
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    let c = change(&d, Kind::ManagedCluster, "c1");
    assert_eq!(c.kind(), ActionKind::Update);
    let paths: Vec<String> = c.fields.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["labels.env", "labels.old", "labels.region"]);
    assert_eq!(field(c, "labels.env").after, Some(json!("prod")));
    assert_eq!(field(c, "labels.old").after, None);
    assert_eq!(field(c, "labels.region").before, Some(json!("us-east")));
    assert!(c.fields.iter().all(|f| f.cause == Cause::Config));
    assert_eq!(c.observed.as_ref().map(|o| o.uid.as_str()), Some("uid-c1"));
}

#[test]
fn a_label_overwritten_by_kubectl_is_drift_by_that_manager() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\" }}\n"
    ));
    let live = managed_cluster(
        "c1",
        json!({"region": "eu"}),
        vec![
            entry("fleet", "Apply", json!({})),
            entry("kubectl-label", "Update", label_fields(&["region"])),
        ],
        Some(json!({"applied": {"metadata": {"labels": {"region": "us-east"}}}})),
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    let c = change(&d, Kind::ManagedCluster, "c1");
    assert_eq!(
        field(c, "labels.region").cause,
        Cause::Drift {
            manager: Some("kubectl-label".into())
        }
    );
    assert_eq!(
        c.cause,
        Cause::Drift {
            manager: Some("kubectl-label".into())
        }
    );
    assert_eq!(d.drift_only().changes.len(), 1);
}

#[test]
fn a_deleted_label_fleet_applied_is_drift_and_a_new_one_is_config() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\", tier = \"gold\" }}\n"
    ));
    let live = managed_cluster(
        "c1",
        json!({}),
        vec![
            entry("fleet", "Apply", json!({})),
            entry("kubectl-label", "Update", label_fields(&[])),
        ],
        Some(json!({"applied": {"metadata": {"labels": {"region": "us-east"}}}})),
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    let c = change(&d, Kind::ManagedCluster, "c1");
    assert_eq!(
        field(c, "labels.region").cause,
        Cause::Drift {
            manager: Some("kubectl-label".into())
        }
    );
    assert_eq!(field(c, "labels.tier").cause, Cause::Config);
    let drift = d.drift_only();
    assert_eq!(
        drift.changes[0].fields.len(),
        1,
        "drift keeps only the out-of-band field"
    );
}

#[test]
fn a_field_owned_by_another_applier_is_a_conflict() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\" }}\n"
    ));
    let live = managed_cluster(
        "c1",
        json!({"region": "eu"}),
        vec![entry("argocd", "Apply", label_fields(&["region"]))],
        None,
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    assert_eq!(
        field(change(&d, Kind::ManagedCluster, "c1"), "labels.region").cause,
        Cause::Conflict {
            manager: "argocd".into()
        }
    );
}

#[test]
fn in_sync_objects_produce_no_change() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\" }}\n"
    ));
    let live = managed_cluster(
        "c1",
        json!({"region": "us-east", "x": "y"}),
        vec![entry("fleet", "Apply", label_fields(&["region"]))],
        None,
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
    assert_eq!(d.unchanged_wecs, [WecName::from("c1")]);
}

#[test]
fn an_unregistered_wec_blocks_its_labels_but_not_its_properties() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\" }}\nproperties = {{ maxPods = \"100\" }}\n"
    ));
    let d = diff(&f, &observed_with(vec![]), &DiffOptions::default());
    let mc = change(&d, Kind::ManagedCluster, "c1");
    assert_eq!(mc.blocked, Some(Blocked::NotRegistered));
    let cm = change(&d, Kind::ConfigMap, "c1");
    assert_eq!(
        (cm.kind(), cm.blocked.is_none()),
        (ActionKind::Create, true)
    );
    assert_eq!(field(cm, "data.maxPods").after, Some(json!("100")));
    let ns = change(&d, Kind::Namespace, PROPERTIES_NS);
    assert_eq!(ns.kind(), ActionKind::Create);
}

#[test]
fn a_changed_role_ref_is_a_replacement() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nrbac = [\"direct\"]\n"));
    let crb = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "fleet:direct", "labels": {MANAGED_BY: MANAGER, RBAC_LABEL: "direct"},
            "managedFields": [entry("fleet", "Apply", json!({"f:roleRef": {}, "f:subjects": {}, "f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}, "f:fleet.kubestellar.io/rbac": {}}}}))]},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "old-role"},
        "subjects": [{"kind": "ServiceAccount", "name": "klusterlet-work-sa", "namespace": "open-cluster-management-agent"}]
    });
    let d = diff(
        &f,
        &observed_with(vec![(
            Location::Wec("c1".into()),
            Kind::ClusterRoleBinding,
            crb,
        )]),
        &DiffOptions::default(),
    );
    let c = change(&d, Kind::ClusterRoleBinding, "fleet:direct");
    assert_eq!(c.kind(), ActionKind::Replace);
    assert_eq!(
        c.reason,
        Some(Reason::ImmutableField(FieldPath::of(&["roleRef"])))
    );
    assert_eq!(c.expansion, Some(ExpansionName::from("direct")));
}

#[test]
fn fleet_objects_no_longer_wanted_are_deleted_and_gone_wecs_wait_for_prune() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n"));
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": PROPERTIES_NS, "labels": {MANAGED_BY: MANAGER}}, "data": {"k": "v"}});
    let bp = json!({"apiVersion": "control.kubestellar.io/v1alpha1", "kind": "BindingPolicy", "metadata": {"name": "fleet-rbac-aw", "labels": {MANAGED_BY: MANAGER}}});
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c9", "namespace": PROPERTIES_NS}});
    let observed = observed_with(vec![
        (Location::Its, Kind::ConfigMap, cm("c1")),
        (Location::Its, Kind::ConfigMap, cm("gone")),
        (Location::Its, Kind::ConfigMap, foreign),
        (Location::Wds, Kind::BindingPolicy, bp),
    ]);
    let d = diff(&f, &observed, &DiffOptions::default());
    let deleted: Vec<String> = d
        .changes
        .iter()
        .filter(|c| c.kind() == ActionKind::Delete)
        .map(|c| c.object.to_string())
        .collect();
    assert_eq!(
        deleted,
        [
            "wds: BindingPolicy fleet-rbac-aw",
            "its: ConfigMap customization-properties/c1"
        ]
    );
    let pruned = diff(
        &f,
        &observed,
        &DiffOptions {
            prune: true,
            ..Default::default()
        },
    );
    assert!(pruned.changes.iter().any(|c| c.object.name == "gone"
        && c.kind() == ActionKind::Delete
        && c.reason == Some(Reason::WecRemoved)));

    // A deletion in progress (KubeStellar's controller holds a BindingPolicy by its finalizer
    // until it has cleaned up) is not planned again.
    let mut terminating = json!({"apiVersion": "control.kubestellar.io/v1alpha1", "kind": "BindingPolicy", "metadata": {"name": "fleet-rbac-aw", "labels": {MANAGED_BY: MANAGER}, "finalizers": ["bindingpolicy.kubestellar.io/kscontroller"]}});
    terminating["metadata"]["deletionTimestamp"] = json!("2026-11-22T10:00:00Z");
    let d = diff(
        &f,
        &observed_with(vec![(Location::Wds, Kind::BindingPolicy, terminating)]),
        &DiffOptions::default(),
    );
    assert!(
        d.changes
            .iter()
            .all(|c| c.object.kind != Kind::BindingPolicy),
        "{:#?}",
        d.changes
    );
}

#[test]
fn unreadable_places_yield_no_changes_and_are_reported() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nrbac = [\"direct\"]\n"));
    let mut o = observed_with(vec![]);
    o.unreadable.insert(
        Location::Wec("c1".into()),
        read_failure("connection refused"),
    );
    let d = diff(&f, &o, &DiffOptions::default());
    assert!(
        d.changes
            .iter()
            .all(|c| c.object.location != Location::Wec("c1".into()))
    );
    assert_eq!(
        d.unreadable
            .get(&Location::Wec("c1".into()))
            .map(ToString::to_string)
            .as_deref(),
        Some("connection refused")
    );
    assert!(!d.unchanged_wecs.contains(&WecName::from("c1")));
}

#[test]
fn an_unreadable_its_leaves_no_wec_reported_in_sync() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n[wec.c2]\n"
    ));
    let mut o = ObservedFleet::default();
    o.unreadable
        .insert(Location::Its, read_failure("connection refused"));
    let d = diff(&f, &o, &DiffOptions::default());
    assert!(d.changes.is_empty());
    assert!(d.unchanged_wecs.is_empty(), "{:?}", d.unchanged_wecs);
}

#[test]
fn managed_clusters_fleet_never_touched_are_unmanaged() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\n"));
    let other = managed_cluster(
        "edge-9",
        json!({}),
        vec![entry("registration-agent", "Update", json!({}))],
        None,
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, other)]),
        &DiffOptions::default(),
    );
    assert_eq!(d.unmanaged_wecs, [WecName::from("edge-9")]);
}

#[test]
fn downsync_rbac_selects_exactly_the_wecs_listing_it_and_orders_the_plan() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nrbac = [\"aw\"]\n[wec.c2]\n"));
    let mcs = ["c1", "c2"].map(|n| {
        (
            Location::Its,
            Kind::ManagedCluster,
            managed_cluster(n, json!({}), vec![], None),
        )
    });
    let d = diff(&f, &observed_with(mcs.into()), &DiffOptions::default());
    let c1 = change(&d, Kind::ManagedCluster, "c1");
    assert_eq!(
        field(c1, r#"labels["rbac.fleet.kubestellar.io/aw"]"#).after,
        Some(json!("true"))
    );
    assert!(
        d.changes.iter().all(|c| c.object.name != "c2"),
        "c2 lists no expansion: {:#?}",
        d.changes
    );
    let bp = change(&d, Kind::BindingPolicy, "fleet-rbac-aw");
    let Action::Create { body } = &bp.action else {
        panic!("the BindingPolicy is created: {bp:#?}")
    };
    let spec = &body.to_value()["spec"];
    assert_eq!(
        spec["clusterSelectors"],
        json!([{"matchLabels": {"rbac.fleet.kubestellar.io/aw": "true"}}])
    );
    assert_eq!(
        spec["downsync"][0]["resources"],
        json!(["clusterroles", "clusterrolebindings"])
    );

    let plan = crate::plan::build(d).expect("acyclic");
    let pos = |kind: Kind| {
        let i = plan
            .diff
            .changes
            .iter()
            .position(|c| c.object.kind == kind && c.object.location == Location::Wds)
            .unwrap();
        plan.waves.iter().position(|w| w.contains(&i)).unwrap()
    };
    assert!(pos(Kind::ClusterRole) < pos(Kind::ClusterRoleBinding));
    assert!(pos(Kind::ClusterRoleBinding) < pos(Kind::BindingPolicy));
    assert_eq!(plan.summary.add, 3);
    assert_eq!(plan.summary.change, 1);
}

#[test]
fn a_namespace_shared_by_downsync_grants_comes_from_one_policy() {
    let rule = "api_groups = [\"batch\"]\nresources = [\"jobs\"]\nverbs = [\"create\"]\n";
    let f = fleet(&format!(
        "{BASE}\n[rbac.jobs]\nmode = \"downsync\"\nnamespace = \"batch-apps\"\n[[rbac.jobs.rules]]\n{rule}\
         [rbac.more]\nmode = \"downsync\"\nnamespace = \"batch-apps\"\n[[rbac.more.rules]]\n{rule}\
         [wec.c1]\nrbac = [\"jobs\", \"more\"]\n[wec.c2]\nrbac = [\"more\"]\n"
    ));
    let mcs = ["c1", "c2"].map(|n| {
        (
            Location::Its,
            Kind::ManagedCluster,
            managed_cluster(n, json!({}), vec![], None),
        )
    });
    let d = diff(&f, &observed_with(mcs.into()), &DiffOptions::default());
    let created = |name: &str| match &change(&d, Kind::BindingPolicy, name).action {
        Action::Create { body } => body.to_value()["spec"].clone(),
        other => panic!("{name} is created: {other:?}"),
    };
    // Each expansion's policy delivers its Role and RoleBinding only.
    assert_eq!(
        created("fleet-rbac-jobs")["downsync"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "resources": ["roles", "rolebindings"],
                "namespaces": ["batch-apps"],
                "objectSelectors": [{"matchLabels": {"fleet.kubestellar.io/rbac": "jobs"}}]}])
    );
    // One policy delivers the namespace to every WEC listing either: one ManifestWork per
    // WEC holds it, whichever grant goes first.
    assert_eq!(
        created("fleet-ns-batch-apps"),
        json!({
            "clusterSelectors": [
                {"matchLabels": {"rbac.fleet.kubestellar.io/jobs": "true"}},
                {"matchLabels": {"rbac.fleet.kubestellar.io/more": "true"}},
            ],
            "downsync": [{"apiGroup": "", "resources": ["namespaces"],
                          "objectNames": ["batch-apps"], "createOnly": true}],
        })
    );
    // It comes after the namespace it delivers, which fleet creates in the WDS.
    let ns = change(&d, Kind::Namespace, "batch-apps");
    assert!(matches!(ns.action, Action::Create { .. }));
    let plan = crate::plan::build(d.clone()).expect("acyclic");
    let pos = |kind: Kind, name: &str| {
        let i = plan
            .diff
            .changes
            .iter()
            .position(|c| c.object.kind == kind && c.object.name == name)
            .unwrap();
        plan.waves.iter().position(|w| w.contains(&i)).unwrap()
    };
    assert!(pos(Kind::Namespace, "batch-apps") < pos(Kind::BindingPolicy, "fleet-ns-batch-apps"));
}

#[test]
fn targeting_keeps_the_targeted_wecs_and_what_they_need() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nproperties = {{ a = \"1\" }}\n[wec.c2]\nproperties = {{ a = \"2\" }}\n"
    ));
    let opts = DiffOptions {
        targets: [WecName::from("c2")].into(),
        ..Default::default()
    };
    let d = diff(&f, &observed_with(vec![]), &opts);
    let names: Vec<String> = d.changes.iter().map(|c| c.object.to_string()).collect();
    assert_eq!(
        names,
        [
            "its: Namespace customization-properties",
            "its: ConfigMap customization-properties/c2",
            "its: ManagedCluster c2"
        ]
    );
}

/// A snapshot in which the ITS's CSRs were listed and `c1`'s Klusterlet was looked for
/// (and is `klusterlet` when given).
fn registration_snapshot(mut o: ObservedFleet, klusterlet: Option<Value>) -> ObservedFleet {
    o.listed
        .insert((Location::Its, Kind::CertificateSigningRequest));
    o.insert_get(
        crate::model::registration::klusterlet_ref(&WecName::from("c1")),
        klusterlet.map(Json::from),
    );
    o.its_endpoint = Some(crate::model::Endpoint {
        server: "https://127.0.0.1:6443".into(),
        ca_data: Some("Q0E=".into()),
    });
    o
}

fn registration_of(d: &Diff) -> Option<&Registration> {
    d.changes.iter().find_map(|c| match &c.action {
        Action::Register(r) => Some(r),
        _ => None,
    })
}

#[test]
fn an_absent_wec_is_joined_accepted_and_waited_for_and_its_work_waits_on_that() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ region = \"us-east\" }}\nproperties = {{ zone = \"a\" }}\n[wec.c1.join]\nsingleton = true\n"
    ));
    let d = diff(
        &f,
        &registration_snapshot(observed_with(vec![]), None),
        &DiffOptions::default(),
    );
    let reg = registration_of(&d).expect("a registration");
    assert_eq!(reg.from, RegState::Absent);
    let steps: Vec<&str> = reg.steps.iter().map(RegStep::name).collect();
    assert_eq!(steps, ["join", "accept", "wait"]);
    let join = reg.join().unwrap();
    assert_eq!(join.hub.server, "https://127.0.0.1:6443");
    assert_eq!(join.mode.as_str(), "Singleton");
    let klusterlet = crate::model::registration::klusterlet_ref(&WecName::from("c1"));
    for kind in [Kind::ManagedCluster, Kind::ConfigMap] {
        let c = change(&d, kind, "c1");
        assert_eq!(c.blocked, None, "{kind} waits, it is not blocked");
        assert!(
            c.depends_on.contains(&klusterlet),
            "{kind} waits on the registration"
        );
    }
    let plan = crate::plan::build(d).expect("acyclic");
    assert_eq!(plan.summary.register, 1);
    let wave = |kind: Kind| {
        let i = plan
            .diff
            .changes
            .iter()
            .position(|c| c.object.kind == kind)
            .unwrap();
        plan.waves.iter().position(|w| w.contains(&i)).unwrap()
    };
    assert!(wave(Kind::Klusterlet) < wave(Kind::ManagedCluster));
}

#[test]
fn registration_resumes_where_the_wec_stands() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n"));
    let mut pending = managed_cluster("c1", json!({}), vec![], None);
    pending["spec"]["hubAcceptsClient"] = json!(false);
    pending["status"] = json!({});
    let (cn, org) = agent_subject("c1");
    let pending_csr = csr("c1-abcde", "c1", BOOTSTRAP_USER, &cn, &org);
    let o = registration_snapshot(
        observed_with(vec![
            (Location::Its, Kind::ManagedCluster, pending),
            (Location::Its, Kind::CertificateSigningRequest, pending_csr),
        ]),
        None,
    );
    let d = diff(&f, &o, &DiffOptions::default());
    let reg = registration_of(&d).expect("a registration");
    assert_eq!(reg.from, RegState::CsrPending);
    let steps: Vec<&str> = reg.steps.iter().map(RegStep::name).collect();
    assert_eq!(steps, ["accept", "wait"]);

    // A pending CSR from another requester is not an agent fleet joined: fleet joins.
    // …and neither is one from fleet's bootstrap identity asking for another WEC's identity
    // (the label is the requester's to choose).
    let (cn2, o2) = agent_subject("c2");
    let other = csr("c1-other", "c1", BOOTSTRAP_USER, &cn2, &o2);
    let foreign = csr("c1-foreign", "c1", "mallory", &cn, &org);
    let o = registration_snapshot(
        observed_with(vec![(
            Location::Its,
            Kind::CertificateSigningRequest,
            other,
        )]),
        None,
    );
    let d = diff(&f, &o, &DiffOptions::default());
    assert_eq!(registration_of(&d).map(|r| r.from), Some(RegState::Absent));
    let o = registration_snapshot(
        observed_with(vec![(
            Location::Its,
            Kind::CertificateSigningRequest,
            foreign,
        )]),
        None,
    );
    let d = diff(&f, &o, &DiffOptions::default());
    assert_eq!(registration_of(&d).map(|r| r.from), Some(RegState::Absent));

    // Available: adopted as it is, nothing to register.
    let live = managed_cluster(
        "c1",
        json!({"a": "b"}),
        vec![entry("fleet", "Apply", label_fields(&["a"]))],
        None,
    );
    let o = registration_snapshot(
        observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        None,
    );
    let d = diff(&f, &o, &DiffOptions::default());
    assert!(registration_of(&d).is_none());
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
}

#[test]
fn register_false_never_joins_and_says_why_it_is_blocked() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nregister = false\nlabels = {{ a = \"b\" }}\n"
    ));
    let d = diff(
        &f,
        &registration_snapshot(observed_with(vec![]), None),
        &DiffOptions::default(),
    );
    assert!(registration_of(&d).is_none());
    assert_eq!(
        change(&d, Kind::ManagedCluster, "c1").blocked,
        Some(Blocked::RegisterDisabled)
    );
}

#[test]
fn internal_endpoint_lookup_needs_cluster_info() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n[wec.c1.join]\nforce_internal_endpoint_lookup = true\n"
    ));
    let o = registration_snapshot(observed_with(vec![]), None);
    let d = diff(&f, &o, &DiffOptions::default());
    assert!(registration_of(&d).is_none());
    assert_eq!(
        change(&d, Kind::ManagedCluster, "c1").blocked,
        Some(Blocked::NoClusterInfo)
    );
    let mut o = o;
    o.cluster_info = Some(crate::model::Endpoint {
        server: "https://kubeflex-control-plane:31048".into(),
        ca_data: None,
    });
    let d = diff(&f, &o, &DiffOptions::default());
    let join = registration_of(&d)
        .and_then(Registration::join)
        .expect("a join");
    assert_eq!(join.hub.server, "https://kubeflex-control-plane:31048");
    assert_eq!(
        join.hub.ca_data.as_deref(),
        Some("Q0E="),
        "the context's CA when cluster-info has none"
    );
}

#[test]
fn only_wecs_fleet_registered_are_deregistered_with_prune_and_at_most_max() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\n"));
    let registered = |name: &str| {
        let mut mc = managed_cluster(
            name,
            json!({}),
            vec![entry(
                "fleet-registration",
                "Apply",
                json!({"f:spec": {"f:hubAcceptsClient": {}}}),
            )],
            None,
        );
        mc["metadata"]["annotations"] = json!({ crate::model::vocab::REGISTERED_BY: name });
        (Location::Its, Kind::ManagedCluster, mc)
    };
    let adopted = managed_cluster(
        "adopted",
        json!({"a": "b"}),
        vec![entry("fleet", "Apply", label_fields(&["a"]))],
        None,
    );
    let o = observed_with(vec![
        registered("gone-1"),
        (Location::Its, Kind::ManagedCluster, adopted),
    ]);
    let deregistrations = |d: &Diff| -> Vec<(String, Option<Blocked>)> {
        d.changes
            .iter()
            .filter(|c| c.kind() == ActionKind::Deregister)
            .map(|c| (c.wec.as_ref().unwrap().to_string(), c.blocked))
            .collect()
    };
    let no_prune = diff(&f, &o, &DiffOptions::default());
    assert!(deregistrations(&no_prune).is_empty());
    assert_eq!(
        no_prune.orphaned_wecs,
        [WecName::from("adopted"), WecName::from("gone-1")]
    );
    let prune = DiffOptions {
        prune: true,
        max_deregister: 1,
        ..Default::default()
    };
    let d = diff(&f, &o, &prune);
    assert_eq!(
        deregistrations(&d),
        [("gone-1".to_owned(), None)],
        "adopted WECs are not deregistered"
    );
    let Action::Deregister(dr) = &d
        .changes
        .iter()
        .find(|c| c.kind() == ActionKind::Deregister)
        .unwrap()
        .action
    else {
        unreachable!()
    };
    assert_eq!(dr.context.as_deref(), Some("gone-1"));

    let two = observed_with(vec![registered("gone-1"), registered("gone-2")]);
    let d = diff(&f, &two, &prune);
    let held = Some(Blocked::DeregisterLimit { count: 2, max: 1 });
    assert_eq!(
        deregistrations(&d),
        [("gone-1".to_owned(), held), ("gone-2".to_owned(), held)]
    );
}

#[test]
fn a_klusterlet_fleet_did_not_install_is_not_taken_over() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n"));
    let elsewhere = json!({"apiVersion": "operator.open-cluster-management.io/v1", "kind": "Klusterlet",
        "metadata": {"name": "klusterlet"}, "spec": {"clusterName": "prod-east"}});
    let d = diff(
        &f,
        &registration_snapshot(observed_with(vec![]), Some(elsewhere)),
        &DiffOptions::default(),
    );
    assert!(registration_of(&d).is_none());
    assert_eq!(
        change(&d, Kind::ManagedCluster, "c1").blocked,
        Some(Blocked::JoinedElsewhere)
    );

    // Its own half-done join (the Klusterlet and fleet's bootstrap Secret) is joined again.
    let own = json!({"apiVersion": "operator.open-cluster-management.io/v1", "kind": "Klusterlet",
        "metadata": {"name": "klusterlet"}, "spec": {"clusterName": "c1"}});
    let mut o = registration_snapshot(observed_with(vec![]), Some(own));
    o.insert_get(
        crate::model::registration::bootstrap_secret_ref(&WecName::from("c1")),
        Some(
            json!({"metadata": {"name": "bootstrap-hub-kubeconfig",
            "managedFields": [{"manager": "fleet", "operation": "Apply"}]}})
            .into(),
        ),
    );
    let d = diff(&f, &o, &DiffOptions::default());
    assert_eq!(
        registration_of(&d).map(|r| r.from),
        Some(RegState::KlusterletInstalled)
    );
}

#[test]
fn a_label_removed_from_fleet_toml_goes_even_if_kubectl_overwrote_it() {
    // fleet applied region=us-east and team=a; kubectl then overwrote region, and argocd
    // applies team too. fleet.toml now declares neither.
    let f = fleet(&format!("{BASE}\n[wec.c1]\nlabels = {{ name = \"c1\" }}\n"));
    let live = managed_cluster(
        "c1",
        json!({"name": "c1", "region": "eu-west", "team": "a"}),
        vec![
            entry("fleet", "Apply", label_fields(&["name", "team"])),
            entry("kubectl-label", "Update", label_fields(&["region"])),
            entry("argocd", "Apply", label_fields(&["team"])),
        ],
        Some(
            json!({"applied": {"metadata": {"labels": {"name": "c1", "region": "us-east", "team": "a"}}}}),
        ),
    );
    let d = diff(
        &f,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, live)]),
        &DiffOptions::default(),
    );
    let c = change(&d, Kind::ManagedCluster, "c1");
    let paths: Vec<String> = c.fields.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["labels.region"], "team is argocd's too: left alone");
    let region = field(c, "labels.region");
    assert_eq!(
        (region.before.clone(), region.after.clone()),
        (Some(json!("eu-west")), None)
    );
    assert_eq!(
        region.cause,
        Cause::Drift {
            manager: Some("kubectl-label".into())
        }
    );
}

#[test]
fn a_downsync_copy_the_work_agent_applied_on_a_wec_is_not_fleets_to_delete() {
    let f = fleet(&format!("{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n"));
    let role = |name: &str, delivered: bool| {
        let mut r = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {MANAGED_BY: MANAGER, RBAC_LABEL: "aw"}}, "rules": []});
        if delivered {
            r["metadata"]["ownerReferences"] = json!([{"apiVersion": "work.open-cluster-management.io/v1",
                "kind": "AppliedManifestWork", "name": "x-fleet-rbac-aw", "uid": "u1"}]);
        }
        r
    };
    let observed = observed_with(vec![
        (
            Location::Wec("c1".into()),
            Kind::ClusterRole,
            role("fleet:aw", true),
        ),
        (
            Location::Wec("c1".into()),
            Kind::ClusterRole,
            role("fleet:old", false),
        ),
    ]);
    let d = diff(&f, &observed, &DiffOptions::default());
    let deleted: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.kind() == ActionKind::Delete)
        .map(|c| c.object.name.as_str())
        .collect();
    assert_eq!(deleted, ["fleet:old"], "KubeStellar's copy stays");
}

#[test]
fn a_recheck_matches_the_plan_when_only_unrelated_fields_moved() {
    let f = fleet(&format!(
        "{BASE}\n[wec.c1]\nlabels = {{ name = \"c1\", region = \"us-west\" }}\n"
    ));
    let desired = DesiredState::build(&f);
    let d = desired
        .objects
        .iter()
        .find(|d| d.object.kind == Kind::ManagedCluster)
        .expect("c1's ManagedCluster is desired");
    let at = |labels: Value, version: &str, uid: &str| {
        let mut mc = managed_cluster(
            "c1",
            labels,
            vec![
                entry("fleet", "Apply", label_fields(&["name", "region"])),
                entry("kubectl-label", "Update", label_fields(&["team"])),
            ],
            None,
        );
        mc["metadata"]["resourceVersion"] = json!(version);
        mc["metadata"]["uid"] = json!(uid);
        Json::from(mc)
    };
    let planned = recheck(d, &at(json!({"name": "c1", "region": "us-east"}), "7", "u"))
        .expect("region differs");
    let digest = crate::plan::saved::digest;

    // A controller's write (another label, the status) moved the version only.
    let moved = at(
        json!({"name": "c1", "region": "us-east", "team": "a"}),
        "9",
        "u",
    );
    let again = recheck(d, &moved).expect("still differs");
    assert_eq!(digest(&again), digest(&planned));
    assert_eq!(
        again.observed.map(|o| o.resource_version).as_deref(),
        Some("9")
    );

    // Someone changed the planned field itself: the change is no longer the planned one.
    let touched = at(json!({"name": "c1", "region": "eu-west"}), "9", "u");
    let other = recheck(d, &touched).expect("still differs");
    assert_ne!(digest(&other), digest(&planned));

    // Someone made the change already: nothing is left to write.
    let done = at(json!({"name": "c1", "region": "us-west"}), "9", "u");
    assert!(recheck(d, &done).is_none());
}

#[test]
fn a_wecs_record_follows_its_objects_and_drops_one_only_after_its_deletion() {
    let base = format!("{BASE}\n[wec.c1]\nlabels = {{ a = \"b\" }}\n");
    let with = fleet(&format!("{base}rbac = [\"direct\"]\n"));
    let without = fleet(&base);
    let wanted: Vec<ObjectRef> = DesiredState::build(&with)
        .objects
        .into_iter()
        .filter(|d| matches!(d.object.location, Location::Wec(_)))
        .map(|d| d.object)
        .collect();
    assert!(!wanted.is_empty());
    let mc = |recorded: &[ObjectRef]| {
        let record = LastApplied {
            applied: json!({"metadata": {"labels": {"a": "b"}}}),
            objects: recorded.to_vec(),
        };
        managed_cluster(
            "c1",
            json!({"a": "b"}),
            vec![entry("fleet", "Apply", label_fields(&["a"]))],
            Some(serde_json::from_str(&record.to_annotation()).expect("JSON")),
        )
    };
    let record_change = |d: &Diff| {
        d.changes
            .iter()
            .find(|c| c.object.kind == Kind::ManagedCluster)
            .cloned()
    };

    // The WEC starts using a direct expansion; nothing else of its ManagedCluster changes.
    let d = diff(
        &with,
        &observed_with(vec![(Location::Its, Kind::ManagedCluster, mc(&[]))]),
        &DiffOptions::default(),
    );
    let c = record_change(&d).expect("the record changes");
    assert!(c.fields.is_empty());
    assert_eq!(
        c.reason,
        Some(Reason::Record {
            added: wanted.len(),
            removed: 0
        })
    );
    let Action::Update { body } = &c.action else {
        panic!("an update: {c:?}")
    };
    assert_eq!(body.record_objects(), wanted.as_slice());
    // What apply checks when that write meets a 409: the fields are as planned, but the
    // record is not written yet, so the write is still needed.
    let mc_desired = DesiredState::build(&with)
        .objects
        .into_iter()
        .find(|d| d.object.kind == Kind::ManagedCluster)
        .expect("desired");
    let live_now = Json::from(mc(&[]));
    assert!(recheck(&mc_desired, &live_now).is_none());
    assert!(!same_record(body, &live_now));
    assert!(same_record(body, &Json::from(mc(&wanted))));

    // It stops using it: the objects are deleted, and only then dropped from the record.
    let mut objects = vec![(Location::Its, Kind::ManagedCluster, mc(&wanted))];
    for d in DesiredState::build(&with).objects {
        if let Location::Wec(_) = d.object.location {
            let mut live = d.body.to_value();
            live["metadata"]["uid"] = json!(format!("uid-{}", d.object.name));
            live["metadata"]["resourceVersion"] = json!("3");
            objects.push((d.object.location.clone(), d.object.kind, live));
        }
    }
    let d = diff(
        &without,
        &observed_with(objects.clone()),
        &DiffOptions::default(),
    );
    let deleted: BTreeSet<&ObjectRef> = d
        .changes
        .iter()
        .filter(|c| c.kind() == ActionKind::Delete)
        .map(|c| &c.object)
        .collect();
    assert!(!deleted.is_empty());
    let c = record_change(&d).expect("the record changes");
    assert_eq!(
        c.reason,
        Some(Reason::Record {
            added: 0,
            removed: wanted.len()
        })
    );
    let waits: BTreeSet<&ObjectRef> = c.depends_on.iter().collect();
    assert_eq!(waits, deleted, "the record waits on every deletion");
    let plan = crate::plan::build(d.clone()).expect("no cycle");
    let wave_of = |r: &ObjectRef| {
        plan.waves
            .iter()
            .position(|w| w.iter().any(|&i| &plan.diff.changes[i].object == r))
    };
    let last_delete = deleted.iter().filter_map(|r| wave_of(r)).max();
    assert!(wave_of(&c.object) > last_delete);

    // A WEC that cannot be read keeps its record: nothing of it is known to be gone.
    let mut o = observed_with(objects[..1].to_vec());
    o.unreadable.insert(
        Location::Wec("c1".into()),
        read_failure("connection refused"),
    );
    let d = diff(&without, &o, &DiffOptions::default());
    assert!(record_change(&d).is_none(), "{:#?}", d.changes);
}
