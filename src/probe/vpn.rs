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
    /// An authenticated handshake worked, then the flow went silent: a
    /// censor cutting connections after their first packets.
    Stalled,
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

/// Implements [`super::Probe`] for `$probe` by running `$run`, an
/// `async fn(&Endpoint, &ProbeConfig, &Recorder) -> VpnEvidence`: the one
/// shape every VPN probe shares.
macro_rules! impl_vpn_probe {
    ($probe:ty, $run:path) => {
        impl $crate::probe::Probe for $probe {
            fn run<'a>(
                &'a self,
                endpoint: &'a $crate::catalog::Endpoint,
                config: &'a $crate::probe::ProbeConfig,
                rec: &'a $crate::probe::Recorder,
            ) -> $crate::probe::BoxFuture<'a, $crate::probe::Evidence> {
                Box::pin(async move {
                    $crate::probe::Evidence::Vpn(Box::new($run(endpoint, config, rec).await))
                })
            }
        }
    };
}
pub(crate) use impl_vpn_probe;

/// Resolves a server host (recorded as a `resolve` step unless it is an IP
/// literal) to at most `config.max_addresses` socket addresses. `Ok` is
/// never empty: an IP literal gives one address, and the system resolver
/// reports an empty answer as `dns_no_answer`.
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

/// [`resolve`], with a failure already turned into the probe's evidence.
pub async fn resolve_or_evidence(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<Vec<SocketAddr>, VpnEvidence> {
    resolve(host, port, config, rec)
        .await
        .map_err(|f| VpnEvidence::failed(Operation::Resolve, f, FailKind::Resolve))
}

/// How to read a failed UDP exchange: ICMP port unreachable (surfacing as
/// `connection_refused` on a connected socket) says nothing listens;
/// silence is no response; anything else (host or network unreachable, a
/// local error) is the transport's.
pub fn udp_fail_kind(f: &Failure) -> FailKind {
    match f {
        Failure::ConnectionRefused => FailKind::PortUnreachable,
        Failure::GenericTimeout => FailKind::NoResponse,
        _ => FailKind::Transport,
    }
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
/// silence. Best effort: failing leaves the socket as it was. The errors
/// also queue up on the socket's error queue (see [`drain_error_queue`]).
#[cfg(target_os = "linux")]
pub(crate) fn recv_icmp_errors(sock: &impl std::os::fd::AsRawFd, v4: bool) {
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
pub(crate) fn recv_icmp_errors<S>(_sock: &S, _v4: bool) {}

/// Empties the error queue [`recv_icmp_errors`] fills. A socket polls as
/// in error while the queue holds anything, so a watcher of that readiness
/// must drain it or wake again at once. The pending error itself is read
/// with `take_error` first; the queued copies add nothing.
#[cfg(target_os = "linux")]
pub(crate) fn drain_error_queue(sock: &impl std::os::fd::AsRawFd) {
    let mut buf = [0u8; 256];
    // Bounded: the queue is limited by the receive buffer anyway.
    for _ in 0..64 {
        // SAFETY: a valid descriptor and a buffer of the given length.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            break;
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn drain_error_queue<S>(_sock: &S) {}

/// How the requests of [`udp_exchange`] are repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Every try is a fresh message; a reply is taken to answer the latest.
    Fresh,
    /// Every try repeats the same message (IKE retransmits, RFC 7296
    /// §2.1): a reply cannot say which copy it answers, so the round trip
    /// counts from the first send, an upper bound rather than a guess.
    Identical,
}

/// What [`udp_exchange`] got back.
#[derive(Debug)]
pub struct UdpReply<T> {
    pub value: T,
    /// Round trip, measured as [`Resend`] says.
    pub rtt: Duration,
    /// How many times the request went out (1: no retransmission).
    pub sends: usize,
}

/// [`udp_exchange`] with fresh messages, returning the value and its RTT.
pub async fn udp_round_trip<T>(
    sock: &UdpSocket,
    total: Duration,
    retry_every: Duration,
    make: impl FnMut() -> Vec<Vec<u8>>,
    accept: impl FnMut(&[u8]) -> Option<T>,
) -> Result<(T, Duration), Failure> {
    udp_exchange(sock, total, retry_every, Resend::Fresh, make, accept)
        .await
        .map(|r| (r.value, r.rtt))
}

/// UDP request/response with retries: sends the datagrams `make` returns
/// (for [`Resend::Fresh`], new ones each try: handshakes must not be
/// replayed), then waits up to `retry_every` for a datagram `accept` likes,
/// until `total` has passed. Datagrams `accept` rejects are ignored
/// (strays, injected garbage).
///
/// ICMP errors surface on a connected socket: port unreachable becomes
/// `connection_refused`, host unreachable `host_unreachable`.
pub async fn udp_exchange<T>(
    sock: &UdpSocket,
    total: Duration,
    retry_every: Duration,
    resend: Resend,
    mut make: impl FnMut() -> Vec<Vec<u8>>,
    mut accept: impl FnMut(&[u8]) -> Option<T>,
) -> Result<UdpReply<T>, Failure> {
    let deadline = Instant::now() + total;
    let mut buf = vec![0u8; 65_535];
    let mut first_sent: Option<Instant> = None;
    let mut sends = 0usize;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::GenericTimeout);
        }
        let sent_at = Instant::now();
        for dgram in make() {
            sock.send(&dgram).await.map_err(|e| from_io(&e))?;
        }
        sends += 1;
        let counted_from = match resend {
            Resend::Fresh => sent_at,
            Resend::Identical => *first_sent.get_or_insert(sent_at),
        };
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
                    if let Some(value) = accept(&buf[..n]) {
                        return Ok(UdpReply {
                            value,
                            rtt: counted_from.elapsed(),
                            sends,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_failures_map_to_kinds() {
        for (f, want) in [
            (Failure::ConnectionRefused, FailKind::PortUnreachable),
            (Failure::GenericTimeout, FailKind::NoResponse),
            (Failure::HostUnreachable, FailKind::Transport),
            (Failure::NetworkUnreachable, FailKind::Transport),
        ] {
            assert_eq!(udp_fail_kind(&f), want, "{f}");
        }
    }

    /// A server that answers only the first copy, late: with identical
    /// resends the RTT counts from the first send, with fresh ones from
    /// the latest.
    #[tokio::test]
    async fn identical_resends_count_from_the_first_send() {
        for (resend, at_least, below) in
            [(Resend::Identical, 250, u64::MAX), (Resend::Fresh, 0, 200)]
        {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let sock = udp_connect(server.local_addr().unwrap()).await.unwrap();
            let answer = tokio::spawn(async move {
                let mut b = [0u8; 16];
                let (_, from) = server.recv_from(&mut b).await.unwrap();
                tokio::time::sleep(Duration::from_millis(250)).await;
                server.send_to(b"ok", from).await.unwrap();
                server
            });
            let r = udp_exchange(
                &sock,
                Duration::from_secs(2),
                Duration::from_millis(200),
                resend,
                || vec![b"hi".to_vec()],
                |d| (d == b"ok").then_some(()),
            )
            .await
            .unwrap();
            let ms = r.rtt.as_millis() as u64;
            assert!(r.sends >= 2, "{resend:?}: {r:?}");
            assert!(ms >= at_least && ms < below, "{resend:?}: {ms} ms");
            drop(answer.await);
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn connected_sockets_ask_for_all_icmp_errors() {
        use std::os::fd::AsRawFd;
        let sock = udp_connect("127.0.0.1:9".parse().unwrap()).await.unwrap();
        let mut on: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid descriptor, an int and its size.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_RECVERR,
                std::ptr::from_mut(&mut on).cast(),
                &mut len,
            )
        };
        assert_eq!((rc, on), (0, 1));
        drain_error_queue(&sock);
    }
}
