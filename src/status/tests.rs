//! status on hand-made snapshots: healthy, drifted, silent, unregistered, unmanaged,
//! unreadable; and the views.

use std::path::Path;

use k8s_openapi::jiff::SignedDuration;
use serde_json::{Value, json};

use super::*;
use crate::config;
use crate::desired::DesiredState;
use crate::diff::fixtures::{entry, label_fields, managed_cluster, read_failure};
use crate::diff::{DiffOptions, diff};
use crate::model::vocab::MANAGER;

const TOML: &str = r#"
[its]
context = "its1"
[rbac.jobs]
mode = "direct"
[[rbac.jobs.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["get"]
[wec.ok]
labels = { tier = "gold" }
[wec.drifted]
labels = { tier = "gold" }
[wec.silent]
labels = { tier = "gold" }
[wec.new]
labels = { tier = "gold" }
register = false
[wec.dark]
labels = { tier = "gold" }
rbac = ["jobs"]
"#;

fn now() -> Timestamp {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

fn in_sync(name: &str, value: &str) -> Value {
    let mut mc = managed_cluster(
        name,
        json!({"tier": value, "cluster.open-cluster-management.io/clusterset": "default"}),
        vec![entry(MANAGER, "Apply", label_fields(&["tier"]))],
        Some(json!({"applied": {"metadata": {"labels": {"tier": "gold"}}}})),
    );
    mc["status"]["conditions"] = json!([
        {"type": "ManagedClusterJoined", "status": "True", "lastTransitionTime": "2026-11-22T10:00:00Z"},
        {"type": "ManagedClusterConditionAvailable", "status": "True", "lastTransitionTime": "2026-11-22T11:00:00Z"},
    ]);
    mc["status"]["version"] = json!({"kubernetes": "v1.35.8"});
    mc
}

fn lease(wec: &str, renewed: &str) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
           "metadata": {"name": "managed-cluster-lease", "namespace": wec},
           "spec": {"renewTime": renewed}})
}

fn fleet_status(filter: &Filter) -> FleetStatus {
    let fleet = config::from_str(Path::new("fleet.toml"), TOML)
        .unwrap()
        .fleet;
    let mut o = ObservedFleet::default();
    for k in [Kind::ManagedCluster, Kind::ConfigMap, Kind::Namespace] {
        o.listed.insert((Location::Its, k));
    }
    let mut drifted = in_sync("drifted", "bronze");
    drifted["metadata"]["managedFields"] = json!([
        entry(MANAGER, "Apply", json!({})),
        entry("kubectl-label", "Update", label_fields(&["tier"])),
    ]);
    let mut silent = in_sync("silent", "gold");
    silent["status"]["conditions"][1]["status"] = "Unknown".into();
    let mut stray = in_sync("stray", "lab");
    stray["metadata"]["annotations"] = json!({});
    stray["metadata"]["managedFields"] = json!([]);
    o.insert_values(
        &Location::Its,
        Kind::ManagedCluster,
        [
            in_sync("ok", "gold"),
            drifted,
            silent,
            in_sync("dark", "gold"),
            stray,
        ],
    );
    o.insert_values(
        &Location::Its,
        Kind::Lease,
        [
            lease("ok", "2026-11-22T11:59:50Z"),
            lease("silent", "2026-11-22T11:50:00Z"),
        ],
    );
    o.insert_get(
        crate::model::registration::klusterlet_ref(&"new".into()),
        None,
    );
    o.unreadable.insert(
        Location::Wec("dark".into()),
        read_failure("connection refused"),
    );
    let d = diff(
        &fleet,
        &DesiredState::build(&fleet),
        &o,
        &DiffOptions::default(),
    );
    status(&fleet, &o, &d, filter, now())
}

fn row<'a>(s: &'a FleetStatus, name: &str) -> &'a WecStatus {
    s.rows.iter().find(|r| r.wec.as_str() == name).expect(name)
}

#[test]
fn each_wec_gets_its_state_and_its_problems() {
    let s = fleet_status(&Filter::default());
    let ok = row(&s, "ok");
    assert!(ok.healthy(), "{:?}", ok.problems);
    assert_eq!(ok.labels, Sync::InSync);
    assert_eq!(ok.registration, Some(RegState::Available));
    assert_eq!(ok.kubernetes.as_deref(), Some("v1.35.8"));
    assert_eq!(ok.cluster_set.as_deref(), Some("default"));

    let drifted = row(&s, "drifted");
    assert_eq!(
        drifted.labels,
        Sync::Drifted {
            changes: 1,
            manager: Some("kubectl-label".into())
        }
    );

    let silent = row(&s, "silent");
    assert!(
        silent
            .problems
            .contains(&Problem::AgentSilent { seconds: 600 })
    );
    assert!(silent.problems.contains(&Problem::Condition {
        name: AVAILABLE,
        status: Some(CondStatus::Unknown)
    }));

    let new = row(&s, "new");
    assert_eq!(new.problems[0], Problem::RegisterDisabled(RegState::Absent));
    assert_eq!(new.labels, Sync::Blocked(1));

    let dark = row(&s, "dark");
    assert_eq!(dark.rbac, Sync::Unknown);
    assert!(
        dark.problems
            .contains(&Problem::Unreadable(Location::Wec("dark".into())))
    );

    let stray = row(&s, "stray");
    assert!(!stray.managed && stray.problems == [Problem::Unmanaged]);

    assert!(!s.all_healthy() && s.incomplete());
}

#[test]
fn filters_select_by_target_and_by_live_labels() {
    let s = fleet_status(&Filter {
        selector: Some(Selector::parse("tier in (bronze,lab)").unwrap()),
        ..Filter::default()
    });
    let names: Vec<&str> = s.rows.iter().map(|r| r.wec.as_str()).collect();
    assert_eq!(names, ["drifted", "stray"]);
    let s = fleet_status(&Filter {
        targets: ["ok".into()].into(),
        ..Filter::default()
    });
    assert_eq!(s.rows.len(), 1);
}

#[test]
fn the_views_show_the_same_rows() {
    let s = fleet_status(&Filter::default());
    insta::assert_snapshot!(crate::render::status::human(&s, "its1", false, false));
    let md = crate::render::status::markdown(&s, "its1", true);
    assert!(
        md.contains("| drifted | Available |") && md.contains("KUBERNETES"),
        "{md}"
    );
    let v: Value = serde_json::from_str(&crate::render::status::json(&s, "its1")).unwrap();
    assert_eq!(
        v["summary"],
        json!({"wecs": 5, "healthy": 1, "unhealthy": 4, "unmanaged": 1})
    );
    assert_eq!(v["wecs"][0]["name"], "dark");
}

#[test]
fn the_apply_lock_is_shown_free_held_or_unknown() {
    let mut s = fleet_status(&Filter::default());
    let human = |s: &FleetStatus| crate::render::status::human(s, "its1", false, false);
    assert!(!human(&s).contains("Apply lock"), "not asked: not shown");

    s.lock = Some(ApplyLock::Free);
    assert!(human(&s).ends_with("Apply lock: free.\n"), "{}", human(&s));

    let since = s.at.checked_sub(SignedDuration::from_secs(300)).unwrap();
    let expires = s.at.checked_add(SignedDuration::from_secs(40)).unwrap();
    s.lock = Some(ApplyLock::Held {
        id: "gh-71-1-3fa9c2e1".into(),
        who: Some("runner@fv-az1".into()),
        ci_job: Some("https://github.com/o/r/actions/runs/71".into()),
        since: Some(since),
        expires: Some(expires),
    });
    assert!(
        human(&s).ends_with("Apply lock: held by `gh-71-1-3fa9c2e1` (runner@fv-az1, https://github.com/o/r/actions/runs/71) since 5m ago, expires in 40s.\n"),
        "{}",
        human(&s)
    );
    let v: Value = serde_json::from_str(&crate::render::status::json(&s, "its1")).unwrap();
    assert_eq!(v["format_version"], "1.1");
    assert_eq!(v["lock"]["state"], "held");
    assert_eq!(v["lock"]["id"], "gh-71-1-3fa9c2e1");
    assert_eq!(v["lock"]["expires"], expires.to_string());
    assert!(crate::render::status::markdown(&s, "its1", false).contains("Apply lock: held by"));

    s.lock = Some(ApplyLock::Unknown("leases is forbidden".into()));
    let v: Value = serde_json::from_str(&crate::render::status::json(&s, "its1")).unwrap();
    assert_eq!(
        v["lock"],
        json!({"state": "unknown", "id": null, "who": null, "ci_job": null, "since": null,
               "expires": null, "error": "leases is forbidden"})
    );
}
