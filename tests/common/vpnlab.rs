//! Network-namespace lab for VPN integration tests: real VPN servers
//! (OpenVPN, wireguard-go, strongswan's charon, shadowsocks-libev, …) run
//! in a server namespace, bridgescout runs in a client namespace, and
//! iptables in the server namespace adds interference (TCP and UDP drops,
//! ICMP unreachables, cutting a flow after N bytes; see [`Block`]).
//!
//! ```text
//!   client ns  bs-v<pid>-<seq>-c         server ns  bs-v<pid>-<seq>-s
//!   ┌────────────────────────┐  veth   ┌──────────────────────────────────┐
//!   │ 10.78.<n>.1/24         │─────────│ 10.78.<n>.2/24  (servers the     │
//!   │ resolv.conf → 127.0.0.1│         │                 test spawns)     │
//!   └────────────────────────┘         │ 10.78.<n>.3/24  (nothing listens)│
//!                                      └──────────────────────────────────┘
//! ```
//!
//! It is the same namespace pair as the DoH lab's ([`NsPair`] from
//! `netns.rs`, which [`VpnLab`] dereferences to) with a different name tag
//! (`bs-v…`) and subnet (`10.78.<n>.0/24`), so both labs run side by side
//! in one process; but it starts no server of its own. Each test spawns
//! what it needs with [`NsPair::spawn_in_server`], waits with
//! [`NsPair::wait_tcp`] / [`NsPair::wait_udp`], and checks its server
//! binary with [`require_tool`] first. Nothing leaves the namespaces: the
//! client's resolver is its own loopback and the server namespace has no
//! route beyond the veth subnet.
//!
//! Requirements: root, `ip`, `ss`, `iptables` (panics otherwise) unless
//! `BRIDGESCOUT_SKIP_NETNS=1`, when [`VpnLab::start`] returns `None`.
//! Teardown on `Drop` as for the DoH lab, plus the wireguard-go control
//! sockets of interfaces registered with [`VpnLab::register_wg_iface`].
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

// Included with `#[path]` so this file also works alone from a test; in
// `common` that loads netns.rs a second time, on purpose (distinct name
// tags keep the two copies' labs apart).
#[allow(clippy::duplicate_mod)]
#[path = "netns.rs"]
mod netns;
// Re-exported for the VPN tests; binaries loading all of `common` use none.
#[allow(unused_imports)]
pub use netns::{Block, NsPair, RunOutput, find_tool, run_bounded};

/// Name tag of this lab's namespaces (`bs-v<pid>-<seq>-{c,s}`).
const TAG: &str = "v";
/// Second octet of this lab's subnets (the DoH lab uses 77).
const SUBNET_OCTET: u8 = 78;
/// Where wireguard-go puts its UAPI control sockets (not per namespace).
const WG_SOCKET_DIR: &str = "/var/run/wireguard";
/// Directories holding daemons that are not on PATH (strongswan's charon).
const EXTRA_TOOL_DIRS: [&str; 3] = [
    "/usr/lib/ipsec",
    "/usr/libexec/ipsec",
    "/usr/lib/strongswan",
];

static WG_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A client/server namespace pair for VPN servers; derefs to [`NsPair`]
/// for `server_ns`, `client_ns`, `client_ip`, `server_ip`, `spare_ip`,
/// `dir` and every spawn/wait/run/iptables/block method.
pub struct VpnLab {
    net: NsPair,
}

impl Deref for VpnLab {
    type Target = NsPair;
    fn deref(&self) -> &NsPair {
        &self.net
    }
}

impl DerefMut for VpnLab {
    fn deref_mut(&mut self) -> &mut NsPair {
        &mut self.net
    }
}

/// Path of `tool` (a name looked up on PATH, the sbin directories and
/// strongswan's libexec directories, or an absolute path). Panics naming
/// the Debian package to install when it is missing. Call it after
/// [`VpnLab::start`] so `BRIDGESCOUT_SKIP_NETNS=1` still skips.
pub fn require_tool(test: &str, tool: &str, debian_package: &str) -> PathBuf {
    let found = if tool.contains('/') {
        Some(PathBuf::from(tool)).filter(|p| p.is_file())
    } else {
        find_tool(tool).or_else(|| {
            EXTRA_TOOL_DIRS
                .iter()
                .map(|d| Path::new(d).join(tool))
                .find(|p| p.is_file())
        })
    };
    found.unwrap_or_else(|| {
        panic!(
            "{test}: `{tool}` not found: this VPN test needs it \
             (apt-get install {debian_package}), or set BRIDGESCOUT_SKIP_NETNS=1 \
             to skip the network-namespace tests"
        )
    })
}

impl VpnLab {
    /// Builds the namespace pair (no servers). Returns `None` only when
    /// BRIDGESCOUT_SKIP_NETNS=1; panics with a clear message if root, `ip`,
    /// `ss` or `iptables` is missing, or if setting up fails.
    pub fn start(test: &str) -> Option<VpnLab> {
        if !netns::preflight_tools(test, &netns::BASE_TOOLS) {
            return None;
        }
        Some(VpnLab {
            net: NsPair::create(TAG, SUBNET_OCTET),
        })
    }

    /// Marks `iface` as a wireguard-go interface of this lab: its control
    /// socket `/var/run/wireguard/<iface>.sock`, which lives outside the
    /// namespace and survives a SIGKILLed wireguard-go, is removed on drop.
    /// The socket path is global, so the name must be unique on the host:
    /// prefer [`VpnLab::wg_iface`].
    pub fn register_wg_iface(&mut self, iface: &str) {
        self.net
            .remove_on_drop(Path::new(WG_SOCKET_DIR).join(format!("{iface}.sock")));
    }

    /// A fresh interface name (≤ 15 chars, unique across parallel tests and
    /// processes) for wireguard-go, already registered with
    /// [`VpnLab::register_wg_iface`].
    pub fn wg_iface(&mut self) -> String {
        let k = WG_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("wg{}x{}", std::process::id(), k % 10_000);
        assert!(name.len() <= 15, "interface name too long: {name}");
        self.register_wg_iface(&name);
        name
    }
}

/// One `bridgescout scan … --format jsonl` run in the client namespace
/// (see [`VpnLab::scan_jsonl`]).
pub struct LabScan {
    /// The JSONL records, in output order.
    pub records: Vec<serde_json::Value>,
    pub stdout: String,
    pub stderr: String,
    /// Command, exit status, both streams, the iptables rules and the
    /// server logs: for assertion messages.
    pub dump: String,
    pub elapsed: Duration,
}

impl LabScan {
    /// The record labelled exactly `label`.
    pub fn get(&self, label: &str) -> &serde_json::Value {
        self.records
            .iter()
            .find(|r| r["label"].as_str() == Some(label))
            .unwrap_or_else(|| panic!("no record labelled {label:?}\n{}", self.dump))
    }

    /// The first record whose label contains `part`.
    pub fn find(&self, part: &str) -> &serde_json::Value {
        self.records
            .iter()
            .find(|r| r["label"].as_str().is_some_and(|l| l.contains(part)))
            .unwrap_or_else(|| panic!("no record with {part:?} in its label\n{}", self.dump))
    }

    /// Neither output stream contains any of `needles` (secrets, or
    /// pieces of them).
    pub fn assert_absent(&self, needles: &[String]) {
        for n in needles {
            for stream in [&self.stdout, &self.stderr] {
                assert!(
                    !stream.contains(n.as_str()),
                    "output contains secret {n:?}\n{}",
                    self.dump
                );
            }
        }
    }
}

impl VpnLab {
    /// Runs `bridgescout scan` in the client namespace with `args` (inputs
    /// and test-specific options) plus what every VPN test wants: JSONL,
    /// `timeout_secs` per step, no history, no system DNS and no control
    /// measurements (they would reach for public hosts). Panics if the run
    /// outlasts `deadline` or prints a line that is not JSON.
    pub fn scan_jsonl(&self, args: &[String], timeout_secs: &str, deadline: Duration) -> LabScan {
        let mut argv: Vec<String> = vec!["scan".into()];
        argv.extend(args.iter().cloned());
        argv.extend(
            [
                "--format",
                "jsonl",
                "--timeout",
                timeout_secs,
                "--no-history",
                "--no-system-dns",
                "--no-controls",
            ]
            .map(String::from),
        );
        let out = self.run_in_client(env!("CARGO_BIN_EXE_bridgescout"), &argv, deadline);
        let dump = format!(
            "bridgescout {}\nexit {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- iptables ---\n{}\n{}",
            argv.join(" "),
            out.code(),
            out.elapsed,
            out.stdout,
            out.stderr,
            self.rules(),
            self.server_logs()
        );
        eprintln!("{dump}");
        assert!(!out.timed_out, "bridgescout hung\n{dump}");
        let records = out
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSONL {l:?}: {e}")))
            .collect();
        LabScan {
            records,
            stdout: out.stdout,
            stderr: out.stderr,
            dump,
            elapsed: out.elapsed,
        }
    }
}
