//! OpenVPN client profiles (`.ovpn`): one endpoint per `remote` line, all
//! sharing the profile's keys and CA.
//!
//! Follows OpenVPN's config syntax where it matters for reaching a server:
//! one option per line, `#` or `;` starting a comment at a word boundary,
//! double quotes around words with spaces, inline files as `<tag>…</tag>`
//! blocks, and `<connection>` blocks that each carry their own `remote`.
//! Options that only matter once a tunnel is up (routes, ciphers, `dev`)
//! are ignored. Errors carry the 1-based line the option starts on and
//! never quote key material: inside a block, only its tag is named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::secret::Secret;
use super::{Catalog, Endpoint, Origin, ParseError, Target, host_for_url, shorten};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OvpnProto {
    Udp,
    Tcp,
}

impl OvpnProto {
    pub fn as_str(self) -> &'static str {
        match self {
            OvpnProto::Udp => "udp",
            OvpnProto::Tcp => "tcp",
        }
    }
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

impl ControlWrap {
    /// Name of the wrapping as the profile spells it.
    pub fn name(&self) -> &'static str {
        match self {
            ControlWrap::None => "none",
            ControlWrap::TlsAuth { .. } => "tls-auth",
            ControlWrap::TlsCrypt { .. } => "tls-crypt",
            ControlWrap::TlsCryptV2 { .. } => "tls-crypt-v2",
        }
    }
}

/// Everything from the profile except the remotes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OvpnProfile {
    /// File stem, for labels.
    pub name: Option<String>,
    /// Inline `<ca>` (or a readable `ca` file next to the profile), PEM.
    pub ca_pem: Option<String>,
    pub wrap: ControlWrap,
    /// `auth` digest for tls-auth HMAC (OpenVPN default SHA1), canonical
    /// upper-case name: MD5, SHA1, SHA224, SHA256, SHA384 or SHA512.
    pub auth_digest: String,
    /// Client certificate and key, when the profile carries them.
    pub cert_pem: Option<Secret<String>>,
    pub key_pem: Option<Secret<String>>,
    /// Options of the profile that change how the server is reached but
    /// that the probe does not imitate (`http-proxy`, `socks-proxy`, …),
    /// by name only.
    pub not_imitated: Vec<String>,
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

/// Bytes in an OpenVPN static key (`--genkey secret`): four 64-byte
/// slices, cipher and HMAC keys for each direction.
pub const STATIC_KEY_LEN: usize = 256;
const STATIC_KEY_BEGIN: &str = "-----BEGIN OpenVPN Static key V1-----";
const STATIC_KEY_END: &str = "-----END OpenVPN Static key V1-----";
const V2_CLIENT_BEGIN: &str = "-----BEGIN OpenVPN tls-crypt-v2 client key-----";
const V2_CLIENT_END: &str = "-----END OpenVPN tls-crypt-v2 client key-----";
const V2_SERVER_BEGIN: &str = "-----BEGIN OpenVPN tls-crypt-v2 server key-----";
/// OpenVPN's limit on a wrapped client key (TLS_CRYPT_V2_MAX_WKC_LEN).
const MAX_WKC_LEN: usize = 1024;
/// Tag (32) + encrypted client key (256) + length (2): the smallest WKc.
const MIN_WKC_LEN: usize = 32 + STATIC_KEY_LEN + 2;

/// Parses an OpenVPN static key file. Errors never quote the key.
pub fn parse_static_key(text: &str) -> Result<Vec<u8>, String> {
    let mut hex = String::new();
    let mut state = 0; // 0 before BEGIN, 1 inside, 2 after END
    for line in text.lines() {
        let line = line.trim();
        match state {
            0 if line == STATIC_KEY_BEGIN => state = 1,
            0 => {}
            1 if line == STATIC_KEY_END => state = 2,
            1 => hex.extend(line.chars().filter(|c| !c.is_whitespace())),
            _ => break,
        }
    }
    match state {
        0 => return Err(format!("no `{STATIC_KEY_BEGIN}` line")),
        1 => return Err(format!("no `{STATIC_KEY_END}` line")),
        _ => {}
    }
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("the static key holds characters that are not hex digits".into());
    }
    if hex.len() != 2 * STATIC_KEY_LEN {
        return Err(format!(
            "the static key is {} bytes, expected {STATIC_KEY_LEN}",
            hex.len() / 2
        ));
    }
    super::hex_array::<STATIC_KEY_LEN>(&hex)
        .map(|a| a.to_vec())
        .ok_or_else(|| "the static key is not valid hex".to_string())
}

/// Parses a tls-crypt-v2 client key: (Kc, WKc). Errors never quote the key.
pub fn parse_tls_crypt_v2_client_key(text: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    if text.lines().any(|l| l.trim() == V2_SERVER_BEGIN) {
        return Err(
            "this is the tls-crypt-v2 SERVER key; the profile needs a client key \
             (openvpn --tls-crypt-v2 server.key --genkey tls-crypt-v2-client)"
                .into(),
        );
    }
    let mut b64 = String::new();
    let mut state = 0;
    for line in text.lines() {
        let line = line.trim();
        match state {
            0 if line == V2_CLIENT_BEGIN => state = 1,
            0 => {}
            1 if line == V2_CLIENT_END => state = 2,
            1 => b64.push_str(line),
            _ => break,
        }
    }
    match state {
        0 => return Err(format!("no `{V2_CLIENT_BEGIN}` line")),
        1 => return Err(format!("no `{V2_CLIENT_END}` line")),
        _ => {}
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| "the tls-crypt-v2 client key is not valid base64".to_string())?;
    if bytes.len() < STATIC_KEY_LEN + MIN_WKC_LEN {
        return Err(format!(
            "the tls-crypt-v2 client key is {} bytes, too short for a key and its wrapped copy",
            bytes.len()
        ));
    }
    let (key, wkc) = bytes.split_at(STATIC_KEY_LEN);
    if wkc.len() > MAX_WKC_LEN {
        return Err("the wrapped client key in the tls-crypt-v2 key is too long".into());
    }
    // The WKc ends with its own length, big-endian (tls_crypt.c).
    let n = wkc.len();
    let declared = u16::from_be_bytes([wkc[n - 2], wkc[n - 1]]) as usize;
    if declared != n {
        return Err("the wrapped client key in the tls-crypt-v2 key is damaged".into());
    }
    Ok((key.to_vec(), wkc.to_vec()))
}

/// Canonical name of an `auth` digest usable for tls-auth.
fn canonical_digest(name: &str) -> Option<&'static str> {
    let n: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "MD5" => "MD5",
        "SHA1" => "SHA1",
        "SHA224" | "SHA2224" => "SHA224",
        "SHA256" | "SHA2256" => "SHA256",
        "SHA384" | "SHA2384" => "SHA384",
        "SHA512" | "SHA2512" => "SHA512",
        _ => return None,
    })
}

/// One option line or inline block, with the line it starts on. No
/// `Debug`: a block body may be a key.
enum Item {
    Option {
        line: usize,
        words: Vec<String>,
    },
    Block {
        line: usize,
        tag: String,
        body: String,
    },
}

/// Splits one line into words the way OpenVPN does: whitespace separates,
/// double quotes group, `#`/`;` at the start of a word begins a comment.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut in_quote = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if in_quote {
            match c {
                '"' => in_quote = false,
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' | ';' if !in_word => break,
            '"' => {
                in_quote = true;
                in_word = true;
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_quote {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `<tag>` on a line of its own (an opening tag), or `None`.
fn opening_tag(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('<')?.strip_suffix('>')?;
    let ok = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(inner)
}

/// Items of `lines` (numbered from `first_line`); blocks are collected
/// whole. Errors: (line, message).
fn items(lines: &[&str], first_line: usize, errors: &mut Vec<(usize, String)>) -> Vec<Item> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = first_line + i;
        let raw = lines[i].trim();
        i += 1;
        if raw.is_empty() || raw.starts_with('#') || raw.starts_with(';') {
            continue;
        }
        if let Some(tag) = opening_tag(raw) {
            let close = format!("</{tag}>");
            let Some(len) = lines[i..].iter().position(|l| l.trim() == close) else {
                errors.push((line_no, format!("<{tag}> is never closed with {close}")));
                // Nothing after an unclosed block can be trusted to be an
                // option rather than its content.
                return out;
            };
            let body = lines[i..i + len].join("\n");
            out.push(Item::Block {
                line: line_no,
                tag: tag.to_ascii_lowercase(),
                body,
            });
            i += len + 1;
            continue;
        }
        if raw.starts_with("</") {
            errors.push((
                line_no,
                format!("{} without a matching opening tag", shorten(raw)),
            ));
            continue;
        }
        match words(raw) {
            Ok(w) if w.is_empty() => {}
            Ok(mut w) => {
                // Options may be written with the command line's `--`.
                if let Some(first) = w.first_mut()
                    && let Some(stripped) = first.strip_prefix("--")
                {
                    *first = stripped.to_string();
                }
                out.push(Item::Option {
                    line: line_no,
                    words: w,
                });
            }
            Err(e) => errors.push((line_no, e)),
        }
    }
    out
}

/// A `remote` as written, before defaults are applied.
#[derive(Debug)]
struct RemoteSpec {
    host: String,
    port: Option<u16>,
    proto: Option<OvpnProto>,
    /// Port and proto set in the `<connection>` block it came from.
    block_port: Option<u16>,
    block_proto: Option<OvpnProto>,
}

/// Where a key comes from: an inline block or a file next to the profile.
/// No `Debug`: the body is key material.
#[derive(Clone)]
enum KeySource {
    Inline { line: usize, body: String },
    File { line: usize, path: String },
}

impl KeySource {
    fn line(&self) -> usize {
        match self {
            KeySource::Inline { line, .. } | KeySource::File { line, .. } => *line,
        }
    }
}

/// Everything collected from the profile before validation.
#[derive(Default)]
struct Collected {
    remotes: Vec<RemoteSpec>,
    proto: Option<OvpnProto>,
    port: Option<u16>,
    ca: Option<KeySource>,
    cert: Option<KeySource>,
    key: Option<KeySource>,
    tls_auth: Option<KeySource>,
    /// `tls-auth … [inline]` seen (the key is in a block).
    tls_auth_inline_ref: Option<usize>,
    /// (line, direction) from `key-direction` or `tls-auth file N`; the last wins.
    key_direction: Option<(usize, Option<u8>)>,
    tls_crypt: Option<KeySource>,
    tls_crypt_v2: Option<KeySource>,
    auth: Option<(usize, String)>,
    not_imitated: Vec<String>,
}

struct Parser<'a> {
    source_name: &'a str,
    /// Directory of the profile, when it is a real file: key and CA files
    /// named in the profile are looked up relative to it.
    base_dir: Option<PathBuf>,
    errors: Vec<ParseError>,
    /// A profile-wide option is broken: every probe of the profile would be
    /// wrong, so no endpoint is made.
    fatal: bool,
}

impl Parser<'_> {
    /// An error that spoils the whole profile.
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.fatal = true;
        self.soft_error(line, message);
    }

    /// An error that costs only the `remote` it is on.
    fn soft_error(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(ParseError {
            source_name: self.source_name.to_string(),
            line,
            message: message.into(),
        });
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{:?} is not a port (1-65535)", shorten(s))),
    }
}

fn parse_proto(s: &str) -> Result<OvpnProto, String> {
    match s.to_ascii_lowercase().as_str() {
        "udp" | "udp4" | "udp6" => Ok(OvpnProto::Udp),
        "tcp" | "tcp4" | "tcp6" | "tcp-client" | "tcp4-client" | "tcp6-client" => {
            Ok(OvpnProto::Tcp)
        }
        "tcp-server" | "tcp4-server" | "tcp6-server" => {
            Err("proto tcp-server is for servers; a client profile uses tcp-client".into())
        }
        _ => Err(format!(
            "unknown proto {:?} (udp, tcp, udp4, udp6, tcp-client, …)",
            shorten(s)
        )),
    }
}

fn parse_host(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    if ok {
        Ok(s.trim_start_matches('[').trim_end_matches(']').to_string())
    } else {
        Err(format!("{:?} is not a host name or address", shorten(s)))
    }
}

fn parse_direction(s: &str) -> Result<Option<u8>, String> {
    match s {
        "0" => Ok(Some(0)),
        "1" => Ok(Some(1)),
        "bidirectional" => Ok(None),
        _ => Err(format!(
            "key direction must be 0 or 1, got {:?}",
            shorten(s)
        )),
    }
}

/// Options that change how the server is reached but that the probe does
/// not imitate; named in the evidence notes.
const NOT_IMITATED: [&str; 6] = [
    "http-proxy",
    "socks-proxy",
    "local",
    "lport",
    "fragment",
    "proto-force",
];

impl Parser<'_> {
    /// Reads the options of the top level (`block == None`) or of a
    /// `<connection>` block into `c`.
    fn collect(&mut self, list: Vec<Item>, c: &mut Collected, in_connection: bool) {
        let mut block_proto: Option<OvpnProto> = None;
        let mut block_port: Option<u16> = None;
        let first_remote = c.remotes.len();
        for item in list {
            match item {
                Item::Block { line, tag, body } => {
                    let src = KeySource::Inline { line, body };
                    if in_connection && tag != "http-proxy-user-pass" {
                        self.error(
                            line,
                            format!("<{tag}> inside <connection> is not supported"),
                        );
                        continue;
                    }
                    match tag.as_str() {
                        "ca" => c.ca = Some(src),
                        "cert" => c.cert = Some(src),
                        "key" => c.key = Some(src),
                        "tls-auth" => c.tls_auth = Some(src),
                        "tls-crypt" => c.tls_crypt = Some(src),
                        "tls-crypt-v2" => c.tls_crypt_v2 = Some(src),
                        "secret" => self.error(
                            line,
                            "static-key mode (<secret>) is not supported: only TLS-mode \
                             servers can be probed",
                        ),
                        "connection" => {
                            let lines: Vec<&str> = match &src {
                                KeySource::Inline { body, .. } => body.lines().collect(),
                                KeySource::File { .. } => Vec::new(),
                            };
                            let mut errs = Vec::new();
                            let inner = items(&lines, line + 1, &mut errs);
                            for (l, m) in errs {
                                self.error(l, m);
                            }
                            self.collect(inner, c, true);
                        }
                        // <extra-certs>, <pkcs12>, <auth-user-pass>, …: not
                        // needed to reach the server.
                        _ => {}
                    }
                }
                Item::Option { line, words } => {
                    self.option(
                        line,
                        &words,
                        c,
                        in_connection,
                        &mut block_proto,
                        &mut block_port,
                    );
                }
            }
        }
        if in_connection {
            for r in &mut c.remotes[first_remote..] {
                r.block_proto = block_proto;
                r.block_port = block_port;
            }
        }
    }

    fn option(
        &mut self,
        line: usize,
        words: &[String],
        c: &mut Collected,
        in_connection: bool,
        block_proto: &mut Option<OvpnProto>,
        block_port: &mut Option<u16>,
    ) {
        let name = words[0].to_ascii_lowercase();
        let args = &words[1..];
        let file_arg = |args: &[String]| -> Option<KeySource> {
            let path = args.first()?;
            if path == "[inline]" {
                return None;
            }
            Some(KeySource::File {
                line,
                path: path.clone(),
            })
        };
        match name.as_str() {
            "remote" => {
                let Some(host) = args.first() else {
                    self.soft_error(line, "remote needs a host");
                    return;
                };
                let host = match parse_host(host) {
                    Ok(h) => h,
                    Err(e) => return self.soft_error(line, e),
                };
                let port = match args.get(1).map(|p| parse_port(p)).transpose() {
                    Ok(p) => p,
                    Err(e) => return self.soft_error(line, e),
                };
                let proto = match args.get(2).map(|p| parse_proto(p)).transpose() {
                    Ok(p) => p,
                    Err(e) => return self.soft_error(line, e),
                };
                c.remotes.push(RemoteSpec {
                    host,
                    port,
                    proto,
                    block_port: None,
                    block_proto: None,
                });
            }
            "proto" => match args.first().map(|p| parse_proto(p)) {
                Some(Ok(p)) if in_connection => *block_proto = Some(p),
                Some(Ok(p)) => c.proto = Some(p),
                Some(Err(e)) => self.error(line, e),
                None => self.error(line, "proto needs a value (udp or tcp)"),
            },
            "port" | "rport" => match args.first().map(|p| parse_port(p)) {
                Some(Ok(p)) if in_connection => *block_port = Some(p),
                Some(Ok(p)) => c.port = Some(p),
                Some(Err(e)) => self.error(line, e),
                None => self.error(line, format!("{name} needs a number")),
            },
            "ca" => {
                if let Some(src) = file_arg(args) {
                    c.ca = Some(src);
                }
            }
            "cert" => {
                if let Some(src) = file_arg(args) {
                    c.cert = Some(src);
                }
            }
            "key" => {
                if let Some(src) = file_arg(args) {
                    c.key = Some(src);
                }
            }
            "tls-auth" => {
                match file_arg(args) {
                    Some(src) => c.tls_auth = Some(src),
                    None => c.tls_auth_inline_ref = Some(line),
                }
                if let Some(d) = args.get(1) {
                    match parse_direction(d) {
                        Ok(d) => c.key_direction = Some((line, d)),
                        Err(e) => self.error(line, e),
                    }
                }
            }
            "key-direction" => match args.first().map(|d| parse_direction(d)) {
                Some(Ok(d)) => c.key_direction = Some((line, d)),
                Some(Err(e)) => self.error(line, e),
                None => self.error(line, "key-direction needs 0 or 1"),
            },
            "tls-crypt" => {
                if let Some(src) = file_arg(args) {
                    c.tls_crypt = Some(src);
                }
            }
            "tls-crypt-v2" => {
                if let Some(src) = file_arg(args) {
                    c.tls_crypt_v2 = Some(src);
                }
            }
            "auth" => match args.first() {
                Some(a) => c.auth = Some((line, a.clone())),
                None => self.error(line, "auth needs a digest name"),
            },
            "secret" => self.error(
                line,
                "static-key mode (secret) is not supported: only TLS-mode servers can be probed",
            ),
            "mode" | "server" | "server-bridge"
                if !in_connection
                    && (name != "mode" || args.first().is_some_and(|a| a == "server")) =>
            {
                self.error(line, "this is a server configuration, not a client profile");
            }
            n if NOT_IMITATED.contains(&n) && !c.not_imitated.iter().any(|x| x == n) => {
                c.not_imitated.push(n.to_string());
            }
            _ => {}
        }
    }

    /// Text of a key or CA: the block body, or the file it names.
    fn load(&mut self, what: &str, src: &KeySource) -> Option<String> {
        match src {
            KeySource::Inline { body, .. } => Some(body.clone()),
            KeySource::File { line, path } => {
                let Some(dir) = &self.base_dir else {
                    self.error(
                        *line,
                        format!(
                            "{what} names a file, which can only be read for a profile given as \
                             a file; inline it as <{what}>…</{what}>"
                        ),
                    );
                    return None;
                };
                let full = dir.join(path);
                match std::fs::read_to_string(&full) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        self.error(
                            *line,
                            format!("cannot read {what} file {}: {e}", shorten(path)),
                        );
                        None
                    }
                }
            }
        }
    }

    fn static_key(&mut self, what: &str, src: &KeySource) -> Option<Vec<u8>> {
        let text = self.load(what, src)?;
        match parse_static_key(&text) {
            Ok(k) => Some(k),
            Err(e) => {
                self.error(src.line(), format!("{what}: {e}"));
                None
            }
        }
    }

    /// Validates what was collected; `None` when the profile cannot be
    /// probed (the errors say why).
    fn profile(&mut self, c: &Collected, name: Option<String>) -> Option<OvpnProfile> {
        let before = self.errors.len();
        let mut profile = OvpnProfile {
            name,
            auth_digest: "SHA1".into(),
            not_imitated: c.not_imitated.clone(),
            ..OvpnProfile::default()
        };
        if let Some(src) = &c.ca
            && let Some(text) = self.load("ca", src)
        {
            let certs = CertificateDer::pem_slice_iter(text.as_bytes())
                .filter(|r| r.is_ok())
                .count();
            if certs == 0 {
                self.error(src.line(), "ca: no PEM certificate found");
            } else {
                profile.ca_pem = Some(text);
            }
        }
        if let Some(src) = &c.cert {
            profile.cert_pem = self.load("cert", src).map(Secret::new);
        }
        if let Some(src) = &c.key {
            profile.key_pem = self.load("key", src).map(Secret::new);
        }
        let wraps = [
            c.tls_auth.as_ref().map(|s| ("tls-auth", s.line())),
            c.tls_crypt.as_ref().map(|s| ("tls-crypt", s.line())),
            c.tls_crypt_v2.as_ref().map(|s| ("tls-crypt-v2", s.line())),
        ];
        let given: Vec<(&str, usize)> = wraps.into_iter().flatten().collect();
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            let line = given.iter().map(|(_, l)| *l).max().unwrap_or(1);
            self.error(
                line,
                format!("only one of {} may be used", names.join(", ")),
            );
        } else if let Some(src) = &c.tls_auth {
            if let Some(key) = self.static_key("tls-auth", src) {
                profile.wrap = ControlWrap::TlsAuth {
                    key: Secret::new(key),
                    direction: c.key_direction.and_then(|(_, d)| d),
                };
            }
        } else if let Some(line) = c.tls_auth_inline_ref {
            self.error(
                line,
                "tls-auth [inline] but the profile has no <tls-auth> block",
            );
        } else if let Some(src) = &c.tls_crypt {
            if let Some(key) = self.static_key("tls-crypt", src) {
                profile.wrap = ControlWrap::TlsCrypt {
                    key: Secret::new(key),
                };
            }
        } else if let Some(src) = &c.tls_crypt_v2
            && let Some(text) = self.load("tls-crypt-v2", src)
        {
            match parse_tls_crypt_v2_client_key(&text) {
                Ok((key, wkc)) => {
                    profile.wrap = ControlWrap::TlsCryptV2 {
                        key: Secret::new(key),
                        wkc: Secret::new(wkc),
                    };
                }
                Err(e) => self.error(src.line(), format!("tls-crypt-v2: {e}")),
            }
        }
        if let Some((line, auth)) = &c.auth {
            match canonical_digest(auth) {
                Some(d) => profile.auth_digest = d.to_string(),
                // The digest only signs control packets under tls-auth; for
                // other profiles it is a data-channel matter we never reach.
                None if matches!(profile.wrap, ControlWrap::TlsAuth { .. }) => self.error(
                    *line,
                    format!(
                        "auth {} cannot be used for tls-auth here (MD5, SHA1, SHA224, SHA256, \
                         SHA384, SHA512 can)",
                        shorten(auth)
                    ),
                ),
                None => {}
            }
        }
        (self.errors.len() == before).then_some(profile)
    }
}

pub fn parse(text: &str, source_name: &str, origin: Origin) -> Catalog {
    // Editors on Windows may start the file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let base_dir = {
        let p = Path::new(source_name);
        if p.is_file() {
            Some(
                p.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from(".")),
            )
        } else {
            None
        }
    };
    let mut parser = Parser {
        source_name,
        base_dir,
        errors: Vec::new(),
        fatal: false,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut item_errors = Vec::new();
    let all = items(&lines, 1, &mut item_errors);
    for (line, message) in item_errors {
        parser.error(line, message);
    }
    let mut collected = Collected::default();
    parser.collect(all, &mut collected, false);
    let name = super::source_stem(source_name);
    let profile = parser.profile(&collected, name.clone());
    if collected.remotes.is_empty() {
        parser.error(1, "the profile has no usable `remote` line");
    }
    let mut catalog = Catalog::default();
    if let (Some(profile), false) = (profile, parser.fatal) {
        let profile = Arc::new(profile);
        let stem = name.unwrap_or_else(|| "profile".into());
        let mut seen: Vec<(String, u16, OvpnProto)> = Vec::new();
        for r in &collected.remotes {
            let port = r.port.or(r.block_port).or(collected.port).unwrap_or(1194);
            let proto = r
                .proto
                .or(r.block_proto)
                .or(collected.proto)
                .unwrap_or(OvpnProto::Udp);
            let key = (r.host.clone(), port, proto);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            catalog.endpoints.push(Endpoint {
                label: format!(
                    "ovpn {stem} {}:{port}/{}",
                    host_for_url(&r.host),
                    proto.as_str()
                ),
                origin,
                target: Target::OpenVpn(Box::new(OvpnRemote {
                    host: r.host.clone(),
                    port,
                    proto,
                    profile: Arc::clone(&profile),
                })),
            });
        }
    }
    catalog.errors = parser.errors;
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A static key whose bytes are `i * 7 + 3`, in OpenVPN's file format.
    fn static_key_text() -> (String, Vec<u8>) {
        let bytes: Vec<u8> = (0..STATIC_KEY_LEN).map(|i| (i * 7 + 3) as u8).collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut text = String::from("#\n# 2048 bit OpenVPN static key\n#\n");
        text.push_str(STATIC_KEY_BEGIN);
        text.push('\n');
        for chunk in hex.as_bytes().chunks(32) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
        text.push_str(STATIC_KEY_END);
        text.push('\n');
        (text, bytes)
    }

    fn ca_pem() -> String {
        rcgen::generate_simple_self_signed(vec!["ca.test".into()])
            .unwrap()
            .cert
            .pem()
    }

    fn v2_client_key_text() -> (String, Vec<u8>, Vec<u8>) {
        let key: Vec<u8> = (0..STATIC_KEY_LEN).map(|i| (i * 5 + 1) as u8).collect();
        let mut wkc: Vec<u8> = (0..32 + 256 + 9).map(|i| (i * 3) as u8).collect();
        let n = (wkc.len() + 2) as u16;
        wkc.extend_from_slice(&n.to_be_bytes());
        let mut all = key.clone();
        all.extend_from_slice(&wkc);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&all);
        let mut text = format!("{V2_CLIENT_BEGIN}\n");
        for chunk in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
        text.push_str(V2_CLIENT_END);
        text.push('\n');
        (text, key, wkc)
    }

    fn remotes(c: &Catalog) -> Vec<(String, u16, OvpnProto)> {
        c.endpoints
            .iter()
            .map(|e| match &e.target {
                Target::OpenVpn(r) => (r.host.clone(), r.port, r.proto),
                other => panic!("not an OpenVPN target: {other:?}"),
            })
            .collect()
    }

    fn profile(c: &Catalog) -> &OvpnProfile {
        match &c.endpoints[0].target {
            Target::OpenVpn(r) => &r.profile,
            other => panic!("not an OpenVPN target: {other:?}"),
        }
    }

    #[test]
    fn full_profile_with_tls_auth() {
        let (key, bytes) = static_key_text();
        let ca = ca_pem();
        let text = format!(
            "client\n\
             dev tun\n\
             proto tcp-client\n\
             port 443\n\
             ; first server\n\
             remote vpn1.example.net\n\
             remote 192.0.2.7 1194 udp # with its own port and proto\n\
             remote 2001:db8::1 1195\n\
             remote-random\n\
             auth sha256\n\
             key-direction 1\n\
             <ca>\n{ca}</ca>\n\
             <tls-auth>\n{key}</tls-auth>\n\
             verb 3\n"
        );
        let c = parse(&text, "/nonexistent/dir/work.ovpn", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(
            remotes(&c),
            vec![
                ("vpn1.example.net".into(), 443, OvpnProto::Tcp),
                ("192.0.2.7".into(), 1194, OvpnProto::Udp),
                ("2001:db8::1".into(), 1195, OvpnProto::Tcp),
            ]
        );
        let labels: Vec<&str> = c.endpoints.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "ovpn work vpn1.example.net:443/tcp",
                "ovpn work 192.0.2.7:1194/udp",
                "ovpn work [2001:db8::1]:1195/tcp",
            ]
        );
        let p = profile(&c);
        assert_eq!(p.auth_digest, "SHA256");
        assert_eq!(p.ca_pem.as_deref().map(str::trim), Some(ca.trim()));
        match &p.wrap {
            ControlWrap::TlsAuth { key, direction } => {
                assert_eq!(key.expose(), &bytes);
                assert_eq!(*direction, Some(1));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.endpoints[0].address(),
            "openvpn+tcp://vpn1.example.net:443"
        );
    }

    #[test]
    fn debug_of_endpoints_shows_no_key_material() {
        let (key, bytes) = static_key_text();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let (v2, v2key, _) = v2_client_key_text();
        for block in [
            format!("<tls-auth>\n{key}</tls-auth>\nkey-direction 1\n"),
            format!("<tls-crypt>\n{key}</tls-crypt>\n"),
            format!("<tls-crypt-v2>\n{v2}</tls-crypt-v2>\n"),
        ] {
            let text = format!(
                "client\nremote 192.0.2.1\n{block}<cert>\nCERTBODY\n</cert>\n<key>\nKEYBODY\n</key>\n"
            );
            let c = parse(&text, "<argument>", Origin::User);
            assert!(c.errors.is_empty(), "{:?}", c.errors);
            let shown = format!("{:?} {:?}", c.endpoints, c.endpoints[0].info());
            for secret in [&hex[..40], &hex[200..240], "CERTBODY", "KEYBODY"] {
                assert!(!shown.contains(secret), "{secret} leaked: {shown}");
            }
            let v2_b64 = base64::engine::general_purpose::STANDARD.encode(&v2key);
            assert!(!shown.contains(&v2_b64[..40]));
            // Decimal bytes of the key would leak it just as well.
            assert!(!shown.contains("3, 10, 17, 24"), "{shown}");
            assert!(shown.contains("[secret]"));
        }
    }

    #[test]
    fn tls_crypt_and_v2_keys() {
        let (key, bytes) = static_key_text();
        let c = parse(
            &format!("remote 10.0.0.1 1194\n<tls-crypt>\n{key}</tls-crypt>\n"),
            "x.ovpn",
            Origin::User,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(
            profile(&c).wrap,
            ControlWrap::TlsCrypt {
                key: Secret::new(bytes)
            }
        );
        assert_eq!(c.endpoints[0].label, "ovpn x 10.0.0.1:1194/udp");

        let (v2, k, w) = v2_client_key_text();
        let c = parse(
            &format!("remote 10.0.0.1\n<tls-crypt-v2>\n{v2}</tls-crypt-v2>\n"),
            "<argument>",
            Origin::User,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(
            profile(&c).wrap,
            ControlWrap::TlsCryptV2 {
                key: Secret::new(k),
                wkc: Secret::new(w)
            }
        );
        assert_eq!(c.endpoints[0].label, "ovpn profile 10.0.0.1:1194/udp");
    }

    #[test]
    fn tls_auth_direction_from_the_directive_and_files_next_to_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let (key, bytes) = static_key_text();
        std::fs::write(dir.path().join("ta.key"), &key).unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca_pem()).unwrap();
        let path = dir.path().join("office.ovpn");
        let text = "client\nremote 10.1.1.1\nca ca.crt\ntls-auth ta.key 1\n";
        std::fs::write(&path, text).unwrap();
        let c = parse(text, path.to_str().unwrap(), Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let p = profile(&c);
        assert!(p.ca_pem.is_some());
        assert_eq!(
            p.wrap,
            ControlWrap::TlsAuth {
                key: Secret::new(bytes),
                direction: Some(1)
            }
        );
        // The same profile as a literal argument cannot name files.
        let c = parse(text, "<argument>", Origin::User);
        assert!(c.endpoints.is_empty());
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert_eq!(c.errors[0].line, 3);
        assert!(c.errors[0].message.contains("inline it"), "{:?}", c.errors);
        // `tls-auth [inline] 0` with the block.
        let c = parse(
            &format!("remote 10.1.1.1\ntls-auth [inline] 0\n<tls-auth>\n{key}</tls-auth>\n"),
            "<argument>",
            Origin::User,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(matches!(
            profile(&c).wrap,
            ControlWrap::TlsAuth {
                direction: Some(0),
                ..
            }
        ));
    }

    #[test]
    fn connection_blocks_have_their_own_remote_proto_and_port() {
        let text = "client\n\
                    proto udp\n\
                    <connection>\n\
                    remote a.example 1194\n\
                    </connection>\n\
                    <connection>\n\
                    remote b.example\n\
                    proto tcp\n\
                    port 443\n\
                    </connection>\n\
                    <connection>\n\
                    remote c.example 8080 tcp\n\
                    remote bad..host 99999\n\
                    </connection>\n";
        let c = parse(text, "<argument>", Origin::User);
        assert_eq!(
            remotes(&c),
            vec![
                ("a.example".into(), 1194, OvpnProto::Udp),
                ("b.example".into(), 443, OvpnProto::Tcp),
                ("c.example".into(), 8080, OvpnProto::Tcp),
            ]
        );
        // The bad remote is on line 13 and costs only itself.
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert_eq!(c.errors[0].line, 13);
        assert!(c.errors[0].message.contains("not a port"), "{:?}", c.errors);
    }

    #[test]
    fn duplicate_remotes_are_one_endpoint_and_no_ca_is_fine() {
        let c = parse(
            "remote 10.0.0.1 1194\nremote 10.0.0.1 1194 udp\nremote 10.0.0.1 1194 tcp\n",
            "<argument>",
            Origin::User,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.endpoints.len(), 2);
        assert!(profile(&c).ca_pem.is_none());
        assert_eq!(profile(&c).wrap, ControlWrap::None);
        assert_eq!(profile(&c).auth_digest, "SHA1");
    }

    #[test]
    fn comments_quotes_and_not_imitated_options() {
        let text = "# comment\n; another\nremote \"10.0.0.9\" 1194 # trailing\nhttp-proxy 10.0.0.2 3128\n  \n";
        let c = parse(text, "<argument>", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(remotes(&c), vec![("10.0.0.9".into(), 1194, OvpnProto::Udp)]);
        assert_eq!(profile(&c).not_imitated, vec!["http-proxy".to_string()]);
        assert_eq!(words("a#b c ;d").unwrap(), vec!["a#b", "c"]);
        assert!(words("remote \"open").is_err());
    }

    #[test]
    fn malformed_profiles_give_line_numbers_and_no_endpoints() {
        let (key, bytes) = static_key_text();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let cases: Vec<(String, usize, &str)> = vec![
            (
                "remote 10.0.0.1\n<secret>\nabc\n</secret>\n".into(),
                2,
                "static-key mode",
            ),
            ("remote 10.0.0.1\nsecret static.key\n".into(), 2, "static-key mode"),
            ("remote 10.0.0.1\n<ca>\nnot a cert\n".into(), 2, "never closed"),
            ("remote 10.0.0.1\n<ca>\nnot a cert\n</ca>\n".into(), 2, "no PEM certificate"),
            (
                "remote 10.0.0.1\nproto quic\n".into(),
                2,
                "unknown proto",
            ),
            (
                "remote 10.0.0.1\nproto tcp-server\n".into(),
                2,
                "for servers",
            ),
            ("port 70000\nremote 10.0.0.1\n".into(), 1, "not a port"),
            (
                format!(
                    "remote 10.0.0.1\n\n<tls-auth>\n{}</tls-auth>\n",
                    key.replacen(&format!("{}\n", &hex[..32]), "", 1)
                ),
                3,
                "240 bytes, expected 256",
            ),
            (
                format!(
                    "remote 10.0.0.1\n<tls-auth>\n{}\n</tls-auth>\n",
                    key.replace(&hex[..32], &format!("{}zz", &hex[..30]))
                ),
                2,
                "not hex",
            ),
            (
                format!(
                    "remote 10.0.0.1\n<tls-auth>\n{key}</tls-auth>\n<tls-crypt>\n{key}</tls-crypt>\n"
                ),
                25,
                "only one of",
            ),
            (
                format!("remote 10.0.0.1\nauth BLAKE2\n<tls-auth>\n{key}</tls-auth>\n"),
                2,
                "auth BLAKE2",
            ),
            ("remote 10.0.0.1\ntls-auth [inline] 1\n".into(), 2, "no <tls-auth> block"),
            ("remote 10.0.0.1\nkey-direction 2\n".into(), 2, "0 or 1"),
            (
                "remote 10.0.0.1\n<tls-crypt-v2>\n-----BEGIN OpenVPN tls-crypt-v2 server key-----\nAAAA\n-----END OpenVPN tls-crypt-v2 server key-----\n</tls-crypt-v2>\n".into(),
                2,
                "SERVER key",
            ),
            ("client\nremote\n".into(), 1, "no usable `remote`"),
            ("mode server\nremote 10.0.0.1\n".into(), 1, "server configuration"),
        ];
        for (text, line, needle) in cases {
            let c = parse(&text, "bad.ovpn", Origin::User);
            assert!(c.endpoints.is_empty(), "{text}: {:?}", c.endpoints);
            let e = c
                .errors
                .iter()
                .find(|e| e.message.contains(needle))
                .unwrap_or_else(|| panic!("{needle:?} not in {:?}", c.errors));
            assert_eq!(e.line, line, "{needle}: {:?}", c.errors);
            assert_eq!(e.source_name, "bad.ovpn");
            for e in &c.errors {
                assert!(!e.message.contains(&hex[..16]), "key in error: {e}");
                assert!(!e.message.contains(&hex[40..56]), "key in error: {e}");
            }
        }
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let c = parse(
            "\u{feff}remote 10.0.0.1 443 tcp\r\nport 1\r\n",
            "<argument>",
            Origin::User,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(remotes(&c), vec![("10.0.0.1".into(), 443, OvpnProto::Tcp)]);
    }

    #[test]
    fn auth_is_ignored_without_tls_auth() {
        let c = parse("remote 10.0.0.1\nauth BLAKE2\n", "<argument>", Origin::User);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.endpoints.len(), 1);
    }

    #[test]
    fn static_key_and_v2_key_parsers() {
        let (key, bytes) = static_key_text();
        assert_eq!(parse_static_key(&key).unwrap(), bytes);
        assert!(parse_static_key("nothing").unwrap_err().contains("BEGIN"));
        let cut = key.replace(STATIC_KEY_END, "");
        assert!(parse_static_key(&cut).unwrap_err().contains("END"));
        let (v2, k, w) = v2_client_key_text();
        assert_eq!(parse_tls_crypt_v2_client_key(&v2).unwrap(), (k, w));
        // A WKc whose trailing length disagrees is damaged.
        let lines: Vec<&str> = v2.lines().collect();
        let body: String = lines[1..lines.len() - 1].concat();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let n = raw.len();
        raw[n - 1] ^= 1;
        let bad = format!(
            "{V2_CLIENT_BEGIN}\n{}\n{V2_CLIENT_END}\n",
            base64::engine::general_purpose::STANDARD.encode(&raw)
        );
        assert!(
            parse_tls_crypt_v2_client_key(&bad)
                .unwrap_err()
                .contains("damaged")
        );
        assert!(
            parse_tls_crypt_v2_client_key(&format!("{V2_CLIENT_BEGIN}\n!!\n{V2_CLIENT_END}\n"))
                .unwrap_err()
                .contains("base64")
        );
    }

    #[test]
    fn detected_by_parse_text() {
        let c = super::super::parse_text(
            "client\nremote 10.0.0.1 1194 tcp\n",
            "/nope/home.ovpn",
            Origin::User,
        );
        assert_eq!(c.endpoints.len(), 1, "{:?}", c.errors);
        assert_eq!(c.endpoints[0].label, "ovpn home 10.0.0.1:1194/tcp");
        assert_eq!(c.endpoints[0].kind(), super::super::EndpointKind::Openvpn);
    }
}
