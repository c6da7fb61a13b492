//! Maps errors from sockets, TLS and HTTP to OONI failure strings, and
//! scrubs addresses from any message that has to be kept verbatim.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::measurement::Failure;

/// OONI's name for an I/O error, looking through TLS wrappers.
pub fn from_io(err: &io::Error) -> Failure {
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return from_tls(tls);
    }
    match err.kind() {
        io::ErrorKind::TimedOut => return Failure::GenericTimeout,
        io::ErrorKind::ConnectionRefused => return Failure::ConnectionRefused,
        io::ErrorKind::ConnectionReset => return Failure::ConnectionReset,
        io::ErrorKind::ConnectionAborted => return Failure::ConnectionAborted,
        io::ErrorKind::UnexpectedEof => return Failure::Eof,
        io::ErrorKind::HostUnreachable => return Failure::HostUnreachable,
        io::ErrorKind::NetworkUnreachable => return Failure::NetworkUnreachable,
        io::ErrorKind::BrokenPipe => return Failure::ConnectionReset,
        io::ErrorKind::Interrupted => return Failure::Interrupted,
        _ => {}
    }
    match err.raw_os_error() {
        Some(113) => Failure::HostUnreachable,    // EHOSTUNREACH
        Some(101) => Failure::NetworkUnreachable, // ENETUNREACH
        Some(110) => Failure::GenericTimeout,     // ETIMEDOUT
        _ => Failure::Unknown(scrub(&err.to_string())),
    }
}

/// OONI's name for a TLS error.
pub fn from_tls(err: &rustls::Error) -> Failure {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => Failure::SslUnknownAuthority,
            C::NotValidForName | C::NotValidForNameContext { .. } => Failure::SslInvalidHostname,
            _ => Failure::SslInvalidCertificate,
        },
        rustls::Error::General(msg) if msg == super::tls::PIN_MISMATCH => Failure::SslPinMismatch,
        rustls::Error::AlertReceived(_)
        | rustls::Error::InvalidMessage(_)
        | rustls::Error::PeerIncompatible(_)
        | rustls::Error::PeerMisbehaved(_)
        | rustls::Error::NoApplicationProtocol => Failure::SslFailedHandshake,
        other => Failure::Unknown(scrub(&other.to_string())),
    }
}

/// OONI's name for an HTTP client error.
pub fn from_hyper(err: &hyper::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return from_io(io);
        }
        source = s.source();
    }
    if err.is_incomplete_message() || err.is_closed() {
        return Failure::Eof;
    }
    if err.is_timeout() {
        return Failure::GenericTimeout;
    }
    Failure::Unknown(scrub(&err.to_string()))
}

/// Replaces every IPv4/IPv6 address (with or without port) in `msg` by
/// `[scrubbed]`, so error text can be kept without exposing anyone.
pub fn scrub(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if !token.is_empty() {
            out.push_str(&scrub_token(token));
            token.clear();
        }
    };
    for ch in msg.chars() {
        if ch.is_ascii_hexdigit() || ch == '.' || ch == ':' || ch == '[' || ch == ']' || ch == '%' {
            token.push(ch);
        } else {
            flush(&mut token, &mut out);
            out.push(ch);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// For messages about user input shown on a terminal or in logs: addresses
/// scrubbed, and long key-like runs (fingerprints, certs, keys) cut, so a
/// skipped bridge line does not print its secrets.
pub fn redact_secrets(msg: &str) -> String {
    let scrubbed = scrub(msg);
    let mut out = String::with_capacity(scrubbed.len());
    let mut run = String::new();
    let keyish = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-');
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_alphanumeric).count() >= 20 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in scrubbed.chars() {
        if keyish(ch) {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Replaces addresses inside one run of address-like characters, also
/// when glued to a word ("peer:10.1.2.3", "a10.1.2.3").
fn scrub_token(token: &str) -> String {
    if is_address(token) {
        return "[scrubbed]".to_string();
    }
    let b = token.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let starts =
            (b[i].is_ascii_digit() || b[i] == b'[') && (i == 0 || !b[i - 1].is_ascii_digit());
        if starts {
            // Longest address starting here (7 = shortest IPv4 text).
            if let Some(end) = (i + 7..=b.len())
                .rev()
                .find(|&j| token.is_char_boundary(j) && is_address(&token[i..j]))
            {
                out.push_str(&token[copied..i]);
                out.push_str("[scrubbed]");
                i = end;
                copied = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&token[copied..]);
    out
}

fn is_address(token: &str) -> bool {
    let t = token.trim_end_matches(['.', ':']);
    if t.parse::<SocketAddr>().is_ok() {
        return true;
    }
    let bare = t.trim_start_matches('[').trim_end_matches(']');
    let bare = bare.split('%').next().unwrap_or(bare);
    match bare.parse::<IpAddr>() {
        // "::" alone or short hex like "dead:beef" parse oddly; require some
        // substance so ordinary words with colons survive.
        Ok(IpAddr::V4(_)) => true,
        Ok(IpAddr::V6(_)) => bare.matches(':').count() >= 2,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_ipv4_ipv6_and_ports() {
        let s = scrub(
            "connect to 10.1.2.3:443 failed; also [2001:db8::1]:853 and fe80::1%eth0, 192.168.0.1.",
        );
        assert!(!s.contains("10.1.2.3"), "{s}");
        assert!(!s.contains("2001:db8"), "{s}");
        assert!(!s.contains("fe80"), "{s}");
        assert!(!s.contains("192.168"), "{s}");
        assert!(s.starts_with("connect to [scrubbed] failed"), "{s}");
    }

    #[test]
    fn redacts_fingerprints_certs_and_addresses_in_input_errors() {
        let m = redact_secrets(
            "bad fingerprint \"4C17FB532E20B2A8AC199441ECD2B0178B69B0A\" in 192.0.2.77:99999 cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw",
        );
        assert!(!m.contains("4C17FB"), "{m}");
        assert!(!m.contains("192.0.2.77"), "{m}");
        assert!(!m.contains("ssH+9rP8"), "{m}");
        assert!(m.starts_with("bad fingerprint"), "{m}");
        assert_eq!(redact_secrets("port 0 is not valid"), "port 0 is not valid");
    }

    #[test]
    fn scrubs_addresses_glued_to_words() {
        for msg in [
            "peer:10.1.2.3 closed",
            "remote_addr:192.0.2.7:9001",
            "host a10.1.2.3",
        ] {
            let s = scrub(msg);
            assert!(
                !s.contains("10.1.2.3") && !s.contains("192.0.2.7"),
                "{msg} -> {s}"
            );
            assert!(s.contains("[scrubbed]"), "{msg} -> {s}");
        }
    }

    #[test]
    fn leaves_ordinary_words() {
        let s = scrub("bad cafe: deadline 12:30 version 1.2");
        assert_eq!(s, "bad cafe: deadline 12:30 version 1.2");
    }

    #[test]
    fn maps_io_kinds() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(from_io(&e), Failure::ConnectionRefused);
        let e = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(from_io(&e), Failure::Eof);
        let e = io::Error::from_raw_os_error(113);
        assert_eq!(from_io(&e), Failure::HostUnreachable);
        let e = io::Error::other("peer 10.9.8.7 went away");
        assert_eq!(
            from_io(&e),
            Failure::Unknown("peer [scrubbed] went away".into())
        );
    }

    #[test]
    fn maps_tls_certificate_errors() {
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(from_io(&e), Failure::SslUnknownAuthority);
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        assert_eq!(from_tls(&e), Failure::SslInvalidHostname);
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert_eq!(from_tls(&e), Failure::SslInvalidCertificate);
    }
}
