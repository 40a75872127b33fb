//! fleet: declarative plan/apply for KubeStellar Workload Execution Clusters.
//!
//! The modules form one pipeline, each importing only those below it:
//!
//! ```text
//! model                       identities, names, fleet's vocabulary, the observed snapshot
//! config, desired             fleet.toml → DesiredFleet → DesiredState (what to write)
//! kube                        all Kubernetes I/O
//! observe, diff               live state → ObservedFleet; desired × observed → Diff
//! plan                        Diff → dependency graph and waves
//! apply                       Plan → writes → ApplyReport
//! render                      views of a plan, a drift report and an apply report
//! cli                         one file per command
//! ```

pub mod apply;
pub mod cli;
pub mod config;
pub mod desired;
pub mod diff;
pub mod import;
pub mod kube;
pub mod model;
pub mod observe;
pub mod plan;
pub mod render;
pub mod status;
