//! The human views of an apply: a progress line per change as it finishes (stderr), and the
//! closing report (stdout) — Terraform's "Apply complete!" or, after a partial failure, what
//! failed, what was skipped and why, and what could not be read. The JSON apply report is in
//! [`json`](super::json).

use owo_colors::Style;

use super::human::Painter;
use super::layout::subject;
use super::words::{action_done, blocked_text, stop_text};
use crate::diff::{Action, Change};
use crate::model::text::plural;
use crate::plan::Plan;
use crate::plan::report::{ApplyReport, Outcome};

/// Progress lines, numbered over the changes that will be attempted.
pub struct Progress {
    painter: Painter,
    done: usize,
    total: usize,
}

impl Progress {
    /// Progress over `plan`'s changes that are not blocked.
    pub fn new(plan: &Plan, color: bool) -> Self {
        Progress {
            painter: Painter { color },
            done: 0,
            total: plan
                .diff
                .changes
                .iter()
                .filter(|c| c.blocked.is_none())
                .count(),
        }
    }

    /// The line for one finished change (no trailing newline).
    pub fn line(&mut self, plan: &Plan, index: usize, outcome: &Outcome) -> String {
        let p = &self.painter;
        let c = &plan.diff.changes[index];
        match outcome {
            Outcome::Done => {
                self.done += 1;
                let what = match &c.action {
                    Action::Register(r) => {
                        format!("wec/{} registered: Joined and Available", r.wec)
                    }
                    Action::Deregister(d) => format!("wec/{} deregistered", d.wec),
                    _ => format!("{} {}", c.object, action_done(c.kind())),
                };
                format!(
                    "[{}/{}] {} {what}",
                    self.done,
                    self.total,
                    p.paint("✓", Style::new().green()),
                )
            }
            Outcome::Failed(e) => format!(
                "{} {} failed: {}",
                p.paint("✗", Style::new().red()),
                subject(c),
                e
            ),
            Outcome::Skipped { dependency } => format!(
                "{} {} skipped: {}",
                p.paint("↷", Style::new().yellow()),
                subject(c),
                skipped_text(plan, *dependency)
            ),
            Outcome::Blocked(b) => format!(
                "{} {} blocked: {}",
                p.paint("⊘", Style::new().dimmed()),
                subject(c),
                blocked_text(*b, c)
            ),
            Outcome::Interrupted(why) => format!(
                "{} {} not applied: {}",
                p.paint("■", Style::new().yellow()),
                subject(c),
                stop_text(*why)
            ),
        }
    }
}

fn skipped_text(plan: &Plan, dependency: usize) -> String {
    format!(
        "depends on {}, which was not applied",
        subject(&plan.diff.changes[dependency])
    )
}

/// The closing report of an apply.
pub fn summary(plan: &Plan, report: &ApplyReport, color: bool) -> String {
    let p = Painter { color };
    let changes: &[Change] = &plan.diff.changes;
    let t = report.tally(changes);
    let unread = &plan.diff.unreadable;
    let (add, change, destroy) = (t.done.add, t.done.change, t.done.destroy);
    let mut wecs = String::new();
    if t.done.register > 0 {
        wecs.push_str(&format!(
            "{} registered. ",
            plural(t.done.register, "WEC", "WECs")
        ));
    }
    if t.done.deregister > 0 {
        wecs.push_str(&format!(
            "{} deregistered. ",
            plural(t.done.deregister, "WEC", "WECs")
        ));
    }
    let mut out = String::from("\n");
    if !report.partially_failed() && unread.is_empty() {
        out.push_str(&p.paint(
            &format!(
                "Apply complete! {wecs}Resources: {add} added, {change} changed, {destroy} destroyed."
            ),
            Style::new().green().bold(),
        ));
        out.push('\n');
        if t.blocked > 0 {
            out.push_str(&format!(
                "{} stay blocked until their WECs are registered.\n",
                plural(t.blocked, "change", "changes")
            ));
        }
        return out;
    }
    out.push_str(&p.paint(
        &format!(
            "{}: {wecs}{add} added, {change} changed, {destroy} destroyed; {} failed, {} skipped, {} blocked{}.",
            match report.stopped() {
                Some(why) => format!("Apply stopped ({})", stop_text(why)),
                None => "Apply partially failed".to_owned(),
            },
            t.failed,
            t.skipped,
            t.blocked,
            if t.interrupted > 0 {
                format!(", {} not applied", t.interrupted)
            } else {
                String::new()
            }
        ),
        Style::new().red().bold(),
    ));
    out.push('\n');
    for (c, o) in changes.iter().zip(&report.outcomes) {
        match o {
            Outcome::Failed(e) => {
                out.push_str(&format!("  ✗ {}: {}\n", subject(c), e));
                if let Some(help) = e.help() {
                    out.push_str(&format!("      help: {help}\n"));
                }
            }
            Outcome::Skipped { dependency } => {
                out.push_str(&format!(
                    "  ↷ {}: {}\n",
                    subject(c),
                    skipped_text(plan, *dependency)
                ));
            }
            Outcome::Done | Outcome::Blocked(_) | Outcome::Interrupted(_) => {}
        }
    }
    for (place, why) in unread {
        out.push_str(&format!(
            "  ? {place} could not be read, so nothing was planned or written there: {why}\n"
        ));
        if let Some(help) = why.help() {
            out.push_str(&format!("      help: {help}\n"));
        }
    }
    out.push_str(
        "Nothing that succeeded is rolled back; run `fleet apply` again once the cause is fixed.\n",
    );
    out
}

/// A plain progress line for logs (no terminal): `apply: 120/1000 (12%), 24.0/s, 2 failed,
/// ETA 37s`; once done, `apply: 1000/1000 in 41s, 2 failed`.
pub fn plain_progress(
    what: &str,
    done: usize,
    total: usize,
    failed: usize,
    elapsed: std::time::Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let failed = if failed > 0 {
        format!(", {failed} failed")
    } else {
        String::new()
    };
    if done >= total {
        return format!("{what}: {done}/{total} in {:.1}s{failed}", secs);
    }
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let eta = if rate > 0.0 {
        let left = (total - done) as f64 / rate;
        format!(
            ", ETA {}",
            humantime::format_duration(std::time::Duration::from_secs(left.ceil() as u64))
        )
    } else {
        String::new()
    };
    format!(
        "{what}: {done}/{total} ({}%), {rate:.1}/s{failed}{eta}",
        done * 100 / total.max(1)
    )
}
