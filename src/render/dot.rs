//! The DOT view (`fleet graph --format dot`): the plan's dependency graph for Graphviz.
//!
//! One node per change, labelled `symbol Kind ns/name @location` and coloured by action,
//! grouped in one box per place (ITS, WDS, each WEC); blocked changes are dashed. An edge
//! `a -> b` means a is applied before b. Node ids are the change's index in the plan (and in
//! the JSON plan's `changes`), so the output is deterministic.
//!
//! `dot -Tsvg plan.dot > plan.svg` draws it.

use petgraph::visit::EdgeRef;

use super::Header;
use super::layout::sections;
use super::words::{short_digest, symbol};
use crate::diff::{Action, ActionKind};
use crate::plan::Plan;

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn color(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "darkgreen",
        ActionKind::Update => "darkgoldenrod",
        ActionKind::Replace => "magenta3",
        ActionKind::Delete | ActionKind::Deregister => "red3",
        ActionKind::Register => "blue3",
    }
}

/// Renders the plan's dependency graph in Graphviz DOT.
pub fn render(plan: &Plan, header: &Header) -> String {
    let mut out = String::new();
    let title = format!(
        "fleet {} — ITS {}, fleet.toml {}",
        header.subject.as_str(),
        header.its_context,
        short_digest(&header.config_digest)
    );
    out.push_str("digraph fleet {\n");
    out.push_str(&format!(
        "  graph [label={}, labelloc=t, rankdir=LR, fontname=\"monospace\"];\n",
        quote(&title)
    ));
    out.push_str("  node [shape=box, fontname=\"monospace\"];\n");
    for (k, section) in sections(plan).iter().enumerate() {
        out.push_str(&format!("  subgraph cluster_{k} {{\n"));
        out.push_str(&format!(
            "    label={};\n",
            quote(&section.place.to_string())
        ));
        for &i in &section.changes {
            let c = &plan.diff.changes[i];
            let mut label = match &c.action {
                Action::Register(r) => format!("{} registration @wec/{}", symbol(c.kind()), r.wec),
                Action::Deregister(d) => {
                    format!("{} deregistration @wec/{}", symbol(c.kind()), d.wec)
                }
                _ => format!(
                    "{} {} @{}",
                    symbol(c.kind()),
                    c.object.display_name(),
                    c.object.location
                ),
            };
            let color = color(c.kind());
            let mut attrs = format!("color={color}, fontcolor={color}");
            if c.blocked.is_some() {
                label.push_str("\n(blocked)");
                attrs.push_str(", style=dashed");
            }
            out.push_str(&format!("    n{i} [label={}, {attrs}];\n", quote(&label)));
        }
        out.push_str("  }\n");
    }
    let mut edges: Vec<(usize, usize)> = plan
        .graph
        .edge_references()
        .map(|e| (plan.graph[e.source()], plan.graph[e.target()]))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    for (a, b) in edges {
        out.push_str(&format!("  n{a} -> n{b};\n"));
    }
    out.push_str("}\n");
    out
}
