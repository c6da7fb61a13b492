//! The smallest useful STUN client (RFC 5389): one Binding Request over
//! UDP, retransmitted on the RFC's doubling schedule, answered by the
//! address the server saw us come from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::NetCtxError;

pub(crate) const MAGIC_COOKIE: u32 = 0x2112_A442;
pub(crate) const BINDING_REQUEST: u16 = 0x0001;
pub(crate) const BINDING_SUCCESS: u16 = 0x0101;
pub(crate) const BINDING_ERROR: u16 = 0x0111;
pub(crate) const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
pub(crate) const ATTR_ERROR_CODE: u16 = 0x0009;
pub(crate) const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const HEADER_LEN: usize = 20;
/// RFC 5389 section 7.2.1: initial retransmission timeout.
const INITIAL_RTO: Duration = Duration::from_millis(500);

/// Asks the STUN server `server` which address our packets come from.
/// Only answers carrying our transaction id from that server count; stray
/// datagrams are ignored.
pub async fn stun_public_ip(server: SocketAddr, timeout: Duration) -> Result<IpAddr, NetCtxError> {
    let io = |source| NetCtxError::StunIo { server, source };
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    // A connected socket makes the kernel drop datagrams from anyone else.
    socket.connect(server).await.map_err(io)?;

    let txid: [u8; 12] = rand::random();
    let request = binding_request(&txid);
    // Instant arithmetic panics on overflow; an absurd timeout means "a year".
    let start = Instant::now();
    let deadline = start
        .checked_add(timeout)
        .unwrap_or(start + Duration::from_secs(365 * 24 * 3600));
    let mut rto = INITIAL_RTO;
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(NetCtxError::StunTimeout { server, timeout });
        }
        socket.send(&request).await.map_err(io)?;
        let resend_at = now.checked_add(rto).map_or(deadline, |t| t.min(deadline));
        rto = rto.saturating_mul(2);
        // Read until this attempt's timer runs out, skipping strays.
        loop {
            let n = match tokio::time::timeout_at(resend_at, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(n)) => n,
            };
            let packet = buf.get(..n).unwrap_or_default();
            match parse_response(packet, &txid) {
                Response::Address(ip) => return Ok(ip),
                Response::Ignore => {}
                Response::Error(reason) => return Err(NetCtxError::Stun { server, reason }),
            }
        }
    }
}

pub(crate) fn binding_request(txid: &[u8; 12]) -> [u8; HEADER_LEN] {
    let mut req = [0u8; HEADER_LEN];
    req[0..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    // Bytes 2..4: attribute length 0.
    req[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    req[8..20].copy_from_slice(txid);
    req
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Response {
    /// Not a reply to our request (wrong id, not STUN): keep waiting.
    Ignore,
    Address(IpAddr),
    /// Our request was answered, but not with an address.
    Error(String),
}

/// Reads a datagram as a reply to the request with transaction id `txid`.
pub(crate) fn parse_response(packet: &[u8], txid: &[u8; 12]) -> Response {
    let Some(header) = packet.get(..HEADER_LEN) else {
        return Response::Ignore;
    };
    let msg_type = u16::from_be_bytes([header[0], header[1]]);
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    // The top two bits are zero in every STUN message; with the cookie and
    // id this rules out other protocols and stale answers.
    if header[0] & 0xC0 != 0 || cookie != MAGIC_COOKIE || header[8..20] != txid[..] {
        return Response::Ignore;
    }
    let Some(body) = packet.get(HEADER_LEN..HEADER_LEN + length) else {
        return Response::Error("truncated response".into());
    };
    if length % 4 != 0 {
        return Response::Error("malformed response (length not a multiple of 4)".into());
    }
    let attrs = match attributes(body) {
        Some(a) => a,
        None => return Response::Error("malformed response attributes".into()),
    };
    match msg_type {
        BINDING_SUCCESS => {
            // XOR-MAPPED-ADDRESS is authoritative; plain MAPPED-ADDRESS is
            // what RFC 3489 servers send and NATs may rewrite, so only a
            // fallback.
            let xor = attrs
                .iter()
                .find(|(t, _)| *t == ATTR_XOR_MAPPED_ADDRESS)
                .map(|(_, v)| decode_address(v, Some(txid)));
            let plain = attrs
                .iter()
                .find(|(t, _)| *t == ATTR_MAPPED_ADDRESS)
                .map(|(_, v)| decode_address(v, None));
            match xor.or(plain) {
                Some(Some(ip)) => Response::Address(ip),
                Some(None) => Response::Error("malformed mapped address".into()),
                None => Response::Error("response carries no mapped address".into()),
            }
        }
        BINDING_ERROR => {
            let detail = attrs
                .iter()
                .find(|(t, _)| *t == ATTR_ERROR_CODE)
                .and_then(|(_, v)| decode_error_code(v));
            Response::Error(match detail {
                Some(d) => format!("error response {d}"),
                None => "error response".into(),
            })
        }
        _ => Response::Ignore,
    }
}

/// Splits the message body into (type, value) pairs; `None` if an
/// attribute runs past the end.
fn attributes(mut body: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let head = body.get(..4)?;
        let kind = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let value = body.get(4..4 + len)?;
        out.push((kind, value));
        // Values are padded to a multiple of four bytes.
        let padded = 4 + len.div_ceil(4) * 4;
        body = body.get(padded..)?;
    }
    Some(out)
}

/// (XOR-)MAPPED-ADDRESS value: reserved byte, family, port, address. With
/// `txid`, the address is XORed with the cookie (and id, for IPv6).
fn decode_address(v: &[u8], txid: Option<&[u8; 12]>) -> Option<IpAddr> {
    let family = *v.get(1)?;
    let mut mask = [0u8; 16];
    if let Some(txid) = txid {
        mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        mask[4..].copy_from_slice(txid);
    }
    match family {
        0x01 => {
            let raw: [u8; 4] = v.get(4..8)?.try_into().ok()?;
            let mut a = [0u8; 4];
            for (i, b) in a.iter_mut().enumerate() {
                *b = raw[i] ^ mask[i];
            }
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        0x02 => {
            let raw: [u8; 16] = v.get(4..20)?.try_into().ok()?;
            let mut a = [0u8; 16];
            for (i, b) in a.iter_mut().enumerate() {
                *b = raw[i] ^ mask[i];
            }
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// ERROR-CODE value as `"401 Unauthorized"`.
fn decode_error_code(v: &[u8]) -> Option<String> {
    let class = u16::from(*v.get(2)? & 0x07);
    let number = u16::from(*v.get(3)?);
    let reason: String = String::from_utf8_lossy(v.get(4..).unwrap_or_default())
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    Some(format!("{} {}", class * 100 + number, reason.trim()))
}
