//! wg-quick `.conf` files (and AmneziaWG's extra `[Interface]` keys): one
//! endpoint per `[Peer]` that has an `Endpoint`.

use std::net::IpAddr;

use super::secret::Secret;
use super::{Catalog, Origin};

/// AmneziaWG 1.x obfuscation parameters from `[Interface]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwgParams {
    /// Junk packets sent before the initiation: count and size range.
    pub jc: u16,
    pub jmin: u16,
    pub jmax: u16,
    /// Random bytes prepended to the initiation (S1) and response (S2).
    pub s1: u16,
    pub s2: u16,
    /// Message types replacing 1 (initiation), 2 (response), 3 (cookie), 4 (data).
    pub h: [u32; 4],
}

/// One peer of a wg-quick config, with the interface it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgPeer {
    /// File stem or the peer's comment, for labels.
    pub name: Option<String>,
    pub private_key: Secret<[u8; 32]>,
    pub peer_public: [u8; 32],
    pub preshared: Option<Secret<[u8; 32]>>,
    /// `Endpoint` host (name or IP literal, without brackets) and port.
    pub host: String,
    pub port: u16,
    /// `[Interface] Address` entries: address and prefix length.
    pub addresses: Vec<(IpAddr, u8)>,
    /// `[Interface] DNS` servers that are IP addresses (search domains dropped).
    pub dns: Vec<IpAddr>,
    /// Set when any AmneziaWG key is present.
    pub amnezia: Option<AwgParams>,
}

/// True when the text is a wg-quick config.
pub fn looks_like(text: &str) -> bool {
    let has = |section: &str| {
        text.lines()
            .any(|l| l.trim().eq_ignore_ascii_case(section))
    };
    has("[Interface]") && has("[Peer]")
}

/// Parses a whole config; errors carry 1-based line numbers.
pub fn parse(text: &str, source_name: &str, origin: Origin) -> Catalog {
    let _ = (text, origin);
    let mut c = Catalog::default();
    c.errors.push(super::ParseError {
        source_name: source_name.to_string(),
        line: 1,
        message: "WireGuard configs are not supported yet".into(),
    });
    c
}
