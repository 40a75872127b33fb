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

/// Every comment of `text`, sorted.
fn comment_texts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = fleet::config::format::comments(text)
        .into_iter()
        .map(|(_, c)| c.to_owned())
        .collect();
    out.sort();
    out
}

const INLINE_WITH_COMMENTS: &str = r#"[its]
context = "its1"

[wec.a]
join = { singleton = true } # join comment
labels = { a = "b" } # labels comment

# all the named expansions
[rbac]

[rbac.r]
mode = "direct" # mode comment
# before rules
rules = [ # open bracket comment
  # first rule
  { api_groups = [""], resources = ["pods"], verbs = ["get"] }, # after first
  # second rule
  { api_groups = [""], resources = ["nodes"], verbs = [
      "get", # the get verb
  ] },
  # dangling at end
] # after rules
"#;

#[test]
fn converting_inline_tables_keeps_every_comment() {
    let once = fmt(INLINE_WITH_COMMENTS);
    assert_eq!(comment_texts(&once), comment_texts(INLINE_WITH_COMMENTS));
    assert_eq!(fmt(&once), once, "idempotent");
    let before = crate::common::load(INLINE_WITH_COMMENTS).unwrap().fleet;
    let after = crate::common::load(&once).unwrap().fleet;
    assert_eq!(before, after);
    assert!(once.contains("[wec.a.join] # join comment"), "{once}");
    insta::assert_snapshot!(once);
}

#[test]
fn crlf_files_stay_crlf() {
    let text = "# top\r\n\r\n[wec.c1]\r\ncontext=\"c1\" # c1\r\nlabels = { a = \"b\" }\r\njoin = { singleton = true }\r\n[its]\r\ncontext = \"its1\"\r\n[rbac.r]\r\nmode = \"direct\"\r\nrules = [{ verbs = [\"get\"] }]\r\nnamespace = \"\"\"\r\nns\"\"\"\r\n";
    let once = fmt(text);
    let bare_lf = once
        .match_indices('\n')
        .filter(|(i, _)| *i == 0 || once.as_bytes()[i - 1] != b'\r')
        .count();
    assert_eq!(bare_lf, 0, "mixed line endings:\n{once:?}");
    assert!(once.ends_with("\r\n"));
    assert_eq!(fmt(&once), once, "idempotent");
    assert_eq!(
        toml::from_str::<toml::Table>(text).unwrap(),
        toml::from_str::<toml::Table>(&once).unwrap()
    );
    // An LF file stays LF.
    let lf = fmt(&text.replace("\r\n", "\n"));
    assert!(!lf.contains('\r'));
    assert_eq!(lf.replace('\n', "\r\n"), once);
}

/// Line breaks inside a multi-line string are part of its value: converting the file's line
/// endings leaves them alone (found by the fuzz test).
#[test]
fn line_breaks_inside_multi_line_strings_are_values() {
    for text in [
        "[its]\r\ncontext = \"\"\"a\nb\"\"\"\r\n",
        "[its]\ncontext = \"\"\"a\r\nb\"\"\"\n",
        "[its]\r\ncontext = '''a\nb'''\r\nkubeconfig = \"\"\"\"x\"\"\"\"\n",
    ] {
        let once = fmt(text);
        assert_eq!(
            toml::from_str::<toml::Table>(text).unwrap(),
            toml::from_str::<toml::Table>(&once).unwrap(),
            "{text:?} → {once:?}"
        );
        assert_eq!(fmt(&once), once);
    }
}

/// A dotted key inside an inline rule becomes a dotted key of the rule's table: formatting
/// it once is formatting it for good (found by the fuzz test).
#[test]
fn dotted_keys_in_inline_rules_are_formatted_once() {
    for text in [
        "[rbac.r]\nmode = \"direct\"\nrules = [{ verbs = [\"get\",], x.y = [\"a\", \"b\",] }]\n",
        "[rbac.r]\nrules = [\n  { verbs = [], resources.s = [\n    'a',\n], x . y . z = 1 },\n]\n",
        // TOML 1.1: a line break before a value inside an inline table
        "[rbac.r]\nrules = [{ verbs = \n['a', \"b\",] }]\n",
    ] {
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "{once}");
        assert_eq!(
            toml::from_str::<toml::Table>(text).unwrap(),
            toml::from_str::<toml::Table>(&once).unwrap()
        );
    }
}
