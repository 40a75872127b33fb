//! `fleet apply`: plan, show, approve, re-plan right before writing, execute in waves, report
//! every object's outcome.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use owo_colors::OwoColorize;

use crate::apply::{self, Outcome};
use crate::cli::pipeline::{self, Selection};
use crate::cli::{Colors, Exit, GlobalArgs};
use crate::diff::Action;
use crate::kube::Clients;
use crate::observe::ObservedFleet;
use crate::plan::Plan;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Apply without asking (required when there is no terminal).
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub selection: Selection,
}

/// What the user approved: each change's object, action, fields and blocked state (not the
/// resourceVersion, which controllers bump all the time).
fn fingerprint(plan: &Plan) -> String {
    let v: Vec<_> = plan
        .diff
        .changes
        .iter()
        .map(|c| serde_json::json!([c.r, c.action, c.fields, c.blocked]))
        .collect();
    serde_json::to_string(&v).expect("json")
}

fn confirm() -> miette::Result<bool> {
    eprint!(
        "\nDo you want to perform these actions?\n  fleet will make exactly the changes above. Only 'yes' will be accepted.\n\n  Enter a value: "
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| miette::miette!("cannot read the answer: {e}"))?;
    Ok(line.trim() == "yes")
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
    }
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.auto_approve && !interactive {
        miette::bail!(
            help = "run `fleet plan` to review, then `fleet apply --auto-approve` in pipelines",
            "apply needs --auto-approve when there is no terminal to ask for approval"
        );
    }
    let loaded = pipeline::load(global)?;
    let targets = pipeline::check_targets(&loaded, &args.selection)?;
    let clients = Clients::new(global.kubeconfig.clone());
    let (mut plan, mut observed) =
        pipeline::plan(&loaded, &clients, &args.selection, &targets).await?;
    let show = |plan: &Plan, observed: &ObservedFleet| {
        let header = pipeline::header(&loaded, observed, &targets, false);
        print!(
            "{}",
            render::render(render::Format::Human, plan, &header, colors.stdout)
        );
    };
    show(&plan, &observed);

    if !args.auto_approve {
        if !plan.has_changes() {
            return Ok(if observed.is_incomplete() {
                Exit::Incomplete
            } else {
                Exit::Success
            }
            .into());
        }
        if !confirm()? {
            eprintln!("Apply cancelled.");
            return Ok(Exit::Error.into());
        }
        // Re-plan right before writing: the clusters may have moved while we waited.
        let approved = fingerprint(&plan);
        (plan, observed) = pipeline::plan(&loaded, &clients, &args.selection, &targets).await?;
        if fingerprint(&plan) != approved {
            show(&plan, &observed);
            eprintln!(
                "\nThe live state changed while waiting for approval; the plan above is the new one. Nothing was written."
            );
            return Ok(Exit::StalePlan.into());
        }
    }

    let changes = &plan.diff.changes;
    let total = changes.iter().filter(|c| c.blocked.is_none()).count();
    let mut done = 0usize;
    let mark = |m: &str, paint: fn(&str) -> String| {
        if colors.stderr {
            paint(m)
        } else {
            m.to_owned()
        }
    };
    let report = apply::execute(
        &plan,
        &loaded.fleet,
        &clients,
        usize::from(args.selection.parallelism),
        |i, outcome| {
            let c = &changes[i];
            let line = match outcome {
                Outcome::Done => {
                    done += 1;
                    format!(
                        "[{done}/{total}] {} {} {}",
                        mark("✓", |s| s.green().to_string()),
                        c.r,
                        verb(c.action)
                    )
                }
                Outcome::Failed(e) => {
                    format!("{} {} failed: {e}", mark("✗", |s| s.red().to_string()), c.r)
                }
                Outcome::Skipped(why) => format!(
                    "{} {} skipped: {why}",
                    mark("↷", |s| s.yellow().to_string()),
                    c.r
                ),
                Outcome::Blocked(why) => format!(
                    "{} {} blocked: {why}",
                    mark("⊘", |s| s.dimmed().to_string()),
                    c.r
                ),
            };
            eprintln!("{line}");
        },
    )
    .await;

    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for (c, o) in changes.iter().zip(&report.outcomes) {
        if o.is_done() {
            match c.action {
                Action::Create => added += 1,
                Action::Update => changed += 1,
                Action::Replace => {
                    added += 1;
                    destroyed += 1;
                }
                Action::Delete => destroyed += 1,
            }
        }
    }
    let (_, failed, skipped, blocked) = report.counts();
    let unread = &plan.diff.unreadable;
    println!();
    if !report.partially_failed() && unread.is_empty() {
        println!(
            "Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
        );
        if blocked > 0 {
            println!("{blocked} change(s) stay blocked until their WECs are registered.");
        }
        return Ok(Exit::Success.into());
    }
    println!(
        "Apply partially failed: {added} added, {changed} changed, {destroyed} destroyed; {failed} failed, {skipped} skipped, {blocked} blocked."
    );
    for (c, o) in changes.iter().zip(&report.outcomes) {
        match o {
            Outcome::Failed(e) => println!("  ✗ {}: {e}", c.r),
            Outcome::Skipped(why) => println!("  ↷ {}: {why}", c.r),
            _ => {}
        }
    }
    for (place, why) in unread {
        println!("  ? {place} could not be read, so nothing was planned or written there: {why}");
    }
    println!(
        "Nothing that succeeded is rolled back; run `fleet apply` again once the cause is fixed."
    );
    Ok(Exit::PartialFailure.into())
}
