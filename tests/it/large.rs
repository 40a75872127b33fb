//! A fleet large enough to be decoded in pieces and validated on several threads reads as a
//! small one does: every WEC, every problem, in file order.

use std::path::Path;

use fleet::config::{self, ConfigError};

/// WECs enough for a file of over 512 KiB (two pieces of at least 256 KiB each) and over
/// 1,024 WECs per validating thread.
const WECS: usize = 4_000;

/// `[defaults]`, two groups, an RBAC expansion, then the WECs; `edit` may rewrite WEC `i`'s
/// table.
fn fleet(edit: impl Fn(usize, String) -> String) -> String {
    let mut text = String::from(
        "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nlabels = { env = \"prod\" }\nrbac = [\"pos\"]\n\n\
         [group.east]\nlabels = { region = \"east\" }\n\n[group.west]\nlabels = { region = \"west\" }\nproperties = { registry = \"west.example\" }\n\n\
         [rbac.pos]\nmode = \"downsync\"\nnamespace = \"pos\"\n[[rbac.pos.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\"]\n\n",
    );
    for i in 0..WECS {
        let group = if i % 2 == 0 { "east" } else { "west" };
        let wec = format!(
            "[wec.store-{i:05}]\ngroups = [\"{group}\"]\nlabels = {{ name = \"store-{i:05}\", tier = \"t{}\" }}\n\
             properties = {{ storeId = \"S{i:05}\", maxPods = \"{}\" }}\n\n[wec.store-{i:05}.join]\nsingleton = true\n\n",
            i % 7,
            100 + i % 50
        );
        text.push_str(&edit(i, wec));
    }
    text
}

/// The codes of an invalid file's problems (its Debug form holds the whole file).
fn codes(err: &ConfigError) -> Vec<&'static str> {
    err.problems().iter().map(|p| p.code().as_str()).collect()
}

#[test]
fn a_large_fleet_resolves_every_wec() {
    let text = fleet(|_, wec| wec);
    assert!(text.len() > 512 * 1024, "{} bytes", text.len());
    let loaded = config::from_str(Path::new("fleet.toml"), &text)
        .unwrap_or_else(|err| panic!("{:?}", codes(&err)));
    assert_eq!(loaded.fleet.wecs.len(), WECS);
    for i in [0, 1, WECS / 2, WECS - 1] {
        let wec = loaded
            .fleet
            .wecs
            .values()
            .find(|w| w.name.as_str() == format!("store-{i:05}"))
            .expect("every WEC is there");
        let region = if i % 2 == 0 { "east" } else { "west" };
        assert_eq!(wec.labels.get("region"), Some(region));
        assert_eq!(wec.labels.get("env"), Some("prod"));
        assert_eq!(
            wec.properties.get("storeId"),
            Some(format!("S{i:05}").as_str())
        );
        assert!(wec.join.singleton);
    }

    // `fleet validate`'s reading: checked, not resolved, and counted.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, &text).expect("written");
    let checked = config::check(&path).unwrap_or_else(|err| panic!("{:?}", codes(&err)));
    assert_eq!(
        checked.summary,
        config::Summary {
            wecs: WECS,
            groups_in_use: 2,
            rbac_expansions: 1,
        }
    );
    assert_eq!(checked.digest, loaded.digest);
}

#[test]
fn a_large_fleets_problems_are_all_reported_in_file_order() {
    let broken = [3, WECS / 2 - 1, WECS / 2 + 1, WECS - 2];
    let text = fleet(|i, wec| match i {
        i if i == broken[0] => wec.replace("tier = ", "\"bad key!\" = "),
        i if i == broken[1] => wec.replace("groups = [\"west\"]", "groups = [\"nowhere\"]"),
        i if i == broken[2] => wec.replace("tier = \"t", "tier = \"-t"),
        i if i == broken[3] => wec.replace("storeId", "\"store id\""),
        _ => wec,
    });
    let Err(ConfigError::Invalid { problems, .. }) =
        config::from_str(Path::new("fleet.toml"), &text)
    else {
        panic!("the file has errors");
    };
    assert_eq!(
        problems
            .iter()
            .map(|p| p.code().as_str())
            .collect::<Vec<_>>(),
        [
            "fleet::config::invalid_label_key",
            "fleet::config::undefined_group",
            "fleet::config::invalid_label_value",
            "fleet::config::invalid_property_key",
        ]
    );
    for (problem, i) in problems.iter().zip(broken) {
        let table = text[..problem.offset()]
            .rfind("[wec.")
            .map(|at| &text[at..at + 16]);
        assert_eq!(
            table,
            Some(format!("[wec.store-{i:05}").as_str()),
            "{}",
            problem.message()
        );
    }
}
