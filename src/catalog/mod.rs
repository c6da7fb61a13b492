//! The endpoint catalog: turns what users give us (files, pasted lines,
//! shipped lists) into typed endpoints. One file per input format; this
//! module only detects the format and collects per-line errors.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod bridge_line;
pub mod dnscrypt_md;
pub mod ike;
pub mod openvpn;
pub mod resolver_line;
pub mod secret;
pub mod shadowsocks;
pub mod share_link;
pub mod stamp;
pub mod tor_json;
pub mod torrc;
pub mod wireguard;

pub use secret::Secret;

/// What kind of way out an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// DNS over HTTPS (RFC 8484).
    Doh,
    /// DNS over TLS (RFC 7858).
    Dot,
    /// A vanilla Tor bridge (plain Tor link protocol).
    Tor,
    Obfs4,
    Webtunnel,
    Snowflake,
    Meek,
    Conjure,
    /// A bridge with a pluggable transport bridgescout does not know.
    OtherPt,
    Wireguard,
    /// WireGuard with AmneziaWG's junk packets and message types.
    Amneziawg,
    Openvpn,
    Ikev2,
    /// Shadowsocks, including Outline access keys.
    Shadowsocks,
    Vless,
    Vmess,
    Trojan,
    Hysteria2,
    Tuic,
}

impl EndpointKind {
    /// Every kind, for schema completeness checks.
    pub const ALL: [EndpointKind; 19] = [
        EndpointKind::Doh,
        EndpointKind::Dot,
        EndpointKind::Tor,
        EndpointKind::Obfs4,
        EndpointKind::Webtunnel,
        EndpointKind::Snowflake,
        EndpointKind::Meek,
        EndpointKind::Conjure,
        EndpointKind::OtherPt,
        EndpointKind::Wireguard,
        EndpointKind::Amneziawg,
        EndpointKind::Openvpn,
        EndpointKind::Ikev2,
        EndpointKind::Shadowsocks,
        EndpointKind::Vless,
        EndpointKind::Vmess,
        EndpointKind::Trojan,
        EndpointKind::Hysteria2,
        EndpointKind::Tuic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Doh => "doh",
            EndpointKind::Dot => "dot",
            EndpointKind::Tor => "tor",
            EndpointKind::Obfs4 => "obfs4",
            EndpointKind::Webtunnel => "webtunnel",
            EndpointKind::Snowflake => "snowflake",
            EndpointKind::Meek => "meek",
            EndpointKind::Conjure => "conjure",
            EndpointKind::OtherPt => "other_pt",
            EndpointKind::Wireguard => "wireguard",
            EndpointKind::Amneziawg => "amneziawg",
            EndpointKind::Openvpn => "openvpn",
            EndpointKind::Ikev2 => "ikev2",
            EndpointKind::Shadowsocks => "shadowsocks",
            EndpointKind::Vless => "vless",
            EndpointKind::Vmess => "vmess",
            EndpointKind::Trojan => "trojan",
            EndpointKind::Hysteria2 => "hysteria2",
            EndpointKind::Tuic => "tuic",
        }
    }

    /// Short human name, for tables.
    pub fn display_name(self) -> &'static str {
        match self {
            EndpointKind::Doh => "DoH",
            EndpointKind::Dot => "DoT",
            EndpointKind::Tor => "Tor",
            EndpointKind::Obfs4 => "obfs4",
            EndpointKind::Webtunnel => "webtunnel",
            EndpointKind::Snowflake => "snowflake",
            EndpointKind::Meek => "meek",
            EndpointKind::Conjure => "conjure",
            EndpointKind::OtherPt => "PT",
            EndpointKind::Wireguard => "WireGuard",
            EndpointKind::Amneziawg => "AmneziaWG",
            EndpointKind::Openvpn => "OpenVPN",
            EndpointKind::Ikev2 => "IKEv2",
            EndpointKind::Shadowsocks => "Shadowsocks",
            EndpointKind::Vless => "VLESS",
            EndpointKind::Vmess => "VMess",
            EndpointKind::Trojan => "Trojan",
            EndpointKind::Hysteria2 => "Hysteria2",
            EndpointKind::Tuic => "TUIC",
        }
    }

    /// Tor bridges of any transport.
    pub fn is_tor(self) -> bool {
        matches!(
            self,
            EndpointKind::Tor
                | EndpointKind::Obfs4
                | EndpointKind::Webtunnel
                | EndpointKind::Snowflake
                | EndpointKind::Meek
                | EndpointKind::Conjure
                | EndpointKind::OtherPt
        )
    }

    /// VPNs and proxies (everything that is neither a resolver nor Tor).
    pub fn is_vpn(self) -> bool {
        !self.is_tor() && !matches!(self, EndpointKind::Doh | EndpointKind::Dot)
    }

    /// Links whose login cannot be checked: the best result is
    /// `front_reachable`.
    pub fn is_front_only(self) -> bool {
        matches!(
            self,
            EndpointKind::Vless
                | EndpointKind::Vmess
                | EndpointKind::Trojan
                | EndpointKind::Hysteria2
                | EndpointKind::Tuic
        )
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who supplied the endpoint. Decides what exports may reveal: shipped
/// public endpoints may be named, user-supplied ones are secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Builtin,
    User,
}

/// A DNS-over-HTTPS or DNS-over-TLS resolver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsResolver {
    /// TLS server name and HTTP authority.
    pub host: String,
    pub port: u16,
    /// DoH only: the request path, starting with `/` (may carry a query).
    pub path: String,
    /// Known addresses for `host`, tried alongside the system resolver.
    pub bootstrap: Vec<IpAddr>,
    /// SHA-256 hashes of a certificate's TBS part; one must match somewhere
    /// in the presented chain when non-empty (DNS stamp semantics).
    pub pins: Vec<[u8; 32]>,
    /// Plain-DNS resolvers (UDP port 53) to ask for `host` besides the
    /// system resolver: a DNS stamp's bootstrap IPs or `--bootstrap-resolver`.
    pub bootstrap_resolvers: Vec<IpAddr>,
}

/// Protocol-specific description of how to reach an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Doh(DnsResolver),
    Dot(DnsResolver),
    /// A Tor bridge line (any transport).
    Bridge(bridge_line::BridgeLine),
    WireGuard(Box<wireguard::WgPeer>),
    OpenVpn(Box<openvpn::OvpnRemote>),
    Ike(ike::IkeTarget),
    Shadowsocks(Box<shadowsocks::SsServer>),
    ProxyLink(Box<share_link::ShareLink>),
}

/// One thing to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub label: String,
    pub origin: Origin,
    pub target: Target,
}

impl Endpoint {
    pub fn kind(&self) -> EndpointKind {
        use bridge_line::Transport;
        match &self.target {
            Target::Doh(_) => EndpointKind::Doh,
            Target::Dot(_) => EndpointKind::Dot,
            Target::Bridge(b) => match b.transport {
                Transport::Vanilla => EndpointKind::Tor,
                Transport::Obfs4 => EndpointKind::Obfs4,
                Transport::Webtunnel => EndpointKind::Webtunnel,
                Transport::Snowflake => EndpointKind::Snowflake,
                Transport::Meek => EndpointKind::Meek,
                Transport::Conjure => EndpointKind::Conjure,
                Transport::Other(_) => EndpointKind::OtherPt,
            },
            Target::WireGuard(w) if w.amnezia.is_some() => EndpointKind::Amneziawg,
            Target::WireGuard(_) => EndpointKind::Wireguard,
            Target::OpenVpn(_) => EndpointKind::Openvpn,
            Target::Ike(_) => EndpointKind::Ikev2,
            Target::Shadowsocks(_) => EndpointKind::Shadowsocks,
            Target::ProxyLink(l) => match l.protocol {
                share_link::LinkProtocol::Vless => EndpointKind::Vless,
                share_link::LinkProtocol::Vmess => EndpointKind::Vmess,
                share_link::LinkProtocol::Trojan => EndpointKind::Trojan,
                share_link::LinkProtocol::Hysteria2 => EndpointKind::Hysteria2,
                share_link::LinkProtocol::Tuic => EndpointKind::Tuic,
            },
        }
    }

    /// How to reach it, as shown to people: the DoH URL or `tls://host:port`.
    pub fn address(&self) -> String {
        match &self.target {
            Target::Doh(r) => {
                if r.port == 443 {
                    format!("https://{}{}", host_for_url(&r.host), r.path)
                } else {
                    format!("https://{}:{}{}", host_for_url(&r.host), r.port, r.path)
                }
            }
            Target::Dot(r) => format!("tls://{}:{}", host_for_url(&r.host), r.port),
            // The whole line: it is what a user copies into Tor.
            Target::Bridge(b) => b.to_string(),
            // VPNs and proxies: where the server is, never the keys.
            Target::WireGuard(w) => {
                format!("{}://{}:{}", self.kind(), host_for_url(&w.host), w.port)
            }
            Target::OpenVpn(r) => {
                let proto = match r.proto {
                    openvpn::OvpnProto::Udp => "udp",
                    openvpn::OvpnProto::Tcp => "tcp",
                };
                format!("openvpn+{proto}://{}:{}", host_for_url(&r.host), r.port)
            }
            Target::Ike(t) => match t.port {
                Some(p) => format!("ike://{}:{p}", host_for_url(&t.host)),
                None => format!("ike://{}", host_for_url(&t.host)),
            },
            Target::Shadowsocks(s) => format!("ss://{}:{}", host_for_url(&s.host), s.port),
            Target::ProxyLink(l) => {
                format!("{}://{}:{}", self.kind(), host_for_url(&l.host), l.port)
            }
        }
    }

    /// Adds plain-DNS resolvers to ask for this endpoint's host name.
    pub fn add_bootstrap_resolvers(&mut self, extra: &[IpAddr]) {
        match &mut self.target {
            Target::Doh(r) | Target::Dot(r) => {
                for ip in extra {
                    if !r.bootstrap_resolvers.contains(ip) {
                        r.bootstrap_resolvers.push(*ip);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn info(&self) -> crate::measurement::EndpointInfo {
        crate::measurement::EndpointInfo {
            kind: self.kind(),
            label: self.label.clone(),
            address: self.address(),
            origin: self.origin,
        }
    }
}

/// Exactly `N` bytes from `2N` hex digits; `None` for anything else.
pub(crate) fn hex_array<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let b = hex.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Decodes `%XX` escapes in links. `strict`: a malformed escape or a
/// result that is not UTF-8 gives `None`. Otherwise a stray `%` stays as
/// written and bad UTF-8 is replaced (links from the wild are sloppy).
/// `+` stays a plus either way: passwords and keys use it literally.
pub(crate) fn percent_decode(s: &str, strict: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let byte = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                None if strict => return None,
                None => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    if strict {
        String::from_utf8(out).ok()
    } else {
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

/// A file's name without directory and extension, for labels; `None` for
/// a literal argument (`<argument>`).
pub(crate) fn source_stem(source_name: &str) -> Option<String> {
    if source_name.starts_with('<') {
        return None;
    }
    Path::new(source_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
}

/// Keeps error messages readable when someone pastes something huge.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// The host part of an authority, as [`split_authority`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorityHost<'a> {
    /// A bracketed IPv6 literal, already parsed.
    Ipv6(std::net::Ipv6Addr),
    /// Anything else, as written, for the caller to check.
    Text(&'a str),
}

/// Why an authority could not be split into host and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorityError {
    Empty,
    /// `[` without `]`.
    UnclosedBracket,
    /// Brackets around something that is no IPv6 address.
    BadIpv6,
    /// Text after `]` that is not `:port`.
    AfterBracket,
    /// Several colons without brackets.
    UnbracketedIpv6,
}

impl AuthorityError {
    /// In words, quoting nothing of the input (it may hold secrets).
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AuthorityError::Empty => "the address has no host name",
            AuthorityError::UnclosedBracket => "missing ] after the IPv6 address",
            AuthorityError::BadIpv6 => "the text in brackets is not a valid IPv6 address",
            AuthorityError::AfterBracket => "unexpected text after the IPv6 address",
            AuthorityError::UnbracketedIpv6 => {
                "IPv6 addresses must be written in brackets, e.g. [2001:db8::1]"
            }
        }
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` into the host and the
/// port text (as written, possibly empty). Only the shape is checked: the
/// caller validates the host name and parses the port.
pub(crate) fn split_authority(
    authority: &str,
) -> Result<(AuthorityHost<'_>, Option<&str>), AuthorityError> {
    if authority.is_empty() {
        return Err(AuthorityError::Empty);
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or(AuthorityError::UnclosedBracket)?;
        let ip = inner.parse().map_err(|_| AuthorityError::BadIpv6)?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(AuthorityError::AfterBracket)?,
            ),
        };
        return Ok((AuthorityHost::Ipv6(ip), port));
    }
    match authority.split_once(':') {
        None => Ok((AuthorityHost::Text(authority), None)),
        Some((_, port)) if port.contains(':') => Err(AuthorityError::UnbracketedIpv6),
        Some((host, port)) => Ok((AuthorityHost::Text(host), Some(port))),
    }
}

/// A port number from text: digits only, 1–65535. Errors quote the text
/// only once it is known to be digits.
pub(crate) fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Err("the port after : is empty".to_string());
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the port is not a number".to_string());
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {} is out of range (1-65535)", shorten(p))),
        Ok(port) => Ok(port),
    }
}

/// Brackets IPv6 literals so they can stand in a URL authority.
pub(crate) fn host_for_url(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Why one line of input could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {message}")]
pub struct ParseError {
    /// File path, or `<argument>` for a literal string.
    pub source_name: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// What could not even be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Endpoints found in some input, plus every line that was rejected.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    pub endpoints: Vec<Endpoint>,
    pub errors: Vec<ParseError>,
}

impl Catalog {
    pub fn extend(&mut self, other: Catalog) {
        self.endpoints.extend(other.endpoints);
        self.errors.extend(other.errors);
    }
}

/// Parses text that came from `source_name`: detects the format of the
/// whole text first (a dnscrypt-proxy markdown list), otherwise line by line.
pub fn parse_text(text: &str, source_name: &str, origin: Origin) -> Catalog {
    if dnscrypt_md::looks_like(text) {
        return dnscrypt_md::parse(text, source_name, origin);
    }
    if tor_json::looks_like(text) {
        return parse_tor_json(text, source_name, origin);
    }
    if is_torrc(text) {
        return parse_torrc(text, source_name, origin);
    }
    if wireguard::looks_like(text) {
        return wireguard::parse(text, source_name, origin);
    }
    if openvpn::looks_like(text) {
        return openvpn::parse(text, source_name, origin);
    }
    let mut catalog = Catalog::default();
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line, origin) {
            Ok(ep) => catalog.endpoints.push(ep),
            Err(message) => catalog.errors.push(ParseError {
                source_name: source_name.to_string(),
                line: idx + 1,
                message,
            }),
        }
    }
    catalog
}

/// Parses one non-comment line in any single-line format: a URL or stamp
/// (`scheme://…`) is a resolver, anything else a bridge line.
pub fn parse_line(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let first = line.split_whitespace().next().unwrap_or("");
    if let Some((scheme, _)) = first.split_once("://") {
        return match scheme.to_ascii_lowercase().as_str() {
            "ss" | "ssconf" => shadowsocks::parse_link(line, origin),
            "vless" | "vmess" | "trojan" | "hysteria2" | "hy2" | "tuic" => {
                share_link::parse(line, origin)
            }
            "ike" | "ikev2" => ike::parse(line, origin),
            _ => resolver_line::parse(line, origin),
        };
    }
    bridge_line::parse(line)
        .map(|b| bridge_endpoint(b, origin))
        .map_err(|e| format!("not a resolver URL, stamp or bridge line: {e}"))
}

fn bridge_endpoint(b: bridge_line::BridgeLine, origin: Origin) -> Endpoint {
    let label = match &b.transport {
        bridge_line::Transport::Vanilla => format!("bridge {}", b.addr),
        t => format!("{t} {}", b.addr),
    };
    Endpoint {
        label,
        origin,
        target: Target::Bridge(b),
    }
}

/// A real torrc has options besides `Bridge` lines; a plain list of
/// `Bridge …` lines is read line by line like any list.
fn is_torrc(text: &str) -> bool {
    torrc::looks_like(text)
        && text.lines().any(|l| {
            let word = l
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            word == "usebridges" || word == "clienttransportplugin"
        })
}

fn parse_torrc(text: &str, source_name: &str, origin: Origin) -> Catalog {
    let (bridges, errors, _facts) = torrc::parse(text);
    Catalog {
        endpoints: bridges
            .into_iter()
            .map(|(_, b)| bridge_endpoint(b, origin))
            .collect(),
        errors: line_errors(source_name, errors),
    }
}

/// `(line, message)` pairs of one source as [`ParseError`]s.
pub(crate) fn line_errors(source_name: &str, errors: Vec<(usize, String)>) -> Vec<ParseError> {
    errors
        .into_iter()
        .map(|(line, message)| ParseError {
            source_name: source_name.to_string(),
            line,
            message,
        })
        .collect()
}

fn parse_tor_json(text: &str, source_name: &str, origin: Origin) -> Catalog {
    let mut catalog = Catalog::default();
    match tor_json::parse(text) {
        Ok(groups) => {
            for (group, entry) in groups {
                match entry {
                    Ok(b) => catalog.endpoints.push(bridge_endpoint(b, origin)),
                    // JSON has no useful line numbers; name the group.
                    Err(e) => catalog.errors.push(ParseError {
                        source_name: format!("{source_name} ({group})"),
                        line: 1,
                        message: e.to_string(),
                    }),
                }
            }
        }
        Err(e) => catalog.errors.push(ParseError {
            source_name: source_name.to_string(),
            line: 1,
            message: e.to_string(),
        }),
    }
    catalog
}

/// Reads one input: an existing file (or every file in a directory) or,
/// failing that, the argument itself as a literal line.
pub fn load_input(input: &str, origin: Origin) -> Result<Catalog, CatalogError> {
    let path = Path::new(input);
    if path.is_dir() {
        let mut catalog = Catalog::default();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| CatalogError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // A folder of configs often carries notes and editor files;
            // hidden files and prose are skipped, dnscrypt-proxy's
            // markdown lists are not.
            if name.starts_with('.') {
                continue;
            }
            let markdown = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
            let file = load_file(&p, origin)?;
            if markdown && file.endpoints.is_empty() {
                continue;
            }
            catalog.extend(file);
        }
        return Ok(catalog);
    }
    if path.is_file() {
        return load_file(path, origin);
    }
    Ok(parse_text(input, "<argument>", origin))
}

fn load_file(path: &Path, origin: Origin) -> Result<Catalog, CatalogError> {
    let bytes = std::fs::read(path).map_err(|source| CatalogError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(parse_text(&text, &path.display().to_string(), origin))
}

/// The lists shipped in `bridges/`, compiled in so the binary works offline
/// from any directory.
pub fn bundled() -> Catalog {
    let mut catalog = parse_text(
        include_str!("../../bridges/resolvers.txt"),
        "bridges/resolvers.txt",
        Origin::Builtin,
    );
    catalog.extend(parse_text(
        include_str!("../../bridges/tor-builtin.txt"),
        "bridges/tor-builtin.txt",
        Origin::Builtin,
    ));
    catalog
}

#[cfg(test)]
mod authority_tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port_text() {
        let v6 = |s: &str| AuthorityHost::Ipv6(s.parse().unwrap());
        assert_eq!(
            split_authority("h.test"),
            Ok((AuthorityHost::Text("h.test"), None))
        );
        assert_eq!(
            split_authority("h.test:80"),
            Ok((AuthorityHost::Text("h.test"), Some("80")))
        );
        assert_eq!(
            split_authority(":"),
            Ok((AuthorityHost::Text(""), Some("")))
        );
        assert_eq!(
            split_authority("[2001:db8::1]"),
            Ok((v6("2001:db8::1"), None))
        );
        assert_eq!(
            split_authority("[2001:DB8::1]:443"),
            Ok((v6("2001:db8::1"), Some("443")))
        );
        for (bad, want) in [
            ("", AuthorityError::Empty),
            ("[2001:db8::1", AuthorityError::UnclosedBracket),
            ("[h.test]:1", AuthorityError::BadIpv6),
            ("[2001:db8::1]x", AuthorityError::AfterBracket),
            ("2001:db8::1", AuthorityError::UnbracketedIpv6),
            ("h:1:2", AuthorityError::UnbracketedIpv6),
        ] {
            assert_eq!(split_authority(bad), Err(want), "{bad:?}");
        }
    }

    #[test]
    fn ports_and_errors_quote_nothing() {
        assert_eq!(parse_port("8388"), Ok(8388));
        for (bad, want) in [
            ("", "empty"),
            ("0", "out of range"),
            ("65536", "port 65536 is out of range"),
            ("+80", "not a number"),
            ("secret", "not a number"),
        ] {
            let e = parse_port(bad).unwrap_err();
            assert!(e.contains(want) && !e.contains("secret"), "{bad:?}: {e}");
        }
        for e in [
            AuthorityError::Empty,
            AuthorityError::UnclosedBracket,
            AuthorityError::BadIpv6,
            AuthorityError::AfterBracket,
            AuthorityError::UnbracketedIpv6,
        ] {
            assert!(!e.describe().is_empty());
        }
    }
}
