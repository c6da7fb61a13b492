//! A private Tor network for integration tests, built from Debian's `tor`
//! package the way chutney does it, entirely inside ONE network namespace
//! that the test creates (only `lo` is up there: no route anywhere else).
//!
//! ```text
//!   netns bstor-<pid>   (127.0.0.1 only)
//!   ┌───────────────────────────────────────────────────────────────────┐
//!   │ auth0..2   3 v3 directory authorities  ORPort base+0..2           │
//!   │                                        DirPort base+10..12        │
//!   │ relay0..2  relays (guard/exit/hsdir    ORPort base+20..22         │
//!   │            forced by the authorities)                             │
//!   │ bridge     vanilla bridge              ORPort base+40             │
//!   │ obfs4br    obfs4 bridge                ORPort base+41             │
//!   │                                        obfs4  base+42             │
//!   │ clients / test servers                 base+50..99 (alloc_port)   │
//!   └───────────────────────────────────────────────────────────────────┘
//! ```
//!
//! `base` is derived from the test process id (ports are private to the
//! namespace anyway, so this only keeps logs of parallel runs apart).
//!
//! One network per test binary run, shared by all tests: [`shared()`]
//! builds and starts it once (lazily) and waits, bounded, until an
//! authority serves a consensus listing every relay and both bridges have
//! bootstrapped. Tests that need the bridges undisturbed, or that add
//! iptables rules, take [`TorNet::exclusive`] (rules are cleared when the
//! guard is taken and when it is dropped).
//!
//! Nothing ever talks to the real Tor network: `TestingTorNetwork 1`, our
//! own `DirAuthority` lines only, `UseDefaultFallbackDirs 0`,
//! `ClientUseIPv6 0`, every tor runs inside the namespace (see
//! [`TorNet::exec_in_ns`]), and [`TorNet::loopback_violations`] checks
//! sockets, routes and logs.
//!
//! Cleanup (a `static` is never dropped, so it does not rely on `Drop`):
//! * every tor gets `__OwningControllerProcess <test pid>`: tor exits by
//!   itself once the test process is gone;
//! * a tiny `sh` watchdog (started with the network) waits for the test
//!   process to exit, then kills whatever runs in the namespace, deletes
//!   the namespace and removes the data directory (kept when
//!   `BRIDGESCOUT_TORNET_KEEP=1`);
//! * at startup, namespaces `bstor-<pid>` whose pid is gone are reaped.
//!
//! Requirements: root, `ip`/`ss` (iproute2), `iptables`, `tor` +
//! `tor-gencert` (Debian `tor`), `obfs4proxy`. Missing → panic with a clear
//! message, unless `BRIDGESCOUT_SKIP_NETNS=1` ([`shared_or_skip`] returns
//! `None` after a notice).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

// Both harnesses include this file so each also works alone (`#[path]`
// from a bench or test); in `common` that loads it twice, on purpose.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
#[allow(unused_imports)] // callers name the type in some test binaries only
pub use process::{RunOutput, run_bounded};

const SKIP_ENV: &str = "BRIDGESCOUT_SKIP_NETNS";
const KEEP_ENV: &str = "BRIDGESCOUT_TORNET_KEEP";
/// Prefix of the namespace (and data directory) of a network.
const NS_PREFIX: &str = "bstor-";
/// Bound on "network ready" (consensus + bridges bootstrapped).
pub const READY_DEADLINE: Duration = Duration::from_secs(90);
const CMD_DEADLINE: Duration = Duration::from_secs(30);
const N_AUTH: usize = 3;
const N_RELAY: usize = 3;
const LOCALHOST: &str = "127.0.0.1";
const TOR: &str = "/usr/sbin/tor";
const TOR_GENCERT: &str = "/usr/bin/tor-gencert";
pub const OBFS4PROXY: &str = "/usr/bin/obfs4proxy";

// ---------------------------------------------------------------- data types

/// One v3 directory authority (also a relay and a directory cache).
#[derive(Debug, Clone)]
pub struct Authority {
    pub nickname: String,
    pub addr: String,
    pub or_port: u16,
    pub dir_port: u16,
    /// RSA identity ("router fingerprint"), 40 upper-case hex.
    pub rsa_identity: String,
    /// Ed25519 master identity, unpadded base64 (43 chars).
    pub ed_identity: String,
    /// v3 authority identity (hash of the authority_identity_key), 40 hex.
    pub v3ident: String,
    pub data_dir: PathBuf,
}

impl Authority {
    pub fn or_addr(&self) -> String {
        format!("{}:{}", self.addr, self.or_port)
    }
    pub fn dir_addr(&self) -> String {
        format!("{}:{}", self.addr, self.dir_port)
    }
    /// The torrc `DirAuthority` line that names this authority.
    pub fn dir_authority_line(&self) -> String {
        format!(
            "DirAuthority {} orport={} no-v2 v3ident={} {} {}",
            self.nickname,
            self.or_port,
            self.v3ident,
            self.dir_addr(),
            self.rsa_identity
        )
    }
}

/// A non-authority relay.
#[derive(Debug, Clone)]
pub struct Relay {
    pub nickname: String,
    pub addr: String,
    pub or_port: u16,
    pub rsa_identity: String,
    pub ed_identity: String,
    pub data_dir: PathBuf,
}

/// The vanilla bridge (`BridgeRelay 1`, `PublishServerDescriptor 0`).
#[derive(Debug, Clone)]
pub struct VanillaBridge {
    pub nickname: String,
    /// "127.0.0.1:PORT" (its ORPort).
    pub addr: String,
    pub port: u16,
    pub rsa_fingerprint: String,
    pub ed25519: Option<String>,
    pub data_dir: PathBuf,
}

impl VanillaBridge {
    /// `127.0.0.1:PORT FINGERPRINT` (what goes after `Bridge ` in a torrc,
    /// and what users paste).
    pub fn bridge_line(&self) -> String {
        format!("{} {}", self.addr, self.rsa_fingerprint)
    }
    /// `Bridge 127.0.0.1:PORT FINGERPRINT` (torrc line).
    pub fn torrc_line(&self) -> String {
        format!("Bridge {}", self.bridge_line())
    }
}

/// The obfs4 bridge (`ServerTransportPlugin obfs4 exec obfs4proxy`).
#[derive(Debug, Clone)]
pub struct Obfs4Bridge {
    pub nickname: String,
    /// Its plain ORPort, "127.0.0.1:PORT" (also usable as a vanilla bridge).
    pub or_addr: String,
    pub or_port: u16,
    /// The obfs4 listener, "127.0.0.1:PORT".
    pub addr: String,
    pub port: u16,
    pub rsa_fingerprint: String,
    pub ed25519: Option<String>,
    /// `cert=` value from `pt_state/obfs4_bridgeline.txt`.
    pub cert: String,
    pub iat_mode: String,
    pub data_dir: PathBuf,
}

impl Obfs4Bridge {
    /// `obfs4 127.0.0.1:PORT FINGERPRINT cert=... iat-mode=0`.
    pub fn bridge_line(&self) -> String {
        format!(
            "obfs4 {} {} cert={} iat-mode={}",
            self.addr, self.rsa_fingerprint, self.cert, self.iat_mode
        )
    }
    pub fn torrc_line(&self) -> String {
        format!("Bridge {}", self.bridge_line())
    }
}

/// Everything arti needs to use this network instead of the real one.
#[derive(Debug, Clone)]
pub struct ArtiNetwork {
    pub authorities: Vec<ArtiAuthority>,
    pub fallback_caches: Vec<FallbackCache>,
}

#[derive(Debug, Clone)]
pub struct ArtiAuthority {
    pub nickname: String,
    pub v3ident: String,
    /// DirPort address, "127.0.0.1:PORT" (uploads / downloads / votes).
    pub dir_addr: String,
    /// ORPort address, "127.0.0.1:PORT".
    pub or_addr: String,
}

#[derive(Debug, Clone)]
pub struct FallbackCache {
    pub rsa_identity: String,
    pub ed_identity: String,
    pub orports: Vec<String>,
}

impl ArtiNetwork {
    /// TOML for arti >= 1.6 (prop330 authority syntax), plus the settings
    /// arti needs for a network whose relays all share 127.0.0.1.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let q = |v: &str| format!("\"{v}\"");
        let list = |f: &dyn Fn(&ArtiAuthority) -> String| {
            self.authorities
                .iter()
                .map(|a| format!("[{}]", q(&f(a))))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(
            "[path_rules]\nipv4_subnet_family_prefix = 33\nipv6_subnet_family_prefix = 129\n\n",
        );
        s.push_str("[address_filter]\nallow_local_addrs = true\n\n");
        s.push_str("[tor_network.authorities]\n");
        let ids: Vec<String> = self.authorities.iter().map(|a| q(&a.v3ident)).collect();
        let _ = writeln!(s, "v3idents = [{}]", ids.join(", "));
        let _ = writeln!(s, "uploads = [{}]", list(&|a| a.dir_addr.clone()));
        let _ = writeln!(s, "downloads = [{}]", list(&|a| a.dir_addr.clone()));
        let _ = writeln!(s, "votes = [{}]", list(&|a| a.dir_addr.clone()));
        for fc in &self.fallback_caches {
            s.push_str("\n[[tor_network.fallback_caches]]\n");
            let _ = writeln!(s, "rsa_identity = {}", q(&fc.rsa_identity));
            let _ = writeln!(s, "ed_identity = {}", q(&fc.ed_identity));
            let ports: Vec<String> = fc.orports.iter().map(|p| q(p)).collect();
            let _ = writeln!(s, "orports = [{}]", ports.join(", "));
        }
        s
    }
}

/// One router entry of a consensus.
#[derive(Debug, Clone)]
pub struct ConsensusEntry {
    pub nickname: String,
    pub addr: String,
    pub or_port: u16,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Consensus {
    pub text: String,
    pub routers: Vec<ConsensusEntry>,
}

impl Consensus {
    pub fn parse(text: &str) -> Consensus {
        let mut routers: Vec<ConsensusEntry> = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.first() {
                // r nickname identity digest date time IP ORPort DirPort
                Some(&"r") if f.len() >= 8 => routers.push(ConsensusEntry {
                    nickname: f[1].to_string(),
                    addr: f[f.len() - 3].to_string(),
                    or_port: f[f.len() - 2].parse().unwrap_or(0),
                    flags: Vec::new(),
                }),
                Some(&"s") => {
                    if let Some(last) = routers.last_mut() {
                        last.flags = f[1..].iter().map(|s| s.to_string()).collect();
                    }
                }
                _ => {}
            }
        }
        Consensus {
            text: text.to_string(),
            routers,
        }
    }
    pub fn has(&self, nickname: &str) -> bool {
        self.routers.iter().any(|r| r.nickname == nickname)
    }
}

// ------------------------------------------------------------------ the net

pub struct TorNet {
    ns: String,
    /// Everything lives here: keys, torrcs, data dirs, logs, clients.
    pub dir: PathBuf,
    pub base_port: u16,
    pub authorities: Vec<Authority>,
    pub relays: Vec<Relay>,
    pub vanilla: VanillaBridge,
    pub obfs4: Obfs4Bridge,
    /// From starting the first tor to a consensus listing every relay.
    pub consensus_after: Duration,
    /// From starting the first tor to "network ready" (both bridges
    /// bootstrapped as well).
    pub ready_after: Duration,
    procs: Mutex<Vec<(String, Child)>>,
    next_port: AtomicU16,
    next_client: AtomicU32,
    exclusive: Mutex<()>,
}

/// The outcome of the one start attempt: a failed start is not retried by
/// every test (each would wait up to READY_DEADLINE again).
static SHARED: OnceLock<Result<TorNet, String>> = OnceLock::new();

/// The network of this test binary run: built and started on first use,
/// ready (consensus + bridges bootstrapped) when this returns. Panics with
/// the logs when it cannot be brought up within [`READY_DEADLINE`], or when
/// the requirements are missing (see [`preflight`]).
pub fn shared() -> &'static TorNet {
    let r = SHARED.get_or_init(|| {
        let problems = missing_requirements();
        if !problems.is_empty() {
            return Err(format!(
                "the private Tor network cannot run:\n  - {}\n\
                 Install with `apt-get install tor obfs4proxy iproute2 iptables` and run as \
                 root, or set {SKIP_ENV}=1 to skip these tests explicitly.",
                problems.join("\n  - ")
            ));
        }
        std::panic::catch_unwind(TorNet::start)
            .unwrap_or_else(|p| {
                Err(p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic while starting".into()))
            })
            .map_err(|e| format!("cannot bring up the private Tor network: {e}"))
    });
    match r {
        Ok(n) => n,
        Err(e) => panic!("tornet: {e}"),
    }
}

/// Like [`shared`], but returns `None` (after a notice) when
/// `BRIDGESCOUT_SKIP_NETNS=1`.
pub fn shared_or_skip(test: &str) -> Option<&'static TorNet> {
    if skip_requested() {
        eprintln!(
            "NOTICE: {test}: skipped because {SKIP_ENV}=1 (private Tor network tests not run)"
        );
        return None;
    }
    Some(shared())
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

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// What is missing for the network to run (empty: all there).
pub fn missing_requirements() -> Vec<String> {
    let mut problems = Vec::new();
    if !is_root() {
        problems.push("not running as root (network namespaces and iptables need root)".into());
    }
    for (tool, pkg) in [
        ("ip", "iproute2"),
        ("ss", "iproute2"),
        ("iptables", "iptables"),
        ("sh", "dash"),
    ] {
        if find_tool(tool).is_none() {
            problems.push(format!("`{tool}` not found (apt-get install {pkg})"));
        }
    }
    for (bin, pkg) in [
        (TOR, "tor"),
        (TOR_GENCERT, "tor"),
        (OBFS4PROXY, "obfs4proxy"),
    ] {
        if !Path::new(bin).is_file() {
            problems.push(format!("{bin} not found (apt-get install {pkg})"));
        }
    }
    problems
}

fn must(cmd: &mut Command) -> String {
    let desc = format!("{cmd:?}");
    let out = run_bounded(cmd, CMD_DEADLINE);
    if out.code() != Some(0) {
        panic!(
            "tornet: `{desc}` failed ({:?}{}):\n{}{}",
            out.status,
            if out.timed_out { ", timed out" } else { "" },
            out.stdout,
            out.stderr
        );
    }
    out.stdout
}

fn quiet(args: &[&str]) -> String {
    let (prog, rest) = args.split_first().expect("empty command");
    run_bounded(Command::new(prog).args(rest), CMD_DEADLINE).stdout
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Kills everything inside a namespace and deletes it.
fn destroy_ns(ns: &str) {
    for sig in ["-TERM", "-KILL"] {
        let pids = quiet(&["ip", "netns", "pids", ns]);
        let pids: Vec<&str> = pids.split_whitespace().collect();
        if pids.is_empty() {
            break;
        }
        let mut args = vec!["kill", sig];
        args.extend(pids.iter().copied());
        quiet(&args);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until && !quiet(&["ip", "netns", "pids", ns]).trim().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    quiet(&["ip", "netns", "del", ns]);
}

fn data_root(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("{NS_PREFIX}{pid}"))
}

/// Reaps networks left by test processes that died (and our own name, in
/// case of pid reuse).
fn reap_stale() {
    let me = std::process::id();
    let list = quiet(&["ip", "netns", "list"]);
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix(NS_PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || !pid_alive(pid) {
            eprintln!("tornet: reaping stale namespace {name}");
            destroy_ns(name);
            if std::env::var(KEEP_ENV).as_deref() != Ok("1") {
                let _ = std::fs::remove_dir_all(data_root(pid));
            }
        }
    }
}

// ----------------------------------------------------- entering a namespace

unsafe extern "C" {
    fn setns(fd: i32, nstype: i32) -> i32;
}
const CLONE_NEWNET: i32 = 0x4000_0000;

fn ns_handle(ns: &str) -> File {
    File::open(format!("/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("tornet: cannot open /run/netns/{ns}: {e}"))
}

/// Makes `cmd` run inside network namespace `ns` (setns(2) between fork and
/// exec, like `ip netns exec` minus its mount-namespace tricks).
fn put_in_ns<'a>(ns: &str, cmd: &'a mut Command) -> &'a mut Command {
    let handle = ns_handle(ns);
    // SAFETY: setns(2) is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if setns(handle.as_raw_fd(), CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

// ------------------------------------------------------------- construction

struct NodeKeys {
    rsa: String,
    ed: String,
}

fn read_fingerprint_file(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    s.split_whitespace().nth(1).map(str::to_string)
}

/// Generates a node's identity keys (RSA + ed25519) offline, like chutney:
/// `tor --list-fingerprint` with a dummy authority, inside the namespace.
fn gen_node_keys(ns: &str, empty: &Path, nickname: &str, data_dir: &Path) -> NodeKeys {
    std::fs::create_dir_all(data_dir).unwrap();
    let mut cmd = Command::new(TOR);
    cmd.arg("--defaults-torrc")
        .arg(empty)
        .arg("-f")
        .arg(empty)
        .arg("--list-fingerprint")
        .args(["--DataDirectory", &data_dir.display().to_string()])
        .args(["--Nickname", nickname, "--ORPort", "1"])
        .args([
            "--DirAuthority",
            "placeholder 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff",
        ])
        .args(["--Log", "err stderr"]);
    put_in_ns(ns, &mut cmd);
    must(&mut cmd);
    let rsa = read_fingerprint_file(&data_dir.join("fingerprint"))
        .unwrap_or_else(|| panic!("tornet: no fingerprint for {nickname}"));
    let ed = read_fingerprint_file(&data_dir.join("fingerprint-ed25519"))
        .unwrap_or_else(|| panic!("tornet: no fingerprint-ed25519 for {nickname}"));
    NodeKeys { rsa, ed }
}

/// Authority keys with tor-gencert; returns the v3ident.
fn gen_authority_cert(ns: &str, data_dir: &Path, dir_addr: &str) -> String {
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let mut cmd = Command::new(TOR_GENCERT);
    put_in_ns(ns, &mut cmd);
    let mut child = cmd
        .arg("--create-identity-key")
        .args(["--passphrase-fd", "0"])
        .arg("-i")
        .arg(keys.join("authority_identity_key"))
        .arg("-s")
        .arg(keys.join("authority_signing_key"))
        .arg("-c")
        .arg(keys.join("authority_certificate"))
        .args(["-m", "12", "-a", dir_addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tor-gencert");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tor-gencert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = std::fs::read_to_string(keys.join("authority_certificate")).unwrap();
    cert.lines()
        .find_map(|l| l.strip_prefix("fingerprint "))
        .map(|s| s.trim().to_string())
        .expect("v3ident in authority_certificate")
}

/// torrc lines every tor process of the network gets (servers and clients).
fn common_torrc(data_dir: &Path, auth_lines: &str) -> String {
    let pid = std::process::id();
    let d = data_dir.display();
    format!(
        "# Generated by tests/common/tornet.rs. Private test network ONLY.
TestingTorNetwork 1
{auth_lines}UseDefaultFallbackDirs 0
ClientUseIPv6 0
ClientUseIPv4 1
ClientPreferIPv6ORPort 0
DataDirectory {d}
RunAsDaemon 0
__OwningControllerProcess {pid}
ShutdownWaitLength 0
Sandbox 0
SafeLogging 0
ProtocolWarnings 1
Log notice file {d}/notice.log
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
"
    )
}

/// torrc lines for every server (authority, relay, bridge).
fn server_torrc(nickname: &str, or_port: u16, data_dir: &Path) -> String {
    let d = data_dir.display();
    format!(
        "Nickname {nickname}
ContactInfo bridgescout-tornet@localhost
SocksPort 0
ORPort {LOCALHOST}:{or_port}
Address {LOCALHOST}
AddressDisableIPv6 1
AssumeReachable 1
ExtendAllowPrivateAddresses 1
DirAllowPrivateAddresses 1
EnforceDistinctSubnets 0
ServerDNSResolvConfFile {d}/resolv.conf
ServerDNSDetectHijacking 0
ServerDNSAllowBrokenConfig 1
"
    )
}

impl TorNet {
    fn start() -> Result<TorNet, String> {
        reap_stale();
        let pid = std::process::id();
        let ns = format!("{NS_PREFIX}{pid}");
        let dir = data_root(pid);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let base_port: u16 = 20000 + (pid % 400) as u16 * 100;

        must(Command::new("ip").args(["netns", "add", &ns]));
        spawn_watchdog(pid, &ns, &dir);
        must(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]));

        let empty = dir.join("empty-torrc");
        std::fs::write(&empty, "").unwrap();

        // Keys (in parallel: RSA keygen + tor start-up cost ~0.3 s each).
        let auth_nicks: Vec<String> = (0..N_AUTH).map(|i| format!("auth{i}")).collect();
        let relay_nicks: Vec<String> = (0..N_RELAY).map(|i| format!("relay{i}")).collect();
        let all_nicks: Vec<String> = auth_nicks
            .iter()
            .chain(relay_nicks.iter())
            .cloned()
            .chain(["bridge".to_string(), "obfs4br".to_string()])
            .collect();
        let (node_keys, v3idents) = std::thread::scope(|s| {
            let key_jobs: Vec<_> = all_nicks
                .iter()
                .map(|n| {
                    let (ns, empty, d) = (&ns, &empty, dir.join(n));
                    s.spawn(move || gen_node_keys(ns, empty, n, &d))
                })
                .collect();
            let cert_jobs: Vec<_> = (0..N_AUTH)
                .map(|i| {
                    let d = dir.join(&auth_nicks[i]);
                    let a = format!("{LOCALHOST}:{}", base_port + 10 + i as u16);
                    let ns = &ns;
                    s.spawn(move || gen_authority_cert(ns, &d, &a))
                })
                .collect();
            (
                key_jobs
                    .into_iter()
                    .map(|j| j.join().expect("key generation"))
                    .collect::<Vec<_>>(),
                cert_jobs
                    .into_iter()
                    .map(|j| j.join().expect("tor-gencert"))
                    .collect::<Vec<_>>(),
            )
        });

        let authorities: Vec<Authority> = (0..N_AUTH)
            .map(|i| Authority {
                nickname: auth_nicks[i].clone(),
                addr: LOCALHOST.into(),
                or_port: base_port + i as u16,
                dir_port: base_port + 10 + i as u16,
                rsa_identity: node_keys[i].rsa.clone(),
                ed_identity: node_keys[i].ed.clone(),
                v3ident: v3idents[i].clone(),
                data_dir: dir.join(&auth_nicks[i]),
            })
            .collect();
        let relays: Vec<Relay> = (0..N_RELAY)
            .map(|i| Relay {
                nickname: relay_nicks[i].clone(),
                addr: LOCALHOST.into(),
                or_port: base_port + 20 + i as u16,
                rsa_identity: node_keys[N_AUTH + i].rsa.clone(),
                ed_identity: node_keys[N_AUTH + i].ed.clone(),
                data_dir: dir.join(&relay_nicks[i]),
            })
            .collect();
        let bk = &node_keys[N_AUTH + N_RELAY];
        let vanilla = VanillaBridge {
            nickname: "bridge".into(),
            addr: format!("{LOCALHOST}:{}", base_port + 40),
            port: base_port + 40,
            rsa_fingerprint: bk.rsa.clone(),
            ed25519: Some(bk.ed.clone()),
            data_dir: dir.join("bridge"),
        };
        let ok = &node_keys[N_AUTH + N_RELAY + 1];
        let obfs4 = Obfs4Bridge {
            nickname: "obfs4br".into(),
            or_addr: format!("{LOCALHOST}:{}", base_port + 41),
            or_port: base_port + 41,
            addr: format!("{LOCALHOST}:{}", base_port + 42),
            port: base_port + 42,
            rsa_fingerprint: ok.rsa.clone(),
            ed25519: Some(ok.ed.clone()),
            cert: String::new(),
            iat_mode: String::new(),
            data_dir: dir.join("obfs4br"),
        };

        let mut net = TorNet {
            ns,
            dir: dir.clone(),
            base_port,
            authorities,
            relays,
            vanilla,
            obfs4,
            consensus_after: Duration::ZERO,
            ready_after: Duration::ZERO,
            procs: Mutex::new(Vec::new()),
            next_port: AtomicU16::new(base_port + 50),
            next_client: AtomicU32::new(0),
            exclusive: Mutex::new(()),
        };

        // torrcs
        let auth_lines = net.dir_authority_lines();
        let mut torrcs: Vec<(String, PathBuf, String)> = Vec::new();
        for a in &net.authorities {
            let mut t = common_torrc(&a.data_dir, &auth_lines);
            t += &server_torrc(&a.nickname, a.or_port, &a.data_dir);
            let _ = write!(
                t,
                "DirPort {}
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ExitRelay 0
ExitPolicy reject *:*
TestingDirAuthVoteGuard *
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
AuthDirMaxServersPerAddr 0
",
                a.dir_addr()
            );
            torrcs.push((a.nickname.clone(), a.data_dir.clone(), t));
        }
        for r in &net.relays {
            let mut t = common_torrc(&r.data_dir, &auth_lines);
            t += &server_torrc(&r.nickname, r.or_port, &r.data_dir);
            // Exits. `accept *:*` because clients judge exits by the
            // microdescriptor policy summary, which ignores private
            // addresses (an `accept 127.0.0.0/8:*` exit looks like no
            // exit at all). The namespace has no route but lo, so the
            // only thing an exit can reach is the namespace's loopback.
            t += "DirCache 1
ExitRelay 1
ExitPolicyRejectPrivate 0
ExitPolicyRejectLocalInterfaces 0
ExitPolicy accept *:*
";
            torrcs.push((r.nickname.clone(), r.data_dir.clone(), t));
        }
        {
            let b = &net.vanilla;
            let mut t = common_torrc(&b.data_dir, &auth_lines);
            t += &server_torrc(&b.nickname, b.port, &b.data_dir);
            t += "BridgeRelay 1
PublishServerDescriptor 0
BridgeDistribution none
ExitRelay 0
ExitPolicy reject *:*
";
            torrcs.push((b.nickname.clone(), b.data_dir.clone(), t));
        }
        {
            let b = &net.obfs4;
            let mut t = common_torrc(&b.data_dir, &auth_lines);
            t += &server_torrc(&b.nickname, b.or_port, &b.data_dir);
            let _ = write!(
                t,
                "BridgeRelay 1
PublishServerDescriptor 0
BridgeDistribution none
ExitRelay 0
ExitPolicy reject *:*
ServerTransportPlugin obfs4 exec {OBFS4PROXY}
ServerTransportListenAddr obfs4 {}
ExtORPort {LOCALHOST}:{}
",
                b.addr,
                base_port + 43
            );
            torrcs.push((b.nickname.clone(), b.data_dir.clone(), t));
        }

        let t0 = Instant::now();
        for (name, data_dir, torrc) in &torrcs {
            std::fs::write(data_dir.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
            let path = data_dir.join("torrc");
            std::fs::write(&path, torrc).unwrap();
            let child = net.spawn_tor(&path, data_dir);
            net.procs.lock().unwrap().push((name.clone(), child));
        }

        // Wait (bounded) for: a consensus listing every relay; both bridges
        // bootstrapped; the obfs4 bridge line.
        let deadline = t0 + READY_DEADLINE;
        let wanted: Vec<String> = net
            .authorities
            .iter()
            .map(|a| a.nickname.clone())
            .chain(net.relays.iter().map(|r| r.nickname.clone()))
            .collect();
        let mut last_state = String::from("nothing yet");
        loop {
            if let Some(dead) = net.dead_process() {
                return Err(format!("{dead}\n{}", net.log_tails(30)));
            }
            if net.consensus_after.is_zero() {
                match net.fetch_consensus(0) {
                    Ok(c) => {
                        let missing: Vec<&String> = wanted
                            .iter()
                            .filter(|n| {
                                !c.routers.iter().any(|r| {
                                    &r.nickname == *n && r.flags.iter().any(|f| f == "Running")
                                })
                            })
                            .collect();
                        if missing.is_empty() {
                            net.consensus_after = t0.elapsed();
                        } else {
                            last_state = format!("consensus lacks (running) {missing:?}");
                        }
                    }
                    Err(e) => last_state = format!("no consensus yet: {e}"),
                }
            }
            if !net.consensus_after.is_zero() {
                let v = log_has(&net.vanilla.data_dir, "Bootstrapped 100%");
                let o = log_has(&net.obfs4.data_dir, "Bootstrapped 100%");
                let line = net.obfs4.data_dir.join("pt_state/obfs4_bridgeline.txt");
                let l = parse_obfs4_bridgeline(&line);
                if v && o
                    && let Some((cert, iat)) = l
                {
                    net.obfs4.cert = cert;
                    net.obfs4.iat_mode = iat;
                    net.ready_after = t0.elapsed();
                    break;
                }
                last_state = format!(
                    "consensus ok; vanilla bridge bootstrapped: {v}, obfs4 bridge \
                     bootstrapped: {o}, obfs4 bridge line: {}",
                    l.is_some()
                );
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not ready after {:?} ({last_state})\n{}",
                    READY_DEADLINE,
                    net.log_tails(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        eprintln!(
            "tornet: network {} up: consensus after {:.1} s, bridges ready after {:.1} s \
             (data: {})",
            net.ns,
            net.consensus_after.as_secs_f64(),
            net.ready_after.as_secs_f64(),
            net.dir.display()
        );
        Ok(net)
    }

    fn spawn_tor(&self, torrc: &Path, data_dir: &Path) -> Child {
        let stderr = File::create(data_dir.join("stderr.log")).unwrap();
        let mut cmd = Command::new(TOR);
        cmd.arg("--defaults-torrc")
            .arg(self.dir.join("empty-torrc"))
            .arg("-f")
            .arg(torrc)
            .stdin(Stdio::null())
            // Never inherit the test's stdout: a pipe reader (CI's tee)
            // would wait for tor's end.
            .stdout(Stdio::null())
            .stderr(stderr);
        self.exec_in_ns(&mut cmd);
        cmd.spawn()
            .unwrap_or_else(|e| panic!("tornet: cannot spawn tor -f {}: {e}", torrc.display()))
    }

    fn dir_authority_lines(&self) -> String {
        self.authorities
            .iter()
            .map(|a| a.dir_authority_line() + "\n")
            .collect()
    }

    fn dead_process(&self) -> Option<String> {
        let mut procs = self.procs.lock().unwrap();
        for (name, child) in procs.iter_mut() {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(format!("tor process {name} exited early: {st}"));
            }
        }
        None
    }

    /// Last `n` lines of every server's notice log and stderr.
    pub fn log_tails(&self, n: usize) -> String {
        let mut out = String::new();
        let mut dirs: Vec<PathBuf> = self
            .authorities
            .iter()
            .map(|a| a.data_dir.clone())
            .chain(self.relays.iter().map(|r| r.data_dir.clone()))
            .collect();
        dirs.push(self.vanilla.data_dir.clone());
        dirs.push(self.obfs4.data_dir.clone());
        for d in dirs {
            for f in ["notice.log", "stderr.log"] {
                let text = std::fs::read_to_string(d.join(f)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "--- {}/{f} (last {n} lines)", d.display());
                for l in &lines[lines.len().saturating_sub(n)..] {
                    let _ = writeln!(out, "{l}");
                }
            }
        }
        out
    }

    // ------------------------------------------------------------ public API

    /// Name of the network namespace everything runs in.
    pub fn ns_name(&self) -> &str {
        &self.ns
    }

    /// Makes `cmd` run inside the namespace (setns(2) before exec). Use it
    /// for the bridgescout binary: `net.exec_in_ns(&mut cmd).output()`.
    pub fn exec_in_ns<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        put_in_ns(&self.ns, cmd)
    }

    /// `Command::new(program)` already placed in the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.exec_in_ns(&mut cmd);
        cmd
    }

    /// Runs `f` on a fresh thread that has entered the namespace: sockets
    /// it creates (TcpStream/TcpListener) live in the namespace.
    pub fn in_ns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let handle = ns_handle(&self.ns);
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: plain syscall on a valid fd; affects this thread only.
                let r = unsafe { setns(handle.as_raw_fd(), CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
                f()
            })
            .join()
            .expect("thread in namespace panicked")
        })
    }

    /// Like [`in_ns`](Self::in_ns) but detached (for servers that run
    /// while the test does something else).
    pub fn spawn_in_ns<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let handle = ns_handle(&self.ns);
        std::thread::spawn(move || {
            // SAFETY: as above.
            let r = unsafe { setns(handle.as_raw_fd(), CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
            f()
        })
    }

    /// A fresh port in this network's range (for clients, test servers).
    pub fn alloc_port(&self) -> u16 {
        let p = self.next_port.fetch_add(1, Ordering::SeqCst);
        assert!(
            p < self.base_port + 100,
            "tornet: out of ports (50 per network)"
        );
        p
    }

    /// HTTP/1.0 GET from inside the namespace; returns (status, body).
    pub fn http_get(&self, addr: &str, path: &str) -> io::Result<(u16, String)> {
        let (addr, path) = (addr.to_string(), path.to_string());
        self.in_ns(move || {
            let sa: std::net::SocketAddr = addr.parse().map_err(io::Error::other)?;
            let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf)?;
            let text = String::from_utf8_lossy(&buf).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            Ok((status, body.to_string()))
        })
    }

    /// The current consensus from authority `i`'s DirPort.
    pub fn fetch_consensus(&self, i: usize) -> Result<Consensus, String> {
        let a = &self.authorities[i];
        match self.http_get(&a.dir_addr(), "/tor/status-vote/current/consensus") {
            Ok((200, body)) => Ok(Consensus::parse(&body)),
            Ok((code, body)) => Err(format!(
                "HTTP {code} {}",
                body.chars().take(100).collect::<String>()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// What arti needs (authorities + fallback caches).
    pub fn arti_network(&self) -> ArtiNetwork {
        ArtiNetwork {
            authorities: self
                .authorities
                .iter()
                .map(|a| ArtiAuthority {
                    nickname: a.nickname.clone(),
                    v3ident: a.v3ident.clone(),
                    dir_addr: a.dir_addr(),
                    or_addr: a.or_addr(),
                })
                .collect(),
            fallback_caches: self
                .authorities
                .iter()
                .map(|a| FallbackCache {
                    rsa_identity: a.rsa_identity.clone(),
                    ed_identity: a.ed_identity.clone(),
                    orports: vec![a.or_addr()],
                })
                .chain(self.relays.iter().map(|r| FallbackCache {
                    rsa_identity: r.rsa_identity.clone(),
                    ed_identity: r.ed_identity.clone(),
                    orports: vec![format!("{}:{}", r.addr, r.or_port)],
                }))
                .collect(),
        }
    }

    /// `DirAuthority ...` lines (one per authority, newline-terminated) for
    /// a C tor client's torrc.
    pub fn torrc_dir_authorities(&self) -> String {
        self.dir_authority_lines()
    }

    /// Serializes tests that add iptables rules or need the bridges
    /// undisturbed. Rules are cleared now and again when the guard drops.
    pub fn exclusive(&self) -> Exclusive<'_> {
        let guard = self.exclusive.lock().unwrap_or_else(|e| e.into_inner());
        self.clear_rules();
        Exclusive {
            net: self,
            _guard: guard,
        }
    }

    // ------------------------------------------------------------- iptables

    fn iptables(&self, args: &[String]) {
        let mut cmd = Command::new("iptables");
        cmd.args(["-w", "5"]).args(args);
        self.exec_in_ns(&mut cmd);
        must(&mut cmd);
    }

    /// Lets a TCP connection to (or from) `port` carry `bytes` bytes from
    /// the server side (conntrack "reply" direction, headers included),
    /// then drops every further packet of it in both directions: the flow
    /// stalls, as under a volume-based censor. New connections get the
    /// same budget each. Rules go to INPUT, so senders see a silent drop
    /// (retransmissions), not a local EPERM.
    pub fn cut_flow_after(&self, bytes: u64, port: u16) {
        for dir in ["--sport", "--dport"] {
            self.iptables(
                &[
                    "-A",
                    "INPUT",
                    "-p",
                    "tcp",
                    dir,
                    &port.to_string(),
                    "-m",
                    "connbytes",
                    "--connbytes",
                    &format!("{bytes}:"),
                    "--connbytes-dir",
                    "reply",
                    "--connbytes-mode",
                    "bytes",
                    "-j",
                    "DROP",
                ]
                .map(String::from),
            );
        }
    }

    /// Silently drops every packet to `port` (SYNs unanswered → timeout).
    pub fn drop_port(&self, port: u16) {
        self.iptables(
            &[
                "-A",
                "INPUT",
                "-p",
                "tcp",
                "--dport",
                &port.to_string(),
                "-j",
                "DROP",
            ]
            .map(String::from),
        );
    }

    /// Answers every packet to `port` with a TCP RST (→ refused / reset).
    pub fn reset_port(&self, port: u16) {
        self.iptables(
            &[
                "-A",
                "INPUT",
                "-p",
                "tcp",
                "--dport",
                &port.to_string(),
                "-j",
                "REJECT",
                "--reject-with",
                "tcp-reset",
            ]
            .map(String::from),
        );
    }

    /// Removes every rule added by the helpers above.
    pub fn clear_rules(&self) {
        self.iptables(&["-F", "INPUT"].map(String::from));
        self.iptables(&["-F", "OUTPUT"].map(String::from));
    }

    /// Packets hit so far by the DROP/REJECT rules in the namespace.
    pub fn rule_hits(&self) -> u64 {
        self.rules()
            .lines()
            .filter(|l| l.contains("DROP") || l.contains("REJECT"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// `iptables -L -v -n -x` inside the namespace (for failure messages).
    pub fn rules(&self) -> String {
        let mut cmd = Command::new("iptables");
        cmd.args(["-w", "5", "-L", "INPUT", "-v", "-n", "-x"]);
        self.exec_in_ns(&mut cmd);
        run_bounded(&mut cmd, CMD_DEADLINE).stdout
    }

    // ----------------------------------------------------------- isolation

    /// Everything that is not loopback-only: interfaces other than lo,
    /// routes, sockets with a non-loopback address, log lines naming a
    /// non-loopback IPv4 address. Empty = isolated as required.
    pub fn loopback_violations(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let run = |args: &[&str]| -> String {
            let (prog, rest) = args.split_first().unwrap();
            run_bounded(Command::new(prog).args(rest), CMD_DEADLINE).stdout
        };
        for line in run(&["ip", "-n", &self.ns, "-o", "link"]).lines() {
            let name = line.split(':').nth(1).unwrap_or("").trim();
            if name != "lo" {
                bad.push(format!("interface: {line}"));
            }
        }
        for fam in ["-4", "-6"] {
            for line in run(&["ip", "-n", &self.ns, fam, "route", "show", "table", "all"]).lines() {
                // Only the kernel's local/broadcast entries for lo are fine.
                let ok = (line.starts_with("local ") || line.starts_with("broadcast "))
                    && line.contains("dev lo")
                    || line.starts_with("multicast ff00::/8 dev lo");
                if !ok {
                    bad.push(format!("route: {line}"));
                }
            }
        }
        let mut ss = Command::new("ss");
        ss.args(["-H", "-tuan"]);
        self.exec_in_ns(&mut ss);
        for line in run_bounded(&mut ss, CMD_DEADLINE).stdout.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                continue;
            }
            for a in [f[4], f[5]] {
                let host = a.rsplit_once(':').map(|(h, _)| h).unwrap_or(a);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let ok = host.starts_with("127.")
                    || host == "::1"
                    || host == "*"
                    || host == "0.0.0.0"
                    || host == "::";
                if !ok {
                    bad.push(format!("socket: {line}"));
                }
            }
        }
        // Log lines naming a non-loopback IPv4 address (tor's own version
        // string "Tor 0.4.9.11" etc. has 4 dotted numbers too: skip those).
        for d in self.server_dirs() {
            let text = std::fs::read_to_string(d.join("notice.log")).unwrap_or_default();
            for line in text.lines() {
                if let Some(ip) = foreign_ipv4(line) {
                    bad.push(format!("log {}: {ip}: {line}", d.display()));
                }
            }
        }
        bad
    }

    fn server_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self
            .authorities
            .iter()
            .map(|a| a.data_dir.clone())
            .chain(self.relays.iter().map(|r| r.data_dir.clone()))
            .collect();
        v.push(self.vanilla.data_dir.clone());
        v.push(self.obfs4.data_dir.clone());
        v
    }

    // --------------------------------------------------------------- clients

    /// Starts a C tor client inside the namespace with extra torrc lines
    /// (e.g. `UseBridges 1` + `Bridge ...`). Its data directory is under
    /// the network's; it dies with the test process.
    pub fn start_client(&self, extra_torrc: &str) -> TorClient {
        let n = self.next_client.fetch_add(1, Ordering::SeqCst);
        let data_dir = self.dir.join("clients").join(format!("client{n}"));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir).unwrap();
        let socks_port = self.alloc_port();
        let mut t = common_torrc(&data_dir, &self.dir_authority_lines());
        let _ = write!(t, "SocksPort {LOCALHOST}:{socks_port}\n{extra_torrc}\n");
        let torrc = data_dir.join("torrc");
        std::fs::write(&torrc, &t).unwrap();
        let started = Instant::now();
        let child = self.spawn_tor(&torrc, &data_dir);
        TorClient {
            child,
            data_dir,
            socks_port,
            started,
        }
    }

    /// A client using the vanilla bridge.
    pub fn start_vanilla_client(&self) -> TorClient {
        self.start_client(&format!("UseBridges 1\n{}\n", self.vanilla.torrc_line()))
    }

    /// A client using the obfs4 bridge through obfs4proxy.
    pub fn start_obfs4_client(&self) -> TorClient {
        self.start_client(&format!(
            "UseBridges 1\nClientTransportPlugin obfs4 exec {OBFS4PROXY}\n{}\n",
            self.obfs4.torrc_line()
        ))
    }
}

impl Drop for TorNet {
    fn drop(&mut self) {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        for (_, c) in procs.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        destroy_ns(&self.ns);
        if std::env::var(KEEP_ENV).as_deref() != Ok("1") {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Held by a test while it needs the bridges to itself; clears iptables
/// rules when dropped (also on panic).
pub struct Exclusive<'a> {
    net: &'a TorNet,
    _guard: MutexGuard<'a, ()>,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.net.clear_rules();
    }
}

/// A C tor client process; killed on drop.
pub struct TorClient {
    child: Child,
    pub data_dir: PathBuf,
    pub socks_port: u16,
    pub started: Instant,
}

impl TorClient {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("notice.log")).unwrap_or_default()
            + &std::fs::read_to_string(self.data_dir.join("stderr.log")).unwrap_or_default()
    }

    /// Highest "Bootstrapped N%" seen in the log.
    pub fn bootstrap_percent(&self) -> u32 {
        self.log()
            .lines()
            .filter_map(|l| {
                let rest = l.split("Bootstrapped ").nth(1)?;
                rest.split('%').next()?.parse::<u32>().ok()
            })
            .max()
            .unwrap_or(0)
    }

    /// Waits until "Bootstrapped 100%"; Ok(time since start) or Err(log).
    pub fn wait_bootstrapped(&mut self, timeout: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if log_has(&self.data_dir, "Bootstrapped 100%") {
                return Ok(self.started.elapsed());
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(format!("tor client exited: {st}\n{}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no \"Bootstrapped 100%\" after {timeout:?} (reached {}%)\n{}",
                    self.bootstrap_percent(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl TorClient {
    /// Opens a stream through this client (SOCKS5, from inside the
    /// namespace) to 127.0.0.1:`port` and reads until EOF or until nothing
    /// arrives for `stall`. Returns (bytes, eof, time to first byte, total
    /// time). The exit relays carry the stream to the namespace's loopback.
    pub fn socks_receive(
        &self,
        net: &TorNet,
        port: u16,
        stall: Duration,
    ) -> io::Result<(usize, bool, Duration, Duration)> {
        let socks = self.socks_port;
        net.in_ns(move || {
            let t0 = Instant::now();
            let mut s = TcpStream::connect((LOCALHOST, socks))?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.write_all(&[5, 1, 0])?;
            let mut r = [0u8; 2];
            s.read_exact(&mut r)?;
            if r != [5, 0] {
                return Err(io::Error::other(format!("SOCKS greeting reply {r:?}")));
            }
            let p = port.to_be_bytes();
            s.write_all(&[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]])?;
            let mut r = [0u8; 10];
            s.read_exact(&mut r)?;
            if r[1] != 0 {
                return Err(io::Error::other(format!(
                    "SOCKS CONNECT failed, reply code {}",
                    r[1]
                )));
            }
            s.set_read_timeout(Some(stall))?;
            let mut buf = vec![0u8; 64 * 1024];
            let (mut got, mut first) = (0usize, None);
            let eof = loop {
                match s.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => {
                        got += n;
                        first.get_or_insert_with(|| t0.elapsed());
                    }
                    Err(_) => break false,
                }
            };
            Ok((got, eof, first.unwrap_or_default(), t0.elapsed()))
        })
    }
}

impl Drop for TorClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ helpers

fn log_has(data_dir: &Path, needle: &str) -> bool {
    std::fs::read_to_string(data_dir.join("notice.log"))
        .map(|s| s.contains(needle))
        .unwrap_or(false)
}

/// (cert, iat-mode) from obfs4proxy's `obfs4_bridgeline.txt`.
fn parse_obfs4_bridgeline(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains("cert="))?;
    let mut cert = None;
    let mut iat = None;
    for w in line.split_whitespace() {
        if let Some(c) = w.strip_prefix("cert=") {
            cert = Some(c.to_string());
        } else if let Some(i) = w.strip_prefix("iat-mode=") {
            iat = Some(i.to_string());
        }
    }
    Some((cert?, iat.unwrap_or_else(|| "0".into())))
}

/// First dotted-quad in `line` that is not loopback / unspecified and not
/// part of a version string (preceded by "Tor " or followed by more dots).
fn foreign_ipv4(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'))
        {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let cand = line[i..j].trim_end_matches('.');
            let parts: Vec<&str> = cand.split('.').collect();
            let is_ip = parts.len() == 4
                && parts.iter().all(|p| {
                    !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|v| v < 256)
                });
            let version = line[..i].ends_with("Tor ") || line[..i].ends_with("version ");
            if is_ip && !version && !cand.starts_with("127.") && cand != "0.0.0.0" {
                return Some(cand.to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// Starts the reaper: waits for `pid` to exit, then kills whatever runs in
/// the namespace, deletes it and the data directory.
// Never waited for on purpose: it outlives the test process (it only exits
// after it), so it can never become our zombie.
#[allow(clippy::zombie_processes)]
fn spawn_watchdog(pid: u32, ns: &str, dir: &Path) {
    let keep = std::env::var(KEEP_ENV).as_deref() == Ok("1");
    let script = r#"
p=$1; ns=$2; dir=$3; keep=$4
while kill -0 "$p" 2>/dev/null; do sleep 0.5; done
for sig in TERM KILL; do
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -z "$pids" ] && break
  kill -s $sig $pids 2>/dev/null
  sleep 1
done
ip netns del "$ns" 2>/dev/null
[ "$keep" = 1 ] || rm -rf "$dir"
"#;
    Command::new("sh")
        .args(["-c", script, "bstor-watchdog"])
        .arg(pid.to_string())
        .arg(ns)
        .arg(dir)
        .arg(if keep { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: a Ctrl-C to the test must not kill the reaper.
        .process_group(0)
        .spawn()
        .expect("tornet: cannot spawn the cleanup watchdog");
}

// ------------------------------------------------- raw transfer (for tests)

/// Serves `total` bytes to the first client on `port` inside the
/// namespace (detached thread; returns when that client is done or after
/// `timeout`).
pub fn serve_bytes(
    net: &TorNet,
    port: u16,
    total: usize,
    timeout: Duration,
) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = net.spawn_in_ns(move || {
        let l = std::net::TcpListener::bind((LOCALHOST, port)).expect("bind test server");
        tx.send(()).unwrap();
        let (mut s, _) = match l.accept() {
            Ok(x) => x,
            Err(_) => return,
        };
        let _ = s.set_write_timeout(Some(timeout));
        let chunk = vec![0x5au8; 16 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            if s.write_all(&chunk[..n]).is_err() {
                return;
            }
            sent += n;
        }
        let _ = s.shutdown(Shutdown::Write);
        // Wait for the client to close, so data in flight is not reset.
        let mut sink = [0u8; 64];
        let _ = s.set_read_timeout(Some(timeout));
        let _ = s.read(&mut sink);
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("test server did not start");
    h
}

/// Connects to `port` inside the namespace and counts the bytes received
/// until EOF or until nothing arrives for `stall` (returns (bytes, eof)).
pub fn receive_bytes(net: &TorNet, port: u16, stall: Duration) -> (usize, bool) {
    net.in_ns(move || {
        let mut s = TcpStream::connect((LOCALHOST, port)).expect("connect test server");
        s.set_read_timeout(Some(stall)).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got += n,
                Err(_) => return (got, false),
            }
        }
    })
}
