//! IKEv2 end to end: the real `bridgescout` binary in a client namespace
//! sends `IKE_SA_INIT` to strongSwan's charon in a server namespace (see
//! tests/common/vpnlab.rs), with and without iptables interference.
//!
//! charon runs with a private strongswan.conf (`STRONGSWAN_CONF`), a
//! minimal plugin list and, because its pid file and vici socket paths are
//! fixed under /run, inside its own mount namespace where the lab's
//! temporary directory is bind-mounted over /run: it never touches the
//! host's files, and parallel tests never see each other's charon.
//! Connections are loaded over that private vici socket with swanctl.
//!
//! Needs root + iproute2, iptables, strongswan-charon, strongswan-swanctl
//! (scripts/test installs them); fails loudly otherwise, unless
//! BRIDGESCOUT_SKIP_NETNS=1. Traffic stays inside the lab's namespaces.

#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vpnlab::{Block, LabScan, VpnLab, require_tool, run_bounded};

/// Per-operation timeout handed to the binary, seconds.
const TIMEOUT_SECS: &str = "2";
/// Hard bound on one scan run.
const RUN_DEADLINE: Duration = Duration::from_secs(20);

struct Charon {
    /// `unix://…` address of this charon's vici socket.
    vici: String,
    conf: PathBuf,
}

/// strongswan.conf: only the plugins an IKEv2 responder needs (no resolve,
/// stroke or updown plugin that would edit system files), logs to stdout.
const STRONGSWAN_CONF: &str = r#"charon {
  load_modular = no
  load = random nonce openssl pem pkcs1 x509 revocation constraints pubkey hmac kdf sha1 sha2 aes gcm kernel-netlink socket-default vici
  port = 500
  port_nat_t = 4500
  install_routes = no
  install_virtual_ip = no
  # Cookies from the third half-open IKE_SA of one peer on (default: 3),
  # so the COOKIE round trip is exercised deterministically; never drop.
  cookie_threshold_ip = 2
  cookie_threshold = 100
  block_threshold = 100
  plugins {
    vici {
      socket = unix:///run/charon.vici
    }
  }
  filelog {
    stdout {
      path = /dev/stdout
      default = 1
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
swanctl {
  load = pem pkcs1 x509 revocation constraints pubkey openssl random
}
"#;

/// Two responders: on the main address a modern proposal (curve25519, the
/// group bridgescout sends), on the spare address a MODP-2048-only one (so
/// charon asks for another group with INVALID_KE_PAYLOAD).
fn swanctl_conf(lab: &VpnLab) -> String {
    format!(
        r#"connections {{
  modern {{
    version = 2
    local_addrs = {server}
    proposals = aes256gcm16-prfsha256-x25519
    local {{
      auth = psk
      id = server.test
    }}
    remote {{
      auth = psk
    }}
    children {{
      c {{
        esp_proposals = aes256gcm16
      }}
    }}
  }}
  legacy {{
    version = 2
    local_addrs = {spare}
    proposals = aes256-sha256-modp2048
    local {{
      auth = psk
      id = server.test
    }}
    remote {{
      auth = psk
    }}
    children {{
      c {{
        esp_proposals = aes256-sha256
      }}
    }}
  }}
}}
secrets {{
  ike-lab {{
    secret = "lab-only-psk-not-used-by-the-probe"
  }}
}}
"#,
        server = lab.server_ip,
        spare = lab.spare_ip
    )
}

/// Starts charon in the server namespace (no connections loaded yet) and
/// waits until it listens on UDP 500 and 4500.
fn start_charon(lab: &mut VpnLab, test: &str) -> Charon {
    let charon = require_tool(test, "charon", "strongswan-charon");
    require_tool(test, "swanctl", "strongswan-swanctl");
    require_tool(test, "unshare", "util-linux");
    let run = lab.dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let conf = lab.dir.join("strongswan.conf");
    std::fs::write(&conf, STRONGSWAN_CONF).unwrap();
    // /var/run rather than /run: the bind follows the symlink where there
    // is one, and covers a real /var/run directory where there is not.
    let script = format!(
        "mount --bind '{}' /var/run && exec '{}'",
        run.display(),
        charon.display()
    );
    lab.spawn_in_server_with_env(
        "charon",
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ],
        &[("STRONGSWAN_CONF", conf.to_str().unwrap())],
    );
    lab.wait_udp(&["0.0.0.0:500".to_string(), "0.0.0.0:4500".to_string()]);
    Charon {
        vici: format!("unix://{}", run.join("charon.vici").display()),
        conf,
    }
}

/// Loads [`swanctl_conf`] into charon over its private vici socket.
fn load_connections(lab: &VpnLab, charon: &Charon) {
    let file = lab.dir.join("swanctl.conf");
    std::fs::write(&file, swanctl_conf(lab)).unwrap();
    // The socket appears shortly after the UDP ports.
    let socket = lab.dir.join("run").join("charon.vici");
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = run_bounded(
        Command::new("swanctl")
            .args(["--load-all", "--noprompt", "--uri", &charon.vici, "--file"])
            .arg(&file)
            .env("STRONGSWAN_CONF", &charon.conf),
        Duration::from_secs(10),
    );
    assert!(
        out.code() == Some(0) && out.stdout.contains("successfully loaded 2 connections"),
        "swanctl --load-all failed: {}\n{}\n{}",
        out.stdout,
        out.stderr,
        lab.server_logs()
    );
}

fn scan(lab: &VpnLab, inputs: &[String]) -> LabScan {
    lab.scan_jsonl(inputs, TIMEOUT_SECS, RUN_DEADLINE)
}

/// (target, detail, failure) of every `ike_sa_init` step of `label`.
fn ike_steps(scan: &LabScan, label: &str) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    scan.get(label)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["operation"] == "ike_sa_init")
        .map(|st| (s(&st["target"]), s(&st["detail"]), s(&st["failure"])))
        .collect()
}

fn label(ip: &str) -> String {
    format!("ike {ip}")
}

fn assert_verdict(scan: &LabScan, label: &str, verdict: &str, diagnosis: &str) {
    let r = scan.get(label);
    assert_eq!(r["kind"], "ikev2", "{}", scan.dump);
    assert_eq!(r["verdict"], verdict, "{label}\n{}", scan.dump);
    assert_eq!(r["diagnosis"], diagnosis, "{label}\n{}", scan.dump);
}

fn notes(scan: &LabScan, label: &str) -> String {
    scan.get(label)["notes"].to_string()
}

#[test]
fn ike_responder_answers_on_500_and_4500() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    let charon = start_charon(&mut lab, test);
    let (server, spare) = (lab.server_ip.clone(), lab.spare_ip.clone());

    // No connection configured: charon still answers, with
    // NO_PROPOSAL_CHOSEN, on both ports.
    let s = scan(&lab, &[format!("ike://{server}")]);
    assert_verdict(&s, &label(&server), "reachable", "ok");
    let steps = ike_steps(&s, &label(&server));
    assert_eq!(steps.len(), 2, "{}", s.dump);
    for port in [500, 4500] {
        let target = format!("{server}:{port}");
        assert!(
            steps
                .iter()
                .any(|(t, d, f)| *t == target && d == "NO_PROPOSAL_CHOSEN" && f.is_empty()),
            "{target}: {steps:?}\n{}",
            s.dump
        );
    }
    assert!(
        notes(&s, &label(&server)).contains("UDP 500 and UDP 4500"),
        "{}",
        s.dump
    );
    assert!(s.get(&label(&server))["latency_ms"].as_f64().is_some());

    // With connections: our curve25519 proposal is chosen. One port per
    // scan, so the two half-open IKE_SAs come one after the other.
    load_connections(&lab, &charon);
    for port in [500, 4500] {
        let s = scan(&lab, &[format!("ike://{server}:{port}")]);
        assert_verdict(&s, &label(&server), "reachable", "ok");
        let steps = ike_steps(&s, &label(&server));
        assert_eq!(
            steps,
            [(
                format!("{server}:{port}"),
                "SA chosen (group 31)".to_string(),
                String::new()
            )],
            "{}",
            s.dump
        );
    }

    // Two half-open IKE_SAs from our address now: charon demands a cookie;
    // echoing it gets the real answer, here from the MODP-only responder
    // that wants another group.
    let s = scan(&lab, &[format!("ikev2://{spare}")]);
    assert_verdict(&s, &label(&spare), "reachable", "ok");
    let steps = ike_steps(&s, &label(&spare));
    assert_eq!(steps.len(), 2, "{}", s.dump);
    for (target, detail, failure) in &steps {
        assert!(
            detail == "COOKIE, then INVALID_KE_PAYLOAD (wants group 14)" && failure.is_empty(),
            "{target}: {steps:?}\n{}",
            s.dump
        );
    }
    assert!(
        notes(&s, &label(&spare)).contains("INVALID_KE_PAYLOAD"),
        "{}",
        s.dump
    );
}

#[test]
fn ike_interference_gives_the_right_codes() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    start_charon(&mut lab, test);
    let server = lab.server_ip.clone();
    let l = label(&server);
    let input = [format!("ike://{server}")];

    // Silent drop of both ports: no_response, after the timeout, with the
    // note that a key problem cannot cause this.
    let drops = [Block::DropUdpPort(500), Block::DropUdpPort(4500)];
    for b in &drops {
        lab.block(b);
    }
    let s = scan(&lab, &input);
    assert_verdict(&s, &l, "failed", "no_response");
    let r = s.get(&l);
    assert_eq!(r["failed_operation"], "ike_sa_init", "{}", s.dump);
    assert_eq!(r["failure"], "generic_timeout_error", "{}", s.dump);
    assert!(notes(&s, &l).contains("cannot cause this"), "{}", s.dump);
    assert_eq!(ike_steps(&s, &l).len(), 2, "{}", s.dump);
    assert!(s.elapsed >= Duration::from_millis(1900), "{}", s.dump);
    lab.clear_blocks();

    // Only 500 dropped: reachable through 4500, and the note says so.
    lab.block(&drops[0]);
    let s = scan(&lab, &input);
    assert_verdict(&s, &l, "reachable", "ok");
    let n = notes(&s, &l);
    assert!(
        n.contains("answered on UDP 4500") && n.contains("UDP 500 did not answer"),
        "{}",
        s.dump
    );
    lab.clear_blocks();

    // ICMP port unreachable on both: port_unreachable, at once.
    for p in [500, 4500] {
        lab.block(&Block::IcmpPortUnreachableUdp(p));
    }
    let s = scan(&lab, &input);
    assert_verdict(&s, &l, "failed", "port_unreachable");
    assert_eq!(s.get(&l)["failure"], "connection_refused", "{}", s.dump);
    assert!(
        ike_steps(&s, &l)
            .iter()
            .all(|(_, _, f)| f == "connection_refused"),
        "{}",
        s.dump
    );
    assert!(s.elapsed < Duration::from_millis(1500), "{}", s.dump);
    lab.clear_blocks();

    // ICMP host unreachable (a firewall's REJECT): reported as such, at
    // once, not mistaken for silence.
    for p in [500, 4500] {
        lab.block(&Block::IcmpHostUnreachableUdp(p));
    }
    let s = scan(&lab, &input);
    assert_verdict(&s, &l, "failed", "host_unreachable");
    assert_eq!(s.get(&l)["failure"], "host_unreachable", "{}", s.dump);
    assert!(s.elapsed < Duration::from_millis(1500), "{}", s.dump);
}
