//! WireGuard and AmneziaWG: a real Noise IK handshake in user space, then
//! a DNS query through the tunnel.
//!
//! No TUN device: boringtun's `Tunn` does the cryptography and we are the
//! interface, sending a hand-built IP/UDP packet from the config's
//! `Address` to its `DNS` server. Only a response that boringtun verifies
//! (mac1 for our key, our sender index, the AEAD of the Noise IK payload)
//! counts: a WireGuard server never answers what it cannot authenticate,
//! so silence is all a wrong key, a block or a dead server ever produce.

mod awg;
mod packet;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boringtun::noise::errors::WireGuardError;
use boringtun::noise::rate_limiter::RateLimiter;
use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;

use self::awg::{Awg, Incoming};
use super::dns::{self, SentQuery};
use super::failure::from_io;
use super::vpn::{self, FailKind, TunnelData, VpnEvidence, VpnOutcome};
use super::{ProbeConfig, Recorder};
use crate::catalog::wireguard::WgPeer;
use crate::catalog::{Endpoint, Target};
use crate::measurement::{Failure, Operation};

/// A fresh initiation (or DNS query) goes out this often until the step's
/// time is up; WireGuard itself waits 5 s, too long for a probe.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Up to this much is added to each handshake retry, at random: parallel
/// probes of configs that share one key (same client, several files) would
/// otherwise hit the server together, and it takes only one initiation per
/// peer every 20 ms, each newer than the last.
const RETRY_JITTER_MS: u64 = 200;
/// Initiations still waiting for their response; older ones are dropped.
const MAX_PENDING: usize = 16;
/// Receive buffer: the largest UDP datagram.
const RECV_BUF: usize = 65_535;
/// Two responses that fail the AEAD for our own initiations settle it:
/// the server knows us but derives other keys (a different PresharedKey).
const AEAD_FAILURES_TO_STOP: usize = 2;
/// The failure when the server answered but its responses did not verify.
const RESPONSE_NOT_VERIFIED: &str = "handshake response did not verify";

pub struct WireguardProbe;

vpn::impl_vpn_probe!(WireguardProbe, probe);

async fn probe(endpoint: &Endpoint, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    let Target::WireGuard(peer) = &endpoint.target else {
        return VpnEvidence::failed(
            Operation::WireguardHandshake,
            Failure::Unknown("not a WireGuard endpoint".into()),
            FailKind::Unsupported,
        );
    };
    let addrs = match vpn::resolve_or_evidence(&peer.host, peer.port, config, rec).await {
        Ok(a) => a,
        Err(e) => return e,
    };
    let tried = addrs.len().min(config.max_addresses.max(1));
    // Handshakes to every address at once; the first verified one wins and
    // the rest are dropped. Only the winner carries data: two live sessions
    // with one key would make the server roam its replies between them.
    let mut racing: FuturesUnordered<_> = addrs
        .iter()
        .take(tried)
        .map(|a| handshake_step(peer, *a, config, rec))
        .collect();
    let mut failures = Vec::new();
    let mut winner = None;
    while let Some(r) = racing.next().await {
        match r {
            Ok(t) => {
                winner = Some(t);
                break;
            }
            Err(e) => failures.push(e),
        }
    }
    drop(racing);
    let mut best = match winner {
        Some(t) => with_data(t, peer, config, rec).await,
        None => failures.into_iter().min_by_key(rank).unwrap_or_else(|| {
            VpnEvidence::failed(Operation::Resolve, Failure::DnsNoAnswer, FailKind::Resolve)
        }),
    };
    if tried > 1 {
        best.notes.push(format!(
            "The server name has {tried} addresses, all tried at once; this is the first that \
             answered, or the most telling failure."
        ));
    }
    if let Some(p) = &peer.amnezia
        && !p.not_imitated.is_empty()
    {
        best.notes.push(format!(
            "This AmneziaWG config asks for {} decoy packets, which the probe does not send; \
             the real client sends them before each handshake.",
            p.not_imitated.join(", ")
        ));
    }
    best
}

/// Lower is better: the most useful result among parallel attempts.
fn rank(e: &VpnEvidence) -> u8 {
    match (&e.outcome, &e.data) {
        (VpnOutcome::Verified, Some(TunnelData::Ok { .. })) => 0,
        (VpnOutcome::Verified, None) => 1,
        (VpnOutcome::Verified, Some(TunnelData::Failed { .. })) => 2,
        (VpnOutcome::FrontOnly, _) => 3,
        (VpnOutcome::Failed { kind, .. }, _) => match kind {
            FailKind::AuthFailed => 4,
            FailKind::PortUnreachable => 5,
            FailKind::Transport => 6,
            FailKind::NoResponse => 7,
            _ => 8,
        },
    }
}

/// A verified handshake, ready for the data test.
struct Tunnel {
    sock: UdpSocket,
    awg: Awg,
    hs: Established,
    evidence: VpnEvidence,
}

/// The recorded handshake step against one address of the server.
async fn handshake_step(
    peer: &WgPeer,
    addr: SocketAddr,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<Tunnel, VpnEvidence> {
    let started = rec.begin(Operation::WireguardHandshake, Some(addr.to_string()));
    let sock = match vpn::udp_connect(addr).await {
        Ok(s) => s,
        Err(f) => {
            rec.finish(started, Some(f.clone()), None, Vec::new());
            let kind = vpn::udp_fail_kind(&f);
            return Err(VpnEvidence::failed(Operation::WireguardHandshake, f, kind));
        }
    };
    let secret = StaticSecret::from(*peer.private_key.expose());
    let own_public = PublicKey::from(&secret);
    drop(secret);
    let awg = Awg::new(
        peer.amnezia.clone(),
        &peer.peer_public,
        own_public.as_bytes(),
    );
    let hs = match handshake(&sock, peer, &awg, &own_public, config.step_timeout).await {
        Ok(hs) => hs,
        Err(fail) => {
            let detail = format!(
                "no valid response to {} initiation{} in {:.1} s",
                fail.initiations,
                plural(fail.initiations),
                fail.waited.as_secs_f64()
            );
            rec.finish(
                started,
                Some(fail.failure.clone()),
                Some(detail),
                Vec::new(),
            );
            if fail.kind == FailKind::PortUnreachable {
                // An ICMP error from the path: the network itself works.
                rec.scan().mark_network_up();
            }
            let mut e = VpnEvidence::failed(Operation::WireguardHandshake, fail.failure, fail.kind);
            e.notes = fail.notes;
            return Err(e);
        }
    };
    let rtt_ms = hs.rtt.as_secs_f64() * 1000.0;
    let mut detail = format!(
        "handshake in {}, after {} initiation{}",
        ms(rtt_ms),
        hs.initiations,
        plural(hs.initiations)
    );
    if let Some(p) = &peer.amnezia {
        detail.push_str(&format!(
            " (AmneziaWG: {} junk packet{} each)",
            p.jc,
            plural(usize::from(p.jc))
        ));
    }
    rec.finish(started, None, Some(detail), Vec::new());
    rec.scan().mark_network_up();
    Ok(Tunnel {
        sock,
        awg,
        hs,
        evidence: VpnEvidence::verified(rtt_ms),
    })
}

/// The keepalive and the data test on a verified tunnel.
async fn with_data(
    mut t: Tunnel,
    peer: &WgPeer,
    config: &ProbeConfig,
    rec: &Recorder,
) -> VpnEvidence {
    let mut e = t.evidence;
    // The keepalive confirms the session to the server, as a real client's does.
    if let Err(err) = t.sock.send(&t.awg.data(&t.hs.keepalive)).await {
        e.notes.push(format!(
            "Sending the keepalive after the handshake failed ({}).",
            from_io(&err)
        ));
    }
    let (data, notes) = data_test(&t.sock, &mut t.hs.tunn, &t.awg, peer, config, rec).await;
    e.data = data;
    e.notes.extend(notes);
    e
}

/// Milliseconds for a detail: a decimal below 10 ms (LAN round trips).
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A boringtun tunnel for one initiation, with a rate limiter that never
/// reports load (we are a client: cookies are for servers) and checks
/// mac1 with our own public key.
fn new_tunn(peer: &WgPeer, own_public: &PublicKey) -> Tunn {
    let secret = StaticSecret::from(*peer.private_key.expose());
    let limiter = Arc::new(RateLimiter::new(own_public, u64::MAX));
    // Tunn shifts the index left by 8 bits; keep it in 24.
    let index = rand::random::<u32>() & 0x00ff_ffff;
    Tunn::new(
        secret,
        PublicKey::from(peer.peer_public),
        peer.preshared.as_ref().map(|k| *k.expose()),
        None,
        index,
        Some(limiter),
    )
}

struct Established {
    tunn: Tunn,
    /// From sending the initiation that was answered to its response.
    rtt: Duration,
    initiations: usize,
    /// boringtun's keepalive, to send right away.
    keepalive: Vec<u8>,
}

struct HandshakeFail {
    failure: Failure,
    kind: FailKind,
    initiations: usize,
    /// How long the handshake was tried.
    waited: Duration,
    notes: Vec<String>,
}

struct Pending {
    tunn: Tunn,
    sent: Instant,
}

/// What came back that was not a verified response.
#[derive(Default)]
struct Strays {
    /// Datagrams that are no WireGuard message we expect.
    other: usize,
    /// Responses with a bad mac1 or someone else's index.
    unverified: usize,
    /// Responses to our index whose AEAD failed.
    aead: usize,
    cookie: bool,
}

/// Sends fresh initiations every [`RETRY_EVERY`] until one is answered
/// with a response boringtun verifies, or `limit` passes.
async fn handshake(
    sock: &UdpSocket,
    peer: &WgPeer,
    awg: &Awg,
    own_public: &PublicKey,
    limit: Duration,
) -> Result<Established, HandshakeFail> {
    let start = Instant::now();
    let deadline = start + limit;
    let mut pending: Vec<Pending> = Vec::new();
    let mut initiations = 0usize;
    let mut strays = Strays::default();
    // Index into `pending` of a tunnel holding the server's cookie.
    let mut with_cookie: Option<usize> = None;
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = vec![0u8; RECV_BUF];
    let mut next_send = start;
    let fail = |failure: Failure, initiations: usize, strays: &Strays| {
        let kind = match &failure {
            Failure::Unknown(m) if m == RESPONSE_NOT_VERIFIED => FailKind::AuthFailed,
            f => vpn::udp_fail_kind(f),
        };
        let waited = start.elapsed();
        HandshakeFail {
            notes: silence_notes(kind, initiations, waited, strays, awg.is_amnezia()),
            failure,
            kind,
            initiations,
            waited,
        }
    };
    loop {
        let now = Instant::now();
        if now >= deadline || strays.aead >= AEAD_FAILURES_TO_STOP {
            // Not a timeout when answers came that did not verify.
            let failure = if strays.aead > 0 {
                Failure::Unknown(RESPONSE_NOT_VERIFIED.into())
            } else {
                Failure::GenericTimeout
            };
            return Err(fail(failure, initiations, &strays));
        }
        if now >= next_send {
            // Fresh initiations (new ephemeral key, new timestamp): a
            // replayed one would be ignored by the server.
            let mut msg = [0u8; 256];
            let (slot, bytes) = match with_cookie.take() {
                Some(i) if i < pending.len() => {
                    let t = &mut pending[i].tunn;
                    (i, initiation(t, &mut msg))
                }
                _ => {
                    if pending.len() >= MAX_PENDING {
                        pending.remove(0);
                    }
                    let mut t = new_tunn(peer, own_public);
                    let bytes = initiation(&mut t, &mut msg);
                    pending.push(Pending { tunn: t, sent: now });
                    (pending.len() - 1, bytes)
                }
            };
            let Some(bytes) = bytes else {
                return Err(fail(
                    Failure::Unknown("cannot build a handshake initiation".into()),
                    initiations,
                    &strays,
                ));
            };
            for d in awg.initiation(&bytes) {
                if let Err(e) = sock.send(&d).await {
                    return Err(fail(from_io(&e), initiations, &strays));
                }
            }
            pending[slot].sent = Instant::now();
            initiations += 1;
            next_send =
                now + RETRY_EVERY + Duration::from_millis(rand::random_range(0..=RETRY_JITTER_MS));
        }
        let wait = next_send
            .min(deadline)
            .saturating_duration_since(Instant::now());
        let n = match tokio::time::timeout(wait, sock.recv(&mut buf)).await {
            Err(_) => continue,
            Ok(Err(e)) => return Err(fail(from_io(&e), initiations, &strays)),
            Ok(Ok(n)) => n,
        };
        let got = Instant::now();
        match awg.incoming(&buf[..n]) {
            Incoming::Response(msg) => {
                let mut verified = None;
                let mut aead_failed = false;
                for (i, p) in pending.iter_mut().enumerate() {
                    match p.tunn.decapsulate(None, &msg, &mut out) {
                        TunnResult::WriteToNetwork(k) if k.first() == Some(&4) => {
                            verified = Some((i, k.to_vec()));
                            break;
                        }
                        TunnResult::Err(WireGuardError::InvalidAeadTag) => {
                            aead_failed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if let Some((i, keepalive)) = verified {
                    let p = pending.swap_remove(i);
                    return Ok(Established {
                        rtt: got.saturating_duration_since(p.sent),
                        tunn: p.tunn,
                        initiations,
                        keepalive,
                    });
                }
                if aead_failed {
                    strays.aead += 1;
                } else {
                    strays.unverified += 1;
                }
            }
            Incoming::Cookie(msg) => {
                strays.cookie = true;
                // Cookies are sealed with the mac1 boringtun sent; after an
                // AmneziaWG retype that is not the one the server saw.
                if !awg.is_amnezia() {
                    for (i, p) in pending.iter_mut().enumerate() {
                        if matches!(p.tunn.decapsulate(None, &msg, &mut out), TunnResult::Done) {
                            with_cookie = Some(i);
                            // Answer the load with the cookie at once.
                            next_send = got;
                            break;
                        }
                    }
                }
            }
            Incoming::Unverified => strays.unverified += 1,
            Incoming::Data(_) | Incoming::Other => strays.other += 1,
        }
    }
}

/// A forced new initiation from `t`, copied out.
fn initiation(t: &mut Tunn, buf: &mut [u8]) -> Option<Vec<u8>> {
    match t.format_handshake_initiation(buf, true) {
        TunnResult::WriteToNetwork(m) => Some(m.to_vec()),
        _ => None,
    }
}

/// What a failed handshake can and cannot mean, in words.
fn silence_notes(
    kind: FailKind,
    initiations: usize,
    waited: Duration,
    s: &Strays,
    amnezia: bool,
) -> Vec<String> {
    let mut notes = Vec::new();
    match kind {
        FailKind::NoResponse => {
            notes.push(format!(
                "No valid handshake response to {initiations} initiation{} in {:.1} s. A WireGuard \
                 server stays silent to packets it cannot authenticate, so silence cannot tell \
                 apart: UDP to the server being blocked, keys that do not match the server's (its \
                 PublicKey, or this client's PrivateKey not registered there), or the server being \
                 down.",
                plural(initiations),
                waited.as_secs_f64()
            ));
            if amnezia {
                notes.push(
                    "For AmneziaWG, obfuscation parameters (Jc, Jmin, Jmax, S1, S2, H1–H4) that \
                     differ from the server's look the same."
                        .into(),
                );
            }
            notes.push(
                "No ICMP port-unreachable came back, so the port is not known to be closed.".into(),
            );
        }
        FailKind::AuthFailed => notes.push(
            "The server answered, but its handshake response does not verify with this config: \
             the server knows this client's key, so the PresharedKey most likely differs from the \
             server's."
                .into(),
        ),
        FailKind::PortUnreachable => notes.push(
            "An ICMP port-unreachable came back for our handshake: nothing listens on this UDP \
             port, or a firewall on the way rejects the packets."
                .into(),
        ),
        _ => {}
    }
    if s.unverified > 0 {
        notes.push(format!(
            "{} handshake response{} came back that did not verify (not for this client's key, \
             or not for our initiation).",
            s.unverified,
            plural(s.unverified)
        ));
    }
    if s.other > 0 {
        notes.push(format!(
            "{} datagram{} came back that {} not WireGuard handshake responses.",
            s.other,
            plural(s.other),
            if s.other == 1 { "was" } else { "were" }
        ));
    }
    if s.cookie {
        notes.push(if amnezia {
            "The server sent a cookie reply (it is under load); AmneziaWG cookie replies are not \
             handled by the probe."
                .to_string()
        } else {
            "The server sent a cookie reply: it is under load and asked for proof of our address."
                .to_string()
        });
    }
    notes
}

/// Interface address and DNS server of the same family, for the data test.
fn data_route(peer: &WgPeer) -> Result<(IpAddr, IpAddr), &'static str> {
    if peer.dns.is_empty() {
        return Err("No DNS server in the config, so no data was sent through the tunnel.");
    }
    if peer.addresses.is_empty() {
        return Err(
            "No [Interface] Address in the config, so no data was sent through the tunnel.",
        );
    }
    peer.addresses
        .iter()
        .find_map(|(a, _)| {
            peer.dns
                .iter()
                .find(|d| d.is_ipv4() == a.is_ipv4())
                .map(|d| (*a, *d))
        })
        .ok_or(
            "The config's DNS servers and interface addresses are of different IP families, \
             so no data was sent through the tunnel.",
        )
}

/// A DNS query through the tunnel, from the interface address to the
/// config's DNS server; any answer to our ID and question proves that
/// data flows both ways.
async fn data_test(
    sock: &UdpSocket,
    tunn: &mut Tunn,
    awg: &Awg,
    peer: &WgPeer,
    config: &ProbeConfig,
    rec: &Recorder,
) -> (Option<TunnelData>, Vec<String>) {
    let (src_ip, dns_ip) = match data_route(peer) {
        Ok(r) => r,
        Err(why) => return (None, vec![why.to_string()]),
    };
    // A probe name no query can carry is our problem, not the tunnel's.
    if dns::build_query(&config.probe_name, RecordType::A, 0).is_err() {
        return (
            None,
            vec![
                "The probe name is not a valid DNS name, so no data was sent through the tunnel."
                    .to_string(),
            ],
        );
    }
    let src = SocketAddr::new(src_ip, rand::random_range(49_152..=65_535));
    let server = SocketAddr::new(dns_ip, 53);
    let started = rec.begin(Operation::TunnelData, Some(server.to_string()));
    let result = dns_through(sock, tunn, awg, src, server, config).await;
    match result {
        Ok(ok) => {
            let rtt_ms = ok.rtt.as_secs_f64() * 1000.0;
            let mut notes = Vec::new();
            let mut detail = format!(
                "DNS answer for {} through the tunnel in {}: {}",
                config.probe_name,
                ms(rtt_ms),
                ok.answer.summary()
            );
            if ok.answer.rcode != ResponseCode::NoError {
                detail.push_str(" (still proof that the tunnel carries data)");
                notes.push(format!(
                    "The DNS server behind the tunnel answered {} for the probe name; any answer \
                     to our query proves the tunnel carries data.",
                    ok.answer.rcode
                ));
            }
            rec.finish(started, None, Some(detail), Vec::new());
            (Some(TunnelData::Ok { rtt_ms }), notes)
        }
        Err(DnsFail::Network(failure, queries)) => {
            let detail = format!(
                "no answer to {queries} DNS quer{} through the tunnel",
                if queries == 1 { "y" } else { "ies" }
            );
            rec.finish(started, Some(failure.clone()), Some(detail), Vec::new());
            (
                Some(TunnelData::Failed {
                    op: Operation::TunnelData,
                    failure,
                }),
                Vec::new(),
            )
        }
        // Not the network's doing: no data verdict, so the handshake's stands.
        Err(DnsFail::Local(why)) => {
            rec.finish(
                started,
                Some(Failure::Unknown(why.to_string())),
                Some("local error, not a network result".into()),
                Vec::new(),
            );
            (
                None,
                vec![format!(
                    "The data test through the tunnel could not run here ({why}); the handshake \
                     result stands."
                )],
            )
        }
    }
}

struct DnsOk {
    rtt: Duration,
    answer: dns::Answer,
}

enum DnsFail {
    /// No answer: the failure, and how many queries went out.
    Network(Failure, usize),
    /// The test could not be made on this machine; why, in words.
    Local(&'static str),
}

/// Sends the query (a new ID each [`RETRY_EVERY`]) until an answer to one
/// of them comes back through the tunnel: from `server` to `src`, with one
/// of our IDs and our question (anything else is ignored).
async fn dns_through(
    sock: &UdpSocket,
    tunn: &mut Tunn,
    awg: &Awg,
    src: SocketAddr,
    server: SocketAddr,
    config: &ProbeConfig,
) -> Result<DnsOk, DnsFail> {
    let deadline = Instant::now() + config.step_timeout;
    let mut sent: Vec<(SentQuery, Instant)> = Vec::new();
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = vec![0u8; RECV_BUF];
    let mut next_send = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(DnsFail::Network(Failure::GenericTimeout, sent.len()));
        }
        if now >= next_send {
            let q = dns::build_query(&config.probe_name, RecordType::A, rand::random())
                .map_err(|_| DnsFail::Local("the probe name is not a valid DNS name"))?;
            let ip = packet::udp_packet(src, server, &q.wire, rand::random())
                .ok_or(DnsFail::Local("the DNS query is too large for one packet"))?;
            let wire = match tunn.encapsulate(&ip, &mut out) {
                TunnResult::WriteToNetwork(m) => awg.data(m),
                _ => return Err(DnsFail::Local("no tunnel session to send data")),
            };
            sock.send(&wire)
                .await
                .map_err(|e| DnsFail::Network(from_io(&e), sent.len()))?;
            sent.push((q, Instant::now()));
            next_send = now + RETRY_EVERY;
        }
        let wait = next_send
            .min(deadline)
            .saturating_duration_since(Instant::now());
        let n = match tokio::time::timeout(wait, sock.recv(&mut buf)).await {
            Err(_) => continue,
            Ok(Err(e)) => return Err(DnsFail::Network(from_io(&e), sent.len())),
            Ok(Ok(n)) => n,
        };
        let got = Instant::now();
        let Incoming::Data(msg) = awg.incoming(&buf[..n]) else {
            continue;
        };
        let ip = match tunn.decapsulate(None, &msg, &mut out) {
            TunnResult::WriteToTunnelV4(p, _) | TunnResult::WriteToTunnelV6(p, _) => p,
            _ => continue,
        };
        if let Some((answer, at)) = match_answer(ip, src, server, &sent) {
            return Ok(DnsOk {
                rtt: got.saturating_duration_since(at),
                answer,
            });
        }
    }
}

/// The DNS answer in a decrypted tunnel packet, if it is one to a query in
/// `sent` (its ID and question) from `server` to `src`; with that query's
/// send time.
fn match_answer(
    ip: &[u8],
    src: SocketAddr,
    server: SocketAddr,
    sent: &[(SentQuery, Instant)],
) -> Option<(dns::Answer, Instant)> {
    let d = packet::parse_udp(ip)?;
    if d.src != server || d.dst != src {
        return None;
    }
    sent.iter()
        .find_map(|(q, at)| dns::parse_answer(q, d.payload).ok().map(|a| (a, *at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::wireguard::AwgParams;
    use crate::catalog::{Origin, Secret};
    use crate::probe::AbortOnDrop;

    fn peer() -> WgPeer {
        WgPeer {
            name: None,
            private_key: Secret::new([9; 32]),
            peer_public: [1; 32],
            preshared: None,
            host: "127.0.0.1".into(),
            port: 1,
            addresses: vec![
                ("10.0.0.2".parse().unwrap(), 32),
                ("fd00::2".parse().unwrap(), 128),
            ],
            dns: vec!["fd00::1".parse().unwrap()],
            amnezia: None,
        }
    }

    #[test]
    fn data_route_matches_families() {
        let p = peer();
        assert_eq!(
            data_route(&p),
            Ok(("fd00::2".parse().unwrap(), "fd00::1".parse().unwrap()))
        );
        let mut p = peer();
        p.dns.insert(0, "10.0.0.1".parse().unwrap());
        assert_eq!(
            data_route(&p),
            Ok(("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap()))
        );
        let mut p = peer();
        p.dns.clear();
        assert!(data_route(&p).unwrap_err().contains("no data was sent"));
        let mut p = peer();
        p.addresses.truncate(1);
        assert!(
            data_route(&p)
                .unwrap_err()
                .contains("different IP families")
        );
        p.addresses.clear();
        assert!(
            data_route(&p)
                .unwrap_err()
                .contains("No [Interface] Address")
        );
    }

    #[test]
    fn ranking_prefers_proof_then_specific_failures() {
        let ok = {
            let mut e = VpnEvidence::verified(1.0);
            e.data = Some(TunnelData::Ok { rtt_ms: 2.0 });
            e
        };
        let silent = VpnEvidence::failed(
            Operation::WireguardHandshake,
            Failure::GenericTimeout,
            FailKind::NoResponse,
        );
        let icmp = VpnEvidence::failed(
            Operation::WireguardHandshake,
            Failure::ConnectionRefused,
            FailKind::PortUnreachable,
        );
        assert!(rank(&ok) < rank(&VpnEvidence::verified(1.0)));
        assert!(rank(&icmp) < rank(&silent));
        assert!(rank(&VpnEvidence::verified(1.0)) < rank(&icmp));
    }

    #[test]
    fn notes_never_name_keys_or_addresses() {
        let s = Strays {
            other: 2,
            unverified: 1,
            aead: 0,
            cookie: true,
        };
        for kind in [
            FailKind::NoResponse,
            FailKind::AuthFailed,
            FailKind::PortUnreachable,
        ] {
            for n in silence_notes(kind, 3, Duration::from_secs(2), &s, true) {
                assert!(!n.contains("127.0.0.1") && !n.contains('='), "{n}");
            }
        }
    }

    /// A DNS response to `q` (its question), with ID `id`, in an IP/UDP
    /// packet from `from` to `to`.
    fn answer_packet(q: &SentQuery, id: u16, name: &str, from: &str, to: &str) -> Vec<u8> {
        use hickory_proto::op::{Message, OpCode, Query};
        use hickory_proto::rr::Name;
        let mut m = Message::response(id, OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), q.qtype));
        let wire = m.to_vec().unwrap();
        packet::udp_packet(from.parse().unwrap(), to.parse().unwrap(), &wire, 1).unwrap()
    }

    #[test]
    fn tunnel_dns_answers_must_match_id_question_and_source() {
        let src: SocketAddr = "10.0.0.2:50000".parse().unwrap();
        let server: SocketAddr = "10.0.0.1:53".parse().unwrap();
        let q = dns::build_query("probe.test", RecordType::A, 4242).unwrap();
        let sent = vec![(q.clone(), Instant::now())];
        let right = answer_packet(&q, 4242, "probe.test.", "10.0.0.1:53", "10.0.0.2:50000");
        assert!(match_answer(&right, src, server, &sent).is_some());
        for (why, pkt) in [
            (
                "wrong id",
                answer_packet(&q, 4243, "probe.test.", "10.0.0.1:53", "10.0.0.2:50000"),
            ),
            (
                "wrong question",
                answer_packet(&q, 4242, "other.test.", "10.0.0.1:53", "10.0.0.2:50000"),
            ),
            (
                "wrong source address",
                answer_packet(&q, 4242, "probe.test.", "10.0.0.9:53", "10.0.0.2:50000"),
            ),
            (
                "wrong source port",
                answer_packet(&q, 4242, "probe.test.", "10.0.0.1:5353", "10.0.0.2:50000"),
            ),
            (
                "not for our port",
                answer_packet(&q, 4242, "probe.test.", "10.0.0.1:53", "10.0.0.2:50001"),
            ),
        ] {
            assert!(match_answer(&pkt, src, server, &sent).is_none(), "{why}");
        }
        assert!(match_answer(&[0x45; 40], src, server, &sent).is_none());
    }

    /// Probes `p` with a 1.3 s step timeout and no system resolver.
    async fn probe_quickly(p: WgPeer) -> (VpnEvidence, Recorder) {
        let ep = Endpoint {
            label: "wg test".into(),
            origin: Origin::User,
            target: Target::WireGuard(Box::new(p)),
        };
        let config = ProbeConfig {
            step_timeout: Duration::from_millis(1_300),
            system_resolver: false,
            ..ProbeConfig::default()
        };
        let rec = Recorder::new(0, None, Arc::new(super::super::ScanContext::default()));
        (probe(&ep, &config, &rec).await, rec)
    }

    /// A probe name no DNS query can carry is a local problem: no data
    /// verdict (so never "stalled"), a note, and no step.
    #[tokio::test]
    async fn bad_probe_name_is_a_note_not_a_stalled_tunnel() {
        let p = peer();
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let secret = StaticSecret::from(*p.private_key.expose());
        let own = PublicKey::from(&secret);
        let mut tunn = new_tunn(&p, &own);
        let awg = Awg::new(None, &p.peer_public, own.as_bytes());
        let config = ProbeConfig {
            probe_name: format!("{}.test", "x".repeat(70)),
            ..ProbeConfig::default()
        };
        let rec = Recorder::new(0, None, Arc::new(super::super::ScanContext::default()));
        let (data, notes) = data_test(&sock, &mut tunn, &awg, &p, &config, &rec).await;
        assert_eq!(data, None);
        assert!(notes.iter().any(|n| n.contains("probe name")), "{notes:?}");
        assert!(rec.steps().is_empty());
        let mut e = VpnEvidence::verified(3.0);
        e.data = data;
        let j = crate::verdict::judge(&crate::probe::Evidence::Vpn(Box::new(e)), true);
        assert_eq!(j.verdict, crate::measurement::Verdict::Reachable);
    }

    /// How a fake responder shapes its answers to our initiations.
    #[derive(Clone, Copy, Debug)]
    enum Forgery {
        /// Our index, random bytes for the rest, mac1 included.
        RandomMac1,
        /// A correct mac1 for our key (a server that knows us), but
        /// someone else's receiver index.
        OtherIndex,
        /// A correct mac1 and our index: only the AEAD fails, which a
        /// server holding our key but another PresharedKey produces.
        OurIndexValidMac1,
    }

    /// Answers each initiation with two response-shaped datagrams made as
    /// `forgery` says (AmneziaWG: S2 padding and type H2 when `awg`).
    async fn forging_responder(
        sock: UdpSocket,
        forgery: Forgery,
        awg: Option<AwgParams>,
        us: [u8; 32],
    ) {
        let key = awg::mac1_key(&us);
        let (s1, s2, h2) = awg.as_ref().map_or((0, 0, 2), |p| {
            (usize::from(p.s1), usize::from(p.s2), p.h[1])
        });
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if n != s1 + 148 {
                continue; // junk packets
            }
            let sender: [u8; 4] = buf[s1 + 4..s1 + 8].try_into().unwrap();
            for _ in 0..2 {
                let mut r: Vec<u8> = (0..92).map(|_| rand::random()).collect();
                r[..4].copy_from_slice(&h2.to_le_bytes());
                let receiver = match forgery {
                    Forgery::OtherIndex => u32::from_le_bytes(sender).wrapping_add(1).to_le_bytes(),
                    _ => sender,
                };
                r[8..12].copy_from_slice(&receiver);
                if !matches!(forgery, Forgery::RandomMac1) {
                    awg::set_mac1(&mut r, &key);
                }
                let mut w: Vec<u8> = (0..s2).map(|_| rand::random()).collect();
                w.extend_from_slice(&r);
                let _ = sock.send_to(&w, from).await;
            }
        }
    }

    /// Response-shaped garbage aimed at our (visible) sender index never
    /// verifies and never reads as a wrong key: no server answered, so
    /// the result is no_response. Only a response whose mac1 is for our
    /// key and whose index is ours can fail as auth_failed.
    #[tokio::test]
    async fn forged_responses_at_our_index_are_not_auth_failed() {
        let awg = AwgParams {
            jc: 2,
            jmin: 5,
            jmax: 9,
            s1: 11,
            s2: 23,
            h: [501, 502, 503, 504],
            h_end: [501, 502, 503, 504],
            ..AwgParams::default()
        };
        let us = *PublicKey::from(&StaticSecret::from([9u8; 32])).as_bytes();
        let cases = [
            (Forgery::RandomMac1, None, FailKind::NoResponse),
            (Forgery::RandomMac1, Some(awg.clone()), FailKind::NoResponse),
            (Forgery::OtherIndex, None, FailKind::NoResponse),
            (Forgery::OtherIndex, Some(awg.clone()), FailKind::NoResponse),
            (Forgery::OurIndexValidMac1, None, FailKind::AuthFailed),
            (Forgery::OurIndexValidMac1, Some(awg), FailKind::AuthFailed),
        ];
        let runs = cases.into_iter().map(|(forgery, params, want)| async move {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut p = peer();
            p.port = server.local_addr().unwrap().port();
            p.amnezia = params.clone();
            let task = AbortOnDrop(tokio::spawn(forging_responder(
                server,
                forgery,
                params.clone(),
                us,
            )));
            let (got, _) = probe_quickly(p).await;
            drop(task);
            (forgery, params.is_some(), want, got)
        });
        for (forgery, amnezia, want, got) in futures::future::join_all(runs).await {
            let case = format!("{forgery:?}, AmneziaWG: {amnezia}");
            match &got.outcome {
                VpnOutcome::Failed { kind, failure, .. } => {
                    assert_eq!(*kind, want, "{case}: {got:?}");
                    if want == FailKind::NoResponse {
                        assert_eq!(*failure, Failure::GenericTimeout, "{case}");
                        assert!(
                            got.notes.iter().any(|n| n.contains("did not verify")),
                            "{case}: {:?}",
                            got.notes
                        );
                    }
                }
                other => panic!("{case}: {other:?}"),
            }
        }
    }

    /// In-process loopback: a boringtun responder that never answers
    /// (wrong server key) gives no_response, never a verified outcome.
    #[tokio::test]
    async fn silent_server_is_no_response() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        let mut p = peer();
        p.port = port;
        p.amnezia = Some(AwgParams {
            jc: 2,
            jmin: 5,
            jmax: 9,
            ..AwgParams::default()
        });
        let (got, rec) = probe_quickly(p).await;
        assert!(
            matches!(
                got.outcome,
                VpnOutcome::Failed {
                    kind: FailKind::NoResponse,
                    failure: Failure::GenericTimeout,
                    ..
                }
            ),
            "{got:?}"
        );
        // Two initiations, each after two junk packets.
        let mut seen = 0;
        let mut buf = [0u8; 512];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(50), server.recv(&mut buf)).await
        {
            assert!(n == 148 || (5..=9).contains(&n), "{n}");
            seen += 1;
        }
        assert_eq!(seen, 6, "2 × (2 junk + 1 initiation)");
        let steps = rec.steps();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].operation, Operation::WireguardHandshake);
        assert!(
            steps[0]
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("2 initiations"),
            "{steps:?}"
        );
    }
}
