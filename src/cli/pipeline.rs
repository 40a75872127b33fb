//! What plan, apply, drift and graph share: flags, and fleet.toml → observe → diff → plan.

use std::collections::BTreeSet;

use clap::ValueEnum;

use crate::cli::GlobalArgs;
use crate::config::{self, LoadedConfig};
use crate::diff::{self, DiffOptions};
use crate::kube::Clients;
use crate::observe::{self, ObserveOptions, ObservedFleet};
use crate::plan::{self, Plan};
use crate::render::{Format, Header, Report};

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
    pub targets: Vec<String>,
    /// How many WECs are read (and, for apply, written) at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Also remove fleet's objects for WECs that are gone from fleet.toml.
    #[arg(long)]
    pub prune: bool,
}

/// `wec/NAME` → `NAME`.
fn parse_target(s: &str) -> Result<String, String> {
    match s.strip_prefix("wec/") {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(format!(
            "expected `wec/NAME`, got `{s}` (for example --target wec/cluster1)"
        )),
    }
}

/// Loads fleet.toml, printing its warnings to stderr; errors carry the diagnostics.
pub fn load(global: &GlobalArgs) -> miette::Result<LoadedConfig> {
    let loaded = config::load(&global.file)?;
    for w in &loaded.warnings {
        eprintln!("{:?}", miette::Report::new(w.clone()));
    }
    Ok(loaded)
}

/// Checks that every target names a WEC of fleet.toml.
pub fn check_targets(loaded: &LoadedConfig, sel: &Selection) -> miette::Result<BTreeSet<String>> {
    let targets: BTreeSet<String> = sel.targets.iter().cloned().collect();
    let unknown: Vec<&String> = targets
        .iter()
        .filter(|t| !loaded.fleet.wecs.contains_key(*t))
        .collect();
    if let Some(t) = unknown.first() {
        let known: Vec<&str> = loaded.fleet.wecs.keys().map(String::as_str).collect();
        let hint = strsim_best(t, &known)
            .map(|k| format!(" — did you mean wec/{k}?"))
            .unwrap_or_default();
        miette::bail!(
            "--target wec/{t}: no WEC `{t}` in {}{hint}",
            loaded.path.display()
        );
    }
    Ok(targets)
}

fn strsim_best<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Observes the live state and builds the plan.
pub async fn plan(
    loaded: &LoadedConfig,
    clients: &Clients,
    sel: &Selection,
    targets: &BTreeSet<String>,
) -> miette::Result<(Plan, ObservedFleet)> {
    let observed = observe::observe(
        &loaded.fleet,
        clients,
        &ObserveOptions {
            parallelism: usize::from(sel.parallelism),
            targets: targets.clone(),
        },
    )
    .await;
    let d = diff::diff(
        &loaded.fleet,
        &observed,
        &DiffOptions {
            prune: sel.prune,
            targets: targets.clone(),
        },
    );
    Ok((plan::build(d)?, observed))
}

/// The header every rendering starts with.
pub fn header(
    loaded: &LoadedConfig,
    observed: &ObservedFleet,
    targets: &BTreeSet<String>,
    drift: bool,
) -> Header {
    Header {
        report: if drift { Report::Drift } else { Report::Plan },
        its_context: loaded.fleet.its.access.context.clone(),
        its_server: observed.its_server.clone(),
        its_uid: observed.its_uid.clone(),
        config_digest: loaded.digest.clone(),
        targets: targets.iter().map(|t| format!("wec/{t}")).collect(),
    }
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
