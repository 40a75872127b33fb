//! What an apply did to a plan: one [`Outcome`] per change, in plan order. Plain data, filled
//! by `apply`; the views (human progress and summary, versioned JSON) are in `render`.

use crate::diff::{Blocked, Change};
use crate::model::Failure;
use crate::plan::Summary;

/// What happened to one change.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Written.
    Done,
    /// The API refused it, the cluster could not be reached, or a wait timed out.
    Failed(Failure),
    /// Not attempted: the change with this index, which it depends on, was not applied.
    Skipped { dependency: usize },
    /// Not attempted: the plan marked it blocked.
    Blocked(Blocked),
}

impl Outcome {
    /// Whether the change was made.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done)
    }
}

/// Counts of an apply's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// What was written, counted as the plan counts (a replacement adds and destroys).
    pub done: Summary,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
}

/// The result of an apply: one outcome per change, in plan order.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub outcomes: Vec<Outcome>,
}

impl ApplyReport {
    /// Counts the outcomes of `changes` (the plan's, in the same order).
    pub fn tally(&self, changes: &[Change]) -> Tally {
        let mut t = Tally::default();
        for (c, o) in changes.iter().zip(&self.outcomes) {
            match o {
                Outcome::Done => t.done.count(c.kind()),
                Outcome::Failed(_) => t.failed += 1,
                Outcome::Skipped { .. } => t.skipped += 1,
                Outcome::Blocked(_) => t.blocked += 1,
            }
        }
        t
    }

    /// Whether anything was not done (failed or skipped; blocked is expected).
    pub fn partially_failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Failed(_) | Outcome::Skipped { .. }))
    }
}
