//! Shadowsocks SIP002 `ss://` links and Outline access keys.
//!
//! Accepted forms (`#name` optional everywhere):
//! * `ss://BASE64URL(method:password)@host:port/?plugin=…#name` (padded or
//!   not; standard base64 and a percent-encoded `=` are tolerated);
//! * `ss://method:password@host:port…`, percent-encoded: the form SIP022
//!   (2022-blake3) links use, the password being the base64 PSK or, for
//!   multi-user servers, `iPSK:…:uPSK`;
//! * the legacy `ss://BASE64(method:password@host:port)#name`;
//! * Outline access keys, which are such links (often with `?outline=1`).
//!
//! `ssconf://` (dynamic Outline keys) is refused: it needs an HTTPS fetch,
//! and parsing never touches the network. Error messages never contain the
//! password or the undecoded user info.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::resolver_line::normalize_host;
use super::secret::Secret;
use super::{
    AuthorityError, AuthorityHost, Endpoint, Origin, Target, host_for_url, parse_port, shorten,
    split_authority,
};

#[derive(Clone, PartialEq, Eq)]
pub struct SsServer {
    /// The link's `#fragment`, for labels.
    pub name: Option<String>,
    pub host: String,
    pub port: u16,
    /// Cipher name as written (`chacha20-ietf-poly1305`,
    /// `2022-blake3-aes-256-gcm`, ...), lower case.
    pub method: String,
    /// Password, or for 2022 methods the base64 PSK(s).
    pub password: Secret<String>,
    /// SIP003 plugin name and options, if any: such servers cannot be
    /// reached without the plugin.
    pub plugin: Option<String>,
}

impl SsServer {
    /// The SIP003 plugin's name alone: its options may hold keys (kcptun's
    /// `key=`, Cloak's `UID=`), hosts or paths.
    pub fn plugin_name(&self) -> Option<&str> {
        let plugin = self.plugin.as_deref()?;
        Some(plugin.split(';').next().unwrap_or(plugin).trim())
    }
}

// By hand: the derived form would print the plugin options.
impl fmt::Debug for SsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsServer")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("method", &self.method)
            .field("password", &self.password)
            .field("plugin", &self.plugin_name())
            .finish()
    }
}

/// Methods the probe can speak, with the key size of the 2022 ones.
const METHODS: [(&str, Option<usize>); 6] = [
    ("aes-128-gcm", None),
    ("aes-256-gcm", None),
    ("chacha20-ietf-poly1305", None),
    ("2022-blake3-aes-128-gcm", Some(16)),
    ("2022-blake3-aes-256-gcm", Some(32)),
    ("2022-blake3-chacha20-poly1305", Some(32)),
];

/// Names clients use for the same AEAD cipher.
const ALIASES: [(&str, &str); 1] = [("chacha20-poly1305", "chacha20-ietf-poly1305")];

/// Longest `#name` kept for labels.
const MAX_NAME: usize = 64;

fn engine(alphabet: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Link bodies: SIP002 says base64url, but standard base64 is common.
fn decode_link_base64(s: &str) -> Option<Vec<u8>> {
    engine(&alphabet::URL_SAFE)
        .decode(s)
        .or_else(|_| engine(&alphabet::STANDARD).decode(s))
        .ok()
}

/// Parses one `ss://` link (or rejects `ssconf://` with an explanation).
pub fn parse_link(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let line = line.trim();
    let (scheme, rest) = line
        .split_once("://")
        .ok_or_else(|| "not an ss:// link".to_string())?;
    match scheme.to_ascii_lowercase().as_str() {
        "ss" => {}
        "ssconf" => {
            return Err(
                "ssconf:// is a dynamic Outline key: the real ss:// key has to be downloaded \
                 over HTTPS first, and bridgescout never fetches from the network while \
                 reading input. Open the https:// address (replace ssconf:// with https://) \
                 and give bridgescout the ss:// link it contains."
                    .to_string(),
            );
        }
        other => {
            return Err(format!("{}:// is not a Shadowsocks link", shorten(other)));
        }
    }
    let (body, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let name = fragment.and_then(clean_name);
    if body.chars().any(char::is_whitespace) {
        return Err("the ss:// link contains spaces: paste it as one piece".to_string());
    }
    // Base64 and percent-encoded user info never contain '?', so the first
    // one starts the query.
    let (before_query, query) = match body.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (body, None),
    };
    let stripped = before_query.strip_suffix('/').unwrap_or(before_query);

    let (method, password, host, port) = match stripped.rsplit_once('@') {
        Some((userinfo, authority)) => {
            let (method, password) = parse_userinfo(userinfo)?;
            let (host, port) = parse_authority(authority)?;
            (method, password, host, port)
        }
        // Standard base64 may itself end in '/': try it whole first.
        None => parse_legacy(before_query).or_else(|e| {
            if stripped.len() < before_query.len() {
                parse_legacy(stripped)
            } else {
                Err(e)
            }
        })?,
    };
    let method = check_method(&method)?;
    check_password(&method, &password)?;
    let plugin = match query {
        Some(q) => parse_query(q)?,
        None => None,
    };
    let label = format!(
        "ss {} {}:{port}",
        name.as_deref().unwrap_or(&host),
        host_for_url(&host)
    );
    Ok(Endpoint {
        label,
        origin,
        target: Target::Shadowsocks(Box::new(SsServer {
            name,
            host,
            port,
            method,
            password: Secret::new(password),
            plugin,
        })),
    })
}

/// `BASE64URL(method:password)` or percent-encoded `method:password`.
fn parse_userinfo(userinfo: &str) -> Result<(String, String), String> {
    if userinfo.is_empty() {
        return Err("the ss:// link has no method and password before @".to_string());
    }
    // Some generators percent-encode the base64 padding (%3D).
    let decoded = super::percent_decode(userinfo, true).ok_or_else(|| {
        "the ss:// user info (method:password) is not valid percent-encoding".to_string()
    })?;
    // Base64 has no ':', so a colon means the plain (SIP022) form.
    let plain = if decoded.contains(':') {
        decoded
    } else {
        let bytes = decode_link_base64(&decoded).ok_or_else(|| {
            "the ss:// user info is neither base64 of method:password nor \
             percent-encoded method:password"
                .to_string()
        })?;
        String::from_utf8(bytes)
            .map_err(|_| "the ss:// user info decodes to something that is not text".to_string())?
    };
    split_method_password(&plain)
}

fn split_method_password(plain: &str) -> Result<(String, String), String> {
    let (method, password) = plain
        .split_once(':')
        .ok_or_else(|| "the ss:// user info has no ':' between method and password".to_string())?;
    if method.is_empty() {
        return Err("the ss:// link names no encryption method".to_string());
    }
    Ok((method.to_string(), password.to_string()))
}

/// `ss://BASE64(method:password@host:port)`.
fn parse_legacy(encoded: &str) -> Result<(String, String, String, u16), String> {
    let bytes = decode_link_base64(encoded).ok_or_else(|| {
        "the ss:// link has no '@' and is not base64 of method:password@host:port either"
            .to_string()
    })?;
    let plain = String::from_utf8(bytes)
        .map_err(|_| "the ss:// link decodes to something that is not text".to_string())?;
    // The password may contain '@'; the server part cannot.
    let (userinfo, authority) = plain.rsplit_once('@').ok_or_else(|| {
        "the decoded ss:// link has no '@' between password and server".to_string()
    })?;
    let (method, password) = split_method_password(userinfo)?;
    let (host, port) = parse_authority(authority)?;
    Ok((method, password, host, port))
}

/// `host:port` or `[v6]:port`; the port is required.
fn parse_authority(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = split_authority(authority).map_err(|e| match e {
        AuthorityError::Empty => "the ss:// link has no server address after @",
        e => e.describe(),
    })?;
    let port = port.ok_or("the ss:// link has no port after the server address")?;
    if port.contains('/') {
        return Err("an ss:// link has no path after the port".to_string());
    }
    let host = match host {
        AuthorityHost::Ipv6(ip) => ip.to_string(),
        AuthorityHost::Text(h) => normalize_host(h)?,
    };
    Ok((host, parse_port(port)?))
}

/// Lower-cases the method and checks the probe can speak it.
fn check_method(method: &str) -> Result<String, String> {
    let lower = method.trim().to_ascii_lowercase();
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, real)| real);
    if METHODS.iter().any(|(m, _)| *m == canonical) {
        return Ok(canonical.to_string());
    }
    let supported: Vec<&str> = METHODS.iter().map(|(m, _)| *m).collect();
    let why = if canonical == "none" || canonical == "plain" {
        "it does not encrypt, so there is nothing to verify"
    } else if canonical.contains("cfb")
        || canonical.contains("ctr")
        || canonical.contains("ofb")
        || canonical.starts_with("rc4")
        || canonical == "table"
        || canonical == "chacha20-ietf"
        || canonical == "chacha20"
        || canonical == "salsa20"
        || canonical == "bf-cfb"
    {
        "it is an old stream cipher, deprecated and easy to detect"
    } else {
        "bridgescout cannot test it"
    };
    Err(format!(
        "Shadowsocks method {:?} is not supported: {why}. Supported: {}",
        shorten(method),
        supported.join(", ")
    ))
}

/// AEAD: any non-empty password. 2022: base64 PSK(s) of the cipher's key
/// size. Never echoes the password.
fn check_password(method: &str, password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err(format!("the ss:// link has an empty password for {method}"));
    }
    let Some(key_len) = METHODS
        .iter()
        .find(|(m, _)| *m == method)
        .and_then(|(_, k)| *k)
    else {
        return Ok(());
    };
    let psks: Vec<&str> = password.split(':').collect();
    // Extensible identity headers (multi-user keys) exist for AES only.
    if psks.len() > 1 && !method.contains("-aes-") {
        return Err(format!(
            "{method} takes a single base64 key; 'iPSK:uPSK' multi-user keys exist only \
             for the 2022-blake3-aes methods"
        ));
    }
    for (i, psk) in psks.iter().enumerate() {
        let which = if psks.len() == 1 {
            "the key".to_string()
        } else {
            format!("key {} of {}", i + 1, psks.len())
        };
        let bytes = engine(&alphabet::STANDARD).decode(psk).map_err(|_| {
            format!("{method} needs a base64 key (password), but {which} is not valid base64")
        })?;
        if bytes.len() != key_len {
            return Err(format!(
                "{method} needs a {key_len}-byte key, but {which} decodes to {} bytes",
                bytes.len()
            ));
        }
    }
    Ok(())
}

/// The `plugin` parameter, if present; other parameters (`outline=1`, …)
/// do not change how the server is reached.
fn parse_query(query: &str) -> Result<Option<String>, String> {
    let mut plugin = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "plugin" {
            continue;
        }
        // Form encoding may write spaces as '+'; plugin options never
        // contain a literal '+'.
        let value = super::percent_decode(&value.replace('+', " "), true)
            .ok_or_else(|| "the plugin parameter is not valid percent-encoding".to_string())?;
        let value = value.trim();
        if !value.is_empty() {
            plugin = Some(value.to_string());
        }
    }
    Ok(plugin)
}

/// The `#name`, decoded, without control characters, at most [`MAX_NAME`]
/// characters; `None` when empty.
fn clean_name(fragment: &str) -> Option<String> {
    let decoded = percent_decode_lossy(fragment);
    let cleaned: String = decoded
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.chars().take(MAX_NAME).collect())
}

/// For names: undecodable text is shown as written.
fn percent_decode_lossy(s: &str) -> String {
    super::percent_decode(s, true).unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EndpointKind;

    const PW: &str = "s3cr3t-Pa55word";
    // 32 and 16 random bytes, base64.
    const PSK32: &str = "YctPZ6U7xPPcU+gp3u+ZNTcnEmCNaM6rpLl5SW8mzQw=";
    const PSK16: &str = "Kp2GZWmqVz4TIbOXwWIBHg==";

    fn b64url(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn b64std(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn ok(line: &str) -> (Endpoint, SsServer) {
        let ep = parse_link(line, Origin::User).unwrap_or_else(|e| panic!("{line}: {e}"));
        let Target::Shadowsocks(s) = &ep.target else {
            panic!("not shadowsocks: {ep:?}")
        };
        let s = (**s).clone();
        (ep, s)
    }

    fn err(line: &str) -> String {
        let e = parse_link(line, Origin::User).unwrap_err();
        assert!(!e.contains(PW), "error leaks the password: {e}");
        assert!(!e.contains(PSK32), "error leaks the PSK: {e}");
        e
    }

    fn pct(s: &str) -> String {
        s.replace('%', "%25")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
            .replace(':', "%3A")
            .replace('@', "%40")
    }

    #[test]
    fn sip002_base64url_userinfo() {
        let ui = b64url(&format!("chacha20-ietf-poly1305:{PW}"));
        let (ep, s) = ok(&format!("ss://{ui}@192.0.2.10:8388/?plugin=#Home%20server"));
        assert_eq!(ep.kind(), EndpointKind::Shadowsocks);
        assert_eq!(s.method, "chacha20-ietf-poly1305");
        assert_eq!(s.password.expose(), PW);
        assert_eq!(s.host, "192.0.2.10");
        assert_eq!(s.port, 8388);
        assert_eq!(s.name.as_deref(), Some("Home server"));
        assert_eq!(s.plugin, None);
        assert_eq!(ep.label, "ss Home server 192.0.2.10:8388");
        assert_eq!(ep.address(), "ss://192.0.2.10:8388");
        assert!(!format!("{ep:?}").contains(PW));
    }

    #[test]
    fn padded_standard_and_percent_padded_base64() {
        // A password whose base64 needs padding and uses '+' and '/'.
        let pw = "??>>~~a";
        let plain = format!("aes-256-gcm:{pw}");
        let std = b64std(&plain);
        assert!(
            std.ends_with('=') && (std.contains('+') || std.contains('/')),
            "{std}"
        );
        for ui in [std.clone(), std.replace('=', "%3D"), b64url(&plain)] {
            let (_, s) = ok(&format!("ss://{ui}@example.net:443#x"));
            assert_eq!(s.method, "aes-256-gcm");
            assert_eq!(s.password.expose(), pw);
            assert_eq!(s.host, "example.net");
        }
    }

    #[test]
    fn percent_encoded_userinfo_and_2022_psks() {
        let (ep, s) = ok(&format!(
            "ss://2022-blake3-aes-256-gcm:{}@[2001:db8::5]:8443#%E2%9C%93%20ok",
            pct(PSK32)
        ));
        assert_eq!(s.method, "2022-blake3-aes-256-gcm");
        assert_eq!(s.password.expose(), PSK32);
        assert_eq!(s.host, "2001:db8::5");
        assert_eq!(ep.label, "ss ✓ ok [2001:db8::5]:8443");

        // Multi-user: iPSK:uPSK kept whole.
        let multi = format!("{PSK32}:{PSK32}");
        let (_, s) = ok(&format!(
            "ss://2022-blake3-aes-256-gcm:{}@h.example:1",
            pct(&multi)
        ));
        assert_eq!(s.password.expose(), &multi);

        let (_, s) = ok(&format!(
            "ss://2022-blake3-aes-128-gcm:{}@h.example:1",
            pct(PSK16)
        ));
        assert_eq!(s.password.expose(), PSK16);

        // Plain (unencoded) password for an AEAD method also works.
        let (_, s) = ok(&format!("ss://AES-128-GCM:{PW}@h.example:1"));
        assert_eq!(s.method, "aes-128-gcm");
        assert_eq!(s.password.expose(), PW);
        // Alias.
        let (_, s) = ok(&format!("ss://chacha20-poly1305:{PW}@h.example:1"));
        assert_eq!(s.method, "chacha20-ietf-poly1305");
    }

    #[test]
    fn psk_size_must_match_cipher() {
        let e = err(&format!(
            "ss://2022-blake3-aes-128-gcm:{}@h.example:1",
            pct(PSK32)
        ));
        assert!(e.contains("16-byte key") && e.contains("32 bytes"), "{e}");
        let e = err(&format!(
            "ss://2022-blake3-aes-256-gcm:{}@h.example:1",
            pct(PSK16)
        ));
        assert!(e.contains("32-byte key"), "{e}");
        let e = err(&format!(
            "ss://2022-blake3-aes-256-gcm:{}@h.example:1",
            pct(PW)
        ));
        assert!(e.contains("not valid base64"), "{e}");
        let e = err(&format!(
            "ss://2022-blake3-chacha20-poly1305:{}@h.example:1",
            pct(&format!("{PSK32}:{PSK32}"))
        ));
        assert!(e.contains("single base64 key"), "{e}");
        let e = err(&format!(
            "ss://2022-blake3-aes-256-gcm:{}@h.example:1",
            pct(&format!("{PSK16}:{PSK32}"))
        ));
        assert!(e.contains("key 1 of 2"), "{e}");
    }

    #[test]
    fn legacy_whole_base64() {
        let inner = format!("aes-256-gcm:{PW}@198.51.100.4:8000");
        for enc in [b64std(&inner), b64url(&inner)] {
            let (ep, s) = ok(&format!("ss://{enc}#Old%20style"));
            assert_eq!(s.method, "aes-256-gcm");
            assert_eq!(s.password.expose(), PW);
            assert_eq!(s.host, "198.51.100.4");
            assert_eq!(s.port, 8000);
            assert_eq!(ep.label, "ss Old style 198.51.100.4:8000");
        }
        // Password containing '@'.
        let (_, s) = ok(&format!("ss://{}", b64url("aes-128-gcm:p@ss@h.example:9")));
        assert_eq!(s.password.expose(), "p@ss");
        assert_eq!(s.host, "h.example");
    }

    #[test]
    fn outline_access_key() {
        let ui = b64url(&format!("chacha20-ietf-poly1305:{PW}"));
        let (ep, s) = ok(&format!(
            "ss://{ui}@203.0.113.9:31555/?outline=1#My%20Outline"
        ));
        assert_eq!(s.port, 31555);
        assert_eq!(s.plugin, None);
        assert_eq!(ep.label, "ss My Outline 203.0.113.9:31555");
        // No name: the host stands in.
        let (ep, _) = ok(&format!("ss://{ui}@203.0.113.9:31555?outline=1"));
        assert_eq!(ep.label, "ss 203.0.113.9 203.0.113.9:31555");
    }

    #[test]
    fn dispatched_from_parse_line() {
        let ui = b64url(&format!("aes-256-gcm:{PW}"));
        let ep =
            crate::catalog::parse_line(&format!("ss://{ui}@192.0.2.1:8388"), Origin::User).unwrap();
        assert_eq!(ep.kind(), EndpointKind::Shadowsocks);
    }

    #[test]
    fn plugin_is_kept() {
        let ui = b64url(&format!("aes-256-gcm:{PW}"));
        let (_, s) = ok(&format!(
            "ss://{ui}@h.example:443/?plugin=obfs-local%3Bobfs%3Dhttp%3Bobfs-host%3Dwww.example.com&outline=1#n"
        ));
        assert_eq!(
            s.plugin.as_deref(),
            Some("obfs-local;obfs=http;obfs-host=www.example.com")
        );
        let (_, s) = ok(&format!("ss://{ui}@h.example:443/?plugin=v2ray-plugin"));
        assert_eq!(s.plugin.as_deref(), Some("v2ray-plugin"));
        assert_eq!(s.plugin_name(), Some("v2ray-plugin"));
    }

    /// Debug shows the plugin's name, never its options (kcptun's key,
    /// Cloak's UID) nor the password.
    #[test]
    fn debug_hides_plugin_options_and_password() {
        let ui = b64url(&format!("aes-256-gcm:{PW}"));
        let (ep, s) = ok(&format!(
            "ss://{ui}@h.example:443/?plugin=kcptun%3Bkey%3Dkcp-secret%3Bcrypt%3Daes#n"
        ));
        assert_eq!(s.plugin_name(), Some("kcptun"));
        for text in [format!("{s:?}"), format!("{ep:?}")] {
            assert!(text.contains("kcptun"), "{text}");
            assert!(!text.contains("kcp-secret") && !text.contains(PW), "{text}");
        }
    }

    #[test]
    fn unsupported_methods_are_named() {
        for m in [
            "rc4-md5",
            "aes-256-cfb",
            "none",
            "chacha20-ietf",
            "xchacha20-ietf-poly1305",
        ] {
            let e = err(&format!(
                "ss://{}@h.example:1",
                b64url(&format!("{m}:{PW}"))
            ));
            assert!(e.contains(m) && e.contains("not supported"), "{m}: {e}");
            assert!(e.contains("aes-256-gcm"), "{e}");
        }
        let e = err(&format!(
            "ss://{}@h.example:1",
            b64url(&format!("rc4-md5:{PW}"))
        ));
        assert!(e.contains("stream cipher"), "{e}");
    }

    #[test]
    fn ssconf_is_refused_with_a_reason() {
        let e = err("ssconf://example.com/key.json#x");
        assert!(e.contains("HTTPS") && e.contains("never fetches"), "{e}");
        let e = crate::catalog::shadowsocks::parse_link("SSCONF://h/x", Origin::User).unwrap_err();
        assert!(e.contains("dynamic Outline key"), "{e}");
    }

    #[test]
    fn malformed_links_are_explained_without_secrets() {
        let ui = b64url(&format!("aes-256-gcm:{PW}"));
        for (line, want) in [
            (format!("ss://{ui}@h.example"), "no port"),
            (format!("ss://{ui}@h.example:"), "port after : is empty"),
            (format!("ss://{ui}@h.example:0"), "out of range"),
            (format!("ss://{ui}@h.example:99999"), "out of range"),
            (format!("ss://{ui}@h.example:80x"), "not a number"),
            (format!("ss://{ui}@"), "no server address"),
            (format!("ss://{ui}@2001:db8::1:8388"), "brackets"),
            (format!("ss://{ui}@[2001:db8::1]"), "no port"),
            (format!("ss://{ui}@[2001:db8::1"), "missing ]"),
            (format!("ss://{ui}@h.example:1/path"), "no path"),
            (format!("ss://{ui}@bad!host:1"), "not allowed"),
            ("ss://@h.example:1".to_string(), "no method and password"),
            (
                format!("ss://!!!notbase64{PW}@h.example:1"),
                "neither base64",
            ),
            (
                format!("ss://{}@h.example:1", b64url(PW)),
                "no ':' between method and password",
            ),
            (
                "ss://aes-256-gcm:@h.example:1".to_string(),
                "empty password",
            ),
            (
                format!("ss://:{PW}@h.example:1"),
                "names no encryption method",
            ),
            (
                format!("ss://aes-256-gcm:{PW}%zz@h.example:1"),
                "percent-encoding",
            ),
            (format!("ss://{PW}!"), "not base64"),
            (
                format!("ss://{}", b64url(&format!("aes-256-gcm:{PW}"))),
                "no '@'",
            ),
            (format!("ss://{ui}@h.example:1 trailing"), "spaces"),
            ("vless://x@h:1".to_string(), "not a Shadowsocks link"),
        ] {
            let e = err(&line);
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        for line in [
            "ss://",
            "ss://#",
            "ss://@",
            "ss://@:",
            "ss://a@[",
            "ss://a@]:1",
            "ss://%",
            "ss://%e2%82@h:1",
            "ss://a:b@h:1?plugin=%",
            "ss://a:b@h:1#%ff%fe",
            "ss://====",
            "ss://\u{0}@\u{0}:1",
            "ss://ü:ü@ü:1",
        ] {
            let _ = parse_link(line, Origin::User);
        }
        // Control characters in names are neutralised.
        let ui = b64url(&format!("aes-256-gcm:{PW}"));
        let (ep, _) = ok(&format!("ss://{ui}@h.example:1#a%0Ab%1B[31m"));
        assert!(!ep.label.chars().any(char::is_control), "{:?}", ep.label);
    }
}
