//! `bridgescout watch` against a real DoH server (netns lab, see
//! tests/common/netns.rs): the server port is blocked for about two rounds
//! while the watch runs, and the JSONL must show DoH going down and coming
//! back, with an outage whose start and end bracket the blocked period.
//!
//! Traffic stays inside the test's own namespaces. Every wait is bounded:
//! lines are read as the child prints them, with a deadline per line.

#[path = "common/netns.rs"]
mod netns;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use netns::{Block, DOH_HOST, DOH_PORT, Lab, PROBE_NAME};
use serde_json::Value;

/// Longest wait for the next line (a blocked round takes a few timeouts).
const LINE_DEADLINE: Duration = Duration::from_secs(45);
/// Longest the whole watch may take.
const TOTAL_DEADLINE: Duration = Duration::from_secs(180);

/// Kills the child if the test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn time(v: &Value) -> SystemTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    humantime::parse_rfc3339_weak(s).unwrap_or_else(|e| panic!("bad time {s:?}: {e}"))
}

fn doh_works(round: &Value) -> Option<bool> {
    round["methods"]
        .as_array()?
        .iter()
        .find(|m| m["kind"] == "doh")
        .and_then(|m| m["works"].as_bool())
}

#[test]
fn doh_outage_is_reported_with_start_and_end() {
    let Some(lab) = Lab::start(module_path!()) else {
        return;
    };
    let endpoint = format!(
        "https://{DOH_HOST}/dns-query bootstrap={} name=lab-doh",
        lab.server_ip
    );
    let ca = lab.ca_file.to_str().unwrap().to_string();
    let args = [
        "watch",
        &endpoint,
        "--rounds",
        "6",
        "--interval",
        "1",
        "--jitter",
        "0",
        "--format",
        "jsonl",
        "--no-history",
        "--timeout",
        "1",
        "--ca-file",
        &ca,
        "--probe-name",
        PROBE_NAME,
    ];
    let child = lab
        .client_cmd(env!("CARGO_BIN_EXE_bridgescout"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bridgescout watch");
    let mut child = Guard(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });

    let started = Instant::now();
    let block = Block::DropPort(DOH_PORT);
    let mut lines: Vec<Value> = Vec::new();
    let mut raw = String::new();
    let (mut t_block, mut t_unblock) = (None, None);
    let mut failed_while_blocked = 0;
    loop {
        assert!(
            started.elapsed() < TOTAL_DEADLINE,
            "watch did not finish within {TOTAL_DEADLINE:?}:\n{raw}"
        );
        let line = match rx.recv_timeout(LINE_DEADLINE) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("no output for {LINE_DEADLINE:?}; so far:\n{raw}")
            }
        };
        eprintln!("watch: {line}");
        raw.push_str(&line);
        raw.push('\n');
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSONL {line:?}: {e}"));
        if v["type"] == "round" {
            let works = doh_works(&v);
            let index = v["round"].as_u64().unwrap();
            if t_block.is_none() {
                assert_eq!(works, Some(true), "DoH must work before the block:\n{raw}");
                if index == 1 {
                    t_block = Some(SystemTime::now());
                    lab.block(&block);
                }
            } else if t_unblock.is_none() && works == Some(false) {
                failed_while_blocked += 1;
                if failed_while_blocked == 2 {
                    t_unblock = Some(SystemTime::now());
                    lab.unblock(&block);
                }
            }
        }
        lines.push(v);
    }
    let status = child.0.wait().unwrap();
    let stderr = err_reader.join().unwrap_or_default();
    let (t_block, t_unblock) = (
        t_block.expect("never blocked"),
        t_unblock.unwrap_or_else(|| panic!("DoH never failed while blocked:\n{raw}\n{stderr}")),
    );
    assert_eq!(status.code(), Some(0), "{raw}\n{stderr}");

    let rounds = lines.iter().filter(|v| v["type"] == "round").count();
    assert_eq!(rounds, 6, "{raw}");
    let events: Vec<&Value> = lines.iter().filter(|v| v["type"] == "event").collect();
    let down = events
        .iter()
        .position(|e| e["event"] == "method_down" && e["kind"] == "doh")
        .unwrap_or_else(|| panic!("no method_down for DoH:\n{raw}"));
    let up = events
        .iter()
        .position(|e| e["event"] == "method_up" && e["kind"] == "doh")
        .unwrap_or_else(|| panic!("no method_up for DoH:\n{raw}"));
    assert!(down < up, "down must come before up:\n{raw}");
    let (down, up) = (events[down], events[up]);
    assert!(down["reason"].is_string(), "down carries a reason: {down}");
    assert!(
        time(&down["at"]) >= t_block,
        "down before the block: {down}"
    );
    assert!(
        time(&down["at"]) < t_unblock,
        "down after the unblock: {down}"
    );
    assert!(time(&up["at"]) >= t_unblock, "up before the unblock: {up}");
    assert_eq!(up["down_since"], down["at"]);

    // The closing summary has the outage, closed, bracketing the block.
    let summary = lines
        .iter()
        .find(|v| v["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary line:\n{raw}"));
    assert_eq!(summary["rounds"], 6);
    let outages = summary["outages"].as_array().unwrap();
    assert_eq!(outages.len(), 1, "{summary}");
    let o = &outages[0];
    assert_eq!(o["kind"], "doh");
    assert_eq!(o["start"], down["at"]);
    assert_eq!(o["end"], up["at"]);
    assert!(time(&o["last_working"]) < t_block, "{o}");
    assert!(
        time(&o["start"]) >= t_block && time(&o["start"]) < t_unblock,
        "{o}"
    );
    assert!(time(&o["last_failed"]) < t_unblock, "{o}");
    assert!(time(&o["end"]) >= t_unblock, "{o}");
    assert!(o["duration_s"].as_f64().unwrap() > 0.0, "{o}");
    // A round that started just before the unblock may still fail (rounds
    // start back to back when one takes longer than the interval).
    assert!(o["rounds"].as_u64().unwrap() >= 2, "{o}");
    for r in lines.iter().filter(|v| v["type"] == "round") {
        let at = time(&r["at"]);
        if at < t_block || at >= t_unblock {
            assert_eq!(doh_works(r), Some(true), "outside the block: {r}");
        }
    }
}
