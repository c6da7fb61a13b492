//! OpenVPN client profiles (`.ovpn`): one endpoint per `remote` line, all
//! sharing the profile's keys and CA.

use std::sync::Arc;

use super::secret::Secret;
use super::{Catalog, Origin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OvpnProto {
    Udp,
    Tcp,
}

/// How the control channel is wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ControlWrap {
    #[default]
    None,
    /// `tls-auth`: HMAC on every control packet. `key` is the 256-byte
    /// OpenVPN static key; `direction` from `key-direction` (or the
    /// `tls-auth file N` argument).
    TlsAuth {
        key: Secret<Vec<u8>>,
        direction: Option<u8>,
    },
    /// `tls-crypt`: AES-256-CTR + HMAC-SHA256 with the 256-byte static key.
    TlsCrypt { key: Secret<Vec<u8>> },
    /// `tls-crypt-v2` client key: the 256-byte client key material and the
    /// wrapped key (WKc) that is sent to the server.
    TlsCryptV2 {
        key: Secret<Vec<u8>>,
        wkc: Secret<Vec<u8>>,
    },
}

/// Everything from the profile except the remotes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OvpnProfile {
    /// File stem, for labels.
    pub name: Option<String>,
    /// Inline `<ca>` (or a readable `ca` file next to the profile), PEM.
    pub ca_pem: Option<String>,
    pub wrap: ControlWrap,
    /// `auth` digest for tls-auth HMAC (OpenVPN default SHA1).
    pub auth_digest: String,
    /// Client certificate and key, when the profile carries them.
    pub cert_pem: Option<Secret<String>>,
    pub key_pem: Option<Secret<String>>,
}

/// One `remote` of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvpnRemote {
    pub host: String,
    pub port: u16,
    pub proto: OvpnProto,
    pub profile: Arc<OvpnProfile>,
}

/// True when the text is an OpenVPN client profile.
pub fn looks_like(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("remote ") || l.starts_with("<ca>") || l.starts_with("client")
    }) && text.lines().any(|l| l.trim_start().starts_with("remote "))
}

pub fn parse(text: &str, source_name: &str, origin: Origin) -> Catalog {
    let _ = (text, origin);
    let mut c = Catalog::default();
    c.errors.push(super::ParseError {
        source_name: source_name.to_string(),
        line: 1,
        message: "OpenVPN profiles are not supported yet".into(),
    });
    c
}
