//! DNS stamps (`sdns://…`), as specified at
//! <https://dnscrypt.info/stamps-specifications>.
//!
//! DoH, DoT and DoQ stamps are decoded completely; every other kind is only
//! identified, so the caller can say what it skipped.
//!
//! Choices made where the specification leaves room:
//!
//! * **Bootstrap addresses.** A stamp's `bootstrap_ip` list names *plain DNS
//!   resolvers* to use for resolving the host name, not addresses of the
//!   server itself. [`Stamp::bootstrap`] keeps them as decoded, but
//!   [`Stamp::to_target`] does not put them in [`DnsResolver::bootstrap`]
//!   (which holds addresses *of the host*): connecting to, say, 1.1.1.1:443
//!   with another provider's name would fail TLS and look like interception.
//!   Only the IP in `addr` becomes a host address.
//! * **Ports.** A port written in the host name (`dns.example:8443`) wins;
//!   otherwise a port in `addr` (`192.0.2.1:8443`, `:8443`) is used;
//!   otherwise the protocol default (443 for DoH, 853 for DoT and DoQ).
//! * **Leniency.** Base64 with or without `=` padding is accepted, as is the
//!   standard `+`/`/` alphabet (people paste stamps through tools that
//!   convert). Empty items in a hash or bootstrap list are ignored; the
//!   specification writes "no hashes" as a single empty item. Bootstrap
//!   entries may carry a port, which is dropped (the list is informative).
//! * **Strictness.** Hashes must be 32 bytes, addresses must be IP
//!   literals (scoped IPv6 addresses are refused: they only make sense on one
//!   machine), and bytes after the last field are an error, so a corrupted
//!   stamp is reported instead of half-used.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{DnsResolver, Target};

/// Longest stamp text (after `sdns://`) we try to decode. Real stamps are
/// well under 1000 characters; the limit bounds work on hostile input.
pub const MAX_STAMP_LEN: usize = 4096;

const SCHEME: &str = "sdns://";

/// The protocol byte at the start of a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StampProtocol {
    Plain,
    DnsCrypt,
    Doh,
    Dot,
    Doq,
    OdohTarget,
    DnsCryptRelay,
    OdohRelay,
}

impl StampProtocol {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0x00 => Self::Plain,
            0x01 => Self::DnsCrypt,
            0x02 => Self::Doh,
            0x03 => Self::Dot,
            0x04 => Self::Doq,
            0x05 => Self::OdohTarget,
            0x81 => Self::DnsCryptRelay,
            0x85 => Self::OdohRelay,
            _ => return None,
        })
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Self::Plain => 0x00,
            Self::DnsCrypt => 0x01,
            Self::Doh => 0x02,
            Self::Dot => 0x03,
            Self::Doq => 0x04,
            Self::OdohTarget => 0x05,
            Self::DnsCryptRelay => 0x81,
            Self::OdohRelay => 0x85,
        }
    }

    /// Human name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain DNS",
            Self::DnsCrypt => "DNSCrypt",
            Self::Doh => "DoH",
            Self::Dot => "DoT",
            Self::Doq => "DoQ",
            Self::OdohTarget => "ODoH target",
            Self::DnsCryptRelay => "anonymized DNSCrypt relay",
            Self::OdohRelay => "ODoH relay",
        }
    }

    /// Port used when neither the host name nor `addr` gives one.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Plain => 53,
            Self::Dot | Self::Doq => 853,
            _ => 443,
        }
    }
}

impl fmt::Display for StampProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The informal properties a stamp claims about its resolver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StampProps {
    pub dnssec: bool,
    pub no_logs: bool,
    pub no_filter: bool,
}

impl StampProps {
    /// Undefined bits are ignored, as the specification requires.
    pub fn from_bits(bits: u64) -> Self {
        StampProps {
            dnssec: bits & 1 != 0,
            no_logs: bits & 2 != 0,
            no_filter: bits & 4 != 0,
        }
    }

    pub fn to_bits(self) -> u64 {
        u64::from(self.dnssec) | (u64::from(self.no_logs) << 1) | (u64::from(self.no_filter) << 2)
    }
}

/// The stamp's `addr` field: an IP, an IP with a port, or only a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampAddr {
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
}

impl fmt::Display for StampAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (Some(IpAddr::V4(ip)), None) => write!(f, "{ip}"),
            (Some(IpAddr::V4(ip)), Some(port)) => write!(f, "{ip}:{port}"),
            (Some(IpAddr::V6(ip)), None) => write!(f, "[{ip}]"),
            (Some(IpAddr::V6(ip)), Some(port)) => write!(f, "[{ip}]:{port}"),
            (None, Some(port)) => write!(f, ":{port}"),
            (None, None) => Ok(()),
        }
    }
}

/// A decoded DoH, DoT or DoQ stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub protocol: StampProtocol,
    pub props: StampProps,
    /// `None` when the stamp leaves the address empty.
    pub addr: Option<StampAddr>,
    /// SHA-256 of the TBS part of one certificate in the chain.
    pub hashes: Vec<[u8; 32]>,
    /// Host name without port; IPv6 literals without brackets.
    pub hostname: String,
    /// Port written in the host name field, if any.
    pub port: Option<u16>,
    /// DoH only (`None` for DoT and DoQ). May be empty as decoded.
    pub path: Option<String>,
    /// Plain DNS resolvers recommended for resolving `hostname` (not
    /// addresses of the server; see the module documentation).
    pub bootstrap: Vec<IpAddr>,
}

impl Stamp {
    /// The port to connect to: host name port, else `addr` port, else the
    /// protocol default.
    pub fn effective_port(&self) -> u16 {
        self.port
            .or(self.addr.and_then(|a| a.port))
            .unwrap_or_else(|| self.protocol.default_port())
    }

    /// The endpoint this stamp describes, when it is one we test.
    pub fn to_target(&self) -> Result<Target, StampError> {
        if !matches!(self.protocol, StampProtocol::Doh | StampProtocol::Dot) {
            return Err(StampError::Unsupported(self.protocol));
        }
        let host = super::resolver_line::normalize_host(&self.hostname).map_err(|reason| {
            StampError::BadHostname {
                value: self.hostname.clone(),
                reason,
            }
        })?;
        let resolver = DnsResolver {
            host,
            port: self.effective_port(),
            path: match self.path.as_deref() {
                Some(p) if !p.is_empty() => p.to_string(),
                _ => "/dns-query".to_string(),
            },
            bootstrap: self.addr.and_then(|a| a.ip).into_iter().collect(),
            pins: self.hashes.clone(),
            bootstrap_resolvers: self.bootstrap.clone(),
        };
        Ok(match self.protocol {
            StampProtocol::Doh => Target::Doh(resolver),
            _ => Target::Dot(DnsResolver {
                path: String::new(),
                ..resolver
            }),
        })
    }
}

impl TryFrom<&Stamp> for Target {
    type Error = StampError;

    fn try_from(stamp: &Stamp) -> Result<Self, Self::Error> {
        stamp.to_target()
    }
}

/// Why a stamp could not be decoded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    #[error("not a DNS stamp: it must start with sdns://")]
    NotAStamp,
    #[error("the DNS stamp is empty after sdns://")]
    Empty,
    #[error("the DNS stamp is {len} characters long; at most {MAX_STAMP_LEN} are accepted")]
    TooLong { len: usize },
    #[error("the DNS stamp is not valid base64url: {0}")]
    BadBase64(String),
    #[error("the DNS stamp is truncated: it ends inside the {field}")]
    Truncated { field: &'static str },
    #[error("unknown DNS stamp protocol byte 0x{0:02x}")]
    UnknownProtocol(u8),
    #[error("unsupported stamp protocol: {0} (only DoH and DoT are tested)")]
    Unsupported(StampProtocol),
    #[error(
        "certificate hash #{index} is {len} bytes long; stamp hashes must be 32-byte SHA-256 digests"
    )]
    BadHashLength { index: usize, len: usize },
    #[error("bad {field} {value:?}: {reason}")]
    BadAddress {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("bad host name {value:?}: {reason}")]
    BadHostname { value: String, reason: String },
    #[error("bad path {value:?}: {reason}")]
    BadPath { value: String, reason: String },
    #[error("the {field} is not valid UTF-8")]
    NotUtf8 { field: &'static str },
    #[error("{count} unexpected byte(s) after the last field")]
    TrailingBytes { count: usize },
}

const F_PROTOCOL: &str = "protocol byte";
const F_PROPS: &str = "properties";
const F_ADDR: &str = "server address";
const F_HASHES: &str = "certificate hashes";
const F_HOST: &str = "host name";
const F_PATH: &str = "path";
const F_BOOTSTRAP: &str = "bootstrap resolver list";

/// Decodes `sdns://…`. Stamps of kinds other than DoH, DoT and DoQ yield
/// [`StampError::Unsupported`] naming the kind.
pub fn decode(s: &str) -> Result<Stamp, StampError> {
    let s = s.trim();
    let body = match s.get(..SCHEME.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(SCHEME) => s.get(SCHEME.len()..).unwrap_or(""),
        _ => return Err(StampError::NotAStamp),
    };
    // Padding is optional; any amount of it is ignored.
    let body = body.trim_end_matches('=');
    if body.is_empty() {
        return Err(StampError::Empty);
    }
    if body.len() > MAX_STAMP_LEN {
        return Err(StampError::TooLong { len: body.len() });
    }
    // Accept the standard alphabet too: map it onto the URL-safe one.
    let body: String = body
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let lenient = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = lenient
        .decode(body.as_bytes())
        .map_err(|e| StampError::BadBase64(e.to_string()))?;
    decode_bytes(&bytes)
}

fn decode_bytes(bytes: &[u8]) -> Result<Stamp, StampError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let byte = r.byte(F_PROTOCOL)?;
    let protocol = StampProtocol::from_byte(byte).ok_or(StampError::UnknownProtocol(byte))?;
    if !matches!(
        protocol,
        StampProtocol::Doh | StampProtocol::Dot | StampProtocol::Doq
    ) {
        return Err(StampError::Unsupported(protocol));
    }

    let props_bytes: [u8; 8] = r
        .take(8, F_PROPS)?
        .try_into()
        .map_err(|_| StampError::Truncated { field: F_PROPS })?;
    let props = StampProps::from_bits(u64::from_le_bytes(props_bytes));

    let addr_text = utf8(r.lp(F_ADDR)?, F_ADDR)?;
    let addr = if addr_text.is_empty() {
        None
    } else {
        Some(parse_addr(addr_text, F_ADDR)?)
    };

    let mut hashes = Vec::new();
    for item in r.vlp(F_HASHES)? {
        if item.is_empty() {
            continue;
        }
        let hash: [u8; 32] = item.try_into().map_err(|_| StampError::BadHashLength {
            index: hashes.len() + 1,
            len: item.len(),
        })?;
        hashes.push(hash);
    }

    let host_text = utf8(r.lp(F_HOST)?, F_HOST)?;
    let (hostname, port) = split_host_port(host_text)?;

    let path = if protocol == StampProtocol::Doh {
        let p = utf8(r.lp(F_PATH)?, F_PATH)?;
        check_path(p)?;
        Some(p.to_string())
    } else {
        None
    };

    let mut bootstrap = Vec::new();
    if !r.is_empty() {
        for item in r.vlp(F_BOOTSTRAP)? {
            if item.is_empty() {
                continue;
            }
            let text = utf8(item, F_BOOTSTRAP)?;
            let a = parse_addr(text, "bootstrap resolver")?;
            match a.ip {
                Some(ip) => bootstrap.push(ip),
                None => {
                    return Err(StampError::BadAddress {
                        field: "bootstrap resolver",
                        value: text.to_string(),
                        reason: "a port alone is not an address".to_string(),
                    });
                }
            }
        }
    }
    if !r.is_empty() {
        return Err(StampError::TrailingBytes {
            count: r.remaining(),
        });
    }

    Ok(Stamp {
        protocol,
        props,
        addr,
        hashes,
        hostname,
        port,
        path,
        bootstrap,
    })
}

/// Encodes `stamp` in the layout of its protocol.
///
/// Fields longer than a length byte allows (255 bytes) are cut at a
/// character boundary: valid host names and paths never are. For DNSCrypt,
/// which needs a public key this struct does not carry, an empty key is
/// written and `hostname` is used as the provider name; such stamps are
/// only good for testing that DNSCrypt stamps get skipped.
pub fn encode(stamp: &Stamp) -> String {
    let mut out = vec![stamp.protocol.to_byte()];
    let props = stamp.props.to_bits().to_le_bytes();
    let addr = stamp.addr.map(|a| a.to_string()).unwrap_or_default();
    let host = host_with_port(&stamp.hostname, stamp.port);
    let path = stamp.path.as_deref().unwrap_or("");
    match stamp.protocol {
        StampProtocol::Plain => {
            out.extend_from_slice(&props);
            push_lp(&mut out, &addr);
        }
        StampProtocol::DnsCrypt => {
            out.extend_from_slice(&props);
            push_lp(&mut out, &addr);
            push_lp(&mut out, "");
            push_lp(&mut out, &stamp.hostname);
        }
        StampProtocol::Doh | StampProtocol::OdohRelay => {
            out.extend_from_slice(&props);
            push_lp(&mut out, &addr);
            push_hashes(&mut out, &stamp.hashes);
            push_lp(&mut out, &host);
            push_lp(&mut out, path);
            push_bootstrap(&mut out, &stamp.bootstrap);
        }
        StampProtocol::Dot | StampProtocol::Doq => {
            out.extend_from_slice(&props);
            push_lp(&mut out, &addr);
            push_hashes(&mut out, &stamp.hashes);
            push_lp(&mut out, &host);
            push_bootstrap(&mut out, &stamp.bootstrap);
        }
        StampProtocol::OdohTarget => {
            out.extend_from_slice(&props);
            push_lp(&mut out, &host);
            push_lp(&mut out, path);
        }
        StampProtocol::DnsCryptRelay => push_lp(&mut out, &addr),
    }
    format!("{SCHEME}{}", URL_SAFE_NO_PAD.encode(out))
}

fn host_with_port(host: &str, port: Option<u16>) -> String {
    let bracket = host.contains(':') && !host.starts_with('[');
    match (bracket, port) {
        (true, Some(p)) => format!("[{host}]:{p}"),
        (true, None) => format!("[{host}]"),
        (false, Some(p)) => format!("{host}:{p}"),
        (false, None) => host.to_string(),
    }
}

/// Longest prefix of `s` that fits in `max` bytes without splitting a char.
fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn push_lp(out: &mut Vec<u8>, s: &str) {
    let s = clip(s, 255);
    out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(s.as_bytes());
}

fn push_hashes(out: &mut Vec<u8>, hashes: &[[u8; 32]]) {
    if hashes.is_empty() {
        out.push(0);
        return;
    }
    for (i, h) in hashes.iter().enumerate() {
        let more = if i + 1 < hashes.len() { 0x80 } else { 0 };
        out.push(32 | more);
        out.extend_from_slice(h);
    }
}

fn push_bootstrap(out: &mut Vec<u8>, ips: &[IpAddr]) {
    for (i, ip) in ips.iter().enumerate() {
        let text = StampAddr {
            ip: Some(*ip),
            port: None,
        }
        .to_string();
        let text = clip(&text, 0x7f);
        let more = if i + 1 < ips.len() { 0x80 } else { 0 };
        out.push(u8::try_from(text.len()).unwrap_or(0x7f) | more);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Bounds-checked cursor over the decoded payload.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, StampError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(StampError::Truncated { field })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], StampError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(StampError::Truncated { field })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(StampError::Truncated { field })?;
        self.pos = end;
        Ok(s)
    }

    fn lp(&mut self, field: &'static str) -> Result<&'a [u8], StampError> {
        let n = self.byte(field)?;
        self.take(usize::from(n), field)
    }

    /// A set whose length bytes carry 0x80 while more items follow.
    fn vlp(&mut self, field: &'static str) -> Result<Vec<&'a [u8]>, StampError> {
        let mut items = Vec::new();
        loop {
            let n = self.byte(field)?;
            items.push(self.take(usize::from(n & 0x7f), field)?);
            if n & 0x80 == 0 {
                return Ok(items);
            }
        }
    }
}

fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, StampError> {
    std::str::from_utf8(bytes).map_err(|_| StampError::NotUtf8 { field })
}

fn bad_addr(field: &'static str, value: &str, reason: impl Into<String>) -> StampError {
    StampError::BadAddress {
        field,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() {
        return Err("the port is empty".to_string());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {s:?} is not a number"));
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {s} is out of range (1-65535)")),
        Ok(p) => Ok(p),
    }
}

/// `addr` forms: `192.0.2.1`, `192.0.2.1:853`, `[2001:db8::1]`,
/// `[2001:db8::1]:853`, `:853`, and (leniently) a bare IPv6 literal.
fn parse_addr(text: &str, field: &'static str) -> Result<StampAddr, StampError> {
    if let Some(port) = text.strip_prefix(':') {
        let port = parse_port(port).map_err(|r| bad_addr(field, text, r))?;
        return Ok(StampAddr {
            ip: None,
            port: Some(port),
        });
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| bad_addr(field, text, "missing ] after the IPv6 address"))?;
        if inner.contains('%') {
            return Err(bad_addr(
                field,
                text,
                "scoped IPv6 addresses (with %) are not supported",
            ));
        }
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| bad_addr(field, text, "not a valid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(parse_port(p).map_err(|r| bad_addr(field, text, r))?),
                None => return Err(bad_addr(field, text, "unexpected text after ]")),
            },
        };
        return Ok(StampAddr {
            ip: Some(IpAddr::V6(ip)),
            port,
        });
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(StampAddr {
            ip: Some(ip),
            port: None,
        });
    }
    if let Some((ip, port)) = text.rsplit_once(':')
        && let Ok(ip) = ip.parse::<Ipv4Addr>()
    {
        let port = parse_port(port).map_err(|r| bad_addr(field, text, r))?;
        return Ok(StampAddr {
            ip: Some(IpAddr::V4(ip)),
            port: Some(port),
        });
    }
    Err(bad_addr(field, text, "not an IP address"))
}

fn bad_host(value: &str, reason: impl Into<String>) -> StampError {
    StampError::BadHostname {
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Splits the host name field into host and optional port. Only checks
/// what would make the split ambiguous; [`Stamp::to_target`] validates the
/// host fully (it may legitimately be non-ASCII in a stamp).
fn split_host_port(text: &str) -> Result<(String, Option<u16>), StampError> {
    if text.is_empty() {
        return Err(bad_host(text, "the host name is empty"));
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "/?#@\\%".contains(*c))
    {
        return Err(bad_host(text, format!("it contains {c:?}")));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| bad_host(text, "missing ] after the IPv6 address"))?;
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| bad_host(text, "not a valid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(parse_port(p).map_err(|r| bad_host(text, r))?),
                None => return Err(bad_host(text, "unexpected text after ]")),
            },
        };
        return Ok((ip.to_string(), port));
    }
    match text.matches(':').count() {
        0 => Ok((text.to_string(), None)),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            if host.is_empty() {
                return Err(bad_host(text, "the host name is empty"));
            }
            let port = parse_port(port).map_err(|r| bad_host(text, r))?;
            Ok((host.to_string(), Some(port)))
        }
        _ => match text.parse::<Ipv6Addr>() {
            Ok(ip) => Ok((ip.to_string(), None)),
            Err(_) => Err(bad_host(text, "too many colons")),
        },
    }
}

fn check_path(p: &str) -> Result<(), StampError> {
    let bad = |reason: &str| StampError::BadPath {
        value: p.to_string(),
        reason: reason.to_string(),
    };
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(bad("it must start with /"));
    }
    if p.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("it contains spaces or control characters"));
    }
    if p.contains('#') {
        return Err(bad("it contains a fragment (#)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cloudflare, from dnscrypt-resolvers v3/public-resolvers.md.
    const CLOUDFLARE: &str =
        "sdns://AgcAAAAAAAAABzEuMC4wLjEAEmRucy5jbG91ZGZsYXJlLmNvbQovZG5zLXF1ZXJ5";
    /// Cloudflare over IPv6 (same list): bracketed IPv6 `addr`.
    const CLOUDFLARE_V6: &str = "sdns://AgcAAAAAAAAAFlsyNjA2OjQ3MDA6NDcwMDo6MTExMV0AIDFkb3QxZG90MWRvdDEuY2xvdWRmbGFyZS1kbnMuY29tCi9kbnMtcXVlcnk";
    /// a-and-a (same list): two certificate hashes.
    const A_AND_A: &str = "sdns://AgcAAAAAAAAADTIxNy4xNjkuMjAuMjOgzBBg05yDKbYrb7x9DW35MJhpuYHn5jktXNj6QI9NgOYgRE69Z7uD-IB7OSHpOKyReLiCvVCq2xEjHwRM9fCN984NZG5zLmFhLm5ldC51awovZG5zLXF1ZXJ5";
    /// bortzmeyer (same list): path is just `/`.
    const BORTZMEYER: &str = "sdns://AgcAAAAAAAAADDE5My43MC44NS4xMaDMEGDTnIMptitvvH0NbfkwmGm5gefmOS1c2PpAj02A5iBETr1nu4P4gHs5Iek4rJF4uIK9UKrbESMfBEz18I33zhFkb2guYm9ydHptZXllci5mcgEv";
    /// Quad9 (a published older stamp): host name carries `:443`.
    const QUAD9: &str = "sdns://AgMAAAAAAAAABzkuOS45LjkgKhX11qy258CQGt5Ou8dDsszUiQMrRuFkLwaTaDABJYoSZG5zOS5xdWFkOS5uZXQ6NDQzCi9kbnMtcXVlcnk";
    /// acsacsar-ams-ipv4 (public-resolvers.md): DNSCrypt.
    const DNSCRYPT: &str = "sdns://AQcAAAAAAAAADTUxLjE1OC4xNjYuOTcgAyfzz5J-mV9G-yOB4Hwcdk7yX12EQs5Iva7kV3oGtlEgMi5kbnNjcnlwdC1jZXJ0LmFjc2Fjc2FyLWFtcy5jb20";
    /// Plain DNS stamp from the python-dnsstamps documentation.
    const PLAIN: &str = "sdns://AAEAAAAAAAAACTEyNy4wLjAuMQ";
    /// A DoT "test" stamp from YourFriendlyDNS with 15- and 16-byte fake
    /// hashes: must be refused.
    const FAKE_HASH_DOT: &str = "sdns://AwcAAAAAAAAACzEuMS4xLjE6ODUzj6qqqqqqqqqqqqqqqqqqqhC7u7u7u7u7u7u7u7u7u7u7FmNsb3VkZmxhcmUtZG5zLmNvbTo4NTMA";

    fn raw(bytes: &[u8]) -> String {
        format!("sdns://{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn payload(stamp: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(stamp.strip_prefix("sdns://").unwrap())
            .unwrap()
    }

    fn dot_google() -> Stamp {
        Stamp {
            protocol: StampProtocol::Dot,
            props: StampProps {
                dnssec: true,
                no_logs: false,
                no_filter: true,
            },
            addr: Some(StampAddr {
                ip: Some("8.8.8.8".parse().unwrap()),
                port: None,
            }),
            hashes: vec![],
            hostname: "dns.google".into(),
            port: None,
            path: None,
            bootstrap: vec![],
        }
    }

    #[test]
    fn cloudflare_doh() {
        let s = decode(CLOUDFLARE).unwrap();
        assert_eq!(s.protocol, StampProtocol::Doh);
        assert_eq!(
            s.props,
            StampProps {
                dnssec: true,
                no_logs: true,
                no_filter: true
            }
        );
        assert_eq!(
            s.addr,
            Some(StampAddr {
                ip: Some("1.0.0.1".parse().unwrap()),
                port: None
            })
        );
        assert!(s.hashes.is_empty());
        assert_eq!(s.hostname, "dns.cloudflare.com");
        assert_eq!(s.port, None);
        assert_eq!(s.path.as_deref(), Some("/dns-query"));
        assert!(s.bootstrap.is_empty());
        assert_eq!(
            s.to_target().unwrap(),
            Target::Doh(DnsResolver {
                host: "dns.cloudflare.com".into(),
                port: 443,
                path: "/dns-query".into(),
                bootstrap: vec!["1.0.0.1".parse().unwrap()],
                pins: vec![],
                bootstrap_resolvers: Vec::new(),
            })
        );
        assert_eq!(encode(&s), CLOUDFLARE);
    }

    #[test]
    fn real_doh_stamps_round_trip() {
        for stamp in [CLOUDFLARE, CLOUDFLARE_V6, A_AND_A, BORTZMEYER, QUAD9] {
            let s = decode(stamp).unwrap();
            assert_eq!(encode(&s), stamp, "{stamp}");
            s.to_target().unwrap();
        }
    }

    #[test]
    fn ipv6_addr_and_two_hashes() {
        let s = decode(CLOUDFLARE_V6).unwrap();
        assert_eq!(
            s.addr.unwrap().ip,
            Some("2606:4700:4700::1111".parse().unwrap())
        );
        assert_eq!(s.hostname, "1dot1dot1dot1.cloudflare-dns.com");

        let s = decode(A_AND_A).unwrap();
        assert_eq!(s.hashes.len(), 2);
        assert_eq!(s.hashes[0][..2], [0xcc, 0x10]);
        assert_eq!(s.hostname, "dns.aa.net.uk");
        let Target::Doh(r) = s.to_target().unwrap() else {
            panic!("not DoH")
        };
        assert_eq!(r.pins, s.hashes);
    }

    #[test]
    fn hostname_port_and_root_path() {
        let s = decode(QUAD9).unwrap();
        assert_eq!(s.hostname, "dns9.quad9.net");
        assert_eq!(s.port, Some(443));
        assert_eq!(s.hashes.len(), 1);
        assert_eq!(s.effective_port(), 443);

        let s = decode(BORTZMEYER).unwrap();
        assert_eq!(s.path.as_deref(), Some("/"));
        let Target::Doh(r) = s.to_target().unwrap() else {
            panic!("not DoH")
        };
        assert_eq!(r.path, "/");
    }

    #[test]
    fn other_protocols_are_named() {
        let e = decode(DNSCRYPT).unwrap_err();
        assert_eq!(e, StampError::Unsupported(StampProtocol::DnsCrypt));
        assert_eq!(
            e.to_string(),
            "unsupported stamp protocol: DNSCrypt (only DoH and DoT are tested)"
        );
        assert_eq!(
            decode(PLAIN).unwrap_err(),
            StampError::Unsupported(StampProtocol::Plain)
        );
        for (byte, p) in [
            (0x05, StampProtocol::OdohTarget),
            (0x81, StampProtocol::DnsCryptRelay),
            (0x85, StampProtocol::OdohRelay),
        ] {
            assert_eq!(
                decode(&raw(&[byte, 0, 0, 0])).unwrap_err(),
                StampError::Unsupported(p)
            );
        }
        assert_eq!(
            decode(&raw(&[0x42, 1, 2])).unwrap_err(),
            StampError::UnknownProtocol(0x42)
        );
    }

    #[test]
    fn doq_decodes_but_is_not_a_target() {
        let s = Stamp {
            protocol: StampProtocol::Doq,
            ..dot_google()
        };
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.effective_port(), 853);
        assert_eq!(
            back.to_target().unwrap_err(),
            StampError::Unsupported(StampProtocol::Doq)
        );
    }

    #[test]
    fn dot_round_trip_and_target() {
        let s = dot_google();
        let text = encode(&s);
        assert_eq!(decode(&text).unwrap(), s);
        assert_eq!(
            Target::try_from(&s).unwrap(),
            Target::Dot(DnsResolver {
                host: "dns.google".into(),
                port: 853,
                path: String::new(),
                bootstrap: vec!["8.8.8.8".parse().unwrap()],
                pins: vec![],
                bootstrap_resolvers: Vec::new(),
            })
        );
    }

    #[test]
    fn port_precedence() {
        let mut s = dot_google();
        s.addr = Some(StampAddr {
            ip: Some("192.0.2.1".parse().unwrap()),
            port: Some(8853),
        });
        assert_eq!(s.effective_port(), 8853);
        s.port = Some(9953);
        assert_eq!(s.effective_port(), 9953);
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back, s);

        // `addr` may be only a port.
        s.addr = Some(StampAddr {
            ip: None,
            port: Some(5353),
        });
        s.port = None;
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back.effective_port(), 5353);
        let Target::Dot(r) = back.to_target().unwrap() else {
            panic!("not DoT")
        };
        assert!(r.bootstrap.is_empty());
    }

    #[test]
    fn bootstrap_resolvers_are_kept_but_not_used_as_host_addresses() {
        let mut s = dot_google();
        s.bootstrap = vec!["9.9.9.9".parse().unwrap(), "2620:fe::fe".parse().unwrap()];
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back.bootstrap, s.bootstrap);
        let Target::Dot(r) = back.to_target().unwrap() else {
            panic!("not DoT")
        };
        assert_eq!(r.bootstrap, vec!["8.8.8.8".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn bootstrap_entry_with_port_and_empty_list() {
        // DoT, no addr, no hashes, host "a.example", bootstrap
        // "[2001:db8::1]:53" then "192.0.2.53".
        let mut p = vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        p.extend_from_slice(b"a.example");
        p.push(0x80 | 16);
        p.extend_from_slice(b"[2001:db8::1]:53");
        p.push(10);
        p.extend_from_slice(b"192.0.2.53");
        let s = decode(&raw(&p)).unwrap();
        assert_eq!(
            s.bootstrap,
            vec![
                "2001:db8::1".parse::<IpAddr>().unwrap(),
                "192.0.2.53".parse().unwrap()
            ]
        );
        // A single empty item means "none".
        let mut p = vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        p.extend_from_slice(b"a.example");
        p.push(0);
        assert!(decode(&raw(&p)).unwrap().bootstrap.is_empty());
    }

    #[test]
    fn padding_and_standard_alphabet_accepted() {
        let padded = format!("{}==", A_AND_A);
        assert_eq!(decode(&padded).unwrap(), decode(A_AND_A).unwrap());
        let standard = A_AND_A.replace('-', "+").replace('_', "/");
        assert_eq!(decode(&standard).unwrap(), decode(A_AND_A).unwrap());
        let upper = CLOUDFLARE.replacen("sdns", "SDNS", 1);
        assert!(decode(&upper).is_ok());
        assert!(decode(&format!("  {CLOUDFLARE}\n")).is_ok());
    }

    #[test]
    fn wrong_hash_length_is_refused() {
        let e = decode(FAKE_HASH_DOT).unwrap_err();
        assert_eq!(e, StampError::BadHashLength { index: 1, len: 15 });
        assert!(e.to_string().contains("32-byte SHA-256"), "{e}");
    }

    #[test]
    fn envelope_errors() {
        assert_eq!(
            decode("https://dns.google").unwrap_err(),
            StampError::NotAStamp
        );
        assert_eq!(decode("sdns").unwrap_err(), StampError::NotAStamp);
        assert_eq!(decode("").unwrap_err(), StampError::NotAStamp);
        assert_eq!(decode("sdns://").unwrap_err(), StampError::Empty);
        assert_eq!(decode("sdns://==").unwrap_err(), StampError::Empty);
        assert!(matches!(
            decode("sdns://!!!!").unwrap_err(),
            StampError::BadBase64(_)
        ));
        assert!(matches!(
            decode("sdns://A").unwrap_err(),
            StampError::BadBase64(_)
        ));
        let huge = format!("sdns://{}", "A".repeat(MAX_STAMP_LEN + 1));
        assert_eq!(
            decode(&huge).unwrap_err(),
            StampError::TooLong {
                len: MAX_STAMP_LEN + 1
            }
        );
        // Multi-byte characters must not trip slicing.
        assert_eq!(decode("sdnsé//x").unwrap_err(), StampError::NotAStamp);
        assert!(decode("sdns://ééé").is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        for stamp in [CLOUDFLARE, A_AND_A, QUAD9] {
            let full = payload(stamp);
            for cut in 0..full.len() {
                let e = decode(&raw(&full[..cut]));
                assert!(e.is_err(), "{stamp} cut at {cut} decoded");
            }
        }
        let full = payload(CLOUDFLARE);
        assert_eq!(
            decode(&raw(&full[..5])).unwrap_err(),
            StampError::Truncated {
                field: "properties"
            }
        );
        assert_eq!(
            decode(&raw(&full[..12])).unwrap_err(),
            StampError::Truncated {
                field: "server address"
            }
        );
        assert_eq!(
            decode(&raw(&full[..full.len() - 3])).unwrap_err(),
            StampError::Truncated { field: "path" }
        );
        assert!(
            decode(&raw(&full[..5]))
                .unwrap_err()
                .to_string()
                .contains("ends inside the properties")
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut p = payload(CLOUDFLARE);
        p.push(0); // empty bootstrap list: fine
        assert!(decode(&raw(&p)).is_ok());
        p.push(7);
        assert_eq!(
            decode(&raw(&p)).unwrap_err(),
            StampError::TrailingBytes { count: 1 }
        );
    }

    #[test]
    fn bad_fields() {
        let doh = |addr: &[u8], host: &[u8], path: &[u8]| {
            let mut p = vec![0x02, 0, 0, 0, 0, 0, 0, 0, 0];
            p.push(addr.len() as u8);
            p.extend_from_slice(addr);
            p.push(0);
            p.push(host.len() as u8);
            p.extend_from_slice(host);
            p.push(path.len() as u8);
            p.extend_from_slice(path);
            decode(&raw(&p))
        };
        assert!(doh(b"", b"dns.example", b"/q").is_ok());
        for addr in [
            &b"dns.example"[..],
            b"1.2.3",
            b"1.2.3.4:0",
            b"1.2.3.4:99999",
            b"1.2.3.4:x",
            b"[::1",
            b"[nope]:53",
            b"[fe80::1%eth0]",
            b"[::1]x",
            b":",
        ] {
            let e = doh(addr, b"dns.example", b"/q").unwrap_err();
            assert!(
                matches!(e, StampError::BadAddress { .. }),
                "{addr:?}: {e:?}"
            );
        }
        assert!(
            doh(b"[fe80::1%eth0]", b"dns.example", b"/q")
                .unwrap_err()
                .to_string()
                .contains("scoped")
        );
        for host in [
            &b""[..],
            b"dns example",
            b"dns.example/x",
            b"a:b:c",
            b":443",
            b"dns.example:0",
            b"[::1]:x",
        ] {
            let e = doh(b"", host, b"/q").unwrap_err();
            assert!(
                matches!(e, StampError::BadHostname { .. }),
                "{host:?}: {e:?}"
            );
        }
        for path in [&b"dns-query"[..], b"/a b", b"/x#y"] {
            let e = doh(b"", b"dns.example", path).unwrap_err();
            assert!(matches!(e, StampError::BadPath { .. }), "{path:?}: {e:?}");
        }
        assert_eq!(
            doh(b"", b"dns.\xff", b"/q").unwrap_err(),
            StampError::NotUtf8 { field: "host name" }
        );
        // IPv6 host names, bracketed or bare.
        let s = doh(b"", b"[2001:db8::1]:8443", b"/q").unwrap();
        assert_eq!((s.hostname.as_str(), s.port), ("2001:db8::1", Some(8443)));
        let s = doh(b"", b"2001:db8::1", b"").unwrap();
        assert_eq!((s.hostname.as_str(), s.port), ("2001:db8::1", None));
        let Target::Doh(r) = s.to_target().unwrap() else {
            panic!("not DoH")
        };
        assert_eq!(r.path, "/dns-query");
        assert_eq!(decode(&encode(&s)).unwrap(), s);
    }

    #[test]
    fn non_ascii_host_decodes_but_is_not_a_target() {
        let mut s = dot_google();
        s.hostname = "dns.exämple".into();
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back.hostname, "dns.exämple");
        assert!(matches!(
            back.to_target().unwrap_err(),
            StampError::BadHostname { .. }
        ));
    }

    #[test]
    fn props_bits() {
        for bits in 0..8u64 {
            assert_eq!(StampProps::from_bits(bits).to_bits(), bits);
        }
        assert_eq!(StampProps::from_bits(0xff00).to_bits(), 0);
    }

    #[test]
    fn published_broken_test_vector_is_rejected() {
        // Test vector 3 of draft-denis-dns-stamps: its length bytes do not
        // match its contents.
        assert!(
            decode("sdns://AwYAAAAAAAAACTE5Mi4wLjIuMQAPZG90LmV4YW1wbGUuY29tCwwxOTguNTEuMTAwLjELMjAzLjAuMTEzLjE")
                .is_err()
        );
    }

    #[test]
    fn garbage_never_panics() {
        // Deterministic xorshift so failures reproduce.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..4000 {
            let len = (next() % 80) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Bias towards the protocols we parse so the deep paths run.
            if let Some(first) = p.first_mut() {
                *first = [0x02, 0x03, 0x04, *first][round % 4];
            }
            let _ = decode(&raw(&p));
        }
        // Every single-byte corruption of real stamps.
        for stamp in [CLOUDFLARE, A_AND_A, QUAD9] {
            let full = payload(stamp);
            for i in 0..full.len() {
                for v in [0x00, 0x01, 0x20, 0x7f, 0x80, 0xa0, 0xff] {
                    let mut p = full.clone();
                    p[i] = v;
                    if let Ok(s) = decode(&raw(&p)) {
                        let _ = s.to_target();
                        let _ = encode(&s);
                    }
                }
            }
        }
    }

    #[test]
    fn encode_clips_oversized_fields() {
        let mut s = dot_google();
        s.hostname = "é".repeat(200); // 400 bytes
        let text = encode(&s);
        // Decodes (to a clipped name) instead of producing garbage.
        let back = decode(&text).unwrap();
        assert_eq!(back.hostname.len(), 254);
    }
}
