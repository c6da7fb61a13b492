//! TLS client setup: webpki roots plus user anchors, optional certificate
//! pins (DNS stamp hashes), and the no-verification control handshake.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// Trust anchors shared by all TLS probes of a run.
#[derive(Clone)]
pub struct TlsSettings {
    roots: Arc<RootCertStore>,
    /// How many anchors came from `--ca-file` (shown in settings/debug).
    pub extra_anchors: usize,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("roots", &self.roots.len())
            .field("extra_anchors", &self.extra_anchors)
            .finish()
    }
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            roots: Arc::new(webpki_store()),
            extra_anchors: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("CA file {path} holds no usable certificate")]
    NoCertificates { path: String },
    #[error("cannot build the certificate verifier: {0}")]
    Verifier(String),
}

fn webpki_store() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsSettings {
    /// Webpki roots plus every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self, TlsSetupError> {
        let shown = path.display().to_string();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| TlsSetupError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| TlsSetupError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        let mut store = webpki_store();
        let (added, _ignored) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(TlsSetupError::NoCertificates { path: shown });
        }
        Ok(TlsSettings {
            roots: Arc::new(store),
            extra_anchors: added,
        })
    }

    /// A verifying client config for one endpoint.
    pub fn client_config(
        &self,
        pins: &[[u8; 32]],
        alpn: &[&[u8]],
    ) -> Result<Arc<ClientConfig>, TlsSetupError> {
        let provider = provider();
        let inner = WebPkiServerVerifier::builder_with_provider(
            Arc::clone(&self.roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
        let verifier = Arc::new(PinningVerifier {
            inner,
            pins: pins.to_vec(),
        });
        Ok(finish(provider, verifier, alpn))
    }

    /// A config that accepts any certificate: only for the control handshake
    /// that asks "does TLS complete at all with a harmless server name?".
    pub fn control_config(&self, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        let provider = provider();
        let verifier = Arc::new(AcceptAll(Arc::clone(&provider)));
        finish(provider, verifier, alpn)
    }
}

fn finish(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let builder =
        match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => b,
            // The ring provider supports the default versions; this arm is
            // unreachable in practice but must not panic.
            Err(_) => ClientConfig::builder(),
        };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Server name for SNI and certificate checks; IP literals send no SNI.
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(trimmed.to_string()).ok()
}

/// SHA-256 of the TBSCertificate inside a DER certificate, as DNS stamps pin.
pub fn tbs_sha256(cert_der: &[u8]) -> Option<[u8; 32]> {
    let (_, outer_body) = der_tlv(cert_der)?;
    let (tbs_len, _) = der_tlv(outer_body)?;
    let tbs = outer_body.get(..tbs_len)?;
    Some(Sha256::digest(tbs).into())
}

/// Reads one DER TLV at the start of `data`; returns (total length of the
/// TLV, contents). Only definite lengths, as DER requires.
fn der_tlv(data: &[u8]) -> Option<(usize, &[u8])> {
    let first_len = *data.get(1)?;
    let (len, header) = if first_len < 0x80 {
        (first_len as usize, 2)
    } else {
        let n = (first_len & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let body = data.get(header..header.checked_add(len)?)?;
    Some((header + len, body))
}

/// Webpki verification, then (if pins are set) one certificate of the chain
/// must match a pinned TBS hash.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pins: Vec<[u8; 32]>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pins.is_empty() {
            return Ok(ok);
        }
        let matched = std::iter::once(end_entity)
            .chain(intermediates.iter())
            .filter_map(|c| tbs_sha256(c.as_ref()))
            .any(|h| self.pins.contains(&h));
        if matched {
            Ok(ok)
        } else {
            Err(rustls::Error::General(PIN_MISMATCH.to_string()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Marker text of the pin failure, recognised by the failure mapper.
pub const PIN_MISMATCH: &str = "certificate matches no pinned hash";

#[derive(Debug)]
struct AcceptAll(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAll {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbs_hash_of_generated_certificate_is_stable_and_differs_per_cert() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".into()]).unwrap();
        let ha = tbs_sha256(a.cert.der()).unwrap();
        assert_eq!(ha, tbs_sha256(a.cert.der()).unwrap());
        assert_ne!(ha, tbs_sha256(b.cert.der()).unwrap());
        // The hash covers the TBS part only, not the whole certificate.
        let whole: [u8; 32] = Sha256::digest(a.cert.der().as_ref()).into();
        assert_ne!(ha, whole);
    }

    #[test]
    fn tbs_hash_rejects_truncated_der() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".into()]).unwrap();
        let der = a.cert.der().as_ref();
        assert!(tbs_sha256(&der[..der.len() / 2]).is_none());
        assert!(tbs_sha256(&[]).is_none());
        assert!(tbs_sha256(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_none());
    }
}
