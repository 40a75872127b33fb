//! `lab serve --dir DIR [--wecs N]`: runs a lab in the foreground until SIGTERM or SIGINT.
//! `lab register --kubeconfig PATH NAME…`: joins and accepts WECs of a running lab (the
//! `clusteradm join` + `accept` stand-in the demo uses until fleet registers WECs itself).
//! `lab ocm-manifests DIR`: writes the OCM manifests fleet ships as data (`src/desired/ocm/`)
//! from the `open-cluster-management.io/ocm` module; an e2e test checks they still match.
//! `tests/lab/lab up|down` wraps it for people (background start, readiness, cleanup).
//!
//! When the lab is ready, `DIR/pids` lists `component pid` lines and `DIR/ready` holds the
//! kubeconfig path; on a failed start `DIR/failed` holds the error.

use std::path::PathBuf;
use std::process::ExitCode;

use fleet_lab::{Lab, LabOptions};

fn usage() -> ExitCode {
    eprintln!(
        "usage: lab serve --dir DIR [--wecs N] | lab register --kubeconfig PATH NAME... | lab ocm-manifests DIR"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("register") {
        return register(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("ocm-manifests") {
        return ocm_manifests(args.get(1).map(PathBuf::from));
    }
    if args.first().map(String::as_str) != Some("serve") {
        return usage();
    }
    let mut dir = None;
    let mut wecs = 2usize;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => dir = it.next().map(PathBuf::from),
            "--wecs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => wecs = n,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(dir) = dir else { return usage() };
    // Children are bound to this (main) thread's lifetime: a current-thread runtime keeps
    // every spawn on it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let opts = LabOptions {
            wecs,
            dir: Some(dir.clone()),
            verbose: true,
        };
        let lab = match Lab::start(opts).await {
            Ok(lab) => lab,
            Err(e) => {
                eprintln!("lab: failed to start: {e}");
                let _ = std::fs::write(dir.join("failed"), e.to_string());
                return ExitCode::FAILURE;
            }
        };
        let pids: String = lab
            .pids()
            .iter()
            .map(|(n, p)| format!("{n} {p}\n"))
            .collect();
        let _ = std::fs::write(dir.join("pids"), pids);
        let _ = std::fs::write(
            dir.join("ready"),
            format!("{}\n", lab.kubeconfig().display()),
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("lab: stopping");
        drop(lab);
        ExitCode::SUCCESS
    })
}

fn register(args: &[String]) -> ExitCode {
    let (Some("--kubeconfig"), Some(kubeconfig)) = (args.first().map(String::as_str), args.get(1))
    else {
        return usage();
    };
    let names = &args[2..];
    let kubeconfig = PathBuf::from(kubeconfig);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for name in names {
            eprintln!("lab: registering {name} (bootstrap Secret, CSR approval, hubAcceptsClient)");
            if let Err(e) = fleet_lab::fixtures::register_wec(&kubeconfig, name).await {
                eprintln!("lab: registering {name} failed: {e}");
                return ExitCode::FAILURE;
            }
            eprintln!("lab: {name} is Joined and Available");
        }
        ExitCode::SUCCESS
    })
}

fn ocm_manifests(dir: Option<PathBuf>) -> ExitCode {
    let Some(dir) = dir else { return usage() };
    let written = fleet_lab::Bins::ensure()
        .and_then(|bins| bins.ocm_manifests())
        .and_then(|files| {
            for (name, text) in &files {
                std::fs::write(dir.join(name), text).map_err(|source| fleet_lab::LabError::Io {
                    what: format!("write {name}"),
                    source,
                })?;
            }
            Ok(files.len())
        });
    match written {
        Ok(n) => {
            eprintln!("lab: wrote {n} OCM manifests into {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lab: {e}");
            ExitCode::FAILURE
        }
    }
}
