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
//! chain ([`Lab::block`]); the system resolver of the client namespace is
//! steered with `/etc/netns/<client>/hosts` ([`Lab::write_hosts`]).
//!
//! Requirements: root, `ip` (iproute2), `ss`, `iptables`, `unbound`,
//! `dnsdist`. If any is missing the lab PANICS with a clear message (CI
//! installs them via `scripts/test`), unless `BRIDGESCOUT_SKIP_NETNS=1`,
//! in which case [`Lab::start`] returns `None` after printing a notice.
//!
//! Everything is torn down on `Drop` (also when the test panics): server
//! processes killed, namespaces deleted, `/etc/netns/<name>` removed.
//! Namespaces left behind by a test process that was SIGKILLed are reaped
//! by the next `Lab::start`.
#![allow(dead_code)]

use std::fmt::Write as _;
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
/// Prefix of every namespace this harness creates.
const NS_PREFIX: &str = "bs-";

const SKIP_ENV: &str = "BRIDGESCOUT_SKIP_NETNS";
const READY_DEADLINE: Duration = Duration::from_secs(15);
const CMD_DEADLINE: Duration = Duration::from_secs(20);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A kind of interference, installed with iptables in the server namespace.
/// All rules match TCP towards the server only; everything else is untouched.
#[derive(Debug, Clone)]
pub enum Block {
    /// Silently drop every packet to `port` (SYNs go unanswered → timeout).
    DropPort(u16),
    /// Answer the SYN to `port` with a TCP RST (→ connection refused).
    ResetSyn(u16),
    /// Let the 3-way handshake complete, then answer the first packet that
    /// carries data (the TLS ClientHello) with a TCP RST (→ connection reset).
    ResetPayload(u16),
    /// Answer every packet to `port` with ICMP host-unreachable.
    IcmpHostUnreachable(u16),
    /// Drop packets to `port` containing `needle` (e.g. the SNI in the
    /// ClientHello); the TCP handshake still succeeds.
    StringDrop { port: u16, needle: String },
    /// Same match, but answer with a TCP RST.
    StringReset { port: u16, needle: String },
    /// Drop every packet to destination address `ip` (all ports).
    DropAddr(String),
}

impl Block {
    fn rule(&self) -> Vec<String> {
        let tcp_port = |p: &u16| -> Vec<String> {
            ["-p", "tcp", "--dport", &p.to_string()]
                .map(String::from)
                .to_vec()
        };
        let mut r: Vec<String> = Vec::new();
        match self {
            Block::DropPort(p) => {
                r.extend(tcp_port(p));
                r.extend(["-j", "DROP"].map(String::from));
            }
            Block::ResetSyn(p) => {
                r.extend(tcp_port(p));
                r.extend(["--syn", "-j", "REJECT", "--reject-with", "tcp-reset"].map(String::from));
            }
            Block::ResetPayload(p) => {
                // Packet #3 of the flow in the original direction is the
                // first one after SYN and the handshake ACK, i.e. the
                // ClientHello (the rule also hits any later packet).
                r.extend(tcp_port(p));
                r.extend(
                    [
                        "-m",
                        "connbytes",
                        "--connbytes",
                        "3:",
                        "--connbytes-dir",
                        "original",
                        "--connbytes-mode",
                        "packets",
                        "-j",
                        "REJECT",
                        "--reject-with",
                        "tcp-reset",
                    ]
                    .map(String::from),
                );
            }
            Block::IcmpHostUnreachable(p) => {
                r.extend(tcp_port(p));
                r.extend(
                    ["-j", "REJECT", "--reject-with", "icmp-host-unreachable"].map(String::from),
                );
            }
            Block::StringDrop { port, needle } => {
                r.extend(tcp_port(port));
                r.extend(
                    [
                        "-m", "string", "--algo", "bm", "--string", needle, "-j", "DROP",
                    ]
                    .map(String::from),
                );
            }
            Block::StringReset { port, needle } => {
                r.extend(tcp_port(port));
                r.extend(
                    [
                        "-m",
                        "string",
                        "--algo",
                        "bm",
                        "--string",
                        needle,
                        "-j",
                        "REJECT",
                        "--reject-with",
                        "tcp-reset",
                    ]
                    .map(String::from),
                );
            }
            Block::DropAddr(ip) => {
                r.extend(["-d", ip, "-j", "DROP"].map(String::from));
            }
        }
        r
    }
}

/// One client/server namespace pair with a running DoH+DoT server.
pub struct Lab {
    pub server_ns: String,
    pub client_ns: String,
    /// Client address (10.77.n.1).
    pub client_ip: String,
    /// Address dnsdist listens on (443 DoH, 853 DoT): 10.77.n.2.
    pub server_ip: String,
    /// Second address of the server namespace where nothing listens
    /// (10.77.n.3): connecting gets a RST unless a rule drops it.
    pub spare_ip: String,
    /// PEM of the test CA that signed the server certificate (pass as
    /// `--ca-file`).
    pub ca_file: PathBuf,
    pub dir: PathBuf,
    procs: Vec<(String, Child)>,
    netns_created: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
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

/// Fails (panics) unless the lab can run; returns false (after a notice)
/// when BRIDGESCOUT_SKIP_NETNS=1.
pub fn preflight(test: &str) -> bool {
    if skip_requested() {
        eprintln!("NOTICE: {test}: skipped because {SKIP_ENV}=1 (netns/real-server tests not run)");
        return false;
    }
    let mut problems = Vec::new();
    if !is_root() {
        problems
            .push("not running as root (network namespaces and iptables need root)".to_string());
    }
    for (tool, pkg) in [
        ("ip", "iproute2"),
        ("ss", "iproute2"),
        ("iptables", "iptables"),
        ("unbound", "unbound"),
        ("dnsdist", "dnsdist"),
    ] {
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

/// Reaps namespaces left by test processes that died without running Drop.
fn reap_stale() {
    let list = quiet(&["ip", "netns", "list"]);
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
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

fn unbound_conf(dir: &Path, server_ip: &str) -> String {
    format!(
        r#"# Local data only: no recursion, no forwarders, nothing outside test. zones.
server:
  interface: 127.0.0.1@{BACKEND_PORT}
  port: {BACKEND_PORT}
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
  access-control: 127.0.0.0/8 allow
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

impl Lab {
    /// Builds the namespaces and starts the server. Returns `None` only when
    /// BRIDGESCOUT_SKIP_NETNS=1; panics with a clear message otherwise if
    /// anything is missing or fails.
    pub fn start(test: &str) -> Option<Lab> {
        if !preflight(test) {
            return None;
        }
        reap_stale();
        let pid = std::process::id();
        // Subnet number: distinct for the labs of one process, and spread by
        // pid across processes (e.g. under nextest). Addresses live only
        // inside the lab's namespaces, so even a repeat would not clash.
        let seq = COUNTER.fetch_add(1, Ordering::SeqCst);
        let n = (pid.wrapping_mul(7).wrapping_add(seq)) % 250 + 1;
        let base = format!("{NS_PREFIX}{pid}-{seq}");
        let tmp = tempfile::Builder::new()
            .prefix("bs-netns-")
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut lab = Lab {
            server_ns: format!("{base}-s"),
            client_ns: format!("{base}-c"),
            client_ip: format!("10.77.{n}.1"),
            server_ip: format!("10.77.{n}.2"),
            spare_ip: format!("10.77.{n}.3"),
            ca_file: dir.join("ca.pem"),
            dir: dir.clone(),
            procs: Vec::new(),
            netns_created: Vec::new(),
            _tmp: Some(tmp),
        };
        // From here on a panic drops `lab`, which tears down what exists.
        lab.build_network(pid, seq);
        lab.start_servers();
        Some(lab)
    }

    fn build_network(&mut self, pid: u32, seq: u32) {
        let (s, c) = (self.server_ns.clone(), self.client_ns.clone());
        for ns in [&s, &c] {
            must(&["ip", "netns", "add", ns]);
            self.netns_created.push(ns.clone());
        }
        // Interface names are per-namespace; keep them short (<= 15 chars).
        let (vs, vc) = (
            format!("bs{pid}s{}", seq % 1000),
            format!("bs{pid}c{}", seq % 1000),
        );
        must(&[
            "ip", "link", "add", &vs, "netns", &s, "type", "veth", "peer", "name", &vc, "netns", &c,
        ]);
        must(&[
            "ip",
            "-n",
            &s,
            "addr",
            "add",
            &format!("{}/24", self.server_ip),
            "dev",
            &vs,
        ]);
        must(&[
            "ip",
            "-n",
            &s,
            "addr",
            "add",
            &format!("{}/24", self.spare_ip),
            "dev",
            &vs,
        ]);
        must(&[
            "ip",
            "-n",
            &c,
            "addr",
            "add",
            &format!("{}/24", self.client_ip),
            "dev",
            &vc,
        ]);
        for (ns, dev) in [(&s, &vs), (&c, &vc)] {
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            must(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        // The client's system resolver: hosts file says where doh.test and
        // dot.test are; DNS goes to the namespace's own loopback where
        // nothing listens (fails fast, never leaves the namespace).
        self.write_resolv_conf("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
        let ip = self.server_ip.clone();
        self.write_hosts(&[(&ip, DOH_HOST), (&ip, DOT_HOST)]);
        // Same for the server namespace, so nothing there can ask the host's
        // resolver either.
        let sdir = format!("/etc/netns/{s}");
        std::fs::create_dir_all(&sdir).unwrap();
        std::fs::write(format!("{sdir}/resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        std::fs::write(format!("{sdir}/hosts"), "127.0.0.1 localhost\n").unwrap();
    }

    fn start_servers(&mut self) {
        let certs = make_certs();
        let d = self.dir.clone();
        std::fs::write(d.join("ca.pem"), &certs.ca_pem).unwrap();
        std::fs::write(d.join("server.pem"), &certs.server_chain_pem).unwrap();
        std::fs::write(d.join("server.key"), &certs.server_key_pem).unwrap();
        std::fs::write(d.join("unbound.conf"), unbound_conf(&d, &self.server_ip)).unwrap();
        std::fs::write(d.join("dnsdist.conf"), dnsdist_conf(&d, &self.server_ip)).unwrap();

        let ub_conf = d.join("unbound.conf");
        if find_tool("unbound-checkconf").is_some() {
            let out = run_bounded(
                Command::new("unbound-checkconf").arg(&ub_conf),
                CMD_DEADLINE,
            );
            if out.code() != Some(0) {
                panic!("unbound config rejected:\n{}{}", out.stdout, out.stderr);
            }
        }
        self.spawn_in_server(
            "unbound",
            &["unbound", "-d", "-c", ub_conf.to_str().unwrap()],
        );
        self.wait_listening(&[format!("127.0.0.1:{BACKEND_PORT}")]);

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
        self.wait_listening(&want);
    }

    fn spawn_in_server(&mut self, name: &str, argv: &[&str]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.procs.push((name.to_string(), child));
    }

    /// Polls `ss` in the server namespace until all `addrs` (ip:port)
    /// listen on TCP; panics (with server logs) at the deadline or when a
    /// server process exits.
    fn wait_listening(&mut self, addrs: &[String]) {
        let until = Instant::now() + READY_DEADLINE;
        loop {
            let ss = quiet(&["ip", "netns", "exec", &self.server_ns, "ss", "-Hltn"]);
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
                    "servers not listening on {addrs:?} after {READY_DEADLINE:?}; ss says:\n{ss}\nlogs:\n{}",
                    self.server_logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Contents of the server logs (for failure messages).
    pub fn server_logs(&self) -> String {
        let mut s = String::new();
        for name in ["unbound", "dnsdist"] {
            let body =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let _ = writeln!(s, "--- {name}.log ---\n{body}");
        }
        s
    }

    /// `ip netns exec <client> <program>`: add args and run it (e.g. with
    /// [`run_bounded`]). The program sees the client's hosts/resolv.conf.
    pub fn client_cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.client_ns]).arg(program);
        c
    }

    /// Runs a program in the client namespace with a deadline.
    pub fn run_in_client<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[S],
        deadline: Duration,
    ) -> RunOutput {
        let mut c = self.client_cmd(program);
        c.args(args);
        run_bounded(&mut c, deadline)
    }

    /// Runs iptables in the server namespace.
    pub fn server_iptables(&self, args: &[&str]) -> String {
        let mut argv = vec![
            "ip",
            "netns",
            "exec",
            &self.server_ns,
            "iptables",
            "-w",
            "5",
        ];
        argv.extend_from_slice(args);
        must(&argv)
    }

    /// Installs an interference rule in the server namespace's INPUT chain.
    pub fn block(&self, b: &Block) {
        let rule = b.rule();
        let mut args = vec!["-A", "INPUT"];
        args.extend(rule.iter().map(String::as_str));
        self.server_iptables(&args);
    }

    /// Removes one rule added with [`Lab::block`].
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
}

impl Drop for Lab {
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
        if std::env::var("BRIDGESCOUT_KEEP_NETNS_DIR").is_ok()
            && let Some(t) = self._tmp.take()
        {
            eprintln!("netns lab: keeping {}", t.keep().display());
        }
    }
}
