//! End-to-end tests against the lab: one lab (ITS, WDS and five WECs; cluster4 and cluster5 are left to the registration tests) for the whole run,
//! tests run one after another (the machine has two cores). A lab that cannot start fails
//! the run loudly; nothing is skipped.
//!
//! `cargo test --test e2e [-- FILTER]` runs the tests whose name contains FILTER.

/// Fails the test with a message.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// Turns `async fn name(ctx: &Ctx) -> TestResult` items into `(name, TestFn)` pairs.
macro_rules! tests {
    ($($path:path),* $(,)?) => {
        vec![$((stringify!($path).trim_start_matches("crate::"), (|ctx| Box::pin($path(ctx))) as TestFn)),*]
    };
}

mod fleet;
mod kubestellar;
mod lab;
mod pipeline;
mod recipes;
mod register;
mod status;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fleet_lab::{Lab, LabOptions};
use futures::FutureExt;

/// What every test gets.
pub struct Ctx {
    pub lab: Lab,
}

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type TestFuture<'a> = Pin<Box<dyn Future<Output = TestResult> + 'a>>;
pub type TestFn = for<'a> fn(&'a Ctx) -> TestFuture<'a>;

fn main() -> ExitCode {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let all: Vec<(&str, TestFn)> = {
        let mut v = tests![
            lab::apiservers_report_v1_35,
            lab::its_serves_managedcluster_and_wds_serves_bindingpolicy,
            lab::namespace_deletion_completes_on_a_wec,
            lab::wec_registers_to_available_and_unjoin_stops_agent,
            lab::ocm_manifests_match_the_modules,
        ];
        // KubeStellar's chain, on cluster1 and cluster2; leaves nothing of its own behind.
        v.extend(kubestellar::tests());
        v.extend(fleet::tests());
        v.extend(register::tests());
        v.extend(pipeline::tests());
        v.extend(status::tests());
        v.extend(recipes::tests());
        v
    };
    let selected: Vec<_> = all
        .into_iter()
        .filter(|(n, _)| filter.as_ref().is_none_or(|f| n.contains(f.as_str())))
        .collect();
    if selected.is_empty() {
        println!("0 passed, 0 failed");
        return ExitCode::SUCCESS;
    }

    // The lab's children are bound to this thread: keep everything on it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        eprintln!("e2e: starting the lab (ITS, WDS, 5 WECs)");
        let lab = match Lab::start(LabOptions {
            wecs: 5,
            dir: None,
            verbose: true,
        })
        .await
        {
            Ok(lab) => lab,
            Err(e) => {
                eprintln!("e2e: THE LAB DID NOT START: {e}");
                println!("0 passed, {} failed", selected.len());
                return ExitCode::FAILURE;
            }
        };
        let ctx = Ctx { lab };
        let (mut passed, mut failed) = (0, Vec::new());
        for (name, f) in selected {
            let t0 = Instant::now();
            let outcome = tokio::time::timeout(
                Duration::from_secs(300),
                AssertUnwindSafe(f(&ctx)).catch_unwind(),
            )
            .await;
            let verdict = match outcome {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(e.to_string()),
                Ok(Err(panic)) => Some(
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into()),
                ),
                Err(_) => Some("timed out after 300 s".into()),
            };
            match verdict {
                None => {
                    passed += 1;
                    println!("test {name} ... ok ({:.1}s)", t0.elapsed().as_secs_f64());
                }
                Some(why) => {
                    println!(
                        "test {name} ... FAILED ({:.1}s)\n    {}",
                        t0.elapsed().as_secs_f64(),
                        why.replace('\n', "\n    ")
                    );
                    failed.push(name);
                }
            }
        }
        if !failed.is_empty() {
            println!("\nfailures:\n    {}", failed.join("\n    "));
        }
        println!("\n{passed} passed, {} failed", failed.len());
        drop(ctx);
        if failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
