//! Every shipped example validates, and means what its comments say.

use fleet::config::{self, RbacMode};

use crate::common::root;

fn load(relative: &str) -> config::LoadedConfig {
    let path = root().join(relative);
    match config::load(&path) {
        Ok(loaded) => loaded,
        Err(err) => panic!("{relative}: {}", crate::common::render(&err)),
    }
}

#[test]
fn every_example_validates_without_warnings_and_is_formatted() {
    let mut files = vec![root().join("fleet.toml.example")];
    let mut examples: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 4, "{examples:?}");
    files.extend(examples);
    for path in files {
        let loaded = config::load(&path)
            .unwrap_or_else(|err| panic!("{}: {}", path.display(), crate::common::render(&err)));
        let warnings: Vec<_> = loaded.warnings.iter().map(|w| w.message()).collect();
        assert!(warnings.is_empty(), "{}: {warnings:?}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = config::format::format(&path, &text).unwrap();
        assert_eq!(
            formatted,
            text,
            "{} is not `fleet fmt` clean",
            path.display()
        );
    }
}

#[test]
fn getting_started_matches_kubestellar() {
    let fleet = load("examples/getting-started.toml").fleet;
    assert_eq!(fleet.its.access.context, "its1");
    assert_eq!(fleet.wds.unwrap().context, "wds1");
    assert_eq!(
        fleet.wecs.keys().collect::<Vec<_>>(),
        ["cluster1", "cluster2"]
    );
    for (name, wec) in &fleet.wecs {
        assert_eq!(wec.access.context, name.as_str());
        assert_eq!(&wec.labels["location-group"], "edge");
        assert_eq!(&wec.labels["name"], name.as_str());
        assert!(wec.register);
        assert!(wec.join.singleton && wec.join.force_internal_endpoint_lookup);
    }
}

#[test]
fn edge_retail_has_fifty_stores_built_from_groups() {
    let loaded = load("examples/edge-retail.toml");
    let fleet = loaded.fleet;
    let stores: Vec<_> = fleet
        .wecs
        .values()
        .filter(|w| w.name.as_str().starts_with("store-"))
        .collect();
    assert!(stores.len() >= 50, "{}", stores.len());
    let store = &fleet.wecs["store-0040"];
    assert_eq!(store.groups, ["store", "eu-central"]);
    assert_eq!(&store.labels["environment"], "prod");
    assert_eq!(&store.labels["region"], "eu-central");
    assert_eq!(&store.labels["tier"], "store");
    assert_eq!(&store.properties["chain"], "acme-retail");
    assert_eq!(&store.properties["storeId"], "0040");
    assert!(store.rbac.contains("pos-config"));
    assert!(store.join.singleton);
    assert_eq!(
        store.access.kubeconfig.as_deref(),
        Some(root().join("examples/kubeconfigs/stores.yaml").as_path())
    );
    let kiosk = &fleet.wecs["kiosk-berlin-1"];
    assert!(!kiosk.register);
    assert_eq!(
        &kiosk.labels["tier"], "kiosk",
        "the WEC's own labels win over groups"
    );
    assert!(kiosk.rbac.is_empty());
    assert_eq!(fleet.rbac["pos-config"].namespace.as_deref(), Some("pos"));
}

#[test]
fn gpu_fleets_carry_the_appwrapper_rbac_of_scenario_2() {
    for (file, mode) in [
        ("examples/gpu-downsync.toml", RbacMode::Downsync),
        ("examples/gpu-direct.toml", RbacMode::Direct),
    ] {
        let fleet = load(file).fleet;
        let rbac = &fleet.rbac["appwrappers"];
        assert_eq!(rbac.mode, mode, "{file}");
        assert_eq!(
            rbac.namespace, None,
            "{file}: scenario 2 uses a ClusterRole"
        );
        assert_eq!(rbac.rules[0].api_groups, ["workload.codeflare.dev"]);
        assert_eq!(rbac.rules[0].resources, ["appwrappers"]);
        assert_eq!(fleet.wds.is_some(), mode == RbacMode::Downsync, "{file}");
        assert!(
            fleet.wecs.values().all(|w| w.rbac.contains("appwrappers")),
            "{file}"
        );
    }
}

#[test]
fn digest_is_the_sha256_of_the_file() {
    let loaded = load("examples/getting-started.toml");
    let bytes = std::fs::read(root().join("examples/getting-started.toml")).unwrap();
    assert_eq!(loaded.digest, config::digest(&bytes));
    assert!(loaded.digest.starts_with("sha256:") && loaded.digest.len() == 7 + 64);
    assert_eq!(
        config::digest(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
