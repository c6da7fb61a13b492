//! TLS inside the OpenVPN control channel, far enough to see the server's
//! certificate verified against the profile's `<ca>`.
//!
//! rustls writes and reads raw TLS records (`write_tls`/`read_tls`); they
//! travel as the payload of `P_CONTROL_V1` packets under OpenVPN's
//! reliability layer: every packet has a message id, every received one
//! is acknowledged (piggybacked or in `P_ACK_V1`), unacknowledged ones are
//! sent again on UDP, and received payloads are handed to TLS in order.
//!
//! OpenVPN checks the server certificate against its CA only (host names
//! play no part), so the verifier checks the chain, validity and the
//! serverAuth usage with webpki, and nothing about names.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::link::Link;
use super::packet::{Body, MAX_ACKS, P_ACK_V1, P_CONTROL_V1, P_CONTROL_WKC_V1, SessionId};
use super::wrap::Wrap;
use crate::measurement::Failure;
use crate::probe::failure::from_tls;

/// TLS bytes per control packet: well under OpenVPN's default control
/// packet size (`tls-mtu` 1250) with any wrapping and ACKs added.
const MAX_PAYLOAD: usize = 1000;
/// How far ahead of the next expected message id we buffer packets.
const RECV_WINDOW: u32 = 32;
/// UDP retransmission interval for our unacknowledged packets.
const RETRANSMIT: Duration = Duration::from_millis(700);

/// Verifies the server chain against the profile's CA only, and notes
/// that it did.
#[derive(Debug)]
struct CaOnlyVerifier {
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    verified: Arc<AtomicBool>,
}

impl ServerCertVerifier for CaOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        self.verified.store(true, Ordering::SeqCst);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why the TLS step failed.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFail {
    pub failure: Failure,
    /// What went wrong, in words (a certificate problem's rustls name, …).
    pub detail: Option<String>,
}

impl From<Failure> for TlsFail {
    fn from(failure: Failure) -> Self {
        TlsFail {
            failure,
            detail: None,
        }
    }
}

/// A verifier that trusts exactly the certificates of `ca_pem`, and the
/// flag it sets once a server chain checked out.
fn ca_verifier(ca_pem: &str) -> Result<(Arc<CaOnlyVerifier>, Arc<AtomicBool>), TlsFail> {
    let mut roots = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
        .filter_map(Result::ok)
        .collect();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(
            Failure::Unknown("the profile's <ca> holds no usable certificate".into()).into(),
        );
    }
    let verified = Arc::new(AtomicBool::new(false));
    let verifier = Arc::new(CaOnlyVerifier {
        roots,
        provider: Arc::new(rustls::crypto::ring::default_provider()),
        verified: Arc::clone(&verified),
    });
    Ok((verifier, verified))
}

fn client_config(verifier: Arc<CaOnlyVerifier>) -> Result<Arc<ClientConfig>, TlsFail> {
    let provider = Arc::clone(&verifier.provider);
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsFail::from(from_tls(&e)))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

struct Outgoing {
    msg_id: u32,
    payload: Vec<u8>,
    sent: Option<Instant>,
}

/// OpenVPN's reliability layer for one session, after the reset exchange.
struct Channel<'a> {
    link: &'a mut Link,
    wrap: &'a Wrap,
    our_sid: SessionId,
    their_sid: SessionId,
    next_msg_id: u32,
    unacked: Vec<Outgoing>,
    acks_due: Vec<u32>,
    next_expected: u32,
    early: BTreeMap<u32, Vec<u8>>,
    /// tls-crypt-v2 server asked for the WKc again with our first packet.
    resend_wkc: bool,
}

impl Channel<'_> {
    fn queue(&mut self, tls: &[u8]) {
        for chunk in tls.chunks(MAX_PAYLOAD) {
            self.unacked.push(Outgoing {
                msg_id: self.next_msg_id,
                payload: chunk.to_vec(),
                sent: None,
            });
            self.next_msg_id = self.next_msg_id.wrapping_add(1);
        }
    }

    fn take_acks(&mut self) -> Vec<u32> {
        let n = self.acks_due.len().min(MAX_ACKS);
        self.acks_due.drain(..n).collect()
    }

    /// Sends new packets, UDP retransmissions that are due, and ACKs.
    async fn flush(&mut self) -> Result<(), Failure> {
        let now = Instant::now();
        let udp = self.link.is_udp();
        for i in 0..self.unacked.len() {
            let due = match self.unacked[i].sent {
                None => true,
                Some(t) => udp && now.duration_since(t) >= RETRANSMIT,
            };
            if !due {
                continue;
            }
            let acks = self.take_acks();
            let out = &self.unacked[i];
            let body = Body {
                remote_sid: (!acks.is_empty()).then_some(self.their_sid),
                acks,
                msg_id: Some(out.msg_id),
                payload: out.payload.clone(),
            };
            // The server needs the WKc again on our first control packet
            // to rebuild the session it did not keep (tls-crypt-v2 cookie).
            let opcode = if self.resend_wkc && out.msg_id == 1 {
                P_CONTROL_WKC_V1
            } else {
                P_CONTROL_V1
            };
            let pkt = self.wrap.wrap(opcode, &self.our_sid, &body.encode());
            self.link.send(&pkt).await?;
            self.unacked[i].sent = Some(now);
        }
        while !self.acks_due.is_empty() {
            let acks = self.take_acks();
            let body = Body {
                acks,
                remote_sid: Some(self.their_sid),
                msg_id: None,
                payload: Vec::new(),
            };
            let pkt = self.wrap.wrap(P_ACK_V1, &self.our_sid, &body.encode());
            self.link.send(&pkt).await?;
        }
        Ok(())
    }

    /// When the oldest unacknowledged packet is due again (UDP only).
    fn next_retransmit(&self) -> Option<Instant> {
        if !self.link.is_udp() {
            return None;
        }
        self.unacked
            .iter()
            .filter_map(|o| o.sent)
            .min()
            .map(|t| t + RETRANSMIT)
    }

    /// Takes in one packet from the server; returns TLS payloads that are
    /// now in order. Packets that do not authenticate or belong to another
    /// session are ignored.
    fn receive(&mut self, pkt: &[u8]) -> Vec<Vec<u8>> {
        let Some(u) = self.wrap.unwrap(pkt) else {
            return Vec::new();
        };
        if u.sid != self.their_sid || u.key_id != 0 {
            return Vec::new();
        }
        let Some(body) = Body::decode(u.opcode, &u.body) else {
            return Vec::new();
        };
        if body.remote_sid == Some(self.our_sid) {
            self.unacked.retain(|o| !body.acks.contains(&o.msg_id));
        }
        let Some(id) = body.msg_id else {
            return Vec::new();
        };
        match u.opcode {
            P_CONTROL_V1 => {}
            // Our ACK of the server's reset was lost: acknowledge it again.
            super::packet::P_CONTROL_HARD_RESET_SERVER_V2 => {
                self.ack(id);
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        // Acknowledge every copy, also repeats: our earlier ACK may be lost.
        self.ack(id);
        let ahead = id.wrapping_sub(self.next_expected);
        if ahead < RECV_WINDOW {
            self.early.entry(id).or_insert(body.payload);
        }
        let mut ready = Vec::new();
        while let Some(p) = self.early.remove(&self.next_expected) {
            ready.push(p);
            self.next_expected = self.next_expected.wrapping_add(1);
        }
        ready
    }

    fn ack(&mut self, id: u32) {
        if !self.acks_due.contains(&id) && self.acks_due.len() < 4 * MAX_ACKS {
            self.acks_due.push(id);
        }
    }
}

/// The reset exchange's result the TLS step continues from.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub our_sid: SessionId,
    pub their_sid: SessionId,
    /// Message id of the server's reset (acknowledged with our first packet).
    pub server_reset_id: u32,
    pub resend_wkc: bool,
}

/// Runs TLS over the control channel until the server certificate has
/// been verified against `ca_pem`. Returns the TLS version ("TLS 1.3").
pub async fn verify_server(
    link: &mut Link,
    wrap: &Wrap,
    session: Session,
    ca_pem: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<String, TlsFail> {
    let (verifier, verified) = ca_verifier(ca_pem)?;
    let config = client_config(verifier)?;
    // An IP address as server name: rustls sends no SNI, as OpenVPN does not.
    let name = ServerName::IpAddress(addr.ip().into());
    let mut conn = ClientConnection::new(config, name).map_err(|e| TlsFail::from(from_tls(&e)))?;
    let mut ch = Channel {
        link,
        wrap,
        our_sid: session.our_sid,
        their_sid: session.their_sid,
        next_msg_id: 1,
        unacked: Vec::new(),
        acks_due: vec![session.server_reset_id],
        next_expected: session.server_reset_id.wrapping_add(1),
        early: BTreeMap::new(),
        resend_wkc: session.resend_wkc,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut out = Vec::new();
        while conn.wants_write() {
            if conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        ch.queue(&out);
        ch.flush().await?;
        let wake = match ch.next_retransmit() {
            Some(t) => deadline.min(tokio::time::Instant::from_std(t)),
            None => deadline,
        };
        let pkt = match tokio::time::timeout_at(wake, ch.link.recv()).await {
            Ok(r) => r?,
            Err(_) if tokio::time::Instant::now() >= deadline => {
                return Err(Failure::GenericTimeout.into());
            }
            Err(_) => continue,
        };
        for payload in ch.receive(&pkt) {
            let mut rd: &[u8] = &payload;
            while !rd.is_empty() {
                match conn.read_tls(&mut rd) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => return Err(super::super::failure::from_io(&e).into()),
                }
                if let Err(e) = conn.process_new_packets() {
                    // Tell the server why (best effort), like a TLS client.
                    let mut alert = Vec::new();
                    while conn.wants_write() && conn.write_tls(&mut alert).is_ok() {}
                    ch.queue(&alert);
                    let _ = ch.flush().await;
                    return Err(TlsFail {
                        failure: from_tls(&e),
                        detail: Some(describe_error(&e)),
                    });
                }
                if verified.load(Ordering::SeqCst) {
                    // Acknowledge what arrived so the server stops resending.
                    let _ = ch.flush().await;
                    return Ok(version(&conn));
                }
            }
        }
    }
}

fn version(conn: &ClientConnection) -> String {
    match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".into(),
        Some(v) => format!("{v:?}"),
        None => "TLS".into(),
    }
}

/// A rustls error in words for the step detail (no addresses in these).
fn describe_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            rustls::CertificateError::UnknownIssuer => {
                "the server certificate is not signed by the profile's <ca>".into()
            }
            rustls::CertificateError::BadSignature => {
                "the server certificate's signature does not verify with the profile's <ca> \
                 (a CA of the same name but another key)"
                    .into()
            }
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => {
                "the server certificate has expired (or this computer's clock is wrong)".into()
            }
            rustls::CertificateError::NotValidYet
            | rustls::CertificateError::NotValidYetContext { .. } => {
                "the server certificate is not valid yet (or this computer's clock is wrong)".into()
            }
            rustls::CertificateError::UnsupportedSignatureAlgorithmContext { .. } => {
                "the certificate is signed with an algorithm bridgescout does not accept \
                 (such as SHA-1); OpenVPN itself may still accept it"
                    .into()
            }
            other => super::super::failure::scrub(&format!("certificate rejected: {other:?}")),
        },
        other => super::super::failure::scrub(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::openvpn::OvpnProfile;

    fn plain_wrap() -> Wrap {
        Wrap::new(&OvpnProfile::default()).unwrap()
    }

    #[tokio::test]
    async fn reliability_orders_acks_and_drops_strangers() {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.connect(peer.local_addr().unwrap()).await.unwrap();
        let mut link = Link::Udp(sock);
        let wrap = plain_wrap();
        let server = wrap.mirrored();
        let (ours, theirs) = ([1u8; 8], [2u8; 8]);
        let mut ch = Channel {
            link: &mut link,
            wrap: &wrap,
            our_sid: ours,
            their_sid: theirs,
            next_msg_id: 1,
            unacked: Vec::new(),
            acks_due: vec![0],
            next_expected: 1,
            early: BTreeMap::new(),
            resend_wkc: false,
        };
        let ctl = |id: u32, p: &[u8], acks: Vec<u32>| {
            let body = Body {
                remote_sid: (!acks.is_empty()).then_some(ours),
                acks,
                msg_id: Some(id),
                payload: p.to_vec(),
            };
            server.wrap(P_CONTROL_V1, &theirs, &body.encode())
        };
        // Out of order: 2 waits for 1.
        assert!(ch.receive(&ctl(2, b"b", vec![])).is_empty());
        assert_eq!(
            ch.receive(&ctl(1, b"a", vec![])),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        // A repeat is acknowledged again but not delivered again.
        assert!(ch.receive(&ctl(1, b"a", vec![])).is_empty());
        assert_eq!(ch.acks_due, vec![0, 2, 1]);
        // Another session's packet is ignored; garbage too.
        let stranger = server.wrap(P_CONTROL_V1, &[9; 8], &Body::default().encode());
        assert!(ch.receive(&stranger).is_empty());
        assert!(ch.receive(&[0x20]).is_empty());
        assert!(ch.receive(&[]).is_empty());
        // Far-ahead ids are not buffered.
        assert!(ch.receive(&ctl(1000, b"z", vec![])).is_empty());
        assert!(ch.early.is_empty());
        // Our queued packet goes out carrying ACKs; the server's ACK clears it.
        ch.queue(&[7u8; 2500]);
        assert_eq!(ch.unacked.len(), 3);
        ch.flush().await.unwrap();
        assert!(ch.acks_due.is_empty());
        let mut buf = [0u8; 2000];
        let n = peer.recv(&mut buf).await.unwrap();
        let first = server.unwrap(&buf[..n]).unwrap();
        assert_eq!(first.opcode, P_CONTROL_V1);
        let b = Body::decode(first.opcode, &first.body).unwrap();
        assert_eq!(b.msg_id, Some(1));
        assert_eq!(b.remote_sid, Some(theirs));
        assert_eq!(b.acks, vec![0, 2, 1, 1000]);
        let ack = Body {
            acks: vec![1, 2],
            remote_sid: Some(ours),
            msg_id: None,
            payload: vec![],
        };
        ch.receive(&server.wrap(P_ACK_V1, &theirs, &ack.encode()));
        assert_eq!(ch.unacked.len(), 1);
        assert_eq!(ch.unacked[0].msg_id, 3);
        assert!(ch.next_retransmit().is_some());
    }

    #[test]
    fn ca_only_verifier_ignores_names_but_not_issuers() {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        };
        let make_ca = |name: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name
                .push(rcgen::DnType::CommonName, name.to_string());
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            (cert, Issuer::new(p, key))
        };
        let (ca, issuer) = make_ca("test CA");
        let (other_ca, _) = make_ca("other CA");
        // Same name, other key: found as issuer, but the signature fails.
        let (twin_ca, _) = make_ca("test CA");
        let mut leaf = CertificateParams::new(vec!["server.invalid".to_string()]).unwrap();
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf
            .signed_by(&KeyPair::generate().unwrap(), &issuer)
            .unwrap();

        for (ca_pem, ok, want) in [
            (ca.pem(), true, Failure::SslUnknownAuthority),
            (other_ca.pem(), false, Failure::SslUnknownAuthority),
            (twin_ca.pem(), false, Failure::SslInvalidCertificate),
        ] {
            let (v, verified) = ca_verifier(&ca_pem).unwrap();
            let name = ServerName::try_from("192.0.2.1").unwrap();
            let r = v.verify_server_cert(leaf.der(), &[], &name, &[], UnixTime::now());
            assert_eq!(r.is_ok(), ok, "{r:?}");
            assert_eq!(verified.load(Ordering::SeqCst), ok);
            if !ok {
                let e = r.unwrap_err();
                assert_eq!(from_tls(&e), want);
                assert!(describe_error(&e).contains("profile's <ca>"), "{e:?}");
            }
        }
        assert!(ca_verifier("no certificate here").is_err());
    }
}
