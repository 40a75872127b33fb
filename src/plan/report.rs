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
    /// Not attempted, or a registration's wait abandoned: the apply was stopped.
    Interrupted(Stop),
}

/// Why an apply stopped before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT (Ctrl-C) or SIGTERM.
    Signal,
    /// The apply lock was lost (not renewed in time, or taken over): writing on could
    /// interleave with another apply.
    LockLost,
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
    pub interrupted: usize,
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
                Outcome::Interrupted(_) => t.interrupted += 1,
            }
        }
        t
    }

    /// Whether anything was not done (failed, skipped or interrupted; blocked is expected).
    pub fn partially_failed(&self) -> bool {
        self.outcomes.iter().any(|o| {
            matches!(
                o,
                Outcome::Failed(_) | Outcome::Skipped { .. } | Outcome::Interrupted(_)
            )
        })
    }

    /// Why the apply stopped early, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        self.outcomes.iter().find_map(|o| match o {
            Outcome::Interrupted(s) => Some(*s),
            _ => None,
        })
    }
}
