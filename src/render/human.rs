//! The human view: a Terraform-like plan for a terminal.
//!
//! A header naming the ITS and the `fleet.toml` digest, a legend of the symbols used, one
//! section per place (shared ITS and WDS objects, then each WEC), each object with its
//! symbol (`+` create, `~` update, `-/+` replace, `-` destroy), its cause and notes, each
//! field as `path: old → new`, `+ path = new` or `- path = old` (long values as indented
//! JSON, line-diffed). Then what could not be read, unmanaged, orphaned and unchanged WECs,
//! the destroys repeated, and Terraform's closing line.
//!
//! With `color = false` the text contains no escape codes at all.

use owo_colors::{OwoColorize, Style};

use super::layout::{Place, destroys, legend, object_title, object_with_location, sections};
use super::lines::{Line, Mark, change_lines};
use super::words::{
    cause_summary, closing_line, delivery_line, delivery_summary, incomplete_warning,
    its_description, object_notes, short_digest, symbol, unchanged_words,
};
use super::{Header, Subject};
use crate::diff::{ActionKind, Change};
use crate::model::text::plural;
use crate::plan::Plan;

/// Unchanged WECs named before the rest are only counted.
const UNCHANGED_SHOWN: usize = 10;

/// Paints text when colours are on; the apply view shares it.
pub(crate) struct Painter {
    pub color: bool,
}

impl Painter {
    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn action(&self, a: ActionKind) -> Style {
        match a {
            ActionKind::Create | ActionKind::Register => Style::new().green(),
            ActionKind::Update => Style::new().yellow(),
            ActionKind::Replace => Style::new().magenta(),
            ActionKind::Delete | ActionKind::Deregister => Style::new().red(),
        }
    }

    fn mark(&self, m: Mark) -> Style {
        match m {
            Mark::Add => Style::new().green(),
            Mark::Remove => Style::new().red(),
            Mark::Change => Style::new().yellow(),
            Mark::Same => Style::new().dimmed(),
        }
    }
}

fn mark_symbol(m: Mark) -> &'static str {
    match m {
        Mark::Add => "+",
        Mark::Remove => "-",
        Mark::Change => "~",
        Mark::Same => " ",
    }
}

/// Renders the plan (or drift report) for a terminal.
pub fn render(plan: &Plan, header: &Header, color: bool) -> String {
    let p = Painter { color };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut out = String::new();

    out.push_str(&p.paint(
        &format!(
            "fleet {} — {}, fleet.toml {}",
            header.subject.as_str(),
            its_description(header),
            short_digest(&header.config_digest)
        ),
        bold,
    ));
    out.push('\n');
    if !header.targets.is_empty() {
        out.push_str(&p.paint(
            &format!(
                "Targets: {} (other WECs were not compared)",
                header.target_args().join(", ")
            ),
            Style::new().yellow(),
        ));
        out.push('\n');
    }

    let legend = legend(plan);
    if !legend.is_empty() {
        let intro = match header.subject {
            Subject::Plan => "Symbols:",
            Subject::Drift => "Symbols (what apply would do to restore fleet.toml):",
        };
        let items: Vec<String> = legend
            .iter()
            .map(|(a, text)| format!("{} {text}", p.paint(symbol(*a), p.action(*a))))
            .collect();
        out.push('\n');
        out.push_str(&format!("{intro} {}\n", items.join(", ")));
    }

    for section in sections(plan) {
        out.push('\n');
        let blocked = section
            .changes
            .iter()
            .filter(|&&i| plan.diff.changes[i].blocked.is_some())
            .count();
        let mut count = plural(section.changes.len(), "change", "changes");
        if blocked > 0 {
            count.push_str(&format!(", {blocked} blocked"));
        }
        out.push_str(&format!(
            "{} {}\n",
            p.paint(&section.place.to_string(), bold),
            p.paint(&format!("— {count}"), dim)
        ));
        for &i in &section.changes {
            object(&mut out, &p, &plan.diff.changes[i], &section.place);
        }
    }

    footer(&mut out, &p, plan, header);
    out
}

fn object(out: &mut String, p: &Painter, c: &Change, place: &Place<'_>) {
    let style = p.action(c.kind());
    let mut cause = cause_summary(c);
    if c.blocked.is_some() {
        cause.push_str(", blocked");
    }
    out.push_str(&format!(
        "  {} {} {}\n",
        p.paint(symbol(c.kind()), style),
        p.paint(&object_title(c, place), Style::new().bold()),
        p.paint(&format!("— {cause}"), Style::new().dimmed()),
    ));
    for note in object_notes(c) {
        let s = if note.warning {
            Style::new().yellow()
        } else {
            Style::new().dimmed()
        };
        out.push_str(&format!(
            "      {}\n",
            p.paint(&format!("# {}", note.text), s)
        ));
    }
    for line in change_lines(c) {
        field_line(out, p, &line);
    }
}

fn field_line(out: &mut String, p: &Painter, l: &Line) {
    let indent = "      ".to_owned() + &"    ".repeat(l.depth);
    // Lines inside a value (depth > 0) are coloured whole, like a coloured diff; a value
    // added or removed as a whole shows its mark once, on the field line.
    let text = if l.depth > 0 {
        p.paint(&l.text, p.mark(l.mark))
    } else {
        l.text.clone()
    };
    let sym = if l.continued || l.mark == Mark::Same {
        " ".to_owned()
    } else {
        p.paint(mark_symbol(l.mark), p.mark(l.mark))
    };
    let mut line = format!("{indent}{sym} {text}");
    if let Some(n) = &l.note {
        line.push_str(&format!(
            "  {}",
            p.paint(&format!("# {n}"), Style::new().dimmed())
        ));
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn footer(out: &mut String, p: &Painter, plan: &Plan, header: &Header) {
    let d = &plan.diff;
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut block = String::new();

    if !d.unreadable.is_empty() {
        block.push_str(&p.paint(
            "Could not be read (unknown — not in sync):",
            Style::new().red().bold(),
        ));
        block.push('\n');
        for (place, err) in &d.unreadable {
            block.push_str(&format!(
                "  {} {place}: {err}\n",
                p.paint("?", Style::new().red())
            ));
            if let Some(help) = err.help() {
                block.push_str(&p.paint(&format!("      help: {help}"), dim));
                block.push('\n');
            }
        }
    }
    if !d.unmanaged_wecs.is_empty() {
        block.push_str(&format!(
            "{} {}\n",
            p.paint(
                "Unmanaged WECs (on the ITS, not in fleet.toml; fleet never touches them):",
                bold
            ),
            names(&d.unmanaged_wecs)
        ));
    }
    if !d.orphaned_wecs.is_empty() {
        block.push_str(&format!(
            "{} {}\n",
            p.paint(
                "Orphaned WECs (fleet managed them, now gone from fleet.toml; only --prune deregisters them):",
                bold
            ),
            names(&d.orphaned_wecs)
        ));
    }
    if !d.unchanged_wecs.is_empty() {
        let n = d.unchanged_wecs.len();
        let mut shown = names(&d.unchanged_wecs[..n.min(UNCHANGED_SHOWN)]);
        if n > UNCHANGED_SHOWN {
            shown.push_str(&format!(" and {} more", n - UNCHANGED_SHOWN));
        }
        let what = match header.subject {
            Subject::Plan => "Unchanged WECs".to_owned(),
            s => format!("WECs {}", unchanged_words(s)),
        };
        block.push_str(&p.paint(&format!("{what} ({n}): {shown}"), dim));
        block.push('\n');
    }
    if !d.deliveries.is_empty() {
        let undelivered: Vec<_> = d.deliveries.iter().filter(|x| !x.delivered()).collect();
        block.push_str(&p.paint(&delivery_summary(&d.deliveries, header.subject), bold));
        block.push('\n');
        for x in undelivered {
            block.push_str(&format!(
                "  {} {}\n",
                p.paint("!", Style::new().red()),
                delivery_line(x)
            ));
        }
    }
    if !block.is_empty() {
        out.push('\n');
        out.push_str(&block);
    }

    let destroys = destroys(plan);
    if !destroys.is_empty() {
        out.push('\n');
        out.push_str(&p.paint("Destroys:", Style::new().red().bold()));
        out.push('\n');
        for c in destroys {
            let what = object_with_location(c);
            let line = match c.kind() {
                ActionKind::Replace => format!("{what} (replaced)"),
                _ => what,
            };
            out.push_str(&format!(
                "  {} {line}\n",
                p.paint(symbol(c.kind()), p.action(c.kind()))
            ));
        }
    }

    out.push('\n');
    if let Some(w) = incomplete_warning(plan, header) {
        out.push_str(&p.paint(&w, Style::new().red().bold()));
        out.push('\n');
    }
    out.push_str(&p.paint(&closing_line(plan, header), bold));
    out.push('\n');
}

/// `c1, c2, c3`.
pub(crate) fn names(wecs: &[crate::model::WecName]) -> String {
    wecs.iter()
        .map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
