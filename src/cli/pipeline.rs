//! What plan, apply, drift and graph share: flags, and fleet.toml → desired → observe → diff
//! → plan. The desired state is built once per run ([`Run::new`]) and reused by every
//! re-plan.

use std::collections::BTreeSet;

use clap::ValueEnum;

use crate::cli::progress::ReadMeter;
use crate::cli::{Colors, GlobalArgs};
use crate::config::{self, LoadedConfig};
use crate::desired::DesiredState;
use crate::diff::{self, DiffOptions};
use crate::kube::Clients;
use crate::model::text::closest;
use crate::model::{ObservedFleet, WecName};
use crate::observe::{self, ObserveOptions, OnRead};
use crate::plan::{self, Plan};
use crate::render::{Format, Header, Subject};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
    Markdown,
}

/// Flags that choose what is planned.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Only this WEC (repeatable), as `wec/NAME`.
    #[arg(long = "target", value_name = "wec/NAME", value_parser = parse_target)]
    pub targets: Vec<WecName>,
    /// How many WECs are read (and, for apply, written) at once.
    #[arg(long, default_value_t = crate::kube::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Also remove fleet's objects for WECs that are gone from fleet.toml, and deregister
    /// the WECs fleet registered.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: deregister at most this many WECs at once; more hold them all back.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_deregister: usize,
}

/// `wec/NAME` → `NAME`.
pub fn parse_target(s: &str) -> Result<WecName, String> {
    match s.strip_prefix("wec/") {
        Some(name) if !name.is_empty() => Ok(WecName::from(name)),
        _ => Err(format!(
            "expected `wec/NAME`, got `{s}` (for example --target wec/cluster1)"
        )),
    }
}

/// One run of the pipeline: the loaded fleet.toml, its desired state (built once), the
/// clients and the selection.
pub struct Run {
    pub loaded: LoadedConfig,
    pub desired: DesiredState,
    pub clients: Clients,
    pub selection: Selection,
    pub targets: BTreeSet<WecName>,
    /// Also read the agents' heartbeats (`fleet status`).
    pub read_agent_leases: bool,
    /// Progress of long reads.
    reads: ReadMeter,
}

/// One plan and the snapshot it was made from.
pub struct Planned {
    pub plan: Plan,
    pub observed: ObservedFleet,
}

impl Planned {
    /// Drops the live objects, keeping what was read and how, and returns their pages to the
    /// system: rendering, saving and applying the plan need none of them, and on a large fleet
    /// they are half of what the process holds (49 of 90 MB at 10,000 WECs).
    pub fn release_objects(&mut self) {
        self.observed.drop_objects();
        super::memory::release_freed();
    }
}

impl Run {
    /// Loads fleet.toml (printing its warnings to stderr), checks the targets and builds the
    /// desired state.
    pub fn new(global: &GlobalArgs, selection: Selection) -> miette::Result<Run> {
        let loaded = config::load(&global.file)?;
        super::print_warnings(&loaded.warnings);
        let targets = check_targets(&loaded, &selection)?;
        Ok(Run {
            desired: DesiredState::build(&loaded.fleet),
            clients: Clients::new(global.kubeconfig.clone(), global.request_timeout)
                .in_flight(usize::from(selection.parallelism)),
            loaded,
            selection,
            targets,
            read_agent_leases: false,
            reads: ReadMeter::new(global.progress, Colors::resolve(global.color).stderr),
        })
    }

    /// Observes the live state and builds the plan.
    pub async fn plan(&self) -> miette::Result<Planned> {
        let fleet = &self.loaded.fleet;
        let observed = observe::observe(
            fleet,
            &self.desired,
            &self.clients,
            &ObserveOptions {
                parallelism: usize::from(self.selection.parallelism),
                targets: self.targets.clone(),
                agent_leases: self.read_agent_leases,
                on_read: Some({
                    let reads = self.reads.clone();
                    OnRead(std::sync::Arc::new(move |done, total| {
                        reads.on_read(done, total)
                    }))
                }),
            },
        )
        .await?;
        let d = diff::diff(
            fleet,
            &self.desired,
            &observed,
            &DiffOptions {
                prune: self.selection.prune,
                targets: self.targets.clone(),
                max_deregister: self.selection.max_deregister,
            },
        );
        Ok(Planned {
            plan: plan::build(d)?,
            observed,
        })
    }

    /// The header every rendering starts with.
    pub fn header(&self, observed: &ObservedFleet, subject: Subject) -> Header {
        Header {
            subject,
            its_context: self.loaded.fleet.its.access.to_string(),
            its_server: observed.its_server.clone(),
            its_uid: observed.its_uid.clone(),
            config_digest: self.loaded.digest.clone(),
            targets: self.targets.iter().cloned().collect(),
        }
    }
}

/// Checks that every target names a WEC of fleet.toml.
fn check_targets(loaded: &LoadedConfig, sel: &Selection) -> miette::Result<BTreeSet<WecName>> {
    let targets: BTreeSet<WecName> = sel.targets.iter().cloned().collect();
    if let Some(t) = targets.iter().find(|t| !loaded.fleet.wecs.contains_key(*t)) {
        let hint = closest(t.as_str(), loaded.fleet.wecs.keys().map(WecName::as_str))
            .map(|k| format!(" — did you mean wec/{k}?"))
            .unwrap_or_default();
        miette::bail!(
            "--target wec/{t}: no WEC `{t}` in {}{hint}",
            loaded.path.display()
        );
    }
    Ok(targets)
}

impl From<Output> for Format {
    fn from(o: Output) -> Format {
        match o {
            Output::Human => Format::Human,
            Output::Json => Format::Json,
            Output::Markdown => Format::Markdown,
        }
    }
}
