//! WireGuard and AmneziaWG probes end to end.
//!
//! * Against a REAL wireguard-go server in the server namespace of a
//!   [`VpnLab`] (tests/common/vpnlab.rs), with unbound answering DNS on the
//!   tunnel address behind it, and iptables interference: the real
//!   `bridgescout scan` binary runs in the client namespace and its JSONL
//!   is checked. Needs root + iproute2, iptables, wireguard-go,
//!   wireguard-tools, unbound (scripts/test installs them); fails loudly
//!   otherwise, unless BRIDGESCOUT_SKIP_NETNS=1.
//! * AmneziaWG has no Debian server: an in-process responder on loopback,
//!   built from boringtun with the AmneziaWG transforms written here
//!   independently of the probe's, checks junk packets, paddings, message
//!   types and mac1 as an AmneziaWG server would.
//!
//! Traffic goes only to loopback or to addresses inside the lab's namespaces.

#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blake2::digest::consts::U16;
use blake2::digest::{FixedOutput, KeyInit, Update};
use blake2::{Blake2s256, Blake2sMac, Digest};
use boringtun::noise::rate_limiter::RateLimiter;
use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::Value;
use tokio::net::UdpSocket;

use bridgescout::catalog::{Origin, parse_text};
use bridgescout::engine::{EngineConfig, run_all};
use bridgescout::measurement::{Diagnosis, Measurement, Operation, Verdict};
use bridgescout::probe::ProbeConfig;

use vpnlab::{Block, LabScan, VpnLab, require_tool, run_bounded};

const WG_PORT: u16 = 51820;
/// The server's tunnel address; client `i` has 10.66.0.<i + 2>.
const TUN_SERVER: &str = "10.66.0.1";
/// What the lab's unbound (netns.rs) answers for `probe.test A`.
const PROBE_NAME: &str = "probe.test";
const PROBE_ADDR: &str = "192.0.2.53";
/// Per-step timeout handed to the binary, seconds.
const TIMEOUT_SECS: &str = "2";
/// Hard bound on one scan run.
const RUN_DEADLINE: Duration = Duration::from_secs(30);
const CMD_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// The real-server lab

struct Keys {
    private: String,
    public: String,
}

fn wg_out(args: &[&str]) -> String {
    let out = run_bounded(Command::new("wg").args(args), CMD_DEADLINE);
    assert_eq!(out.code(), Some(0), "wg {args:?}: {}", out.stderr);
    out.stdout.trim().to_string()
}

fn genkey() -> Keys {
    let private = wg_out(&["genkey"]);
    let out = run_bounded(
        Command::new("sh").args(["-c", "printf '%s\\n' \"$1\" | wg pubkey", "sh", &private]),
        CMD_DEADLINE,
    );
    assert_eq!(out.code(), Some(0), "wg pubkey: {}", out.stderr);
    Keys {
        private,
        public: out.stdout.trim().to_string(),
    }
}

/// A wireguard-go server (interface from [`VpnLab::wg_iface`], 10.66.0.1/24,
/// UDP 51820) that knows `clients` clients, each with its own key, tunnel
/// address and the one preshared key, and unbound on 10.66.0.1:53 behind
/// it. Parallel probes of configs sharing one key would race on the
/// server's handshake state, so every config of a test gets its own client.
struct WgLab {
    lab: VpnLab,
    server: Keys,
    clients: Vec<Keys>,
    psk: String,
}

fn tun_client(i: usize) -> String {
    format!("10.66.0.{}", i + 2)
}

impl WgLab {
    fn start(test: &str, clients: usize) -> Option<WgLab> {
        let mut lab = VpnLab::start(test)?;
        require_tool(test, "wireguard-go", "wireguard-go");
        require_tool(test, "wg", "wireguard-tools");
        require_tool(test, "unbound", "unbound");
        let server = genkey();
        let clients: Vec<Keys> = (0..clients).map(|_| genkey()).collect();
        let psk = wg_out(&["genpsk"]);
        let iface = lab.wg_iface();
        lab.spawn_in_server("wireguard-go", &["wireguard-go", "-f", &iface]);
        let sock = PathBuf::from(format!("/var/run/wireguard/{iface}.sock"));
        let until = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(
                Instant::now() < until,
                "wireguard-go made no control socket:\n{}",
                lab.server_logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let key_file = lab.dir.join("server.key");
        let psk_file = lab.dir.join("client.psk");
        std::fs::write(&key_file, format!("{}\n", server.private)).unwrap();
        std::fs::write(&psk_file, format!("{psk}\n")).unwrap();
        let port = WG_PORT.to_string();
        let mut argv: Vec<String> = [
            "wg",
            "set",
            &iface,
            "private-key",
            key_file.to_str().unwrap(),
            "listen-port",
            &port,
        ]
        .map(String::from)
        .to_vec();
        for (i, c) in clients.iter().enumerate() {
            argv.extend([
                "peer".to_string(),
                c.public.clone(),
                "preshared-key".to_string(),
                psk_file.to_str().unwrap().to_string(),
                "allowed-ips".to_string(),
                format!("{}/32", tun_client(i)),
            ]);
        }
        let set = lab.run_in_server(&argv, CMD_DEADLINE);
        assert_eq!(set.code(), Some(0), "wg set: {}{}", set.stdout, set.stderr);
        lab.server_ip_cmd(&["addr", "add", &format!("{TUN_SERVER}/24"), "dev", &iface]);
        lab.server_ip_cmd(&["link", "set", &iface, "up"]);
        // unbound binds the tunnel address, so it starts after it exists.
        lab.spawn_unbound(TUN_SERVER, 53, "10.66.0.0/24");
        lab.wait_udp(&[format!("{TUN_SERVER}:53"), format!("0.0.0.0:{WG_PORT}")]);
        Some(WgLab {
            lab,
            server,
            clients,
            psk,
        })
    }

    fn endpoint(&self) -> String {
        format!("{}:{WG_PORT}", self.lab.server_ip)
    }

    /// A config for client `i`'s tunnel address with the given keys, the
    /// lab's DNS server and `extra` [Interface] lines.
    fn conf(
        &self,
        i: usize,
        private: &str,
        server_public: &str,
        psk: Option<&str>,
        extra: &str,
    ) -> String {
        let psk_line = psk
            .map(|p| format!("PresharedKey = {p}\n"))
            .unwrap_or_default();
        format!(
            "# bridgescout test client\n[Interface]\nPrivateKey = {private}\nAddress = {}/32\nDNS = {TUN_SERVER}, lab.test\nMTU = 1420\n{extra}\n\n[Peer]\nPublicKey = {server_public}\n{psk_line}AllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = {}\nPersistentKeepalive = 25\n",
            tun_client(i),
            self.endpoint()
        )
    }

    /// Client `i`'s working config.
    fn good_conf(&self, i: usize) -> String {
        self.conf(
            i,
            &self.clients[i].private,
            &self.server.public,
            Some(&self.psk),
            "",
        )
    }

    fn write(&self, name: &str, body: &str) -> PathBuf {
        let dir = self.lab.dir.join("configs");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    /// Every secret any config of this lab holds.
    fn secrets(&self) -> Vec<String> {
        let mut v: Vec<String> = self.clients.iter().map(|c| c.private.clone()).collect();
        v.extend([self.server.private.clone(), self.psk.clone()]);
        v
    }

    fn scan(&self, input: &Path) -> LabScan {
        let args = [input.to_str().unwrap(), "--probe-name", PROBE_NAME].map(String::from);
        self.lab.scan_jsonl(&args, TIMEOUT_SECS, RUN_DEADLINE)
    }
}

/// Neither output stream shows any secret, whole or its first 16 characters.
fn assert_no_secrets(scan: &LabScan, secrets: &[String]) {
    let needles: Vec<String> = secrets
        .iter()
        .flat_map(|s| [s.clone(), s.chars().take(16).collect()])
        .collect();
    scan.assert_absent(&needles);
}

fn step<'a>(r: &'a Value, op: &str) -> Option<&'a Value> {
    r["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["operation"] == op))
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn notes(r: &Value) -> String {
    r["notes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// Reachable with a verified handshake and a DNS answer through the tunnel.
fn assert_reachable(scan: &LabScan, label: &str) {
    let r = scan.find(label);
    let why = || format!("{label}: {r:#}\n{}", scan.dump);
    assert_eq!(s(r, "verdict"), "reachable", "{}", why());
    assert_eq!(s(r, "diagnosis"), "ok", "{}", why());
    let hs = step(r, "wireguard_handshake").unwrap_or_else(|| panic!("{}", why()));
    assert!(hs["failure"].is_null(), "{}", why());
    assert!(s(hs, "detail").contains("handshake in"), "{}", why());
    let data = step(r, "tunnel_data").unwrap_or_else(|| panic!("{}", why()));
    assert!(data["failure"].is_null(), "{}", why());
    assert!(s(data, "detail").contains(PROBE_ADDR), "{}", why());
    assert_eq!(s(data, "target"), format!("{TUN_SERVER}:53"), "{}", why());
    assert!(r["latency_ms"].as_f64().is_some(), "{}", why());
    assert!(
        notes(r).contains("DNS query through the tunnel was answered"),
        "{}",
        why()
    );
    eprintln!(
        "{label}: handshake {:.1} ms ({}); data: {}",
        r["latency_ms"].as_f64().unwrap_or(-1.0),
        s(hs, "detail"),
        s(data, "detail")
    );
}

fn assert_failed(scan: &LabScan, label: &str, diagnosis: &str, failure: &str, op: &str) {
    let r = scan.find(label);
    let why = || format!("{label}: {r:#}\n{}", scan.dump);
    assert_eq!(s(r, "verdict"), "failed", "{}", why());
    assert_eq!(s(r, "diagnosis"), diagnosis, "{}", why());
    assert_eq!(s(r, "failure"), failure, "{}", why());
    assert_eq!(s(r, "failed_operation"), op, "{}", why());
}

/// (a), (b), (f): one scan of a folder of configs against the real server.
#[test]
fn real_wireguard_server_folder_scan() {
    let Some(wl) = WgLab::start(module_path!(), 5) else {
        return;
    };
    let stranger = genkey();
    let wrong_psk = wg_out(&["genpsk"]);
    let (server, k) = (&wl.server.public, |i: usize| wl.clients[i].private.as_str());
    let dir = wl
        .write("good.conf", &wl.good_conf(0))
        .parent()
        .unwrap()
        .to_path_buf();
    // (b) not the server's key, or a key the server does not know: silence.
    let cfg = wl.conf(1, k(1), &stranger.public, Some(&wl.psk), "");
    wl.write("wrongserver.conf", &cfg);
    let cfg = wl.conf(1, &stranger.private, server, Some(&wl.psk), "");
    wl.write("stranger.conf", &cfg);
    // The server knows the client but derives other keys: its response
    // does not verify.
    wl.write(
        "wrongpsk.conf",
        &wl.conf(2, k(2), server, Some(&wrong_psk), ""),
    );
    // Without DNS there is no data test, and the handshake still counts.
    wl.write(
        "nodns.conf",
        &wl.good_conf(3)
            .replace(&format!("DNS = {TUN_SERVER}, lab.test\n"), ""),
    );
    // AmneziaWG against a plain server: the transforms must really be
    // applied, so the server ignores us.
    let awg = "Jc = 2\nJmin = 20\nJmax = 40\nS1 = 15\nS2 = 30\nH1 = 111111\nH2 = 222222\nH3 = 333333\nH4 = 444444";
    wl.write(
        "amnezia.conf",
        &wl.conf(4, k(4), server, Some(&wl.psk), awg),
    );
    // A broken file: reported with its line, without the key.
    wl.write("broken.conf", &wl.conf(0, &k(0)[..30], server, None, ""));

    let started = Instant::now();
    let scan = wl.scan(&dir);
    eprintln!("folder scan took {:?}", started.elapsed());
    let ip = wl.lab.server_ip.clone();

    // (a)
    assert_reachable(&scan, &format!("wg good {ip}:{WG_PORT}"));
    let good = scan.find("wg good ");
    assert_eq!(s(good, "kind"), "wireguard");
    assert_eq!(
        s(step(good, "wireguard_handshake").unwrap(), "target"),
        format!("{ip}:{WG_PORT}")
    );
    // (b)
    for label in ["wg wrongserver ", "wg stranger "] {
        assert_failed(
            &scan,
            label,
            "no_response",
            "generic_timeout_error",
            "wireguard_handshake",
        );
        let r = scan.find(label);
        assert!(step(r, "tunnel_data").is_none(), "{r:#}");
        assert!(notes(r).contains("stays silent"), "{r:#}");
    }
    assert_failed(
        &scan,
        "wg wrongpsk ",
        "auth_failed",
        "unknown_failure: handshake response did not verify",
        "wireguard_handshake",
    );
    assert!(notes(scan.find("wg wrongpsk ")).contains("PresharedKey"));
    let nodns = scan.find("wg nodns ");
    assert_eq!(s(nodns, "verdict"), "reachable", "{nodns:#}");
    assert!(step(nodns, "tunnel_data").is_none(), "{nodns:#}");
    assert!(
        notes(nodns).contains("No DNS server in the config"),
        "{nodns:#}"
    );
    let awg = scan.find("awg amnezia ");
    assert_eq!(s(awg, "kind"), "amneziawg", "{awg:#}");
    assert_eq!(s(awg, "diagnosis"), "no_response", "{awg:#}");
    // (f) every config of the folder is there, the broken one as an error.
    assert_eq!(scan.records.len(), 6, "{}", scan.dump);
    assert!(
        scan.stderr.contains("broken.conf:3") && scan.stderr.contains("PrivateKey"),
        "{}",
        scan.dump
    );
    let mut secrets = wl.secrets();
    secrets.extend([stranger.private.clone(), wrong_psk.clone()]);
    assert_no_secrets(&scan, &secrets);
}

/// (c), (d): silent drop and ICMP port-unreachable on UDP 51820, then the
/// same config works once the rules are gone.
#[test]
fn real_wireguard_server_udp_drop_and_icmp() {
    let Some(wl) = WgLab::start(module_path!(), 1) else {
        return;
    };
    let conf = wl.write("home.conf", &wl.good_conf(0));
    let label = "wg home ";

    wl.lab.block(&Block::DropUdpPort(WG_PORT));
    let scan = wl.scan(&conf);
    assert_failed(
        &scan,
        label,
        "no_response",
        "generic_timeout_error",
        "wireguard_handshake",
    );
    let r = scan.find(label);
    let hs = step(r, "wireguard_handshake").unwrap();
    assert!(s(hs, "detail").contains("initiations"), "{r:#}");
    assert!(notes(r).contains("stays silent"), "{r:#}");
    assert_no_secrets(&scan, &wl.secrets());
    wl.lab.clear_blocks();

    wl.lab.block(&Block::IcmpPortUnreachableUdp(WG_PORT));
    let scan = wl.scan(&conf);
    assert_failed(
        &scan,
        label,
        "port_unreachable",
        "connection_refused",
        "wireguard_handshake",
    );
    assert!(notes(scan.find(label)).contains("ICMP port-unreachable"));
    wl.lab.clear_blocks();

    let scan = wl.scan(&conf);
    assert_reachable(&scan, label);
}

/// (e): the handshake passes, then the flow is cut: failed, stalled.
#[test]
fn real_wireguard_server_data_cut_is_stalled() {
    let Some(wl) = WgLab::start(module_path!(), 1) else {
        return;
    };
    let conf = wl.write("cut.conf", &wl.good_conf(0));
    // Initiation 176 + response 120 bytes of IP; the keepalive and the DNS
    // query come after 300 and are dropped.
    wl.lab.block(&Block::CutAfterBytes {
        port: WG_PORT,
        proto: "udp",
        bytes: 300,
    });
    let scan = wl.scan(&conf);
    let label = "wg cut ";
    assert_failed(
        &scan,
        label,
        "stalled",
        "generic_timeout_error",
        "tunnel_data",
    );
    let r = scan.find(label);
    assert!(
        step(r, "wireguard_handshake").unwrap()["failure"].is_null(),
        "{r:#}"
    );
    assert!(
        s(step(r, "tunnel_data").unwrap(), "detail").contains("no answer"),
        "{r:#}"
    );
    assert!(
        r["latency_ms"].as_f64().is_some(),
        "handshake RTT kept: {r:#}"
    );
    assert_no_secrets(&scan, &wl.secrets());
}

// ---------------------------------------------------------------------------
// AmneziaWG: an in-process responder on loopback

/// Server-side AmneziaWG settings (written independently of the probe).
#[derive(Clone)]
struct AwgSide {
    jc: usize,
    jmin: usize,
    jmax: usize,
    s1: usize,
    s2: usize,
    s4: usize,
    /// Ranges of H1–H4.
    h: [(u32, u32); 4],
    /// More `[Interface]` lines for the client config only.
    extra: &'static str,
}

impl AwgSide {
    fn conf_lines(&self) -> String {
        let r = |(a, b): (u32, u32)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        };
        format!(
            "Jc = {}\nJmin = {}\nJmax = {}\nS1 = {}\nS2 = {}\nS4 = {}\nH1 = {}\nH2 = {}\nH3 = {}\nH4 = {}\n",
            self.jc,
            self.jmin,
            self.jmax,
            self.s1,
            self.s2,
            self.s4,
            r(self.h[0]),
            r(self.h[1]),
            r(self.h[2]),
            r(self.h[3])
        ) + self.extra
    }
}

#[derive(Default, Debug)]
struct Seen {
    junk: Vec<usize>,
    initiations: usize,
    /// Initiations whose mac1 over the retyped bytes was wrong.
    bad_mac1: usize,
    data: usize,
    dns_answered: usize,
    /// IPv4/UDP checksums of the probe's packet were wrong.
    bad_checksum: usize,
}

fn mac1_key(public: &[u8; 32]) -> [u8; 32] {
    let mut h = Blake2s256::new();
    Digest::update(&mut h, b"mac1----");
    Digest::update(&mut h, public);
    h.finalize().into()
}

fn mac16(key: &[u8; 32], data: &[u8]) -> [u8; 16] {
    let mut m = <Blake2sMac<U16> as KeyInit>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize_fixed().into()
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

fn ones_complement(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The DNS query in an IPv4/UDP packet, checksums checked; and the reply
/// packet carrying `answer` back.
fn dns_reply_packet(ip: &[u8], seen: &mut Seen) -> Option<Vec<u8>> {
    if ip[0] != 0x45 || ip[9] != 17 {
        return None;
    }
    let (src, dst) = (&ip[12..16], &ip[16..20]);
    let udp = &ip[20..usize::from(u16::from_be_bytes([ip[2], ip[3]]))];
    let pseudo = [src, dst, &[0, 17], &(udp.len() as u16).to_be_bytes()].concat();
    if ones_complement(&[&ip[..20]]) != 0 || ones_complement(&[&pseudo, udp]) != 0 {
        seen.bad_checksum += 1;
        return None;
    }
    let query = Message::from_vec(&udp[8..]).ok()?;
    let q = query.queries.first()?.clone();
    let mut msg = Message::response(query.metadata.id, OpCode::Query);
    msg.add_query(Query::query(q.name().clone(), q.query_type()));
    if q.query_type() == RecordType::A {
        msg.add_answer(Record::from_rdata(
            q.name().clone(),
            60,
            RData::A(A::new(192, 0, 2, 53)),
        ));
    }
    let dns = msg.to_vec().ok()?;
    let ulen = (8 + dns.len()) as u16;
    let mut u = [&udp[2..4], &udp[0..2], &ulen.to_be_bytes(), &[0, 0]].concat();
    u.extend_from_slice(&dns);
    let pseudo = [dst, src, &[0, 17], &ulen.to_be_bytes()].concat();
    let sum = ones_complement(&[&pseudo, &u]);
    u[6..8].copy_from_slice(&sum.to_be_bytes());
    let total = (20 + u.len()) as u16;
    let mut h = [
        &[0x45, 0][..],
        &total.to_be_bytes(),
        &[0, 0, 0, 0, 64, 17, 0, 0],
        dst,
        src,
    ]
    .concat();
    let hs = ones_complement(&[&h]);
    h[10..12].copy_from_slice(&hs.to_be_bytes());
    h.extend_from_slice(&u);
    seen.dns_answered += 1;
    Some(h)
}

/// Answers AmneziaWG handshakes and DNS queries through the tunnel until
/// the socket errors; what it saw goes to `seen`.
async fn awg_responder(
    sock: UdpSocket,
    server: StaticSecret,
    client_public: PublicKey,
    side: AwgSide,
    seen: Arc<Mutex<Seen>>,
) {
    let server_public = PublicKey::from(&server);
    let limiter = Arc::new(RateLimiter::new(&server_public, u64::MAX));
    let mut tunn = Tunn::new(server, client_public, None, None, 7, Some(limiter));
    let to_server = mac1_key(server_public.as_bytes());
    let to_client = mac1_key(client_public.as_bytes());
    let in_range = |t: u32, i: usize| side.h[i].0 <= t && t <= side.h[i].1;
    let mut buf = vec![0u8; 65_535];
    let mut out = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            return;
        };
        let d = &buf[..n];
        let mut reply: Option<Vec<u8>> = None;
        if n == side.s1 + 148 && in_range(le32(&d[side.s1..]), 0) {
            let mut m = d[side.s1..].to_vec();
            let mut s = seen.lock().unwrap();
            s.initiations += 1;
            // The AmneziaWG server's check: mac1 over the bytes as sent.
            if mac16(&to_server, &m[..116]) != m[116..132] {
                s.bad_mac1 += 1;
                continue;
            }
            drop(s);
            m[..4].copy_from_slice(&1u32.to_le_bytes());
            let mac = mac16(&to_server, &m[..116]);
            m[116..132].copy_from_slice(&mac);
            if let TunnResult::WriteToNetwork(r) = tunn.decapsulate(Some(from.ip()), &m, &mut out) {
                let mut r = r.to_vec();
                r[..4].copy_from_slice(&side.h[1].1.to_le_bytes());
                let mac = mac16(&to_client, &r[..60]);
                r[60..76].copy_from_slice(&mac);
                let mut w: Vec<u8> = (0..side.s2).map(|_| rand::random()).collect();
                w.extend_from_slice(&r);
                reply = Some(w);
            }
        } else if n >= side.s4 + 32 && in_range(le32(&d[side.s4..]), 3) {
            let mut m = d[side.s4..].to_vec();
            m[..4].copy_from_slice(&4u32.to_le_bytes());
            seen.lock().unwrap().data += 1;
            let ip = match tunn.decapsulate(Some(from.ip()), &m, &mut out) {
                TunnResult::WriteToTunnelV4(p, _) => p.to_vec(),
                _ => continue,
            };
            let Some(answer) = dns_reply_packet(&ip, &mut seen.lock().unwrap()) else {
                continue;
            };
            let mut enc = vec![0u8; answer.len() + 64];
            if let TunnResult::WriteToNetwork(w) = tunn.encapsulate(&answer, &mut enc) {
                let mut w = w.to_vec();
                w[..4].copy_from_slice(&side.h[3].0.to_le_bytes());
                let mut p: Vec<u8> = (0..side.s4).map(|_| rand::random()).collect();
                p.extend_from_slice(&w);
                reply = Some(p);
            }
        } else {
            seen.lock().unwrap().junk.push(n);
        }
        if let Some(r) = reply {
            let _ = sock.send_to(&r, from).await;
        }
    }
}

struct AwgRun {
    m: Measurement,
    seen: Seen,
}

/// Runs the probe (library API, as the scan does) on a config whose
/// AmneziaWG lines are `client_side`, against a responder using `server_side`.
async fn awg_run(server_side: AwgSide, client_side: &AwgSide, dns: bool) -> AwgRun {
    let server = StaticSecret::from(rand::random::<[u8; 32]>());
    let client = StaticSecret::from(rand::random::<[u8; 32]>());
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let task = tokio::spawn(awg_responder(
        sock,
        server.clone(),
        PublicKey::from(&client),
        server_side,
        seen.clone(),
    ));
    let dns_line = if dns { "DNS = 10.66.0.1\n" } else { "" };
    let text = format!(
        "[Interface]\nPrivateKey = {}\nAddress = 10.66.0.2/32\n{dns_line}{}\n[Peer]\nPublicKey = {}\nEndpoint = 127.0.0.1:{port}\n",
        b64(&client.to_bytes()),
        client_side.conf_lines(),
        b64(PublicKey::from(&server).as_bytes()),
    );
    let catalog = parse_text(&text, "/configs/awg-test.conf", Origin::User);
    assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
    let config = EngineConfig {
        concurrency: 4,
        probe: ProbeConfig {
            step_timeout: Duration::from_millis(1_500),
            probe_name: PROBE_NAME.into(),
            system_resolver: false,
            ..ProbeConfig::default()
        },
    };
    let mut all = tokio::time::timeout(Duration::from_secs(20), run_all(catalog.endpoints, config))
        .await
        .expect("probe took too long");
    task.abort();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    AwgRun {
        m: all.remove(0),
        seen,
    }
}

fn awg_1x() -> AwgSide {
    AwgSide {
        jc: 4,
        jmin: 40,
        jmax: 70,
        s1: 15,
        s2: 68,
        s4: 0,
        h: [
            (1_020_325_451, 1_020_325_451),
            (3_288_052_141, 3_288_052_141),
            (1_766_607_858, 1_766_607_858),
            (2_528_465_083, 2_528_465_083),
        ],
        extra: "",
    }
}

#[tokio::test]
async fn amneziawg_1x_against_in_process_responder() {
    let side = awg_1x();
    let run = awg_run(side.clone(), &side, true).await;
    let (m, seen) = (&run.m, &run.seen);
    assert_eq!(m.endpoint.kind.as_str(), "amneziawg", "{m:#?}");
    assert_eq!(m.verdict, Verdict::Reachable, "{m:#?}\n{seen:?}");
    assert_eq!(m.diagnosis, Diagnosis::Ok);
    assert!(
        m.steps
            .iter()
            .any(|s| s.operation == Operation::TunnelData && s.failure.is_none())
    );
    // Jc junk packets of Jmin..=Jmax bytes before the one initiation.
    assert_eq!(seen.initiations, 1, "{seen:?}");
    assert_eq!(seen.bad_mac1, 0, "{seen:?}");
    assert_eq!(seen.junk.len(), 4, "{seen:?}");
    assert!(seen.junk.iter().all(|n| (40..=70).contains(n)), "{seen:?}");
    // Keepalive, then the query; its packet's checksums were right.
    assert_eq!(seen.bad_checksum, 0, "{seen:?}");
    assert_eq!(seen.dns_answered, 1, "{seen:?}");
    assert!(seen.data >= 2, "{seen:?}");
    eprintln!(
        "AmneziaWG 1.x in-process: latency {:?} ms, steps {:?}",
        m.latency_ms,
        m.steps
            .iter()
            .map(|s| (s.operation, s.detail.clone()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn amneziawg_2_ranges_and_transport_padding() {
    let side = AwgSide {
        jc: 0,
        jmin: 0,
        jmax: 0,
        s1: 32,
        s2: 40,
        s4: 12,
        h: [(100, 199), (200, 299), (300, 399), (400, 499)],
        // AWG 1.5 decoys: accepted, not sent, and said so.
        extra: "I1 = <b 0xc0ff><r 16>\n",
    };
    let run = awg_run(side.clone(), &side, true).await;
    assert_eq!(
        run.m.verdict,
        Verdict::Reachable,
        "{:#?}\n{:?}",
        run.m,
        run.seen
    );
    assert_eq!(run.seen.dns_answered, 1, "{:?}", run.seen);
    assert!(run.seen.junk.is_empty(), "{:?}", run.seen);
    assert!(
        run.m.notes.iter().any(|n| n.contains("I1 decoy packets")),
        "{:?}",
        run.m.notes
    );
}

/// Parameters that differ from the server's: silence, never reachable.
#[tokio::test]
async fn amneziawg_wrong_parameters_are_no_response() {
    let server_side = awg_1x();
    let mut client_side = awg_1x();
    client_side.h[0] = (12_345, 12_345);
    let run = awg_run(server_side.clone(), &client_side, true).await;
    assert_eq!(run.m.verdict, Verdict::Failed, "{:#?}", run.m);
    assert_eq!(run.m.diagnosis, Diagnosis::NoResponse, "{:#?}", run.m);
    assert_eq!(run.seen.initiations, 0, "{:?}", run.seen);
    assert!(
        run.m.notes.iter().any(|n| n.contains("AmneziaWG")),
        "{:?}",
        run.m.notes
    );

    // A wrong S1 makes the size wrong: the server never sees an initiation.
    let mut client_side = awg_1x();
    client_side.s1 = 16;
    let run = awg_run(server_side, &client_side, false).await;
    assert_eq!(run.m.diagnosis, Diagnosis::NoResponse, "{:#?}", run.m);
}

/// Without DNS in the config: the handshake alone, with a note.
#[tokio::test]
async fn amneziawg_without_dns_has_no_data_test() {
    let side = awg_1x();
    let run = awg_run(side.clone(), &side, false).await;
    assert_eq!(run.m.verdict, Verdict::Reachable, "{:#?}", run.m);
    assert!(
        !run.m
            .steps
            .iter()
            .any(|s| s.operation == Operation::TunnelData)
    );
    assert!(
        run.m
            .notes
            .iter()
            .any(|n| n.contains("No DNS server in the config")),
        "{:?}",
        run.m.notes
    );
}
