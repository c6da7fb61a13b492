//! IKEv2: a hand-built `IKE_SA_INIT` (RFC 7296) on UDP 500 and on UDP
//! 4500 (behind the 4-byte non-ESP marker, RFC 3948). Every IKEv2
//! responder answers a well-formed `IKE_SA_INIT` from anyone, before any
//! credentials are involved: with its own SA, or with a notify
//! (`INVALID_KE_PAYLOAD`, `NO_PROPOSAL_CHOSEN`, `COOKIE`). A reply that
//! carries our random initiator SPI and the Response flag, is an IKEv2
//! `IKE_SA_INIT` response (version 2, exchange 34, message ID 0) and holds
//! an SA, a KE or a notify proves a live IKEv2 server on this path;
//! logging in is not attempted (it needs the VPN's certificates or EAP
//! credentials).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::future::join_all;
use sha1::{Digest, Sha1};

use super::vpn::{self, FailKind, Resend, VpnEvidence};
use super::{ProbeConfig, Recorder};
use crate::catalog::{Endpoint, Target};
use crate::measurement::{Failure, Operation};

pub struct IkeProbe;

vpn::impl_vpn_probe!(IkeProbe, probe);

/// IKE's standard port.
const IKE_PORT: u16 = 500;
/// NAT traversal port: IKE behind a 4-byte zero non-ESP marker.
const NAT_T_PORT: u16 = 4500;
/// Resend interval: an IKE initiator retransmits the identical message.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Longest cookie a responder may send (RFC 7296 §2.6).
const MAX_COOKIE: usize = 64;
/// The failure when only replies that are no valid `IKE_SA_INIT` response
/// carried our SPI.
const BAD_REPLY: &str = "reply with our SPI is not an IKEv2 IKE_SA_INIT response";

// RFC 7296 numbers.
const EXCHANGE_IKE_SA_INIT: u8 = 34;
const FLAG_INITIATOR: u8 = 0x08;
const FLAG_RESPONSE: u8 = 0x20;
const VERSION_2_0: u8 = 0x20;
const HEADER_LEN: usize = 28;
const PL_NONE: u8 = 0;
const PL_SA: u8 = 33;
const PL_KE: u8 = 34;
const PL_NONCE: u8 = 40;
const PL_NOTIFY: u8 = 41;
const T_ENCR: u8 = 1;
const T_PRF: u8 = 2;
const T_INTEG: u8 = 3;
const T_DH: u8 = 4;
const N_INVALID_SYNTAX: u16 = 7;
const N_NO_PROPOSAL_CHOSEN: u16 = 14;
const N_INVALID_KE_PAYLOAD: u16 = 17;
const N_COOKIE: u16 = 16390;
const N_NAT_DETECTION_SOURCE_IP: u16 = 16388;
const N_NAT_DETECTION_DESTINATION_IP: u16 = 16389;
/// Curve25519 (RFC 8031): the group whose public value we send.
const GROUP_CURVE25519: u16 = 31;

/// One transform: type, id, key length attribute.
type Transform = (u8, u16, Option<u16>);

/// AEAD proposal: AES-GCM-16 (256, 128) and ChaCha20-Poly1305; no INTEG.
const PROPOSAL_AEAD: &[Transform] = &[
    (T_ENCR, 20, Some(256)),
    (T_ENCR, 20, Some(128)),
    (T_ENCR, 28, None),
    (T_PRF, 5, None),
    (T_PRF, 6, None),
    (T_PRF, 7, None),
    (T_DH, 31, None),
    (T_DH, 19, None),
    (T_DH, 20, None),
    (T_DH, 14, None),
];

/// Classic proposal, as older and Windows servers expect: AES-CBC and
/// 3DES with HMAC-SHA2/SHA1, the common MODP and ECP groups.
const PROPOSAL_CBC: &[Transform] = &[
    (T_ENCR, 12, Some(256)),
    (T_ENCR, 12, Some(128)),
    (T_ENCR, 3, None),
    (T_PRF, 5, None),
    (T_PRF, 6, None),
    (T_PRF, 7, None),
    (T_PRF, 2, None),
    (T_INTEG, 12, None),
    (T_INTEG, 13, None),
    (T_INTEG, 14, None),
    (T_INTEG, 2, None),
    (T_DH, 31, None),
    (T_DH, 19, None),
    (T_DH, 20, None),
    (T_DH, 14, None),
    (T_DH, 2, None),
];

/// What an IKEv2 responder said to our `IKE_SA_INIT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IkeReply {
    /// It accepted a proposal (with this DH group, when stated).
    SaChosen {
        group: Option<u16>,
    },
    /// It wants another DH group (RFC 7296 §1.2).
    InvalidKe {
        group: Option<u16>,
    },
    NoProposalChosen,
    /// It asks for a return-routability check first (under load, or too
    /// many half-open exchanges from our address): the cookie to echo.
    Cookie(Vec<u8>),
    /// Some other error notify.
    Notify(u16),
}

/// A datagram with our SPI and the Response flag that is still no valid
/// `IKE_SA_INIT` response: another exchange, version or message ID, or no
/// SA, KE or notify in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadReply;

impl IkeReply {
    pub fn describe(&self) -> String {
        let group = |g: &Option<u16>| g.map_or(String::new(), |g| format!(" (group {g})"));
        match self {
            IkeReply::SaChosen { group: g } => format!("SA chosen{}", group(g)),
            IkeReply::InvalidKe { group: Some(g) } => {
                format!("INVALID_KE_PAYLOAD (wants group {g})")
            }
            IkeReply::InvalidKe { group: None } => "INVALID_KE_PAYLOAD".to_string(),
            IkeReply::NoProposalChosen => "NO_PROPOSAL_CHOSEN".to_string(),
            IkeReply::Cookie(_) => "COOKIE".to_string(),
            IkeReply::Notify(N_INVALID_SYNTAX) => "INVALID_SYNTAX".to_string(),
            IkeReply::Notify(n) => format!("error notify {n}"),
        }
    }
}

/// The last reply of an exchange, and whether a COOKIE round came first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeAnswer {
    pub reply: IkeReply,
    pub after_cookie: bool,
}

impl IkeAnswer {
    pub fn describe(&self) -> String {
        if self.after_cookie && !matches!(self.reply, IkeReply::Cookie(_)) {
            format!("COOKIE, then {}", self.reply.describe())
        } else {
            self.reply.describe()
        }
    }
}

/// Result of one `IKE_SA_INIT` exchange towards one address and port.
struct Attempt {
    addr: SocketAddr,
    result: Result<Answered, Failure>,
}

struct Answered {
    answer: IkeAnswer,
    /// The first reply's round trip, from the first send of the request.
    rtt: Duration,
    /// How often the request went out before that reply.
    sends: usize,
}

async fn probe(endpoint: &Endpoint, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    let Target::Ike(target) = &endpoint.target else {
        return VpnEvidence::failed(
            Operation::IkeSaInit,
            Failure::Unknown("not an IKEv2 endpoint".into()),
            FailKind::Unsupported,
        );
    };
    let ports: Vec<u16> = match target.port {
        Some(p) => vec![p],
        None => vec![IKE_PORT, NAT_T_PORT],
    };
    let addrs = match vpn::resolve_or_evidence(&target.host, IKE_PORT, config, rec).await {
        Ok(a) => a,
        Err(e) => return e,
    };
    // Every address and port at once: the verdict must not wait for one
    // silent port before trying the next.
    let attempts = join_all(addrs.iter().flat_map(|a| {
        ports
            .iter()
            .map(move |&p| attempt(SocketAddr::new(a.ip(), p), config, rec))
    }))
    .await;
    judge(&attempts, &ports)
}

async fn attempt(addr: SocketAddr, config: &ProbeConfig, rec: &Recorder) -> Attempt {
    let started = rec.begin(Operation::IkeSaInit, Some(addr.to_string()));
    let result = exchange(addr, config.step_timeout).await;
    let (failure, detail) = match &result {
        Ok(a) if a.sends > 1 => (
            None,
            Some(format!(
                "{} (after {} sends; round trip from the first)",
                a.answer.describe(),
                a.sends
            )),
        ),
        Ok(a) => (None, Some(a.answer.describe())),
        Err(f) => (Some(f.clone()), None),
    };
    rec.finish(started, failure, detail, Vec::new());
    Attempt { addr, result }
}

async fn exchange(addr: SocketAddr, total: Duration) -> Result<Answered, Failure> {
    let deadline = Instant::now() + total;
    let sock = vpn::udp_connect(addr).await?;
    let local = sock.local_addr().map_err(|e| super::failure::from_io(&e))?;
    let req = SaInit::new();
    let nat_t = addr.port() == NAT_T_PORT;
    let msg = req.encode(local, addr, nat_t, None);
    let mut bad = 0usize;
    let first = vpn::udp_exchange(
        &sock,
        total,
        RETRY_EVERY,
        // A retransmission is the identical message (RFC 7296 §2.1).
        Resend::Identical,
        || vec![msg.clone()],
        // Invalid replies with our SPI are kept waiting past: a valid one
        // may still come.
        |dgram| match parse_reply(dgram, &req.spi)? {
            Ok(reply) => Some(reply),
            Err(BadReply) => {
                bad += 1;
                None
            }
        },
    )
    .await
    .map_err(|f| match f {
        Failure::GenericTimeout if bad > 0 => Failure::Unknown(BAD_REPLY.into()),
        f => f,
    })?;
    let answered = Answered {
        answer: IkeAnswer {
            reply: first.value,
            after_cookie: false,
        },
        rtt: first.rtt,
        sends: first.sends,
    };
    // The COOKIE already proves a live responder; echoing it (RFC 7296
    // §2.6) only learns what the server would have said.
    let IkeReply::Cookie(cookie) = &answered.answer.reply else {
        return Ok(answered);
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() || cookie.is_empty() || cookie.len() > MAX_COOKIE {
        return Ok(answered);
    }
    let retry = req.encode(local, addr, nat_t, Some(cookie));
    let second = vpn::udp_round_trip(
        &sock,
        left,
        RETRY_EVERY,
        || vec![retry.clone()],
        // Late copies of the first COOKIE (answers to retransmissions)
        // are not the answer to the retry.
        |dgram| {
            parse_reply(dgram, &req.spi)?
                .ok()
                .filter(|r| r != &answered.answer.reply)
        },
    )
    .await;
    Ok(match second {
        Ok((reply, _)) => Answered {
            answer: IkeAnswer {
                reply,
                after_cookie: true,
            },
            ..answered
        },
        Err(_) => answered,
    })
}

fn judge(attempts: &[Attempt], ports: &[u16]) -> VpnEvidence {
    let ports_text = ports
        .iter()
        .map(|p| format!("UDP {p}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let answered: Vec<(&Attempt, &Answered)> = attempts
        .iter()
        .filter_map(|a| a.result.as_ref().ok().map(|r| (a, r)))
        .collect();
    if let Some(&(_, best)) = answered.iter().min_by_key(|(_, r)| r.rtt) {
        let mut e = VpnEvidence::verified(best.rtt.as_secs_f64() * 1000.0);
        let mut live_ports: Vec<u16> = answered.iter().map(|(a, _)| a.addr.port()).collect();
        live_ports.sort_unstable();
        live_ports.dedup();
        let live = live_ports
            .iter()
            .map(|p| format!("UDP {p}"))
            .collect::<Vec<_>>()
            .join(" and ");
        e = e.with_note(format!(
            "An IKEv2 server answered on {live}: {}. It answers before any login, so this \
             proves the server is reachable, not that your credentials work.",
            best.answer.describe()
        ));
        if best.sends > 1 {
            e = e.with_note(format!(
                "The answer came after {} sends of the same request; the round trip is \
                 counted from the first, so it may be overstated.",
                best.sends
            ));
        }
        for p in ports.iter().filter(|p| !live_ports.contains(p)) {
            let why = attempts
                .iter()
                .filter(|a| a.addr.port() == *p)
                .find_map(|a| a.result.as_ref().err())
                .map_or_else(String::new, |f| format!(" ({f})"));
            e = e.with_note(format!(
                "UDP {p} did not answer{why}: clients that need that port (NAT traversal uses \
                 4500) may fail here."
            ));
        }
        return e;
    }

    let failures: Vec<(&Failure, FailKind)> = attempts
        .iter()
        .filter_map(|a| a.result.as_ref().err())
        .map(|f| (f, attempt_kind(f)))
        .collect();
    let count = |k: FailKind| failures.iter().filter(|(_, fk)| *fk == k).count();
    let (bad, refused, silent) = (
        count(FailKind::BadResponse),
        count(FailKind::PortUnreachable),
        count(FailKind::NoResponse),
    );
    if bad > 0 {
        // Something answered with our SPI: more telling than any silence.
        return VpnEvidence::failed(
            Operation::IkeSaInit,
            Failure::Unknown(BAD_REPLY.into()),
            FailKind::BadResponse,
        )
        .with_note(
            "Replies carrying this probe's SPI came back, but none was a valid IKEv2 \
             IKE_SA_INIT response (wrong exchange type, version or message ID, or nothing an \
             IKEv2 server says): not an IKEv2 server, or something on the path answering in \
             its place.",
        );
    }
    if refused > 0 {
        let mut e = VpnEvidence::failed(
            Operation::IkeSaInit,
            Failure::ConnectionRefused,
            FailKind::PortUnreachable,
        )
        .with_note(format!(
            "ICMP port unreachable came back for {ports_text}: nothing listens there, or a \
             firewall rejects IKE."
        ));
        if silent > 0 {
            e = e.with_note("Some ports stayed silent instead (dropped on the path).");
        }
        return e;
    }
    if silent > 0 && silent == failures.len() {
        return VpnEvidence::failed(
            Operation::IkeSaInit,
            Failure::GenericTimeout,
            FailKind::NoResponse,
        )
        .with_note(format!(
            "No reply on {ports_text}. IKEv2 servers answer any well-formed IKE_SA_INIT, from \
             anyone and before any login, so silence means IKE traffic is blocked on the \
             path or no IKEv2 server listens at this address. Unlike WireGuard, a wrong key \
             or password cannot cause this."
        ));
    }
    // Local or routing errors (host unreachable, no route, ...).
    let failure = failures
        .iter()
        .find(|(f, _)| !f.is_timeout())
        .map_or(Failure::GenericTimeout, |(f, _)| (*f).clone());
    VpnEvidence::failed(Operation::IkeSaInit, failure, FailKind::Transport)
}

/// How one attempt's failure reads: ICMP and silence as for any UDP
/// exchange, invalid replies with our SPI as a bad response.
fn attempt_kind(f: &Failure) -> FailKind {
    match f {
        Failure::Unknown(m) if m == BAD_REPLY => FailKind::BadResponse,
        f => vpn::udp_fail_kind(f),
    }
}

/// One `IKE_SA_INIT` request: its SPI, curve25519 public value and nonce
/// stay the same across retransmissions and the COOKIE retry.
struct SaInit {
    spi: [u8; 8],
    public: [u8; 32],
    nonce: [u8; 32],
}

impl SaInit {
    fn new() -> SaInit {
        // A real public value, so a server that picks group 31 can go on;
        // the secret is thrown away (we never complete the exchange).
        let secret = x25519_dalek::StaticSecret::from(rand::random::<[u8; 32]>());
        SaInit {
            spi: rand::random(),
            public: x25519_dalek::PublicKey::from(&secret).to_bytes(),
            nonce: rand::random(),
        }
    }

    /// Encodes the request; `nat_t` prepends the non-ESP marker, `cookie`
    /// puts the responder's cookie first (RFC 7296 §2.6).
    fn encode(
        &self,
        local: SocketAddr,
        peer: SocketAddr,
        nat_t: bool,
        cookie: Option<&[u8]>,
    ) -> Vec<u8> {
        let spi = self.spi;
        let sa = {
            let mut body = proposal(1, PROPOSAL_AEAD, false);
            body.extend(proposal(2, PROPOSAL_CBC, true));
            body
        };
        let ke = {
            let mut body = Vec::with_capacity(36);
            body.extend(GROUP_CURVE25519.to_be_bytes());
            body.extend([0, 0]);
            body.extend(self.public);
            body
        };
        let mut payloads: Vec<(u8, Vec<u8>)> = Vec::with_capacity(6);
        if let Some(c) = cookie {
            payloads.push((PL_NOTIFY, notify(N_COOKIE, c)));
        }
        payloads.extend([
            (PL_SA, sa),
            (PL_KE, ke),
            (PL_NONCE, self.nonce.to_vec()),
            (
                PL_NOTIFY,
                notify(N_NAT_DETECTION_SOURCE_IP, &nat_hash(&spi, local)),
            ),
            (
                PL_NOTIFY,
                notify(N_NAT_DETECTION_DESTINATION_IP, &nat_hash(&spi, peer)),
            ),
        ]);

        let mut msg = Vec::with_capacity(440);
        msg.extend(spi);
        msg.extend([0u8; 8]);
        msg.push(payloads.first().map_or(PL_NONE, |(t, _)| *t));
        msg.push(VERSION_2_0);
        msg.push(EXCHANGE_IKE_SA_INIT);
        msg.push(FLAG_INITIATOR);
        msg.extend(0u32.to_be_bytes()); // message id
        msg.extend(0u32.to_be_bytes()); // length, set below
        for (i, (_, body)) in payloads.iter().enumerate() {
            let next = payloads.get(i + 1).map_or(PL_NONE, |(t, _)| *t);
            msg.push(next);
            msg.push(0);
            msg.extend(len16(body.len() + 4));
            msg.extend(body);
        }
        let total = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        msg[24..28].copy_from_slice(&total.to_be_bytes());
        if nat_t {
            let mut marked = vec![0u8; 4];
            marked.extend(msg);
            marked
        } else {
            msg
        }
    }
}

fn len16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
}

fn proposal(num: u8, transforms: &[Transform], last: bool) -> Vec<u8> {
    let mut t_bytes = Vec::new();
    for (i, &(t_type, id, key_len)) in transforms.iter().enumerate() {
        let more = i + 1 < transforms.len();
        let attr_len = if key_len.is_some() { 4 } else { 0 };
        t_bytes.push(if more { 3 } else { 0 });
        t_bytes.push(0);
        t_bytes.extend(len16(8 + attr_len));
        t_bytes.push(t_type);
        t_bytes.push(0);
        t_bytes.extend(id.to_be_bytes());
        if let Some(bits) = key_len {
            // Attribute Key Length (14), TV format (high bit set).
            t_bytes.extend(0x800eu16.to_be_bytes());
            t_bytes.extend(bits.to_be_bytes());
        }
    }
    let mut p = Vec::with_capacity(8 + t_bytes.len());
    p.push(if last { 0 } else { 2 });
    p.push(0);
    p.extend(len16(8 + t_bytes.len()));
    p.push(num);
    p.push(1); // protocol IKE
    p.push(0); // no SPI in IKE_SA_INIT
    p.push(u8::try_from(transforms.len()).unwrap_or(u8::MAX));
    p.extend(t_bytes);
    p
}

fn notify(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut n = vec![0, 0]; // protocol id, SPI size
    n.extend(kind.to_be_bytes());
    n.extend(data);
    n
}

/// SHA-1(SPIi | SPIr | IP | port) (RFC 7296 §2.23).
fn nat_hash(spi: &[u8; 8], addr: SocketAddr) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(spi);
    h.update([0u8; 8]);
    match addr.ip() {
        IpAddr::V4(ip) => h.update(ip.octets()),
        IpAddr::V6(ip) => h.update(ip.octets()),
    }
    h.update(addr.port().to_be_bytes());
    h.finalize().into()
}

/// Reads a datagram as a reply to our `IKE_SA_INIT` (with or without the
/// non-ESP marker): `None` unless it carries our SPI and the Response flag;
/// [`BadReply`] unless it is an IKEv2 `IKE_SA_INIT` response (major
/// version 2, exchange 34, message ID 0) with an SA, KE or notify we read.
/// Bounds-checked throughout: garbage never panics.
pub fn parse_reply(dgram: &[u8], spi: &[u8; 8]) -> Option<Result<IkeReply, BadReply>> {
    // An IKE SPI is never zero, so four zero bytes can only be the marker.
    let msg = match dgram.strip_prefix(&[0u8; 4]) {
        Some(rest) => rest,
        None => dgram,
    };
    let header = msg.get(..HEADER_LEN)?;
    if header[..8] != spi[..] || header[19] & FLAG_RESPONSE == 0 {
        return None;
    }
    // Only the major version must match (RFC 7296 §3.1); the ID of an
    // IKE_SA_INIT response is that of the request, 0.
    if header[17] >> 4 != VERSION_2_0 >> 4
        || header[18] != EXCHANGE_IKE_SA_INIT
        || header[20..24] != [0u8; 4]
    {
        return Some(Err(BadReply));
    }
    let declared = u32::from_be_bytes([header[24], header[25], header[26], header[27]]);
    let end = usize::try_from(declared).map_or(msg.len(), |d| d.min(msg.len()));
    let mut next = header[16];
    let mut pos = HEADER_LEN;
    let mut sa_group: Option<u16> = None;
    let mut ke_group: Option<u16> = None;
    let mut saw_sa = false;
    let mut error_notify: Option<(u16, Vec<u8>)> = None;
    let mut cookie: Option<Vec<u8>> = None;
    // Payload chain; a malformed length ends the walk with what we have.
    while next != PL_NONE && pos + 4 <= end {
        let this = next;
        next = msg[pos];
        let len = usize::from(u16::from_be_bytes([msg[pos + 2], msg[pos + 3]]));
        if len < 4 || pos + len > end {
            break;
        }
        let body = &msg[pos + 4..pos + len];
        match this {
            PL_SA => {
                saw_sa = true;
                sa_group = sa_dh_group(body);
            }
            PL_KE => ke_group = body.get(..2).map(|g| u16::from_be_bytes([g[0], g[1]])),
            PL_NOTIFY => {
                if let Some(kind) = body.get(2..4).map(|k| u16::from_be_bytes([k[0], k[1]])) {
                    let spi_size = usize::from(body.get(1).copied().unwrap_or(0));
                    let data = body.get(4 + spi_size..).unwrap_or_default().to_vec();
                    if kind == N_COOKIE {
                        cookie.get_or_insert(data);
                    } else if kind < 16384 && error_notify.is_none() {
                        error_notify = Some((kind, data));
                    }
                }
            }
            _ => {}
        }
        pos += len;
    }
    Some(match error_notify {
        Some((N_INVALID_KE_PAYLOAD, data)) => Ok(IkeReply::InvalidKe {
            group: data.get(..2).map(|g| u16::from_be_bytes([g[0], g[1]])),
        }),
        Some((N_NO_PROPOSAL_CHOSEN, _)) => Ok(IkeReply::NoProposalChosen),
        Some((kind, _)) => Ok(IkeReply::Notify(kind)),
        None => match cookie {
            Some(c) => Ok(IkeReply::Cookie(c)),
            None if saw_sa || ke_group.is_some() => Ok(IkeReply::SaChosen {
                group: ke_group.or(sa_group),
            }),
            None => Err(BadReply),
        },
    })
}

/// The DH group transform of the first proposal in an SA payload body.
fn sa_dh_group(body: &[u8]) -> Option<u16> {
    let prop_len = usize::from(u16::from_be_bytes([*body.get(2)?, *body.get(3)?]));
    let prop = body.get(..prop_len)?;
    let spi_size = usize::from(*prop.get(6)?);
    let mut pos = 8 + spi_size;
    while pos + 8 <= prop.len() {
        let t_len = usize::from(u16::from_be_bytes([prop[pos + 2], prop[pos + 3]]));
        if t_len < 8 {
            return None;
        }
        if prop[pos + 4] == T_DH {
            return Some(u16::from_be_bytes([prop[pos + 6], prop[pos + 7]]));
        }
        pos += t_len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPI: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn req() -> SaInit {
        SaInit {
            spi: SPI,
            ..SaInit::new()
        }
    }

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "192.0.2.1:40000".parse().unwrap(),
            "198.51.100.2:500".parse().unwrap(),
        )
    }

    /// Walks a message's payload chain: (type, body) pairs, and checks
    /// every length adds up.
    fn payloads(msg: &[u8]) -> Vec<(u8, Vec<u8>)> {
        assert_eq!(
            u32::from_be_bytes(msg[24..28].try_into().unwrap()) as usize,
            msg.len()
        );
        let mut out = Vec::new();
        let mut next = msg[16];
        let mut pos = HEADER_LEN;
        while next != PL_NONE {
            let len = u16::from_be_bytes([msg[pos + 2], msg[pos + 3]]) as usize;
            out.push((next, msg[pos + 4..pos + len].to_vec()));
            next = msg[pos];
            pos += len;
        }
        assert_eq!(pos, msg.len());
        out
    }

    /// A response header with `payloads` chained after it.
    fn response(spi: &[u8; 8], flags: u8, payloads: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(spi);
        m.extend([9u8; 8]);
        m.push(payloads.first().map_or(PL_NONE, |p| p.0));
        m.extend([VERSION_2_0, EXCHANGE_IKE_SA_INIT, flags]);
        m.extend([0u8; 8]);
        for (i, (_, body)) in payloads.iter().enumerate() {
            m.push(payloads.get(i + 1).map_or(PL_NONE, |p| p.0));
            m.push(0);
            m.extend(len16(body.len() + 4));
            m.extend(body);
        }
        let n = m.len() as u32;
        m[24..28].copy_from_slice(&n.to_be_bytes());
        m
    }

    #[test]
    fn request_is_well_formed() {
        let (local, peer) = addrs();
        let msg = req().encode(local, peer, false, None);
        assert_eq!(&msg[..8], &SPI);
        assert_eq!(&msg[8..16], &[0u8; 8]);
        assert_eq!(msg[17], 0x20);
        assert_eq!(msg[18], 34);
        assert_eq!(msg[19], 0x08);
        let pl = payloads(&msg);
        let types: Vec<u8> = pl.iter().map(|p| p.0).collect();
        assert_eq!(types, [PL_SA, PL_KE, PL_NONCE, PL_NOTIFY, PL_NOTIFY]);
        // KE: group 31 with a 32-byte public value.
        assert_eq!(&pl[1].1[..2], &31u16.to_be_bytes());
        assert_eq!(pl[1].1.len(), 4 + 32);
        assert_eq!(pl[2].1.len(), 32);
        // SA: two proposals whose lengths add up, the first listing group 31.
        let sa = &pl[0].1;
        let p1 = u16::from_be_bytes([sa[2], sa[3]]) as usize;
        assert_eq!(sa[0], 2);
        assert_eq!(sa[p1], 0);
        let p2 = u16::from_be_bytes([sa[p1 + 2], sa[p1 + 3]]) as usize;
        assert_eq!(p1 + p2, sa.len());
        assert_eq!(sa_dh_group(sa), Some(31));
        // NAT detection hashes.
        assert_eq!(&pl[3].1[2..4], &N_NAT_DETECTION_SOURCE_IP.to_be_bytes());
        assert_eq!(&pl[3].1[4..], &nat_hash(&SPI, local));
        assert_eq!(&pl[4].1[4..], &nat_hash(&SPI, peer));
        // Fresh key material for each new request, none within one.
        let r = req();
        assert_eq!(
            r.encode(local, peer, false, None),
            r.encode(local, peer, false, None)
        );
        assert_ne!(msg, req().encode(local, peer, false, None));
    }

    #[test]
    fn cookie_retry_puts_the_cookie_first_and_keeps_the_rest() {
        let (local, peer) = addrs();
        let r = req();
        let plain = r.encode(local, peer, false, None);
        let cookie = [0xabu8; 20];
        let retry = r.encode(local, peer, false, Some(&cookie));
        let pl = payloads(&retry);
        assert_eq!(retry[16], PL_NOTIFY);
        assert_eq!(&pl[0].1[2..4], &N_COOKIE.to_be_bytes());
        assert_eq!(&pl[0].1[4..], &cookie);
        assert_eq!(pl[1..], payloads(&plain)[..]);
        let answer = IkeAnswer {
            reply: IkeReply::InvalidKe { group: Some(14) },
            after_cookie: true,
        };
        assert_eq!(
            answer.describe(),
            "COOKIE, then INVALID_KE_PAYLOAD (wants group 14)"
        );
    }

    #[test]
    fn nat_t_has_the_non_esp_marker() {
        let (local, peer) = addrs();
        let msg = req().encode(local, peer, true, None);
        assert_eq!(&msg[..4], &[0u8; 4]);
        assert_eq!(&msg[4..12], &SPI);
        payloads(&msg[4..]);
    }

    #[test]
    fn replies_are_classified() {
        let notify_p = |kind: u16, data: &[u8]| (PL_NOTIFY, notify(kind, data));
        let cases = [
            (
                response(
                    &SPI,
                    0x20,
                    &[notify_p(N_INVALID_KE_PAYLOAD, &14u16.to_be_bytes())],
                ),
                IkeReply::InvalidKe { group: Some(14) },
                "INVALID_KE_PAYLOAD (wants group 14)",
            ),
            (
                response(&SPI, 0x20, &[notify_p(N_NO_PROPOSAL_CHOSEN, &[])]),
                IkeReply::NoProposalChosen,
                "NO_PROPOSAL_CHOSEN",
            ),
            (
                response(&SPI, 0x20, &[notify_p(N_COOKIE, &[7; 16])]),
                IkeReply::Cookie(vec![7; 16]),
                "COOKIE",
            ),
            (
                response(
                    &SPI,
                    0x20,
                    &[
                        (
                            PL_SA,
                            proposal(1, &[(T_ENCR, 20, Some(256)), (T_DH, 31, None)], true),
                        ),
                        (PL_KE, {
                            let mut k = 31u16.to_be_bytes().to_vec();
                            k.extend([0u8; 34]);
                            k
                        }),
                        (PL_NONCE, vec![1; 32]),
                        notify_p(N_NAT_DETECTION_SOURCE_IP, &[0; 20]),
                    ],
                ),
                IkeReply::SaChosen { group: Some(31) },
                "SA chosen (group 31)",
            ),
        ];
        for (wire, want, text) in cases {
            assert_eq!(parse_reply(&wire, &SPI), Some(Ok(want.clone())));
            assert_eq!(want.describe(), text);
            // Same reply behind the non-ESP marker (port 4500).
            let mut marked = vec![0u8; 4];
            marked.extend(&wire);
            assert_eq!(parse_reply(&marked, &SPI), Some(Ok(want)));
        }
    }

    /// Our SPI and the Response flag are not enough: the header must be an
    /// IKEv2 IKE_SA_INIT response and something in it must be readable.
    #[test]
    fn replies_with_our_spi_but_not_sa_init_are_bad() {
        let notify_p = (PL_NOTIFY, notify(N_NO_PROPOSAL_CHOSEN, &[]));
        let valid = response(&SPI, 0x20, std::slice::from_ref(&notify_p));
        assert_eq!(
            parse_reply(&valid, &SPI),
            Some(Ok(IkeReply::NoProposalChosen))
        );
        let mut wrong_exchange = valid.clone();
        wrong_exchange[18] = 35; // IKE_AUTH
        let mut wrong_version = valid.clone();
        wrong_version[17] = 0x10; // IKEv1
        let mut wrong_id = valid.clone();
        wrong_id[23] = 1;
        for (why, wire) in [
            ("exchange type", wrong_exchange),
            ("major version", wrong_version),
            ("message id", wrong_id),
            ("no payloads", response(&SPI, 0x20, &[])),
            (
                "only a nonce",
                response(&SPI, 0x20, &[(PL_NONCE, vec![1; 32])]),
            ),
        ] {
            assert_eq!(parse_reply(&wire, &SPI), Some(Err(BadReply)), "{why}");
        }
        // A newer minor version is fine (RFC 7296 §3.1).
        let mut minor = valid;
        minor[17] = 0x21;
        assert!(matches!(parse_reply(&minor, &SPI), Some(Ok(_))));
    }

    /// A fake responder on loopback that echoes our SPI in a reply of the
    /// wrong exchange type: never verified, a bad response once the time
    /// is up; and a valid reply after garbage still wins.
    #[tokio::test]
    async fn garbage_with_our_spi_is_a_bad_response_not_a_server() {
        use tokio::net::UdpSocket;
        for valid_after_garbage in [false, true] {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = server.local_addr().unwrap();
            let responder = tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                while let Ok((_, from)) = server.recv_from(&mut buf).await {
                    let spi: [u8; 8] = buf[..8].try_into().unwrap();
                    let notify_p = (PL_NOTIFY, notify(N_NO_PROPOSAL_CHOSEN, &[]));
                    let mut garbage = response(&spi, 0x20, std::slice::from_ref(&notify_p));
                    garbage[18] = 37; // INFORMATIONAL
                    let _ = server.send_to(&garbage, from).await;
                    if valid_after_garbage {
                        let ok = response(&spi, 0x20, &[notify_p]);
                        let _ = server.send_to(&ok, from).await;
                    }
                }
            });
            let got = exchange(addr, Duration::from_millis(700)).await;
            let attempt = Attempt { addr, result: got };
            let e = judge(std::slice::from_ref(&attempt), &[addr.port()]);
            responder.abort();
            if valid_after_garbage {
                assert_eq!(e.outcome, vpn::VpnOutcome::Verified, "{e:?}");
                continue;
            }
            assert!(
                matches!(
                    &attempt.result,
                    Err(Failure::Unknown(m)) if m == BAD_REPLY
                ),
                "{:?}",
                attempt.result.as_ref().err()
            );
            assert!(
                matches!(
                    e.outcome,
                    vpn::VpnOutcome::Failed {
                        kind: FailKind::BadResponse,
                        op: Operation::IkeSaInit,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[test]
    fn foreign_or_non_response_datagrams_are_ignored() {
        let reply = response(&SPI, 0x20, &[]);
        assert!(parse_reply(&reply, &[8; 8]).is_none(), "other SPI");
        assert!(
            parse_reply(&response(&SPI, 0x08, &[]), &SPI).is_none(),
            "a request"
        );
        assert!(parse_reply(&reply[..27], &SPI).is_none(), "short");
        // Someone else's SPI in a wrong exchange: not ours at all.
        let mut other = response(&[8; 8], 0x20, &[]);
        other[18] = 35;
        assert!(parse_reply(&other, &SPI).is_none());
        assert!(parse_reply(b"", &SPI).is_none());
        // Our own request reflected back is not a response.
        let (local, peer) = addrs();
        assert!(parse_reply(&req().encode(local, peer, false, None), &SPI).is_none());
    }

    #[test]
    fn garbage_never_panics() {
        let mut wire = response(
            &SPI,
            0x20,
            &[(PL_NOTIFY, notify(N_INVALID_KE_PAYLOAD, &[]))],
        );
        // Lying lengths in the header and the payload.
        wire[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
        wire[30] = 0xff;
        let _ = parse_reply(&wire, &SPI);
        wire[30] = 0;
        wire[31] = 1;
        let _ = parse_reply(&wire, &SPI);
        // Random tails after a valid header.
        for seed in 0u32..2000 {
            let mut m = response(&SPI, 0x20, &[]);
            m[16] = (seed % 50) as u8;
            let mut x = seed.wrapping_mul(2_654_435_761);
            for _ in 0..(seed % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                m.push(x as u8);
            }
            let _ = parse_reply(&m, &SPI);
            let _ = sa_dh_group(&m[28..]);
        }
        assert!(sa_dh_group(&[0, 0, 0, 200, 1, 1, 255]).is_none());
    }

    #[test]
    fn verdicts_from_attempts() {
        let a500: SocketAddr = "192.0.2.1:500".parse().unwrap();
        let a4500: SocketAddr = "192.0.2.1:4500".parse().unwrap();
        let ports = [500, 4500];
        let ok = |addr, ms| Attempt {
            addr,
            result: Ok(Answered {
                answer: IkeAnswer {
                    reply: IkeReply::NoProposalChosen,
                    after_cookie: false,
                },
                rtt: Duration::from_millis(ms),
                sends: 1,
            }),
        };
        let err = |addr, f: Failure| Attempt {
            addr,
            result: Err(f),
        };

        let e = judge(&[ok(a500, 30), err(a4500, Failure::GenericTimeout)], &ports);
        assert_eq!(e.outcome, vpn::VpnOutcome::Verified);
        assert_eq!(e.handshake_ms, Some(30.0));
        assert!(
            e.notes
                .iter()
                .any(|n| n.contains("UDP 500") && n.contains("NO_PROPOSAL"))
        );
        assert!(
            e.notes
                .iter()
                .any(|n| n.contains("UDP 4500 did not answer")),
            "{:?}",
            e.notes
        );

        let e = judge(&[ok(a500, 30), ok(a4500, 20)], &ports);
        assert_eq!(e.handshake_ms, Some(20.0));
        assert!(e.notes.iter().any(|n| n.contains("UDP 500 and UDP 4500")));

        let silent = judge(
            &[
                err(a500, Failure::GenericTimeout),
                err(a4500, Failure::GenericTimeout),
            ],
            &ports,
        );
        assert!(matches!(
            silent.outcome,
            vpn::VpnOutcome::Failed {
                kind: FailKind::NoResponse,
                op: Operation::IkeSaInit,
                ..
            }
        ));
        assert!(silent.notes.iter().any(|n| n.contains("cannot cause this")));

        let refused = judge(
            &[
                err(a500, Failure::ConnectionRefused),
                err(a4500, Failure::ConnectionRefused),
            ],
            &ports,
        );
        assert!(matches!(
            refused.outcome,
            vpn::VpnOutcome::Failed {
                kind: FailKind::PortUnreachable,
                ..
            }
        ));

        let bad = judge(
            &[
                err(a500, Failure::Unknown(BAD_REPLY.into())),
                err(a4500, Failure::ConnectionRefused),
            ],
            &ports,
        );
        assert!(matches!(
            bad.outcome,
            vpn::VpnOutcome::Failed {
                kind: FailKind::BadResponse,
                ..
            }
        ));

        let mut late = ok(a500, 1500);
        if let Ok(a) = &mut late.result {
            a.sends = 2;
        }
        let e = judge(&[late], &[500]);
        assert!(
            e.notes.iter().any(|n| n.contains("may be overstated")),
            "{:?}",
            e.notes
        );

        let unreachable = judge(&[err(a500, Failure::HostUnreachable)], &[500]);
        assert!(matches!(
            unreachable.outcome,
            vpn::VpnOutcome::Failed {
                kind: FailKind::Transport,
                failure: Failure::HostUnreachable,
                ..
            }
        ));
    }
}
