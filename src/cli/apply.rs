//! `fleet apply [PLANFILE]`: take the lock, plan (or check the saved plan still holds),
//! approve, execute in waves, report every object's outcome (human or JSON, both views in
//! `render`). SIGINT/SIGTERM stop it cleanly: nothing new starts, the lock is released and
//! the report says what was done.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::ValueEnum;
use tokio::sync::watch;

use crate::apply::lock::{self, Lock, LockError, LockId, LockInfo};
use crate::apply::{self, Outcome, Stop};
use crate::cli::pipeline::{Planned, Run, Selection};
use crate::cli::progress::{Meter, ProgressMode};
use crate::cli::{Colors, Exit, GlobalArgs, out, show};
use crate::diff::{ActionKind, Blocked, FieldChange};
use crate::kube::Cluster;
use crate::model::ObjectRef;
use crate::plan::Plan;
use crate::plan::saved::{self, SavedPlan};
use crate::render::{self, Format, Subject};

/// `apply --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyOutput {
    /// The plan, progress and a closing summary.
    Human,
    /// A versioned JSON apply report on stdout (progress stays on stderr); needs
    /// --auto-approve or a PLANFILE.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved by `fleet plan --out`: applied exactly as reviewed (passing it is the
    /// approval). Its targets and --prune are the plan's own.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["targets", "prune", "max_deregister"])]
    pub planfile: Option<PathBuf>,
    /// Apply without asking (required when there is no terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Output format of the apply report.
    #[arg(long, value_enum, default_value_t = ApplyOutput::Human)]
    pub output: ApplyOutput,
    /// How long one WEC's registration (join, CSR, accept, Joined and Available) or
    /// deregistration may take before it fails and only its own work is skipped.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = humantime::parse_duration)]
    pub wait_timeout: Duration,
    /// Print every object's outcome as it finishes (failures are always printed).
    #[arg(short, long)]
    pub verbose: bool,
    /// How long to wait while another apply holds the lock on the ITS before giving up
    /// (exit 4).
    #[arg(long, value_name = "DUR", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
    #[command(flatten)]
    pub selection: Selection,
}

/// What the user approved: each change's object, action, fields and blocked state (not the
/// resourceVersion, which controllers bump all the time).
fn approved(plan: &Plan) -> Vec<(&ObjectRef, ActionKind, &[FieldChange], Option<Blocked>)> {
    plan.diff
        .changes
        .iter()
        .map(|c| (&c.object, c.kind(), c.fields.as_slice(), c.blocked))
        .collect()
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

/// The lock while it is held, for the signal handler's last-resort release.
type Held = Arc<Mutex<Option<(Cluster, LockId)>>>;

/// SIGINT/SIGTERM before the lock is taken: exit, nothing was written. First one after: stop
/// starting changes. Second: release the lock and exit at once.
fn handle_signals(stopper: Arc<watch::Sender<Option<Stop>>>, held: Held) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return,
            };
        let mut signals = 0;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            signals += 1;
            let current = held.lock().expect("not poisoned").clone();
            if current.is_none() {
                eprintln!("\nInterrupted: nothing was written.");
                std::process::exit(Exit::Error as i32);
            }
            if signals == 1 {
                eprintln!(
                    "\nInterrupted: starting nothing new, finishing the writes in flight (interrupt again to abandon them)."
                );
                lock::stop(&stopper, Stop::Signal);
                continue;
            }
            eprintln!(
                "\nInterrupted again: abandoning the writes in flight; run `fleet apply` again to finish."
            );
            if let Some((its, id)) = current {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), lock::release(&its, &id)).await;
            }
            std::process::exit(Exit::PartialFailure as i32);
        }
    });
}

/// One apply: what every step needs.
struct Session<'a> {
    run: Run,
    args: &'a Args,
    json: bool,
    colors: Colors,
    stop: apply::StopReceiver,
    stopper: Arc<watch::Sender<Option<Stop>>>,
    held: Held,
    lock: Option<Lock>,
    progress: ProgressMode,
}

impl Session<'_> {
    /// Takes the apply lock on the ITS; `Err(exit)` when another apply holds it.
    async fn take_lock(&mut self) -> miette::Result<Result<(), ExitCode>> {
        let timeout = self.args.lock_timeout;
        let its = self
            .run
            .clients
            .get(&self.run.loaded.fleet.its.access)
            .await?;
        let info = LockInfo::for_this_run(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        let acquired = Lock::acquire(its.clone(), info, timeout, self.stopper.clone(), |holder| {
            eprintln!(
                "Waiting up to {} for the apply lock, held by {holder}…",
                humantime::format_duration(timeout)
            );
        })
        .await;
        match acquired {
            Ok(lock) => {
                tracing::info!("holding the apply lock `{}`", lock.id());
                *self.held.lock().expect("not poisoned") = Some((its, lock.id().clone()));
                self.lock = Some(lock);
                Ok(Ok(()))
            }
            Err(e @ LockError::Held { .. }) => {
                eprintln!("{:?}", miette::Report::new(e));
                Ok(Err(Exit::Locked.into()))
            }
            // The ITS cannot be reached: nothing could be read, so nothing was planned.
            Err(LockError::Kube(e)) if !e.is_input_error() => {
                eprintln!("{:?}", miette::Report::new(e));
                eprintln!("The ITS could not be reached: nothing was read or written.");
                Ok(Err(Exit::Incomplete.into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Releases the lock if it is held.
    async fn release(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        *self.held.lock().expect("not poisoned") = None;
        let id = lock.id().clone();
        if let Err(e) = lock.release().await {
            eprintln!(
                "warning: could not release the apply lock `{id}` (it expires by itself within {}s): {e}",
                lock::TTL.as_secs()
            );
        }
    }

    /// The plan view matching `--output`.
    fn view(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            Format::Human
        }
    }

    fn show(&self, p: &Planned, format: Format) {
        let header = self.run.header(&p.observed, Subject::Plan);
        out(format_args!(
            "{}",
            render::render(format, &p.plan, &header, self.colors.stdout)
        ));
    }

    /// Plans (checking a saved plan still holds, or asking for approval), then applies.
    async fn plan_and_apply(&mut self, saved: Option<&SavedPlan>) -> miette::Result<ExitCode> {
        if let Some(saved) = saved {
            // The ITS first: a kubeconfig pointing elsewhere must not even take a lock there.
            let its = self
                .run
                .clients
                .get(&self.run.loaded.fleet.its.access)
                .await?;
            saved.check_its(&its.identity().await?, Some(&its.server))?;
        }
        if saved.is_some() || self.args.auto_approve {
            // Approved up front: the lock is taken before reading, so what is planned is
            // what is written.
            if let Err(code) = self.take_lock().await? {
                return Ok(code);
            }
        }
        let mut planned = self.run.plan().await?;
        planned.release_objects();
        if let Some(saved) = saved {
            let its = &planned.observed;
            if its.is_incomplete() {
                self.show(&planned, self.view());
                eprintln!(
                    "\nThe saved plan cannot be checked: some clusters could not be read (above). Nothing was written."
                );
                return Ok(Exit::Incomplete.into());
            }
            let verdict = saved::check(saved, &planned.plan.diff);
            if !verdict.stale.is_empty() {
                self.show(&planned, self.view());
                eprint!("\n{}", render::stale_report(&verdict));
                return Ok(Exit::StalePlan.into());
            }
            for object in &verdict.moved {
                tracing::info!("{object}: resourceVersion moved since the plan, change identical");
            }
        }
        if !self.json {
            self.show(&planned, Format::Human);
        }
        if saved.is_none() && !self.args.auto_approve {
            if !planned.plan.has_changes() {
                return Ok(if planned.observed.is_incomplete() {
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
            if let Err(code) = self.take_lock().await? {
                return Ok(code);
            }
            // Re-plan under the lock: the clusters may have moved while we waited.
            let mut again = self.run.plan().await?;
            again.release_objects();
            if approved(&again.plan) != approved(&planned.plan) {
                self.show(&again, Format::Human);
                eprintln!(
                    "\nThe live state changed while waiting for approval; the plan above is the new one. Nothing was written."
                );
                return Ok(Exit::StalePlan.into());
            }
            planned = again;
        }

        let plan = &planned.plan;
        let mut lines = render::apply::Progress::new(plan, self.colors.stderr);
        let attempted = plan
            .diff
            .changes
            .iter()
            .filter(|c| c.blocked.is_none())
            .count();
        let mut meter = Meter::new(self.progress, "apply", attempted, self.colors.stderr);
        let verbose = self.args.verbose;
        let report = apply::execute(
            plan,
            &self.run.loaded.fleet,
            &self.run.desired,
            &self.run.clients,
            &apply::ApplyOptions {
                parallelism: usize::from(self.run.selection.parallelism),
                wait_timeout: self.args.wait_timeout,
            },
            &self.stop,
            |i, outcome| {
                let line = lines.line(plan, i, outcome);
                let failed = matches!(outcome, Outcome::Failed(_));
                if verbose || failed {
                    meter.println(&line);
                }
                if !matches!(outcome, Outcome::Blocked(_)) {
                    meter.step(failed);
                }
            },
        )
        .await;
        meter.finish(true);

        let header = self.run.header(&planned.observed, Subject::Plan);
        if self.json {
            out(format_args!(
                "{}",
                render::json::render_apply(plan, &report, &header)
            ));
        } else {
            out(format_args!(
                "{}",
                render::apply::summary(plan, &report, self.colors.stdout)
            ));
        }
        Ok(
            if report.partially_failed() || !plan.diff.unreadable.is_empty() {
                Exit::PartialFailure
            } else {
                Exit::Success
            }
            .into(),
        )
    }
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let json = args.output == ApplyOutput::Json;
    let saved = args.planfile.as_deref().map(show::read).transpose()?;
    let approved_up_front = args.auto_approve || saved.is_some();
    if json && !approved_up_front {
        miette::bail!(
            help = "review with `fleet plan --out PLANFILE`, then run `fleet apply PLANFILE --output json`",
            "apply --output json needs --auto-approve or a PLANFILE: stdout holds only the JSON report, so there is no plan to approve"
        );
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !approved_up_front && !interactive {
        miette::bail!(
            help = "save a plan to review (`fleet plan --out PLANFILE`) and apply it (`fleet apply PLANFILE`), or use `fleet apply --auto-approve`",
            "apply needs --auto-approve or a PLANFILE when there is no terminal to ask for approval"
        );
    }
    // A saved plan is applied with its own planning options, never new ones.
    let selection = match &saved {
        Some(s) => Selection {
            targets: s.options.targets.clone(),
            prune: s.options.prune,
            max_deregister: s.options.max_deregister,
            parallelism: args.selection.parallelism,
        },
        None => args.selection.clone(),
    };
    let run = Run::new(global, selection)?;
    if let Some(s) = &saved {
        s.check_config(&run.loaded.path, &run.loaded.digest)?;
    }

    let (stopper, stop) = watch::channel(None);
    let stopper = Arc::new(stopper);
    let held: Held = Arc::default();
    handle_signals(stopper.clone(), held.clone());
    let mut session = Session {
        run,
        args: &args,
        json,
        colors,
        stop,
        stopper,
        held,
        lock: None,
        progress: global.progress,
    };
    let outcome = session.plan_and_apply(saved.as_ref()).await;
    session.release().await;
    outcome
}
