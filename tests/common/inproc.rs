//! An in-process DoH (RFC 8484) and DoT (RFC 7858) test server.
//!
//! * [`TestPki`] makes a throw-away trusted CA (written to a temp PEM file
//!   for `TlsSettings::with_ca_file`) and a second, untrusted CA.
//! * [`TestServer::start`] binds two loopback listeners (DoH and DoT) on
//!   ephemeral ports *before* returning, so tests never wait for it, and
//!   behaves according to one [`Fault`].
//! * Answers come from local data: the probe name has an A record, every
//!   other name is NXDOMAIN (unless the server is [`Fault::Lying`]).
//!
//! The server never panics on client behaviour; every connection is bounded
//! in time and size, and everything stops when the [`TestServer`] is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use bridgescout::catalog::{DnsResolver, Endpoint, Origin, Target};
use bridgescout::probe::tls::TlsSettings;

/// Host name the trusted server certificate is issued for.
pub const DEFAULT_HOST: &str = "doh.test";
/// A host name that is *not* the endpoint's (for [`Fault::WrongCertHostname`]).
pub const WRONG_HOST: &str = "wrong-host.test";
/// The name that exists on the test server.
pub const DEFAULT_PROBE_NAME: &str = "probe.test";
/// The address the probe name resolves to.
pub const PROBE_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// What a [`Fault::Lying`] server invents for names that do not exist.
pub const LYING_ANSWER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 66);
pub const DOH_PATH: &str = "/dns-query";
/// Default size of the [`Fault::Huge`] body: 50 MiB, generated lazily.
pub const DEFAULT_HUGE_BYTES: u64 = 50 * 1024 * 1024;

/// Largest DoH POST body the server reads.
const MAX_QUERY_BYTES: usize = 65_535;
/// Bound on a TLS handshake the server waits for.
const TLS_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the life of any one connection.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long [`Fault::Slow`] sits on a query before giving up (503 / close).
const SLOW_HOLD: Duration = Duration::from_secs(30);
/// Chunk size of the [`Fault::Huge`] body.
const HUGE_CHUNK: usize = 16 * 1024;
/// How many queried names [`Stats`] keeps.
const MAX_REMEMBERED_NAMES: usize = 256;

/// How a server misbehaves. One per server instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Correct answers over h2 or HTTP/1.1 (ALPN) and DoT.
    Normal,
    /// TCP and TLS work, the DNS query is never answered.
    Slow,
    /// DoH: HTTP 200 `application/dns-message` with random non-DNS bytes.
    /// DoT: a well-framed message of random non-DNS bytes.
    Garbage,
    /// Certificate for the right name, signed by a CA the client does not trust.
    WrongCertUnknownCa,
    /// Certificate from the trusted CA, for [`WRONG_HOST`].
    WrongCertHostname,
    /// DoH: HTTP 500. DoT (no HTTP): a SERVFAIL answer.
    Http500,
    /// Answers names that do not exist with [`LYING_ANSWER`].
    Lying,
    /// DoH: HTTP 200 with a streaming body of `huge_body_bytes` (no
    /// content-length). DoT: a 65,535-byte frame of junk.
    Huge,
    /// Correct answer with a different DNS ID.
    WrongId,
    /// DoH offers only `http/1.1` in ALPN and speaks only HTTP/1.1.
    /// DoT: behaves as [`Fault::Normal`].
    Http1Only,
    /// Like [`Fault::Http1Only`], but every answer carries
    /// `Connection: close` and the server then closes the connection.
    Http1Close,
    /// Accepts TCP, never speaks TLS (reads and discards).
    SilentAccept,
    /// Accepts TCP, waits for the client's first bytes (its ClientHello),
    /// then closes with an RST (`SO_LINGER` 0).
    ResetAfterAccept,
}

impl Fault {
    pub const ALL: [Fault; 13] = [
        Fault::Normal,
        Fault::Slow,
        Fault::Garbage,
        Fault::WrongCertUnknownCa,
        Fault::WrongCertHostname,
        Fault::Http500,
        Fault::Lying,
        Fault::Huge,
        Fault::WrongId,
        Fault::Http1Only,
        Fault::Http1Close,
        Fault::SilentAccept,
        Fault::ResetAfterAccept,
    ];
}

/// A trusted and an untrusted test CA, plus the trusted one as a PEM file.
pub struct TestPki {
    host: String,
    trusted: CertifiedIssuer<'static, KeyPair>,
    untrusted: CertifiedIssuer<'static, KeyPair>,
    ca_file: tempfile::NamedTempFile,
}

impl TestPki {
    /// CAs for servers that claim to be `host`.
    pub fn new(host: &str) -> TestPki {
        let trusted = make_ca("bridgescout test CA (trusted)");
        let untrusted = make_ca("bridgescout test CA (untrusted)");
        let mut ca_file = tempfile::Builder::new()
            .prefix("bridgescout-test-ca-")
            .suffix(".pem")
            .tempfile()
            .expect("create CA temp file");
        std::io::Write::write_all(&mut ca_file, trusted.pem().as_bytes()).expect("write CA file");
        std::io::Write::flush(&mut ca_file).expect("flush CA file");
        TestPki {
            host: host.to_string(),
            trusted,
            untrusted,
            ca_file,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// PEM file holding the trusted CA certificate only.
    pub fn ca_path(&self) -> &Path {
        self.ca_file.path()
    }

    /// DER of the trusted CA certificate.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        self.trusted.der()
    }

    /// Client trust settings: webpki roots plus the trusted test CA.
    pub fn tls_settings(&self) -> TlsSettings {
        TlsSettings::with_ca_file(self.ca_path()).expect("test CA file must load")
    }

    /// A fresh leaf certificate and key for `name`, from the trusted or the
    /// untrusted CA.
    pub fn leaf(
        &self,
        name: &str,
        trusted: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let issuer = if trusted {
            &self.trusted
        } else {
            &self.untrusted
        };
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, issuer).expect("sign leaf");
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key_der)
    }
}

fn make_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, key).expect("self-sign CA")
}

/// Per-server settings beyond the fault.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub fault: Fault,
    /// The one name with a record.
    pub probe_name: String,
    /// Its A record.
    pub answer: Ipv4Addr,
    /// Body size of [`Fault::Huge`].
    pub huge_body_bytes: u64,
}

impl ServerOptions {
    pub fn new(fault: Fault) -> ServerOptions {
        ServerOptions {
            fault,
            probe_name: DEFAULT_PROBE_NAME.to_string(),
            answer: PROBE_ANSWER,
            huge_body_bytes: DEFAULT_HUGE_BYTES,
        }
    }

    pub fn probe_name(mut self, name: &str) -> ServerOptions {
        self.probe_name = name.to_string();
        self
    }
}

/// What the server saw and did; readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    tcp_accepted: AtomicUsize,
    tls_handshakes: AtomicUsize,
    tls_failures: AtomicUsize,
    http1_requests: AtomicUsize,
    http2_requests: AtomicUsize,
    doh_get: AtomicUsize,
    doh_post: AtomicUsize,
    dot_queries: AtomicUsize,
    answers_sent: AtomicUsize,
    huge_bytes_sent: AtomicU64,
    huge_bodies_completed: AtomicUsize,
    names: Mutex<Vec<String>>,
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted on either port.
    pub tcp_accepted: usize,
    /// TLS handshakes the server completed.
    pub tls_handshakes: usize,
    /// TLS handshakes that failed or timed out on the server side.
    pub tls_failures: usize,
    pub http1_requests: usize,
    pub http2_requests: usize,
    pub doh_get: usize,
    pub doh_post: usize,
    pub dot_queries: usize,
    /// DNS answers (correct or deliberately wrong) the server sent.
    pub answers_sent: usize,
    /// Bytes of [`Fault::Huge`] bodies handed to the HTTP layer so far
    /// (HTTP buffers are bounded by flow control, so this tracks what the
    /// client accepted plus a few MB of socket and window buffering).
    pub huge_bytes_sent: u64,
    /// Huge bodies generated to the very end.
    pub huge_bodies_completed: usize,
    /// Query names seen, lower-case, without the final dot (first 256).
    pub names: Vec<String>,
}

impl Stats {
    fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            tcp_accepted: self.tcp_accepted.load(Ordering::SeqCst),
            tls_handshakes: self.tls_handshakes.load(Ordering::SeqCst),
            tls_failures: self.tls_failures.load(Ordering::SeqCst),
            http1_requests: self.http1_requests.load(Ordering::SeqCst),
            http2_requests: self.http2_requests.load(Ordering::SeqCst),
            doh_get: self.doh_get.load(Ordering::SeqCst),
            doh_post: self.doh_post.load(Ordering::SeqCst),
            dot_queries: self.dot_queries.load(Ordering::SeqCst),
            answers_sent: self.answers_sent.load(Ordering::SeqCst),
            huge_bytes_sent: self.huge_bytes_sent.load(Ordering::SeqCst),
            huge_bodies_completed: self.huge_bodies_completed.load(Ordering::SeqCst),
            names: match self.names.lock() {
                Ok(n) => n.clone(),
                Err(p) => p.into_inner().clone(),
            },
        }
    }

    fn remember(&self, name: &Name) {
        let mut text = name.to_ascii().to_ascii_lowercase();
        if text.ends_with('.') {
            text.pop();
        }
        let mut names = match self.names.lock() {
            Ok(n) => n,
            Err(p) => p.into_inner(),
        };
        if names.len() < MAX_REMEMBERED_NAMES {
            names.push(text);
        }
    }
}

/// State shared by every connection of one server.
struct Shared {
    opts: ServerOptions,
    probe_name: Name,
    stats: Stats,
    shutdown: CancellationToken,
    /// Connections currently open.
    active: watch::Sender<usize>,
}

/// A running DoH + DoT server on 127.0.0.1. Stops when dropped.
pub struct TestServer {
    doh_addr: SocketAddr,
    dot_addr: SocketAddr,
    host: String,
    cert: CertificateDer<'static>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server with default options; both ports are bound on return.
    pub async fn start(pki: &TestPki, fault: Fault) -> TestServer {
        TestServer::start_with(pki, ServerOptions::new(fault)).await
    }

    pub async fn start_with(pki: &TestPki, opts: ServerOptions) -> TestServer {
        TestServer::start_with_on(pki, opts, IpAddr::V4(Ipv4Addr::LOCALHOST)).await
    }

    /// Like [`TestServer::start`], listening on another loopback address
    /// (e.g. 127.0.0.77), so tests can tell the server's address apart
    /// from 127.0.0.1. Endpoints from [`TestServer::doh_endpoint`] still
    /// bootstrap to 127.0.0.1; point their `bootstrap` at `ip` instead.
    pub async fn start_on(pki: &TestPki, fault: Fault, ip: IpAddr) -> TestServer {
        TestServer::start_with_on(pki, ServerOptions::new(fault), ip).await
    }

    async fn start_with_on(pki: &TestPki, opts: ServerOptions, ip: IpAddr) -> TestServer {
        let (cert, key) = match opts.fault {
            Fault::WrongCertUnknownCa => pki.leaf(pki.host(), false),
            Fault::WrongCertHostname => pki.leaf(WRONG_HOST, true),
            _ => pki.leaf(pki.host(), true),
        };
        let doh_alpn: Vec<Vec<u8>> = if matches!(opts.fault, Fault::Http1Only | Fault::Http1Close) {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        let doh_tls = server_config(&cert, &key, doh_alpn);
        // No ALPN for DoT: accept whatever the client offers (or nothing).
        let dot_tls = server_config(&cert, &key, Vec::new());

        let loopback = SocketAddr::new(ip, 0);
        let doh_listener = TcpListener::bind(loopback)
            .await
            .expect("bind DoH listener");
        let dot_listener = TcpListener::bind(loopback)
            .await
            .expect("bind DoT listener");
        let doh_addr = doh_listener.local_addr().expect("DoH address");
        let dot_addr = dot_listener.local_addr().expect("DoT address");

        let mut probe_name = Name::from_ascii(&opts.probe_name).expect("probe name");
        probe_name.set_fqdn(true);
        let (active, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            opts,
            probe_name,
            stats: Stats::default(),
            shutdown: CancellationToken::new(),
            active,
        });
        let task = tokio::spawn(accept_loop(
            doh_listener,
            dot_listener,
            tokio_rustls::TlsAcceptor::from(doh_tls),
            tokio_rustls::TlsAcceptor::from(dot_tls),
            Arc::clone(&shared),
        ));
        TestServer {
            doh_addr,
            dot_addr,
            host: pki.host().to_string(),
            cert,
            shared,
            task,
        }
    }

    pub fn fault(&self) -> Fault {
        self.shared.opts.fault
    }

    pub fn doh_addr(&self) -> SocketAddr {
        self.doh_addr
    }

    pub fn dot_addr(&self) -> SocketAddr {
        self.dot_addr
    }

    pub fn doh_port(&self) -> u16 {
        self.doh_addr.port()
    }

    pub fn dot_port(&self) -> u16 {
        self.dot_addr.port()
    }

    /// The leaf certificate this server presents.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// DoH endpoint for this server: `https://<host>:<port>/dns-query`,
    /// bootstrap 127.0.0.1, no pins.
    pub fn doh_endpoint(&self) -> Endpoint {
        doh_endpoint(
            &self.host,
            self.doh_port(),
            &format!("inproc-doh-{:?}", self.fault()),
        )
    }

    /// DoT endpoint for this server, bootstrap 127.0.0.1, no pins.
    pub fn dot_endpoint(&self) -> Endpoint {
        dot_endpoint(
            &self.host,
            self.dot_port(),
            &format!("inproc-dot-{:?}", self.fault()),
        )
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Connections currently open.
    pub fn active_connections(&self) -> usize {
        *self.shared.active.borrow()
    }

    /// Waits (at most `limit`) until no connection is open. True if idle.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let mut rx = self.shared.active.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// A DoH endpoint for `host:port` with bootstrap 127.0.0.1.
pub fn doh_endpoint(host: &str, port: u16, label: &str) -> Endpoint {
    Endpoint {
        label: label.to_string(),
        origin: Origin::User,
        target: Target::Doh(resolver(host, port, DOH_PATH)),
    }
}

/// A DoT endpoint for `host:port` with bootstrap 127.0.0.1.
pub fn dot_endpoint(host: &str, port: u16, label: &str) -> Endpoint {
    Endpoint {
        label: label.to_string(),
        origin: Origin::User,
        target: Target::Dot(resolver(host, port, "")),
    }
}

fn resolver(host: &str, port: u16, path: &str) -> DnsResolver {
    DnsResolver {
        host: host.to_string(),
        port,
        path: path.to_string(),
        bootstrap: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        pins: Vec::new(),
        bootstrap_resolvers: Vec::new(),
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind probe port");
    let port = listener.local_addr().expect("probe port address").port();
    drop(listener);
    port
}

fn server_config(
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
    alpn: Vec<Vec<u8>>,
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.clone_key())
        .expect("server certificate");
    config.alpn_protocols = alpn;
    Arc::new(config)
}

/// Decrements the open-connection count when a connection task ends,
/// however it ends (finished, failed, aborted).
struct ActiveGuard(Arc<Shared>);

impl ActiveGuard {
    fn new(shared: &Arc<Shared>) -> ActiveGuard {
        shared.active.send_modify(|n| *n += 1);
        ActiveGuard(Arc::clone(shared))
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[derive(Clone, Copy)]
enum Service {
    Doh,
    Dot,
}

async fn accept_loop(
    doh: TcpListener,
    dot: TcpListener,
    doh_tls: tokio_rustls::TlsAcceptor,
    dot_tls: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
) {
    // Dropping this set (server dropped, task aborted) aborts every connection.
    let mut conns: JoinSet<()> = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            r = doh.accept() => r.map(|(s, _)| (s, Service::Doh, doh_tls.clone())),
            r = dot.accept() => r.map(|(s, _)| (s, Service::Dot, dot_tls.clone())),
        };
        match accepted {
            Ok((stream, service, acceptor)) => {
                shared.stats.tcp_accepted.fetch_add(1, Ordering::SeqCst);
                let guard = ActiveGuard::new(&shared);
                let shared = Arc::clone(&shared);
                conns.spawn(async move {
                    let _guard = guard;
                    let _ = tokio::time::timeout(
                        CONNECTION_LIFETIME,
                        serve_connection(stream, service, acceptor, &shared),
                    )
                    .await;
                });
            }
            // EMFILE and friends: back off briefly instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    conns.abort_all();
}

async fn serve_connection(
    stream: TcpStream,
    service: Service,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: &Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    match shared.opts.fault {
        Fault::ResetAfterAccept => {
            // Wait (bounded) for the client's first bytes, the ClientHello,
            // so the client's connect() has surely completed and the RST
            // lands in its TLS handshake, as a censor's injected reset
            // would. Zero linger turns close() into an RST.
            let mut first = [0u8; 1];
            let _ = tokio::time::timeout(TLS_ACCEPT_TIMEOUT, stream.peek(&mut first)).await;
            let _ = stream.set_zero_linger();
            drop(stream);
            return;
        }
        Fault::SilentAccept => {
            drain(stream).await;
            return;
        }
        _ => {}
    }
    let tls = match tokio::time::timeout(TLS_ACCEPT_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        _ => {
            shared.stats.tls_failures.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    shared.stats.tls_handshakes.fetch_add(1, Ordering::SeqCst);
    match service {
        Service::Doh => serve_doh(tls, shared).await,
        Service::Dot => {
            let _ = serve_dot(tls, shared).await;
        }
    }
}

/// Reads and discards until the peer closes; never writes.
async fn drain(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

// ---------------------------------------------------------------- DNS data

enum Reply {
    /// A DNS message to send.
    Dns(Vec<u8>),
    /// Bytes that are not DNS.
    Garbage(Vec<u8>),
    /// Say nothing.
    Silence,
}

/// What this server says to one query message (already parsed).
fn reply_to(query: &Message, shared: &Shared) -> Reply {
    let fault = shared.opts.fault;
    match fault {
        Fault::Slow => return Reply::Silence,
        Fault::Garbage => return Reply::Garbage(garbage(96)),
        _ => {}
    }
    let id = if fault == Fault::WrongId {
        query.metadata.id ^ 0x5a5a
    } else {
        query.metadata.id
    };
    let mut msg = Message::response(id, OpCode::Query);
    msg.metadata.recursion_desired = query.metadata.recursion_desired;
    msg.metadata.recursion_available = true;
    let Some(q) = query.queries.first() else {
        msg.metadata.response_code = ResponseCode::FormErr;
        return encode(&msg);
    };
    shared.stats.remember(q.name());
    msg.add_query(Query::query(q.name().clone(), q.query_type()));
    if fault == Fault::Http500 {
        // Only reached over DoT, which has no HTTP status to fail with.
        msg.metadata.response_code = ResponseCode::ServFail;
        return encode(&msg);
    }
    let is_probe = q.name().to_lowercase() == shared.probe_name.to_lowercase();
    if is_probe {
        if q.query_type() == RecordType::A {
            let a = shared.opts.answer.octets();
            msg.add_answer(Record::from_rdata(
                q.name().clone(),
                300,
                RData::A(A::new(a[0], a[1], a[2], a[3])),
            ));
        }
        // Other types of the probe name: NOERROR without records (NODATA).
    } else if fault == Fault::Lying {
        let a = LYING_ANSWER.octets();
        msg.add_answer(Record::from_rdata(
            q.name().clone(),
            300,
            RData::A(A::new(a[0], a[1], a[2], a[3])),
        ));
    } else {
        msg.metadata.response_code = ResponseCode::NXDomain;
    }
    encode(&msg)
}

fn encode(msg: &Message) -> Reply {
    match msg.to_vec() {
        Ok(wire) => Reply::Dns(wire),
        // Cannot happen with the messages built above; answer with junk
        // rather than panic so the client sees a bad response.
        Err(_) => Reply::Garbage(garbage(32)),
    }
}

/// Random bytes that are guaranteed not to parse as a DNS message.
fn garbage(len: usize) -> Vec<u8> {
    for _ in 0..16 {
        let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        if Message::from_vec(&bytes).is_err() {
            return bytes;
        }
    }
    // Shorter than a DNS header: never parses.
    b"garbage".to_vec()
}

// ---------------------------------------------------------------- DoT

async fn serve_dot<S>(mut stream: S, shared: &Arc<Shared>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return Ok(());
        }
        let len = u16::from_be_bytes(len) as usize;
        if len == 0 {
            return Ok(());
        }
        let mut buf = vec![0u8; len];
        stream.read_exact(&mut buf).await?;
        shared.stats.dot_queries.fetch_add(1, Ordering::SeqCst);
        let Ok(query) = Message::from_vec(&buf) else {
            return Ok(());
        };
        if query.metadata.message_type != MessageType::Query {
            return Ok(());
        }
        let reply = if shared.opts.fault == Fault::Huge {
            Reply::Garbage(vec![0xab; u16::MAX as usize])
        } else {
            reply_to(&query, shared)
        };
        let wire = match reply {
            Reply::Dns(w) => w,
            Reply::Garbage(g) => g,
            Reply::Silence => continue,
        };
        let Ok(frame_len) = u16::try_from(wire.len()) else {
            return Ok(());
        };
        let mut frame = Vec::with_capacity(wire.len() + 2);
        frame.extend_from_slice(&frame_len.to_be_bytes());
        frame.extend_from_slice(&wire);
        stream.write_all(&frame).await?;
        stream.flush().await?;
        shared.stats.answers_sent.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------- DoH

type ResBody = BoxBody<Bytes, Infallible>;

/// Runs hyper's h2 stream tasks as tasks that end when the server stops.
#[derive(Clone)]
struct ServerExec(CancellationToken);

impl<F> hyper::rt::Executor<F> for ServerExec
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let stop = self.0.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = fut => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

async fn serve_doh<S>(stream: S, shared: &Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(ServerExec(shared.shutdown.clone()));
    if matches!(shared.opts.fault, Fault::Http1Only | Fault::Http1Close) {
        builder = builder.http1_only();
    }
    if shared.opts.fault == Fault::Http1Close {
        builder.http1().keep_alive(false);
    }
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let svc_shared = Arc::clone(shared);
    let service = hyper::service::service_fn(move |req| {
        let shared = Arc::clone(&svc_shared);
        async move { Ok::<_, Infallible>(handle_doh(req, &shared).await) }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = shared.shutdown.cancelled() => {}
    }
}

fn simple(status: StatusCode, text: &'static str) -> Response<ResBody> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    resp
}

fn dns_body(status: StatusCode, body: ResBody) -> Response<ResBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/dns-message"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("max-age=300"),
    );
    resp
}

async fn handle_doh(req: Request<Incoming>, shared: &Arc<Shared>) -> Response<ResBody> {
    let stats = &shared.stats;
    if req.version() == http::Version::HTTP_2 {
        stats.http2_requests.fetch_add(1, Ordering::SeqCst);
    } else {
        stats.http1_requests.fetch_add(1, Ordering::SeqCst);
    }
    if req.uri().path() != DOH_PATH {
        return simple(StatusCode::NOT_FOUND, "not found\n");
    }
    let wire: Vec<u8> = match *req.method() {
        Method::GET => {
            stats.doh_get.fetch_add(1, Ordering::SeqCst);
            let param = req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("dns="))
                    .map(|v| v.trim_end_matches('=').to_string())
            });
            let Some(param) = param else {
                return simple(StatusCode::BAD_REQUEST, "missing dns parameter\n");
            };
            match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(param.as_bytes()) {
                Ok(w) => w,
                Err(_) => return simple(StatusCode::BAD_REQUEST, "bad base64url\n"),
            }
        }
        Method::POST => {
            stats.doh_post.fetch_add(1, Ordering::SeqCst);
            let ct_ok = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/dns-message"));
            if !ct_ok {
                return simple(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "want application/dns-message\n",
                );
            }
            match Limited::new(req.into_body(), MAX_QUERY_BYTES)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes().to_vec(),
                Err(_) => return simple(StatusCode::PAYLOAD_TOO_LARGE, "query too large\n"),
            }
        }
        _ => return simple(StatusCode::METHOD_NOT_ALLOWED, "GET or POST\n"),
    };
    let query = match Message::from_vec(&wire) {
        Ok(m) if m.metadata.message_type == MessageType::Query => m,
        _ => return simple(StatusCode::BAD_REQUEST, "not a DNS query\n"),
    };
    match shared.opts.fault {
        Fault::Http500 => return simple(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
        Fault::Huge => {
            let body = HugeBody::new(shared.opts.huge_body_bytes, Arc::clone(shared));
            return dns_body(StatusCode::OK, body.boxed());
        }
        _ => {}
    }
    match reply_to(&query, shared) {
        Reply::Dns(w) | Reply::Garbage(w) => {
            stats.answers_sent.fetch_add(1, Ordering::SeqCst);
            let len = w.len();
            let mut resp = dns_body(StatusCode::OK, Full::new(Bytes::from(w)).boxed());
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
            resp
        }
        Reply::Silence => {
            // Hold the request open; a client gives up long before this.
            tokio::select! {
                _ = tokio::time::sleep(SLOW_HOLD) => {}
                _ = shared.shutdown.cancelled() => {}
            }
            simple(StatusCode::SERVICE_UNAVAILABLE, "too slow\n")
        }
    }
}

/// A response body of `remaining` bytes made on demand, chunk by chunk,
/// counting what hyper actually pulled. No size hint, so no content-length:
/// the client must bound its own read.
struct HugeBody {
    remaining: u64,
    chunk: Bytes,
    shared: Arc<Shared>,
}

impl HugeBody {
    fn new(total: u64, shared: Arc<Shared>) -> HugeBody {
        let chunk: Vec<u8> = (0..HUGE_CHUNK).map(|_| rand::random::<u8>()).collect();
        HugeBody {
            remaining: total,
            chunk: Bytes::from(chunk),
            shared,
        }
    }
}

impl Body for HugeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = this.remaining.min(this.chunk.len() as u64);
        this.remaining -= n;
        let stats = &this.shared.stats;
        stats.huge_bytes_sent.fetch_add(n, Ordering::SeqCst);
        if this.remaining == 0 {
            stats.huge_bodies_completed.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(Some(Ok(Frame::data(this.chunk.slice(..n as usize)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
}
