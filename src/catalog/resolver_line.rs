//! One line of the plain resolver list format (`bridges/resolvers.txt`):
//!
//! ```text
//! https://dns.example/dns-query [name=Label] [bootstrap=192.0.2.1,2001:db8::1] [pin=<64 hex>]
//! tls://dns.example[:853]       [name="Label with spaces"] [bootstrap=…] [pin=…]
//! dot://dns.example             (same as tls://)
//! sdns://…                      [name=Label]
//! ```
//!
//! Tokens are separated by whitespace; an option value may be wrapped in
//! double quotes to contain spaces. A token starting with `#` starts a
//! comment that runs to the end of the line. `bootstrap=` and `pin=` take
//! comma-separated lists and may be repeated.
//!
//! Choices:
//! * The label defaults to the host (for stamps, the stamp's host name).
//! * A DoH URL with no path at all gets `/dns-query`; an explicit `/` is
//!   kept, because some servers really answer there. The RFC 8484 template
//!   suffix `{?dns}` is dropped, since people paste it from documentation.
//! * Host names are lower-cased and lose one trailing dot, so that the TLS
//!   server name is what servers expect.
//! * Stamps carry their own addresses and pins, so `bootstrap=` and `pin=`
//!   are refused after an `sdns://` stamp rather than silently merged.

use std::net::{IpAddr, Ipv4Addr};

use super::{
    AuthorityError, AuthorityHost, DnsResolver, Endpoint, Origin, Target, parse_port, shorten,
    split_authority, stamp,
};

const DEFAULT_DOH_PATH: &str = "/dns-query";

/// Parses one non-comment line. Errors name the offending field; the caller
/// adds the file and line number.
pub fn parse(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let tokens = tokenize(line)?;
    let Some((address, rest)) = tokens.split_first() else {
        return Err("the line is empty".to_string());
    };
    let opts = parse_options(rest)?;

    let (scheme, after) = match address.split_once("://") {
        Some((s, a)) => (s.to_ascii_lowercase(), a),
        None => return Err(missing_scheme(address)),
    };

    let (target, default_label) = match scheme.as_str() {
        "https" => {
            let r = parse_doh(after, &opts)?;
            let label = r.host.clone();
            (Target::Doh(r), label)
        }
        "tls" | "dot" => {
            let r = parse_dot(after, &opts)?;
            let label = r.host.clone();
            (Target::Dot(r), label)
        }
        "sdns" => {
            if !opts.bootstrap.is_empty() || !opts.pins.is_empty() {
                return Err(
                    "bootstrap= and pin= cannot follow an sdns:// stamp: the stamp carries its own \
                     address and certificate hashes (only name= is allowed)"
                        .to_string(),
                );
            }
            let decoded = stamp::decode(address).map_err(stamp_message)?;
            let target = decoded.to_target().map_err(stamp_message)?;
            let label = match &target {
                Target::Doh(r) | Target::Dot(r) => r.host.clone(),
                _ => String::new(),
            };
            (target, label)
        }
        "http" => {
            return Err("plain http:// is not DNS-over-HTTPS: use an https:// URL".to_string());
        }
        "quic" | "doq" | "h3" => {
            return Err(format!(
                "{scheme}:// endpoints are not supported: only DoH (https://) and DoT (tls://) are tested"
            ));
        }
        _ => {
            return Err(format!(
                "unknown address scheme \"{scheme}://\": expected https:// (DoH), tls:// or dot:// (DoT), or sdns:// (DNS stamp)"
            ));
        }
    };

    Ok(Endpoint {
        label: opts.name.unwrap_or(default_label),
        origin,
        target,
    })
}

fn stamp_message(e: stamp::StampError) -> String {
    match e {
        stamp::StampError::Unsupported(_) => e.to_string(),
        _ => format!("bad DNS stamp: {e}"),
    }
}

fn missing_scheme(address: &str) -> String {
    let shown = shorten(address);
    if address.parse::<IpAddr>().is_ok() {
        return format!(
            "{shown:?} is a bare IP address: write https://{shown}/dns-query for DoH or tls://{shown} for DoT"
        );
    }
    format!(
        "{shown:?} has no scheme: write https://host/dns-query for DoH, tls://host for DoT, or paste an sdns:// stamp"
    )
}

/// Splits on whitespace, honouring double quotes and `#` comments.
fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None => return Ok(tokens),
            Some('#') => return Ok(tokens),
            Some(_) => {}
        }
        let mut token = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            if c == '"' {
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    token.push(q);
                }
                if !closed {
                    return Err(format!("unterminated quote in {:?}", shorten(&token)));
                }
            } else {
                token.push(c);
            }
        }
        tokens.push(token);
    }
}

#[derive(Debug, Default)]
struct Options {
    name: Option<String>,
    bootstrap: Vec<IpAddr>,
    pins: Vec<[u8; 32]>,
}

fn parse_options(tokens: &[String]) -> Result<Options, String> {
    let mut opts = Options::default();
    for token in tokens {
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!(
                "unexpected {:?} after the address: options are written name=…, bootstrap=… or pin=…",
                shorten(token)
            ));
        };
        let key = key.to_ascii_lowercase();
        if value.trim().is_empty() {
            return Err(format!("{key}= needs a value"));
        }
        match key.as_str() {
            "name" => {
                if opts.name.is_some() {
                    return Err("name= is given twice".to_string());
                }
                let name = value.trim();
                if name.chars().any(char::is_control) {
                    return Err("name= contains control characters".to_string());
                }
                opts.name = Some(name.to_string());
            }
            "bootstrap" => {
                for item in value.split(',') {
                    let ip = parse_bootstrap_ip(item.trim())?;
                    if !opts.bootstrap.contains(&ip) {
                        opts.bootstrap.push(ip);
                    }
                }
            }
            "pin" => {
                for item in value.split(',') {
                    let pin = parse_pin(item.trim())?;
                    if !opts.pins.contains(&pin) {
                        opts.pins.push(pin);
                    }
                }
            }
            _ => {
                return Err(format!(
                    "unknown option \"{}=\": known options are name=, bootstrap= and pin=",
                    shorten(&key)
                ));
            }
        }
    }
    Ok(opts)
}

fn parse_bootstrap_ip(item: &str) -> Result<IpAddr, String> {
    if item.is_empty() {
        return Err("bootstrap= has an empty entry (a stray comma?)".to_string());
    }
    let unbracketed = item
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(item);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(ip);
    }
    let has_port = item
        .rsplit_once(':')
        .is_some_and(|(ip, _)| ip.parse::<Ipv4Addr>().is_ok() || ip.starts_with('['));
    if has_port {
        return Err(format!(
            "bootstrap address {:?} has a port: give the address alone (the port comes from the URL)",
            shorten(item)
        ));
    }
    Err(format!(
        "bootstrap address {:?} is not an IP address",
        shorten(item)
    ))
}

fn parse_pin(item: &str) -> Result<[u8; 32], String> {
    let n = item.chars().count();
    if n != 64 || !item.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "pin {:?} is not a SHA-256 hash: expected 64 hex digits, got {n} character(s){}",
            shorten(item),
            if n == 64 { " that are not all hex" } else { "" }
        ));
    }
    super::hex_array(item).ok_or_else(|| format!("pin {:?} is not hex", shorten(item)))
}

/// Rejects URL parts we do not support and returns the authority and the
/// rest (path and query) of `after`, the text following `scheme://`.
fn split_url(after: &str) -> Result<(&str, &str), String> {
    if after.contains('#') {
        return Err("the address must not contain a fragment (#…)".to_string());
    }
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, tail) = after.split_at(end);
    if authority.contains('@') {
        return Err(
            "user names or passwords in the address (user@host) are not supported".to_string(),
        );
    }
    Ok((authority, tail))
}

fn parse_doh(after: &str, opts: &Options) -> Result<DnsResolver, String> {
    let (authority, tail) = split_url(after)?;
    let (host, port) = parse_authority(authority, 443)?;

    let tail = tail.strip_suffix("{?dns}").unwrap_or(tail);
    let path = if tail.is_empty() || tail.starts_with('?') {
        format!("{DEFAULT_DOH_PATH}{tail}")
    } else {
        tail.to_string()
    };
    if !path.is_ascii() {
        return Err(format!(
            "the URL path {:?} contains non-ASCII characters: percent-encode them",
            shorten(&path)
        ));
    }
    if path.contains(['{', '}']) {
        return Err(format!(
            "the URL path {:?} contains a URI template: only a trailing {{?dns}} is understood",
            shorten(&path)
        ));
    }
    // The probe builds its request with the `http` crate: check here, where
    // the error can still name the line.
    if http::uri::PathAndQuery::try_from(path.as_str()).is_err() {
        return Err(format!(
            "the URL path {:?} contains characters not allowed in a URL",
            shorten(&path)
        ));
    }

    Ok(DnsResolver {
        host,
        port,
        path,
        bootstrap: opts.bootstrap.clone(),
        pins: opts.pins.clone(),
        bootstrap_resolvers: Vec::new(),
    })
}

fn parse_dot(after: &str, opts: &Options) -> Result<DnsResolver, String> {
    let (authority, tail) = split_url(after)?;
    if !tail.is_empty() && tail != "/" {
        return Err(format!(
            "a DoT address has no path or query: remove {:?}",
            shorten(tail)
        ));
    }
    let (host, port) = parse_authority(authority, 853)?;
    Ok(DnsResolver {
        host,
        port,
        path: String::new(),
        bootstrap: opts.bootstrap.clone(),
        pins: opts.pins.clone(),
        bootstrap_resolvers: Vec::new(),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn parse_authority(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = split_authority(authority).map_err(AuthorityError::describe)?;
    let host = match host {
        AuthorityHost::Ipv6(ip) => ip.to_string(),
        AuthorityHost::Text(h) => normalize_host(h)?,
    };
    let port = match port {
        None => default_port,
        Some(p) => parse_port(p)?,
    };
    Ok((host, port))
}

/// Validates a host name or IP literal (IPv6 without brackets) for use as
/// TLS server name and HTTP authority; returns it lower-cased, without a
/// trailing dot. The error is a plain-language reason.
pub(crate) fn normalize_host(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("the host name is empty".to_string());
    }
    if !raw.is_ascii() {
        return Err(format!(
            "host name {:?} contains non-ASCII characters: write internationalized names in their punycode (xn--…) form",
            shorten(raw)
        ));
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let name = raw.strip_suffix('.').unwrap_or(raw);
    if name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("{:?} is not a valid IPv4 address", shorten(raw)));
    }
    if name.len() > 253 {
        return Err(format!(
            "host name is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!(
                "host name {:?} has an empty label (two dots in a row, or a leading dot)",
                shorten(raw)
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "host name {:?} has a label longer than 63 characters",
                shorten(raw)
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "host name {:?} contains {c:?}, which is not allowed in a host name",
                shorten(raw)
            ));
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "3e1a1a0f6c53f3e97a492d57084b5b9807059ee057ab1505876fd83fda3db838";

    fn ok(line: &str) -> Endpoint {
        parse(line, Origin::User).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(line: &str) -> String {
        match parse(line, Origin::User) {
            Ok(ep) => panic!("{line}: parsed as {ep:?}"),
            Err(e) => e,
        }
    }

    fn resolver(ep: &Endpoint) -> &DnsResolver {
        match &ep.target {
            Target::Doh(r) | Target::Dot(r) => r,
            other => panic!("not a resolver: {other:?}"),
        }
    }

    #[test]
    fn minimal_doh() {
        let ep = ok("https://dns.example/dns-query");
        assert_eq!(ep.label, "dns.example");
        assert_eq!(ep.origin, Origin::User);
        assert_eq!(
            ep.target,
            Target::Doh(DnsResolver {
                host: "dns.example".into(),
                port: 443,
                path: "/dns-query".into(),
                bootstrap: vec![],
                pins: vec![],
                bootstrap_resolvers: Vec::new(),
            })
        );
        assert_eq!(ep.address(), "https://dns.example/dns-query");
    }

    #[test]
    fn doh_with_all_options() {
        let ep = ok(&format!(
            "https://DNS.Example.:8443/q?x=1  name=\"My resolver\"  bootstrap=192.0.2.1,[2001:db8::1] bootstrap=192.0.2.1,198.51.100.7 pin={PIN}"
        ));
        assert_eq!(ep.label, "My resolver");
        let r = resolver(&ep);
        assert_eq!(r.host, "dns.example");
        assert_eq!(r.port, 8443);
        assert_eq!(r.path, "/q?x=1");
        assert_eq!(
            r.bootstrap,
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap(),
                "198.51.100.7".parse().unwrap()
            ]
        );
        assert_eq!(r.pins.len(), 1);
        assert_eq!(r.pins[0][0], 0x3e);
        assert_eq!(r.pins[0][31], 0x38);
        assert_eq!(ep.address(), "https://dns.example:8443/q?x=1");
    }

    #[test]
    fn doh_paths() {
        assert_eq!(resolver(&ok("https://dns.example")).path, "/dns-query");
        assert_eq!(resolver(&ok("https://dns.example/")).path, "/");
        assert_eq!(
            resolver(&ok("https://dns.example?ct")).path,
            "/dns-query?ct"
        );
        assert_eq!(
            resolver(&ok("https://dns.example/dns-query{?dns}")).path,
            "/dns-query"
        );
        assert_eq!(
            resolver(&ok("https://doh.cleanbrowsing.org/doh/family-filter/")).path,
            "/doh/family-filter/"
        );
        assert!(err("https://dns.example/{x}").contains("template"));
        assert!(err("https://dns.example/dns-qüery").contains("non-ASCII"));
        // What the `http` crate refuses to send is refused here.
        for bad in ["<", ">", "`", "\u{7f}"] {
            assert!(err(&format!("https://dns.example/a{bad}b")).contains("not allowed"));
        }
    }

    #[test]
    fn ip_hosts() {
        let ep = ok("https://[2606:4700:4700::1111]/dns-query");
        assert_eq!(resolver(&ep).host, "2606:4700:4700::1111");
        assert_eq!(ep.address(), "https://[2606:4700:4700::1111]/dns-query");
        let ep = ok("tls://[2620:fe::fe]:853");
        assert_eq!(resolver(&ep).host, "2620:fe::fe");
        assert_eq!(ep.address(), "tls://[2620:fe::fe]:853");
        assert_eq!(resolver(&ok("https://1.1.1.1/dns-query")).host, "1.1.1.1");
        assert!(err("https://2606:4700::1111/dns-query").contains("brackets"));
        assert!(err("https://[2606:4700::zz]/").contains("not a valid IPv6"));
        assert!(err("https://[::1/").contains("missing ]"));
        assert!(err("https://[::1]x/").contains("unexpected"));
        assert!(err("https://1.1.1/dns-query").contains("not a valid IPv4"));
    }

    #[test]
    fn dot_forms() {
        for line in [
            "tls://dns.google",
            "dot://dns.google",
            "TLS://dns.google:853",
            "tls://dns.google/",
        ] {
            let ep = ok(line);
            assert_eq!(ep.kind(), super::super::EndpointKind::Dot);
            let r = resolver(&ep);
            assert_eq!((r.host.as_str(), r.port), ("dns.google", 853), "{line}");
            assert_eq!(r.path, "");
            assert_eq!(ep.address(), "tls://dns.google:853");
        }
        assert_eq!(resolver(&ok("tls://dns.example:8853")).port, 8853);
        assert!(err("tls://dns.google/dns-query").contains("no path"));
        assert!(err("tls://dns.google?x").contains("no path"));
        let ep = ok("tls://dns.google name=Google bootstrap=8.8.8.8");
        assert_eq!(ep.label, "Google");
        assert_eq!(resolver(&ep).bootstrap.len(), 1);
    }

    #[test]
    fn stamps() {
        let stamp = "sdns://AgcAAAAAAAAABzEuMC4wLjEAEmRucy5jbG91ZGZsYXJlLmNvbQovZG5zLXF1ZXJ5";
        let ep = ok(stamp);
        assert_eq!(ep.label, "dns.cloudflare.com");
        assert_eq!(ep.address(), "https://dns.cloudflare.com/dns-query");
        assert_eq!(
            resolver(&ep).bootstrap,
            vec!["1.0.0.1".parse::<IpAddr>().unwrap()]
        );
        let ep = ok(&format!("{stamp} name=\"Cloudflare (stamp)\""));
        assert_eq!(ep.label, "Cloudflare (stamp)");

        let e = err(
            "sdns://AQcAAAAAAAAADTUxLjE1OC4xNjYuOTcgAyfzz5J-mV9G-yOB4Hwcdk7yX12EQs5Iva7kV3oGtlEgMi5kbnNjcnlwdC1jZXJ0LmFjc2Fjc2FyLWFtcy5jb20",
        );
        assert_eq!(
            e,
            "unsupported stamp protocol: DNSCrypt (only DoH and DoT are tested)"
        );
        assert!(err("sdns://!!").starts_with("bad DNS stamp: "));
        assert!(err(&format!("{stamp} bootstrap=1.1.1.1")).contains("only name="));
        assert!(err(&format!("{stamp} pin={PIN}")).contains("only name="));
    }

    #[test]
    fn comments_and_quotes() {
        let ep = ok("https://dns.example/dns-query   # my favourite");
        assert_eq!(ep.label, "dns.example");
        let ep = ok("tls://dns.example name=\"#1 pick\" # trailing");
        assert_eq!(ep.label, "#1 pick");
        let ep = ok("tls://dns.example \"name=a b\"");
        assert_eq!(ep.label, "a b");
        assert!(err("tls://dns.example name=\"open").contains("unterminated quote"));
        assert!(err("tls://dns.example name=\"\"").contains("needs a value"));
        assert!(err("tls://dns.example name=a name=b").contains("twice"));
        assert!(err("tls://dns.example name=\"a\u{7}b\"").contains("control"));
        assert_eq!(err("   ").as_str(), "the line is empty");
        assert_eq!(err("# only a comment").as_str(), "the line is empty");
    }

    #[test]
    fn option_errors_name_the_problem() {
        let e = err("tls://dns.example sni=foo");
        assert!(e.contains("unknown option \"sni=\""), "{e}");
        let e = err("tls://dns.example foo");
        assert!(e.contains("unexpected \"foo\""), "{e}");
        let e = err("tls://dns.example bootstrap=1.1.1.1,1.2.3");
        assert!(e.contains("\"1.2.3\" is not an IP address"), "{e}");
        let e = err("tls://dns.example bootstrap=1.1.1.1:853");
        assert!(e.contains("has a port"), "{e}");
        let e = err("tls://dns.example bootstrap=[::1]:853");
        assert!(e.contains("has a port"), "{e}");
        let e = err("tls://dns.example bootstrap=1.1.1.1,");
        assert!(e.contains("empty entry"), "{e}");
        let e = err("tls://dns.example bootstrap=");
        assert!(e.contains("needs a value"), "{e}");
        let e = err("tls://dns.example pin=abcd");
        assert!(e.contains("64 hex digits, got 4"), "{e}");
        let e = err(&format!("tls://dns.example pin={}", "z".repeat(64)));
        assert!(e.contains("not all hex"), "{e}");
        let ep = ok(&format!(
            "tls://dns.example pin={PIN},{} pin={PIN}",
            PIN.to_uppercase().replace('3', "4")
        ));
        assert_eq!(resolver(&ep).pins.len(), 2);
    }

    #[test]
    fn address_errors_name_the_problem() {
        assert!(err("http://dns.example/dns-query").contains("https://"));
        assert!(err("quic://dns.example").contains("not supported"));
        assert!(err("ftp://dns.example").contains("unknown address scheme \"ftp://\""));
        assert!(err("dns.example").contains("no scheme"));
        assert!(err("1.1.1.1").contains("bare IP address"));
        assert!(err("https://user:pw@dns.example/").contains("user@host"));
        assert!(err("https://dns.example/dns-query#frag").contains("fragment"));
        assert!(err("https:///dns-query").contains("no host"));
        assert!(err("https://:443/dns-query").contains("empty"));
        assert!(err("https://dns.example:/").contains("port after : is empty"));
        assert!(err("https://dns.example:0/").contains("out of range"));
        assert!(err("https://dns.example:65536/").contains("65536 is out of range"));
        assert!(err("https://dns.example:99999999999999999999/").contains("out of range"));
        assert!(err("https://dns.example:https/").contains("not a number"));
        assert!(err("https://dnsé.example/").contains("non-ASCII"));
        assert!(err("https://dns..example/").contains("empty label"));
        assert!(err("https://dns.ex%61mple/").contains("'%'"));
        assert!(err(&format!("https://{}.example/", "a".repeat(64))).contains("63"));
        assert!(err(&format!("https://{}/", "a.".repeat(130))).contains("253"));
    }

    #[test]
    fn host_normalization() {
        assert_eq!(normalize_host("Dns.Google.").unwrap(), "dns.google");
        assert_eq!(normalize_host("dns_1.example").unwrap(), "dns_1.example");
        assert_eq!(normalize_host("2001:DB8::1").unwrap(), "2001:db8::1");
        assert!(normalize_host(".").is_err());
        assert!(normalize_host("").is_err());
    }

    #[test]
    fn builtin_origin_is_kept() {
        let ep = parse("tls://dns.google", Origin::Builtin).unwrap();
        assert_eq!(ep.origin, Origin::Builtin);
    }

    #[test]
    fn odd_input_never_panics() {
        for line in [
            "\"",
            "=",
            "https://",
            "https://[",
            "https://]",
            "https://[]",
            "https://[:::]:",
            "tls://:",
            "sdns://",
            "a://b://c",
            "https://é/é?é",
            "https://x/ \"",
            "tls://x name=\"é",
            "\u{0}\u{1}\u{2}",
        ] {
            let _ = parse(line, Origin::User);
        }
    }

    /// The shipped list must parse cleanly, and its stamps must be ones our
    /// own encoder reproduces byte for byte.
    #[test]
    fn shipped_list_parses() {
        let catalog = super::super::bundled();
        assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
        assert!(catalog.endpoints.len() >= 15, "{}", catalog.endpoints.len());
        let mut labels: Vec<&str> = catalog.endpoints.iter().map(|e| e.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), catalog.endpoints.len(), "duplicate labels");
        assert!(
            catalog
                .endpoints
                .iter()
                .all(|e| e.origin == Origin::Builtin)
        );
        let text = include_str!("../../bridges/resolvers.txt");
        let stamps: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|t| t.starts_with("sdns://"))
            .collect();
        assert!(!stamps.is_empty());
        for s in stamps {
            assert_eq!(stamp::encode(&stamp::decode(s).unwrap()), s);
        }
    }
}
