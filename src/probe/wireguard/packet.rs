//! Hand-built IPv4/IPv6 UDP packets for the data test through the tunnel
//! (there is no TUN device: we are the interface), and the parser for the
//! packets that come back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const PROTO_UDP: u8 = 17;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
const TTL: u8 = 64;

/// RFC 1071 ones' complement sum over `parts`, as if concatenated.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Pseudo-header (RFC 768 / RFC 8200 §8.1) for the UDP checksum; `None`
/// when `udp_len` does not fit its length field.
fn pseudo_header(src: IpAddr, dst: IpAddr, udp_len: usize) -> Option<Vec<u8>> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, PROTO_UDP]);
            p.extend_from_slice(&u16::try_from(udp_len).ok()?.to_be_bytes());
        }
        _ => {
            p.extend_from_slice(&ip6(src).octets());
            p.extend_from_slice(&ip6(dst).octets());
            p.extend_from_slice(&u32::try_from(udp_len).ok()?.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, PROTO_UDP]);
        }
    }
    Some(p)
}

fn ip6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// An IP packet carrying one UDP datagram from `src` to `dst`; `None` if
/// the families differ or the payload is too big for one packet.
pub fn udp_packet(src: SocketAddr, dst: SocketAddr, payload: &[u8], ip_id: u16) -> Option<Vec<u8>> {
    let udp_len = UDP_HEADER + payload.len();
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&u16::try_from(udp_len).ok()?.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = checksum(&[&pseudo_header(src.ip(), dst.ip(), udp_len)?, &udp]);
    // Zero means "no checksum" on the wire; an actual zero is sent as all ones.
    let sum = if sum == 0 { 0xffff } else { sum };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());

    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(IPV4_HEADER + udp_len).ok()?;
            let mut p = Vec::with_capacity(usize::from(total));
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&total.to_be_bytes());
            p.extend_from_slice(&ip_id.to_be_bytes());
            p.extend_from_slice(&[0x40, 0]); // don't fragment
            p.extend_from_slice(&[TTL, PROTO_UDP, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            let hsum = checksum(&[&p]);
            p[10..12].copy_from_slice(&hsum.to_be_bytes());
            p.extend_from_slice(&udp);
            Some(p)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = u16::try_from(udp_len).ok()?;
            let mut p = Vec::with_capacity(IPV6_HEADER + udp_len);
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&len.to_be_bytes());
            p.extend_from_slice(&[PROTO_UDP, TTL]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&udp);
            Some(p)
        }
        _ => None,
    }
}

/// A UDP datagram found in an IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: &'a [u8],
}

/// The UDP datagram in `packet` (IPv4 without fragments, or IPv6 without
/// extension headers), checksums verified; `None` for anything else.
pub fn parse_udp(packet: &[u8]) -> Option<Datagram<'_>> {
    let version = packet.first()? >> 4;
    let (src, dst, udp) = match version {
        4 => {
            let ihl = usize::from(packet.first()? & 0x0f) * 4;
            if ihl < IPV4_HEADER || packet.len() < ihl {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
            let frag = u16::from_be_bytes([*packet.get(6)?, *packet.get(7)?]);
            // More-fragments set or a fragment offset: not a whole datagram.
            if total < ihl || total > packet.len() || frag & 0x3fff != 0 {
                return None;
            }
            if *packet.get(9)? != PROTO_UDP || checksum(&[&packet[..ihl]]) != 0 {
                return None;
            }
            let s: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                packet.get(ihl..total)?,
            )
        }
        6 => {
            if packet.len() < IPV6_HEADER || *packet.get(6)? != PROTO_UDP {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([*packet.get(4)?, *packet.get(5)?]));
            let s: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                packet.get(IPV6_HEADER..IPV6_HEADER + len)?,
            )
        }
        _ => return None,
    };
    let udp_len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    if udp_len < UDP_HEADER || udp_len > udp.len() {
        return None;
    }
    let udp = &udp[..udp_len];
    let sum = u16::from_be_bytes([udp[6], udp[7]]);
    // IPv4 may leave the UDP checksum out (zero); otherwise it must hold.
    let optional = src.is_ipv4() && sum == 0;
    if !optional && checksum(&[&pseudo_header(src, dst, udp_len)?, udp]) != 0 {
        return None;
    }
    let sport = u16::from_be_bytes([udp[0], udp[1]]);
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    Some(Datagram {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        payload: &udp[UDP_HEADER..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Independent vectors: the IPv4 header is the well-known example
    /// `4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7` (checksum b861);
    /// the UDP checksum 0x7561 was computed separately (Python, RFC 768).
    #[test]
    fn ipv4_matches_known_vectors() {
        let payload: Vec<u8> = (0..87).collect();
        let p = udp_packet(sa("192.168.0.1:40000"), sa("192.168.0.199:53"), &payload, 0).unwrap();
        assert_eq!(
            &p[..20],
            &[
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
            ]
        );
        assert_eq!(
            &p[20..28],
            &[0x9c, 0x40, 0x00, 0x35, 0x00, 0x5f, 0x75, 0x61]
        );
        assert_eq!(&p[28..], &payload[..]);
        let d = parse_udp(&p).unwrap();
        assert_eq!(d.src, sa("192.168.0.1:40000"));
        assert_eq!(d.dst, sa("192.168.0.199:53"));
        assert_eq!(d.payload, &payload[..]);
    }

    /// RFC 1071's worked example: the sum of 0001 f203 f4f5 f6f7 is ddf2,
    /// so the checksum is its complement 220d.
    #[test]
    fn checksum_rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&[&data]), !0xddf2);
        // Split at an odd boundary: same result.
        assert_eq!(checksum(&[&data[..3], &data[3..]]), !0xddf2);
    }

    #[test]
    fn ipv6_round_trip_and_corruption() {
        let payload = vec![7u8; 33];
        let p = udp_packet(sa("[fd00::2]:5555"), sa("[fd00::1]:53"), &payload, 0).unwrap();
        assert_eq!(p.len(), 40 + 8 + 33);
        let d = parse_udp(&p).unwrap();
        assert_eq!(d.src, sa("[fd00::2]:5555"));
        assert_eq!(d.payload, &payload[..]);
        let mut bad = p.clone();
        bad[50] ^= 1;
        assert_eq!(parse_udp(&bad), None);
    }

    #[test]
    fn rejects_mixed_families_garbage_and_fragments() {
        assert!(udp_packet(sa("10.0.0.1:1"), sa("[::1]:53"), b"x", 0).is_none());
        for junk in [&b""[..], &[0x45][..], &[0x60; 39][..], &[0x45; 60][..]] {
            assert_eq!(parse_udp(junk), None);
        }
        let mut p = udp_packet(sa("10.0.0.2:1000"), sa("10.0.0.1:53"), b"abc", 1).unwrap();
        p[6] |= 0x20; // more fragments
        assert_eq!(parse_udp(&p), None);
        let mut p = udp_packet(sa("10.0.0.2:1000"), sa("10.0.0.1:53"), b"abc", 1).unwrap();
        p[9] = 6; // TCP
        assert_eq!(parse_udp(&p), None);
        // Truncated: total length beyond the buffer.
        let p = udp_packet(sa("10.0.0.2:1000"), sa("10.0.0.1:53"), b"abc", 1).unwrap();
        assert_eq!(parse_udp(&p[..p.len() - 1]), None);
        // IPv4 without UDP checksum is fine.
        let mut p = udp_packet(sa("10.0.0.2:1000"), sa("10.0.0.1:53"), b"abc", 1).unwrap();
        p[26] = 0;
        p[27] = 0;
        assert_eq!(parse_udp(&p).map(|d| d.payload), Some(&b"abc"[..]));
    }

    #[test]
    fn oversized_lengths_are_refused_not_truncated() {
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(pseudo_header(ip, ip, 65_535).is_some());
        assert!(pseudo_header(ip, ip, 65_536).is_none());
        let big = vec![0u8; 65_535];
        assert!(udp_packet(sa("10.0.0.2:1"), sa("10.0.0.1:53"), &big, 0).is_none());
    }
}
