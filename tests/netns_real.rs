//! End-to-end scenarios: the real `bridgescout` binary, run inside a client
//! network namespace, against a real DoH/DoT server (dnsdist in front of an
//! unbound that serves local data only) in a server namespace, with real
//! packet-level interference from iptables. See tests/common/netns.rs.
//!
//! Every test builds its own namespace pair (they are independent and run
//! in parallel). Needs root + iproute2, iptables, unbound, dnsdist
//! (scripts/test installs them); fails loudly otherwise, unless
//! BRIDGESCOUT_SKIP_NETNS=1.

#[path = "common/netns.rs"]
mod netns;

use netns::{Block, DOH_HOST, DOH_PORT, DOT_HOST, DOT_PORT, LYING_PROBE_NAME, Lab, PROBE_NAME};
use serde_json::Value;
use std::time::Duration;

/// Per-operation timeout handed to the binary.
const TIMEOUT_SECS: &str = "2";
/// Hard bound on one scan run (the binary is killed after this).
const RUN_DEADLINE: Duration = Duration::from_secs(60);

struct Scan {
    code: Option<i32>,
    records: Vec<Value>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    rules: String,
}

impl Scan {
    /// The record for endpoint `label` (matched on the `label` field).
    fn get(&self, label: &str) -> &Value {
        self.records
            .iter()
            .find(|r| r["label"].as_str() == Some(label))
            .or_else(|| {
                // Fall back: label may be rendered differently; accept a
                // record whose label or url mentions it.
                self.records.iter().find(|r| r.to_string().contains(label))
            })
            .unwrap_or_else(|| panic!("no JSONL record for endpoint {label:?}\n{}", self.dump()))
    }

    fn dump(&self) -> String {
        format!(
            "exit code: {:?} after {:?}\niptables (server ns):\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.rules, self.stdout, self.stderr
        )
    }
}

fn endpoint_doh(lab: &Lab, label: &str) -> String {
    format!(
        "https://{DOH_HOST}/dns-query bootstrap={} name={label}",
        lab.server_ip
    )
}

fn endpoint_dot(lab: &Lab, label: &str) -> String {
    format!(
        "tls://{DOT_HOST}:{DOT_PORT} bootstrap={} name={label}",
        lab.server_ip
    )
}

fn scan_with(lab: &Lab, inputs: &[String], extra: &[&str]) -> Scan {
    let mut args: Vec<String> = vec!["scan".into()];
    args.extend(inputs.iter().cloned());
    args.extend(
        [
            "--format",
            "jsonl",
            "--timeout",
            TIMEOUT_SECS,
            "--no-history",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = lab.run_in_client(env!("CARGO_BIN_EXE_bridgescout"), &args, RUN_DEADLINE);
    let rules = lab.rules();
    // Shown with --nocapture (and by the harness when the test fails).
    eprintln!(
        "bridgescout {}\n=> exit {:?} in {:?}\n{}",
        args.join(" "),
        out.code(),
        out.elapsed,
        out.stdout
    );
    assert!(
        !out.timed_out,
        "bridgescout did not finish within {RUN_DEADLINE:?}\n{}{}",
        out.stdout, out.stderr
    );
    let records = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("bad JSONL line {l:?}: {e}\nstderr:\n{}", out.stderr))
        })
        .collect();
    Scan {
        code: out.code(),
        records,
        stdout: out.stdout,
        stderr: out.stderr,
        elapsed: out.elapsed,
        rules,
    }
}

/// Scan with the lab CA and the honest probe name.
fn scan(lab: &Lab, inputs: &[String]) -> Scan {
    let ca = lab.ca_file.to_str().unwrap().to_string();
    scan_with(lab, inputs, &["--ca-file", &ca, "--probe-name", PROBE_NAME])
}

struct Expect<'a> {
    kind: &'a str,
    verdict: &'a str,
    diagnosis: &'a str,
    /// OONI failure string (None: must be null/absent).
    failure: Option<&'a str>,
    failed_operation: Option<&'a str>,
}

fn check(scan: &Scan, label: &str, e: &Expect) {
    let r = scan.get(label);
    let s = |k: &str| r[k].as_str().map(str::to_string);
    let mut bad = Vec::new();
    if s("kind").as_deref() != Some(e.kind) {
        bad.push(format!("kind: got {:?}, want {:?}", s("kind"), e.kind));
    }
    if s("verdict").as_deref() != Some(e.verdict) {
        bad.push(format!(
            "verdict: got {:?}, want {:?}",
            s("verdict"),
            e.verdict
        ));
    }
    if s("diagnosis").as_deref() != Some(e.diagnosis) {
        bad.push(format!(
            "diagnosis: got {:?}, want {:?}",
            s("diagnosis"),
            e.diagnosis
        ));
    }
    if s("failure").as_deref() != e.failure {
        bad.push(format!(
            "failure: got {:?}, want {:?}",
            s("failure"),
            e.failure
        ));
    }
    if s("failed_operation").as_deref() != e.failed_operation {
        bad.push(format!(
            "failed_operation: got {:?}, want {:?}",
            s("failed_operation"),
            e.failed_operation
        ));
    }
    if !r["steps"].is_array() {
        bad.push("steps: missing or not a list".to_string());
    }
    if e.verdict == "reachable" && !r["latency_ms"].is_number() {
        bad.push(format!(
            "latency_ms: got {}, want a number",
            r["latency_ms"]
        ));
    }
    if !bad.is_empty() {
        panic!(
            "endpoint {label:?}: {}\nrecord:\n{}\n{}",
            bad.join("; "),
            serde_json::to_string_pretty(r).unwrap(),
            scan.dump()
        );
    }
}

/// The poisoned (system-resolver) address must have been tried and failed.
fn check_poisoned_address_failed(scan: &Scan, label: &str, poisoned_ip: &str, want_failure: &str) {
    let r = scan.get(label);
    let tried = r["steps"].as_array().into_iter().flatten().any(|st| {
        st["operation"] == "tcp_connect"
            && st["target"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("{poisoned_ip}:")))
            && st["failure"] == want_failure
    });
    assert!(
        tried,
        "{label}: want a tcp_connect step to {poisoned_ip} failing with {want_failure}\nrecord:\n{}\n{}",
        serde_json::to_string_pretty(r).unwrap(),
        scan.dump()
    );
}

fn check_exit(scan: &Scan, want: i32) {
    assert_eq!(scan.code, Some(want), "exit code\n{}", scan.dump());
}

fn ok<'a>(kind: &'a str) -> Expect<'a> {
    Expect {
        kind,
        verdict: "reachable",
        diagnosis: "ok",
        failure: None,
        failed_operation: None,
    }
}

macro_rules! lab {
    () => {
        match Lab::start(module_path!()) {
            Some(l) => l,
            None => return,
        }
    };
}

#[test]
fn doh_ok() {
    let lab = lab!();
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(&s, "DoH", &ok("doh"));
    check_exit(&s, 0);
}

#[test]
fn dot_ok() {
    let lab = lab!();
    let s = scan(&lab, &[endpoint_dot(&lab, "DoT")]);
    check(&s, "DoT", &ok("dot"));
    check_exit(&s, 0);
}

/// 443 silently dropped while DoT on 853 of the same host works: the network
/// is up, so the DoH endpoint is diagnosed ip_blocked.
#[test]
fn port_dropped_with_working_peer_is_ip_blocked() {
    let lab = lab!();
    lab.block(&Block::DropPort(DOH_PORT));
    let s = scan(
        &lab,
        &[endpoint_doh(&lab, "DoH"), endpoint_dot(&lab, "DoT")],
    );
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "failed",
            diagnosis: "ip_blocked",
            failure: Some("generic_timeout_error"),
            failed_operation: Some("tcp_connect"),
        },
    );
    check(&s, "DoT", &ok("dot"));
    check_exit(&s, 0);
}

/// Same drop, but nothing else in the scan connects: plain timeout.
#[test]
fn port_dropped_alone_is_timeout() {
    let lab = lab!();
    lab.block(&Block::DropPort(DOH_PORT));
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "failed",
            diagnosis: "timeout",
            failure: Some("generic_timeout_error"),
            failed_operation: Some("tcp_connect"),
        },
    );
    check_exit(&s, 3);
}

#[test]
fn rst_on_syn_is_connection_refused() {
    let lab = lab!();
    lab.block(&Block::ResetSyn(DOH_PORT));
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "failed",
            diagnosis: "connection_refused",
            failure: Some("connection_refused"),
            failed_operation: Some("tcp_connect"),
        },
    );
    check_exit(&s, 3);
}

/// Handshake completes, the ClientHello (and anything after) gets a RST;
/// the control handshake is reset too, so this is not SNI filtering.
#[test]
fn rst_on_payload_is_connection_reset() {
    let lab = lab!();
    lab.block(&Block::ResetPayload(DOT_PORT));
    let s = scan(&lab, &[endpoint_dot(&lab, "DoT")]);
    check(
        &s,
        "DoT",
        &Expect {
            kind: "dot",
            verdict: "failed",
            diagnosis: "connection_reset",
            failure: Some("connection_reset"),
            failed_operation: Some("tls_handshake"),
        },
    );
    check_exit(&s, 3);
}

#[test]
fn icmp_unreachable_is_host_unreachable() {
    let lab = lab!();
    lab.block(&Block::IcmpHostUnreachable(DOH_PORT));
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "failed",
            diagnosis: "host_unreachable",
            failure: Some("host_unreachable"),
            failed_operation: Some("tcp_connect"),
        },
    );
    check_exit(&s, 3);
}

/// ClientHellos carrying "doh.test" vanish; one with the control SNI passes.
#[test]
fn sni_string_drop_is_sni_filtered() {
    let lab = lab!();
    lab.block(&Block::StringDrop {
        port: DOH_PORT,
        needle: DOH_HOST.into(),
    });
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "failed",
            diagnosis: "sni_filtered",
            failure: Some("generic_timeout_error"),
            failed_operation: Some("tls_handshake"),
        },
    );
    check_exit(&s, 3);
}

/// ClientHellos carrying "dot.test" are answered with a RST.
#[test]
fn sni_string_reset_is_sni_filtered() {
    let lab = lab!();
    lab.block(&Block::StringReset {
        port: DOT_PORT,
        needle: DOT_HOST.into(),
    });
    let s = scan(&lab, &[endpoint_dot(&lab, "DoT")]);
    check(
        &s,
        "DoT",
        &Expect {
            kind: "dot",
            verdict: "failed",
            diagnosis: "sni_filtered",
            failure: Some("connection_reset"),
            failed_operation: Some("tls_handshake"),
        },
    );
    check_exit(&s, 3);
}

/// The system resolver says doh.test is the spare address (nothing listens
/// there: RST); the bootstrap address is the real server.
#[test]
fn poisoned_hosts_to_closed_address_is_dns_poisoned() {
    let lab = lab!();
    lab.write_hosts(&[(&lab.spare_ip, DOH_HOST), (&lab.server_ip, DOT_HOST)]);
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "reachable",
            diagnosis: "dns_poisoned",
            failure: None,
            failed_operation: None,
        },
    );
    check_poisoned_address_failed(&s, "DoH", &lab.spare_ip, "connection_refused");
    check_exit(&s, 0);
}

/// Same, but the poisoned address is blackholed (drop) instead of closed.
#[test]
fn poisoned_hosts_to_dropped_address_is_dns_poisoned() {
    let lab = lab!();
    lab.write_hosts(&[(&lab.spare_ip, DOH_HOST), (&lab.server_ip, DOT_HOST)]);
    lab.block(&Block::DropAddr(lab.spare_ip.clone()));
    let s = scan(&lab, &[endpoint_doh(&lab, "DoH")]);
    check(
        &s,
        "DoH",
        &Expect {
            kind: "doh",
            verdict: "reachable",
            diagnosis: "dns_poisoned",
            failure: None,
            failed_operation: None,
        },
    );
    check_poisoned_address_failed(&s, "DoH", &lab.spare_ip, "generic_timeout_error");
    check_exit(&s, 0);
}

/// Without --ca-file the lab's certificate chains to nothing trusted.
#[test]
fn unknown_ca_is_certificate_invalid() {
    let lab = lab!();
    let s = scan_with(
        &lab,
        &[endpoint_doh(&lab, "DoH")],
        &["--probe-name", PROBE_NAME],
    );
    let r = s.get("DoH");
    let fail = |cond: bool, what: &str| {
        assert!(
            cond,
            "{what}\nrecord:\n{}\n{}",
            serde_json::to_string_pretty(r).unwrap(),
            s.dump()
        )
    };
    fail(r["verdict"] == "failed", "verdict should be failed");
    fail(
        r["diagnosis"] == "certificate_invalid",
        "diagnosis should be certificate_invalid",
    );
    fail(
        r["failed_operation"] == "tls_handshake",
        "failed_operation should be tls_handshake",
    );
    fail(
        r["failure"].as_str().is_some_and(|f| f.starts_with("ssl_")),
        "failure should be an OONI ssl_* string (ssl_unknown_authority)",
    );
    check_exit(&s, 3);
}

/// The resolver answers a random label under the probe name (redirect
/// zone): it lies about NXDOMAIN.
#[test]
fn wildcard_answers_are_lying_resolver() {
    let lab = lab!();
    let ca = lab.ca_file.to_str().unwrap().to_string();
    let s = scan_with(
        &lab,
        &[endpoint_doh(&lab, "DoH"), endpoint_dot(&lab, "DoT")],
        &["--ca-file", &ca, "--probe-name", LYING_PROBE_NAME],
    );
    for (label, kind) in [("DoH", "doh"), ("DoT", "dot")] {
        let r = s.get(label);
        assert!(
            r["kind"] == kind && r["verdict"] == "failed" && r["diagnosis"] == "lying_resolver",
            "{label}: want verdict failed / diagnosis lying_resolver\nrecord:\n{}\n{}",
            serde_json::to_string_pretty(r).unwrap(),
            s.dump()
        );
    }
    check_exit(&s, 3);
}

/// Wrong DoH path: dnsdist answers 404.
#[test]
fn wrong_doh_path_is_http_error() {
    let lab = lab!();
    let input = format!(
        "https://{DOH_HOST}/no-such-path bootstrap={} name=DoH",
        lab.server_ip
    );
    let s = scan(&lab, &[input]);
    let r = s.get("DoH");
    assert!(
        r["verdict"] == "failed"
            && r["diagnosis"] == "http_error"
            && r["failed_operation"] == "http_round_trip",
        "want failed / http_error / http_round_trip\nrecord:\n{}\n{}",
        serde_json::to_string_pretty(r).unwrap(),
        s.dump()
    );
    check_exit(&s, 3);
}

/// The harness itself: the real server answers DoH and DoT from local data
/// (checked with kdig when it is installed; independent of bridgescout).
#[test]
fn lab_server_answers_with_kdig() {
    let lab = lab!();
    if netns::find_tool("kdig").is_none() {
        eprintln!("NOTICE: kdig not installed (knot-dnsutils); lab self-check skipped");
        return;
    }
    let ca = format!("+tls-ca={}", lab.ca_file.display());
    let at = format!("@{}", lab.server_ip);
    let dot = lab.run_in_client(
        "kdig",
        &[
            &at,
            "+tls",
            &ca,
            "+tls-hostname=dot.test",
            "+short",
            PROBE_NAME,
            "A",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(
        dot.stdout.trim(),
        netns::PROBE_ADDR,
        "DoT via kdig: {dot:?}\n{}",
        lab.server_logs()
    );
    let doh = lab.run_in_client(
        "kdig",
        &[
            &at,
            "+https=/dns-query",
            &ca,
            "+tls-hostname=doh.test",
            "nx-check.probe.test",
            "A",
        ],
        Duration::from_secs(10),
    );
    assert!(
        doh.stdout.contains("status: NXDOMAIN"),
        "DoH via kdig: {doh:?}\n{}",
        lab.server_logs()
    );
}
