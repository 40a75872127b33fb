//! `schema/fleet.schema.json` is generated from the Rust types and must be up to date.
//! Run with `FLEET_UPDATE_SCHEMA=1` to rewrite it.

use fleet::config::schema;

use crate::common::root;

#[test]
fn checked_in_schema_is_up_to_date() {
    let path = root().join(schema::PATH);
    let generated = schema::json_schema();
    // CI must compare, never regenerate: .ci/run refuses to run with this variable set.
    if std::env::var_os("FLEET_UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: run `FLEET_UPDATE_SCHEMA=1 cargo test --test it schema`",
        schema::PATH
    );
}

#[test]
fn schema_describes_the_contract_keys() {
    let schema: serde_json::Value = serde_json::from_str(&schema::json_schema()).unwrap();
    let top: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["defaults", "group", "its", "rbac", "wds", "wec"]);
    assert_eq!(schema["required"], serde_json::json!(["its"]));
    assert_eq!(schema["additionalProperties"], false);
    let wec = &schema["definitions"]["RawWec"]["properties"];
    for key in [
        "context",
        "kubeconfig",
        "groups",
        "labels",
        "properties",
        "rbac",
        "register",
        "join",
    ] {
        assert!(wec.get(key).is_some(), "wec.{key} missing from the schema");
    }
    let rule = &schema["definitions"]["RawRule"]["properties"];
    assert!(rule.get("resource_names").is_some());
}
