//! Benchmark: parse + validate + resolve a generated 5,000-WEC fleet.toml.
//!
//! `cargo bench --bench config` prints min / median / max over the runs; the target is a
//! median of at most 200 ms. No assertions: this is a measurement, not a test.

use std::path::Path;
use std::time::{Duration, Instant};

const WECS: usize = 5_000;
const RUNS: usize = 20;

/// A fleet shaped like a large edge deployment: defaults, regional groups, an RBAC
/// expansion, and per-WEC labels and properties.
fn generate(wecs: usize) -> String {
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
    for i in 0..wecs {
        let region = regions[i % regions.len()];
        out.push_str(&format!(
            "[wec.store-{i:05}]\ngroups = [\"{region}\"]\nlabels = {{ name = \"store-{i:05}\", city = \"city-{}\" }}\nproperties = {{ storeId = \"{i:05}\", maxPods = \"110\" }}\n\n",
            i % 97
        ));
    }
    out
}

fn main() {
    let text = generate(WECS);
    let path = Path::new("fleet.toml");
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let loaded =
                fleet::config::from_str(path, &text).expect("the generated fleet is valid");
            let elapsed = start.elapsed();
            assert_eq!(loaded.fleet.wecs.len(), WECS);
            std::hint::black_box(loaded);
            elapsed
        })
        .collect();
    times.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!(
        "parse + validate + resolve, {WECS} WECs, {} KiB, {RUNS} runs",
        text.len() / 1024
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "bench", "min", "median", "max", "target"
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "config",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1]),
        "200.0 ms"
    );
}
