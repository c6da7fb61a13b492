//! VLESS, VMess, Trojan, Hysteria2 and TUIC links: a light probe of the
//! server's front only. These protocols authenticate inside the tunnel and
//! answer strangers like any web server, so the most we can show without
//! carrying real traffic is that the front (TCP + TLS, or QUIC) answers
//! with the link's server name: `front_reachable`, never `reachable`.
//!
//! Per address (all in parallel): TCP connect, then a TLS handshake with the
//! link's SNI and ALPN; or, for Hysteria2/TUIC, a QUIC handshake from a
//! connected UDP socket, so ICMP port unreachable is seen rather than
//! waited out. Nothing secret is sent: no user id, no password.

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use quinn::udp::{RecvMeta, Transmit, UdpSocketState};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsConnector;

use super::failure::{from_io, scrub};
use super::vpn::{self, FailKind, VpnEvidence, VpnOutcome};
use super::{ProbeConfig, Recorder};
use crate::catalog::share_link::{LinkProtocol, LinkSecurity, ShareLink};
use crate::catalog::{Endpoint, Target};
use crate::measurement::{Failure, Operation};

pub struct FrontProbe;

vpn::impl_vpn_probe!(FrontProbe, probe_endpoint);

async fn probe_endpoint(endpoint: &Endpoint, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    match &endpoint.target {
        Target::ProxyLink(link) => probe(link, config, rec).await,
        // The engine never routes anything else here.
        _ => VpnEvidence::failed(
            Operation::TcpConnect,
            Failure::Unknown("not a share link".into()),
            FailKind::Unsupported,
        ),
    }
}

/// The note every answering front carries.
pub const NOTE_LOGIN: &str =
    "login not verified: bridgescout only checked that the server's front answers";
pub const NOTE_NO_TLS: &str = "no TLS on this link; only the TCP port was checked";
pub const NOTE_INSECURE: &str = "the link disables certificate checks (allowInsecure/insecure), \
     so bridgescout did not check the certificate either: anyone on the path could answer \
     in the server's place";
pub const NOTE_REALITY: &str = "REALITY link: such a server hands clients it cannot \
     authenticate to the real site it imitates, so this handshake shows only that the front \
     relays to that site, not that the REALITY server itself is there";
pub const NOTE_REALITY_CERT: &str = "REALITY link: the certificate should be the imitated \
     site's own and valid; an invalid one points at interception or a wrong sni in the link";
pub const NOTE_PORT_HOPPING: &str =
    "the link lists several ports (port hopping); only the first one was checked";
pub const NOTE_PIN_OK: &str = "the server certificate matches the link's pinSHA256";
pub const NOTE_TLS_SILENT: &str = "the TCP connection worked but the TLS handshake got no \
     answer: the server may be overloaded, or something on the path silently drops its TLS \
     (for example by server name)";

/// The fingerprint note, e.g. for `fp=chrome`.
pub fn fingerprint_note(fp: &str) -> String {
    format!(
        "the link asks for the TLS fingerprint '{fp}'; bridgescout's TLS (rustls) does not \
         imitate it, so a censor fingerprinting clients may treat the real app differently"
    )
}

/// How far one address got.
#[derive(Debug, Clone, PartialEq)]
enum AttemptResult {
    /// The front answered; the time of the step that proved it, ms.
    Front { ms: f64, pin_checked: bool },
    Failed {
        op: Operation,
        failure: Failure,
        kind: FailKind,
    },
}

impl AttemptResult {
    fn failed(op: Operation, failure: Failure, kind: FailKind) -> AttemptResult {
        AttemptResult::Failed { op, failure, kind }
    }

    /// How informative a failure is: one after the transport worked says
    /// more than a failed connect. Higher is more telling.
    fn weight(&self) -> u8 {
        match self {
            AttemptResult::Front { .. } => u8::MAX,
            AttemptResult::Failed { op, kind, .. } => {
                let stage = match op {
                    Operation::TcpConnect | Operation::Resolve => 0,
                    _ => 2,
                };
                let telling = match kind {
                    FailKind::Transport | FailKind::PortUnreachable => 0,
                    _ => 1,
                };
                stage + telling
            }
        }
    }
}

/// What the probe sends, worked out once per link.
#[derive(Debug, Clone)]
struct Plan {
    /// Name for SNI and the certificate check: an IP literal sends no SNI.
    name: String,
    /// False for TUIC's `disable_sni`.
    send_sni: bool,
    alpn: Vec<Vec<u8>>,
    /// Skip certificate verification (the link does).
    insecure: bool,
    /// The client fingerprint, cleaned for display.
    fingerprint: Option<String>,
    /// The rustls config, built on first use and shared by every address
    /// tried (building one parses the trust roots).
    tls: std::sync::OnceLock<Result<Arc<ClientConfig>, Failure>>,
}

impl Plan {
    fn new(link: &ShareLink) -> Plan {
        // v2rayN and v2rayNG use the Host header as the TLS name when `sni`
        // is empty: CDN-fronted links give an IP address and a Host name.
        let header_name = match link.transport.as_str() {
            "ws" | "h2" | "xhttp" | "httpupgrade" => link
                .host_header
                .as_deref()
                .and_then(|h| h.split(',').next())
                .map(|h| match h.rsplit_once(':') {
                    Some((name, port)) if port.parse::<u16>().is_ok() && !name.contains(':') => {
                        name
                    }
                    _ => h,
                })
                .map(str::to_string),
            _ => None,
        };
        let name = link
            .sni
            .clone()
            .or(header_name)
            .unwrap_or_else(|| link.host.clone());
        let alpn: Vec<Vec<u8>> = match link.protocol {
            // Hysteria2 is HTTP/3 underneath; its clients always offer h3.
            LinkProtocol::Hysteria2 => vec![b"h3".to_vec()],
            LinkProtocol::Tuic if link.alpn.is_empty() => vec![b"h3".to_vec()],
            _ if !link.alpn.is_empty() => link.alpn.iter().map(|a| a.as_bytes().to_vec()).collect(),
            // gRPC and h2 transports need HTTP/2; ws and tcp offer nothing.
            _ => match link.transport.as_str() {
                "grpc" | "h2" => vec![b"h2".to_vec()],
                _ => Vec::new(),
            },
        };
        Plan {
            name: name.trim_matches(['[', ']']).to_string(),
            send_sni: !link.disable_sni,
            alpn,
            insecure: link.insecure,
            fingerprint: link.fingerprint.as_deref().and_then(clean_word),
            tls: std::sync::OnceLock::new(),
        }
    }

    /// The server name that goes out as SNI, if any.
    fn sni_sent(&self) -> Option<&str> {
        (self.send_sni && !self.sni_is_ip()).then_some(self.name.as_str())
    }

    fn send_sni_word(&self) -> Option<String> {
        self.sni_sent().map(|name| format!("sni={name}"))
    }

    fn sni_is_ip(&self) -> bool {
        self.name.parse::<IpAddr>().is_ok()
    }

    /// The rustls config: the project's trust (webpki roots + `--ca-file`)
    /// unless the link turns verification off.
    fn client_config(&self, config: &ProbeConfig) -> Result<Arc<ClientConfig>, Failure> {
        self.tls
            .get_or_init(|| self.build_client_config(config))
            .clone()
    }

    fn build_client_config(&self, config: &ProbeConfig) -> Result<Arc<ClientConfig>, Failure> {
        let alpn: Vec<&[u8]> = self.alpn.iter().map(Vec::as_slice).collect();
        let base = if self.insecure {
            config.tls.control_config(&alpn)
        } else {
            config
                .tls
                .client_config(&[], &alpn)
                .map_err(|e| Failure::Unknown(scrub(&e.to_string())))?
        };
        if self.send_sni {
            return Ok(base);
        }
        let mut c = (*base).clone();
        c.enable_sni = false;
        Ok(Arc::new(c))
    }

    /// What was offered, for the step detail (also when it failed).
    fn offered(&self) -> String {
        let mut words: Vec<String> = self.send_sni_word().into_iter().collect();
        if !self.alpn.is_empty() {
            let alpn: Vec<String> = self
                .alpn
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            words.push(format!("alpn_offered={}", alpn.join(",")));
        }
        if let Some(fp) = &self.fingerprint {
            words.push(format!("fp={fp}"));
        }
        if self.insecure {
            words.push("verify=off".into());
        }
        words.join(" ")
    }
}

/// A setting from the link (fingerprint, obfuscation name) fit for notes
/// and details: letters, digits, `-`, `_` only.
fn clean_word(fp: &str) -> Option<String> {
    let fp = fp.trim();
    let ok = !fp.is_empty()
        && fp.len() <= 32
        && fp
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| fp.to_string())
}

/// Runs the whole front probe for one link.
async fn probe(link: &ShareLink, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    if let Some(e) = unsupported(link) {
        return e;
    }
    let addrs = match vpn::resolve_or_evidence(&link.host, link.port, config, rec).await {
        Ok(a) => a,
        Err(e) => return e,
    };
    let plan = Plan::new(link);
    let results = join_all(
        addrs
            .iter()
            .map(|addr| attempt(*addr, link, &plan, config, rec)),
    )
    .await;
    summarize(&results, link, &plan)
}

/// Links the probe cannot test without sending something it cannot make.
fn unsupported(link: &ShareLink) -> Option<VpnEvidence> {
    if link.protocol == LinkProtocol::Hysteria2
        && let Some(obfs) = &link.obfs
    {
        let name = clean_word(obfs).unwrap_or_else(|| "unknown".into());
        return Some(
            VpnEvidence::failed(
                Operation::QuicHandshake,
                Failure::Unknown(format!("Hysteria2 obfuscation '{name}' is not supported")),
                FailKind::Unsupported,
            )
            .with_note(format!(
                "the link uses Hysteria2 obfuscation ('{name}'): its packets are scrambled so \
                 they do not look like QUIC, and a plain QUIC handshake cannot reach such a \
                 server; bridgescout sent nothing to it"
            )),
        );
    }
    if link.protocol.is_quic() {
        return None;
    }
    let (op, what) = match link.transport.as_str() {
        "kcp" => (Operation::TcpConnect, "mKCP"),
        "quic" => (Operation::QuicHandshake, "Xray's QUIC"),
        _ => return None,
    };
    Some(
        VpnEvidence::failed(
            op,
            Failure::Unknown(format!("the {what} transport is not supported")),
            FailKind::Unsupported,
        )
        .with_note(format!(
            "the link uses the {what} transport (over UDP), which bridgescout cannot test; \
             nothing was sent"
        )),
    )
}

async fn attempt(
    addr: SocketAddr,
    link: &ShareLink,
    plan: &Plan,
    config: &ProbeConfig,
    rec: &Recorder,
) -> AttemptResult {
    if link.protocol.is_quic() {
        return quic_attempt(addr, link, plan, config, rec).await;
    }
    let (tcp, connect_ms) = match tcp_connect(addr, config, rec).await {
        Ok(v) => v,
        Err(f) => return AttemptResult::failed(Operation::TcpConnect, f, FailKind::Transport),
    };
    match link.security {
        LinkSecurity::None => {
            drop(tcp);
            AttemptResult::Front {
                ms: connect_ms,
                pin_checked: false,
            }
        }
        LinkSecurity::Tls | LinkSecurity::Reality => {
            tls_handshake(tcp, addr, plan, config, rec).await
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

async fn tcp_connect(
    addr: SocketAddr,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<(TcpStream, f64), Failure> {
    // The shared connect records the step and marks the network up.
    let t = Instant::now();
    let stream = super::resolver::connect(addr, config, rec).await?;
    Ok((stream, ms_since(t)))
}

/// How a TLS or QUIC handshake failure should be read.
fn handshake_kind(f: &Failure) -> FailKind {
    match f {
        f if f.is_certificate() => FailKind::Certificate,
        Failure::GenericTimeout
        | Failure::ConnectionReset
        | Failure::ConnectionAborted
        | Failure::ConnectionRefused
        | Failure::Eof
        | Failure::HostUnreachable
        | Failure::NetworkUnreachable
        | Failure::Interrupted => FailKind::Transport,
        // TLS alerts, ALPN mismatch, anything that is not TLS.
        _ => FailKind::BadResponse,
    }
}

async fn tls_handshake(
    tcp: TcpStream,
    addr: SocketAddr,
    plan: &Plan,
    config: &ProbeConfig,
    rec: &Recorder,
) -> AttemptResult {
    let started = rec.begin(Operation::TlsHandshake, Some(addr.to_string()));
    let tls_config = match plan.client_config(config) {
        Ok(c) => c,
        Err(f) => return handshake_failed(rec, started, plan, f, FailKind::Unsupported),
    };
    let Some(name) = super::tls::server_name(&plan.name) else {
        // The parser only keeps valid names; kept for safety.
        let f = Failure::Unknown("the link's server name is not valid for TLS".into());
        return handshake_failed(rec, started, plan, f, FailKind::Unsupported);
    };
    let connector = TlsConnector::from(tls_config);
    let t = Instant::now();
    let result = tokio::time::timeout(config.step_timeout, connector.connect(name, tcp)).await;
    let ms = ms_since(t);
    match result {
        Err(_) => handshake_failed(
            rec,
            started,
            plan,
            Failure::GenericTimeout,
            FailKind::Transport,
        ),
        Ok(Err(e)) => {
            let f = from_io(&e);
            let kind = handshake_kind(&f);
            handshake_failed(rec, started, plan, f, kind)
        }
        Ok(Ok(mut stream)) => {
            let detail = join_words([
                Some(super::resolver::describe_tls(&stream, plan.sni_sent())),
                plan.fingerprint.as_ref().map(|fp| format!("fp={fp}")),
                plan.insecure.then(|| "verify=off".to_string()),
            ]);
            rec.finish(started, None, Some(detail), Vec::new());
            // Say goodbye properly; bounded, and its outcome is irrelevant.
            let _ = tokio::time::timeout(Duration::from_millis(200), stream.shutdown()).await;
            AttemptResult::Front {
                ms,
                pin_checked: false,
            }
        }
    }
}

/// Records a failed TLS or QUIC handshake step with what was offered.
fn handshake_failed(
    rec: &Recorder,
    started: super::Started,
    plan: &Plan,
    f: Failure,
    kind: FailKind,
) -> AttemptResult {
    // `Started` fields are visible to child modules of `probe`.
    let op = started.operation;
    let offered = plan.offered();
    let detail = (!offered.is_empty()).then_some(offered);
    rec.finish(started, Some(f.clone()), detail, Vec::new());
    AttemptResult::failed(op, f, kind)
}

fn join_words<const N: usize>(words: [Option<String>; N]) -> String {
    words.into_iter().flatten().collect::<Vec<_>>().join(" ")
}

async fn quic_attempt(
    addr: SocketAddr,
    link: &ShareLink,
    plan: &Plan,
    config: &ProbeConfig,
    rec: &Recorder,
) -> AttemptResult {
    let started = rec.begin(Operation::QuicHandshake, Some(addr.to_string()));
    let result = quic_handshake(addr, link, plan, config).await;
    match result {
        Ok(done) => {
            let detail = join_words([
                plan.send_sni_word(),
                // QUIC always carries TLS 1.3.
                Some("TLSv1_3".to_string()),
                Some(format!("alpn={}", done.alpn)),
                Some("quic".to_string()),
                plan.insecure.then(|| "verify=off".to_string()),
                done.pin_checked.then(|| "pin=ok".to_string()),
            ]);
            rec.finish(started, None, Some(detail), Vec::new());
            // A QUIC handshake proves the network carries traffic, as a
            // TCP connect does.
            rec.scan().mark_network_up();
            AttemptResult::Front {
                ms: done.ms,
                pin_checked: done.pin_checked,
            }
        }
        Err((f, kind)) => handshake_failed(rec, started, plan, f, kind),
    }
}

struct QuicDone {
    ms: f64,
    alpn: String,
    pin_checked: bool,
}

/// One QUIC handshake to `addr`; closes the connection right after.
async fn quic_handshake(
    addr: SocketAddr,
    link: &ShareLink,
    plan: &Plan,
    config: &ProbeConfig,
) -> Result<QuicDone, (Failure, FailKind)> {
    let unsupported = |msg: &str| (Failure::Unknown(msg.to_string()), FailKind::Unsupported);
    // Checked here as on the TCP path, so quinn never gets a name it would
    // reject: its error quotes the name.
    if super::tls::server_name(&plan.name).is_none() {
        return Err(unsupported("the link's server name is not valid for TLS"));
    }
    let tls = plan
        .client_config(config)
        .map_err(|f| (f, FailKind::Unsupported))?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|_| unsupported("QUIC TLS setup: no TLS 1.3 cipher suite for QUIC"))?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    // quinn gives up on a silent handshake after the idle timeout; the
    // step timeout below is the real limit, this only keeps it from
    // lingering beyond.
    if let Ok(idle) = quinn::IdleTimeout::try_from(config.step_timeout) {
        transport.max_idle_timeout(Some(idle));
    }
    client.transport_config(Arc::new(transport));

    let socket = Arc::new(
        WatchedSocket::connected_to(addr).map_err(|e| (from_io(&e), FailKind::Transport))?,
    );
    let endpoint = quinn::Endpoint::new_with_abstract_socket(
        quinn::EndpointConfig::default(),
        None,
        Arc::clone(&socket) as Arc<dyn quinn::AsyncUdpSocket>,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(|e| (from_io(&e), FailKind::Transport))?;
    let connecting = endpoint
        .connect_with(client, addr, &plan.name)
        .map_err(|e| unsupported(connect_error_text(&e)))?;
    let t = Instant::now();
    let result = tokio::select! {
        r = connecting => r.map_err(|e| quic_failure(&e)),
        f = socket.icmp_error() => {
            let kind = vpn::udp_fail_kind(&f);
            Err((f, kind))
        }
        _ = tokio::time::sleep(config.step_timeout) => {
            Err((Failure::GenericTimeout, FailKind::Transport))
        }
    };
    let ms = ms_since(t);
    let conn = match result {
        Ok(c) => c,
        Err(e) => {
            endpoint.close(0u32.into(), b"");
            return Err(e);
        }
    };
    let alpn = conn
        .handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|d| d.protocol)
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .unwrap_or_else(|| "none".into());
    let pin_result = link.pin_sha256.map(|pin| {
        let leaf_hash = conn
            .peer_identity()
            .and_then(|id| id.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|chain| chain.first().map(|c| Sha256::digest(c.as_ref())));
        leaf_hash.is_some_and(|h| h.as_slice() == pin)
    });
    conn.close(0u32.into(), b"");
    // Let the close frame go out (bounded): the server frees its state.
    let _ = tokio::time::timeout(Duration::from_millis(250), endpoint.wait_idle()).await;
    match pin_result {
        Some(false) => Err((Failure::SslPinMismatch, FailKind::Certificate)),
        pin => Ok(QuicDone {
            ms,
            alpn,
            pin_checked: pin == Some(true),
        }),
    }
}

/// Words for quinn's refusal to start a connection. Some variants carry
/// the server name or address, so its own message is never used.
fn connect_error_text(e: &quinn::ConnectError) -> &'static str {
    use quinn::ConnectError as E;
    match e {
        E::InvalidServerName(_) => "QUIC connect: the link's server name is not valid for TLS",
        E::InvalidRemoteAddress(_) => "QUIC connect: the server address cannot be used",
        E::UnsupportedVersion => "QUIC connect: unsupported QUIC version",
        E::EndpointStopping => "QUIC connect: the local endpoint is stopping",
        E::CidsExhausted => "QUIC connect: no connection IDs left",
        E::NoDefaultClientConfig => "QUIC connect: no client configuration",
    }
}

/// Reads a quinn connection error. Local TLS errors arrive as a transport
/// error carrying the alert we sent (`0x100 + alert`) and rustls' message;
/// a peer's refusal arrives as its CONNECTION_CLOSE.
fn quic_failure(e: &quinn::ConnectionError) -> (Failure, FailKind) {
    use quinn::ConnectionError as E;
    match e {
        E::TimedOut => (Failure::GenericTimeout, FailKind::Transport),
        // A stateless reset: the server (or someone) dropped the connection.
        E::Reset => (Failure::ConnectionReset, FailKind::Transport),
        E::TransportError(te) => local_quic_error(u64::from(te.code), &te.reason),
        E::ConnectionClosed(close) => {
            let code = u64::from(close.error_code);
            if is_crypto_code(code) {
                // The server's TLS refused us: ALPN mismatch, no shared
                // parameters, a bad server name.
                (Failure::SslFailedHandshake, FailKind::BadResponse)
            } else {
                (
                    Failure::Unknown(format!(
                        "the server closed the QUIC handshake (error {code:#x})"
                    )),
                    FailKind::BadResponse,
                )
            }
        }
        E::ApplicationClosed(_) => (
            Failure::Unknown("the server closed the connection during the handshake".into()),
            FailKind::BadResponse,
        ),
        E::VersionMismatch => (
            Failure::Unknown("the server speaks no QUIC version we know".into()),
            FailKind::BadResponse,
        ),
        E::LocallyClosed | E::CidsExhausted => (
            Failure::Unknown(scrub(&e.to_string())),
            FailKind::BadResponse,
        ),
    }
}

fn is_crypto_code(code: u64) -> bool {
    (0x100..0x200).contains(&code)
}

/// A TLS failure on our side of a QUIC handshake. quinn keeps only the
/// alert and rustls' message, so the certificate case is recognised by
/// the alert rustls sends for each certificate error.
fn local_quic_error(code: u64, reason: &str) -> (Failure, FailKind) {
    if !is_crypto_code(code) {
        let f = if reason.starts_with("TLS error") {
            Failure::SslFailedHandshake
        } else {
            Failure::Unknown(scrub(&format!("QUIC: {reason}")))
        };
        return (f, FailKind::BadResponse);
    }
    // TLS alert numbers (RFC 8446 §6).
    const BAD_CERTIFICATE: u64 = 42;
    const UNSUPPORTED_CERTIFICATE: u64 = 43;
    const CERTIFICATE_REVOKED: u64 = 44;
    const CERTIFICATE_EXPIRED: u64 = 45;
    const CERTIFICATE_UNKNOWN: u64 = 46;
    const UNKNOWN_CA: u64 = 48;
    let alert = code - 0x100;
    let certificate = reason.contains("certificate")
        || matches!(
            alert,
            BAD_CERTIFICATE
                | UNSUPPORTED_CERTIFICATE
                | CERTIFICATE_REVOKED
                | CERTIFICATE_EXPIRED
                | CERTIFICATE_UNKNOWN
                | UNKNOWN_CA
        );
    if !certificate {
        return (Failure::SslFailedHandshake, FailKind::BadResponse);
    }
    let f = if alert == UNKNOWN_CA {
        Failure::SslUnknownAuthority
    } else if reason.contains("not valid for name") || reason.contains("NotValidForName") {
        Failure::SslInvalidHostname
    } else {
        Failure::SslInvalidCertificate
    };
    (f, FailKind::Certificate)
}

/// Turns per-address results into the evidence: any front that answered
/// wins (the fastest), otherwise the most telling failure.
fn summarize(results: &[AttemptResult], link: &ShareLink, plan: &Plan) -> VpnEvidence {
    let fronts: Vec<(f64, bool)> = results
        .iter()
        .filter_map(|r| match r {
            AttemptResult::Front { ms, pin_checked } => Some((*ms, *pin_checked)),
            AttemptResult::Failed { .. } => None,
        })
        .collect();
    let uses_tls = link.protocol.is_quic() || link.security != LinkSecurity::None;
    let mut evidence = if let Some((ms, pin_checked)) =
        fronts.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0))
    {
        let mut e = VpnEvidence {
            outcome: VpnOutcome::FrontOnly,
            handshake_ms: Some(ms),
            data: None,
            notes: vec![NOTE_LOGIN.to_string()],
        };
        if !uses_tls {
            e.notes.push(NOTE_NO_TLS.to_string());
        }
        if pin_checked {
            e.notes.push(NOTE_PIN_OK.to_string());
        }
        if fronts.len() < results.len() {
            e.notes.push(format!(
                "{} of {} server addresses answered; the others failed",
                fronts.len(),
                results.len()
            ));
        }
        e
    } else {
        // The first of the most telling failures: equal weights keep the
        // address order.
        let mut best: Option<&AttemptResult> = None;
        for r in results {
            if best.is_none_or(|b| r.weight() > b.weight()) {
                best = Some(r);
            }
        }
        match best {
            Some(AttemptResult::Failed { op, failure, kind }) => {
                let mut e = VpnEvidence::failed(*op, failure.clone(), *kind);
                if link.security == LinkSecurity::Reality && *kind == FailKind::Certificate {
                    e.notes.push(NOTE_REALITY_CERT.to_string());
                }
                if *op == Operation::TlsHandshake && failure.is_timeout() {
                    e.notes.push(NOTE_TLS_SILENT.to_string());
                }
                e
            }
            // No address at all (resolve guards against it) or unreachable.
            _ => VpnEvidence::failed(Operation::Resolve, Failure::DnsNoAnswer, FailKind::Resolve),
        }
    };
    if uses_tls {
        if link.security == LinkSecurity::Reality {
            evidence.notes.push(NOTE_REALITY.to_string());
        }
        if plan.insecure {
            evidence.notes.push(NOTE_INSECURE.to_string());
        }
        // QUIC clients do not imitate browsers' fingerprints; the setting
        // is about TLS over TCP.
        if let (Some(fp), false) = (&plan.fingerprint, link.protocol.is_quic()) {
            evidence.notes.push(fingerprint_note(fp));
        }
    }
    if link.port_hopping {
        evidence.notes.push(NOTE_PORT_HOPPING.to_string());
    }
    evidence
}

/// A UDP socket connected to one peer, for quinn. Connected, so the kernel
/// reports ICMP errors (port or host unreachable) on it; quinn's own
/// sockets are unconnected and would just wait out the timeout. The first
/// such error is kept and announced.
#[derive(Debug)]
struct WatchedSocket {
    io: tokio::net::UdpSocket,
    state: UdpSocketState,
    icmp: OnceLock<Failure>,
    notify: Notify,
}

impl WatchedSocket {
    fn connected_to(peer: SocketAddr) -> io::Result<WatchedSocket> {
        let local: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = std::net::UdpSocket::bind(local)?;
        sock.connect(peer)?;
        // Host and network unreachable too, not only port unreachable.
        vpn::recv_icmp_errors(&sock, peer.is_ipv4());
        sock.set_nonblocking(true)?;
        let state = UdpSocketState::new((&sock).into())?;
        let io = tokio::net::UdpSocket::from_std(sock)?;
        Ok(WatchedSocket {
            io,
            state,
            icmp: OnceLock::new(),
            notify: Notify::new(),
        })
    }

    /// Keeps an ICMP-caused error; other errors are not ours to judge.
    fn note(&self, e: &io::Error) {
        let f = match e.kind() {
            // Windows reports ICMP port unreachable on UDP as a reset.
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => {
                Failure::ConnectionRefused
            }
            _ => match from_io(e) {
                f @ (Failure::HostUnreachable | Failure::NetworkUnreachable) => f,
                _ => return,
            },
        };
        if self.icmp.set(f).is_ok() {
            self.notify.notify_one();
        }
    }

    /// Resolves once an ICMP error was seen.
    async fn icmp_error(&self) -> Failure {
        loop {
            if let Some(f) = self.icmp.get() {
                return f.clone();
            }
            // An ICMP error makes the socket report EPOLLERR only, which
            // wakes neither quinn's reader nor its writer: without watching
            // for it, the error would wait for quinn's next send (its first
            // retransmission, about a second later).
            tokio::select! {
                // notify_one stores a permit, so a note between the check
                // above and this wait is not lost.
                _ = self.notify.notified() => {}
                ready = self.io.ready(Interest::ERROR) => {
                    if ready.is_err() {
                        // Cannot watch; quinn's send or receive path still notes it.
                        self.notify.notified().await;
                        continue;
                    }
                    // WouldBlock clears the readiness, so the next wait
                    // sleeps until a new error event.
                    let _ = self.io.try_io(Interest::ERROR, || {
                        if let Ok(Some(e)) = self.io.take_error() {
                            self.note(&e);
                        }
                        // The socket stays in error while its queue holds
                        // anything: empty it, or this wakes again at once.
                        vpn::drain_error_queue(&self.io);
                        Err::<(), _>(io::ErrorKind::WouldBlock.into())
                    });
                }
            }
        }
    }
}

impl quinn::AsyncUdpSocket for WatchedSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn quinn::UdpPoller>> {
        Box::pin(WritablePoller(self))
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        let sent = self.io.try_io(Interest::WRITABLE, || {
            self.state.try_send((&self.io).into(), transmit)
        });
        match sent {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            // Like quinn's own sockets: a datagram that cannot go is lost
            // and QUIC retransmits. A pending ICMP error may surface here.
            Err(e) => {
                self.note(&e);
                Ok(())
            }
        }
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.io.poll_recv_ready(cx))?;
            let received = self.io.try_io(Interest::READABLE, || {
                self.state.recv((&self.io).into(), bufs, meta)
            });
            match received {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // quinn's own socket skips receive errors the same way;
                // this one remembers ICMP ones first.
                Err(e) => self.note(&e),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn may_fragment(&self) -> bool {
        self.state.may_fragment()
    }

    fn max_transmit_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.state.gro_segments()
    }
}

struct WritablePoller(Arc<WatchedSocket>);

impl fmt::Debug for WritablePoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WritablePoller")
    }
}

impl quinn::UdpPoller for WritablePoller {
    fn poll_writable(self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        self.0.io.poll_send_ready(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Origin;

    fn link(line: &str) -> ShareLink {
        match crate::catalog::share_link::parse(line, Origin::User) {
            Ok(Endpoint {
                target: Target::ProxyLink(l),
                ..
            }) => *l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plan_picks_sni_host_header_then_host() {
        let p = Plan::new(&link(
            "vless://u@198.51.100.1:443?security=tls&sni=a.test&host=b.test&type=ws",
        ));
        assert_eq!(p.name, "a.test");
        let p = Plan::new(&link(
            "vless://u@198.51.100.1:443?security=tls&host=b.test:8080&type=ws",
        ));
        assert_eq!(p.name, "b.test");
        // The Host header is an HTTP thing: not for plain TCP.
        let p = Plan::new(&link("vless://u@198.51.100.1:443?security=tls&host=b.test"));
        assert_eq!(p.name, "198.51.100.1");
        assert!(p.sni_is_ip());
        assert_eq!(p.offered(), "");
        let p = Plan::new(&link("trojan://p@[2001:db8::1]:443"));
        assert_eq!(p.name, "2001:db8::1");
        assert!(p.sni_is_ip());
    }

    #[test]
    fn plan_alpn_defaults() {
        let alpn = |l: &str| Plan::new(&link(l)).alpn;
        assert!(alpn("vless://u@h.test:443?security=tls&type=ws").is_empty());
        assert_eq!(
            alpn("vless://u@h.test:443?security=tls&type=grpc"),
            vec![b"h2".to_vec()]
        );
        assert_eq!(alpn("trojan://p@h.test:443?type=h2"), vec![b"h2".to_vec()]);
        assert_eq!(
            alpn("vless://u@h.test:443?security=tls&alpn=h2,http/1.1"),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert_eq!(alpn("hy2://a@h.test:443?alpn=h2"), vec![b"h3".to_vec()]);
        assert_eq!(alpn("tuic://u:p@h.test:443"), vec![b"h3".to_vec()]);
        assert_eq!(
            alpn("tuic://u:p@h.test:443?alpn=spdy/3"),
            vec![b"spdy/3".to_vec()]
        );
    }

    #[test]
    fn offered_detail_and_fingerprint_cleaning() {
        let p = Plan::new(&link(
            "vless://u@h.test:443?security=tls&sni=s.test&fp=chrome&alpn=h2&allowInsecure=1",
        ));
        assert_eq!(
            p.offered(),
            "sni=s.test alpn_offered=h2 fp=chrome verify=off"
        );
        assert_eq!(clean_word("chrome"), Some("chrome".into()));
        assert_eq!(clean_word("chrome'; rm"), None);
        assert_eq!(clean_word(""), None);
        let p = Plan::new(&link("tuic://u:p@h.test:443?sni=s.test&disable_sni=1"));
        assert_eq!(p.send_sni_word(), None);
    }

    #[test]
    fn quic_errors_map_to_failures() {
        // Local certificate rejections, by the alert rustls sends.
        assert_eq!(
            local_quic_error(0x100 + 48, "invalid peer certificate: UnknownIssuer"),
            (Failure::SslUnknownAuthority, FailKind::Certificate)
        );
        assert_eq!(
            local_quic_error(
                0x100 + 42,
                "invalid peer certificate: certificate not valid for name \"a.test\"; …"
            ),
            (Failure::SslInvalidHostname, FailKind::Certificate)
        );
        assert_eq!(
            local_quic_error(0x100 + 45, "invalid peer certificate: certificate expired"),
            (Failure::SslInvalidCertificate, FailKind::Certificate)
        );
        assert_eq!(
            local_quic_error(0x100 + 120, "peer doesn't support any known protocol"),
            (Failure::SslFailedHandshake, FailKind::BadResponse)
        );
        assert_eq!(
            local_quic_error(0x0a, "TLS error: something"),
            (Failure::SslFailedHandshake, FailKind::BadResponse)
        );
        assert_eq!(
            quic_failure(&quinn::ConnectionError::TimedOut),
            (Failure::GenericTimeout, FailKind::Transport)
        );
        assert_eq!(
            quic_failure(&quinn::ConnectionError::Reset),
            (Failure::ConnectionReset, FailKind::Transport)
        );
    }

    /// quinn's ConnectError texts quote the server name or address; ours
    /// never do.
    #[test]
    fn connect_errors_never_quote_the_link() {
        let name = "secret-front.example";
        for e in [
            quinn::ConnectError::InvalidServerName(name.to_string()),
            quinn::ConnectError::InvalidRemoteAddress("192.0.2.7:443".parse().unwrap()),
            quinn::ConnectError::UnsupportedVersion,
        ] {
            let text = connect_error_text(&e);
            assert!(
                !text.contains(name) && !text.contains("192.0.2.7"),
                "{text}"
            );
        }
    }

    /// A name quinn would refuse is refused before quinn sees it, with a
    /// failure that does not quote it.
    #[tokio::test]
    async fn invalid_quic_server_name_is_not_quoted() {
        let mut l = link("hy2://a@h.test:443?sni=ok.test");
        l.sni = Some("bad name!secret".into());
        let plan = Plan::new(&l);
        let config = ProbeConfig::default();
        let Err((f, kind)) =
            quic_handshake("127.0.0.1:9".parse().unwrap(), &l, &plan, &config).await
        else {
            panic!("an invalid name must fail");
        };
        assert_eq!(kind, FailKind::Unsupported);
        assert!(!f.to_string().contains("secret"), "{f}");
    }

    /// ICMP errors read on the QUIC socket: host unreachable is the
    /// transport's, port unreachable says nothing listens.
    #[tokio::test]
    async fn quic_socket_reads_icmp_errors() {
        for (err, failure, kind) in [
            (
                io::Error::from_raw_os_error(libc::EHOSTUNREACH),
                Failure::HostUnreachable,
                FailKind::Transport,
            ),
            (
                io::ErrorKind::ConnectionRefused.into(),
                Failure::ConnectionRefused,
                FailKind::PortUnreachable,
            ),
        ] {
            let s = WatchedSocket::connected_to("127.0.0.1:9".parse().unwrap()).unwrap();
            s.note(&err);
            let f = s.icmp.get().cloned().unwrap();
            assert_eq!((vpn::udp_fail_kind(&f), f), (kind, failure));
        }
    }

    #[test]
    fn handshake_failures_are_classified() {
        assert_eq!(
            handshake_kind(&Failure::SslUnknownAuthority),
            FailKind::Certificate
        );
        assert_eq!(
            handshake_kind(&Failure::ConnectionReset),
            FailKind::Transport
        );
        assert_eq!(
            handshake_kind(&Failure::GenericTimeout),
            FailKind::Transport
        );
        assert_eq!(
            handshake_kind(&Failure::SslFailedHandshake),
            FailKind::BadResponse
        );
    }

    #[test]
    fn summary_prefers_fronts_then_the_most_telling_failure() {
        let l = link("vless://u@h.test:443?security=tls&fp=chrome");
        let plan = Plan::new(&l);
        let refused = AttemptResult::failed(
            Operation::TcpConnect,
            Failure::ConnectionRefused,
            FailKind::Transport,
        );
        let cert = AttemptResult::failed(
            Operation::TlsHandshake,
            Failure::SslUnknownAuthority,
            FailKind::Certificate,
        );
        let reset = AttemptResult::failed(
            Operation::TlsHandshake,
            Failure::ConnectionReset,
            FailKind::Transport,
        );
        let e = summarize(&[refused.clone(), reset.clone(), cert.clone()], &l, &plan);
        assert_eq!(
            e.outcome,
            VpnOutcome::Failed {
                op: Operation::TlsHandshake,
                failure: Failure::SslUnknownAuthority,
                kind: FailKind::Certificate
            }
        );
        assert!(
            e.notes.iter().any(|n| n.contains("'chrome'")),
            "{:?}",
            e.notes
        );
        let e = summarize(&[refused.clone(), reset], &l, &plan);
        assert!(matches!(
            e.outcome,
            VpnOutcome::Failed {
                failure: Failure::ConnectionReset,
                ..
            }
        ));
        assert!(!e.notes.contains(&NOTE_TLS_SILENT.to_string()));
        // TLS silent after the TCP connect worked: said in words.
        let silent = AttemptResult::failed(
            Operation::TlsHandshake,
            Failure::GenericTimeout,
            FailKind::Transport,
        );
        let e = summarize(&[silent], &l, &plan);
        assert!(
            e.notes.contains(&NOTE_TLS_SILENT.to_string()),
            "{:?}",
            e.notes
        );
        let front = AttemptResult::Front {
            ms: 12.5,
            pin_checked: false,
        };
        let e = summarize(&[refused, front], &l, &plan);
        assert_eq!(e.outcome, VpnOutcome::FrontOnly);
        assert_eq!(e.handshake_ms, Some(12.5));
        assert_eq!(e.notes[0], NOTE_LOGIN);
        assert!(
            e.notes.iter().any(|n| n.contains("1 of 2")),
            "{:?}",
            e.notes
        );
        // No TLS: the note says only the port was checked, no fp note.
        let plain = link("vless://u@h.test:80?fp=chrome");
        let e = summarize(
            &[AttemptResult::Front {
                ms: 1.0,
                pin_checked: false,
            }],
            &plain,
            &Plan::new(&plain),
        );
        assert!(e.notes.contains(&NOTE_NO_TLS.to_string()), "{:?}", e.notes);
        assert!(
            !e.notes.iter().any(|n| n.contains("fingerprint")),
            "{:?}",
            e.notes
        );
        // REALITY: the relay note always, the certificate note on a
        // certificate failure.
        let reality = link("vless://u@h.test:443?security=reality&sni=www.example.com&pbk=k");
        let cert = AttemptResult::failed(
            Operation::TlsHandshake,
            Failure::SslInvalidHostname,
            FailKind::Certificate,
        );
        let e = summarize(&[cert], &reality, &Plan::new(&reality));
        assert!(e.notes.contains(&NOTE_REALITY.to_string()), "{:?}", e.notes);
        assert!(
            e.notes.contains(&NOTE_REALITY_CERT.to_string()),
            "{:?}",
            e.notes
        );
    }

    #[test]
    fn obfuscated_and_udp_transports_are_unsupported_without_sending() {
        let e = unsupported(&link("hy2://a@h.test:443?obfs=salamander&obfs-password=x"));
        let e = e.expect("salamander is unsupported");
        assert!(matches!(
            e.outcome,
            VpnOutcome::Failed {
                kind: FailKind::Unsupported,
                op: Operation::QuicHandshake,
                ..
            }
        ));
        assert!(e.notes[0].contains("salamander"), "{:?}", e.notes);
        assert!(unsupported(&link("vless://u@h.test:443?type=kcp")).is_some());
        assert!(unsupported(&link("vless://u@h.test:443?type=ws")).is_none());
        assert!(unsupported(&link("hy2://a@h.test:443")).is_none());
    }
}
