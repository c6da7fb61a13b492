//! Smoke test of the VPN namespace lab (tests/common/vpnlab.rs): a real
//! UDP+TCP server (unbound, local data only, on server_ip:53) in the server
//! namespace, queried from the client namespace, then interference from
//! iptables in the server namespace: silent UDP drop, ICMP port- and
//! host-unreachable for UDP, and a TCP flow cut after its handshake.
//! Traffic stays inside the lab's namespaces.
//!
//! Two clients: `kdig` (a real DNS client; it sends from an UNCONNECTED UDP
//! socket, so ICMP errors never reach it and a rejected query looks like a
//! dropped one, a timeout) and a CONNECTED UDP socket from bash's
//! `/dev/udp`, which sees ICMP port-unreachable as an immediate
//! ECONNREFUSED. ICMP host-unreachable is a "soft" error that Linux does
//! not report to UDP sockets (without IP_RECVERR), so there the test
//! checks that the ICMP packet really reached the client namespace.
//!
//! Needs root + iproute2, iptables, unbound, knot-dnsutils (scripts/test
//! installs them); fails loudly otherwise, unless BRIDGESCOUT_SKIP_NETNS=1.

#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vpnlab::{Block, RunOutput, VpnLab, require_tool, run_bounded};

const DNS_PORT: u16 = 53;
/// Answer of the lab's unbound for `probe.test A` (netns.rs PROBE_ADDR).
const PROBE_ADDR: &str = "192.0.2.53";
const PROBE_ADDR_BYTES: [u8; 4] = [192, 0, 2, 53];
/// Per-query timeout of both clients, seconds.
const QUERY_TIMEOUT: &str = "1";
/// Hard bound on one client run (it is killed after this).
const RUN_DEADLINE: Duration = Duration::from_secs(5);
/// A failure reported by ICMP must come well before the query timeout.
const FAST: Duration = Duration::from_millis(700);
/// Waiting out the query timeout takes at least this.
const SLOW: Duration = Duration::from_millis(900);

/// Sends a DNS query for `probe.test A` (id 0x1234) from a connected UDP
/// socket to `$1:$2`, prints the reply as hex bytes. Exit 124: no reply
/// within the timeout; 1 with `Connection refused`: ICMP port-unreachable.
const UDP_PROBE: &str = r#"exec 3<>"/dev/udp/$1/$2" || exit 2
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x04test\x00\x00\x01\x00\x01' >&3
set -o pipefail
timeout "$3" dd bs=4096 count=1 status=none <&3 | od -An -v -tx1"#;

fn label(tcp: bool) -> &'static str {
    if tcp { "TCP" } else { "UDP" }
}

/// `kdig @server_ip probe.test A` from the client namespace.
fn kdig(lab: &VpnLab, tcp: bool) -> RunOutput {
    let args = [
        format!("@{}", lab.server_ip),
        "-p".into(),
        DNS_PORT.to_string(),
        if tcp { "+tcp" } else { "+notcp" }.into(),
        format!("+timeout={QUERY_TIMEOUT}"),
        "+retry=0".into(),
        "+short".into(),
        "probe.test".into(),
        "A".into(),
    ];
    bounded(lab, lab.run_in_client("kdig", &args, RUN_DEADLINE))
}

/// [`UDP_PROBE`] from the client namespace to server_ip:53.
fn udp_probe(lab: &VpnLab) -> RunOutput {
    let port = DNS_PORT.to_string();
    let args = [
        "-c",
        UDP_PROBE,
        "udp-probe",
        &lab.server_ip,
        &port,
        QUERY_TIMEOUT,
    ];
    bounded(lab, lab.run_in_client("bash", &args, RUN_DEADLINE))
}

fn bounded(lab: &VpnLab, out: RunOutput) -> RunOutput {
    assert!(
        !out.timed_out,
        "client hung past {RUN_DEADLINE:?} despite its {QUERY_TIMEOUT} s timeout: {}",
        show(lab, &out)
    );
    out
}

/// The reply of [`udp_probe`] carries the A record.
fn probe_answered(out: &RunOutput) -> bool {
    let bytes: Vec<u8> = out
        .stdout
        .split_whitespace()
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    out.code() == Some(0) && bytes.windows(4).any(|w| w == PROBE_ADDR_BYTES)
}

fn show(lab: &VpnLab, out: &RunOutput) -> String {
    format!(
        "exit {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- iptables (server ns) ---\n{}\n{}",
        out.code(),
        out.elapsed,
        out.stdout,
        out.stderr,
        lab.rules(),
        lab.server_logs()
    )
}

fn assert_kdig_answers(lab: &VpnLab, tcp: bool, why: &str) {
    let out = kdig(lab, tcp);
    assert!(
        out.code() == Some(0) && out.stdout.trim() == PROBE_ADDR,
        "{why}: kdig expected {PROBE_ADDR} over {}: {}",
        label(tcp),
        show(lab, &out)
    );
}

/// kdig gets no answer and reports its own response timeout.
fn assert_kdig_times_out(lab: &VpnLab, tcp: bool, why: &str) {
    let out = kdig(lab, tcp);
    assert!(
        out.code() != Some(0)
            && !out.stdout.contains(PROBE_ADDR)
            && out.stderr.contains("timeout")
            && out.elapsed >= SLOW,
        "{why}: kdig over {} should time out after {QUERY_TIMEOUT} s: {}",
        label(tcp),
        show(lab, &out)
    );
}

/// Packets counted by the client-namespace rule matching `icmp_type`.
fn icmp_seen(lab: &VpnLab, icmp_type: &str) -> u64 {
    let rules = lab.client_iptables(&["-v", "-S", "INPUT"]);
    rules
        .lines()
        .find(|l| l.contains("-p icmp"))
        .and_then(|l| l.split(" -c ").nth(1))
        .and_then(|c| c.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter for icmp {icmp_type} in:\n{rules}"))
}

#[test]
fn vpnlab_udp_tcp_server_and_udp_interference() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    require_tool(test, "kdig", "knot-dnsutils");
    require_tool(test, "unbound", "unbound");

    // Nothing leaves the client namespace by name resolution.
    let resolv =
        std::fs::read_to_string(format!("/etc/netns/{}/resolv.conf", lab.client_ns)).unwrap();
    assert!(resolv.contains("nameserver 127.0.0.1"), "{resolv}");
    assert!(lab.server_ip.starts_with("10.78."), "{}", lab.server_ip);
    assert!(
        lab.server_ip_cmd(&["-4", "addr", "show"])
            .contains(&lab.spare_ip),
        "spare address missing in the server namespace"
    );

    let ip = lab.server_ip.clone();
    lab.spawn_unbound(&ip, DNS_PORT, "0.0.0.0/0");
    let addr = [format!("{ip}:{DNS_PORT}")];
    lab.wait_udp(&addr);
    lab.wait_tcp(&addr);

    assert_kdig_answers(&lab, false, "no interference");
    assert_kdig_answers(&lab, true, "no interference");
    let out = udp_probe(&lab);
    assert!(
        probe_answered(&out),
        "connected UDP probe got no answer: {}",
        show(&lab, &out)
    );

    // Silent UDP drop: both clients wait out their timeout; TCP unaffected.
    let silent = Block::DropUdpPort(DNS_PORT);
    lab.block(&silent);
    assert_kdig_times_out(&lab, false, "DropUdpPort");
    let out = udp_probe(&lab);
    assert!(
        out.code() == Some(124) && out.elapsed >= SLOW,
        "DropUdpPort: connected UDP probe should time out: {}",
        show(&lab, &out)
    );
    assert_kdig_answers(&lab, true, "DropUdpPort leaves TCP alone");
    lab.unblock(&silent);
    assert_kdig_answers(&lab, false, "after unblock(DropUdpPort)");

    // ICMP port-unreachable: the connected socket fails at once with
    // ECONNREFUSED (kdig's unconnected socket would only time out).
    let refuse = Block::IcmpPortUnreachableUdp(DNS_PORT);
    lab.block(&refuse);
    let out = udp_probe(&lab);
    assert!(
        out.code() == Some(1) && out.stderr.contains("Connection refused") && out.elapsed < FAST,
        "IcmpPortUnreachableUdp: expected an immediate `Connection refused`: {}",
        show(&lab, &out)
    );
    assert_kdig_answers(&lab, true, "IcmpPortUnreachableUdp leaves TCP alone");
    lab.clear_blocks();

    // ICMP host-unreachable: no answer, and the ICMP error does arrive.
    lab.client_iptables(&[
        "-A",
        "INPUT",
        "-p",
        "icmp",
        "--icmp-type",
        "host-unreachable",
    ]);
    let before = icmp_seen(&lab, "host-unreachable");
    lab.block(&Block::IcmpHostUnreachableUdp(DNS_PORT));
    let out = udp_probe(&lab);
    assert!(
        !probe_answered(&out) && out.code() != Some(0),
        "IcmpHostUnreachableUdp: got an answer: {}",
        show(&lab, &out)
    );
    let after = icmp_seen(&lab, "host-unreachable");
    assert!(
        after > before,
        "IcmpHostUnreachableUdp: no ICMP host-unreachable reached the client ({before} → {after}): {}",
        show(&lab, &out)
    );
    lab.clear_blocks();

    // Cut a TCP flow once it has carried 100 bytes (SYN 60 + SYN-ACK 60):
    // the handshake completes, the query never arrives. UDP (one short
    // datagram each way) and a large budget are not affected.
    lab.block(&Block::CutAfterBytes {
        port: DNS_PORT,
        proto: "tcp",
        bytes: 100,
    });
    assert_kdig_times_out(&lab, true, "CutAfterBytes tcp 100");
    assert_kdig_answers(&lab, false, "CutAfterBytes tcp leaves UDP alone");
    lab.clear_blocks();
    lab.block(&Block::CutAfterBytes {
        port: DNS_PORT,
        proto: "tcp",
        bytes: 100_000,
    });
    assert_kdig_answers(&lab, true, "CutAfterBytes with a large budget");

    // Teardown removes the namespaces, their /etc/netns files and the
    // registered wireguard-go socket paths.
    let (c, s) = (lab.client_ns.clone(), lab.server_ns.clone());
    let wg = lab.wg_iface();
    assert!(wg.len() <= 15, "{wg}");
    drop(lab);
    let list = run_bounded(Command::new("ip").args(["netns", "list"]), RUN_DEADLINE).stdout;
    assert!(
        !list.contains(&c) && !list.contains(&s),
        "namespaces left behind:\n{list}"
    );
    assert!(!Path::new(&format!("/etc/netns/{c}")).exists());
    assert!(!Path::new(&format!("/etc/netns/{s}")).exists());
    assert!(!Path::new(&format!("/var/run/wireguard/{wg}.sock")).exists());
}
