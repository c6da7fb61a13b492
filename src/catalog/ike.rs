//! IKEv2 responders: `ike://host[:port]` (or `ikev2://`), or a bare host
//! with `--kind ikev2`. An IKEv2 server needs no secret to be probed: any
//! responder answers a well-formed `IKE_SA_INIT`, so only the address is kept.

use std::net::Ipv6Addr;

use super::resolver_line::normalize_host;
use super::{
    AuthorityError, AuthorityHost, Endpoint, Origin, Target, host_for_url, parse_port,
    split_authority,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeTarget {
    pub host: String,
    /// `None`: try UDP 500 and 4500 (with the non-ESP marker).
    pub port: Option<u16>,
}

const NO_USER: &str = "ike:// takes no user name or password: IKEv2 is probed without logging in";

/// Parses `ike://host[:port]` or `ikev2://…` (IPv6 in brackets; a trailing
/// `/` is tolerated, nothing else may follow the authority). Errors never
/// quote the input: it may hold a password by mistake.
pub fn parse(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let line = line.trim();
    let (scheme, rest) = line
        .split_once("://")
        .ok_or_else(|| "not an ike:// URL: write ike://host or ike://host:port".to_string())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "ike" && scheme != "ikev2" {
        return Err("not an IKEv2 URL: write ike://host or ike://host:port".to_string());
    }
    // First of all: whatever else is wrong, user info must not be echoed.
    if rest.contains('@') {
        return Err(NO_USER.to_string());
    }
    if rest.chars().any(char::is_whitespace) {
        return Err(
            "unexpected text after the ike:// URL: write ike://host or ike://host:port".to_string(),
        );
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(
            "ike:// takes only a host and an optional port, not a path, query or fragment"
                .to_string(),
        );
    }
    let (host, port) = parse_authority(authority)?;
    Ok(endpoint(host, port, origin))
}

/// A plain host name or IP literal (the CLI's `--kind ikev2`), optionally
/// with `:port` (`[v6]:port` for IPv6). An `ike://` URL is accepted too.
pub fn parse_bare(host: &str, origin: Origin) -> Result<Endpoint, String> {
    let host = host.trim();
    if host.contains("://") {
        return parse(host, origin);
    }
    if host.contains('@') {
        return Err(NO_USER.to_string());
    }
    if host.chars().any(char::is_whitespace) {
        return Err("not a host name or IP address: it contains spaces".to_string());
    }
    // A bare IPv6 literal has several colons and no brackets.
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return Ok(endpoint(ip.to_string(), None, origin));
    }
    let (host, port) = parse_authority(host)?;
    Ok(endpoint(host, port, origin))
}

fn endpoint(host: String, port: Option<u16>, origin: Origin) -> Endpoint {
    Endpoint {
        label: format!("ike {}", host_for_url(&host)),
        origin,
        target: Target::Ike(IkeTarget { host, port }),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the host lower-cased.
fn parse_authority(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = split_authority(authority).map_err(|e| match e {
        AuthorityError::Empty => "the IKEv2 address has no host name".to_string(),
        AuthorityError::UnbracketedIpv6 => {
            "IPv6 addresses must be written in brackets, e.g. ike://[2001:db8::1]".to_string()
        }
        e => e.describe().to_string(),
    })?;
    let host = match host {
        AuthorityHost::Ipv6(ip) => ip.to_string(),
        AuthorityHost::Text(h) => normalize_host(h)?,
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EndpointKind;

    fn ok(line: &str) -> Endpoint {
        parse(line, Origin::User).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn target(ep: &Endpoint) -> &IkeTarget {
        match &ep.target {
            Target::Ike(t) => t,
            other => panic!("not IKE: {other:?}"),
        }
    }

    #[test]
    fn host_and_port_forms() {
        let ep = ok("ike://vpn.example.org");
        assert_eq!(ep.kind(), EndpointKind::Ikev2);
        assert_eq!(ep.label, "ike vpn.example.org");
        assert_eq!(
            target(&ep),
            &IkeTarget {
                host: "vpn.example.org".into(),
                port: None
            }
        );
        assert_eq!(ep.address(), "ike://vpn.example.org");

        let ep = ok("IKEv2://VPN.Example.org:4500/");
        assert_eq!(target(&ep).host, "vpn.example.org");
        assert_eq!(target(&ep).port, Some(4500));
        assert_eq!(ep.address(), "ike://vpn.example.org:4500");

        let ep = ok("ike://192.0.2.7:500");
        assert_eq!(target(&ep).host, "192.0.2.7");
        assert_eq!(target(&ep).port, Some(500));
    }

    #[test]
    fn ipv6_in_brackets() {
        let ep = ok("ike://[2001:DB8::1]");
        assert_eq!(target(&ep).host, "2001:db8::1");
        assert_eq!(target(&ep).port, None);
        assert_eq!(ep.label, "ike [2001:db8::1]");
        assert_eq!(ep.address(), "ike://[2001:db8::1]");
        let ep = ok("ike://[2001:db8::1]:4500");
        assert_eq!(target(&ep).port, Some(4500));
    }

    #[test]
    fn dispatched_from_parse_line() {
        let ep = crate::catalog::parse_line("ike://192.0.2.1", Origin::User).unwrap();
        assert_eq!(ep.kind(), EndpointKind::Ikev2);
        let ep = crate::catalog::parse_line("ikev2://192.0.2.1:500", Origin::Builtin).unwrap();
        assert_eq!(ep.origin, Origin::Builtin);
    }

    #[test]
    fn malformed_urls_are_explained() {
        for (line, want) in [
            ("ike://", "no host name"),
            ("ike://:500", "host name is empty"),
            ("ike://host:", "port after : is empty"),
            ("ike://host:0", "out of range"),
            ("ike://host:70000", "out of range"),
            ("ike://host:abc", "not a number"),
            ("ike://2001:db8::1", "brackets"),
            ("ike://[2001:db8::1", "missing ]"),
            ("ike://[nonsense]", "not a valid IPv6"),
            ("ike://[2001:db8::1]x", "unexpected"),
            ("ike://host/path", "only a host"),
            ("ike://host?x=1", "only a host"),
            ("ike://user:pw@host", "no user name"),
            ("ike://alice:pw@vpn.example/x?y#z", "no user name"),
            ("ike://alice:pw@[2001:db8::1", "no user name"),
            ("ike://bad_host!", "not allowed"),
            ("ike://a..b", "empty label"),
            ("ike://999.1.1.1", "not a valid IPv4"),
            ("ike://host extra", "unexpected text"),
            ("ipsec://host", "not an IKEv2 URL"),
            ("host", "not an ike:// URL"),
        ] {
            let e = parse(line, Origin::User).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    /// No part of the input ends up in an error: user info, paths and
    /// queries can hold secrets.
    #[test]
    fn errors_never_quote_the_input() {
        for line in [
            "ike://alice:pw@vpn.example/x",
            "ike://vpn.example/secret-path",
            "ike://vpn.example?token=secret",
            "ike://vpn.example#secret",
            "ikev2://alice:pw@vpn.example",
            "secret://vpn.example",
            "ike://vpn.example:secret",
            "ike://[secret]",
            "ike://[2001:db8::1]secret",
        ] {
            let e = parse(line, Origin::User).unwrap_err();
            for word in ["alice", "pw@", "secret"] {
                assert!(!e.contains(word), "{line}: {e}");
            }
        }
        for bare in ["alice:pw@vpn.example", "secret words", "vpn.example:secret"] {
            let e = parse_bare(bare, Origin::User).unwrap_err();
            for word in ["alice", "pw@", "secret"] {
                assert!(!e.contains(word), "{bare}: {e}");
            }
        }
    }

    #[test]
    fn bare_hosts() {
        let ep = parse_bare("vpn.example.org", Origin::User).unwrap();
        assert_eq!(target(&ep).host, "vpn.example.org");
        assert_eq!(target(&ep).port, None);
        let ep = parse_bare(" 192.0.2.9 ", Origin::User).unwrap();
        assert_eq!(target(&ep).host, "192.0.2.9");
        let ep = parse_bare("2001:db8::2", Origin::User).unwrap();
        assert_eq!(target(&ep).host, "2001:db8::2");
        assert_eq!(ep.label, "ike [2001:db8::2]");
        let ep = parse_bare("[2001:db8::2]:4500", Origin::User).unwrap();
        assert_eq!(target(&ep).port, Some(4500));
        let ep = parse_bare("vpn.example.org:500", Origin::User).unwrap();
        assert_eq!(target(&ep).port, Some(500));
        let ep = parse_bare("ike://vpn.example.org", Origin::User).unwrap();
        assert_eq!(target(&ep).host, "vpn.example.org");
        for bad in ["", "two words", "bad/host", "exa mple", "a..b", "host:"] {
            assert!(parse_bare(bad, Origin::User).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        for line in [
            "ike://[",
            "ike://]",
            "ike://[]:",
            "ike://[::]:",
            "ike://ü",
            "ike://\u{0}",
            "ike:///",
            "ike://:",
            "ike://@",
        ] {
            let _ = parse(line, Origin::User);
            let _ = parse_bare(line.trim_start_matches("ike://"), Origin::User);
        }
    }
}
