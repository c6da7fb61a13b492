//! Share links of the Xray/sing-box family: `vless://`, `vmess://`,
//! `trojan://`, `hysteria2://`/`hy2://`, `tuic://`. Only what a front probe
//! needs is kept; user ids and passwords are dropped on parsing, and error
//! messages never quote the link.
//!
//! * `vless://uuid@host:port?type=…&security=tls|reality|none&sni=…#name`
//! * `trojan://password@host[:port]?…#name` (TLS unless `security=` says
//!   otherwise; port 443 by default)
//! * `vmess://BASE64(JSON)`, the v2rayN format (`add`, `port`, `id`, `net`,
//!   `tls`, `sni`, …), in any base64 flavour
//! * `hysteria2://[auth@]host[:port][/]?sni=…&obfs=…#name` (also `hy2://`);
//!   a port list such as `443,5000-6000` (port hopping) keeps its first port
//! * `tuic://uuid:password@host:port?sni=…&alpn=h3#name`

use std::net::{IpAddr, Ipv6Addr};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::secret::Secret;
use super::{
    AuthorityError, AuthorityHost, Endpoint, Origin, Target, hex_array, host_for_url, parse_port,
    shorten, split_authority,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkProtocol {
    Vless,
    Vmess,
    Trojan,
    Hysteria2,
    Tuic,
}

impl LinkProtocol {
    /// The name used in labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkProtocol::Vless => "vless",
            LinkProtocol::Vmess => "vmess",
            LinkProtocol::Trojan => "trojan",
            LinkProtocol::Hysteria2 => "hysteria2",
            LinkProtocol::Tuic => "tuic",
        }
    }

    /// Hysteria2 and TUIC run over QUIC; the rest over TCP.
    pub fn is_quic(self) -> bool {
        matches!(self, LinkProtocol::Hysteria2 | LinkProtocol::Tuic)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkSecurity {
    None,
    Tls,
    Reality,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub protocol: LinkProtocol,
    /// The link's name (`#fragment` or vmess `ps`), for labels.
    pub name: Option<String>,
    /// Server host name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub security: LinkSecurity,
    /// TLS server name (`sni`/`peer`), when the link sets one.
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// The client TLS fingerprint the link asks for (`fp=chrome`), recorded
    /// beside the result because rustls does not imitate browsers.
    pub fingerprint: Option<String>,
    /// Stream transport (`tcp`, `ws`, `grpc`, `h2`, `xhttp`,
    /// `httpupgrade`, `kcp`, `quic`), with aliases folded (`raw` → `tcp`,
    /// `http` → `h2`, `splithttp` → `xhttp`); `quic` for Hysteria2 and TUIC.
    pub transport: String,
    /// `allowInsecure`/`insecure=1`: the link itself skips certificate checks.
    pub insecure: bool,
    /// The `host` parameter: HTTP Host header of ws/h2/xhttp/httpupgrade.
    /// Clients (v2rayN, v2rayNG) use it as the TLS name when `sni` is empty.
    pub host_header: Option<String>,
    /// ws/h2/xhttp path or gRPC service name. Often the only thing a
    /// server checks besides the user id, so it never prints.
    pub path: Option<Secret<String>>,
    /// REALITY: the link carries the server's public key (`pbk`).
    pub reality_key: bool,
    /// Hysteria2 obfuscation (`obfs=salamander`), lower case; its password
    /// is dropped.
    pub obfs: Option<String>,
    /// Hysteria2 `pinSHA256`: SHA-256 of the server's leaf certificate.
    pub pin_sha256: Option<[u8; 32]>,
    /// Hysteria2: the link lists several ports (port hopping); `port` is
    /// the first one.
    pub port_hopping: bool,
    /// TUIC `disable_sni=1`: the client sends no server name.
    pub disable_sni: bool,
}

/// Longest link name kept for labels.
const MAX_NAME_CHARS: usize = 60;

/// Parses one share link into an endpoint.
pub fn parse(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let line = line.trim();
    let (scheme, rest) = line
        .split_once("://")
        .ok_or_else(|| "not a share link (scheme://…)".to_string())?;
    let protocol = match scheme.to_ascii_lowercase().as_str() {
        "vless" => LinkProtocol::Vless,
        "vmess" => LinkProtocol::Vmess,
        "trojan" => LinkProtocol::Trojan,
        "hysteria2" | "hy2" => LinkProtocol::Hysteria2,
        "tuic" => LinkProtocol::Tuic,
        other => {
            return Err(format!(
                "{}:// is not a VLESS, VMess, Trojan, Hysteria2 or TUIC link",
                shorten(other)
            ));
        }
    };
    let link = match protocol {
        LinkProtocol::Vmess => parse_vmess(rest)?,
        _ => parse_url(protocol, rest)?,
    };
    let label = format!(
        "{} {} {}:{}",
        protocol.as_str(),
        link.name.as_deref().unwrap_or(&link.host),
        host_for_url(&link.host),
        link.port
    );
    Ok(Endpoint {
        label,
        origin,
        target: Target::ProxyLink(Box::new(link)),
    })
}

/// `scheme://userinfo@host:port[/path]?query#fragment` (everything but vmess).
fn parse_url(protocol: LinkProtocol, rest: &str) -> Result<ShareLink, String> {
    let p = protocol.as_str();
    let (body, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    if body.chars().any(char::is_whitespace) {
        return Err(format!("{p} link contains spaces: paste it as one piece"));
    }
    let (before_query, query) = match body.split_once('?') {
        Some((b, q)) => (b, q),
        None => (body, ""),
    };
    if password_may_be_split(before_query, query, fragment) {
        return Err(format!(
            "{p} link: an '@' follows '?' or '#', so where the password ends is unclear; \
             percent-encode ?, # and @ in the password (%3F, %23, %40)"
        ));
    }
    // The last '@' ends the user info: passwords may hold a raw '@', host
    // names never do.
    let (userinfo, after) = match before_query.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, before_query),
    };
    let needs_user = match protocol {
        LinkProtocol::Vless => Some("user id"),
        LinkProtocol::Trojan => Some("password"),
        LinkProtocol::Tuic => Some("uuid:password"),
        // Hysteria2 servers may run without authentication.
        _ => None,
    };
    if let Some(what) = needs_user
        && userinfo.is_none_or(str::is_empty)
    {
        return Err(format!("{p} link: missing the {what} before '@'"));
    }
    // Hysteria2 writes `host:port/?…`; nothing after the authority matters.
    let authority = after.split('/').next().unwrap_or_default();
    let default_port = match protocol {
        LinkProtocol::Trojan | LinkProtocol::Hysteria2 => Some(443),
        _ => None,
    };
    let (host, port, port_hopping) = parse_authority(
        p,
        authority,
        default_port,
        protocol == LinkProtocol::Hysteria2,
    )?;
    let params = Params::parse(query);

    let quic = protocol.is_quic();
    let transport = if quic {
        "quic".to_string()
    } else {
        transport_name(p, params.get("type"))?
    };
    let security = if quic {
        LinkSecurity::Tls
    } else {
        let default = if protocol == LinkProtocol::Trojan {
            "tls"
        } else {
            "none"
        };
        security_from(p, params.get("security").unwrap_or(default))?
    };
    let sni = match params.get("sni").or_else(|| params.get("peer")) {
        Some(s) => Some(server_name(p, "sni", s)?),
        None => None,
    };
    let host_header = match params.get("host") {
        Some(h) => Some(host_header(p, h)?),
        None => None,
    };
    let pin_sha256 = match params.get("pinsha256") {
        Some(pin) if protocol == LinkProtocol::Hysteria2 => Some(parse_pin(pin)?),
        _ => None,
    };
    let obfs = match params.get("obfs") {
        Some(o) if protocol == LinkProtocol::Hysteria2 && !o.eq_ignore_ascii_case("none") => {
            Some(o.to_ascii_lowercase())
        }
        _ => None,
    };
    Ok(ShareLink {
        protocol,
        name: fragment
            .and_then(|f| clean_name(&super::percent_decode(f, false).unwrap_or_default())),
        host,
        port,
        security,
        sni,
        alpn: params.get("alpn").map(split_alpn).unwrap_or_default(),
        fingerprint: params.get("fp").map(str::to_ascii_lowercase),
        transport,
        insecure: [
            "allowinsecure",
            "allow_insecure",
            "insecure",
            "skip-cert-verify",
        ]
        .iter()
        .any(|k| params.get(k).is_some_and(truthy)),
        host_header,
        path: params
            .get("path")
            .or_else(|| params.get("servicename"))
            .map(|s| Secret::new(s.to_string())),
        reality_key: params.get("pbk").is_some(),
        obfs,
        pin_sha256,
        port_hopping,
        disable_sni: protocol == LinkProtocol::Tuic
            && params.get("disable_sni").is_some_and(truthy),
    })
}

/// Whether a raw `?` or `#` inside the password may have ended the user
/// info early, making part of the password the host, the query or the
/// name. URL rules cannot tell such a link from one with an `@` later on,
/// so the telling shapes are refused rather than printed:
/// * an `@` in the query (values with an `@` are percent-encoded anyway);
/// * an `@` in the name when none precedes it: nothing else marks the
///   host, which may well be the password's start (Hysteria2 allows links
///   without user info, so this is not caught as a missing password);
/// * an `@` in the name followed by what only a link has after its host:
///   a port, a path, a query or a second `#`. A name such as `#@channel`
///   (common in shared lists) stays accepted.
fn password_may_be_split(before_query: &str, query: &str, fragment: Option<&str>) -> bool {
    if query.contains('@') {
        return true;
    }
    let Some((_, after_at)) = fragment.and_then(|f| f.rsplit_once('@')) else {
        return false;
    };
    !before_query.contains('@') || after_at.contains([':', '/', '?', '#'])
}

/// `vmess://BASE64(JSON)` as v2rayN writes it.
fn parse_vmess(rest: &str) -> Result<ShareLink, String> {
    const P: &str = "vmess";
    // A few generators append `#name` to the base64; `ps` wins over it.
    let (body, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("vmess link: nothing after vmess://".to_string());
    }
    let bytes = decode_base64(&compact).ok_or_else(|| "vmess link: bad base64".to_string())?;
    // Never quote the decoded text or serde's message: both show the id.
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| {
        "vmess link: the base64 does not hold v2rayN's JSON; other vmess formats are not \
         supported"
            .to_string()
    })?;
    let obj = json.as_object().ok_or_else(|| {
        "vmess link: the base64 does not hold a JSON object (v2rayN format)".to_string()
    })?;
    if field(obj, "id").is_none() {
        return Err("vmess link: missing user id".to_string());
    }
    let add = field(obj, "add").ok_or_else(|| "vmess link: missing server address".to_string())?;
    let host = host_name(P, &add)?;
    let port = match obj.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
        _ => None,
    }
    .filter(|p| *p != 0)
    .ok_or_else(|| "vmess link: missing or bad port".to_string())?;
    let transport = transport_name(P, field(obj, "net").as_deref())?;
    let security = security_from(P, field(obj, "tls").as_deref().unwrap_or("none"))?;
    let sni = match field(obj, "sni") {
        Some(s) => Some(server_name(P, "sni", &s)?),
        None => None,
    };
    let host_header = match field(obj, "host") {
        Some(h) => Some(host_header(P, &h)?),
        None => None,
    };
    let insecure = ["allowInsecure", "insecure", "skip-cert-verify"]
        .iter()
        .any(|k| match obj.get(*k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            Some(Value::String(s)) => truthy(s),
            _ => false,
        });
    let name = field(obj, "ps").and_then(|n| clean_name(&n)).or_else(|| {
        fragment.and_then(|f| clean_name(&super::percent_decode(f, false).unwrap_or_default()))
    });
    Ok(ShareLink {
        protocol: LinkProtocol::Vmess,
        name,
        host,
        port,
        security,
        sni,
        alpn: field(obj, "alpn")
            .map(|a| split_alpn(&a))
            .unwrap_or_default(),
        fingerprint: field(obj, "fp").map(|f| f.to_ascii_lowercase()),
        transport,
        insecure,
        host_header,
        path: field(obj, "path").map(Secret::new),
        reality_key: field(obj, "pbk").is_some(),
        obfs: None,
        pin_sha256: None,
        port_hopping: false,
        disable_sni: false,
    })
}

/// A JSON string (or number) field, trimmed; `None` when absent or empty.
fn field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let s = match obj.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// Standard or URL-safe base64, padded or not (all are in the wild).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let engine = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let standard: String = s
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    engine.decode(standard).ok()
}

/// Host and port from an authority: `host:port`, `[v6]:port`, or a bare
/// host when `default_port` is set. `port_list` allows Hysteria2's port
/// hopping lists (`443,5000-6000`); the first port is used.
fn parse_authority(
    p: &str,
    authority: &str,
    default_port: Option<u16>,
    port_list: bool,
) -> Result<(String, u16, bool), String> {
    let (host, port_text) = split_authority(authority).map_err(|e| match e {
        AuthorityError::Empty => format!("{p} link: missing server address"),
        AuthorityError::UnclosedBracket => format!("{p} link: unclosed '[' in the server address"),
        AuthorityError::BadIpv6 => format!("{p} link: bad IPv6 address"),
        AuthorityError::AfterBracket => {
            format!("{p} link: unexpected text after the bracketed IPv6 address")
        }
        AuthorityError::UnbracketedIpv6 => {
            format!("{p} link: IPv6 addresses must be written in brackets, e.g. [2001:db8::1]:443")
        }
    })?;
    let host = match host {
        AuthorityHost::Ipv6(ip) => ip.to_string(),
        AuthorityHost::Text(h) => host_name(p, h)?,
    };
    let (port, hopping) = match port_text {
        None => (
            default_port.ok_or_else(|| format!("{p} link: missing port"))?,
            false,
        ),
        Some(text) if port_list && text.contains([',', '-']) => {
            (first_of_port_list(p, text)?, true)
        }
        Some(text) => (
            parse_port(text).map_err(|_| format!("{p} link: bad port"))?,
            false,
        ),
    };
    Ok((host, port, hopping))
}

/// `443,5000-6000`: every piece must be a port or a range; returns the first.
fn first_of_port_list(p: &str, text: &str) -> Result<u16, String> {
    let bad = || format!("{p} link: bad port list (expected e.g. 443,5000-6000)");
    let mut first = None;
    for piece in text.split(',') {
        let (a, b) = match piece.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (piece, None),
        };
        let start = a.parse::<u16>().ok().filter(|n| *n != 0).ok_or_else(bad)?;
        if let Some(b) = b {
            let end = b.parse::<u16>().ok().ok_or_else(bad)?;
            if end < start {
                return Err(bad());
            }
        }
        first.get_or_insert(start);
    }
    first.ok_or_else(bad)
}

/// A server host: an IP literal (IPv6 with or without brackets) or an
/// ASCII host name. Returned without brackets.
fn host_name(p: &str, raw: &str) -> Result<String, String> {
    let bare = raw
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(raw);
    if bare.is_empty() {
        return Err(format!("{p} link: missing server address"));
    }
    if bare.contains(':') {
        return bare
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| format!("{p} link: bad IPv6 address"));
    }
    if bare.parse::<IpAddr>().is_ok() || is_dns_name(bare) {
        Ok(bare.to_ascii_lowercase())
    } else if !bare.is_ascii() {
        Err(format!(
            "{p} link: the server name is not ASCII; write it in punycode (xn--…)"
        ))
    } else {
        Err(format!("{p} link: bad server address"))
    }
}

/// A TLS server name from the link (`sni`): a host name or an IP literal.
fn server_name(p: &str, what: &str, raw: &str) -> Result<String, String> {
    let bare = raw
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(raw);
    if bare.parse::<IpAddr>().is_ok() || is_dns_name(bare) {
        Ok(bare.to_ascii_lowercase())
    } else {
        Err(format!("{p} link: {what} is not a valid server name"))
    }
}

/// The `host` parameter: one or more comma-separated host names.
fn host_header(p: &str, raw: &str) -> Result<String, String> {
    let names: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(format!("{p} link: empty host parameter"));
    }
    for n in &names {
        // A Host header may carry a port.
        let name = match n.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') && port.parse::<u16>().is_ok() => h,
            _ => n,
        };
        server_name(p, "the host parameter", name)?;
    }
    Ok(names.join(","))
}

/// A host name as DNS and TLS take it: at most 253 characters, labels of
/// 1–63 letters, digits, `-` or `_` (a final dot allowed).
fn is_dns_name(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('-')
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

fn transport_name(p: &str, raw: Option<&str>) -> Result<String, String> {
    let t = raw.unwrap_or("tcp").trim().to_ascii_lowercase();
    let folded = match t.as_str() {
        "" | "tcp" | "raw" => "tcp",
        "ws" | "websocket" => "ws",
        "grpc" => "grpc",
        "h2" | "http" => "h2",
        "xhttp" | "splithttp" => "xhttp",
        "httpupgrade" => "httpupgrade",
        "kcp" | "mkcp" => "kcp",
        "quic" => "quic",
        other => {
            return Err(format!(
                "{p} link: unknown transport type '{}'",
                shorten(other)
            ));
        }
    };
    Ok(folded.to_string())
}

fn security_from(p: &str, raw: &str) -> Result<LinkSecurity, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" | "none" => Ok(LinkSecurity::None),
        // `xtls` is the retired name of TLS with XTLS flow control.
        "tls" | "xtls" => Ok(LinkSecurity::Tls),
        "reality" => Ok(LinkSecurity::Reality),
        other => Err(format!("{p} link: unknown security '{}'", shorten(other))),
    }
}

/// `pinSHA256`: 64 hex digits, colons allowed between bytes.
fn parse_pin(raw: &str) -> Result<[u8; 32], String> {
    let hex: String = raw.chars().filter(|c| *c != ':').collect();
    hex_array::<32>(&hex)
        .ok_or_else(|| "hysteria2 link: pinSHA256 is not a SHA-256 hash in hex".to_string())
}

fn split_alpn(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// A name fit for a one-line label: control characters become spaces,
/// runs of spaces collapse, very long names are cut.
fn clean_name(raw: &str) -> Option<String> {
    let spaced: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let joined = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        return None;
    }
    Some(if joined.chars().count() > MAX_NAME_CHARS {
        let head: String = joined.chars().take(MAX_NAME_CHARS).collect();
        format!("{head}…")
    } else {
        joined
    })
}

/// Query parameters with percent-decoded values and lower-case keys.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Params {
        Params(
            query
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (
                        super::percent_decode(k, false)
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                        super::percent_decode(v, false).unwrap_or_default(),
                    )
                })
                .collect(),
        )
    }

    /// The first non-empty value of `key` (lower case), trimmed.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EndpointKind;

    const UUID: &str = "b831381d-6324-4d53-ad4f-8cda48b30811";
    const PASSWORD: &str = "s3cr3t-Pa55word";

    fn link(line: &str) -> ShareLink {
        match parse(line, Origin::User) {
            Ok(Endpoint {
                target: Target::ProxyLink(l),
                ..
            }) => *l,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn err(line: &str) -> String {
        match parse(line, Origin::User) {
            Err(e) => e,
            Ok(ep) => panic!("{line} parsed: {ep:?}"),
        }
    }

    fn assert_no_secrets(text: &str, secrets: &[&str]) {
        for s in secrets {
            assert!(!text.contains(s), "{s} leaked in {text}");
        }
    }

    fn vmess(json: &str, engine: &GeneralPurpose) -> String {
        format!("vmess://{}", engine.encode(json))
    }

    #[test]
    fn vless_with_tls_ws_and_every_option() {
        let line = format!(
            "vless://{UUID}@example.com:8443?encryption=none&type=ws&security=tls\
             &sni=front.example.net&alpn=h2,http%2F1.1&fp=Chrome&host=cdn.example.net\
             &path=%2Fsecret-path%3Fed%3D2048&allowInsecure=1#My%20Server%20%F0%9F%87%A9%F0%9F%87%AA"
        );
        let ep = parse(&line, Origin::User).unwrap();
        assert_eq!(ep.kind(), EndpointKind::Vless);
        assert_eq!(ep.label, "vless My Server 🇩🇪 example.com:8443");
        assert_eq!(ep.address(), "vless://example.com:8443");
        let Target::ProxyLink(l) = &ep.target else {
            panic!("{ep:?}")
        };
        assert_eq!(l.host, "example.com");
        assert_eq!(l.port, 8443);
        assert_eq!(l.security, LinkSecurity::Tls);
        assert_eq!(l.transport, "ws");
        assert_eq!(l.sni.as_deref(), Some("front.example.net"));
        assert_eq!(l.alpn, vec!["h2".to_string(), "http/1.1".to_string()]);
        assert_eq!(l.fingerprint.as_deref(), Some("chrome"));
        assert_eq!(l.host_header.as_deref(), Some("cdn.example.net"));
        assert_eq!(
            l.path.as_ref().map(|p| p.expose().as_str()),
            Some("/secret-path?ed=2048")
        );
        assert!(l.insecure);
        assert!(!l.reality_key);
        let debug = format!("{ep:?}");
        assert_no_secrets(&debug, &[UUID, "secret-path"]);
    }

    #[test]
    fn vless_reality_and_defaults() {
        let l = link(&format!(
            "vless://{UUID}@203.0.113.5:443?security=reality&sni=www.microsoft.com&fp=firefox\
             &pbk=Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw&sid=6ba85179e30d4fc2&type=tcp\
             &flow=xtls-rprx-vision"
        ));
        assert_eq!(l.security, LinkSecurity::Reality);
        assert!(l.reality_key);
        assert_eq!(l.name, None);
        assert_eq!(l.transport, "tcp");
        let plain = link(&format!("vless://{UUID}@[2001:db8::7]:80"));
        assert_eq!(plain.security, LinkSecurity::None);
        assert_eq!(plain.host, "2001:db8::7");
        assert_eq!(plain.transport, "tcp");
        let ep = parse(&format!("vless://{UUID}@[2001:db8::7]:80"), Origin::User).unwrap();
        assert_eq!(ep.label, "vless 2001:db8::7 [2001:db8::7]:80");
        // Aliases fold to one name.
        assert_eq!(
            link(&format!("vless://{UUID}@h.test:1?type=raw")).transport,
            "tcp"
        );
        assert_eq!(
            link(&format!("vless://{UUID}@h.test:1?type=http")).transport,
            "h2"
        );
        assert_eq!(
            link(&format!("vless://{UUID}@h.test:1?type=splithttp")).transport,
            "xhttp"
        );
        let grpc = link(&format!(
            "vless://{UUID}@h.test:1?type=grpc&serviceName=svc&security=tls"
        ));
        assert_eq!(grpc.path.as_ref().map(|p| p.expose().as_str()), Some("svc"));
    }

    #[test]
    fn vless_malformed() {
        let cases = [
            ("vless://h.test:443", "missing the user id"),
            ("vless://@h.test:443", "missing the user id"),
            (&format!("vless://{UUID}@h.test"), "missing port"),
            (&format!("vless://{UUID}@h.test:0"), "bad port"),
            (&format!("vless://{UUID}@h.test:70000"), "bad port"),
            (&format!("vless://{UUID}@:443"), "missing server address"),
            (&format!("vless://{UUID}@2001:db8::1:443"), "brackets"),
            (&format!("vless://{UUID}@[2001:db8::1:443"), "unclosed"),
            (&format!("vless://{UUID}@[nothex::]:443"), "bad IPv6"),
            (&format!("vless://{UUID}@bad host:443"), "spaces"),
            (&format!("vless://{UUID}@bücher.test:443"), "punycode"),
            (
                &format!("vless://{UUID}@h.test:443?security=magic"),
                "unknown security",
            ),
            (
                &format!("vless://{UUID}@h.test:443?type=carrier-pigeon"),
                "unknown transport",
            ),
            (&format!("vless://{UUID}@h.test:443?sni=a%20b"), "sni"),
            (
                &format!("vless://{UUID}@h.test:443?host=%2F"),
                "host parameter",
            ),
        ];
        for (line, want) in cases {
            let e = err(line);
            assert!(e.contains(want), "{line}: {e}");
            assert_no_secrets(&e, &[UUID]);
        }
    }

    #[test]
    fn trojan_defaults_to_tls_and_port_443() {
        let ep = parse(
            &format!("trojan://{PASSWORD}@t.example.org?peer=sni.example.org#Trojan%20one"),
            Origin::User,
        )
        .unwrap();
        assert_eq!(ep.kind(), EndpointKind::Trojan);
        assert_eq!(ep.label, "trojan Trojan one t.example.org:443");
        let Target::ProxyLink(l) = &ep.target else {
            panic!()
        };
        assert_eq!(l.security, LinkSecurity::Tls);
        assert_eq!(l.sni.as_deref(), Some("sni.example.org"));
        assert!(!l.insecure);
        assert_no_secrets(&format!("{ep:?}"), &[PASSWORD]);
        // A password with '@' and ':' in it, unencoded.
        let l = link("trojan://p@ss:w0rd@t.example.org:8443?security=none&type=ws");
        assert_eq!((l.host.as_str(), l.port), ("t.example.org", 8443));
        assert_eq!(l.security, LinkSecurity::None);
        assert!(link("trojan://x@h.test:1?allowInsecure=true").insecure);
        let e = err("trojan://t.example.org:443");
        assert!(e.contains("missing the password"), "{e}");
        let e = err(&format!("trojan://{PASSWORD}@t.example.org:port"));
        assert!(e.contains("bad port"), "{e}");
        assert_no_secrets(&e, &[PASSWORD]);
    }

    #[test]
    fn vmess_json_in_every_base64_flavour() {
        let json = format!(
            r#"{{"v":"2","ps":"VMess ✓","add":"v.example.com","port":"443","id":"{UUID}","aid":"0","scy":"auto","net":"ws","type":"none","host":"cdn.example.com","path":"/ray","tls":"tls","sni":"","alpn":"h2","fp":"chrome"}}"#
        );
        let pad = GeneralPurposeConfig::new();
        let no_pad = GeneralPurposeConfig::new().with_encode_padding(false);
        for engine in [
            GeneralPurpose::new(&alphabet::STANDARD, pad),
            GeneralPurpose::new(&alphabet::STANDARD, no_pad),
            GeneralPurpose::new(&alphabet::URL_SAFE, pad),
            GeneralPurpose::new(&alphabet::URL_SAFE, no_pad),
        ] {
            let line = vmess(&json, &engine);
            let ep = parse(&line, Origin::User).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(ep.kind(), EndpointKind::Vmess);
            assert_eq!(ep.label, "vmess VMess ✓ v.example.com:443");
            let Target::ProxyLink(l) = &ep.target else {
                panic!()
            };
            assert_eq!(l.port, 443);
            assert_eq!(l.security, LinkSecurity::Tls);
            assert_eq!(l.transport, "ws");
            assert_eq!(l.sni, None);
            assert_eq!(l.host_header.as_deref(), Some("cdn.example.com"));
            assert_eq!(l.alpn, vec!["h2".to_string()]);
            assert_eq!(l.fingerprint.as_deref(), Some("chrome"));
            assert_no_secrets(&format!("{ep:?}"), &[UUID, "/ray"]);
        }
        // Port as a number, no TLS, IPv6 address, name from the fragment.
        let json =
            format!(r#"{{"add":"2001:db8::9","port":8080,"id":"{UUID}","net":"tcp","tls":""}}"#);
        let engine = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new());
        let ep = parse(
            &format!("{}#from%20fragment", vmess(&json, &engine)),
            Origin::User,
        )
        .unwrap();
        assert_eq!(ep.label, "vmess from fragment [2001:db8::9]:8080");
        let Target::ProxyLink(l) = &ep.target else {
            panic!()
        };
        assert_eq!(l.security, LinkSecurity::None);
        assert_eq!(l.port, 8080);
    }

    #[test]
    fn vmess_malformed() {
        let engine = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new());
        let cases = [
            ("vmess://".to_string(), "nothing after"),
            ("vmess://!!!not*base64".to_string(), "bad base64"),
            (
                format!(
                    "vmess://{}",
                    engine.encode(format!("auto:{UUID}@h.test:443"))
                ),
                "JSON",
            ),
            (vmess("[1,2]", &engine), "JSON object"),
            (
                vmess(r#"{"add":"h.test","port":"443","net":"tcp"}"#, &engine),
                "missing user id",
            ),
            (
                vmess(&format!(r#"{{"port":"443","id":"{UUID}"}}"#), &engine),
                "missing server address",
            ),
            (
                vmess(
                    &format!(r#"{{"add":"h.test","port":"x","id":"{UUID}"}}"#),
                    &engine,
                ),
                "bad port",
            ),
            (
                vmess(
                    &format!(r#"{{"add":"h.test","port":70000,"id":"{UUID}"}}"#),
                    &engine,
                ),
                "bad port",
            ),
            (
                vmess(
                    &format!(r#"{{"add":"h.test","port":1,"id":"{UUID}","tls":"ssl3"}}"#),
                    &engine,
                ),
                "unknown security",
            ),
            (
                vmess(
                    &format!(r#"{{"add":"h.test","port":1,"id":"{UUID}","net":"smoke"}}"#),
                    &engine,
                ),
                "unknown transport",
            ),
        ];
        for (line, want) in cases {
            let e = err(&line);
            assert!(e.contains(want), "{line}: {e}");
            assert_no_secrets(&e, &[UUID]);
        }
    }

    #[test]
    fn hysteria2_links() {
        let ep = parse(
            &format!(
                "hysteria2://{PASSWORD}@hy.example.com:443/?sni=real.example.com&insecure=1\
                 &obfs=salamander&obfs-password=obfspass123#HY%202"
            ),
            Origin::User,
        )
        .unwrap();
        assert_eq!(ep.kind(), EndpointKind::Hysteria2);
        assert_eq!(ep.label, "hysteria2 HY 2 hy.example.com:443");
        let Target::ProxyLink(l) = &ep.target else {
            panic!()
        };
        assert_eq!(l.transport, "quic");
        assert_eq!(l.security, LinkSecurity::Tls);
        assert!(l.insecure);
        assert_eq!(l.obfs.as_deref(), Some("salamander"));
        assert_eq!(l.sni.as_deref(), Some("real.example.com"));
        assert_no_secrets(&format!("{ep:?}"), &[PASSWORD, "obfspass123"]);

        // hy2://, no auth, no port, a pin with colons.
        let pin = "ab".repeat(32);
        let colons: Vec<String> = (0..32).map(|_| "AB".to_string()).collect();
        let l = link(&format!("hy2://h.test?pinSHA256={}", colons.join(":")));
        assert_eq!(l.port, 443);
        assert_eq!(l.pin_sha256, Some([0xab; 32]));
        assert_eq!(l.obfs, None);
        assert_eq!(
            link(&format!("hy2://h.test?pinSHA256={pin}")).pin_sha256,
            Some([0xab; 32])
        );

        // Port hopping: the first port of the list.
        let l = link("hysteria2://a@[2001:db8::2]:20000-30000,443/?sni=x.test");
        assert_eq!(
            (l.host.as_str(), l.port, l.port_hopping),
            ("2001:db8::2", 20000, true)
        );
        let l = link("hysteria2://a@h.test:443,5000-6000");
        assert_eq!((l.port, l.port_hopping), (443, true));
        assert!(!link("hysteria2://a@h.test:8443").port_hopping);

        for (line, want) in [
            ("hysteria2://a@h.test:5000-", "bad port list"),
            ("hysteria2://a@h.test:6000-5000", "bad port list"),
            ("hysteria2://a@h.test:443,,", "bad port list"),
            ("hysteria2://a@h.test:x", "bad port"),
            ("hysteria2://a@h.test?pinSHA256=abcd", "pinSHA256"),
            ("hysteria2://a@:443", "missing server address"),
        ] {
            let e = err(line);
            assert!(e.contains(want), "{line}: {e}");
        }
        // Port lists are Hysteria2's alone.
        assert!(err(&format!("vless://{UUID}@h.test:443,444")).contains("bad port"));
    }

    /// A raw `?` or `#` in the password must not turn part of it into the
    /// host, the query or the name: such links are refused, and the error
    /// quotes none of it.
    #[test]
    fn raw_question_mark_or_hash_in_a_password_is_never_shown() {
        let pieces = ["pw", "Q1", "H1", "tail"];
        for line in [
            "hysteria2://pw?Q1@hy.example:443/?sni=s.test#name",
            "hysteria2://pw#H1@hy.example:443/?sni=s.test#name",
            "hysteria2://pw#H1@hy.example",
            "hy2://pw?Q1@hy.example",
            "hysteria2://pw@tail#H1@hy.example:443",
            "trojan://pw@tail?Q1@t.example:443#n",
            "trojan://pw@tail#H1@t.example:443?security=tls",
            "vless://pw#H1@v.example:443?security=tls",
            "tuic://u:pw?Q1@t.example:443",
        ] {
            let e = err(line);
            assert_no_secrets(&e, &pieces);
        }
        // Names with an '@' but nothing a host would have after it stay
        // fine, as do encoded passwords.
        let l = link("hysteria2://p%3Fw%23x@hy.example:443/?sni=s.test#Join%20@channel");
        assert_eq!(l.host, "hy.example");
        assert_eq!(l.name.as_deref(), Some("Join @channel"));
        let l = link(&format!("trojan://{PASSWORD}@t.example:443#@channel_name"));
        assert_eq!(
            (l.host.as_str(), l.name.as_deref()),
            ("t.example", Some("@channel_name"))
        );
    }

    #[test]
    fn dns_names_follow_length_limits() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        assert!(is_dns_name(&format!("{label63}.example")));
        assert!(!is_dns_name(&format!("{label64}.example")));
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(!is_dns_name(&long));
        assert!(is_dns_name(&long[..253]));
        assert!(is_dns_name("example.com."));
        for bad in ["", ".", ".a", "a..b", "-a.b", "a b", "a.b/c"] {
            assert!(!is_dns_name(bad), "{bad:?}");
        }
        assert!(
            err(&format!(
                "vless://{UUID}@h.test:443?security=tls&sni={label64}.x"
            ))
            .contains("sni")
        );
        assert!(err(&format!("vless://{UUID}@{label64}.x:443")).contains("bad server address"));
    }

    #[test]
    fn tuic_links() {
        let ep = parse(
            &format!(
                "tuic://{UUID}:{PASSWORD}@tuic.example.com:8443?congestion_control=bbr&alpn=h3\
                 &sni=tuic.example.com&udp_relay_mode=native&allow_insecure=1&disable_sni=1#T"
            ),
            Origin::User,
        )
        .unwrap();
        assert_eq!(ep.kind(), EndpointKind::Tuic);
        assert_eq!(ep.label, "tuic T tuic.example.com:8443");
        let Target::ProxyLink(l) = &ep.target else {
            panic!()
        };
        assert_eq!(l.alpn, vec!["h3".to_string()]);
        assert!(l.insecure && l.disable_sni);
        assert_eq!(l.transport, "quic");
        assert_no_secrets(&format!("{ep:?}"), &[UUID, PASSWORD]);
        let e = err("tuic://tuic.example.com:8443");
        assert!(e.contains("uuid:password"), "{e}");
        let e = err(&format!("tuic://{UUID}:{PASSWORD}@tuic.example.com"));
        assert!(e.contains("missing port"), "{e}");
        assert_no_secrets(&e, &[UUID, PASSWORD]);
    }

    #[test]
    fn names_are_cleaned_and_cut() {
        let l = link(&format!("vless://{UUID}@h.test:1#a%0Ab%09%09c%1B[31m"));
        assert_eq!(l.name.as_deref(), Some("a b c [31m"));
        let long = "x".repeat(200);
        let l = link(&format!("vless://{UUID}@h.test:1#{long}"));
        assert_eq!(l.name.map(|n| n.chars().count()), Some(MAX_NAME_CHARS + 1));
        // A fragment may hold raw spaces; the rest of the link may not.
        assert_eq!(
            link(&format!("vless://{UUID}@h.test:1#two words"))
                .name
                .as_deref(),
            Some("two words")
        );
        assert_eq!(link(&format!("vless://{UUID}@h.test:1#%20")).name, None);
        // Sloppy escapes survive as text.
        assert_eq!(
            crate::catalog::percent_decode("100%", false).unwrap_or_default(),
            "100%"
        );
        assert_eq!(
            crate::catalog::percent_decode("%zz%41", false).unwrap_or_default(),
            "%zzA"
        );
        assert_eq!(
            crate::catalog::percent_decode("a+b", false).unwrap_or_default(),
            "a+b"
        );
    }

    #[test]
    fn schemes_are_case_insensitive_and_routed_by_the_catalog() {
        let l = link(&format!("VLESS://{UUID}@h.test:1"));
        assert_eq!(l.protocol, LinkProtocol::Vless);
        let ep = crate::catalog::parse_line(&format!("hy2://{PASSWORD}@h.test:1"), Origin::User)
            .unwrap();
        assert_eq!(ep.kind(), EndpointKind::Hysteria2);
        let e = err("socks5://h.test:1");
        assert!(e.contains("not a VLESS"), "{e}");
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "vless://",
            "vless://@",
            "vless://@:",
            "vless://a@[",
            "vless://a@[]",
            "vless://a@[]:1",
            "vless://a@h:1?&&==&=%",
            "vless://a@h:1?%",
            "trojan://@@@@",
            "hysteria2://",
            "hy2://:",
            "hy2://a@h:,",
            "hy2://a@h:-",
            "tuic://a@h:1?alpn=%",
            "vmess://====",
            "vmess://e30",
            "vmess://bnVsbA",
            "vmess://#",
        ];
        for input in inputs {
            let _ = parse(input, Origin::User);
        }
    }
}
