//! `fleet fmt`: canonical form, comments kept, idempotent.

use std::path::Path;

use fleet::config::format::format;

fn fmt(text: &str) -> String {
    format(Path::new("fleet.toml"), text).expect("valid TOML")
}

const MESSY: &str = r#"#:schema ./schema/fleet.schema.json
# Our fleet.

[wec.cluster2]
  groups=["edge"]   # the edge ones
labels.name = "cluster2"
join = { singleton = true }
context="cluster2"

# the first cluster
[wec.cluster1]
context = "cluster1"
[wec.cluster1.labels]
name = "cluster1"
region = "us-east"

[rbac.aw]
rules = [{ verbs = ["get"], resources = ["appwrappers"], api_groups = ["workload.codeflare.dev"] }]
mode = "direct"


# The hub
[its]
hub_api_server = "https://its1.example.com:6443"
context = "its1"

[group.edge]
labels = {"location-group"="edge"}
# trailing comment
"#;

#[test]
fn formats_to_the_canonical_layout() {
    insta::assert_snapshot!(fmt(MESSY));
}

#[test]
fn formatting_is_idempotent_and_keeps_comments() {
    let once = fmt(MESSY);
    assert_eq!(fmt(&once), once);
    for comment in [
        "#:schema ./schema/fleet.schema.json",
        "# Our fleet.",
        "# the edge ones",
        "# the first cluster",
        "# The hub",
        "# trailing comment",
    ] {
        assert!(once.contains(comment), "lost {comment:?}:\n{once}");
    }
    assert!(once.starts_with("#:schema"), "the schema line stays first");
}

#[test]
fn formatting_keeps_the_meaning() {
    let before = crate::common::load(MESSY).unwrap().fleet;
    let after = crate::common::load(&fmt(MESSY)).unwrap().fleet;
    assert_eq!(before, after);
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    let err = format(Path::new("fleet.toml"), "[its\ncontext = 1\n").unwrap_err();
    assert_eq!(err.problems()[0].code().as_str(), "fleet::config::syntax");
}
