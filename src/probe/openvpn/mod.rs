//! OpenVPN: the client's hard reset and the server's authenticated answer
//! (with the profile's tls-auth/tls-crypt/tls-crypt-v2 wrapping, which
//! such servers demand before they say anything), then TLS inside the
//! control channel up to the server certificate, checked against the
//! profile's `<ca>`.
//!
//! Per address: TCP connect (TCP profiles), `openvpn_reset`, `openvpn_tls`.
//! Reachable means the reset reply authenticated and acknowledged our
//! session id, and the certificate verified (or the profile has no CA to
//! check it with, which a note says). All addresses run in parallel; the
//! one that got furthest is reported.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

use super::vpn::{self, FailKind, VpnEvidence, VpnOutcome};
use super::{BoxFuture, Evidence, Probe, ProbeConfig, Recorder};
use crate::catalog::openvpn::{OvpnProto, OvpnRemote};
use crate::catalog::{Endpoint, Target};
use crate::measurement::{Failure, Operation};

mod link;
mod packet;
mod tls;
mod wrap;

use link::Link;
use packet::{
    Body, EARLY_NEG_FLAG_RESEND_WKC, P_CONTROL_HARD_RESET_CLIENT_V2,
    P_CONTROL_HARD_RESET_CLIENT_V3, P_CONTROL_HARD_RESET_SERVER_V2, SessionId,
};
use wrap::Wrap;

pub struct OpenvpnProbe;

impl Probe for OpenvpnProbe {
    fn run<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        config: &'a ProbeConfig,
        rec: &'a Recorder,
    ) -> BoxFuture<'a, Evidence> {
        Box::pin(async move { Evidence::Vpn(Box::new(probe(endpoint, config, rec).await)) })
    }
}

async fn probe(endpoint: &Endpoint, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    let Target::OpenVpn(remote) = &endpoint.target else {
        // The engine never routes anything else here.
        return VpnEvidence::failed(
            Operation::OpenvpnReset,
            Failure::Unknown("not an OpenVPN endpoint".into()),
            FailKind::Unsupported,
        );
    };
    let addrs = match vpn::resolve_or_evidence(&remote.host, remote.port, config, rec).await {
        Ok(a) => a,
        Err(e) => return e,
    };
    let attempts = join_all(addrs.iter().map(|a| attempt(*a, remote, config, rec))).await;
    // The address that got furthest tells the most; ties: the first.
    let mut best: Option<Attempt> = None;
    for a in attempts {
        if best.as_ref().is_none_or(|b| a.progress > b.progress) {
            best = Some(a);
        }
    }
    let mut evidence = match best {
        Some(a) => a.evidence,
        None => VpnEvidence::failed(Operation::Resolve, Failure::DnsNoAnswer, FailKind::Resolve),
    };
    for option in &remote.profile.not_imitated {
        evidence.notes.push(format!(
            "The profile sets `{option}`, which bridgescout does not imitate: it connected \
             directly."
        ));
    }
    evidence
}

/// One address tried.
struct Attempt {
    evidence: VpnEvidence,
    /// 0: transport failed, 1: no valid reset reply, 2: reset answered but
    /// TLS failed, 3: verified.
    progress: u8,
}

impl Attempt {
    fn failed(op: Operation, failure: Failure, kind: FailKind, progress: u8) -> Attempt {
        Attempt {
            evidence: VpnEvidence::failed(op, failure, kind),
            progress,
        }
    }
}

/// What the server's reset told us.
#[derive(Debug, Clone, Copy)]
struct ResetReply {
    server_sid: SessionId,
    msg_id: u32,
    resend_wkc: bool,
}

/// Accepts only `P_CONTROL_HARD_RESET_SERVER_V2` that authenticates with
/// the profile's key and acknowledges our session id.
fn check_reset(wrap: &Wrap, our_sid: &SessionId, pkt: &[u8]) -> Option<ResetReply> {
    let u = wrap.unwrap(pkt)?;
    if u.opcode != P_CONTROL_HARD_RESET_SERVER_V2 || u.key_id != 0 {
        return None;
    }
    let body = Body::decode(u.opcode, &u.body)?;
    // Our reset was message 0 of our session.
    if body.remote_sid != Some(*our_sid) || !body.acks.contains(&0) {
        return None;
    }
    let resend_wkc = wrap.is_v2()
        && packet::early_neg_flags(&body.payload)
            .is_some_and(|f| f & EARLY_NEG_FLAG_RESEND_WKC != 0);
    Some(ResetReply {
        server_sid: u.sid,
        msg_id: body.msg_id?,
        resend_wkc,
    })
}

/// How often the reset is sent again on UDP within one step.
fn udp_retry(step: Duration) -> Duration {
    (step / 3).clamp(Duration::from_millis(300), Duration::from_secs(1))
}

async fn attempt(
    addr: SocketAddr,
    remote: &OvpnRemote,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Attempt {
    let wrap = match Wrap::new(&remote.profile) {
        Ok(w) => w,
        Err(msg) => {
            return Attempt::failed(
                Operation::OpenvpnReset,
                Failure::Unknown(msg),
                FailKind::Unsupported,
                0,
            );
        }
    };
    let target = Some(addr.to_string());
    let mut link = match remote.proto {
        OvpnProto::Tcp => match crate::probe::resolver::connect(addr, config, rec).await {
            Ok(s) => Link::tcp(s),
            Err(f) => {
                return Attempt::failed(Operation::TcpConnect, f, FailKind::Transport, 0);
            }
        },
        OvpnProto::Udp => match vpn::udp_connect(addr).await {
            Ok(s) => Link::Udp(s),
            Err(f) => {
                let started = rec.begin(Operation::OpenvpnReset, target.clone());
                rec.finish(started, Some(f.clone()), None, Vec::new());
                return Attempt::failed(Operation::OpenvpnReset, f, FailKind::Transport, 0);
            }
        },
    };

    let our_sid: SessionId = rand::random();
    let started = rec.begin(Operation::OpenvpnReset, target.clone());
    let outcome = reset(&mut link, &wrap, our_sid, config.step_timeout).await;
    let (reply, rtt) = match outcome.result {
        Ok(r) => r,
        Err(f) => {
            let mut detail = wrap.describe();
            if outcome.unauthenticated > 0 {
                detail.push_str(&format!(
                    "; {} packet(s) back that did not authenticate",
                    outcome.unauthenticated
                ));
            }
            rec.finish(started, Some(f.clone()), Some(detail), Vec::new());
            return reset_failed(f, &wrap, remote.proto, outcome.unauthenticated);
        }
    };
    let rtt_ms = rtt.as_secs_f64() * 1000.0;
    rec.finish(
        started,
        None,
        Some(format!(
            "server reset in {rtt_ms:.0} ms; {}",
            wrap.describe()
        )),
        Vec::new(),
    );
    // An authenticated answer: the network works, whatever else fails.
    rec.scan().mark_network_up();

    let Some(ca) = &remote.profile.ca_pem else {
        return Attempt {
            evidence: VpnEvidence::verified(rtt_ms).with_note(
                "The profile has no <ca>, so the server's certificate could not be checked; \
                 the server did answer the reset with a valid reply.",
            ),
            progress: 3,
        };
    };
    let session = tls::Session {
        our_sid,
        their_sid: reply.server_sid,
        server_reset_id: reply.msg_id,
        resend_wkc: reply.resend_wkc,
    };
    let started = rec.begin(Operation::OpenvpnTls, target);
    match tls::verify_server(&mut link, &wrap, session, ca, addr, config.step_timeout).await {
        Ok(version) => {
            rec.finish(
                started,
                None,
                Some(format!(
                    "server certificate verified against <ca>; {version}"
                )),
                Vec::new(),
            );
            Attempt {
                evidence: VpnEvidence::verified(rtt_ms),
                progress: 3,
            }
        }
        Err(e) => {
            rec.finish(
                started,
                Some(e.failure.clone()),
                e.detail.clone(),
                Vec::new(),
            );
            let kind = if e.failure.is_certificate() {
                FailKind::Certificate
            } else if matches!(e.failure, Failure::SslFailedHandshake | Failure::Unknown(_)) {
                // TLS itself went wrong (an alert, a version we do not
                // speak), not the path.
                FailKind::BadResponse
            } else if e.failure.is_timeout() {
                // The authenticated reset came back, then silence.
                FailKind::Stalled
            } else {
                FailKind::Transport
            };
            let mut evidence = VpnEvidence {
                outcome: VpnOutcome::Failed {
                    op: Operation::OpenvpnTls,
                    failure: e.failure.clone(),
                    kind,
                },
                handshake_ms: Some(rtt_ms),
                data: None,
                notes: Vec::new(),
            };
            if let Some(d) = &e.detail {
                evidence.notes.push(format!("{}.", capitalize(d)));
            }
            if matches!(kind, FailKind::Transport | FailKind::Stalled) {
                evidence.notes.push(format!(
                    "The server answered the reset{}, so it is up; the TLS handshake inside \
                     the control channel then failed. Traffic cut after the first packets is \
                     a known way OpenVPN gets blocked.",
                    if wrap.is_authenticated() {
                        " with the right key"
                    } else {
                        ""
                    }
                ));
            }
            Attempt {
                evidence,
                progress: 2,
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

struct ResetOutcome {
    result: Result<(ResetReply, Duration), Failure>,
    /// Packets that came back but did not authenticate with our key.
    unauthenticated: u32,
}

/// Sends our hard reset (again on UDP until the step's time is up) and
/// waits for the server's.
async fn reset(link: &mut Link, wrap: &Wrap, our_sid: SessionId, step: Duration) -> ResetOutcome {
    let opcode = if wrap.is_v2() {
        P_CONTROL_HARD_RESET_CLIENT_V3
    } else {
        P_CONTROL_HARD_RESET_CLIENT_V2
    };
    let body = Body {
        msg_id: Some(0),
        ..Body::default()
    }
    .encode();
    let unauthenticated = AtomicU32::new(0);
    let classify = |pkt: &[u8]| {
        let r = check_reset(wrap, &our_sid, pkt);
        if r.is_none() && wrap.unwrap(pkt).is_none() {
            unauthenticated.fetch_add(1, Ordering::Relaxed);
        }
        r
    };
    let result = match link {
        Link::Udp(sock) => {
            vpn::udp_round_trip(
                sock,
                step,
                udp_retry(step),
                || vec![wrap.wrap(opcode, &our_sid, &body)],
                classify,
            )
            .await
        }
        Link::Tcp { .. } => {
            let sent_at = std::time::Instant::now();
            let exchange = async {
                link.send(&wrap.wrap(opcode, &our_sid, &body)).await?;
                // Bounded: a server spraying other packets cannot keep us here.
                for _ in 0..64 {
                    let pkt = link.recv().await?;
                    if let Some(r) = classify(&pkt) {
                        return Ok((r, sent_at.elapsed()));
                    }
                }
                Err(Failure::Unknown(
                    "no reset among the server's packets".into(),
                ))
            };
            match tokio::time::timeout(step, exchange).await {
                Ok(r) => r,
                Err(_) => Err(Failure::GenericTimeout),
            }
        }
    };
    ResetOutcome {
        result,
        unauthenticated: unauthenticated.load(Ordering::Relaxed),
    }
}

/// Evidence for a reset that got no valid answer, with what it means.
fn reset_failed(f: Failure, wrap: &Wrap, proto: OvpnProto, unauthenticated: u32) -> Attempt {
    let op = Operation::OpenvpnReset;
    let udp = proto == OvpnProto::Udp;
    let (kind, mut notes) = match &f {
        // Packets came back, none valid: not silence, a mismatch.
        _ if unauthenticated > 0 => (FailKind::BadResponse, Vec::new()),
        Failure::GenericTimeout => (FailKind::NoResponse, silence_notes(wrap, udp)),
        Failure::ConnectionRefused if udp => (
            FailKind::PortUnreachable,
            vec![
                "An ICMP port-unreachable came back: the host is up but nothing listens on this \
                 UDP port, or a firewall rejects the packets."
                    .to_string(),
            ],
        ),
        Failure::HostUnreachable | Failure::NetworkUnreachable => (
            FailKind::Transport,
            vec![
                "An ICMP host- or network-unreachable came back: a router or firewall on the \
                 way rejects packets to this server."
                    .to_string(),
            ],
        ),
        // An OpenVPN server in TCP mode closes the connection on a packet
        // that does not authenticate: the TCP version of silence.
        Failure::Eof if !udp => (FailKind::NoResponse, closed_notes(wrap)),
        Failure::Unknown(_) => (FailKind::BadResponse, Vec::new()),
        _ => (FailKind::Transport, Vec::new()),
    };
    if unauthenticated > 0 {
        notes.push(format!(
            "{unauthenticated} packet(s) came back that did not authenticate with the profile's \
             key ({}): something answers on this port, but with another key (check the key, \
             key-direction and auth digest) or it is not this OpenVPN server.",
            wrap.describe()
        ));
    }
    let mut a = Attempt::failed(op, f, kind, 1);
    a.evidence.notes = notes;
    a
}

/// What a TCP connection closed right after our reset can mean.
fn closed_notes(wrap: &Wrap) -> Vec<String> {
    if wrap.is_authenticated() {
        vec![format!(
            "The TCP connection was accepted, then closed without an answer after our reset, \
             which was signed with the profile's {} key. OpenVPN servers close the connection \
             on packets that do not authenticate, so the likeliest cause is a wrong key (or \
             key-direction or auth digest); a middlebox that cuts OpenVPN traffic looks the \
             same.",
            wrap.kind()
        )]
    } else {
        vec![
            "The TCP connection was accepted, then closed without an answer after our reset. \
             The profile has no tls-auth/tls-crypt key: if the server requires one, it closes \
             the connection like this; otherwise something that is not this OpenVPN server \
             answers here, or a middlebox cuts OpenVPN traffic."
                .to_string(),
        ]
    }
}

/// What silence after our reset can mean, and what it rules out.
fn silence_notes(wrap: &Wrap, udp: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if wrap.is_authenticated() {
        notes.push(format!(
            "Our reset was signed with the profile's {} key and nothing valid came back. \
             Such servers silently drop every packet that does not authenticate, so a wrong \
             key (or key-direction), a blocked port and a server that is down look the same \
             from here.",
            wrap.kind()
        ));
    } else {
        notes.push(
            "This profile has no tls-auth/tls-crypt key, and a server without one answers any \
             well-formed reset: silence is unlikely to be a key problem (unless the server \
             does require a key the profile lacks). The port is probably blocked (possibly by \
             recognising OpenVPN) or the server is down."
                .to_string(),
        );
    }
    if udp {
        notes.push(
            "No ICMP error came back either, so nothing reported the port closed: packets \
             dropped on the way are as likely as a server that ignores us."
                .to_string(),
        );
    } else {
        notes.push("The TCP connection was accepted, so the port itself is reachable.".to_string());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Secret;
    use crate::catalog::openvpn::{ControlWrap, OvpnProfile};

    fn key() -> Vec<u8> {
        (0..256).map(|i| (i * 13 + 1) as u8).collect()
    }

    fn tls_crypt() -> Wrap {
        Wrap::new(&OvpnProfile {
            wrap: ControlWrap::TlsCrypt {
                key: Secret::new(key()),
            },
            ..OvpnProfile::default()
        })
        .unwrap()
    }

    fn server_reset(server: &Wrap, sid: SessionId, acked: SessionId, payload: &[u8]) -> Vec<u8> {
        let body = Body {
            acks: vec![0],
            remote_sid: Some(acked),
            msg_id: Some(0),
            payload: payload.to_vec(),
        };
        server.wrap(P_CONTROL_HARD_RESET_SERVER_V2, &sid, &body.encode())
    }

    #[test]
    fn only_an_authenticated_reset_acking_our_session_counts() {
        let client = tls_crypt();
        let server = client.mirrored();
        let ours = [3u8; 8];
        let good = server_reset(&server, [4; 8], ours, &[]);
        let r = check_reset(&client, &ours, &good).unwrap();
        assert_eq!(r.server_sid, [4; 8]);
        assert_eq!(r.msg_id, 0);
        assert!(!r.resend_wkc);
        // Acknowledges someone else's session.
        assert!(check_reset(&client, &ours, &server_reset(&server, [4; 8], [5; 8], &[])).is_none());
        // Our own packet reflected back (a client reset) is not an answer.
        let echo = client.wrap(P_CONTROL_HARD_RESET_CLIENT_V2, &ours, &[0, 0, 0, 0, 0]);
        assert!(check_reset(&client, &ours, &echo).is_none());
        // A reset with no ACK at all.
        let body = Body {
            msg_id: Some(0),
            ..Body::default()
        };
        let bare = server.wrap(P_CONTROL_HARD_RESET_SERVER_V2, &[4; 8], &body.encode());
        assert!(check_reset(&client, &ours, &bare).is_none());
        // Wrong key.
        let other = Wrap::new(&OvpnProfile {
            wrap: ControlWrap::TlsCrypt {
                key: Secret::new(vec![9; 256]),
            },
            ..OvpnProfile::default()
        })
        .unwrap();
        assert!(check_reset(&other, &ours, &good).is_none());
        // Garbage of every length.
        for n in 0..200 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
            assert!(check_reset(&client, &ours, &junk).is_none());
        }
    }

    #[test]
    fn tls_crypt_v2_reset_reads_the_resend_wkc_flag() {
        let client = Wrap::new(&OvpnProfile {
            wrap: ControlWrap::TlsCryptV2 {
                key: Secret::new(key()),
                wkc: Secret::new(vec![1; 300]),
            },
            ..OvpnProfile::default()
        })
        .unwrap();
        let server = client.mirrored();
        let ours = [3u8; 8];
        let reply = server_reset(&server, [4; 8], ours, &[0, 1, 0, 2, 0, 1]);
        assert!(check_reset(&client, &ours, &reply).unwrap().resend_wkc);
    }

    #[tokio::test]
    async fn udp_reset_and_silence() {
        // A fake tls-crypt server on loopback that answers the first reset.
        let client = tls_crypt();
        let server = client.mirrored();
        let srv = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let (n, from) = srv.recv_from(&mut buf).await.unwrap();
            // Stray garbage first: must be ignored.
            srv.send_to(b"garbage", from).await.unwrap();
            let u = server.unwrap(&buf[..n]).unwrap();
            assert_eq!(u.opcode, P_CONTROL_HARD_RESET_CLIENT_V2);
            let reply = server_reset(&server, [8; 8], u.sid, &[]);
            srv.send_to(&reply, from).await.unwrap();
        });
        let mut link = Link::Udp(vpn::udp_connect(addr).await.unwrap());
        let out = reset(&mut link, &client, [6; 8], Duration::from_secs(2)).await;
        let (r, _) = out.result.unwrap();
        assert_eq!(r.server_sid, [8; 8]);
        assert_eq!(out.unauthenticated, 1);
        task.await.unwrap();

        // Nobody answers: a timeout, read as no_response.
        let quiet = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut link = Link::Udp(vpn::udp_connect(quiet.local_addr().unwrap()).await.unwrap());
        let out = reset(&mut link, &client, [6; 8], Duration::from_millis(400)).await;
        assert_eq!(out.result.unwrap_err(), Failure::GenericTimeout);
        let a = reset_failed(Failure::GenericTimeout, &client, OvpnProto::Udp, 0);
        assert!(matches!(
            a.evidence.outcome,
            VpnOutcome::Failed {
                kind: FailKind::NoResponse,
                ..
            }
        ));
        assert!(a.evidence.notes[0].contains("tls-crypt key"));
        // Nothing listens: ICMP port unreachable.
        drop(quiet);
        let a = reset_failed(Failure::ConnectionRefused, &client, OvpnProto::Udp, 0);
        assert!(matches!(
            a.evidence.outcome,
            VpnOutcome::Failed {
                kind: FailKind::PortUnreachable,
                ..
            }
        ));
    }
}
