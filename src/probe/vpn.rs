//! What every VPN and proxy probe reports, and the socket helpers they
//! share. These protocols ignore strangers by design, so evidence says how
//! far the probe got and what silence could still mean.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::failure::from_io;
use super::{ProbeConfig, Recorder};
use crate::measurement::{Failure, Operation};

/// How a failed step should be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// The transport failed: connect timeout, reset, refused, ICMP.
    Transport,
    /// ICMP port unreachable for our UDP datagrams.
    PortUnreachable,
    /// An authenticated request went out and nothing valid came back.
    NoResponse,
    /// The server said the credentials are wrong.
    AuthFailed,
    /// A certificate did not verify.
    Certificate,
    /// Something answered, but not with the protocol we spoke.
    BadResponse,
    /// The server's host name could not be resolved.
    Resolve,
    /// The probe cannot test this configuration (unsupported option,
    /// plugin needed); the failure explains.
    Unsupported,
}

/// How far a VPN or proxy probe got.
#[derive(Debug, Clone, PartialEq)]
pub enum VpnOutcome {
    /// An authenticated round trip was proven (a verified handshake
    /// response, or a proxied answer decrypted with the user's key).
    Verified,
    /// Only the front answered (TCP/TLS/QUIC); the login was not checked.
    FrontOnly,
    Failed {
        op: Operation,
        failure: Failure,
        kind: FailKind,
    },
}

/// A data test through the tunnel after the handshake.
#[derive(Debug, Clone, PartialEq)]
pub enum TunnelData {
    Ok { rtt_ms: f64 },
    Failed { op: Operation, failure: Failure },
}

#[derive(Debug, Clone, PartialEq)]
pub struct VpnEvidence {
    pub outcome: VpnOutcome,
    /// Round trip of the step that proved the outcome (handshake RTT), ms.
    pub handshake_ms: Option<f64>,
    /// `None` when no data test was possible (the note says why).
    pub data: Option<TunnelData>,
    /// Plain-language remarks: what silence could mean, what was ruled
    /// out, settings we could not imitate. Never a key or an address.
    pub notes: Vec<String>,
}

impl VpnEvidence {
    pub fn failed(op: Operation, failure: Failure, kind: FailKind) -> VpnEvidence {
        VpnEvidence {
            outcome: VpnOutcome::Failed { op, failure, kind },
            handshake_ms: None,
            data: None,
            notes: Vec::new(),
        }
    }

    pub fn verified(handshake_ms: f64) -> VpnEvidence {
        VpnEvidence {
            outcome: VpnOutcome::Verified,
            handshake_ms: Some(handshake_ms),
            data: None,
            notes: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> VpnEvidence {
        self.notes.push(note.into());
        self
    }
}

/// Resolves a server host (recorded as a `resolve` step unless it is an IP
/// literal) to at most `config.max_addresses` socket addresses.
pub async fn resolve(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<Vec<SocketAddr>, Failure> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if !config.system_resolver {
        // Tests turn the system resolver off so nothing leaves the machine.
        let started = rec.begin(Operation::Resolve, Some(host.to_string()));
        rec.finish(
            started,
            Some(Failure::DnsNoAnswer),
            Some("system resolver disabled".into()),
            Vec::new(),
        );
        return Err(Failure::DnsNoAnswer);
    }
    let ips = super::resolver::resolve_system(host, port, config, rec).await?;
    Ok(ips
        .into_iter()
        .take(config.max_addresses.max(1))
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// A connected UDP socket towards `peer`, from an ephemeral local port.
pub async fn udp_connect(peer: SocketAddr) -> Result<UdpSocket, Failure> {
    let local: SocketAddr = if peer.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await.map_err(|e| from_io(&e))?;
    sock.connect(peer).await.map_err(|e| from_io(&e))?;
    recv_icmp_errors(&sock, peer.is_ipv4());
    Ok(sock)
}

/// Asks Linux to report every ICMP error for this socket to `recv`. Without
/// it only port-unreachable reaches a UDP socket; host and network
/// unreachable (a firewall's REJECT, a route withdrawn) would look like
/// silence. Best effort: failing leaves the socket as it was.
#[cfg(target_os = "linux")]
fn recv_icmp_errors(sock: &UdpSocket, v4: bool) {
    use std::os::fd::AsRawFd;
    let (level, name) = if v4 {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    } else {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    };
    let on: libc::c_int = 1;
    // SAFETY: a valid open descriptor, an int option and its exact size.
    let _ = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn recv_icmp_errors(_sock: &UdpSocket, _v4: bool) {}

/// UDP request/response with retries: sends the datagrams `make` returns
/// (fresh ones each try: handshakes must not be replayed), then waits up to
/// `retry_every` for a datagram `accept` likes, until `total` has passed.
/// Datagrams `accept` rejects are ignored (strays, injected garbage).
///
/// ICMP errors surface on a connected socket: port unreachable becomes
/// `connection_refused`, host unreachable `host_unreachable`.
pub async fn udp_round_trip<T>(
    sock: &UdpSocket,
    total: Duration,
    retry_every: Duration,
    mut make: impl FnMut() -> Vec<Vec<u8>>,
    mut accept: impl FnMut(&[u8]) -> Option<T>,
) -> Result<(T, Duration), Failure> {
    let deadline = Instant::now() + total;
    let mut buf = vec![0u8; 65_535];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::GenericTimeout);
        }
        let sent_at = Instant::now();
        for dgram in make() {
            sock.send(&dgram).await.map_err(|e| from_io(&e))?;
        }
        let wait_until = (sent_at + retry_every).min(deadline);
        loop {
            let left = wait_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, sock.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(from_io(&e)),
                Ok(Ok(n)) => {
                    if let Some(v) = accept(&buf[..n]) {
                        return Ok((v, sent_at.elapsed()));
                    }
                }
            }
        }
    }
}
