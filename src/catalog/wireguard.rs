//! wg-quick `.conf` files (and AmneziaWG's extra `[Interface]` keys): one
//! endpoint per `[Peer]` that has an `Endpoint`.
//!
//! Key material is decoded into [`Secret`]s at once and never copied into
//! an error message, a label or a `Debug` string: errors name the key, not
//! its value.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;

use super::resolver_line::normalize_host;
use super::secret::Secret;
use super::{
    AuthorityError, AuthorityHost, Catalog, Endpoint, Origin, Target, host_for_url, parse_port,
    shorten, split_authority,
};

/// Most junk packets AmneziaWG allows before a handshake.
const MAX_JUNK_COUNT: u16 = 128;
/// Largest UDP payload: no junk packet or padded message can be bigger.
const MAX_UDP_PAYLOAD: u16 = 65_507;
/// Size of the biggest message a padding is prepended to (the initiation).
const INITIATION_SIZE: u16 = 148;

/// AmneziaWG obfuscation parameters from `[Interface]`.
///
/// AmneziaWG 1.x (Jc, Jmin, Jmax, S1, S2, H1–H4) is supported fully. Of
/// AmneziaWG 1.5/2.0, header ranges (`H1 = 100-200`) and the cookie and
/// transport paddings (S3, S4) are supported too; the decoy packets (I1–I5,
/// J1–J3, Itime) are not sent: their key names are kept in `not_imitated`
/// so the probe can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwgParams {
    /// Junk packets sent before the initiation: count and size range.
    pub jc: u16,
    pub jmin: u16,
    pub jmax: u16,
    /// Random bytes prepended to the initiation (S1) and response (S2).
    pub s1: u16,
    pub s2: u16,
    /// Random bytes prepended to cookie replies (S3) and transport data (S4).
    pub s3: u16,
    pub s4: u16,
    /// Message types replacing 1 (initiation), 2 (response), 3 (cookie), 4
    /// (data): the first value of each range (the only one in AWG 1.x).
    pub h: [u32; 4],
    /// Last value of each range (equal to `h` for a single value).
    pub h_end: [u32; 4],
    /// AmneziaWG keys that were read but whose behaviour the probe does
    /// not imitate (names only, e.g. `I1`).
    pub not_imitated: Vec<String>,
}

impl Default for AwgParams {
    /// Plain WireGuard's behaviour: no junk, no padding, types 1–4.
    fn default() -> Self {
        AwgParams {
            jc: 0,
            jmin: 0,
            jmax: 0,
            s1: 0,
            s2: 0,
            s3: 0,
            s4: 0,
            h: [1, 2, 3, 4],
            h_end: [1, 2, 3, 4],
            not_imitated: Vec::new(),
        }
    }
}

/// One peer of a wg-quick config, with the interface it belongs to.
#[derive(Clone, PartialEq, Eq)]
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

// By hand: the peer's public key identifies the server, so a `{:?}` in a
// log shows no key at all (the secrets are `Secret`s anyway).
impl fmt::Debug for WgPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WgPeer")
            .field("name", &self.name)
            .field("private_key", &self.private_key)
            .field("peer_public", &"[public key]")
            .field("preshared", &self.preshared)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("addresses", &self.addresses)
            .field("dns", &self.dns)
            .field("amnezia", &self.amnezia)
            .finish()
    }
}

/// True when the text is a wg-quick config.
pub fn looks_like(text: &str) -> bool {
    let has = |section: &str| text.lines().any(|l| l.trim().eq_ignore_ascii_case(section));
    has("[Interface]") && has("[Peer]")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Interface,
    Peer,
    /// A section wg-quick does not know; its keys are skipped.
    Other,
}

#[derive(Default)]
struct Interface {
    /// Line of the `[Interface]` header (0: none seen).
    line: usize,
    private_key: Option<Secret<[u8; 32]>>,
    /// The `PrivateKey` line was there but bad (already reported).
    private_key_bad: bool,
    addresses: Vec<(IpAddr, u8)>,
    dns: Vec<IpAddr>,
    awg: AwgBuilder,
}

struct PeerBuilder {
    line: usize,
    public: Option<[u8; 32]>,
    preshared: Option<Secret<[u8; 32]>>,
    endpoint: Option<(String, u16)>,
    /// A line of this peer was rejected (already reported): skip it.
    broken: bool,
}

/// AmneziaWG values as read, each with its line, validated at the end.
#[derive(Default)]
struct AwgBuilder {
    any: bool,
    jc: Option<(u16, usize)>,
    jmin: Option<(u16, usize)>,
    jmax: Option<(u16, usize)>,
    s: [Option<(u16, usize)>; 4],
    h: [Option<((u32, u32), usize)>; 4],
    not_imitated: Vec<String>,
    /// A line was rejected (already reported): the config cannot be imitated.
    bad: bool,
}

/// Parses a whole config; errors carry 1-based line numbers.
pub fn parse(text: &str, source_name: &str, origin: Origin) -> Catalog {
    let mut errors: Vec<(usize, String)> = Vec::new();
    let endpoints = read(text, source_name, origin, &mut errors);
    Catalog {
        endpoints,
        errors: super::line_errors(source_name, errors),
    }
}

fn read(
    text: &str,
    source_name: &str,
    origin: Origin,
    errors: &mut Vec<(usize, String)>,
) -> Vec<Endpoint> {
    let mut err = |line: usize, message: String| errors.push((line, message));
    let mut endpoints = Vec::new();
    let mut section = Section::None;
    let mut iface = Interface::default();
    let mut peers: Vec<PeerBuilder> = Vec::new();

    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        // wg-quick drops everything after `#`; base64 never contains one.
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = inner.trim();
            section = if name.eq_ignore_ascii_case("interface") {
                if iface.line != 0 {
                    err(
                        line_no,
                        format!(
                            "a second [Interface] section (the first is on line {}): one config has one interface",
                            iface.line
                        ),
                    );
                    Section::Other
                } else {
                    iface.line = line_no;
                    Section::Interface
                }
            } else if name.eq_ignore_ascii_case("peer") {
                peers.push(PeerBuilder {
                    line: line_no,
                    public: None,
                    preshared: None,
                    endpoint: None,
                    broken: false,
                });
                Section::Peer
            } else {
                err(
                    line_no,
                    format!(
                        "unknown section [{}]: a WireGuard config has [Interface] and [Peer]",
                        shorten(name)
                    ),
                );
                Section::Other
            };
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            err(
                line_no,
                "expected `Key = Value` or a [Section] header".to_string(),
            );
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match section {
            Section::None => err(
                line_no,
                format!(
                    "`{}` before any [Interface] or [Peer] section",
                    shorten(&key)
                ),
            ),
            Section::Other => {}
            Section::Interface => {
                if let Err(m) = interface_key(&mut iface, &key, value, line_no) {
                    err(line_no, m);
                }
            }
            Section::Peer => {
                let Some(peer) = peers.last_mut() else {
                    continue;
                };
                if let Err(m) = peer_key(peer, &key, value) {
                    peer.broken = true;
                    err(line_no, m);
                }
            }
        }
    }

    // Everything below needs the interface's key and valid obfuscation.
    if iface.awg.bad {
        // The bad line is reported; without all parameters the server
        // would ignore our packets, so nothing is probed.
        return endpoints;
    }
    let awg = match iface.awg.finish() {
        Ok(a) => a,
        Err((line, m)) => {
            err(line, m);
            return endpoints;
        }
    };
    let private_key = match iface.private_key {
        Some(k) => k,
        None => {
            if !iface.private_key_bad {
                let (line, what) = if iface.line == 0 {
                    (1, "the config has no [Interface] section")
                } else {
                    (iface.line, "[Interface] has no PrivateKey")
                };
                err(
                    line,
                    format!("{what}: without the client's key no handshake can be made"),
                );
            }
            return endpoints;
        }
    };
    let stem = super::source_stem(source_name);
    for p in peers {
        if p.broken {
            continue;
        }
        let Some(peer_public) = p.public else {
            err(
                p.line,
                "[Peer] has no PublicKey: the server's key is needed for the handshake".into(),
            );
            continue;
        };
        let Some((host, port)) = p.endpoint else {
            err(
                p.line,
                "[Peer] has no Endpoint, so there is no server to test (a server's own config lists its clients this way)"
                    .into(),
            );
            continue;
        };
        let word = if awg.is_some() { "awg" } else { "wg" };
        let label = match &stem {
            Some(s) => format!("{word} {s} {}:{port}", host_for_url(&host)),
            None => format!("{word} {}:{port}", host_for_url(&host)),
        };
        endpoints.push(Endpoint {
            label,
            origin,
            target: Target::WireGuard(Box::new(WgPeer {
                name: stem.clone(),
                private_key: private_key.clone(),
                peer_public,
                preshared: p.preshared,
                host,
                port,
                addresses: iface.addresses.clone(),
                dns: iface.dns.clone(),
                amnezia: awg.clone(),
            })),
        });
    }
    endpoints
}

fn interface_key(iface: &mut Interface, key: &str, value: &str, line: usize) -> Result<(), String> {
    match key {
        "privatekey" => match decode_key(value, "PrivateKey") {
            Ok(k) => {
                iface.private_key = Some(Secret::new(k));
                iface.private_key_bad = false;
            }
            Err(m) => {
                iface.private_key = None;
                iface.private_key_bad = true;
                return Err(m);
            }
        },
        "address" => {
            let mut bad = Vec::new();
            for item in list(value) {
                match parse_cidr(item) {
                    Some(a) => iface.addresses.push(a),
                    None => bad.push(shorten(item)),
                }
            }
            if !bad.is_empty() {
                return Err(format!(
                    "Address: {} is not an IP address with an optional /prefix (kept the rest)",
                    bad.join(", ")
                ));
            }
        }
        // Entries that are not IP addresses are search domains.
        "dns" => iface
            .dns
            .extend(list(value).filter_map(|d| d.parse::<IpAddr>().ok())),
        _ => return iface.awg.key(key, value, line),
    }
    Ok(())
}

fn peer_key(peer: &mut PeerBuilder, key: &str, value: &str) -> Result<(), String> {
    match key {
        "publickey" => peer.public = Some(decode_key(value, "PublicKey")?),
        "presharedkey" => peer.preshared = Some(Secret::new(decode_key(value, "PresharedKey")?)),
        "endpoint" => peer.endpoint = Some(parse_endpoint(value)?),
        // AllowedIPs, PersistentKeepalive, …: nothing a probe needs.
        _ => {}
    }
    Ok(())
}

/// Comma-separated list items, trimmed, empty ones skipped.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A 32-byte key in standard base64. The message never quotes the value.
fn decode_key(value: &str, name: &str) -> Result<[u8; 32], String> {
    if value.is_empty() {
        return Err(format!("{name} is empty"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| {
            format!("{name} is not valid base64 (a key is 44 characters, as `wg genkey` prints)")
        })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "{name} decodes to {} bytes; a WireGuard key has 32",
            bytes.len()
        )
    })
}

/// `Address` entry: `ip` or `ip/prefix`.
fn parse_cidr(item: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = match item.split_once('/') {
        Some((ip, p)) => (ip.trim(), Some(p.trim())),
        None => (item, None),
    };
    let ip: IpAddr = ip.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((ip, prefix))
}

/// `host:port`, `a.b.c.d:port` or `[v6]:port`.
fn parse_endpoint(value: &str) -> Result<(String, u16), String> {
    let bad = |why: &str| {
        format!(
            "Endpoint {:?} {why}: write host:port, or [IPv6]:port",
            shorten(value)
        )
    };
    let (host, port) = split_authority(value).map_err(|e| match e {
        AuthorityError::Empty => "Endpoint is empty: write host:port, or [IPv6]:port".to_string(),
        AuthorityError::UnclosedBracket => bad("has no closing bracket"),
        AuthorityError::BadIpv6 => bad("has no IPv6 address in its brackets"),
        AuthorityError::AfterBracket => bad("has no port"),
        AuthorityError::UnbracketedIpv6 => bad("is an IPv6 address without brackets"),
    })?;
    let port = port.ok_or_else(|| bad("has no port"))?;
    let host = match host {
        AuthorityHost::Ipv6(ip) => ip.to_string(),
        AuthorityHost::Text(h) => normalize_host(h).map_err(|m| format!("Endpoint: {m}"))?,
    };
    let port = parse_port(port).map_err(|_| bad("has no valid port (1-65535)"))?;
    Ok((host, port))
}

impl AwgBuilder {
    /// Reads one `[Interface]` key if it is AmneziaWG's; other keys (MTU,
    /// ListenPort, Table, PostUp, …) are ignored.
    fn key(&mut self, key: &str, value: &str, line: usize) -> Result<(), String> {
        let small = |name: &str| -> Result<(u16, usize), String> {
            value
                .parse::<u16>()
                .map(|v| (v, line))
                .map_err(|_| format!("{name} must be a number from 0 to 65535"))
        };
        let slot = |k: &str| -> usize { usize::from(k.as_bytes()[1] - b'1') };
        let result = match key {
            "jc" => small("Jc").map(|v| self.jc = Some(v)),
            "jmin" => small("Jmin").map(|v| self.jmin = Some(v)),
            "jmax" => small("Jmax").map(|v| self.jmax = Some(v)),
            "s1" | "s2" | "s3" | "s4" => {
                let name = key.to_ascii_uppercase();
                small(&name).map(|v| self.s[slot(key)] = Some(v))
            }
            "h1" | "h2" | "h3" | "h4" => {
                let name = key.to_ascii_uppercase();
                parse_header(value, &name).map(|r| self.h[slot(key)] = Some((r, line)))
            }
            "i1" | "i2" | "i3" | "i4" | "i5" | "j1" | "j2" | "j3" | "itime" => {
                let name = match key {
                    "itime" => "Itime".to_string(),
                    k => k.to_ascii_uppercase(),
                };
                if !self.not_imitated.contains(&name) {
                    self.not_imitated.push(name);
                }
                Ok(())
            }
            _ => return Ok(()),
        };
        self.any = true;
        if result.is_err() {
            self.bad = true;
        }
        result
    }

    /// Validated parameters, `None` without any AmneziaWG key; on error the
    /// line to blame and why.
    fn finish(&self) -> Result<Option<AwgParams>, (usize, String)> {
        if !self.any {
            return Ok(None);
        }
        let d = AwgParams::default();
        let val = |o: Option<(u16, usize)>, default: u16| o.map_or(default, |(v, _)| v);
        let line_of = |o: Option<(u16, usize)>| o.map_or(0, |(_, l)| l);
        let mut p = AwgParams {
            jc: val(self.jc, d.jc),
            jmin: val(self.jmin, d.jmin),
            jmax: val(self.jmax, d.jmax),
            s1: val(self.s[0], 0),
            s2: val(self.s[1], 0),
            s3: val(self.s[2], 0),
            s4: val(self.s[3], 0),
            not_imitated: self.not_imitated.clone(),
            ..d
        };
        if p.jc > MAX_JUNK_COUNT {
            return Err((
                line_of(self.jc),
                format!(
                    "Jc is {}; AmneziaWG allows at most {MAX_JUNK_COUNT} junk packets",
                    p.jc
                ),
            ));
        }
        if p.jmin > p.jmax && (self.jmin.is_some() || self.jmax.is_some()) {
            let line = line_of(self.jmax).max(line_of(self.jmin));
            return Err((
                line,
                format!("Jmin ({}) is larger than Jmax ({})", p.jmin, p.jmax),
            ));
        }
        if p.jmax > MAX_UDP_PAYLOAD {
            return Err((
                line_of(self.jmax),
                format!(
                    "Jmax is {}; a UDP datagram holds at most {MAX_UDP_PAYLOAD} bytes",
                    p.jmax
                ),
            ));
        }
        for (i, s) in self.s.iter().enumerate() {
            if let Some((v, line)) = s
                && *v > MAX_UDP_PAYLOAD - INITIATION_SIZE
            {
                return Err((
                    *line,
                    format!(
                        "S{} is {v}: the padded message would not fit in a UDP datagram",
                        i + 1
                    ),
                ));
            }
        }
        for (i, h) in self.h.iter().enumerate() {
            if let Some(((a, b), _)) = h {
                p.h[i] = *a;
                p.h_end[i] = *b;
            }
        }
        // Types must not overlap, or the server could not tell messages apart.
        for i in 0..4 {
            for j in 0..i {
                if p.h[i] <= p.h_end[j] && p.h[j] <= p.h_end[i] {
                    let line = self.h[i]
                        .map(|(_, l)| l)
                        .max(self.h[j].map(|(_, l)| l))
                        .unwrap_or(0);
                    return Err((
                        line,
                        format!(
                            "H{} and H{} overlap: the four message types must be distinct",
                            j + 1,
                            i + 1
                        ),
                    ));
                }
            }
        }
        Ok(Some(p))
    }
}

/// `H1 = 12345` or (AmneziaWG 2.0) `H1 = 100-200`.
fn parse_header(value: &str, name: &str) -> Result<(u32, u32), String> {
    let num = |s: &str| s.trim().parse::<u32>().ok();
    let range = match value.split_once('-') {
        Some((a, b)) => num(a).zip(num(b)),
        None => num(value).map(|v| (v, v)),
    };
    match range {
        Some((a, b)) if a <= b => Ok((a, b)),
        Some(_) => Err(format!("{name}: the range's start is above its end")),
        None => Err(format!(
            "{name} must be a number from 0 to 4294967295 (or a range like 100-200)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Throwaway keys made for these tests (`wg genkey`, `wg pubkey`, `wg genpsk`).
    const PRIV: &str = "EKn6B+BGsbaojiFQIILXCf51ijXKZjurabSwEABLEFg=";
    const PUB: &str = "IVu2M5QQoe7i3Mv5nTvFSaDvO0y0unlun4XqeYJTG0E=";
    const PSK: &str = "LHgXPn+5kvIcx/QJFOdpWswVAo8QyPEncI+XhjeaMM8=";

    fn conf(interface_extra: &str, peer: &str) -> String {
        format!(
            "[Interface]\nPrivateKey = {PRIV}\nAddress = 10.66.0.2/32, fd00::2/128\nDNS = 10.66.0.1, 2001:db8::53, corp.example\n{interface_extra}\n[Peer]\nPublicKey = {PUB}\n{peer}"
        )
    }

    fn one(text: &str) -> WgPeer {
        let c = parse(text, "/tmp/configs/home.conf", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.endpoints.len(), 1, "{:?}", c.endpoints);
        match &c.endpoints[0].target {
            Target::WireGuard(p) => (**p).clone(),
            other => panic!("not wireguard: {other:?}"),
        }
    }

    fn errors(text: &str) -> Vec<crate::catalog::ParseError> {
        parse(text, "x.conf", Origin::User).errors
    }

    fn b64(s: &str) -> [u8; 32] {
        let v = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        v.try_into().unwrap()
    }

    #[test]
    fn plain_client_config() {
        let text = conf(
            "MTU = 1420\nListenPort = 51820\nPostUp = iptables -A FORWARD # comment",
            &format!(
                "PresharedKey = {PSK}\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = vpn.example.net:51820\nPersistentKeepalive = 25\n"
            ),
        );
        assert!(looks_like(&text));
        let c = parse(&text, "/tmp/configs/home.conf", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let ep = &c.endpoints[0];
        assert_eq!(ep.label, "wg home vpn.example.net:51820");
        assert_eq!(ep.kind(), super::super::EndpointKind::Wireguard);
        assert_eq!(ep.address(), "wireguard://vpn.example.net:51820");
        let Target::WireGuard(p) = &ep.target else {
            panic!()
        };
        assert_eq!(p.private_key.expose(), &b64(PRIV));
        assert_eq!(p.peer_public, b64(PUB));
        assert_eq!(p.preshared.as_ref().map(|s| *s.expose()), Some(b64(PSK)));
        assert_eq!((p.host.as_str(), p.port), ("vpn.example.net", 51820));
        assert_eq!(
            p.addresses,
            vec![
                ("10.66.0.2".parse().unwrap(), 32),
                ("fd00::2".parse().unwrap(), 128)
            ]
        );
        assert_eq!(
            p.dns,
            vec![
                "10.66.0.1".parse::<IpAddr>().unwrap(),
                "2001:db8::53".parse().unwrap()
            ]
        );
        assert_eq!(p.name.as_deref(), Some("home"));
        assert!(p.amnezia.is_none());
    }

    #[test]
    fn case_comments_whitespace_and_endpoint_forms() {
        let text = format!(
            "  # a comment\n[interface]\n  privatekey=   {PRIV}   # trailing\naddress=10.0.0.2\n\n[PEER]\nPUBLICKEY = {PUB}\nendpoint = [2001:db8::1]:4500\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.7:51820\n"
        );
        let c = parse(&text, "<argument>", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(c.endpoints[0].label, "wg [2001:db8::1]:4500");
        assert_eq!(c.endpoints[1].label, "wg 192.0.2.7:51820");
        let Target::WireGuard(p) = &c.endpoints[0].target else {
            panic!()
        };
        assert_eq!(p.host, "2001:db8::1");
        assert_eq!(p.addresses, vec![("10.0.0.2".parse().unwrap(), 32)]);
        assert!(p.dns.is_empty());
    }

    #[test]
    fn amneziawg_1x_parameters() {
        let p = one(&conf(
            "Jc = 4\nJmin = 40\nJmax = 70\nS1 = 15\nS2 = 68\nH1 = 1234567891\nH2 = 2\nH3 = 987654321\nH4 = 42",
            "Endpoint = 203.0.113.5:443\n",
        ));
        let a = p.amnezia.clone().unwrap();
        assert_eq!((a.jc, a.jmin, a.jmax, a.s1, a.s2), (4, 40, 70, 15, 68));
        assert_eq!(a.h, [1_234_567_891, 2, 987_654_321, 42]);
        assert_eq!(a.h_end, a.h);
        assert!(a.not_imitated.is_empty());
        let c = parse(
            &conf("Jc = 3", "Endpoint = 203.0.113.5:443\n"),
            "/x/office.conf",
            Origin::User,
        );
        assert_eq!(c.endpoints[0].label, "awg office 203.0.113.5:443");
        assert_eq!(c.endpoints[0].kind(), super::super::EndpointKind::Amneziawg);
        // Unset values keep WireGuard's behaviour.
        let Target::WireGuard(p) = &c.endpoints[0].target else {
            panic!()
        };
        let a = p.amnezia.clone().unwrap();
        assert_eq!(a.h, [1, 2, 3, 4]);
        assert_eq!((a.jc, a.s1, a.s2), (3, 0, 0));
    }

    #[test]
    fn amneziawg_2_ranges_paddings_and_decoys() {
        let p = one(&conf(
            "H1 = 100-200\nH2 = 300-400\nH3 = 500\nH4 = 600-700\nS3 = 10\nS4 = 8\nI1 = <b 0xc000><r 16>\nItime = 120",
            "Endpoint = 203.0.113.5:443\n",
        ));
        let a = p.amnezia.unwrap();
        assert_eq!(a.h, [100, 300, 500, 600]);
        assert_eq!(a.h_end, [200, 400, 500, 700]);
        assert_eq!((a.s3, a.s4), (10, 8));
        assert_eq!(a.not_imitated, vec!["I1".to_string(), "Itime".to_string()]);
    }

    #[test]
    fn bad_amneziawg_values_drop_the_whole_config() {
        let cases = [
            (
                "Jmin = 80\nJmax = 40",
                "Jmin (80) is larger than Jmax (40)",
                6,
            ),
            ("H1 = 5\nH2 = 5", "H1 and H2 overlap", 6),
            ("H1 = 100-200\nH3 = 150", "H1 and H3 overlap", 6),
            ("H2 = 9-3", "start is above its end", 5),
            ("Jc = lots", "Jc must be a number", 5),
            ("Jc = 500", "at most 128", 5),
            ("S1 = 70000", "S1 must be a number", 5),
        ];
        for (extra, want, line) in cases {
            let c = parse(
                &conf(extra, "Endpoint = 203.0.113.5:443\n"),
                "x.conf",
                Origin::User,
            );
            assert!(c.endpoints.is_empty(), "{extra}: {:?}", c.endpoints);
            assert_eq!(c.errors.len(), 1, "{extra}: {:?}", c.errors);
            assert!(
                c.errors[0].message.contains(want),
                "{extra}: {:?}",
                c.errors
            );
            assert_eq!(c.errors[0].line, line, "{extra}: {:?}", c.errors);
        }
    }

    #[test]
    fn missing_private_key() {
        let text = format!(
            "[Interface]\nAddress = 10.0.0.2/32\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:51820\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 1);
        assert!(e[0].message.contains("no PrivateKey"), "{e:?}");
        assert_eq!(e[0].source_name, "x.conf");
        // No [Interface] at all.
        let e = errors(&format!(
            "[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:51820\n"
        ));
        assert!(e[0].message.contains("no [Interface]"), "{e:?}");
    }

    #[test]
    fn bad_keys_are_reported_without_their_value() {
        let short = &PRIV[..40]; // valid base64 alphabet, wrong length
        let cases = [
            (
                format!(
                    "[Interface]\nPrivateKey = not*base64!\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:1\n"
                ),
                2,
                "PrivateKey is not valid base64",
                "not*base64!",
            ),
            (
                format!(
                    "[Interface]\nPrivateKey = AAAA{PRIV}\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:1\n"
                ),
                2,
                "PrivateKey",
                PRIV,
            ),
            (
                format!(
                    "[Interface]\nPrivateKey = {PRIV}\n[Peer]\nPublicKey = {short}\nEndpoint = 192.0.2.1:1\n"
                ),
                4,
                "PublicKey",
                short,
            ),
            (
                format!(
                    "[Interface]\nPrivateKey = {PRIV}\n[Peer]\nPublicKey = {PUB}\nPresharedKey = {}\nEndpoint = 192.0.2.1:1\n",
                    "QUJD"
                ),
                5,
                "PresharedKey decodes to 3 bytes; a WireGuard key has 32",
                "QUJD",
            ),
            (
                format!(
                    "[Interface]\nPrivateKey =\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:1\n"
                ),
                2,
                "PrivateKey is empty",
                "\u{0}",
            ),
        ];
        for (text, line, want, secret) in cases {
            let c = parse(&text, "x.conf", Origin::User);
            assert!(c.endpoints.is_empty(), "{text}: {:?}", c.endpoints);
            assert_eq!(c.errors.len(), 1, "{text}: {:?}", c.errors);
            let e = &c.errors[0];
            assert_eq!(e.line, line, "{text}: {e:?}");
            assert!(e.message.contains(want), "{text}: {e:?}");
            assert!(!e.to_string().contains(secret), "{e}");
            assert!(!e.to_string().contains(&PRIV[..20]), "{e}");
        }
    }

    #[test]
    fn bad_endpoints_skip_that_peer_only() {
        let bad = [
            ("Endpoint = vpn.example.net", "has no port"),
            ("Endpoint = vpn.example.net:0", "no valid port"),
            ("Endpoint = vpn.example.net:99999", "no valid port"),
            ("Endpoint = 2001:db8::1:51820", "without brackets"),
            ("Endpoint = [2001:db8::1:51820", "no closing bracket"),
            ("Endpoint = [vpn.example]:51820", "no IPv6 address"),
            ("Endpoint = [2001:db8::1]51820", "has no port"),
            ("Endpoint = bad host:51820", "Endpoint:"),
            ("Endpoint = 300.1.2.3:51820", "not a valid IPv4"),
            ("Endpoint =", "Endpoint is empty"),
        ];
        for (line, want) in bad {
            let text = format!(
                "[Interface]\nPrivateKey = {PRIV}\n[Peer]\nPublicKey = {PUB}\n{line}\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.9:51820\n"
            );
            let c = parse(&text, "x.conf", Origin::User);
            assert_eq!(c.errors.len(), 1, "{line}: {:?}", c.errors);
            assert_eq!(c.errors[0].line, 5, "{line}");
            assert!(c.errors[0].message.contains(want), "{line}: {:?}", c.errors);
            assert_eq!(c.endpoints.len(), 1, "{line}");
            assert_eq!(c.endpoints[0].label, "wg x 192.0.2.9:51820");
        }
    }

    #[test]
    fn peers_without_endpoint_or_public_key_are_skipped_with_an_error() {
        let text = format!(
            "[Interface]\nPrivateKey = {PRIV}\nListenPort = 51820\n[Peer]\nPublicKey = {PUB}\nAllowedIPs = 10.0.0.2/32\n[Peer]\nEndpoint = 192.0.2.1:51820\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].line, 4);
        assert!(e[0].message.contains("no Endpoint"), "{e:?}");
        assert_eq!(e[1].line, 7);
        assert!(e[1].message.contains("no PublicKey"), "{e:?}");
    }

    #[test]
    fn structure_errors() {
        let text = format!(
            "PrivateKey = {PRIV}\n[Interface]\nPrivateKey = {PRIV}\njunk line\n[Wat]\nFoo = bar\n[Interface]\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:51820\n"
        );
        let c = parse(&text, "x.conf", Origin::User);
        let lines: Vec<usize> = c.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 4, 5, 7], "{:?}", c.errors);
        assert!(c.errors[0].message.contains("before any"), "{:?}", c.errors);
        assert!(!c.errors[0].message.contains(PRIV));
        assert!(c.errors[2].message.contains("unknown section [Wat]"));
        assert!(c.errors[3].message.contains("second [Interface]"));
        // The peer still works.
        assert_eq!(c.endpoints.len(), 1);
    }

    #[test]
    fn bad_address_is_reported_and_the_rest_kept() {
        let text = format!(
            "[Interface]\nPrivateKey = {PRIV}\nAddress = 10.0.0.2/33, nonsense, 10.0.0.3/24\n[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1:51820\n"
        );
        let c = parse(&text, "x.conf", Origin::User);
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert_eq!(c.errors[0].line, 3);
        assert!(c.errors[0].message.contains("10.0.0.2/33, nonsense"));
        let Target::WireGuard(p) = &c.endpoints[0].target else {
            panic!()
        };
        assert_eq!(p.addresses, vec![("10.0.0.3".parse().unwrap(), 24)]);
    }

    #[test]
    fn debug_and_labels_show_no_key() {
        let text = conf(
            "Jc = 2",
            &format!("PresharedKey = {PSK}\nEndpoint = vpn.example.net:51820\n"),
        );
        let c = parse(&text, "/tmp/k.conf", Origin::User);
        let dbg = format!("{:?} {:#?}", c.endpoints, c);
        for key in [PRIV, PUB, PSK] {
            let raw = b64(key);
            assert!(!dbg.contains(key), "{dbg}");
            assert!(!dbg.contains(&format!("{raw:?}")), "{dbg}");
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!dbg.contains(&hex), "{dbg}");
        }
        let ep = &c.endpoints[0];
        assert!(!ep.label.contains(PUB) && !ep.address().contains(PUB));
    }
}
