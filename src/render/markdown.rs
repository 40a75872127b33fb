//! The Markdown view: a pull-request comment (GitHub-flavoured), in the manner of Atlantis.
//!
//! A title and the closing sentence, what could not be read (prominently: the plan is then
//! incomplete), a summary table, the destroys in a warning block, then one collapsed
//! `<details>` per place holding a ```` ```diff ```` block, whose first column GitHub colours
//! (`+` green, `-` red, `!` orange: Terraform's `~` is written `!` as Atlantis does).
//! Unchanged WECs are only counted.
//!
//! The rendering always fits a GitHub comment (65,536 characters), with room to spare for what
//! CI adds around it: when the whole would not, the header and the summary stay, the lists
//! (unreadable places, destroys, WEC names) keep as many entries as fit and say how many more
//! there are, then come as many per-place sections as fit, in order, and a closing note says
//! what was left out and where the whole plan is. Nothing is ever cut inside a code block, a
//! table or a list entry.

use super::layout::{Place, Section, changed_wecs, destroys, object_title, sections};
use super::lines::{Line, Mark, change_lines};
use super::words::{
    action_word, cause_summary, closing_line, object_notes, reason_text, report_noun, short_digest,
    symbol, unchanged_words,
};
use super::{Header, Subject};
use crate::diff::{Action, ActionKind, Change};
use crate::model::text::plural;
use crate::model::{Location, WecName};
use crate::plan::Plan;

/// GitHub's limit on a comment (and on an issue body), in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// What a rendering may use, in characters: GitHub's limit less room for what CI adds (a
/// hidden marker, a link to the run).
pub const MAX_CHARS: usize = 60_000;
/// Kept free, while the destroys and the sections are laid out, for what follows them: the
/// note on what was left out and the lists of WECs (each bounded below).
const TAIL_RESERVE: usize = 4_000;
// CI may add up to 5,000 characters around a rendering: it still fits.
const _: () = assert!(MAX_CHARS + 5_000 < GITHUB_COMMENT_LIMIT);
/// At most this much for the `--target` list…
const TARGETS_BUDGET: usize = 1_000;
/// … for the places that could not be read…
const UNREADABLE_BUDGET: usize = 8_000;
/// … and for each list of WEC names (unmanaged, orphaned).
const NAMES_BUDGET: usize = 1_200;

/// Markdown being written, and its length in characters (what GitHub counts).
#[derive(Default)]
struct Text {
    text: String,
    chars: usize,
}

impl Text {
    fn push_str(&mut self, s: &str) {
        self.chars += chars(s);
        self.text.push_str(s);
    }

    fn push(&mut self, c: char) {
        self.chars += 1;
        self.text.push(c);
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `entries` concatenated, all of them when they fit in `budget` characters; else as many as
/// fit together with `more(n)`, which then ends the text and says how many (`n`) are missing.
/// Returns the text and `n`.
fn fitting(entries: &[String], budget: usize, more: impl Fn(usize) -> String) -> (String, usize) {
    if entries.iter().map(|e| chars(e)).sum::<usize>() <= budget {
        return (entries.concat(), 0);
    }
    let room = budget.saturating_sub(chars(&more(entries.len())));
    let mut used = 0;
    let mut out = String::new();
    let mut taken = 0;
    for e in entries {
        let n = chars(e);
        if used + n > room {
            break;
        }
        used += n;
        out.push_str(e);
        taken += 1;
    }
    let missing = entries.len() - taken;
    out.push_str(&more(missing));
    (out, missing)
}

/// What a shortened rendering left out.
#[derive(Default)]
struct LeftOut {
    /// Per-place sections not shown: WECs, shared places (ITS, WDS), and their changes.
    wecs: usize,
    shared: Vec<String>,
    changes: usize,
    /// Entries of the lists not shown.
    destroys: usize,
    unreadable: usize,
    names: usize,
    targets: usize,
}

impl LeftOut {
    fn any(&self) -> bool {
        self.wecs + self.shared.len() + self.destroys + self.unreadable + self.names + self.targets
            > 0
    }

    /// The closing note: what is missing and where to find all of it.
    fn note(&self, subject: Subject) -> String {
        let mut parts = Vec::new();
        if self.wecs + self.shared.len() > 0 {
            let mut places = self.shared.clone();
            if self.wecs > 0 {
                places.push(plural(self.wecs, "WEC", "WECs"));
            }
            parts.push(format!(
                "{} with {} not shown",
                places.join(" and "),
                plural(self.changes, "change", "changes")
            ));
        }
        for (n, one, many) in [
            (self.destroys, "destroy", "destroys"),
            (self.unreadable, "unreadable place", "unreadable places"),
            (self.names, "WEC name", "WEC names"),
            (self.targets, "target", "targets"),
        ] {
            if n > 0 {
                parts.push(format!("{} not listed", plural(n, one, many)));
            }
        }
        let whole = match subject {
            Subject::Plan => {
                "Every change is in the JSON plan: `fleet show plan.json` renders the saved plan (the CI job's artifact), `fleet plan --output json` prints it"
            }
            Subject::Drift => "Every change is in `fleet drift --output json`",
        };
        format!(
            "> [!NOTE]\n> **Shortened to fit a comment:** {}. {whole}.\n\n",
            parts.join("; ")
        )
    }
}

/// Renders the plan (or drift report) as a GitHub pull-request comment, within
/// [`MAX_CHARS`] characters.
pub fn render(plan: &Plan, header: &Header) -> String {
    let d = &plan.diff;
    let s = &plan.summary;
    let mut out = Text::default();
    let mut left = LeftOut::default();

    out.push_str(&format!("### fleet {}\n\n", header.subject.as_str()));
    let mut its = format!("ITS {}", code(&header.its_context));
    let details: Vec<String> = header
        .its_server
        .iter()
        .map(|s| code(s))
        .chain(header.its_uid.iter().map(|u| format!("uid {}", code(u))))
        .collect();
    if !details.is_empty() {
        its.push_str(&format!(" ({})", details.join(", ")));
    }
    out.push_str(&format!(
        "{its} · fleet.toml {}\n\n",
        code(&short_digest(&header.config_digest))
    ));
    if !header.targets.is_empty() {
        let t: Vec<String> = header
            .target_args()
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}{}", if i == 0 { "" } else { ", " }, code(t)))
            .collect();
        let (t, missing) = fitting(&t, TARGETS_BUDGET, |n| format!(", … and {n} more"));
        left.targets = missing;
        out.push_str(&format!("Targets: {t} (other WECs were not compared)\n\n"));
    }
    out.push_str(&format!("**{}**\n\n", closing_line(plan, header)));

    if !d.unreadable.is_empty() {
        let what = report_noun(header.subject);
        out.push_str("> [!CAUTION]\n");
        out.push_str(&format!(
            "> **Incomplete {what}: {} could not be read.** What would change there is unknown — not in sync.\n>\n",
            plural(d.unreadable.len(), "place", "places")
        ));
        let entries: Vec<String> = d
            .unreadable
            .iter()
            .map(|(place, err)| {
                let mut e = format!(
                    "> - {}: {}\n",
                    code(&place.to_string()),
                    escape(&err.to_string())
                );
                if let Some(help) = err.help() {
                    e.push_str(&format!(">   {}\n", escape(&help)));
                }
                e
            })
            .collect();
        let (list, missing) = fitting(&entries, UNREADABLE_BUDGET, |n| {
            format!("> - … and {n} more (the JSON {what} lists every one)\n")
        });
        left.unreadable = missing;
        out.push_str(&list);
        out.push('\n');
    }

    let unchanged_label = format!("WECs {}", unchanged_words(header.subject));
    out.push_str(&format!(
        "| Add | Change | Destroy | Blocked | WECs changed | {unchanged_label} | Unreadable |\n"
    ));
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} |\n\n",
        s.add,
        s.change,
        s.destroy,
        s.blocked,
        changed_wecs(plan),
        d.unchanged_wecs.len(),
        d.unreadable.len()
    ));

    // The destroys and the sections share what is left before the tail.
    let room = MAX_CHARS - TAIL_RESERVE;
    let destroys = destroys(plan);
    if !destroys.is_empty() {
        let head = format!(
            "> [!WARNING]\n> **{} will be destroyed:**\n>\n",
            plural(destroys.len(), "object", "objects")
        );
        let entries: Vec<String> = destroys.iter().map(|c| destroy_entry(c)).collect();
        let what = report_noun(header.subject);
        let budget = room.saturating_sub(out.chars + chars(&head) + 1);
        let (list, missing) = fitting(&entries, budget, |n| {
            format!("> - … and {n} more (the JSON {what} lists every one)\n")
        });
        left.destroys = missing;
        out.push_str(&head);
        out.push_str(&list);
        out.push('\n');
    }

    for section in sections(plan) {
        // Sections are shown in order: once one is left out, so are all after it.
        let none_left_out = left.wecs == 0 && left.shared.is_empty();
        let block = none_left_out
            .then(|| section_block(plan, &section))
            .filter(|b| out.chars + chars(b) <= room);
        match block {
            Some(b) => out.push_str(&b),
            None => {
                left.changes += section.changes.len();
                match section.place {
                    Place::Wec(_) => left.wecs += 1,
                    ref shared => left.shared.push(format!("the {shared}")),
                }
            }
        }
    }

    let mut lists = Vec::new();
    let mut names_list = |list: &[WecName]| {
        let entries: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}{}", if i == 0 { "" } else { ", " }, code(n.as_str())))
            .collect();
        let (text, missing) = fitting(&entries, NAMES_BUDGET, |n| format!(", … and {n} more"));
        left.names += missing;
        text
    };
    if !d.unmanaged_wecs.is_empty() {
        lists.push(format!(
            "**Unmanaged WECs** (on the ITS, not in fleet.toml; fleet never touches them): {}",
            names_list(&d.unmanaged_wecs)
        ));
    }
    if !d.orphaned_wecs.is_empty() {
        lists.push(format!(
            "**Orphaned WECs** (fleet managed them, now gone from fleet.toml; only `--prune` deregisters them): {}",
            names_list(&d.orphaned_wecs)
        ));
    }
    if !d.unchanged_wecs.is_empty() {
        let what = format!("{} (not shown)", unchanged_words(header.subject));
        lists.push(format!(
            "{} {what}.",
            plural(d.unchanged_wecs.len(), "WEC", "WECs")
        ));
    }
    if left.any() {
        out.push_str(&left.note(header.subject));
    }
    if !lists.is_empty() {
        out.push_str(&lists.join("<br>\n"));
        out.push('\n');
    }
    let mut out = out.text;
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One line of the destroy warning.
fn destroy_entry(c: &Change) -> String {
    let why = match (c.reason.as_ref().map(reason_text), c.kind()) {
        (Some(n), ActionKind::Replace) => format!("replaced: {n}"),
        (None, ActionKind::Replace) => "replaced".to_owned(),
        (Some(n), _) => n,
        (None, _) => "no longer in fleet.toml".to_owned(),
    };
    let what = match &c.action {
        Action::Deregister(d) => {
            format!("deregistration of {}", code(&format!("wec/{}", d.wec)))
        }
        _ => format!(
            "{} on {}",
            code(&c.object.display_name()),
            location(&c.object.location)
        ),
    };
    format!("> - {what} — {}\n", escape(&why))
}

/// One place's collapsed section: its changes in a ```` ```diff ```` block.
fn section_block(plan: &Plan, section: &Section<'_>) -> String {
    let d = &plan.diff;
    let blocked = section
        .changes
        .iter()
        .filter(|&&i| d.changes[i].blocked.is_some())
        .count();
    let mut count = plural(section.changes.len(), "change", "changes");
    if blocked > 0 {
        count.push_str(&format!(", {blocked} blocked"));
    }
    let mut body = String::new();
    for &i in &section.changes {
        object(&mut body, &d.changes[i], &section.place);
    }
    let fence = fence(&body);
    format!(
        "<details><summary>{} — {count}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
        html(&section.place.to_string()),
    )
}

/// One object in a ```` ```diff ```` block: its header line, notes, then its fields.
fn object(out: &mut String, c: &Change, place: &Place<'_>) {
    let symbol = match c.kind() {
        ActionKind::Update => "!",
        a => symbol(a),
    };
    let mut what = format!("{}; {}", action_word(c.kind()), cause_summary(c));
    if c.blocked.is_some() {
        what.push_str("; blocked");
    }
    out.push_str(&format!("{symbol} {} — {what}\n", object_title(c, place)));
    for note in object_notes(c) {
        out.push_str(&format!("#     {}\n", note.text));
    }
    for line in change_lines(c) {
        field_line(out, &line);
    }
}

fn field_line(out: &mut String, l: &Line) {
    let marker = match l.mark {
        Mark::Add => '+',
        Mark::Remove => '-',
        Mark::Change => '!',
        Mark::Same => ' ',
    };
    let mut line = format!("{marker}     {}{}", "    ".repeat(l.depth), l.text);
    if let Some(n) = &l.note {
        line.push_str(&format!("  # {n}"));
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// A code fence longer than any run of backticks in `body`.
pub(super) fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// Inline code that survives backticks in the text.
fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Text with Markdown's inline syntax characters escaped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#'
        ) {
            out.push('\\');
        }
        if ch == '\n' {
            out.push(' ');
            continue;
        }
        out.push(ch);
    }
    out
}

/// Text for inside an HTML element.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `WDS`, `ITS` or `` `wec/NAME` ``.
fn location(l: &Location) -> String {
    match l {
        Location::Its => "ITS".into(),
        Location::Wds => "WDS".into(),
        Location::Wec(_) => code(&l.to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! Plans of 5,000 WECs (the size `tests/bench/plan.rs` measures) always fit a comment.

    use std::fmt::Write as _;
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::config;
    use crate::desired::DesiredState;
    use crate::diff::fixtures::{entry, label_fields, managed_cluster, read_failure};
    use crate::diff::{DiffOptions, diff};
    use crate::model::vocab::{MANAGED_BY, MANAGER, RBAC_LABEL};
    use crate::model::{Kind, ObservedFleet};
    use crate::render::words::closing_line;

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
        o.insert_list(&Location::Its, Kind::ManagedCluster, mcs);
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
        o.insert_list(&Location::Wds, Kind::ClusterRole, roles);
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
            if !md.contains(&format!(
                "<details><summary>{} — ",
                html(&s.place.to_string())
            )) {
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
