//! `fleet status`: one row per WEC — registration, Joined/Available, the agent's last
//! heartbeat, and whether labels, properties and RBAC match fleet.toml. Read-only, no lock;
//! reads what `plan` reads, plus one LIST of the agents' Leases.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::apply::lock;
use crate::cli::pipeline::{Output, Run, Selection, parse_target};
use crate::cli::{Colors, Exit, GlobalArgs, out};
use crate::model::selector::Selector;
use crate::model::{Location, WecName};
use crate::render;
use crate::status::{self, ApplyLock, FleetStatus};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// More columns: the WEC's context, its ClusterSet and its Kubernetes version.
    #[arg(long)]
    pub wide: bool,
    /// Exit 2 unless every WEC of fleet.toml is healthy and in sync (6 when something could
    /// not be read): a monitoring probe.
    #[arg(long, conflicts_with = "watch")]
    pub exit_code: bool,
    /// Refresh until interrupted (in place on a terminal); Ctrl-C or SIGTERM exits 0.
    #[arg(long)]
    pub watch: bool,
    /// Time between refreshes with --watch.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = humantime::parse_duration, requires = "watch")]
    pub interval: Duration,
    /// Only this WEC (repeatable), as `wec/NAME`.
    #[arg(long = "target", value_name = "wec/NAME", value_parser = parse_target)]
    pub targets: Vec<WecName>,
    /// Only WECs whose labels match, in kubectl syntax: `env=prod,region in (eu,us)`.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR", value_parser = |s: &str| Selector::parse(s).map_err(|e| e.to_string()))]
    pub selector: Option<Selector>,
    /// How many WECs are read at once.
    #[arg(long, default_value_t = crate::kube::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

async fn read(run: &Run, filter: &status::Filter) -> miette::Result<FleetStatus> {
    let planned = run.plan().await?;
    let mut s = status::status(
        &run.loaded.fleet,
        &planned.observed,
        &planned.plan.diff,
        filter,
        k8s_openapi::jiff::Timestamp::now(),
    );
    // An ITS that could not be read is not asked again (that would cost another timeout).
    s.lock = Some(match planned.observed.unreadable.get(&Location::Its) {
        Some(why) => ApplyLock::Unknown(format!("the ITS could not be read: {why}")),
        None => apply_lock(run).await,
    });
    Ok(s)
}

/// Who holds the apply lock on the ITS, if anyone; a read that fails is reported, not fatal
/// (read-only credentials may not reach Leases in `fleet-system`).
async fn apply_lock(run: &Run) -> ApplyLock {
    let holder = match run.clients.get(&run.loaded.fleet.its.access).await {
        Ok(its) => lock::current(&its).await,
        Err(e) => Err(e.into()),
    };
    match holder {
        Ok(None) => ApplyLock::Free,
        Ok(Some(h)) => ApplyLock::Held {
            expires: h.expires(),
            id: h.id,
            who: h.info.as_ref().map(|i| i.who.clone()),
            ci_job: h.info.and_then(|i| i.ci_job),
            since: h.acquired,
        },
        Err(e) => ApplyLock::Unknown(crate::model::text::error_chain(&e)),
    }
}

fn view(s: &FleetStatus, run: &Run, args: &Args, color: bool) -> String {
    let its = &run.loaded.fleet.its.access.to_string();
    match args.output {
        Output::Human => render::status::human(s, its, args.wide, color),
        Output::Markdown => render::status::markdown(s, its, args.wide),
        Output::Json => render::status::json(s, its),
    }
}

pub async fn execute(global: &GlobalArgs, colors: Colors, args: Args) -> miette::Result<ExitCode> {
    let selection = Selection {
        targets: args.targets.clone(),
        parallelism: args.parallelism,
        prune: false,
        max_deregister: 1,
    };
    let mut run = Run::new(global, selection)?;
    run.read_agent_leases = true;
    let filter = status::Filter {
        targets: run.targets.clone(),
        selector: args.selector.clone(),
    };
    if args.watch {
        let in_place = std::io::stdout().is_terminal();
        // Listening from the start, so that Ctrl-C or SIGTERM during a read ends the watch
        // as well as during the pause: exit 0, as asked.
        let stop = interrupted();
        tokio::pin!(stop);
        loop {
            let s = tokio::select! {
                s = read(&run, &filter) => s?,
                () = &mut stop => return Ok(Exit::Success.into()),
            };
            let text = view(&s, &run, &args, colors.stdout);
            if in_place {
                // Home, clear to the end: the table is redrawn where it was.
                out(format_args!(
                    "\x1b[H\x1b[2J{text}\n(every {}; Ctrl-C to stop)\n",
                    humantime::format_duration(args.interval)
                ));
            } else {
                out(format_args!("{text}\n"));
            }
            tokio::select! {
                () = tokio::time::sleep(args.interval) => {}
                () = &mut stop => return Ok(Exit::Success.into()),
            }
        }
    }
    let s = read(&run, &filter).await?;
    out(view(&s, &run, &args, colors.stdout));
    Ok(if s.incomplete() {
        Exit::Incomplete
    } else if args.exit_code && !s.all_healthy() {
        Exit::Changes
    } else {
        Exit::Success
    }
    .into())
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        Ok(()) = tokio::signal::ctrl_c() => {}
        Some(()) = async { term.as_mut()?.recv().await } => {}
        // Neither signal can be listened for: the watch runs until killed.
        else => std::future::pending().await,
    }
}
