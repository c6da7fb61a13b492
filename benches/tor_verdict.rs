//! Benchmark: time to a verdict for the private network's vanilla and obfs4
//! bridges (tests/common/tornet.rs) with bridgescout, against a C tor
//! client's time to "Bootstrapped 100%" through the same bridge. Prints the
//! medians, their ratio and the data-test throughput; asserts nothing about
//! speed.
//!
//! `cargo bench --bench tor_verdict [-- ROUNDS]` (needs root, tor,
//! obfs4proxy). Under `cargo test` it only prints a line: the network
//! alone takes ~30 s to start.

#[path = "../tests/common/tornet.rs"]
mod tornet;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One bridgescout scan in the namespace: (process wall s, record runtime
/// s, KiB/s, verdict).
fn bridgescout(net: &tornet::TorNet, args: &[&str]) -> (f64, f64, f64, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bridgescout"));
    cmd.args([
        "scan",
        "--format",
        "jsonl",
        "--no-history",
        "--timeout",
        "5",
    ])
    .args(args);
    net.exec_in_ns(&mut cmd);
    let t0 = Instant::now();
    let out = tornet::run_bounded(&mut cmd, Duration::from_secs(120));
    let wall = t0.elapsed().as_secs_f64();
    let rec = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("verdict").is_some())
        .unwrap_or(Value::Null);
    (
        wall,
        rec["runtime"].as_f64().unwrap_or(f64::NAN),
        rec["data_test"]["kib_per_s"].as_f64().unwrap_or(f64::NAN),
        format!(
            "{}/{}",
            rec["verdict"].as_str().unwrap_or("?"),
            rec["diagnosis"].as_str().unwrap_or("?")
        ),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "tor_verdict: skipped under cargo test (cargo bench --bench tor_verdict starts a private Tor network)"
        );
        return;
    }
    let rounds = args
        .iter()
        .filter_map(|a| a.parse::<usize>().ok())
        .next()
        .unwrap_or(3)
        .max(1);
    let net = tornet::shared();
    println!(
        "tor_verdict: network ready in {:.1} s; {rounds} rounds each",
        net.ready_after.as_secs_f64()
    );
    let vanilla = net.vanilla.bridge_line();
    let obfs4 = net.obfs4.bridge_line();
    let cases: [(&str, Vec<&str>); 2] = [
        ("vanilla", vec![vanilla.as_str()]),
        (
            "obfs4",
            vec!["--pt-path", tornet::OBFS4PROXY, obfs4.as_str()],
        ),
    ];
    for (name, scan_args) in cases {
        let (mut walls, mut runtimes, mut rates, mut tors) = (vec![], vec![], vec![], vec![]);
        let mut verdicts = Vec::new();
        for _ in 0..rounds {
            let (wall, runtime, rate, verdict) = bridgescout(net, &scan_args);
            walls.push(wall);
            runtimes.push(runtime);
            rates.push(rate);
            verdicts.push(verdict);
            let mut client = if name == "vanilla" {
                net.start_vanilla_client()
            } else {
                net.start_obfs4_client()
            };
            match client.wait_bootstrapped(Duration::from_secs(90)) {
                Ok(d) => tors.push(d.as_secs_f64()),
                Err(e) => println!("tor_verdict {name}: C tor did not bootstrap: {e:.300}"),
            }
        }
        let (wall, runtime, rate) = (
            median(&mut walls),
            median(&mut runtimes),
            median(&mut rates),
        );
        let tor = median(&mut tors);
        println!(
            "tor_verdict {name}: bridgescout verdict {:.3} s (process {:.3} s), C tor bootstrap {:.3} s, \
             ratio bridgescout/tor {:.2}, data test {:.1} KiB/s, verdicts {:?}",
            runtime,
            wall,
            tor,
            runtime / tor,
            rate,
            verdicts
        );
    }
}
