//! Tor bridges, every transport: TCP, TLS, the Tor link handshake with the
//! bridge identity verified, then a data test over a one-hop directory
//! circuit; pluggable transports through managed PT client binaries; and
//! optionally a full arti bootstrap through the bridge (deep mode).

mod classify;
mod data;
mod deep;
mod link;
mod pt;

use std::path::PathBuf;
use std::time::Duration;

use tor_linkspec::{ChannelMethod, PtTarget, PtTargetAddr};

use crate::catalog::bridge_line::{BridgeLine, Transport};
use crate::catalog::{Endpoint, Target};
use crate::measurement::{BootstrapTrace, DataTest, Failure, Operation};

use super::{Evidence, ProbeConfig, Recorder};

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
    /// Why the data test ended early when it was not a stall (a reset, an
    /// EOF, a bridge serving nothing).
    pub data_error: Option<Failure>,
    pub bootstrap: Option<Result<BootstrapTrace, (BootstrapTrace, String)>>,
    /// Latency to report: the link handshake's duration, ms.
    pub handshake_ms: Option<f64>,
    /// The `slow` threshold in force (KiB/s), from [`TorConfig`].
    pub slow_kib_per_s: Option<f64>,
    pub notes: Vec<String>,
}

/// The Tor bridge probe: see the module docs.
pub struct TorProbe;

impl super::Probe for TorProbe {
    fn run<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        config: &'a ProbeConfig,
        rec: &'a Recorder,
    ) -> super::BoxFuture<'a, Evidence> {
        Box::pin(async move {
            let ev = match &endpoint.target {
                Target::Bridge(line) => probe_bridge(line, config, rec).await,
                _ => TorEvidence::default(),
            };
            Evidence::Tor(Box::new(ev))
        })
    }
}

/// Transports whose line address is a placeholder (the client reaches a
/// broker, CDN or URL instead): a TCP connect to it would prove nothing.
fn address_is_placeholder(t: &Transport) -> bool {
    matches!(
        t,
        Transport::Snowflake | Transport::Meek | Transport::Webtunnel | Transport::Conjure
    )
}

fn ms_between(step: &crate::measurement::Step) -> f64 {
    step.duration_ms()
}

/// Probes one bridge, step by step; see [`TorEvidence`] for what is kept.
pub async fn probe_bridge(line: &BridgeLine, config: &ProbeConfig, rec: &Recorder) -> TorEvidence {
    // The tor runtime's rustls needs a process-wide provider (main installs
    // it too; tests and library users may not).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut ev = TorEvidence {
        transport: Some(line.transport.clone()),
        slow_kib_per_s: Some(config.tor.slow_kib_per_s),
        ..TorEvidence::default()
    };
    let target = Some(line.addr.to_string());
    let timeout = config.step_timeout;
    let rt = match link::Runtime::current() {
        Ok(rt) => rt,
        Err(e) => {
            ev.notes.push(format!("no Tor runtime: {e}"));
            return ev;
        }
    };
    let vanilla = line.transport == Transport::Vanilla;

    // 1. Plain TCP: tells a dead port from a transport failure.
    let mut tcp_stream = None;
    if address_is_placeholder(&line.transport) {
        ev.notes.push(format!(
            "{} bridge addresses are placeholders: no TCP check",
            line.transport
        ));
    } else {
        let r = super::timed_step(
            rec,
            timeout,
            Operation::TcpConnect,
            target.clone(),
            async {
                link::tcp_connect(&rt, line.addr)
                    .await
                    .map_err(|e| super::failure::from_io(&e))
            },
            |_| None,
        )
        .await;
        match r {
            Ok(s) => {
                rec.scan().mark_network_up();
                ev.tcp = Some(Ok(()));
                tcp_stream = Some(s);
            }
            Err(f) => ev.tcp = Some(Err(f)),
        }
    }

    let expected = link::expected_target(line.addr, line.fingerprint, line.param("ed25519"));
    let mut pt_binary = None;
    // 2. The stream the Tor link runs over: the TCP connection itself, or a
    // connection through the PT client.
    let (stream, method) = if vanilla {
        let Some(s) = tcp_stream else {
            return ev;
        };
        (s, ChannelMethod::Direct(vec![line.addr]))
    } else {
        drop(tcp_stream);
        let name = pt::pt_name(line);
        let Some(bin) = pt::find_binary(&line.transport, &config.tor.pt_paths) else {
            ev.pt = Some(PtState::Missing {
                transport: line.transport.to_string(),
                hint: pt::missing_hint(&line.transport),
            });
            return ev;
        };
        if matches!(ev.tcp, Some(Err(_))) {
            // The port is dead: the PT could only fail the same way.
            return ev;
        }
        let bin_name = bin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Launch (first use only): a recorded step of its own.
        let socks = if pt::is_launched(&bin, &name).await {
            pt::get_or_launch(&rt, &bin, &name, timeout).await
        } else {
            let started = rec.begin(Operation::PtLaunch, target.clone());
            let r = pt::get_or_launch(&rt, &bin, &name, timeout).await;
            match &r {
                Ok(_) => rec.finish(started, None, Some(bin_name.clone()), Vec::new()),
                Err(msg) => rec.finish(
                    started,
                    Some(Failure::Unknown(msg.clone())),
                    Some(bin_name.clone()),
                    Vec::new(),
                ),
            };
            r
        };
        let socks = match socks {
            Ok(s) => s,
            Err(msg) => {
                ev.pt = Some(PtState::LaunchFailed(format!("{bin_name}: {msg}")));
                return ev;
            }
        };
        ev.pt = Some(PtState::Launched { path: bin.clone() });
        pt_binary = Some(bin);
        // The transport's own handshake: the PT answers SOCKS only once it
        // has (e.g. obfs4's handshake) or has given up.
        let started = rec.begin(Operation::PtHandshake, target.clone());
        let r = tokio::time::timeout(
            timeout,
            pt::socks_connect(&rt, socks, line.addr, &line.params),
        )
        .await;
        let s = match r {
            Ok(Ok(s)) => {
                rec.finish(
                    started,
                    None,
                    Some(format!("{name} via {bin_name}")),
                    Vec::new(),
                );
                s
            }
            Ok(Err(e)) => {
                let fail = classify::pt_fail(&e);
                rec.finish(
                    started,
                    Some(classify::step_failure(&fail)),
                    None,
                    Vec::new(),
                );
                ev.handshake = Some(Err(fail));
                return ev;
            }
            Err(_) => {
                let fail = HandshakeFail::Pt(Failure::GenericTimeout);
                rec.finish(started, Some(Failure::GenericTimeout), None, Vec::new());
                ev.handshake = Some(Err(fail));
                return ev;
            }
        };
        let mut pt_target = PtTarget::new(
            match name.parse() {
                Ok(n) => n,
                Err(e) => {
                    ev.notes.push(format!("bad transport name: {e}"));
                    return ev;
                }
            },
            PtTargetAddr::IpPort(line.addr),
        );
        for (k, v) in &line.params {
            // Only the declared method's bookkeeping; the PT already has them.
            let _ = pt_target.push_setting(k.as_str(), v.as_str());
        }
        (s, ChannelMethod::Pluggable(pt_target))
    };

    // 3. TLS.
    let started = rec.begin(Operation::TlsHandshake, target.clone());
    let (tls, cert) = match tokio::time::timeout(timeout, link::tls(&rt, stream)).await {
        Ok(Ok(v)) => {
            rec.finish(started, None, None, Vec::new());
            v
        }
        Ok(Err(e)) => {
            rec.finish(started, Some(super::failure::from_io(&e)), None, Vec::new());
            ev.handshake = Some(Err(classify::tls_fail(&e)));
            return ev;
        }
        Err(_) => {
            rec.finish(started, Some(Failure::GenericTimeout), None, Vec::new());
            ev.handshake = Some(Err(HandshakeFail::Network(Failure::GenericTimeout)));
            return ev;
        }
    };

    // 4. Link handshake, certificates, identity.
    let started = rec.begin(Operation::TorHandshake, target.clone());
    let hs = tokio::time::timeout(
        timeout,
        link::handshake(&rt, tls, &cert, line.addr, method, expected.as_ref()),
    )
    .await;
    let link = match hs {
        Ok(Ok(l)) => {
            let mut detail = if l.identity_checked {
                "identity verified".to_string()
            } else {
                "no fingerprint in the line: identity not checked".to_string()
            };
            if l.skew != 0.0 {
                detail.push_str(&format!("; clock skew {:+.0} s", l.skew));
            }
            let step = rec.finish(started, None, Some(detail), Vec::new());
            ev.handshake_ms = Some(ms_between(&step));
            ev.handshake = Some(Ok(Some(l.skew)));
            if !l.identity_checked {
                ev.notes.push(
                    "the line has no fingerprint: the bridge's identity was not checked".into(),
                );
            }
            l
        }
        Ok(Err(lf)) => {
            let detail = match &lf.fail {
                HandshakeFail::IdentityMismatch { .. } => Some("identity mismatch".to_string()),
                HandshakeFail::ClockSkew(s) => Some(format!("clock skew {s:+.0} s")),
                _ => None,
            };
            rec.finish(
                started,
                Some(classify::step_failure(&lf.fail)),
                detail,
                Vec::new(),
            );
            if let Some(s) = lf.skew.filter(|s| s.abs() >= classify::CLOCK_SKEW_MIN_S) {
                ev.notes.push(format!(
                    "this computer's clock differs from the bridge's by {s:+.0} s"
                ));
            }
            ev.handshake = Some(Err(lf.fail));
            return ev;
        }
        Err(_) => {
            rec.finish(started, Some(Failure::GenericTimeout), None, Vec::new());
            ev.handshake = Some(Err(HandshakeFail::Network(Failure::GenericTimeout)));
            return ev;
        }
    };

    // 5. One-hop circuit, then the data test over it.
    let tunnel = super::timed_step(
        rec,
        timeout,
        Operation::TorCircuit,
        target.clone(),
        link::one_hop(&link.chan, timeout),
        |_| Some("CREATE_FAST".into()),
    )
    .await;
    let tunnel = match tunnel {
        Ok(t) => {
            ev.circuit = Some(Ok(()));
            t
        }
        Err(f) => {
            ev.circuit = Some(Err(f));
            link.chan.terminate();
            return ev;
        }
    };
    let started = rec.begin(Operation::TorDirFetch, target.clone());
    // A bound on the whole test, so trickling cannot hold a scan forever.
    let cap = (timeout * 10).max(Duration::from_secs(30)) + config.tor.stall_after;
    let out = data::run(
        tunnel,
        config.tor.data_target_bytes,
        config.tor.stall_after,
        cap,
    )
    .await;
    link.chan.terminate();
    let d = &out.test;
    let detail = match d.stalled_after {
        Some(b) => format!("stalled after {b} bytes"),
        None => format!(
            "{} bytes in {:.2} s ({:.1} KiB/s)",
            d.bytes, d.seconds, d.kib_per_s
        ),
    };
    let failure = match (&out.error, d.stalled_after) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(_)) => Some(Failure::GenericTimeout),
        (None, None) => None,
    };
    rec.finish(started, failure, Some(detail), Vec::new());
    let complete = d.bytes >= d.target_bytes;
    ev.data_error = out.error.clone();
    ev.data = Some(out.test);

    // 6. Deep: a whole Tor client through this bridge.
    if config.tor.deep && complete {
        let limit = (timeout * 6).max(Duration::from_secs(30));
        let started = rec.begin(Operation::TorBootstrap, target.clone());
        let r = deep::bootstrap(
            &rt,
            line,
            pt_binary.as_deref(),
            config.tor.network_toml.as_deref(),
            limit,
        )
        .await;
        match &r {
            Ok(t) => rec.finish(
                started,
                None,
                Some(format!(
                    "100 % in {:.1} s",
                    t.seconds_to_100.unwrap_or_default()
                )),
                Vec::new(),
            ),
            Err((t, msg)) => rec.finish(
                started,
                Some(Failure::Unknown(msg.clone())),
                Some(format!("stopped at {} %", t.percent)),
                Vec::new(),
            ),
        };
        ev.bootstrap = Some(r);
    }
    ev
}
