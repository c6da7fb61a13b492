//! One Tor bridge line, as written after `Bridge` in a torrc or pasted into
//! Tor Browser's "Provide a bridge" box:
//!
//! ```text
//! [Bridge] [transport] IP[:port] [fingerprint] [key=value ...]
//! 192.0.2.1:9001 4C17FB532E20B2A8AC199441ECD2B0178B69B0A4
//! obfs4 192.0.2.2:443 <FP> cert=<base64> iat-mode=0
//! webtunnel [2001:db8::1]:443 <FP> url=https://example.org/path ver=0.0.1
//! snowflake 192.0.2.3:80 <FP> fingerprint=<FP> url=… fronts=… ice=… utls-imitate=…
//! meek_lite 192.0.2.20:80 url=https://… front=… utls=…
//! ```
//!
//! Choices, following tor's own bridge line parser where it has one:
//! * The first token is a transport name when it is a C identifier (tor's
//!   rule), otherwise the line is a vanilla bridge and the token the address.
//! * The port defaults to 443 when left out, as in tor. Port 0 is refused.
//! * The address must be an IP literal; IPv6 goes in brackets.
//! * The fingerprint is optional for every transport. Without one, the
//!   bridge's identity cannot be checked, only that something answers.
//!   `$`-prefixed and space-grouped (relay search) forms are accepted.
//! * `key=value` options are split on the first `=` only, since values carry
//!   base64 padding and URLs. A key given twice is an error: transports read
//!   only one value, so the other would be silently ignored.
//! * Known transports get their required options checked (obfs4 `cert=` or
//!   `node-id=` + `public-key=`, and `iat-mode=`; webtunnel and meek `url=`);
//!   unknown transports are kept as [`Transport::Other`] with their options
//!   unchecked.
//! * A token starting with `#` starts a comment that runs to the end.
//!
//! No standard bridge line form carries an Ed25519 identity, so none is
//! parsed; such a key would simply be kept as an option.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use base64::Engine as _;

use super::shorten;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Where tor connects to (for snowflake, meek and conjure, a placeholder
/// address that only tells bridges apart).
pub type BridgeAddr = SocketAddr;

/// Port tor assumes when a bridge line has none.
pub const DEFAULT_PORT: u16 = 443;

/// Bytes in an obfs4 `cert=`: node ID (20) followed by the Curve25519
/// public key (32).
const OBFS4_CERT_LEN: usize = 52;

/// The pluggable transport a bridge line names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// No transport: plain Tor protocol to the ORPort.
    Vanilla,
    Obfs4,
    Webtunnel,
    Snowflake,
    /// `meek_lite` (lyrebird) or `meek` (the old meek-client); which one was
    /// written is kept in [`BridgeLine::transport_name`].
    Meek,
    Conjure,
    /// Any other transport, with the name as written.
    Other(String),
}

impl Transport {
    /// The transport for a name from a bridge line; known names are matched
    /// without regard to case.
    pub fn from_name(name: &str) -> Transport {
        match name.to_ascii_lowercase().as_str() {
            "obfs4" => Transport::Obfs4,
            "webtunnel" => Transport::Webtunnel,
            "snowflake" => Transport::Snowflake,
            "meek_lite" | "meek" => Transport::Meek,
            "conjure" => Transport::Conjure,
            _ => Transport::Other(name.to_string()),
        }
    }

    /// Name for messages and grouping (`vanilla` for no transport).
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Vanilla => "vanilla",
            Transport::Obfs4 => "obfs4",
            Transport::Webtunnel => "webtunnel",
            Transport::Snowflake => "snowflake",
            Transport::Meek => "meek",
            Transport::Conjure => "conjure",
            Transport::Other(name) => name,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed bridge line. [`fmt::Display`] writes it back in canonical form
/// (without the `Bridge` keyword; see [`BridgeLine::torrc_line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeLine {
    pub transport: Transport,
    /// The transport name to write back: lower case for known transports,
    /// `meek_lite` or `meek` as given, the original spelling for others,
    /// empty for vanilla bridges.
    pub transport_name: String,
    pub addr: BridgeAddr,
    /// The bridge's RSA identity (SHA-1 of its key). `None` means the
    /// identity cannot be verified when connecting.
    pub fingerprint: Option<[u8; 20]>,
    /// Transport options in the order written. An obfs4 `cert=` is stored
    /// without base64 padding, the form lyrebird expects.
    pub params: Vec<(String, String)>,
}

impl BridgeLine {
    /// The value of option `key`, if present.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The fingerprint as 40 upper-case hex digits.
    pub fn fingerprint_hex(&self) -> Option<String> {
        self.fingerprint.as_ref().map(|fp| hex_upper(fp))
    }

    /// The line as a torrc option: `Bridge …`.
    pub fn torrc_line(&self) -> String {
        format!("Bridge {self}")
    }
}

impl fmt::Display for BridgeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.transport != Transport::Vanilla {
            let name = if self.transport_name.is_empty() {
                self.transport.as_str()
            } else {
                self.transport_name.as_str()
            };
            write!(f, "{name} ")?;
        }
        write!(f, "{}", self.addr)?;
        if let Some(fp) = &self.fingerprint {
            write!(f, " {}", hex_upper(fp))?;
        }
        for (key, value) in &self.params {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

/// Why a bridge line was refused. Messages name the field and the reason;
/// the caller adds the file and line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeLineError {
    #[error("the bridge line is empty")]
    Empty,
    #[error(
        "{token:?} is neither a transport name nor an IP:port address \
         (transport names are letters, digits and _)"
    )]
    BadTransportName { token: String },
    #[error("the {transport} bridge line has no address: expected IP:port after {transport:?}")]
    MissingAddress { transport: String },
    #[error("bad bridge address {value:?}: {reason}")]
    BadAddress { value: String, reason: String },
    #[error("bad fingerprint {value:?}: {reason}")]
    BadFingerprint { value: String, reason: String },
    #[error(
        "unexpected {token:?} after the options: options are written key=value, \
         with no spaces around the ="
    )]
    UnexpectedToken { token: String },
    #[error(
        "a vanilla bridge takes no key=value options ({key}= given): \
         is the transport name missing at the start?"
    )]
    OptionsWithoutTransport { key: String },
    #[error("option {token:?} has no name before the =")]
    EmptyOptionKey { token: String },
    #[error("{key}= needs a value")]
    EmptyOptionValue { key: String },
    #[error("{key}= is given twice")]
    DuplicateOption { key: String },
    #[error("{transport} bridge needs {what}")]
    MissingOption {
        transport: &'static str,
        what: &'static str,
    },
    #[error("bad {key}= value {value:?}: {reason}")]
    BadOption {
        key: String,
        value: String,
        reason: String,
    },
    #[error(
        "fingerprint={param} does not match the bridge fingerprint {line}: \
         the line was probably edited or pasted together from two bridges"
    )]
    FingerprintMismatch { line: String, param: String },
}

/// Parses one bridge line, with or without the leading `Bridge` keyword.
pub fn parse(line: &str) -> Result<BridgeLine, BridgeLineError> {
    let tokens: Vec<&str> = line
        .split_whitespace()
        .take_while(|t| !t.starts_with('#'))
        .collect();
    let mut rest = tokens.as_slice();
    if let Some((first, tail)) = rest.split_first()
        && first.eq_ignore_ascii_case("bridge")
    {
        rest = tail;
    }
    let Some((&first, tail)) = rest.split_first() else {
        return Err(BridgeLineError::Empty);
    };

    let (transport, transport_name, addr_token, rest) = if is_c_identifier(first) {
        let transport = Transport::from_name(first);
        let name = match &transport {
            Transport::Other(name) => name.clone(),
            _ => first.to_ascii_lowercase(),
        };
        let Some((&addr, rest)) = tail.split_first() else {
            return Err(BridgeLineError::MissingAddress { transport: name });
        };
        (transport, name, addr, rest)
    } else if looks_like_address(first) {
        (Transport::Vanilla, String::new(), first, tail)
    } else {
        return Err(BridgeLineError::BadTransportName {
            token: shorten(first),
        });
    };

    let addr = parse_addr(addr_token)?;

    // Everything up to the first key=value is the fingerprint, so that
    // space-grouped fingerprints from relay search work.
    let fp_len = rest.iter().take_while(|t| !t.contains('=')).count();
    let (fp_tokens, option_tokens) = rest.split_at(fp_len);
    let fingerprint = if fp_tokens.is_empty() {
        None
    } else {
        Some(parse_fingerprint(&fp_tokens.join(" "))?)
    };

    let mut params: Vec<(String, String)> = Vec::with_capacity(option_tokens.len());
    for token in option_tokens {
        let Some((key, value)) = token.split_once('=') else {
            return Err(BridgeLineError::UnexpectedToken {
                token: shorten(token),
            });
        };
        if key.is_empty() {
            return Err(BridgeLineError::EmptyOptionKey {
                token: shorten(token),
            });
        }
        if transport == Transport::Vanilla {
            return Err(BridgeLineError::OptionsWithoutTransport { key: shorten(key) });
        }
        if value.is_empty() {
            return Err(BridgeLineError::EmptyOptionValue { key: shorten(key) });
        }
        if params.iter().any(|(k, _)| k == key) {
            return Err(BridgeLineError::DuplicateOption { key: shorten(key) });
        }
        params.push((key.to_string(), value.to_string()));
    }

    let mut bridge = BridgeLine {
        transport,
        transport_name,
        addr,
        fingerprint,
        params,
    };
    check_transport_options(&mut bridge)?;
    Ok(bridge)
}

/// Parses a relay fingerprint: 40 hex digits, optionally `$`-prefixed or
/// split into groups by spaces.
pub fn parse_fingerprint(raw: &str) -> Result<[u8; 20], BridgeLineError> {
    let trimmed = raw.trim();
    let digits: String = trimmed
        .strip_prefix('$')
        .unwrap_or(trimmed)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bad = |reason: String| BridgeLineError::BadFingerprint {
        value: shorten(trimmed),
        reason,
    };
    let n = digits.chars().count();
    if n != 40 {
        return Err(bad(format!("fingerprint must be 40 hex digits, got {n}")));
    }
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "fingerprint must be 40 hex digits, but {c:?} is not a hex digit"
        )));
    }
    super::hex_array(&digits).ok_or_else(|| bad("fingerprint is not hex".into()))
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// tor's rule for transport names.
fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a first token that is not a transport name should be read as an
/// address (so that errors talk about the address, not the transport).
fn looks_like_address(s: &str) -> bool {
    s.starts_with('[') || s.contains(':') || s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn parse_addr(token: &str) -> Result<BridgeAddr, BridgeLineError> {
    let bad = |reason: &str| BridgeLineError::BadAddress {
        value: shorten(token),
        reason: reason.to_string(),
    };
    let (ip, port): (IpAddr, Option<&str>) = if let Some(rest) = token.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(bad("missing ] after the IPv6 address"));
        };
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| bad("the part in brackets is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("expected :port after the ]"))?,
            ),
        };
        (IpAddr::V6(ip), port)
    } else if token.contains(']') {
        return Err(bad("found ] without a [ before the IPv6 address"));
    } else {
        match token.matches(':').count() {
            0 | 1 => {
                let (host, port) = match token.split_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (token, None),
                };
                let ip = host.parse::<IpAddr>().map_err(|_| {
                    if host.is_empty() {
                        bad("the IP address before the port is empty")
                    } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                        bad("not a valid IPv4 address")
                    } else {
                        bad("bridges need an IP address, not a host name")
                    }
                })?;
                (ip, port)
            }
            _ => {
                return Err(bad(
                    "IPv6 addresses must be written in brackets, e.g. [2001:db8::1]:443",
                ));
            }
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => parse_port(p).map_err(|reason| bad(&reason))?,
    };
    Ok(SocketAddr::new(ip, port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Err("the port after : is empty".to_string());
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {:?} is not a number", shorten(p)));
    }
    match p.parse::<u16>() {
        Ok(0) => Err("port 0 is not valid".to_string()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("port {} is out of range (1-65535)", shorten(p))),
    }
}

/// Checks the options each known transport needs to work at all.
fn check_transport_options(bridge: &mut BridgeLine) -> Result<(), BridgeLineError> {
    match bridge.transport {
        Transport::Obfs4 => check_obfs4(bridge),
        Transport::Webtunnel => {
            let url = bridge.param("url").ok_or(BridgeLineError::MissingOption {
                transport: "webtunnel",
                what: "url=https://…",
            })?;
            check_url("url", url, &["https"], "webtunnel url must be https")
        }
        Transport::Meek => {
            let url = bridge.param("url").ok_or(BridgeLineError::MissingOption {
                transport: "meek",
                what: "url=https://… (the meek server behind the front)",
            })?;
            check_url(
                "url",
                url,
                &["https", "http"],
                "meek url must be https:// (or http://)",
            )
        }
        Transport::Snowflake => check_snowflake(bridge),
        Transport::Conjure => match bridge.param("url") {
            Some(url) => check_url(
                "url",
                url,
                &["https"],
                "conjure registrar url must be https",
            ),
            None => Ok(()),
        },
        Transport::Vanilla | Transport::Other(_) => Ok(()),
    }
}

fn check_obfs4(bridge: &mut BridgeLine) -> Result<(), BridgeLineError> {
    let has_cert = bridge.param("cert").is_some();
    if has_cert {
        if let Some((_, cert)) = bridge.params.iter_mut().find(|(k, _)| k == "cert") {
            // lyrebird appends the padding itself, so it must not be there.
            let unpadded = cert.trim_end_matches('=').to_string();
            decode_obfs4_cert(&unpadded).map_err(|reason| BridgeLineError::BadOption {
                key: "cert".to_string(),
                value: shorten(cert),
                reason,
            })?;
            *cert = unpadded;
        }
    } else {
        // The pre-0.0.3 form: node ID and public key in hex.
        match (bridge.param("node-id"), bridge.param("public-key")) {
            (Some(node_id), Some(public_key)) => {
                check_hex("node-id", node_id, 20)?;
                check_hex("public-key", public_key, 32)?;
            }
            _ => {
                return Err(BridgeLineError::MissingOption {
                    transport: "obfs4",
                    what: "cert=… (or the old node-id= and public-key= pair)",
                });
            }
        }
    }
    match bridge.param("iat-mode") {
        None => Err(BridgeLineError::MissingOption {
            transport: "obfs4",
            what: "iat-mode=0, 1 or 2",
        }),
        Some("0" | "1" | "2") => Ok(()),
        Some(other) => Err(BridgeLineError::BadOption {
            key: "iat-mode".to_string(),
            value: shorten(other),
            reason: "iat-mode must be 0, 1 or 2".to_string(),
        }),
    }
}

/// Decodes an unpadded obfs4 cert the way lyrebird does (standard base64
/// alphabet) and checks its length.
fn decode_obfs4_cert(unpadded: &str) -> Result<[u8; OBFS4_CERT_LEN], String> {
    // Go's decoder ignores non-zero trailing bits; do the same so that we
    // accept every cert lyrebird accepts.
    let engine = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = engine
        .decode(unpadded)
        .map_err(|e| format!("cert must be base64 (A-Z, a-z, 0-9, + and /): {e}"))?;
    let n = bytes.len();
    bytes.try_into().map_err(|_| {
        format!(
            "cert must decode to {OBFS4_CERT_LEN} bytes (node ID and public key), got {n}: \
             was it cut off when copying?"
        )
    })
}

fn check_hex(key: &str, value: &str, bytes: usize) -> Result<(), BridgeLineError> {
    let want = bytes * 2;
    let n = value.chars().count();
    if n != want || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BridgeLineError::BadOption {
            key: key.to_string(),
            value: shorten(value),
            reason: format!("{key} must be {want} hex digits, got {n} character(s)"),
        });
    }
    Ok(())
}

fn check_snowflake(bridge: &BridgeLine) -> Result<(), BridgeLineError> {
    if let Some(param) = bridge.param("fingerprint") {
        let param_fp = parse_fingerprint(param).map_err(|e| match e {
            BridgeLineError::BadFingerprint { value, reason } => BridgeLineError::BadOption {
                key: "fingerprint".to_string(),
                value,
                reason,
            },
            other => other,
        })?;
        if let Some(line_fp) = bridge.fingerprint
            && line_fp != param_fp
        {
            return Err(BridgeLineError::FingerprintMismatch {
                line: hex_upper(&line_fp),
                param: hex_upper(&param_fp),
            });
        }
    }
    if let Some(url) = bridge.param("url") {
        check_url(
            "url",
            url,
            &["https", "http"],
            "snowflake broker url must be https:// (or http://)",
        )?;
    }
    if let Some(ice) = bridge.param("ice") {
        for server in ice.split(',') {
            let scheme = server.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("stun" | "stuns" | "turn" | "turns")) {
                return Err(BridgeLineError::BadOption {
                    key: "ice".to_string(),
                    value: shorten(server),
                    reason: "ice= is a comma-separated list of stun:host:port \
                             (or turn:) servers"
                        .to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Checks that `value` is a URL with one of `schemes` and a host; `reason`
/// explains a wrong scheme.
fn check_url(
    key: &str,
    value: &str,
    schemes: &[&str],
    reason: &str,
) -> Result<(), BridgeLineError> {
    let bad = |reason: &str| BridgeLineError::BadOption {
        key: key.to_string(),
        value: shorten(value),
        reason: reason.to_string(),
    };
    let Some((scheme, after)) = value.split_once("://") else {
        return Err(bad(reason));
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(bad(reason));
    }
    let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("the URL has no host name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "CDF2E852BF539B82BD10E27E9115A31734E378C2";
    const CERT: &str = "qUVQ0srL1JI/vO6V6m/24anYXiJD3QP2HgzUKQtQ7GRqqUvs7P+tG43RtAqdhLOALP7DJQ";

    fn ok(line: &str) -> BridgeLine {
        parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(line: &str) -> String {
        match parse(line) {
            Ok(b) => panic!("{line} parsed as {b:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn vanilla_bridges() {
        let b = ok(&format!("192.0.2.1:9001 {FP}"));
        assert_eq!(b.transport, Transport::Vanilla);
        assert_eq!(b.addr, "192.0.2.1:9001".parse().unwrap());
        assert_eq!(b.fingerprint_hex().as_deref(), Some(FP));
        assert!(b.params.is_empty());
        assert_eq!(b.to_string(), format!("192.0.2.1:9001 {FP}"));
        assert_eq!(b.torrc_line(), format!("Bridge 192.0.2.1:9001 {FP}"));

        // Without a fingerprint (identity unverifiable), and without a port.
        let b = ok("Bridge 192.0.2.1");
        assert_eq!(b.fingerprint, None);
        assert_eq!(b.addr.port(), 443);
        assert_eq!(b.to_string(), "192.0.2.1:443");

        // Keyword in any case, lower-case hex, `$` prefix, relay-search groups.
        let lower = FP.to_ascii_lowercase();
        assert_eq!(
            ok(&format!("BRIDGE 192.0.2.1:1 ${lower}"))
                .fingerprint_hex()
                .as_deref(),
            Some(FP)
        );
        let grouped: Vec<String> = FP
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let b = ok(&format!("bridge 192.0.2.1:1 {}", grouped.join(" ")));
        assert_eq!(b.fingerprint_hex().as_deref(), Some(FP));

        let b = ok(&format!("[2001:DB8::1]:443 {FP}  # comment"));
        assert_eq!(b.to_string(), format!("[2001:db8::1]:443 {FP}"));
    }

    #[test]
    fn obfs4_bridges() {
        let line = format!("obfs4 192.95.36.142:443 {FP} cert={CERT} iat-mode=1");
        let b = ok(&line);
        assert_eq!(b.transport, Transport::Obfs4);
        assert_eq!(b.param("cert"), Some(CERT));
        assert_eq!(b.param("iat-mode"), Some("1"));
        assert_eq!(b.to_string(), line);
        // Round trip through Display.
        assert_eq!(ok(&b.to_string()), b);

        // Padding is dropped, since lyrebird adds it itself.
        let b = ok(&format!(
            "Bridge OBFS4 192.0.2.2:443 {FP} cert={CERT}== iat-mode=0"
        ));
        assert_eq!(b.param("cert"), Some(CERT));
        assert_eq!(b.transport_name, "obfs4");

        // Without a fingerprint, and the old node-id/public-key form.
        ok(&format!("obfs4 192.0.2.2:443 cert={CERT} iat-mode=2"));
        ok(&format!(
            "obfs4 192.0.2.2:443 node-id={} public-key={} iat-mode=0",
            "a".repeat(40),
            "b".repeat(64)
        ));
    }

    #[test]
    fn obfs4_errors() {
        let e = err(&format!("obfs4 192.0.2.2:443 {FP} iat-mode=0"));
        assert!(e.starts_with("obfs4 bridge needs cert="), "{e}");
        let e = err(&format!("obfs4 192.0.2.2:443 {FP} cert={CERT}"));
        assert!(e.contains("needs iat-mode="), "{e}");
        let e = err(&format!("obfs4 192.0.2.2:443 {FP} cert={CERT} iat-mode=3"));
        assert!(e.contains("iat-mode must be 0, 1 or 2"), "{e}");
        let e = err(&format!(
            "obfs4 192.0.2.2:443 {FP} cert={} iat-mode=0",
            &CERT[..60]
        ));
        assert!(e.contains("52 bytes"), "{e}");
        let e = err(&format!(
            "obfs4 192.0.2.2:443 {FP} cert=!!{} iat-mode=0",
            &CERT[2..]
        ));
        assert!(e.contains("base64"), "{e}");
        let e = err(&format!(
            "obfs4 192.0.2.2:443 {FP} cert={} iat-mode=0",
            CERT.replace('/', "_")
        ));
        assert!(e.contains("base64"), "{e}");
        let e = err(&format!(
            "obfs4 192.0.2.2:443 node-id=abc public-key={} iat-mode=0",
            "b".repeat(64)
        ));
        assert!(e.contains("node-id must be 40 hex digits"), "{e}");
        let e = err(&format!(
            "obfs4 192.0.2.2:443 {FP} cert={CERT} cert={CERT} iat-mode=0"
        ));
        assert_eq!(e, "cert= is given twice");
    }

    #[test]
    fn webtunnel_bridges() {
        let line = format!(
            "webtunnel [2001:db8:3ea0:4a3a:2c1:d4cf:b4a2:6a13]:443 {FP} url=https://example.org/x?a=b= ver=0.0.1"
        );
        let b = ok(&line);
        assert_eq!(b.transport, Transport::Webtunnel);
        assert_eq!(b.param("url"), Some("https://example.org/x?a=b="));
        assert_eq!(b.param("ver"), Some("0.0.1"));
        assert_eq!(b.to_string(), line);

        assert_eq!(
            err(&format!("webtunnel [2001:db8::1]:443 {FP} ver=0.0.1")),
            "webtunnel bridge needs url=https://…"
        );
        let e = err(&format!(
            "webtunnel [2001:db8::1]:443 {FP} url=http://example.org/x"
        ));
        assert!(e.contains("webtunnel url must be https"), "{e}");
        let e = err(&format!("webtunnel [2001:db8::1]:443 {FP} url=https:///x"));
        assert!(e.contains("no host"), "{e}");
    }

    #[test]
    fn snowflake_meek_conjure() {
        let fp2 = "2B280B23E1107BB62ABFC40DDCC8824814F80A72";
        let line = format!(
            "snowflake 192.0.2.3:80 {fp2} fingerprint={fp2} url=https://snowflake.example/ \
             fronts=a.example,b.example ice=stun:stun.example:3478,stun:stun2.example:3478 \
             utls-imitate=hellorandomizedalpn"
        );
        let b = ok(&line);
        assert_eq!(b.transport, Transport::Snowflake);
        assert_eq!(b.params.len(), 5);
        let e = err(&line.replace(&format!("fingerprint={fp2}"), &format!("fingerprint={FP}")));
        assert!(e.contains("does not match"), "{e}");
        let e = err(&line.replace("fingerprint=2B28", "fingerprint=2B"));
        assert!(e.contains("bad fingerprint= value"), "{e}");
        assert!(e.contains("got 38"), "{e}");
        let e = err(&line.replace("ice=stun:", "ice=example.org,stun:"));
        assert!(e.contains("bad ice= value \"example.org\""), "{e}");

        let b = ok(
            "meek_lite 192.0.2.20:80 url=https://meek.example front=www.example.net utls=HelloRandomizedALPN",
        );
        assert_eq!(b.transport, Transport::Meek);
        assert_eq!(b.transport_name, "meek_lite");
        assert_eq!(b.fingerprint, None);
        assert!(b.to_string().starts_with("meek_lite 192.0.2.20:80 url="));
        let b = ok(&format!(
            "meek 0.0.2.0:2 {FP} url=https://meek.example/ front=x.example"
        ));
        assert_eq!(b.transport, Transport::Meek);
        assert!(b.to_string().starts_with("meek 0.0.2.0:2 "));
        assert!(
            err("meek_lite 192.0.2.20:80 front=www.example.net").contains("meek bridge needs url=")
        );

        let b = ok(
            "conjure 143.110.214.222:80 url=https://registration.example/api fronts=cdn.example registrar=dns",
        );
        assert_eq!(b.transport, Transport::Conjure);
        assert!(err("conjure 143.110.214.222:80 url=ftp://x").contains("https"));
    }

    #[test]
    fn unknown_transport_is_other() {
        let b = ok("scramblesuit 192.0.2.5:443 password=ABC= foo=bar=baz");
        assert_eq!(b.transport, Transport::Other("scramblesuit".to_string()));
        assert_eq!(b.param("password"), Some("ABC="));
        assert_eq!(b.param("foo"), Some("bar=baz"));
        assert_eq!(
            b.to_string(),
            "scramblesuit 192.0.2.5:443 password=ABC= foo=bar=baz"
        );
        let b = ok("MyPT_2 192.0.2.5:443");
        assert_eq!(b.transport_name, "MyPT_2");
        assert_eq!(b.to_string(), "MyPT_2 192.0.2.5:443");
    }

    #[test]
    fn fingerprint_errors() {
        let e = err(&format!("192.0.2.1:443 {}", &FP[..38]));
        assert!(
            e.contains("fingerprint must be 40 hex digits, got 38"),
            "{e}"
        );
        let e = err(&format!(
            "obfs4 192.0.2.1:443 {}Z cert={CERT} iat-mode=0",
            &FP[..39]
        ));
        assert!(e.contains("'Z' is not a hex digit"), "{e}");
        assert!(parse_fingerprint(&format!("${FP}")).is_ok());
        assert!(parse_fingerprint("").is_err());
    }

    #[test]
    fn address_errors() {
        assert!(err(&format!("192.0.2.1:0 {FP}")).contains("port 0 is not valid"));
        assert!(err(&format!("obfs4 192.0.2.1:0 {FP}")).contains("port 0 is not valid"));
        assert!(err("192.0.2.1:65536").contains("out of range"));
        assert!(err("192.0.2.1:").contains("port after : is empty"));
        assert!(err("192.0.2.1:https").contains("not a number"));
        assert!(err("2001:db8::1:443").contains("must be written in brackets"));
        assert!(err("obfs4 2001:db8::1 cert=x").contains("must be written in brackets"));
        assert!(err("[2001:db8::1:443").contains("missing ]"));
        assert!(err("2001:db8::1]:443").contains("without a ["));
        assert!(err("[2001:db8::1]443").contains("expected :port"));
        assert!(err("[192.0.2.1]:443").contains("not an IPv6"));
        assert!(err("obfs4 bridge.example:443").contains("not a host name"));
        assert!(err("192.0.2:443").contains("not a valid IPv4"));
        assert!(err(":443").contains("empty"));
        assert!(err("obfs4").contains("has no address"));
        assert!(err("Bridge webtunnel").contains("has no address"));
        assert!(err("obfs-4 192.0.2.1:443").contains("neither a transport name"));
    }

    #[test]
    fn option_errors() {
        assert!(err("192.0.2.1:443 cert=abc").contains("vanilla bridge takes no key=value"));
        assert!(err("foo 192.0.2.1:443 a=1 b").contains("unexpected \"b\""));
        assert!(err("foo 192.0.2.1:443 =1").contains("no name"));
        assert_eq!(err("foo 192.0.2.1:443 a="), "a= needs a value");
        assert_eq!(err("foo 192.0.2.1:443 a=1 a=2"), "a= is given twice");
    }

    #[test]
    fn empty_lines() {
        assert_eq!(err(""), "the bridge line is empty");
        assert_eq!(err("   "), "the bridge line is empty");
        assert_eq!(err("Bridge"), "the bridge line is empty");
        assert_eq!(err("# obfs4 192.0.2.1:443"), "the bridge line is empty");
    }

    #[test]
    fn odd_input_never_panics() {
        for line in [
            "[",
            "]",
            "[]",
            "[]:",
            "[:::]:",
            "=",
            "a =",
            "é 1.2.3.4",
            "obfs4 [é]:1",
            "obfs4 1.2.3.4:1 cert=é iat-mode=0",
            "snowflake 1.2.3.4:1 fingerprint=é",
            "webtunnel 1.2.3.4:1 url=https://é",
            "\u{0}\u{1}",
            "1.2.3.4:1 $",
            "1.2.3.4:1 é",
        ] {
            let _ = parse(line);
        }
    }

    /// The shipped Tor Browser built-ins must all parse, and re-serialise
    /// to exactly what was shipped.
    #[test]
    fn shipped_builtin_list_parses() {
        let text = include_str!("../../bridges/tor-builtin.txt");
        let mut seen = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let b = parse(line).unwrap_or_else(|e| panic!("line {}: {e}", idx + 1));
            assert_eq!(b.to_string(), line, "line {}", idx + 1);
            seen.push(b.transport);
        }
        assert!(seen.iter().filter(|t| **t == Transport::Obfs4).count() >= 5);
        assert_eq!(
            seen.iter().filter(|t| **t == Transport::Snowflake).count(),
            2
        );
        assert!(seen.contains(&Transport::Meek));
    }
}
