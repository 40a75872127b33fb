//! The plan: the diff's changes as a dependency graph (petgraph), checked for cycles and cut
//! into waves that apply can run in parallel.
//!
//! Dependencies: a namespace before what lives in it, a Role before its RoleBinding, the WDS
//! objects of an RBAC expansion before its BindingPolicy; deletions run the other way round
//! (BindingPolicy, then bindings, then roles).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::diff::{ActionKind, Diff};
use crate::model::{ExpansionName, Kind, Location, ObjectRef};
pub mod report;
pub mod saved;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// Errors building a plan.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// Changes that depend on each other in a circle.
    #[error("the plan has a dependency cycle: {}", cycle_text(members))]
    #[diagnostic(
        code(fleet::plan::cycle),
        help("this is a bug in fleet's dependency rules; please report it with the cycle above")
    )]
    Cycle { members: Vec<ObjectRef> },
}

fn cycle_text(members: &[ObjectRef]) -> String {
    let mut names: Vec<String> = members.iter().map(ToString::to_string).collect();
    names.extend(names.first().cloned());
    names.join(" → ")
}

/// Counts per action, as in Terraform's "Plan: X to add, Y to change, Z to destroy."
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Changes that cannot be made yet (e.g. WEC not registered).
    pub blocked: usize,
    /// WECs to register.
    pub register: usize,
    /// WECs to deregister.
    pub deregister: usize,
}

impl Summary {
    /// Counts one change as Terraform does: a replacement adds and destroys.
    pub fn count(&mut self, action: ActionKind) {
        match action {
            ActionKind::Create => self.add += 1,
            ActionKind::Update => self.change += 1,
            ActionKind::Replace => {
                self.add += 1;
                self.destroy += 1;
            }
            ActionKind::Delete => self.destroy += 1,
            ActionKind::Register => self.register += 1,
            ActionKind::Deregister => self.deregister += 1,
        }
    }
}

/// A plan ready to render or apply.
#[derive(Debug, Clone)]
pub struct Plan {
    pub diff: Diff,
    /// Node weights are indexes into `diff.changes`; an edge `a → b` means a before b.
    pub graph: DiGraph<usize, ()>,
    /// Indexes into `diff.changes`, wave by wave; within a wave, in any order.
    pub waves: Vec<Vec<usize>>,
    pub summary: Summary,
}

impl Plan {
    /// Whether the plan changes anything.
    pub fn has_changes(&self) -> bool {
        !self.diff.changes.is_empty()
    }

    /// The changes that must run before change `i`.
    pub fn dependencies(&self, i: usize) -> Vec<usize> {
        let node = NodeIndex::new(i);
        self.graph
            .edges_directed(node, petgraph::Direction::Incoming)
            .map(|e| self.graph[e.source()])
            .collect()
    }
}

/// Rank of a deletion: lower goes first.
fn delete_rank(kind: Kind) -> Option<u8> {
    match kind {
        Kind::BindingPolicy => Some(0),
        Kind::RoleBinding | Kind::ClusterRoleBinding => Some(1),
        Kind::Role | Kind::ClusterRole => Some(2),
        _ => None,
    }
}

/// Builds the dependency graph of a diff and its waves.
pub fn build(diff: Diff) -> Result<Plan, PlanError> {
    let mut graph: DiGraph<usize, ()> =
        DiGraph::with_capacity(diff.changes.len(), diff.changes.len());
    let by_ref: HashMap<&ObjectRef, usize> = diff
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.object, i))
        .collect();
    for i in 0..diff.changes.len() {
        graph.add_node(i);
    }
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (i, c) in diff.changes.iter().enumerate() {
        if c.kind() == ActionKind::Delete {
            continue;
        }
        // A desired object's dependencies are desired too, never deleted; a ManagedCluster
        // whose record drops objects waits on their deletions.
        for dep in &c.depends_on {
            if let Some(&j) = by_ref.get(dep) {
                edges.insert((j, i));
            }
        }
    }
    // Deletions: BindingPolicy → bindings → roles, within one location and expansion.
    let mut deletes: BTreeMap<(&Location, &ExpansionName), Vec<(u8, usize)>> = BTreeMap::new();
    for (i, c) in diff.changes.iter().enumerate() {
        if let (ActionKind::Delete, Some(rank), Some(e)) =
            (c.kind(), delete_rank(c.object.kind), &c.expansion)
        {
            deletes
                .entry((&c.object.location, e))
                .or_default()
                .push((rank, i));
        }
    }
    for group in deletes.values() {
        for &(ra, a) in group {
            for &(rb, b) in group {
                if ra < rb {
                    edges.insert((a, b));
                }
            }
        }
    }
    for (a, b) in edges {
        graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
    }

    let cycles: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
        .collect();
    if let Some(scc) = cycles.first() {
        let mut members: Vec<ObjectRef> = scc
            .iter()
            .map(|n| diff.changes[graph[*n]].object.clone())
            .collect();
        members.sort();
        return Err(PlanError::Cycle { members });
    }

    let waves = waves(&graph);
    let mut summary = Summary::default();
    for c in &diff.changes {
        if c.blocked.is_some() {
            summary.blocked += 1;
            continue;
        }
        summary.count(c.kind());
    }
    Ok(Plan {
        diff,
        graph,
        waves,
        summary,
    })
}

/// Kahn's algorithm, one layer at a time; each wave sorted for deterministic output.
fn waves(graph: &DiGraph<usize, ()>) -> Vec<Vec<usize>> {
    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|n| {
            graph
                .edges_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut current: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|n| indegree[n.index()] == 0)
        .collect();
    let mut out = Vec::new();
    while !current.is_empty() {
        let mut next = Vec::new();
        for n in &current {
            for e in graph.edges_directed(*n, petgraph::Direction::Outgoing) {
                let t = e.target();
                indegree[t.index()] -= 1;
                if indegree[t.index()] == 0 {
                    next.push(t);
                }
            }
        }
        let mut wave: Vec<usize> = current.iter().map(|n| graph[*n]).collect();
        wave.sort_unstable();
        out.push(wave);
        current = next;
    }
    out
}
