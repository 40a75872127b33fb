//! The Markdown view: a pull-request comment (GitHub-flavoured), in the manner of Atlantis.
//!
//! A title and the closing sentence, what could not be read (prominently: the plan is then
//! incomplete), a summary table, the destroys in a warning block, then one collapsed
//! `<details>` per place holding a ```` ```diff ```` block, whose first column GitHub colours
//! (`+` green, `-` red, `!` orange: Terraform's `~` is written `!` as Atlantis does).
//! Unchanged WECs are only counted. Sections that would push the comment past GitHub's
//! size limit are left out and counted instead.

use super::Header;
use super::layout::{Place, changed_wecs, destroys, object_title, sections};
use super::lines::{Line, Mark, change_lines};
use super::words::{
    action_word, cause_summary, closing_line, object_notes, reason_text, report_noun, short_digest,
    symbol, unchanged_words,
};
use crate::diff::{Action, ActionKind, Change};
use crate::model::text::plural;
use crate::model::{Location, WecName};
use crate::plan::Plan;

/// Budget for the per-place sections, below GitHub's 65,536-character comment limit.
const MAX_CHARS: usize = 60_000;

/// Renders the plan (or drift report) as a GitHub pull-request comment.
pub fn render(plan: &Plan, header: &Header) -> String {
    let d = &plan.diff;
    let s = &plan.summary;
    let mut out = String::new();

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
        let t: Vec<String> = header.target_args().iter().map(|t| code(t)).collect();
        out.push_str(&format!(
            "Targets: {} (other WECs were not compared)\n\n",
            t.join(", ")
        ));
    }
    out.push_str(&format!("**{}**\n\n", closing_line(plan, header)));

    if !d.unreadable.is_empty() {
        let what = report_noun(header.subject);
        out.push_str("> [!CAUTION]\n");
        out.push_str(&format!(
            "> **Incomplete {what}: {} could not be read.** What would change there is unknown — not in sync.\n>\n",
            plural(d.unreadable.len(), "place", "places")
        ));
        for (place, err) in &d.unreadable {
            out.push_str(&format!(
                "> - {}: {}\n",
                code(&place.to_string()),
                escape(&err.to_string())
            ));
            if let Some(help) = err.help() {
                out.push_str(&format!(">   {}\n", escape(&help)));
            }
        }
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

    let destroys = destroys(plan);
    if !destroys.is_empty() {
        out.push_str("> [!WARNING]\n");
        out.push_str(&format!(
            "> **{} will be destroyed:**\n>\n",
            plural(destroys.len(), "object", "objects")
        ));
        for c in destroys {
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
            out.push_str(&format!("> - {what} — {}\n", escape(&why)));
        }
        out.push('\n');
    }

    let mut left_out = 0;
    for section in sections(plan) {
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
        let block = format!(
            "<details><summary>{} — {count}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
            html(&section.place.to_string()),
        );
        if left_out > 0 || out.len() + block.len() > MAX_CHARS {
            left_out += 1;
            continue;
        }
        out.push_str(&block);
    }
    if left_out > 0 {
        out.push_str(&format!(
            "> [!NOTE]\n> {} left out to fit a comment; the JSON plan (`--output json`) has every change.\n\n",
            plural(left_out, "section was", "sections were")
        ));
    }

    let mut lists = Vec::new();
    if !d.unmanaged_wecs.is_empty() {
        lists.push(format!(
            "**Unmanaged WECs** (on the ITS, not in fleet.toml; fleet never touches them): {}",
            names(&d.unmanaged_wecs)
        ));
    }
    if !d.orphaned_wecs.is_empty() {
        lists.push(format!(
            "**Orphaned WECs** (fleet managed them, now gone from fleet.toml; only `--prune` deregisters them): {}",
            names(&d.orphaned_wecs)
        ));
    }
    if !d.unchanged_wecs.is_empty() {
        let what = format!("{} (not shown)", unchanged_words(header.subject));
        lists.push(format!(
            "{} {what}.",
            plural(d.unchanged_wecs.len(), "WEC", "WECs")
        ));
    }
    if !lists.is_empty() {
        out.push_str(&lists.join("<br>\n"));
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
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

fn names(list: &[WecName]) -> String {
    list.iter()
        .map(|n| code(n.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
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
