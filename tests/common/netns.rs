//! Network-namespace lab for integration tests that need a REAL DoH/DoT
//! server and REAL packet-level interference (drops, resets, ICMP, SNI
//! matching), without sending a single packet off this machine.
//!
//! Layout of one [`Lab`] (all names carry the test process id and a
//! per-process counter, so parallel tests and parallel test binaries never
//! collide):
//!
//! ```text
//!   client ns  bs-<pid>-<seq>-c          server ns  bs-<pid>-<seq>-s
//!   ┌────────────────────────┐  veth   ┌──────────────────────────────────┐
//!   │ 10.77.<n>.1/24         │─────────│ 10.77.<n>.2/24  dnsdist :443 DoH │
//!   │ /etc/netns/<c>/hosts   │         │                 dnsdist :853 DoT │
//!   │ /etc/netns/<c>/resolv  │         │ 10.77.<n>.3/24  (nothing listens)│
//!   └────────────────────────┘         │ 127.0.0.1:5300  unbound (local   │
//!                                      │                 data only)       │
//!                                      └──────────────────────────────────┘
//! ```
//!
//! The server namespace has no route anywhere but the veth subnet and
//! loopback; unbound refuses everything outside its local zones and never
//! recurses; dnsdist's security polling is disabled. Addresses are local to
//! the namespaces, so the `10.77.<n>` subnet cannot clash with anything.
//!
//! DNS data served (see [`PROBE_NAME`], [`LYING_PROBE_NAME`]):
//! * `probe.test.  A 192.0.2.53`; any other name under `test.` → NXDOMAIN
//!   (an honest resolver for `--probe-name probe.test`).
//! * `wild.test.` is a redirect zone: it and every name below it answer
//!   `A 192.0.2.54` (a lying resolver for `--probe-name wild.test`).
//! * Everything else → REFUSED.
//!
//! Interference is added with iptables in the server namespace's INPUT
//! chain ([`NsPair::block`]); the system resolver of the client namespace is
//! steered with `/etc/netns/<client>/hosts` ([`NsPair::write_hosts`]).
//!
//! The namespace pair itself (veth, addresses, `/etc/netns` files, server
//! processes, iptables, teardown) is [`NsPair`]; [`Lab`] wraps one and
//! dereferences to it, so `lab.server_ip`, `lab.block(..)` etc. are the
//! pair's. Other labs (`vpnlab.rs`) build their own [`NsPair`] with a
//! different name tag and subnet.
//!
//! Requirements: root, `ip` (iproute2), `ss`, `iptables`, `unbound`,
//! `dnsdist`. If any is missing the lab PANICS with a clear message (CI
//! installs them via `scripts/test`), unless `BRIDGESCOUT_SKIP_NETNS=1`,
//! in which case [`Lab::start`] returns `None` after printing a notice.
//!
//! Everything is torn down on `Drop` (also when the test panics): server
//! processes killed, namespaces deleted, `/etc/netns/<name>` removed.
//! Namespaces left behind by a test process that was SIGKILLed are reaped
//! by the next lab start.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

// Both harnesses include this file so each also works alone (`#[path]`
// from a bench or test); in `common` that loads it twice, on purpose.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
pub use process::{RunOutput, run_bounded};

/// Name with an A record in the honest zone.
pub const PROBE_NAME: &str = "probe.test";
/// Address `PROBE_NAME` resolves to.
pub const PROBE_ADDR: &str = "192.0.2.53";
/// Name whose every subdomain also "exists" (wildcard/redirect → lying).
pub const LYING_PROBE_NAME: &str = "wild.test";
/// Host names on the server certificate.
pub const DOH_HOST: &str = "doh.test";
pub const DOT_HOST: &str = "dot.test";
pub const DOH_PORT: u16 = 443;
pub const DOT_PORT: u16 = 853;
/// Port of the plain-DNS unbound backend on the server's loopback.
const BACKEND_PORT: u16 = 5300;
/// Prefix of every namespace these harnesses create; after it comes an
/// optional alphabetic lab tag, then the creating process id.
const NS_PREFIX: &str = "bs-";

const SKIP_ENV: &str = "BRIDGESCOUT_SKIP_NETNS";
const READY_DEADLINE: Duration = Duration::from_secs(15);
const CMD_DEADLINE: Duration = Duration::from_secs(20);

/// Tools every namespace lab needs, with their Debian packages.
pub const BASE_TOOLS: [(&str, &str); 3] = [
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("iptables", "iptables"),
];

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A kind of interference, installed with iptables in the server namespace.
/// Every rule matches traffic towards the server only (INPUT chain);
/// everything else is untouched.
#[derive(Debug, Clone)]
pub enum Block {
    /// Silently drop every TCP packet to `port` (SYNs go unanswered →
    /// timeout).
    DropPort(u16),
    /// Answer the SYN to `port` with a TCP RST (→ connection refused).
    ResetSyn(u16),
    /// Let the 3-way handshake complete, then answer the first packet that
    /// carries data (the TLS ClientHello) with a TCP RST (→ connection reset).
    ResetPayload(u16),
    /// Answer every TCP packet to `port` with ICMP host-unreachable.
    IcmpHostUnreachable(u16),
    /// Drop TCP packets to `port` containing `needle` (e.g. the SNI in the
    /// ClientHello); the TCP handshake still succeeds.
    StringDrop { port: u16, needle: String },
    /// Same match, but answer with a TCP RST.
    StringReset { port: u16, needle: String },
    /// Drop every packet to destination address `ip` (all ports).
    DropAddr(String),
    /// Silently drop every UDP datagram to `port` (→ timeout).
    DropUdpPort(u16),
    /// Answer every UDP datagram to `port` with ICMP port-unreachable
    /// (a connected UDP socket sees ECONNREFUSED at once).
    IcmpPortUnreachableUdp(u16),
    /// Answer every UDP datagram to `port` with ICMP host-unreachable
    /// (EHOSTUNREACH).
    IcmpHostUnreachableUdp(u16),
    /// Let a flow to `port` (`proto` is `"tcp"` or `"udp"`) through until
    /// the connection has carried `bytes` bytes (both directions, IP
    /// headers included, as counted by conntrack), then drop every further
    /// packet towards the server, e.g. to cut a tunnel after its handshake.
    CutAfterBytes {
        port: u16,
        proto: &'static str,
        bytes: u64,
    },
}

impl Block {
    fn rule(&self) -> Vec<String> {
        const DROP: &[&str] = &["-j", "DROP"];
        const RST: &[&str] = &["-j", "REJECT", "--reject-with", "tcp-reset"];
        let on = |proto: &str, port: &u16, parts: &[&[&str]]| -> Vec<String> {
            let port = port.to_string();
            let mut r: Vec<String> = ["-p", proto, "--dport", &port].map(String::from).to_vec();
            r.extend(parts.iter().flat_map(|p| p.iter().map(|s| s.to_string())));
            r
        };
        let reject = |with: &'static str| ["-j", "REJECT", "--reject-with", with];
        fn string(needle: &str) -> [&str; 6] {
            ["-m", "string", "--algo", "bm", "--string", needle]
        }
        match self {
            Block::DropPort(p) => on("tcp", p, &[DROP]),
            Block::ResetSyn(p) => on("tcp", p, &[&["--syn"], RST]),
            // Packet #3 of the flow in the original direction is the first
            // one after SYN and the handshake ACK, i.e. the ClientHello (the
            // rule also hits any later packet).
            Block::ResetPayload(p) => on(
                "tcp",
                p,
                &[
                    &["-m", "connbytes", "--connbytes", "3:"],
                    &["--connbytes-dir", "original", "--connbytes-mode", "packets"],
                    RST,
                ],
            ),
            Block::IcmpHostUnreachable(p) => on("tcp", p, &[&reject("icmp-host-unreachable")]),
            Block::StringDrop { port, needle } => on("tcp", port, &[&string(needle), DROP]),
            Block::StringReset { port, needle } => on("tcp", port, &[&string(needle), RST]),
            Block::DropAddr(ip) => ["-d", ip, "-j", "DROP"].map(String::from).to_vec(),
            Block::DropUdpPort(p) => on("udp", p, &[DROP]),
            Block::IcmpPortUnreachableUdp(p) => on("udp", p, &[&reject("icmp-port-unreachable")]),
            Block::IcmpHostUnreachableUdp(p) => on("udp", p, &[&reject("icmp-host-unreachable")]),
            Block::CutAfterBytes { port, proto, bytes } => {
                assert!(
                    matches!(*proto, "tcp" | "udp"),
                    "Block::CutAfterBytes: proto must be \"tcp\" or \"udp\", not {proto:?}"
                );
                let from = format!("{bytes}:");
                on(
                    proto,
                    port,
                    &[
                        &["-m", "connbytes", "--connbytes", &from],
                        &["--connbytes-dir", "both", "--connbytes-mode", "bytes"],
                        DROP,
                    ],
                )
            }
        }
    }
}

fn skip_requested() -> bool {
    std::env::var(SKIP_ENV).map(|v| v == "1").unwrap_or(false)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Fails (panics) unless the [`Lab`] can run; returns false (after a
/// notice) when BRIDGESCOUT_SKIP_NETNS=1.
pub fn preflight(test: &str) -> bool {
    let mut tools = BASE_TOOLS.to_vec();
    tools.extend([("unbound", "unbound"), ("dnsdist", "dnsdist")]);
    preflight_tools(test, &tools)
}

/// Like [`preflight`], for a lab that needs root plus `tools`
/// (`(program, Debian package)` pairs).
pub fn preflight_tools(test: &str, tools: &[(&str, &str)]) -> bool {
    if skip_requested() {
        eprintln!("NOTICE: {test}: skipped because {SKIP_ENV}=1 (netns/real-server tests not run)");
        return false;
    }
    let mut problems = Vec::new();
    if !is_root() {
        problems
            .push("not running as root (network namespaces and iptables need root)".to_string());
    }
    for (tool, pkg) in tools {
        if find_tool(tool).is_none() {
            problems.push(format!("`{tool}` not found (apt-get install {pkg})"));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{test}: the network-namespace test lab cannot run:\n  - {}\n\
             Run the suite with scripts/test (installs everything, needs root), \
             or set {SKIP_ENV}=1 to skip these tests explicitly.",
            problems.join("\n  - ")
        );
    }
    true
}

/// Runs a setup command and panics with its output unless it succeeds.
fn must(args: &[&str]) -> String {
    let (prog, rest) = args.split_first().expect("empty command");
    let out = run_bounded(Command::new(prog).args(rest), CMD_DEADLINE);
    if out.code() != Some(0) {
        panic!(
            "netns lab: `{}` failed ({:?}{}):\n{}{}",
            args.join(" "),
            out.status,
            if out.timed_out { ", timed out" } else { "" },
            out.stdout,
            out.stderr
        );
    }
    out.stdout
}

/// Best effort, for teardown.
fn quiet(args: &[&str]) -> String {
    let (prog, rest) = args.split_first().expect("empty command");
    run_bounded(Command::new(prog).args(rest), CMD_DEADLINE).stdout
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Kills processes inside a namespace and deletes it (teardown helper).
fn destroy_ns(ns: &str) {
    for round in 0..2 {
        let pids = quiet(&["ip", "netns", "pids", ns]);
        let pids: Vec<&str> = pids.split_whitespace().collect();
        if pids.is_empty() {
            break;
        }
        let sig = if round == 0 { "-TERM" } else { "-KILL" };
        let mut args = vec!["kill", sig];
        args.extend(pids.iter().copied());
        quiet(&args);
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && !quiet(&["ip", "netns", "pids", ns]).trim().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    quiet(&["ip", "netns", "del", ns]);
    let _ = std::fs::remove_dir_all(format!("/etc/netns/{ns}"));
}

/// Reaps namespaces left by test processes that died without running Drop
/// (of every lab kind: `bs-<pid>-…` and `bs-<tag><pid>-…`).
fn reap_stale() {
    let list = quiet(&["ip", "netns", "list"]);
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !pid_alive(pid) {
            eprintln!("netns lab: reaping stale namespace {name} (pid {pid} is gone)");
            destroy_ns(name);
        }
    }
}

struct Certs {
    ca_pem: String,
    server_chain_pem: String,
    server_key_pem: String,
}

fn make_certs() -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "bridgescout netns test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf =
        CertificateParams::new(vec![DOH_HOST.to_string(), DOT_HOST.to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, DOH_HOST);
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Certs {
        ca_pem: ca_cert.pem(),
        server_chain_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        server_key_pem: leaf_key.serialize_pem(),
    }
}

/// unbound.conf serving the lab's local zones (see the module docs) on
/// `listen_ip@port`, answering clients in `allow` (a CIDR); `server_ip` is
/// where `doh.test` and `dot.test` point.
pub fn unbound_conf(
    dir: &Path,
    listen_ip: &str,
    port: u16,
    allow: &str,
    server_ip: &str,
) -> String {
    format!(
        r#"# Local data only: no recursion, no forwarders, nothing outside test. zones.
server:
  interface: {listen_ip}@{port}
  port: {port}
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  username: ""
  chroot: ""
  directory: "{dir}"
  pidfile: ""
  do-ip6: no
  num-threads: 1
  access-control: {allow} allow
  do-not-query-localhost: yes
  module-config: "iterator"
  root-hints: ""
  local-zone: "." refuse
  local-zone: "test." static
  local-data: "test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300"
  local-data: "{PROBE_NAME}. 300 IN A {PROBE_ADDR}"
  local-data: "{DOH_HOST}. 300 IN A {server_ip}"
  local-data: "{DOT_HOST}. 300 IN A {server_ip}"
  local-zone: "{LYING_PROBE_NAME}." redirect
  local-data: "{LYING_PROBE_NAME}. 300 IN A 192.0.2.54"
remote-control:
  control-enable: no
"#,
        dir = dir.display()
    )
}

fn dnsdist_conf(dir: &Path, server_ip: &str) -> String {
    let d = dir.display();
    format!(
        r#"-- Front end only; every query goes to the local unbound.
setSecurityPollSuffix("")
setACL({{"0.0.0.0/0"}})
setLocal("127.0.0.1:5353")
local backend = newServer{{address="127.0.0.1:{BACKEND_PORT}", checkName="{PROBE_NAME}."}}
backend:setUp()
addDOHLocal("{server_ip}:{DOH_PORT}", "{d}/server.pem", "{d}/server.key", "/dns-query")
addTLSLocal("{server_ip}:{DOT_PORT}", "{d}/server.pem", "{d}/server.key")
"#
    )
}

/// A client/server namespace pair joined by a veth, with no server
/// processes of its own: the part every lab shares. Owns what it creates
/// and tears it all down on `Drop` (processes spawned with
/// [`NsPair::spawn_in_server`], namespaces, `/etc/netns/<name>`, paths
/// registered with [`NsPair::remove_on_drop`]).
pub struct NsPair {
    pub server_ns: String,
    pub client_ns: String,
    /// Client address (10.<o>.<n>.1).
    pub client_ip: String,
    /// Main server address (10.<o>.<n>.2).
    pub server_ip: String,
    /// Second address of the server namespace where nothing listens
    /// (10.<o>.<n>.3): connecting gets a RST unless a rule drops it.
    pub spare_ip: String,
    /// Private temporary directory for configs, keys and logs.
    pub dir: PathBuf,
    procs: Vec<(String, Child)>,
    netns_created: Vec<String>,
    remove_on_drop: Vec<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

impl NsPair {
    /// Builds a namespace pair (call a preflight first). `tag` (ASCII
    /// letters, may be empty) goes into the namespace and interface names
    /// so labs of different kinds never collide, even when each has its
    /// own counter; addresses are `10.<octet>.<n>.0/24`. The client's
    /// resolv.conf points at its own loopback (nothing listens there) and
    /// its hosts file only knows localhost. Panics (after tearing down what
    /// exists) if anything fails.
    pub fn create(tag: &str, octet: u8) -> NsPair {
        assert!(
            tag.chars().all(|c| c.is_ascii_alphabetic()),
            "lab tag must be ASCII letters: {tag:?}"
        );
        reap_stale();
        let pid = std::process::id();
        // Subnet number: distinct for the labs of one process, and spread by
        // pid across processes (e.g. under nextest). Addresses live only
        // inside the lab's namespaces, so even a repeat would not clash.
        let seq = COUNTER.fetch_add(1, Ordering::SeqCst);
        let n = (pid.wrapping_mul(7).wrapping_add(seq)) % 250 + 1;
        let base = format!("{NS_PREFIX}{tag}{pid}-{seq}");
        let tmp = tempfile::Builder::new()
            .prefix(&format!("bs-netns{tag}-"))
            .tempdir()
            .expect("tempdir");
        let mut pair = NsPair {
            server_ns: format!("{base}-s"),
            client_ns: format!("{base}-c"),
            client_ip: format!("10.{octet}.{n}.1"),
            server_ip: format!("10.{octet}.{n}.2"),
            spare_ip: format!("10.{octet}.{n}.3"),
            dir: tmp.path().to_path_buf(),
            procs: Vec::new(),
            netns_created: Vec::new(),
            remove_on_drop: Vec::new(),
            _tmp: Some(tmp),
        };
        // From here on a panic drops `pair`, which tears down what exists.
        pair.build_network(&format!("bs{tag}{pid}"), seq);
        pair
    }

    fn build_network(&mut self, veth_base: &str, seq: u32) {
        let (s, c) = (self.server_ns.clone(), self.client_ns.clone());
        for ns in [&s, &c] {
            must(&["ip", "netns", "add", ns]);
            self.netns_created.push(ns.clone());
        }
        // Interface names are per-namespace; keep them short (<= 15 chars).
        let (vs, vc) = (
            format!("{veth_base}s{}", seq % 1000),
            format!("{veth_base}c{}", seq % 1000),
        );
        must(&[
            "ip", "link", "add", &vs, "netns", &s, "type", "veth", "peer", "name", &vc, "netns", &c,
        ]);
        for (ns, ip, dev) in [
            (&s, &self.server_ip, &vs),
            (&s, &self.spare_ip, &vs),
            (&c, &self.client_ip, &vc),
        ] {
            must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                dev,
            ]);
        }
        for (ns, dev) in [(&s, &vs), (&c, &vc)] {
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            must(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        // The client's system resolver: DNS goes to the namespace's own
        // loopback where nothing listens (fails fast, never leaves the
        // namespace); labs add hosts entries as they need them.
        self.write_resolv_conf("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
        self.write_hosts(&[]);
        // Same for the server namespace, so nothing there can ask the host's
        // resolver either.
        let sdir = format!("/etc/netns/{s}");
        std::fs::create_dir_all(&sdir).unwrap();
        std::fs::write(format!("{sdir}/resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        std::fs::write(format!("{sdir}/hosts"), "127.0.0.1 localhost\n").unwrap();
    }

    /// Starts `argv` in the server namespace, stdout+stderr to
    /// `dir/<name>.log`; it is killed on drop.
    pub fn spawn_in_server(&mut self, name: &str, argv: &[&str]) {
        self.spawn_in_server_with_env(name, argv, &[]);
    }

    /// [`NsPair::spawn_in_server`] with extra environment variables.
    pub fn spawn_in_server_with_env(&mut self, name: &str, argv: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .args(argv)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.procs.push((name.to_string(), child));
    }

    /// Writes `dir/unbound.conf` ([`unbound_conf`] for `listen_ip@port`,
    /// clients in `allow`), has unbound-checkconf vet it when installed,
    /// and starts unbound (log `unbound.log`) in the server namespace. Does
    /// not wait: follow with [`NsPair::wait_udp`]/[`NsPair::wait_tcp`].
    pub fn spawn_unbound(&mut self, listen_ip: &str, port: u16, allow: &str) {
        let conf = self.dir.join("unbound.conf");
        let body = unbound_conf(&self.dir, listen_ip, port, allow, &self.server_ip);
        std::fs::write(&conf, body).unwrap();
        if find_tool("unbound-checkconf").is_some() {
            let out = run_bounded(Command::new("unbound-checkconf").arg(&conf), CMD_DEADLINE);
            if out.code() != Some(0) {
                panic!("unbound config rejected:\n{}{}", out.stdout, out.stderr);
            }
        }
        self.spawn_in_server("unbound", &["unbound", "-d", "-c", conf.to_str().unwrap()]);
    }

    /// Polls `ss -Hltn` in the server namespace until all `addrs`
    /// (`ip:port`, as ss prints them) listen on TCP; panics (with every
    /// server log) at the deadline or when a server process exits.
    pub fn wait_tcp(&mut self, addrs: &[String]) {
        self.wait_listening("-Hltn", "TCP", addrs);
    }

    /// Like [`NsPair::wait_tcp`] for UDP sockets (`ss -Hlun`).
    pub fn wait_udp(&mut self, addrs: &[String]) {
        self.wait_listening("-Hlun", "UDP", addrs);
    }

    fn wait_listening(&mut self, ss_flags: &str, proto: &str, addrs: &[String]) {
        let until = Instant::now() + READY_DEADLINE;
        loop {
            let ss = quiet(&["ip", "netns", "exec", &self.server_ns, "ss", ss_flags]);
            let local: Vec<&str> = ss
                .lines()
                .filter_map(|l| l.split_whitespace().nth(3))
                .collect();
            if addrs.iter().all(|a| local.contains(&a.as_str())) {
                return;
            }
            let exited = self.procs.iter_mut().find_map(|(name, child)| {
                child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map(|st| format!("{name} ({st})"))
            });
            if let Some(what) = exited {
                panic!(
                    "{what} exited during startup; logs:\n{}",
                    self.server_logs()
                );
            }
            if Instant::now() > until {
                panic!(
                    "servers not listening on {proto} {addrs:?} after {READY_DEADLINE:?}; ss says:\n{ss}\nlogs:\n{}",
                    self.server_logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Contents of the logs of every process started with
    /// [`NsPair::spawn_in_server`] (for failure messages).
    pub fn server_logs(&self) -> String {
        let mut s = String::new();
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &self.procs {
            if seen.contains(&name.as_str()) {
                continue;
            }
            seen.push(name);
            let body =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let _ = writeln!(s, "--- {name}.log ---\n{body}");
        }
        s
    }

    fn ns_cmd(ns: &str, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }

    /// `ip netns exec <client> <program>`: add args and run it (e.g. with
    /// [`run_bounded`]). The program sees the client's hosts/resolv.conf.
    pub fn client_cmd(&self, program: impl AsRef<OsStr>) -> Command {
        Self::ns_cmd(&self.client_ns, program)
    }

    /// `ip netns exec <server> <program>`.
    pub fn server_cmd(&self, program: impl AsRef<OsStr>) -> Command {
        Self::ns_cmd(&self.server_ns, program)
    }

    /// Runs a program in the client namespace with a deadline.
    pub fn run_in_client<S: AsRef<OsStr>>(
        &self,
        program: impl AsRef<OsStr>,
        args: &[S],
        deadline: Duration,
    ) -> RunOutput {
        let mut c = self.client_cmd(program);
        c.args(args);
        run_bounded(&mut c, deadline)
    }

    /// Runs `argv` (program first) in the server namespace with a deadline.
    pub fn run_in_server<S: AsRef<OsStr>>(&self, argv: &[S], deadline: Duration) -> RunOutput {
        let (program, args) = argv.split_first().expect("empty command");
        let mut c = self.server_cmd(program);
        c.args(args);
        run_bounded(&mut c, deadline)
    }

    /// `ip -n <server> <args…>` (e.g. `["addr", "add", "10.9.0.1/24", "dev",
    /// "wg0"]`); panics unless it succeeds, returns stdout.
    pub fn server_ip_cmd(&self, args: &[&str]) -> String {
        let mut argv = vec!["ip", "-n", &self.server_ns];
        argv.extend_from_slice(args);
        must(&argv)
    }

    fn ns_iptables(ns: &str, args: &[&str]) -> String {
        let mut argv = vec!["ip", "netns", "exec", ns, "iptables", "-w", "5"];
        argv.extend_from_slice(args);
        must(&argv)
    }

    /// Runs iptables in the server namespace.
    pub fn server_iptables(&self, args: &[&str]) -> String {
        Self::ns_iptables(&self.server_ns, args)
    }

    /// Runs iptables in the client namespace (e.g. a counting rule that
    /// shows which ICMP errors reached the client).
    pub fn client_iptables(&self, args: &[&str]) -> String {
        Self::ns_iptables(&self.client_ns, args)
    }

    /// Installs an interference rule in the server namespace's INPUT chain.
    pub fn block(&self, b: &Block) {
        let rule = b.rule();
        let mut args = vec!["-A", "INPUT"];
        args.extend(rule.iter().map(String::as_str));
        self.server_iptables(&args);
    }

    /// Removes one rule added with [`NsPair::block`].
    pub fn unblock(&self, b: &Block) {
        let rule = b.rule();
        let mut args = vec!["-D", "INPUT"];
        args.extend(rule.iter().map(String::as_str));
        self.server_iptables(&args);
    }

    /// Removes all interference rules.
    pub fn clear_blocks(&self) {
        self.server_iptables(&["-F", "INPUT"]);
    }

    /// `iptables -S` of the server namespace (for failure messages).
    pub fn rules(&self) -> String {
        self.server_iptables(&["-S", "INPUT"])
    }

    /// Rewrites `/etc/netns/<client>/hosts` (what the client's system
    /// resolver answers; `ip netns exec` bind-mounts it over /etc/hosts for
    /// each command started afterwards).
    pub fn write_hosts(&self, entries: &[(&str, &str)]) {
        let mut s = String::from("127.0.0.1 localhost\n");
        for (ip, name) in entries {
            let _ = writeln!(s, "{ip} {name}");
        }
        let dir = format!("/etc/netns/{}", self.client_ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/hosts"), s).unwrap();
    }

    /// Rewrites `/etc/netns/<client>/resolv.conf`.
    pub fn write_resolv_conf(&self, body: &str) {
        let dir = format!("/etc/netns/{}", self.client_ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/resolv.conf"), body).unwrap();
    }

    /// Removes `path` (file or directory, if present) on drop, after the
    /// server processes are gone.
    pub fn remove_on_drop(&mut self, path: impl Into<PathBuf>) {
        self.remove_on_drop.push(path.into());
    }
}

impl Drop for NsPair {
    fn drop(&mut self) {
        for (_, child) in &mut self.procs {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.netns_created.drain(..).rev() {
            destroy_ns(&ns);
        }
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.client_ns));
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.server_ns));
        for p in &self.remove_on_drop {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
        if std::env::var("BRIDGESCOUT_KEEP_NETNS_DIR").is_ok()
            && let Some(t) = self._tmp.take()
        {
            eprintln!("netns lab: keeping {}", t.keep().display());
        }
    }
}

/// One client/server namespace pair with a running DoH+DoT server. Derefs
/// to its [`NsPair`] (`server_ns`, `client_ns`, `client_ip`, `server_ip`
/// where dnsdist listens on 443 DoH and 853 DoT, `spare_ip`, `dir`, and
/// the pair's methods).
pub struct Lab {
    net: NsPair,
    /// PEM of the test CA that signed the server certificate (pass as
    /// `--ca-file`).
    pub ca_file: PathBuf,
}

impl Deref for Lab {
    type Target = NsPair;
    fn deref(&self) -> &NsPair {
        &self.net
    }
}

impl DerefMut for Lab {
    fn deref_mut(&mut self) -> &mut NsPair {
        &mut self.net
    }
}

impl Lab {
    /// Builds the namespaces and starts the server. Returns `None` only when
    /// BRIDGESCOUT_SKIP_NETNS=1; panics with a clear message otherwise if
    /// anything is missing or fails.
    pub fn start(test: &str) -> Option<Lab> {
        if !preflight(test) {
            return None;
        }
        let net = NsPair::create("", 77);
        let mut lab = Lab {
            ca_file: net.dir.join("ca.pem"),
            net,
        };
        // The client's hosts file says where doh.test and dot.test are.
        let ip = lab.server_ip.clone();
        lab.write_hosts(&[(&ip, DOH_HOST), (&ip, DOT_HOST)]);
        lab.start_servers();
        Some(lab)
    }

    fn start_servers(&mut self) {
        let certs = make_certs();
        let d = self.dir.clone();
        std::fs::write(&self.ca_file, &certs.ca_pem).unwrap();
        std::fs::write(d.join("server.pem"), &certs.server_chain_pem).unwrap();
        std::fs::write(d.join("server.key"), &certs.server_key_pem).unwrap();
        std::fs::write(d.join("dnsdist.conf"), dnsdist_conf(&d, &self.server_ip)).unwrap();

        self.spawn_unbound("127.0.0.1", BACKEND_PORT, "127.0.0.0/8");
        self.wait_tcp(&[format!("127.0.0.1:{BACKEND_PORT}")]);

        let dd_conf = d.join("dnsdist.conf");
        self.spawn_in_server(
            "dnsdist",
            &[
                "dnsdist",
                "--supervised",
                "--disable-syslog",
                "-C",
                dd_conf.to_str().unwrap(),
            ],
        );
        let want = [
            format!("{}:{DOH_PORT}", self.server_ip),
            format!("{}:{DOT_PORT}", self.server_ip),
        ];
        self.wait_tcp(&want);
    }
}
