//! Maps arti / socket / SOCKS errors onto [`HandshakeFail`] and OONI
//! [`Failure`] strings. Messages kept verbatim are scrubbed of addresses.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use super::HandshakeFail;
use crate::measurement::Failure;
use crate::probe::failure::{from_io, scrub};

/// Below this much NETINFO skew, expired certificates are the bridge's own
/// problem, not the user's clock (tor-proto reports skews of 2 s and more).
pub const CLOCK_SKEW_MIN_S: f64 = 600.0;

/// Errors of the PT SOCKS leg (our own small SOCKS5 client).
#[derive(Debug, thiserror::Error)]
pub enum SocksError {
    #[error("PT SOCKS connection failed: {0}")]
    Io(#[from] io::Error),
    /// The PT's SOCKS5 reply code (goptlib maps its dial error to it).
    #[error("PT SOCKS reply {0:#04x}")]
    Reply(u8),
    #[error("PT SOCKS protocol error: {0}")]
    Protocol(&'static str),
}

/// The first I/O error in `err`'s source chain (itself included); arti
/// wraps them in `Arc`.
pub fn io_in_chain<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        if let Some(io) = e.downcast_ref::<Arc<io::Error>>() {
            return Some(io.as_ref());
        }
        cur = e.source();
    }
    None
}

/// `err` and its sources joined by ": ", scrubbed of addresses.
pub fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(c) = cur {
        let m = c.to_string();
        // thiserror often repeats the source in the outer message.
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    scrub(&s)
}

/// OONI failure for any error: the I/O error in its chain when there is
/// one, otherwise `unknown_failure` with the scrubbed message.
pub fn failure_of(err: &(dyn StdError + 'static)) -> Failure {
    match io_in_chain(err) {
        Some(io) => from_io(io),
        None => Failure::Unknown(chain_message(err)),
    }
}

/// The TLS step: transport-level failures stay network failures (a reset
/// during the ClientHello is the classic DPI signature), anything else is
/// a TLS failure proper.
pub fn tls_fail(err: &io::Error) -> HandshakeFail {
    match from_io(err) {
        f @ (Failure::GenericTimeout
        | Failure::ConnectionRefused
        | Failure::ConnectionReset
        | Failure::ConnectionAborted
        | Failure::Eof
        | Failure::HostUnreachable
        | Failure::NetworkUnreachable) => HandshakeFail::Network(f),
        _ => HandshakeFail::Tls(chain_message(err)),
    }
}

/// True when tor-proto reports an identity mismatch. `verify()` with ids
/// folds it into the generic `HandshakeProto(String)`, hence the prefixes.
pub fn is_identity_mismatch(err: &tor_proto::Error) -> bool {
    use tor_proto::Error as E;
    match err {
        E::ChanMismatch(_) | E::MissingId(_) => true,
        E::HandshakeProto(m) => m.starts_with("Identity ") || m.starts_with("Peer does not have"),
        _ => false,
    }
}

/// The link handshake (VERSIONS … NETINFO, certificate checks). `skew` is
/// peer minus ours in seconds from NETINFO, when the handshake got that far.
/// Identity mismatches are reported by the caller, which knows the ids.
pub fn handshake_fail(err: &tor_proto::Error, skew: Option<f64>) -> HandshakeFail {
    use tor_proto::Error as E;
    match err {
        // Certificates "expired": the user's clock when NETINFO says it is
        // far off, otherwise the bridge's certificates really are bad.
        E::HandshakeCertsExpired { .. } => match skew {
            Some(s) if s.abs() >= CLOCK_SKEW_MIN_S => HandshakeFail::ClockSkew(s),
            _ => HandshakeFail::Network(Failure::SslInvalidCertificate),
        },
        E::HandshakeCertErr(_) => HandshakeFail::Network(Failure::SslInvalidCertificate),
        _ => HandshakeFail::Network(failure_of(err)),
    }
}

/// A SOCKS reply code from a goptlib-based PT (lyrebird, obfs4proxy,
/// snowflake): its dial error mapped to RFC 1928 codes.
pub fn socks_reply_failure(code: u8) -> Failure {
    match code {
        0x03 => Failure::NetworkUnreachable,
        0x04 => Failure::HostUnreachable,
        0x05 => Failure::ConnectionRefused,
        0x06 => Failure::GenericTimeout,
        // 0x01 "general failure" is all obfs4proxy 0.0.14 ever says, for
        // a refused port and a failed obfs4 handshake alike.
        _ => Failure::Unknown(format!("PT SOCKS reply {code:#04x} (general failure)")),
    }
}

/// The PT's SOCKS leg: everything here is the transport's failure.
pub fn pt_fail(err: &SocksError) -> HandshakeFail {
    HandshakeFail::Pt(match err {
        SocksError::Io(io) => from_io(io),
        SocksError::Reply(code) => socks_reply_failure(*code),
        SocksError::Protocol(m) => Failure::Unknown(format!("PT SOCKS protocol error: {m}")),
    })
}

/// Step failure to record for a [`HandshakeFail`].
pub fn step_failure(h: &HandshakeFail) -> Failure {
    match h {
        HandshakeFail::Network(f) | HandshakeFail::Pt(f) => f.clone(),
        HandshakeFail::Tls(_) => Failure::SslFailedHandshake,
        HandshakeFail::IdentityMismatch { .. } => Failure::Unknown("identity mismatch".into()),
        HandshakeFail::ClockSkew(_) => Failure::SslInvalidCertificate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn io_errors_are_found_through_arc_sources() {
        let e = tor_proto::Error::HandshakeIoErr(Arc::new(io::Error::from(
            io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(
            handshake_fail(&e, None),
            HandshakeFail::Network(Failure::ConnectionReset)
        );
        let e =
            tor_proto::Error::ChanIoErr(Arc::new(io::Error::from(io::ErrorKind::UnexpectedEof)));
        assert_eq!(failure_of(&e), Failure::Eof);
    }

    #[test]
    fn expired_certs_are_clock_skew_only_when_skew_is_large() {
        let e = tor_proto::Error::HandshakeCertsExpired {
            expired_by: Duration::from_secs(3600),
        };
        assert_eq!(
            handshake_fail(&e, Some(-63_072_000.0)),
            HandshakeFail::ClockSkew(-63_072_000.0)
        );
        assert_eq!(
            handshake_fail(&e, Some(3.0)),
            HandshakeFail::Network(Failure::SslInvalidCertificate)
        );
        assert_eq!(
            handshake_fail(&e, None),
            HandshakeFail::Network(Failure::SslInvalidCertificate)
        );
    }

    #[test]
    fn identity_mismatch_forms() {
        assert!(is_identity_mismatch(&tor_proto::Error::ChanMismatch(
            "x".into()
        )));
        assert!(is_identity_mismatch(&tor_proto::Error::HandshakeProto(
            "Identity $ab does not match target $cd".into()
        )));
        assert!(!is_identity_mismatch(&tor_proto::Error::HandshakeProto(
            "Invalid CERTS cell".into()
        )));
    }

    #[test]
    fn tls_failures_split_network_from_tls() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(
            tls_fail(&reset),
            HandshakeFail::Network(Failure::ConnectionReset)
        );
        let corrupt = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert!(matches!(tls_fail(&corrupt), HandshakeFail::Tls(_)));
    }

    #[test]
    fn socks_replies_and_scrubbing() {
        assert_eq!(socks_reply_failure(5), Failure::ConnectionRefused);
        assert_eq!(socks_reply_failure(6), Failure::GenericTimeout);
        assert!(matches!(socks_reply_failure(1), Failure::Unknown(_)));
        let e = SocksError::Io(io::Error::other("dial 10.1.2.3:443 failed"));
        match pt_fail(&e) {
            HandshakeFail::Pt(Failure::Unknown(m)) => assert!(!m.contains("10.1.2.3"), "{m}"),
            other => panic!("{other:?}"),
        }
        let e = io::Error::other("peer 192.0.2.7:9001 hung up");
        assert!(!chain_message(&e).contains("192.0.2.7"));
    }
}
