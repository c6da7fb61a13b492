//! Test-only MaxMind DB writer: just enough of the format (binary search
//! tree with 24-bit records, data section, metadata) to build ASN databases
//! at test time instead of shipping binary fixtures.

use std::net::IpAddr;

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

pub(crate) struct MmdbWriter {
    ip_version: u16,
    nodes: Vec<[Rec; 2]>,
    data: Vec<u8>,
}

impl MmdbWriter {
    /// An IPv6 tree (IPv4 lives under `::/96`), like GeoLite2.
    pub(crate) fn new_v6() -> Self {
        Self::new(6)
    }

    pub(crate) fn new_v4() -> Self {
        Self::new(4)
    }

    fn new(ip_version: u16) -> Self {
        MmdbWriter {
            ip_version,
            nodes: vec![[Rec::Empty, Rec::Empty]],
            data: Vec::new(),
        }
    }

    /// Adds `net/prefix` with an ASN record. Networks must not overlap.
    pub(crate) fn insert_asn(&mut self, net: IpAddr, prefix: u8, asn: u32, org: &str) {
        let offset = self.data.len();
        let mut rec = Vec::new();
        map_header(&mut rec, 2);
        string(&mut rec, "autonomous_system_number");
        uint(&mut rec, 6, u64::from(asn));
        string(&mut rec, "autonomous_system_organization");
        string(&mut rec, org);
        self.data.extend_from_slice(&rec);

        let (bits, prefix): (u128, usize) = match (net, self.ip_version) {
            (IpAddr::V4(a), 6) => (u128::from(u32::from(a)), 96 + usize::from(prefix)),
            (IpAddr::V4(a), _) => (u128::from(u32::from(a)) << 96, usize::from(prefix)),
            (IpAddr::V6(a), _) => (u128::from(a), usize::from(prefix)),
        };
        let bit = |i: usize| ((bits >> (127 - i)) & 1) as usize;
        let mut node = 0;
        for i in 0..prefix - 1 {
            let b = bit(i);
            node = match self.nodes[node][b] {
                Rec::Node(n) => n,
                Rec::Empty => {
                    self.nodes.push([Rec::Empty, Rec::Empty]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][b] = Rec::Node(n);
                    n
                }
                Rec::Data(_) => panic!("overlapping networks are not supported"),
            };
        }
        self.nodes[node][bit(prefix - 1)] = Rec::Data(offset);
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let count = self.nodes.len();
        let value = |r: Rec| -> u32 {
            let v = match r {
                Rec::Empty => count,
                Rec::Node(n) => n,
                Rec::Data(off) => count + 16 + off,
            };
            u32::try_from(v).expect("tiny test trees")
        };
        let mut out = Vec::new();
        for [left, right] in &self.nodes {
            out.extend_from_slice(&value(*left).to_be_bytes()[1..]);
            out.extend_from_slice(&value(*right).to_be_bytes()[1..]);
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        map_header(&mut out, 9);
        string(&mut out, "binary_format_major_version");
        uint(&mut out, 5, 2);
        string(&mut out, "binary_format_minor_version");
        uint(&mut out, 5, 0);
        string(&mut out, "build_epoch");
        uint(&mut out, 9, 1_700_000_000);
        string(&mut out, "database_type");
        string(&mut out, "BridgeScout-Test-ASN");
        string(&mut out, "description");
        map_header(&mut out, 1);
        string(&mut out, "en");
        string(&mut out, "test database");
        string(&mut out, "ip_version");
        uint(&mut out, 5, u64::from(self.ip_version));
        string(&mut out, "languages");
        control(&mut out, 11, 1);
        string(&mut out, "en");
        string(&mut out, "node_count");
        uint(&mut out, 6, count as u64);
        string(&mut out, "record_size");
        uint(&mut out, 5, 24);
        out
    }
}

/// Control byte(s): type in the top three bits (0 plus an extra byte for
/// extended types), size in the low five with 29/30/31 escapes.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else if size < 65_821 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    if kind <= 7 {
        out.push((kind << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

fn map_header(out: &mut Vec<u8>, pairs: usize) {
    control(out, 7, pairs);
}

fn string(out: &mut Vec<u8>, s: &str) {
    control(out, 2, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Unsigned integer of MMDB type `kind` (5 = u16, 6 = u32, 9 = u64) in the
/// fewest big-endian bytes.
fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}
