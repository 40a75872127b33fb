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
    action_word, cause_summary, closing_line, delivery_line, delivery_summary, object_notes,
    reason_text, report_noun, short_digest, symbol, unchanged_words,
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
pub(super) fn fitting(
    entries: &[String],
    budget: usize,
    more: impl Fn(usize) -> String,
) -> (String, usize) {
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
    if !d.deliveries.is_empty() {
        let undelivered: Vec<String> = d
            .deliveries
            .iter()
            .filter(|x| !x.delivered())
            .map(|x| format!("`{}`", delivery_line(x)))
            .collect();
        let (text, missing) = fitting(&undelivered, NAMES_BUDGET, |n| format!(", … and {n} more"));
        left.names += missing;
        let summary = delivery_summary(&d.deliveries, header.subject);
        lists.push(if undelivered.is_empty() {
            format!("**{summary}**")
        } else {
            format!("**{summary}** {text}")
        });
    }
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
