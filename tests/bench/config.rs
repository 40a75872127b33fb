//! Benchmark: parse + validate + resolve a generated 5,000-WEC fleet.toml, and render 5,000
//! warnings (one per WEC) as `fleet validate` prints them.
//!
//! `cargo bench --bench config` prints min / median / max over the runs; the targets are a
//! median of at most 200 ms to load the fleet and at most 1 s to render the warnings. No
//! assertions: this is a measurement, not a test.

use std::path::Path;
use std::time::{Duration, Instant};

use miette::{GraphicalReportHandler, GraphicalTheme};

const WECS: usize = 5_000;
const RUNS: usize = 20;
/// Rendering runs (each renders every warning).
const RENDER_RUNS: usize = 5;

/// A fleet shaped like a large edge deployment: defaults, regional groups, an RBAC
/// expansion, and per-WEC labels and properties. With `warn`, every WEC has one property
/// key KubeStellar templates cannot use (one warning per WEC).
fn generate(wecs: usize, warn: bool) -> String {
    let regions = ["us-east", "us-west", "eu-central", "ap-south"];
    let mut out = String::from(
        "[its]\ncontext = \"its1\"\n\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nlabels = { environment = \"prod\", \"app.kubernetes.io/part-of\" = \"retail\" }\nproperties = { chain = \"acme\" }\nrbac = [\"pos\"]\n\n[defaults.join]\nsingleton = true\n\n",
    );
    for region in regions {
        out.push_str(&format!(
            "[group.{region}]\nlabels = {{ region = \"{region}\", \"location-group\" = \"edge\" }}\nproperties = {{ registry = \"registry.{region}.example\" }}\n\n"
        ));
    }
    out.push_str("[rbac.pos]\nmode = \"downsync\"\nnamespace = \"pos\"\n[[rbac.pos.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\", \"list\", \"watch\"]\n\n");
    let max_pods = if warn { "max-pods" } else { "maxPods" };
    for i in 0..wecs {
        let region = regions[i % regions.len()];
        out.push_str(&format!(
            "[wec.store-{i:05}]\ngroups = [\"{region}\"]\nlabels = {{ name = \"store-{i:05}\", city = \"city-{}\" }}\nproperties = {{ storeId = \"{i:05}\", {max_pods} = \"110\" }}\n\n",
            i % 97
        ));
    }
    out
}

/// min / median / max of `runs` timings of `f`.
fn measure(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn row(name: &str, times: &[Duration], target: &str) {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        name,
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        target
    );
}

fn main() {
    let path = Path::new("fleet.toml");
    let text = generate(WECS, false);
    let load = measure(RUNS, || {
        let loaded = fleet::config::from_str(path, &text).expect("the generated fleet is valid");
        assert_eq!(loaded.fleet.wecs.len(), WECS);
        std::hint::black_box(loaded);
    });

    // `fleet validate`'s human output: every warning rendered with the source snippet.
    let warned = generate(WECS, true);
    let loaded = fleet::config::from_str(path, &warned).expect("warnings only");
    assert_eq!(loaded.warnings.len(), WECS);
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut bytes = 0;
    let render = measure(RENDER_RUNS, || {
        let mut out = String::new();
        for warning in &loaded.warnings {
            handler
                .render_report(&mut out, warning)
                .expect("rendering into a String cannot fail");
        }
        bytes = out.len();
        std::hint::black_box(out);
    });

    println!(
        "config: parse + validate + resolve, {WECS} WECs, {} KiB, {RUNS} runs",
        text.len() / 1024
    );
    println!(
        "warnings: render {WECS} warnings as human text ({} KiB), {RENDER_RUNS} runs",
        bytes / 1024
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "bench", "min", "median", "max", "target"
    );
    row("config", &load, "200.0 ms");
    row("warnings", &render, "1000.0 ms");
}
