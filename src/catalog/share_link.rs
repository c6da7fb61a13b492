//! Share links of the Xray/sing-box family: `vless://`, `vmess://`,
//! `trojan://`, `hysteria2://`/`hy2://`, `tuic://`. Only what a front probe
//! needs is kept; user ids and passwords are dropped on parsing.

use super::{Endpoint, Origin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkProtocol {
    Vless,
    Vmess,
    Trojan,
    Hysteria2,
    Tuic,
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
    pub host: String,
    pub port: u16,
    pub security: LinkSecurity,
    /// TLS server name (`sni`/`peer`), when the link sets one.
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// The client TLS fingerprint the link asks for (`fp=chrome`), recorded
    /// beside the result because rustls does not imitate browsers.
    pub fingerprint: Option<String>,
    /// Stream transport (`tcp`, `ws`, `grpc`, `h2`, ...); QUIC for
    /// Hysteria2 and TUIC.
    pub transport: String,
    /// `allowInsecure`/`insecure=1`: the link itself skips certificate checks.
    pub insecure: bool,
}

pub fn parse(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let _ = (line, origin);
    Err("share links are not supported yet".into())
}
